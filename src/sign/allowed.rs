//! OpenSSH's allowed_signers file (`man ssh-keygen`, ALLOWED SIGNERS): who is trusted to sign.
//!
//! ```text
//! # principals          [options]                          keytype      key
//! tenant@example.com    namespaces="dengbao-pack"          ssh-ed25519  AAAAC3Nz…
//! assessor@cert.example namespaces="dengbao-assessment",valid-before="20271231Z" ecdsa-sha2-nistp256 AAAA…
//! ```
//!
//! Supported options: `namespaces="pattern,…"` (with `*` and `?`), `valid-after` and `valid-before`
//! (`YYYYMMDD[Z]` or `YYYYMMDDHHMM[SS][Z]`; local time unless `Z`). `cert-authority` is refused with the
//! line named: dengbao does not verify certificate signatures; list the signer's key itself. Every
//! problem is reported as `FILE:LINE: …`, and the whole file is refused, like a rule file.

use crate::exceptions::glob;
use anyhow::{bail, Context, Result};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use ssh_key::public::KeyData;
use ssh_key::PublicKey;
use std::path::Path;

/// Largest allowed_signers file read.
const FILE_LIMIT: u64 = 4 << 20;

/// One trusted key.
#[derive(Debug, Clone)]
pub struct AllowedSigner {
    pub principals: Vec<String>,
    pub key: KeyData,
    /// `namespaces=` patterns; empty: every namespace.
    pub namespaces: Vec<String>,
    pub valid_after: Option<DateTime<Utc>>,
    pub valid_before: Option<DateTime<Utc>>,
    /// Where it was read, for messages (`allowed_signers:3`).
    pub at: String,
}

/// The parsed file.
#[derive(Debug, Clone)]
pub struct AllowedSigners {
    pub name: String,
    pub signers: Vec<AllowedSigner>,
}

impl AllowedSigners {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes =
            crate::limits::read_file(path, FILE_LIMIT, "an allowed_signers file", "FILE_LIMIT")?;
        let text = String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("{}: not UTF-8 text", path.display()))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses the text of an allowed_signers file named `name`; every bad line is reported.
    pub fn parse(text: &str, name: &str) -> Result<Self> {
        let mut signers = Vec::new();
        let mut problems = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = format!("{name}:{}", i + 1);
            match parse_line(line, &at) {
                Ok(s) => signers.push(s),
                Err(e) => problems.push(format!("{at}: {e}")),
            }
        }
        if !problems.is_empty() {
            bail!("{}", problems.join("\n"));
        }
        if signers.is_empty() {
            bail!("{name}: no signer listed (lines are `PRINCIPALS [OPTIONS] KEYTYPE KEY`)");
        }
        Ok(AllowedSigners {
            name: name.to_string(),
            signers,
        })
    }

    /// The entry trusting `key` for `namespace` at `now`, or why there is none.
    pub fn trusting(
        &self,
        key: &KeyData,
        namespace: &str,
        now: DateTime<Utc>,
    ) -> Result<&AllowedSigner, String> {
        let holding: Vec<&AllowedSigner> = self.signers.iter().filter(|s| &s.key == key).collect();
        if holding.is_empty() {
            return Err(format!("is not in {}", self.name));
        }
        let mut why = Vec::new();
        for s in holding {
            if !s.namespaces.is_empty() && !s.namespaces.iter().any(|p| glob(p, namespace)) {
                why.push(format!(
                    "{} allows it only for namespaces {}",
                    s.at,
                    s.namespaces.join(",")
                ));
            } else if s.valid_after.is_some_and(|t| now < t) {
                why.push(format!(
                    "{} makes it valid only after {}",
                    s.at,
                    s.valid_after.unwrap()
                ));
            } else if s.valid_before.is_some_and(|t| now >= t) {
                why.push(format!(
                    "{} made it valid only before {}",
                    s.at,
                    s.valid_before.unwrap()
                ));
            } else {
                return Ok(s);
            }
        }
        Err(format!(
            "is not trusted for `{namespace}` now: {}",
            why.join("; ")
        ))
    }
}

