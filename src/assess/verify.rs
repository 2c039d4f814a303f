//! Verifying the assessment layer, on its own: its manifest names this pack, every attachment and the
//! judgements hash to what it says, nothing else lies under `assessment/` (no link, no special file, no
//! stray file), and the assessor's signature holds. Sealing (`sign --assessment`) records the
//! judgements' digest in the manifest and signs it, only once the layer verifies.

use super::judgements::{self, Judgements};
use super::{attachment_path, AssessmentManifest, FileRef};
use crate::catalog::Catalog;
use crate::pack::closed::{ClosedDir, EntryKind};
use crate::pack::{hash, ASSESSMENT_DIR};
use crate::sign::{self, AllowedSigners, SigStatus, Signer};
use anyhow::{bail, Result};
use std::collections::BTreeSet;
use std::path::Path;

/// What verifying the layer found.
#[derive(Debug)]
pub struct AssessmentReport {
    /// The pack has an `assessment/` at all.
    pub present: bool,
    /// Everything wrong with the layer's files, sorted.
    pub problems: Vec<String>,
    pub attachments_ok: usize,
    /// Items judged (0 when there is no judgements file).
    pub judged: usize,
    pub signature: SigStatus,
}

impl AssessmentReport {
    fn absent() -> Self {
        AssessmentReport {
            present: false,
            problems: Vec::new(),
            attachments_ok: 0,
            judged: 0,
            signature: SigStatus::Unsigned,
        }
    }
}

/// Verifies the layer of the pack at `root`, whose evidence manifest digest is `pack_digest`.
pub fn verify(
    root: &Path,
    pack_digest: &str,
    catalog: &Catalog,
    allowed: Option<&AllowedSigners>,
) -> Result<AssessmentReport> {
    let dir = ClosedDir::open(root).map_err(anyhow::Error::new)?;
    let Some(top) = dir.list("")?.into_iter().find(|e| e.name == ASSESSMENT_DIR) else {
        return Ok(AssessmentReport::absent());
    };
    let mut report = AssessmentReport::absent();
    report.present = true;
    if top.kind != EntryKind::Dir {
        report.problems.push(format!(
            "{ASSESSMENT_DIR} is a {}; the assessment layer is a directory, never read through a link",
            top.kind.describe()
        ));
        report.signature = SigStatus::Bad("the assessment layer could not be read".into());
        return Ok(report);
    }
    let manifest = match AssessmentManifest::read(&dir) {
        Ok(Some(m)) => m,
        Ok(None) => {
            report.problems.push(format!(
                "{}: missing; `dengbao attach` and `dengbao sign --assessment` write it",
                super::MANIFEST
            ));
            AssessmentManifest::new(pack_digest)
        }
        Err(e) => {
            report.problems.push(format!("{e:#}"));
            AssessmentManifest::new(pack_digest)
        }
    };
    if manifest.pack != pack_digest {
        report.problems.push(format!(
            "{}: assesses pack {}, but this pack's manifest is {}: it is the assessment of other evidence",
            super::MANIFEST,
            manifest.pack,
            pack_digest
        ));
    }
    let mut expected: BTreeSet<String> = [super::MANIFEST, super::SIG]
        .iter()
        .map(|s| s.to_string())
        .collect();
    check_attachments(&dir, &manifest, &mut report, &mut expected);
    if let Some(signed) = &manifest.judgements {
        expected.insert(super::JUDGEMENTS.to_string());
        match read_judgements(&dir, catalog, &manifest, Some(signed)) {
            Ok(j) => report.judged = j.map_or(0, |j| j.list.len()),
            Err(e) => report.problems.push(format!("{e:#}")),
        }
    }
    for (rel, kind) in dir.subdir(ASSESSMENT_DIR)?.walk()? {
        let rel = format!("{ASSESSMENT_DIR}/{rel}");
        match kind {
            EntryKind::Dir => {}
            EntryKind::File if expected.contains(&rel) => {}
            EntryKind::File if rel == super::JUDGEMENTS => report.problems.push(format!(
                "{rel}: not covered by {}: seal it with `dengbao sign PACK --assessment --key KEY`",
                super::MANIFEST
            )),
            EntryKind::File => report
                .problems
                .push(format!("extra: {rel} is not named by {}", super::MANIFEST)),
            other => report.problems.push(format!(
                "{rel} is a {}; an assessment's files are regular files, never read through links",
                other.describe()
            )),
        }
    }
    report.problems.sort();
    report.problems.dedup();
    report.signature = sign::check_file(
        &dir,
        super::MANIFEST,
        super::SIG,
        sign::ASSESSMENT_NAMESPACE,
        allowed,
    );
    Ok(report)
}

