//! Reports: faithful renderings of `results.json` for people and machines.
//!
//! `results.json` (`dengbao.results/v1`, see [`crate::results`]) is the one canonical result. Every
//! report here is a pure function of three inputs and nothing else, so the same inputs always give
//! byte-identical files (no clock, no randomness, no absolute paths):
//!
//! * the [`Results`];
//! * the framework [`Catalog`], for the texts results do not carry (测评方法 test method, 判定标准 criteria);
//! * the [`EvidenceSet`]: the manifest records and bodies behind each evidence digest, when the
//!   evidence pack is at hand (otherwise digests only, and the HTML report says so).
//!
//! | [`Format`] | files | for |
//! |---|---|---|
//! | `html` | `report.html` | people: one self-contained page, Chinese/English, filters, evidence bodies |
//! | `xlsx` | `assessment-record.xlsx` | assessors: the 测评记录表 and an evidence index (证据索引) |
//! | `csv` | `controls.csv`, `findings.csv` | spreadsheets and scripts (UTF-8 with BOM) |
//! | `md` | `summary.md` | tickets and pull requests |
//! | `ocsf` | `findings.ocsf.jsonl` | SIEMs: OCSF 1.7.0 Compliance Finding events, one per line |
//!
//! Renderers return [`Output`]s (a file name and its bytes); [`write_outputs`] writes them to a
//! directory atomically (temporary name, then rename).

pub mod csv;
pub mod evidence;
pub mod html;
pub mod markdown;
pub mod ocsf;
pub mod pretty;
pub mod xlsx;

pub use evidence::{Availability, Body, Evidence, EvidenceSet};

use crate::catalog::{Bilingual, Catalog, Control};
use crate::pack::closed::ClosedDir;
use crate::pack::Pack;
use crate::results::{ControlResult, ResourceStatus, Results};
use crate::verdict::Verdict;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// A report format, as named on the command line (`--format html,xlsx,csv,md,ocsf`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    Html,
    Xlsx,
    Csv,
    Markdown,
    Ocsf,
}

impl Format {
    /// Every format, in the order they are rendered and listed.
    pub const ALL: [Format; 5] = [
        Format::Html,
        Format::Xlsx,
        Format::Csv,
        Format::Markdown,
        Format::Ocsf,
    ];

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Xlsx => "xlsx",
            Format::Csv => "csv",
            Format::Markdown => "md",
            Format::Ocsf => "ocsf",
        }
    }

    /// Parses a comma-separated list (`html,xlsx`; `all` means every format; `markdown` is `md`).
    /// The result is deduplicated and in [`Format::ALL`] order.
    pub fn parse_list(list: &str) -> Result<Vec<Format>, String> {
        let mut out = std::collections::BTreeSet::new();
        for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.to_ascii_lowercase().as_str() {
                "all" => out.extend(Format::ALL),
                "html" => {
                    out.insert(Format::Html);
                }
                "xlsx" => {
                    out.insert(Format::Xlsx);
                }
                "csv" => {
                    out.insert(Format::Csv);
                }
                "md" | "markdown" => {
                    out.insert(Format::Markdown);
                }
                "ocsf" => {
                    out.insert(Format::Ocsf);
                }
                other => {
                    return Err(format!(
                    "unknown report format `{other}`; choose from html, xlsx, csv, md, ocsf or all"
                ))
                }
            }
        }
        if out.is_empty() {
            return Err(
                "no report format given; choose from html, xlsx, csv, md, ocsf or all".into(),
            );
        }
        Ok(out.into_iter().collect())
    }

    /// Renders this format.
    pub fn render(self, input: &ReportInput<'_>) -> Result<Vec<Output>> {
        match self {
            Format::Html => html::render(input),
            Format::Xlsx => xlsx::render(input),
            Format::Csv => csv::render(input),
            Format::Markdown => markdown::render(input),
            Format::Ocsf => ocsf::render(input),
        }
    }
}

/// One rendered file.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// File name inside the output directory.
    pub name: &'static str,
    pub bytes: Vec<u8>,
}

/// Everything a renderer reads.
pub struct ReportInput<'a> {
    pub results: &'a Results,
    pub catalog: &'a Catalog,
    pub evidence: &'a EvidenceSet,
}

