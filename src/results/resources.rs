//! The resources one rule judged: held in memory while few, spilled to a temporary file when many.
//!
//! A rule over a large estate judges tens of thousands of resources (every security group rule, every
//! snapshot); holding them all until `results.json` is written made evaluation's memory grow with the
//! estate. [`ResourceBuffer`] moves them, a chunk at a time, into an unnamed temporary file (deleted by
//! the OS when the last handle goes), and [`Resources`] reads them back one at a time wherever they
//! are iterated or serialized. The bytes of `results.json` are the same either way.

use super::{ResourceResult, ResourceStatus};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read};
use std::sync::Arc;

/// Resources kept in memory before a buffer spills them to disk.
pub const SPILL_AT: usize = 256;

/// The resources a rule judged, in the order it judged them.
#[derive(Debug, Clone, Default)]
pub struct Resources(Repr);

#[derive(Debug, Clone)]
enum Repr {
    Memory(Vec<ResourceResult>),
    /// `len` resources in `file` (as [`super::spill_format`] writes them), from byte 0 to `end`;
    /// `counts` by status.
    Spilled {
        file: Arc<File>,
        end: u64,
        len: usize,
        counts: Counts,
    },
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Memory(Vec::new())
    }
}

/// Resources passed, failed and errored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub passed: u64,
    pub failed: u64,
    pub errored: u64,
}

impl Counts {
    fn add(&mut self, s: ResourceStatus) {
        match s {
            ResourceStatus::Pass => self.passed += 1,
            ResourceStatus::Fail => self.failed += 1,
            ResourceStatus::Error => self.errored += 1,
        }
    }
}

impl Resources {
    /// How many passed, failed and errored (without reading a spilled list back).
    pub fn counts(&self) -> Counts {
        match &self.0 {
            Repr::Memory(v) => {
                let mut c = Counts::default();
                for r in v {
                    c.add(r.status);
                }
                c
            }
            Repr::Spilled { counts, .. } => *counts,
        }
    }

    /// Number of resources.
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Memory(v) => v.len(),
            Repr::Spilled { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the resources live in a temporary file (read back on each iteration).
    pub fn is_spilled(&self) -> bool {
        matches!(self.0, Repr::Spilled { .. })
    }

    /// The resources in order: borrowed when in memory, read back one at a time when spilled.
    ///
    /// # Panics
    /// When a spilled file can no longer be read (it is this process's own unnamed temporary file, so
    /// only a failing disk does that).
    pub fn iter(&self) -> Iter<'_> {
        match &self.0 {
            Repr::Memory(v) => Iter::Memory(v.iter()),
            Repr::Spilled { file, end, len, .. } => Iter::Spilled {
                input: BufReader::with_capacity(64 * 1024, FileRange::new(file.clone(), *end)),
                reader: super::spill_format::Reader::default(),
                left: *len,
            },
        }
    }

    /// A copy of the resources as a vector (reads a spilled list into memory).
    pub fn to_vec(&self) -> Vec<ResourceResult> {
        self.iter().map(Cow::into_owned).collect()
    }

    /// The resources as a vector (reads a spilled list into memory).
    pub fn into_vec(self) -> Vec<ResourceResult> {
        match self.0 {
            Repr::Memory(v) => v,
            Repr::Spilled { .. } => self.iter().map(Cow::into_owned).collect(),
        }
    }
}

impl From<Vec<ResourceResult>> for Resources {
    fn from(v: Vec<ResourceResult>) -> Self {
        Resources(Repr::Memory(v))
    }
}

impl<'a> IntoIterator for &'a Resources {
    type Item = Cow<'a, ResourceResult>;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// Iterator over [`Resources`].
pub enum Iter<'a> {
    Memory(std::slice::Iter<'a, ResourceResult>),
    Spilled {
        input: BufReader<FileRange>,
        reader: super::spill_format::Reader,
        left: usize,
    },
}

impl<'a> Iterator for Iter<'a> {
    type Item = Cow<'a, ResourceResult>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Memory(it) => it.next().map(Cow::Borrowed),
            Iter::Spilled {
                input,
                reader,
                left,
            } => {
                if *left == 0 {
                    return None;
                }
                *left -= 1;
                let item = reader
                    .read(input)
                    .expect("reading spilled rule results back from the temporary file");
                Some(Cow::Owned(item))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match self {
            Iter::Memory(it) => it.len(),
            Iter::Spilled { left, .. } => *left,
        };
        (n, Some(n))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl PartialEq for Resources {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}

impl Serialize for Resources {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// Read back (from `results.json`, by `report`) through a [`ResourceBuffer`]: a large list goes to
/// a temporary file as it is read, so reading a huge result never holds every resource at once.
impl<'de> Deserialize<'de> for Resources {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Resources;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of resource results")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Resources, A::Error> {
                use serde::de::Error;
                let mut buf = ResourceBuffer::default();
                while let Some(r) = seq.next_element::<ResourceResult>()? {
                    buf.push(r).map_err(A::Error::custom)?;
                }
                buf.finish().map_err(A::Error::custom)
            }
        }
        d.deserialize_seq(Visit)
    }
}

/// Collects a rule's resources as they are judged; past [`SPILL_AT`] of them, moves them to disk.
#[derive(Default)]
pub struct ResourceBuffer {
    memory: Vec<ResourceResult>,
    spill: Option<Spill>,
    spill_at: Option<usize>,
}

struct Spill {
    out: BufWriter<File>,
    writer: super::spill_format::Writer,
    len: usize,
    counts: Counts,
}

impl ResourceBuffer {
    /// A buffer that spills past `n` resources (tests use small `n`; evaluation uses [`SPILL_AT`]).
    pub fn spilling_at(n: usize) -> Self {
        Self {
            spill_at: Some(n.max(1)),
            ..Self::default()
        }
    }

