//! Reading packs from a directory, or from the copy embedded in the binary (the demo).

use super::{blob_rel_path, EvidenceRecord, Manifest, MANIFEST_FILE};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// Where a pack's bytes come from.
#[derive(Debug, Clone)]
enum Source {
    Dir(PathBuf),
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

impl Pack {
    /// Opens the pack in directory `root`.
    pub fn open(root: &Path) -> Result<Self> {
        let path = root.join(MANIFEST_FILE);
        let bytes = std::fs::read(&path).with_context(|| {
            format!(
                "cannot read {}: is {} an evidence pack (a directory written by `dengbao scan`)?",
                path.display(),
                root.display()
            )
        })?;
        Self::from_parts(
            Source::Dir(root.to_path_buf()),
            bytes,
            &path.display().to_string(),
        )
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
        let mut manifest: Manifest = serde_json::from_slice(&manifest_bytes)
            .with_context(|| format!("{name} is not a valid pack manifest"))?;
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
            Source::Dir(root) => std::fs::read(root.join(MANIFEST_FILE))
                .with_context(|| format!("reading {}", root.join(MANIFEST_FILE).display()))?,
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
            Source::Dir(p) => Some(p),
            Source::Embedded(_) => None,
        }
    }

    /// `sha256:<hex>` of the manifest bytes: one digest that pins every blob.
    pub fn digest(&self) -> String {
        self.digest.clone()
    }

    /// The raw bytes of a record's blob.
    pub fn blob_bytes(&self, rec: &EvidenceRecord) -> Result<Vec<u8>> {
        let rel = blob_rel_path(rec.hex());
        match &self.source {
            Source::Dir(root) => {
                let p = root.join(&rel);
                std::fs::read(&p).with_context(|| {
                    format!("blob {} for probe {} is missing", p.display(), rec.probe)
                })
            }
            Source::Embedded(dir) => {
                let p = dir.path().join(&rel);
                dir.get_file(&p)
                    .map(|f| f.contents().to_vec())
                    .with_context(|| format!("embedded blob {} is missing", p.display()))
            }
        }
    }
}
