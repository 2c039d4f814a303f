//! [`Digest`]: a blob's name, `sha256:<64 lower-case hex digits>`, checked once when it is parsed.
//!
//! Blob paths are built from a `Digest` only ([`Digest::blob_path`]), so a manifest naming a blob
//! `sha256:../../etc/passwd` is refused when the manifest is read, and no unchecked text ever becomes
//! a path.

use sha2::{Digest as _, Sha256};
use std::fmt;

/// `sha256:` followed by 64 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest([u8; 71]);

/// What a well-formed digest looks like, for error messages.
pub const DIGEST_FORM: &str = "sha256:<64 lower-case hex digits>";

/// Text that is not a well-formed digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {DIGEST_FORM}, found {found}")]
pub struct DigestError {
    /// The text found (quoted, control characters escaped, cut at 80 characters).
    pub found: String,
}

impl Digest {
    /// Parses `sha256:<hex>`, requiring exactly 64 lower-case hex digits.
    pub fn parse(s: &str) -> Result<Self, DigestError> {
        let well_formed = s.len() == 71
            && s.starts_with("sha256:")
            && s.as_bytes()[7..]
                .iter()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b));
        if !well_formed {
            let shown = crate::limits::clip(s, 80);
            return Err(DigestError {
                found: format!("{shown:?}"),
            });
        }
        let mut text = [0u8; 71];
        text.copy_from_slice(s.as_bytes());
        Ok(Digest(text))
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self::from_raw(&Sha256::digest(bytes))
    }

    /// The digest whose 32 raw bytes are `raw` (e.g. a streaming hasher's output).
    pub fn from_raw(raw: &[u8]) -> Self {
        assert_eq!(raw.len(), 32, "a SHA-256 is 32 bytes");
        let mut text = [0u8; 71];
        text[..7].copy_from_slice(b"sha256:");
        text[7..].copy_from_slice(super::hex_lower(raw).as_bytes());
        Digest(text)
    }

    /// `sha256:<hex>`.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("a digest is ASCII")
    }

    /// The 64 hex digits.
    pub fn hex(&self) -> &str {
        &self.as_str()[7..]
    }

    /// Where the blob with this digest lives, relative to the pack root (`blobs/sha256/ab/ab…`).
    pub fn blob_path(&self) -> String {
        let hex = self.hex();
        format!("{}/{}/{hex}", super::BLOB_DIR, &hex[..2])
    }
}

/// The digest of the empty body: a well-formed placeholder for records whose digest the pack writer
/// fills in ([`super::PackWriter::add_record`]).
impl Default for Digest {
    fn default() -> Self {
        Self::of(b"")
    }
}

impl std::ops::Deref for Digest {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Digest {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for Digest {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Digest {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Digest {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> String {
        d.as_str().to_string()
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Digest;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(DIGEST_FORM)
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Digest, E> {
                Digest::parse(s).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_digests_parse() {
        let good = format!("sha256:{}", "0123456789abcdef".repeat(4));
        let d = Digest::parse(&good).unwrap();
        assert_eq!(d.as_str(), good);
        assert_eq!(d.blob_path(), format!("blobs/sha256/01/{}", d.hex()));
        for bad in [
            "sha256:../../../../etc/passwd",
            "sha256:/etc/passwd",
            "sha256:a",
            "",
            &good.to_uppercase(),
            &format!("{good}0"),
            &good.replace("sha256:", "sha512:"),
            &format!("sha256:{}", "é".repeat(32)),
        ] {
            let e = Digest::parse(bad).unwrap_err();
            assert!(e.to_string().starts_with("expected sha256:<64"), "{e}");
        }
        assert_eq!(
            Digest::default().as_str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(Digest::of(b""), Digest::default());
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), d);
        assert!(serde_json::from_str::<Digest>("\"sha256:a\"").is_err());
    }
}
