//! The evidence pack: the contract between collecting and judging.
//!
//! A pack is a directory:
//!
//! ```text
//! PACK/
//!   manifest.json                 what was asked, where, when, by which probe, and the SHA-256 of each answer
//!   blobs/sha256/ab/abcdef…       the raw response bodies, byte for byte, named by their SHA-256
//!   manifest.json.sig             optional: the tenant's SSH signature over manifest.json (`dengbao sign`)
//!   assessment/                   optional: the assessor's layer, beside the evidence (`crate::assess`)
//! ```
//!
//! Blobs are content-addressed, so identical answers are stored once and any change to a byte is
//! caught by [`verify`]. Failed calls are recorded too: a record with an `error` says what could not be
//! seen, and its blob (when the service sent one) is the error body. Evaluating a pack needs no network.
//!
//! A pack is untrusted input and a closed world: every file of it is read through [`closed`] (beneath
//! the pack directory, never through a link, regular files only, bounded), and every blob path is built
//! from a [`Digest`] checked when the manifest is parsed.

pub mod closed;
mod digest;
mod format;
mod manifest;
mod reader;
mod shared_str;
mod verify;
mod writer;

pub use digest::{Digest, DigestError, DIGEST_FORM};
pub use format::{FORMATS, PACK_FORMAT};
pub use manifest::{
    EvidenceRecord, Manifest, Params, ProbeError, ProbeRun, ProbeStatus, RateRecord, ScanInfo,
    SharedStr, Skipped, SweepInfo,
};
pub use reader::{OverLimit, Pack};
pub(crate) use verify::hash;
pub use verify::{verify, VerifyProblem, VerifyReport};
pub use writer::{copy_pack, BlobStore, PackWriter};

use sha2::{Digest as _, Sha256};

/// Name of the manifest file inside a pack.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The tenant's signature over [`MANIFEST_FILE`] (armored SSHSIG, namespace `dengbao-pack`).
pub const MANIFEST_SIG_FILE: &str = "manifest.json.sig";
/// The assessor's layer: never part of the evidence, verified on its own (`crate::assess`).
pub const ASSESSMENT_DIR: &str = "assessment";
/// Directory (relative to the pack root) holding the content-addressed blobs.
pub const BLOB_DIR: &str = "blobs/sha256";

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex_lower(&Sha256::digest(bytes))
}

pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 0xf) as usize] as char);
    }
    out
}

/// Where the blob with this digest lives, relative to the pack root (`blobs/sha256/ab/ab…`).
pub fn blob_rel_path(digest: &Digest) -> String {
    digest.blob_path()
}

/// `sha256:<hex>` — the digest notation used in manifests and results.
pub fn digest_ref(hex: &str) -> String {
    format!("sha256:{hex}")
}

/// Strips `sha256:` from a digest reference, checking it is 64 lower-case hex digits.
pub fn parse_digest_ref(s: &str) -> Option<&str> {
    Digest::parse(s).ok().map(|_| &s[7..])
}