fn parse_line(line: &str, at: &str) -> Result<AllowedSigner> {
    let (principals, rest) = next_field(line);
    let principals: Vec<String> = unquote(principals)
        .split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    if principals.is_empty() {
        bail!("no principal");
    }
    // The options field is there when what follows is not a key.
    let (options, key_text) = match PublicKey::from_openssh(rest) {
        Ok(_) => ("", rest),
        Err(_) => next_field(rest),
    };
    let key = PublicKey::from_openssh(key_text).with_context(|| {
        format!(
            "`{}` is not `KEYTYPE BASE64-KEY`",
            key_text.chars().take(40).collect::<String>()
        )
    })?;
    let mut signer = AllowedSigner {
        principals,
        key: key.key_data().clone(),
        namespaces: Vec::new(),
        valid_after: None,
        valid_before: None,
        at: at.to_string(),
    };
    for option in split_options(options) {
        let (name, value) = option.split_once('=').unwrap_or((option, ""));
        let value = unquote(value);
        match name.to_ascii_lowercase().as_str() {
            "namespaces" => signer.namespaces = value.split(',').map(str::to_string).collect(),
            "valid-after" => signer.valid_after = Some(timestamp(value)?),
            "valid-before" => signer.valid_before = Some(timestamp(value)?),
            "cert-authority" => bail!(
                "cert-authority: dengbao does not verify certificate signatures; list the signer's own key"
            ),
            other => bail!("unknown option `{other}` (known: namespaces, valid-after, valid-before)"),
        }
    }
    Ok(signer)
}

/// The first whitespace-separated field (double quotes keep spaces) and the rest, trimmed.
fn next_field(s: &str) -> (&str, &str) {
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => return (&s[..i], s[i..].trim_start()),
            _ => {}
        }
    }
    (s, "")
}

/// Options separated by commas outside double quotes.
fn split_options(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut quoted, mut start) = (false, 0);
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

/// `YYYYMMDD[Z]` or `YYYYMMDDHHMM[SS][Z]`, local time unless it ends in `Z`.
fn timestamp(value: &str) -> Result<DateTime<Utc>> {
    let (digits, utc) = match value.strip_suffix(['Z', 'z']) {
        Some(d) => (d, true),
        None => (value, false),
    };
    let naive = match digits.len() {
        8 => NaiveDate::parse_from_str(digits, "%Y%m%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0)),
        12 => NaiveDateTime::parse_from_str(digits, "%Y%m%d%H%M").ok(),
        14 => NaiveDateTime::parse_from_str(digits, "%Y%m%d%H%M%S").ok(),
        _ => None,
    };
    let Some(naive) = naive else {
        bail!("`{value}` is not a time (YYYYMMDD[Z] or YYYYMMDDHHMM[SS][Z])");
    };
    if utc {
        return Ok(Utc.from_utc_datetime(&naive));
    }
    chrono::Local
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .with_context(|| format!("`{value}` does not exist in local time"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPsZgsRA9JR9xnEQRf0P6IEu6WesyVXNSuhJn5tCJF37";

    #[test]
    fn lines_with_and_without_options_parse() {
        let text = format!(
            "# comment\n\na@b,c@d {KEY} laptop\n\"e f@g\" namespaces=\"dengbao-pack,x\",valid-after=\"20200101Z\" {KEY}\n"
        );
        let a = AllowedSigners::parse(&text, "as").unwrap();
        assert_eq!(a.signers.len(), 2);
        assert_eq!(a.signers[0].principals, ["a@b", "c@d"]);
        assert_eq!(a.signers[0].at, "as:3");
        assert_eq!(a.signers[1].principals, ["e f@g"]);
        assert_eq!(a.signers[1].namespaces, ["dengbao-pack", "x"]);
        assert_eq!(
            a.signers[1].valid_after.unwrap().to_rfc3339(),
            "2020-01-01T00:00:00+00:00"
        );
    }

    #[test]
    fn bad_lines_are_named_and_cert_authorities_refused() {
        let text = format!("a@b cert-authority {KEY}\nc@d nonsense\ne@f bogus=1 {KEY}\n");
        let e = AllowedSigners::parse(&text, "as").unwrap_err().to_string();
        assert!(e.contains("as:1: cert-authority"), "{e}");
        assert!(e.contains("as:2: "), "{e}");
        assert!(e.contains("as:3: unknown option `bogus`"), "{e}");
        assert!(AllowedSigners::parse("# nothing\n", "as").is_err());
    }

    #[test]
    fn validity_windows_and_namespace_patterns_apply() {
        let text = format!("a@b valid-before=\"20000101Z\" {KEY}\n");
        let a = AllowedSigners::parse(&text, "as").unwrap();
        let key = a.signers[0].key.clone();
        let e = a.trusting(&key, "dengbao-pack", Utc::now()).unwrap_err();
        assert!(e.contains("valid only before"), "{e}");
        assert!(glob("dengbao-*", "dengbao-pack"));
        assert!(glob("d?ngbao-pack", "dengbao-pack"));
        assert!(!glob("dengbao-assessment", "dengbao-pack"));
        assert!(timestamp("2020").is_err());
        assert!(timestamp("202001011230").is_ok());
    }
}
