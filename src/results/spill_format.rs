//! How a spilled [`ResourceResult`] is written to its temporary file: length-prefixed fields, no
//! escaping. The file lives only as long as the process that wrote it, so the format is this
//! module's private business; it is several times cheaper to write and read than JSON, and
//! spilling happens for every resource of a large estate.
//!
//! A record: status (1 byte), id, region, evidence count and each digest, location count and each
//! location, reason flag (1 byte) and reason. Every text is a little-endian `u32` length and its UTF-8.
//! Two repetitions are written once: a first digest equal to the previous record's (the resources of
//! one document) is a flag, and a location in that document (`<digest>#$[…]`) is its part after `#`.

use super::{ResourceResult, ResourceStatus};
use std::io::{self, Read, Write};

/// Writes records, in order.
#[derive(Default)]
pub struct Writer {
    /// The previous record's first digest.
    digest: String,
}

impl Writer {
    /// Writes `r`.
    pub fn write(&mut self, out: &mut impl Write, r: &ResourceResult) -> io::Result<()> {
        let status = match r.status {
            ResourceStatus::Pass => 0u8,
            ResourceStatus::Fail => 1,
            ResourceStatus::Error => 2,
        };
        out.write_all(&[status])?;
        text(out, &r.id)?;
        text(out, &r.region)?;
        count(out, r.evidence.len())?;
        for (k, e) in r.evidence.iter().enumerate() {
            if k == 0 && *e == self.digest {
                out.write_all(&[1])?;
            } else {
                out.write_all(&[0])?;
                text(out, e)?;
            }
        }
        if let Some(first) = r.evidence.first() {
            if *first != self.digest {
                self.digest.clone_from(first);
            }
        }
        count(out, r.locations.len())?;
        for l in &r.locations {
            match in_document(l, r.evidence.first()) {
                Some(rest) => {
                    out.write_all(&[1])?;
                    text(out, rest)?;
                }
                None => {
                    out.write_all(&[0])?;
                    text(out, l)?;
                }
            }
        }
        match &r.reason {
            None => out.write_all(&[0]),
            Some(why) => {
                out.write_all(&[1])?;
                text(out, why)
            }
        }
    }
}

/// `l` after `<digest>#`, when it is in the document `digest` names.
fn in_document<'l>(l: &'l str, digest: Option<&String>) -> Option<&'l str> {
    l.strip_prefix(digest?.as_str())?.strip_prefix('#')
}

/// Reads the records a [`Writer`] wrote, in order.
#[derive(Default)]
pub struct Reader {
    digest: String,
}

impl Reader {
    /// Reads the next record.
    pub fn read(&mut self, input: &mut impl Read) -> io::Result<ResourceResult> {
        let status = match byte(input)? {
            0 => ResourceStatus::Pass,
            1 => ResourceStatus::Fail,
            2 => ResourceStatus::Error,
            b => return Err(corrupt(format!("status byte {b}"))),
        };
        let id = read_text(input)?;
        let region = read_text(input)?;
        let n = read_count(input)?;
        let mut evidence = Vec::with_capacity(n);
        for k in 0..n {
            evidence.push(match byte(input)? {
                1 if k == 0 => self.digest.clone(),
                0 => read_text(input)?,
                b => return Err(corrupt(format!("digest flag {b}"))),
            });
        }
        if let Some(first) = evidence.first() {
            if *first != self.digest {
                self.digest.clone_from(first);
            }
        }
        let n = read_count(input)?;
        let mut locations = Vec::with_capacity(n);
        for _ in 0..n {
            locations.push(match byte(input)? {
                1 => {
                    let rest = read_text(input)?;
                    let digest = evidence
                        .first()
                        .ok_or_else(|| corrupt("a location without a digest".into()))?;
                    format!("{digest}#{rest}")
                }
                0 => read_text(input)?,
                b => return Err(corrupt(format!("location flag {b}"))),
            });
        }
        let reason = match byte(input)? {
            0 => None,
            _ => Some(read_text(input)?),
        };
        Ok(ResourceResult {
            id,
            region,
            status,
            evidence,
            locations,
            reason,
        })
    }
}

fn count(out: &mut impl Write, n: usize) -> io::Result<()> {
    let n = u32::try_from(n).map_err(|_| corrupt("a list longer than 2^32".into()))?;
    out.write_all(&n.to_le_bytes())
}

fn text(out: &mut impl Write, s: &str) -> io::Result<()> {
    count(out, s.len())?;
    out.write_all(s.as_bytes())
}

fn byte(input: &mut impl Read) -> io::Result<u8> {
    let mut b = [0u8; 1];
    input.read_exact(&mut b)?;
    Ok(b[0])
}

fn read_count(input: &mut impl Read) -> io::Result<usize> {
    let mut b = [0u8; 4];
    input.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b) as usize)
}

fn read_text(input: &mut impl Read) -> io::Result<String> {
    let mut bytes = vec![0u8; read_count(input)?];
    input.read_exact(&mut bytes)?;
    String::from_utf8(bytes).map_err(|e| corrupt(e.to_string()))
}

fn corrupt(what: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("spilled rule results are damaged: {what}"),
    )
}