fn check_attachments(
    dir: &ClosedDir,
    manifest: &AssessmentManifest,
    report: &mut AssessmentReport,
    expected: &mut BTreeSet<String>,
) {
    for a in &manifest.attachments {
        let rel = attachment_path(&a.sha256);
        if !expected.insert(rel.clone()) {
            continue; // one file attached to two items
        }
        let what = format!("{rel} ({}, attached to {})", a.name, a.item);
        match dir
            .open_file(&rel)
            .map_err(|e| e.to_string())
            .and_then(|f| hash(f).map_err(|e| e.to_string()))
        {
            Err(e) => report.problems.push(format!("attachment {what}: {e}")),
            Ok((actual, _)) if actual != a.sha256.as_str() => report.problems.push(format!(
                "altered: attachment {what} should hash to {} but hashes to {actual}",
                a.sha256
            )),
            Ok((_, size)) if size != a.size => report.problems.push(format!(
                "altered: attachment {what} should be {} bytes but is {size}",
                a.size
            )),
            Ok(_) => report.attachments_ok += 1,
        }
    }
}

/// Reads and validates `judgements.toml`; with `signed`, its bytes must be the ones sealed.
pub fn read_judgements(
    dir: &ClosedDir,
    catalog: &Catalog,
    manifest: &AssessmentManifest,
    signed: Option<&FileRef>,
) -> Result<Option<Judgements>> {
    let bytes = match dir.read(super::JUDGEMENTS, crate::limits::MAX_TOML_FILE_BYTES) {
        Ok(b) => b,
        Err(e) if e.is_not_found() && signed.is_none() => return Ok(None),
        Err(e) => return Err(anyhow::Error::new(e)),
    };
    if let Some(signed) = signed {
        let actual = crate::pack::Digest::of(&bytes);
        if actual != signed.sha256 || bytes.len() as u64 != signed.size {
            bail!(
                "altered: {} should hash to {} but hashes to {actual}",
                super::JUDGEMENTS,
                signed.sha256
            );
        }
    }
    let shown = dir.path().join(super::JUDGEMENTS).display().to_string();
    let text = String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{shown}: not UTF-8 text"))?;
    judgements::parse(&text, &shown, catalog, &manifest.attachments).map(Some)
}

/// `dengbao sign PACK --assessment`: records the judgements in the layer's manifest and signs it.
/// Refused while the evidence or the layer has a problem. The armored signature and what it covers.
pub fn seal(root: &Path, catalog: &Catalog, signer: &Signer) -> Result<(String, usize, usize)> {
    let pack = crate::pack::Pack::open(root)?;
    let dir = pack.closed_dir().expect("opened from a directory");
    let Some(mut manifest) = AssessmentManifest::read(dir)? else {
        bail!(
            "{}: no assessment yet: attach files (`dengbao attach`) or write {} first",
            root.display(),
            super::JUDGEMENTS
        );
    };
    let judged = match read_judgements(dir, catalog, &manifest, None)? {
        Some(j) => {
            let bytes = dir.read(super::JUDGEMENTS, crate::limits::MAX_TOML_FILE_BYTES)?;
            manifest.judgements = Some(FileRef {
                sha256: crate::pack::Digest::of(&bytes),
                size: bytes.len() as u64,
            });
            j.list.len()
        }
        None => {
            manifest.judgements = None;
            0
        }
    };
    let bytes = manifest.to_bytes()?;
    super::drop_stale_signature(root)?;
    super::write_file(root, super::MANIFEST, &bytes)?;
    let report = verify(root, &pack.digest(), catalog, None)?;
    if !report.problems.is_empty() {
        bail!(
            "not signed: the assessment has {} problem(s):\n{}",
            report.problems.len(),
            report.problems.join("\n")
        );
    }
    let armored = sign::sign(signer, sign::ASSESSMENT_NAMESPACE, &bytes)?;
    super::write_file(root, super::SIG, armored.as_bytes())?;
    Ok((armored, report.attachments_ok, judged))
}
