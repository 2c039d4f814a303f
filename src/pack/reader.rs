//! Reading packs from a directory, or from the copy embedded in the binary (the demo).
//!
//! A directory is read through [`ClosedDir`]: the manifest and every blob beneath the pack directory,
//! regular files only, never through a link, each within its size limit ([`crate::limits`]).

use super::closed::{ClosedDir, ClosedError, Refusal};
use super::{EvidenceRecord, Manifest, MANIFEST_FILE};
use crate::limits::{MAX_BODY_BYTES, MAX_MANIFEST_BYTES};
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::sync::Arc;

/// Where a pack's bytes come from.
#[derive(Debug, Clone)]
enum Source {
    Dir(Arc<ClosedDir>),
    Embedded(&'static include_dir::Dir<'static>),
}

/// An opened pack: its manifest, and access to its blobs.
#[derive(Debug, Clone)]
pub struct Pack {
    source: Source,
    /// The manifest, parsed.
    pub manifest: Manifest,
    /// `sha256:<hex>` of the manifest's exact bytes (the bytes themselves are not kept: a large
    /// scan's manifest is megabytes; [`Pack::manifest_bytes`] reads them again).
    digest: String,
}

/// A body larger than [`MAX_BODY_BYTES`]: it is not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverLimit {
    /// The blob's size in bytes.
    pub size: u64,
}

impl std::fmt::Display for OverLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the body is {} bytes, over the limit of {} for one body (MAX_BODY_BYTES)",
            self.size,
            crate::limits::bytes(MAX_BODY_BYTES)
        )
    }
}

impl Pack {
    /// Opens the pack in directory `root`.
    pub fn open(root: &Path) -> Result<Self> {
        let dir = ClosedDir::open(root).map_err(|e| not_a_pack(root, e))?;
        Self::from_dir(dir)
    }

    /// Opens the pack in an already opened directory (e.g. `pack/` found beneath another one).
    pub fn from_dir(dir: ClosedDir) -> Result<Self> {
        let bytes = dir
            .read(MANIFEST_FILE, MAX_MANIFEST_BYTES)
            .map_err(|e| not_a_pack(dir.path(), e))?;
        let name = dir.path().join(MANIFEST_FILE).display().to_string();
        Self::from_parts(Source::Dir(Arc::new(dir)), bytes, &name)
    }

    /// Opens a pack embedded in the binary with `include_dir!`.
    pub fn embedded(dir: &'static include_dir::Dir<'static>) -> Result<Self> {
        let file = dir
            .get_file(dir.path().join(MANIFEST_FILE))
            .context("embedded pack has no manifest.json")?;
        Self::from_parts(
            Source::Embedded(dir),
            file.contents().to_vec(),
            "embedded demo manifest.json",
        )
    }

    fn from_parts(source: Source, manifest_bytes: Vec<u8>, name: &str) -> Result<Self> {
        let mut manifest = parse_manifest(&manifest_bytes, name)?;
        // Held for the whole evaluation: without the slack the vector grew with.
        manifest.records.shrink_to_fit();
        super::format::check(&manifest, name)?;
        Ok(Self {
            source,
            manifest,
            digest: super::digest_ref(&super::sha256_hex(&manifest_bytes)),
        })
    }

    /// The manifest's exact bytes, read again from the pack; an error if they no longer hash to the
    /// digest the pack was opened with.
    pub fn manifest_bytes(&self) -> Result<Vec<u8>> {
        let bytes = match &self.source {
            Source::Dir(dir) => dir.read(MANIFEST_FILE, MAX_MANIFEST_BYTES)?,
            Source::Embedded(dir) => dir
                .get_file(dir.path().join(MANIFEST_FILE))
                .context("embedded pack has no manifest.json")?
                .contents()
                .to_vec(),
        };
        if super::digest_ref(&super::sha256_hex(&bytes)) != self.digest {
            bail!("manifest.json changed since the pack was opened");
        }
        Ok(bytes)
    }

    /// The directory the pack was opened from (None for the embedded demo).
    pub fn dir(&self) -> Option<&Path> {
        match &self.source {
            Source::Dir(d) => Some(d.path()),
            Source::Embedded(_) => None,
        }
    }

    /// The pack directory, for reading other sections of it (None for the embedded demo).
    pub fn closed_dir(&self) -> Option<&ClosedDir> {
        match &self.source {
            Source::Dir(d) => Some(d),
            Source::Embedded(_) => None,
        }
    }

    /// `sha256:<hex>` of the manifest bytes: one digest that pins every blob.
    pub fn digest(&self) -> String {
        self.digest.clone()
    }

    /// The raw bytes of a record's blob; an error when it cannot be read, is not a regular file
    /// inside the pack, or is larger than [`MAX_BODY_BYTES`].
    pub fn blob_bytes(&self, rec: &EvidenceRecord) -> Result<Vec<u8>> {
        match self.body(rec)? {
            Ok(bytes) => Ok(bytes),
            Err(over) => bail!("blob {} of probe {}: {over}", rec.sha256, rec.probe),
        }
    }

    /// As [`blob_bytes`](Self::blob_bytes), but a blob larger than [`MAX_BODY_BYTES`] is
    /// `Ok(Err(OverLimit))`, not read, so its probe can be judged as failed rather than the whole pack
    /// refused.
    pub fn body(&self, rec: &EvidenceRecord) -> Result<std::result::Result<Vec<u8>, OverLimit>> {
        let rel = rec.sha256.blob_path();
        match &self.source {
            Source::Dir(dir) => match dir.read(&rel, MAX_BODY_BYTES) {
                Ok(bytes) => Ok(Ok(bytes)),
                Err(ClosedError {
                    refusal: Refusal::TooLarge { size, .. },
                    ..
                }) => Ok(Err(OverLimit { size })),
                Err(e) if e.is_not_found() => {
                    Err(e).with_context(|| format!("the blob of probe {} is missing", rec.probe))
                }
                Err(e) => Err(e).with_context(|| {
                    format!(
                        "refusing to read the blob of probe {} (run `dengbao verify`)",
                        rec.probe
                    )
                }),
            },
            Source::Embedded(dir) => {
                let p = dir.path().join(&rel);
                dir.get_file(&p)
                    .map(|f| Ok(f.contents().to_vec()))
                    .with_context(|| format!("embedded blob {} is missing", p.display()))
            }
        }
    }
}

/// Parses manifest bytes; an error names the field at fault: `PACK/manifest.json: records[3].sha256:
/// expected sha256:<64 lower-case hex digits>, found "sha256:a"`. serde_json's recursion limit stays on.
fn parse_manifest(bytes: &[u8], name: &str) -> Result<Manifest> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let manifest: Manifest = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            anyhow::anyhow!("{name}: not a valid pack manifest: {inner}")
        } else {
            anyhow::anyhow!("{name}: {path}: {inner}")
        }
    })?;
    de.end()
        .map_err(|e| anyhow::anyhow!("{name}: not a valid pack manifest: {e}"))?;
    Ok(manifest)
}

fn not_a_pack(root: &Path, e: ClosedError) -> anyhow::Error {
    if e.is_not_found() {
        anyhow::anyhow!(
            "cannot read {}: is {} an evidence pack (a directory written by `dengbao scan`)?",
            root.join(MANIFEST_FILE).display(),
            root.display()
        )
    } else {
        anyhow::Error::new(e)
    }
}