impl<'a> ReportInput<'a> {
    /// The catalog entry of a result (None when the catalog lacks the item).
    pub fn control(&self, c: &ControlResult) -> Option<&'a Control> {
        self.catalog.get(&c.id)
    }
}

/// Renders every format in `formats`.
pub fn render(formats: &[Format], input: &ReportInput<'_>) -> Result<Vec<Output>> {
    let mut out = Vec::new();
    for f in formats {
        out.extend(
            f.render(input)
                .with_context(|| format!("rendering the {} report", f.as_str()))?,
        );
    }
    Ok(out)
}

/// Writes outputs into `dir` (created if needed), each to a temporary name first and then renamed,
/// so a reader never sees half a file. Returns the paths written.
pub fn write_outputs(dir: &Path, outputs: &[Output]) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut paths = Vec::new();
    for o in outputs {
        let path = dir.join(o.name);
        let tmp = dir.join(format!(".{}.tmp", o.name));
        std::fs::write(&tmp, &o.bytes).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
        paths.push(path);
    }
    Ok(paths)
}

/// The evidence for `dengbao report RESULTS`: the pack given with `--pack`, else `pack/` beside
/// `results.json` when it exists. An explicit pack that is not the one the results were computed
/// from is an error; a mismatching or missing default pack only means "no bodies". A default pack is
/// looked up beneath the results' directory without following links, like any pack file; one that is
/// a link, or whose manifest cannot be read, is an error, not silently skipped.
pub fn evidence_for_report(
    results_path: &Path,
    explicit_pack: Option<&Path>,
    results: &Results,
) -> Result<EvidenceSet> {
    if let Some(p) = explicit_pack {
        let pack = Pack::open(p)?;
        if pack.digest() != results.scan.pack_digest {
            bail!(
                "{} has manifest digest {}, but the results were computed from {}; give the pack they came from",
                p.display(),
                pack.digest(),
                results.scan.pack_digest
            );
        }
        return EvidenceSet::from_pack(&pack, results);
    }
    let dir = match results_path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let beside = ClosedDir::open(dir)
        .and_then(|d| d.subdir("pack"))
        .and_then(|d| d.open_file(crate::pack::MANIFEST_FILE).map(|_| d));
    match beside {
        Ok(pack_dir) => {
            let pack = Pack::from_dir(pack_dir)?;
            EvidenceSet::from_pack(&pack, results)
        }
        Err(e) if e.is_not_found() => Ok(EvidenceSet::without_pack(
            results,
            Bilingual {
                zh: "results.json 旁没有证据包 (pack/)：本报告只列出证据摘要，不含原始响应内容。".into(),
                en: "No evidence pack (pack/) beside results.json: this report lists evidence digests only, without the raw bodies.".into(),
            },
        )),
        Err(e) => Err(anyhow::Error::new(e).context(format!(
            "the pack beside {} cannot be used (give another with --pack)",
            results_path.display()
        ))),
    }
}

/// Reads and checks a `results.json` (at most [`crate::limits::MAX_RESULTS_BYTES`]; serde_json's
/// recursion limit applies).
pub fn read_results(path: &Path) -> Result<Results> {
    let limit = crate::limits::MAX_RESULTS_BYTES;
    let bytes = crate::limits::read_file(path, limit, "a results file", "MAX_RESULTS_BYTES")?;
    let results: Results = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a dengbao results file", path.display()))?;
    if results.schema != crate::results::RESULTS_SCHEMA {
        bail!(
            "{}: results schema `{}` is not supported (this dengbao reads `{}`)",
            path.display(),
            results.schema,
            crate::results::RESULTS_SCHEMA
        );
    }
    Ok(results)
}

/// English label of a verdict, for readers (`Partially compliant`); the machine name is
/// [`Verdict::as_str`].
pub fn verdict_en(v: Verdict) -> &'static str {
    match v {
        Verdict::Compliant => "Compliant",
        Verdict::PartiallyCompliant => "Partially compliant",
        Verdict::NonCompliant => "Non-compliant",
        Verdict::NotApplicable => "Not applicable",
        Verdict::Manual => "Manual review",
        Verdict::Error => "Cannot be judged",
    }
}

