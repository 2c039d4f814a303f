//! `dengbao attach PACK --item ID --file F`: copies an assessor's file (interview record, screenshot,
//! the provider's filing certificate…) into the assessment layer, named by its SHA-256, and records
//! it in `assessment/assessment.json`. The evidence (`manifest.json`, blobs, their signature) is
//! never touched; a previous assessment signature no longer covers the layer and is removed.

use super::{attachment_path, write_file, AssessmentManifest, Attachment};
use crate::catalog::Catalog;
use crate::pack::{closed::ClosedDir, Digest, Pack};
use anyhow::{bail, Context, Result};
use std::io::Read;
use std::path::Path;

/// Largest file attached (a scanned contract or a video of a walkthrough stays well below).
pub const ATTACHMENT_LIMIT: u64 = 512 << 20;

/// What `attach` did.
#[derive(Debug)]
pub struct Attached {
    pub attachment: Attachment,
    /// The same file was already attached to the same item: nothing changed.
    pub already: bool,
    /// An assessment signature was removed (it no longer covered the layer).
    pub unsigned: bool,
}

/// Attaches `file` to `item` in the pack at `root`.
pub fn attach(
    root: &Path,
    catalog: &Catalog,
    item: &str,
    file: &Path,
    note: Option<&str>,
) -> Result<Attached> {
    if catalog.get(item).is_none() {
        bail!("no test item `{item}`; `dengbao controls list` shows them all");
    }
    let pack = Pack::open(root)?;
    let dir = pack.closed_dir().context("a pack directory")?;
    let bytes = read_regular(file)?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .context("a file name")?;
    let digest = Digest::of(&bytes);
    let mut manifest = current(dir, &pack.digest())?;
    let attachment = Attachment {
        sha256: digest,
        size: bytes.len() as u64,
        name,
        item: item.to_string(),
        note: note.map(str::to_string),
    };
    if manifest.attachments.contains(&attachment) {
        return Ok(Attached {
            attachment,
            already: true,
            unsigned: false,
        });
    }
    write_file(root, &attachment_path(&digest), &bytes)?;
    manifest.attachments.push(attachment.clone());
    let unsigned = super::drop_stale_signature(root)?;
    write_file(root, super::MANIFEST, &manifest.to_bytes()?)?;
    Ok(Attached {
        attachment,
        already: false,
        unsigned,
    })
}

/// The layer's manifest, or a new one; refused when it assesses another pack.
pub(super) fn current(dir: &ClosedDir, pack_digest: &str) -> Result<AssessmentManifest> {
    match AssessmentManifest::read(dir)? {
        Some(m) if m.pack != pack_digest => bail!(
            "{}: the assessment is of pack {}, but this pack's manifest is {}: the evidence changed since it was assessed",
            dir.path().join(super::MANIFEST).display(),
            m.pack,
            pack_digest
        ),
        Some(m) => Ok(m),
        None => Ok(AssessmentManifest::new(pack_digest)),
    }
}

/// The bytes of `path`, refused when it is a link or not a regular file: the descriptor is opened
/// without following a link (and without blocking on a FIFO) and checked with `fstat`.
fn read_regular(path: &Path) -> Result<Vec<u8>> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32 | rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
        .map_err(|e| {
            if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
                anyhow::anyhow!(
                    "{}: a symbolic link; attach the file itself (dengbao never follows links into a pack)",
                    path.display()
                )
            } else {
                anyhow::Error::new(e).context(format!("reading {}", path.display()))
            }
        })?;
    let meta = file
        .metadata()
        .with_context(|| format!("reading {}", path.display()))?;
    if !meta.is_file() {
        bail!("{}: not a regular file; attach a file", path.display());
    }
    if meta.len() > ATTACHMENT_LIMIT {
        bail!(
            "{}: {} bytes is more than an attachment may hold ({ATTACHMENT_LIMIT})",
            path.display(),
            meta.len()
        );
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(ATTACHMENT_LIMIT + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() as u64 > ATTACHMENT_LIMIT {
        bail!(
            "{}: grew past the attachment limit while read",
            path.display()
        );
    }
    Ok(bytes)
}