    /// Adds one resource. Errs only when the temporary file cannot be written.
    pub fn push(&mut self, r: ResourceResult) -> io::Result<()> {
        self.memory.push(r);
        if self.spill.is_some() || self.memory.len() >= self.spill_at.unwrap_or(SPILL_AT) {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.spill.is_none() {
            self.spill = Some(Spill {
                out: BufWriter::with_capacity(64 * 1024, tempfile::tempfile()?),
                writer: Default::default(),
                len: 0,
                counts: Counts::default(),
            });
        }
        let spill = self.spill.as_mut().expect("just set");
        for r in self.memory.drain(..) {
            spill.writer.write(&mut spill.out, &r)?;
            spill.len += 1;
            spill.counts.add(r.status);
        }
        Ok(())
    }

    /// The resources collected, in order. Errs only when the temporary file cannot be written.
    pub fn finish(mut self) -> io::Result<Resources> {
        if self.spill.is_none() {
            return Ok(Resources::from(self.memory));
        }
        self.flush()?;
        let Spill {
            out, len, counts, ..
        } = self.spill.expect("spilled");
        let file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
        let end = file.metadata()?.len();
        Ok(Resources(Repr::Spilled {
            file: Arc::new(file),
            end,
            len,
            counts,
        }))
    }
}

/// Reads `[0, end)` of a shared file with positional reads, so that several iterators over the same
/// spilled list (or lists sharing a file handle) never move each other's position.
pub struct FileRange {
    file: Arc<File>,
    pos: u64,
    end: u64,
}

impl FileRange {
    fn new(file: Arc<File>, end: u64) -> Self {
        Self { file, pos: 0, end }
    }
}

impl Read for FileRange {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf.len().min((self.end - self.pos) as usize);
        if want == 0 {
            return Ok(0);
        }
        let n = read_at(&self.file, &mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], at: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, at)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], at: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::ResourceStatus;

    fn resource(i: usize) -> ResourceResult {
        ResourceResult {
            id: format!("sg-{i:05}"),
            region: "cn-north-1".into(),
            status: if i.is_multiple_of(3) {
                ResourceStatus::Fail
            } else {
                ResourceStatus::Pass
            },
            // Runs of resources from one document, some with a joined record and locations in it.
            evidence: std::iter::once(format!("sha256:{:064x}", i / 10))
                .chain(
                    i.is_multiple_of(4)
                        .then(|| format!("sha256:{:064x}", i + 1_000_000)),
                )
                .collect(),
            locations: std::iter::once(format!(
                "sha256:{:064x}#$['securityGroupInfo'][{i}]",
                i / 10
            ))
            .chain(
                i.is_multiple_of(4)
                    .then(|| format!("sha256:{:064x}#$['x']", i + 1_000_000)),
            )
            .collect(),
            reason: i
                .is_multiple_of(7)
                .then(|| "line\nbreak and \"quotes\" 中文".to_string()),
        }
    }

    #[test]
    fn spilled_and_in_memory_lists_are_the_same_list() {
        let all: Vec<ResourceResult> = (0..2500).map(resource).collect();
        let mut buf = ResourceBuffer::spilling_at(100);
        for r in &all {
            buf.push(r.clone()).unwrap();
        }
        let spilled = buf.finish().unwrap();
        assert!(spilled.is_spilled());
        assert_eq!(spilled.len(), 2500);
        let memory = Resources::from(all.clone());
        assert!(!memory.is_spilled());
        assert_eq!(spilled, memory);
        assert_eq!(spilled.counts(), memory.counts());
        assert_eq!(spilled.counts().failed, 834);
        // Serialized the same, pretty or not, and iterable more than once, side by side.
        assert_eq!(
            serde_json::to_string_pretty(&spilled).unwrap(),
            serde_json::to_string_pretty(&memory).unwrap()
        );
        let mut a = spilled.iter();
        let copy = spilled.clone();
        let mut b = copy.iter();
        assert_eq!(a.next().unwrap().id, "sg-00000");
        assert_eq!(b.next().unwrap().id, "sg-00000");
        assert_eq!(a.nth(10).unwrap().id, "sg-00011");
        assert_eq!(spilled.clone().into_vec(), all);
        let back: Resources =
            serde_json::from_str(&serde_json::to_string(&spilled).unwrap()).unwrap();
        assert_eq!(back.into_vec(), all);
    }

    #[test]
    fn few_resources_stay_in_memory() {
        let mut buf = ResourceBuffer::spilling_at(10);
        for i in 0..9 {
            buf.push(resource(i)).unwrap();
        }
        let r = buf.finish().unwrap();
        assert!(!r.is_spilled());
        assert_eq!(r.len(), 9);
        assert!(ResourceBuffer::default().finish().unwrap().is_empty());
    }
}
