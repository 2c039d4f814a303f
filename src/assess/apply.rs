//! Puts the assessor's work beside the machine's verdicts in results (v2 fields): each judged item
//! gets `assessor` (verdict, origin, name, date, notes, reason) and every item its `attachments`. The
//! machine's `verdict` and `verdict_with_exceptions` never change, so `--fail-on` keeps judging
//! machine verdicts only.
//!
//! An assessor's verdict that differs from a machine `non_compliant` or `error` must say why
//! (`reason`): a human verdict never silently replaces a finding the evidence made.

use super::{verify::read_judgements, AssessmentManifest};
use crate::catalog::Catalog;
use crate::pack::Pack;
use crate::results::{
    AssessmentApplied, AssessorVerdict, AttachmentRef, Results, RESULTS_SCHEMA_V2,
};
use crate::verdict::Verdict;
use anyhow::{bail, Result};

/// Applies the assessment layer of `pack` (if it has one) to `results`.
pub fn apply(results: &mut Results, pack: &Pack, catalog: &Catalog) -> Result<()> {
    let Some(dir) = pack.closed_dir() else {
        return Ok(()); // the embedded demo has no assessment
    };
    // Judgements imported but not yet signed (no attachment either) have no assessment manifest yet:
    // they apply all the same, against this pack; `verify` is what says the layer is unsigned.
    let manifest = match AssessmentManifest::read(dir)? {
        Some(m) => m,
        None if dir.path().join(super::JUDGEMENTS).exists() => {
            AssessmentManifest::new(&pack.digest())
        }
        None => return Ok(()),
    };
    if manifest.pack != pack.digest() {
        bail!(
            "{}: the assessment is of pack {}, not of this pack ({}): the evidence changed since it was assessed",
            dir.path().join(super::MANIFEST).display(),
            manifest.pack,
            pack.digest()
        );
    }
    let judgements = read_judgements(dir, catalog, &manifest, None)?;
    let mut problems = Vec::new();
    for control in &mut results.controls {
        control.attachments = attachments_of(&manifest, &control.id, judgements.as_ref());
        let Some((j, at)) = judgements.as_ref().and_then(|js| js.get(&control.id)) else {
            continue;
        };
        let machine = control.verdict;
        let overrides =
            matches!(machine, Verdict::NonCompliant | Verdict::Error) && j.verdict != machine;
        if overrides && j.reason.is_none() {
            problems.push(format!(
                "{at}: item `{}`: the machine judged `{machine}` from the evidence; adopting `{}` over it needs `reason = \"…\"` (why the evidence does not decide it)",
                control.id, j.verdict
            ));
        }
        control.assessor = Some(AssessorVerdict {
            verdict: j.verdict,
            origin: "assessor".into(),
            assessor: j.assessor.clone(),
            date: j.date.clone(),
            notes: j.notes.clone(),
            reason: j.reason.clone(),
        });
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    results.assessment = Some(AssessmentApplied {
        judgements_digest: judgements
            .as_ref()
            .map_or(String::new(), |j| j.digest.clone()),
        judged: judgements.as_ref().map_or(0, |j| j.list.len() as u64),
        attachments: manifest.attachments.len() as u64,
    });
    results.schema = RESULTS_SCHEMA_V2.into();
    Ok(())
}

/// The files attached to `item`, and those its judgement cites, each once, in attachment order.
fn attachments_of(
    manifest: &AssessmentManifest,
    item: &str,
    judgements: Option<&super::judgements::Judgements>,
) -> Vec<AttachmentRef> {
    let cited = judgements
        .and_then(|js| js.get(item))
        .map(|(j, _)| j.attachments.clone())
        .unwrap_or_default();
    let mut out: Vec<AttachmentRef> = Vec::new();
    for a in &manifest.attachments {
        if (a.item == item || cited.contains(&a.sha256))
            && !out.iter().any(|o| o.sha256 == a.sha256.as_str())
        {
            out.push(AttachmentRef {
                name: a.name.clone(),
                sha256: a.sha256.to_string(),
                note: a.note.clone(),
            });
        }
    }
    out
}
