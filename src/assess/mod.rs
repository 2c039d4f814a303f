//! The assessment layer: the assessor's work beside the tenant's evidence, never inside it.
//!
//! ```text
//! PACK/
//!   manifest.json, manifest.json.sig, blobs/…      the tenant's evidence: never changed by an assessor
//!   assessment/
//!     assessment.json                              the assessment manifest (below)
//!     assessment.json.sig                          the assessor's SSHSIG, namespace dengbao-assessment
//!     judgements.toml                              the assessor's verdicts ([`judgements`])
//!     attachments/sha256/ab/abcdef…                attached files, named by their SHA-256
//! ```
//!
//! `assessment.json` names the evidence it assesses (the pack digest: `sha256:` of `manifest.json`),
//! the digest of `judgements.toml`, and every attachment (digest, size, file name, item, note). The
//! assessor's signature covers it, so it covers every byte of the layer; it never covers the tenant's
//! files, and the tenant's signature never covers the assessor's: a changed attachment fails only the
//! assessment. Everything under `assessment/` is read as a closed world ([`crate::pack::closed`]).

pub mod apply;
pub mod attach;
pub mod import;
pub mod judgements;
pub mod verify;

use crate::pack::{closed::ClosedDir, Digest};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// The assessment manifest.
pub const MANIFEST: &str = "assessment/assessment.json";
/// The assessor's signature over [`MANIFEST`].
pub const SIG: &str = "assessment/assessment.json.sig";
/// The assessor's verdicts.
pub const JUDGEMENTS: &str = "assessment/judgements.toml";
/// Where attachments live, content-addressed.
pub const ATTACHMENTS: &str = "assessment/attachments/sha256";
/// The format of [`MANIFEST`]; readers refuse a format they do not know.
pub const FORMAT: &str = "dengbao.assessment/v1";
/// Largest assessment manifest read.
const MANIFEST_LIMIT: u64 = 16 << 20;

/// `assessment/assessment.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentManifest {
    /// [`FORMAT`].
    pub format: String,
    /// `sha256:` of the evidence's `manifest.json`: the pack this assessment is of.
    pub pack: String,
    /// `judgements.toml` as signed (absent until the first `sign --assessment` with judgements).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judgements: Option<FileRef>,
    /// Attached files, in the order they were attached.
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

/// A file of the layer by digest and size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRef {
    pub sha256: Digest,
    pub size: u64,
}

/// One attached file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    pub sha256: Digest,
    pub size: u64,
    /// The file name it was attached under (no directory).
    pub name: String,
    /// The test item it is evidence for.
    pub item: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Where an attachment with this digest lives, relative to the pack root.
pub fn attachment_path(digest: &Digest) -> String {
    let hex = digest.hex();
    format!("{ATTACHMENTS}/{}/{hex}", &hex[..2])
}

impl AssessmentManifest {
    /// A new, empty assessment of the pack whose manifest digest is `pack`.
    pub fn new(pack: &str) -> Self {
        AssessmentManifest {
            format: FORMAT.to_string(),
            pack: pack.to_string(),
            judgements: None,
            attachments: Vec::new(),
        }
    }

    /// Reads the manifest of the layer, None when there is none.
    pub fn read(dir: &ClosedDir) -> Result<Option<Self>> {
        let bytes = match dir.read(MANIFEST, MANIFEST_LIMIT) {
            Ok(b) => b,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(anyhow::Error::new(e)),
        };
        let m: AssessmentManifest = serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "{}: not an assessment manifest",
                dir.path().join(MANIFEST).display()
            )
        })?;
        if m.format != FORMAT {
            bail!(
                "{}: format `{}` is not one this dengbao reads ({FORMAT}); a newer dengbao may have written it",
                dir.path().join(MANIFEST).display(),
                m.format
            );
        }
        Ok(Some(m))
    }

    /// The manifest's bytes as written: pretty JSON and a final newline.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut bytes = serde_json::to_vec_pretty(self)?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}

/// Writes `bytes` to `rel` beneath the pack `root`, through a temporary file renamed into place.
/// Every directory on the way must be a real directory of the pack (never a link); missing ones are
/// created.
pub fn write_file(root: &std::path::Path, rel: &str, bytes: &[u8]) -> Result<()> {
    let path = root.join(rel);
    let parent = path.parent().context("a path with no parent")?;
    let mut at = root.to_path_buf();
    for part in std::path::Path::new(rel)
        .parent()
        .into_iter()
        .flat_map(|p| p.components())
    {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => bail!(
                "{}: not a directory (a link or a file where the assessment layer's directory should be)",
                at.display()
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir(&at)
                .with_context(|| format!("creating {}", at.display()))?,
            Err(e) => return Err(e).with_context(|| format!("reading {}", at.display())),
        }
    }
    let mut tmp = tempfile::NamedTempFile::new_in(parent)
        .with_context(|| format!("creating a file in {}", parent.display()))?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    tmp.persist(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Removes the assessor's signature once the layer changed, saying so; true when there was one.
pub fn drop_stale_signature(root: &std::path::Path) -> Result<bool> {
    let sig = root.join(SIG);
    match std::fs::symlink_metadata(&sig) {
        Ok(_) => {
            std::fs::remove_file(&sig).with_context(|| format!("removing {}", sig.display()))?;
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| format!("reading {}", sig.display())),
    }
}