/// Verdicts in the order reports discuss problems: worst first.
pub fn by_severity() -> Vec<Verdict> {
    let mut v = Verdict::ALL.to_vec();
    v.sort_by_key(|v| std::cmp::Reverse(v.severity()));
    v
}

/// Chinese and English names of a resource status.
pub fn status_label(s: ResourceStatus) -> (&'static str, &'static str) {
    match s {
        ResourceStatus::Pass => ("通过", "pass"),
        ResourceStatus::Fail => ("未通过", "fail"),
        ResourceStatus::Error => ("无法读取", "error"),
    }
}

/// The machine name of a resource status (`pass`, `fail`, `error`).
pub fn status_str(s: ResourceStatus) -> &'static str {
    status_label(s).1
}

/// A resource that did not pass under some rule of a control.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem<'a> {
    pub id: String,
    pub region: String,
    /// `fail` outranks `error` when a resource fails one rule and errs on another.
    pub status: ResourceStatus,
    /// Rules under which it failed or erred.
    pub rules: Vec<&'a str>,
    /// Evidence digests and locations, over those rules, deduplicated in order.
    pub evidence: Vec<String>,
    pub locations: Vec<String>,
    pub reasons: Vec<String>,
}

/// The resources of a control that failed or erred, merged over its rules by (id, region), in first
/// appearance order. (Rule results may be spilled to disk: resources are read one at a time, and
/// owned.)
pub fn problems(c: &ControlResult) -> Vec<Problem<'_>> {
    let mut out: Vec<Problem<'_>> = Vec::new();
    let mut at: std::collections::HashMap<(String, String), usize> = Default::default();
    for rule in &c.rules {
        for r in rule
            .resources
            .iter()
            .filter(|r| r.status != ResourceStatus::Pass)
        {
            let r = r.into_owned();
            let i = *at
                .entry((r.id.clone(), r.region.clone()))
                .or_insert_with(|| {
                    out.push(Problem {
                        id: r.id.clone(),
                        region: r.region.clone(),
                        status: r.status,
                        rules: Vec::new(),
                        evidence: Vec::new(),
                        locations: Vec::new(),
                        reasons: Vec::new(),
                    });
                    out.len() - 1
                });
            let p = &mut out[i];
            if r.status == ResourceStatus::Fail {
                p.status = ResourceStatus::Fail;
            }
            if !p.rules.contains(&rule.id.as_str()) {
                p.rules.push(&rule.id);
            }
            for e in r.evidence {
                push_unique(&mut p.evidence, e);
            }
            for l in r.locations {
                push_unique(&mut p.locations, l);
            }
            if let Some(reason) = r.reason {
                push_unique(&mut p.reasons, reason);
            }
        }
    }
    out
}

fn push_unique(v: &mut Vec<String>, s: String) {
    if !v.contains(&s) {
        v.push(s);
    }
}

/// Every evidence digest a control's rules name, deduplicated in order.
pub fn control_digests(c: &ControlResult) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for rule in &c.rules {
        for r in &rule.resources {
            for e in &r.evidence {
                if seen.insert(e.clone()) {
                    out.push(e.clone());
                }
            }
        }
    }
    out
}

/// Milliseconds since the Unix epoch of an RFC 3339 time (`2026-11-20T02:00:18.009Z`).
pub fn rfc3339_millis(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// `scan.accounts` joined for display.
pub fn accounts(results: &Results) -> String {
    results.scan.accounts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_lists_parse_dedupe_and_order() {
        assert_eq!(
            Format::parse_list("ocsf, html,HTML,markdown").unwrap(),
            vec![Format::Html, Format::Markdown, Format::Ocsf]
        );
        assert_eq!(Format::parse_list("all").unwrap(), Format::ALL.to_vec());
        assert!(Format::parse_list("pdf").unwrap_err().contains("pdf"));
        assert!(Format::parse_list(" , ").is_err());
    }

    #[test]
    fn times_convert_to_millis() {
        assert_eq!(
            rfc3339_millis("1970-01-01T00:00:01.500Z"),
            Some(1500),
            "fractional seconds kept"
        );
        assert_eq!(rfc3339_millis("yesterday"), None);
    }
}
