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
//! Renderers write into [`Files`]: streamed into a directory ([`write`]: each file under a temporary
//! name, then renamed), or kept in memory as [`Output`]s ([`render`]).

pub mod csv;
pub mod drift;
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

    /// Renders this format in memory.
    pub fn render(self, input: &ReportInput<'_>) -> Result<Vec<Output>> {
        let mut files = Files::memory();
        self.write(input, &mut files)?;
        Ok(files.into_outputs())
    }

    /// Renders this format into `files`, each file streamed as it is produced.
    pub fn write(self, input: &ReportInput<'_>, files: &mut Files) -> Result<()> {
        match self {
            Format::Html => html::write(input, files),
            Format::Xlsx => xlsx::write(input, files),
            Format::Csv => csv::write(input, files),
            Format::Markdown => markdown::write(input, files),
            Format::Ocsf => ocsf::write(input, files),
        }
    }
}

/// Where renderers write their files: in memory (as [`Output`]s), or into a directory, each file
/// streamed to a temporary name and renamed once complete, so a reader never sees half a file and a
/// large report is never held in memory whole.
pub struct Files {
    dir: Option<PathBuf>,
    outputs: Vec<Output>,
    paths: Vec<PathBuf>,
}

impl Files {
    /// Files kept in memory (see [`Files::into_outputs`]).
    pub fn memory() -> Self {
        Files {
            dir: None,
            outputs: Vec::new(),
            paths: Vec::new(),
        }
    }

    /// Files written into `dir` (created if needed).
    pub fn dir(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Files {
            dir: Some(dir.to_path_buf()),
            ..Files::memory()
        })
    }

    /// Writes the file `name` with `fill`.
    pub fn write(
        &mut self,
        name: &'static str,
        fill: impl FnOnce(&mut (dyn std::io::Write + Send)) -> Result<()>,
    ) -> Result<()> {
        use std::io::Write;
        let Some(dir) = &self.dir else {
            let mut bytes = Vec::new();
            fill(&mut bytes)?;
            self.outputs.push(Output { name, bytes });
            return Ok(());
        };
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        let file =
            std::fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        let mut w = std::io::BufWriter::with_capacity(256 * 1024, file);
        fill(&mut w)?;
        w.flush()
            .with_context(|| format!("writing {}", tmp.display()))?;
        drop(w);
        std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
        self.paths.push(path);
        Ok(())
    }

    /// The files rendered in memory, in order.
    pub fn into_outputs(self) -> Vec<Output> {
        self.outputs
    }

    /// The paths written into the directory, in order.
    pub fn into_paths(self) -> Vec<PathBuf> {
        self.paths
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
    /// Drift to show (from `report --diff`); reports never read the history themselves.
    pub diff: Option<&'a crate::drift::Diff>,
    /// When each OCSF finding was first and last seen (read from the history by `scan`/`evaluate`
    /// and handed in, like `diff`); None: at the scan's time.
    pub seen: Option<&'a dyn ocsf::SeenTimes>,
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

/// Renders every format in `formats` into `dir`, streamed; returns the paths written.
pub fn write(formats: &[Format], input: &ReportInput<'_>, dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Files::dir(dir)?;
    for f in formats {
        f.write(input, &mut files)
            .with_context(|| format!("rendering the {} report", f.as_str()))?;
    }
    Ok(files.into_paths())
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
/// recursion limit applies), streamed: rule results of many resources are held in temporary files.
pub fn read_results(path: &Path) -> Result<Results> {
    let limit = crate::limits::MAX_RESULTS_BYTES;
    let file = crate::limits::open_file(path, limit, "a results file", "MAX_RESULTS_BYTES")?;
    // Streamed: the resources of large rule results go to temporary files as they are read.
    let input = std::io::BufReader::with_capacity(256 * 1024, file);
    let results: Results = serde_json::from_reader(input)
        .with_context(|| format!("{} is not a dengbao results file", path.display()))?;
    if !crate::results::RESULTS_SCHEMAS.contains(&results.schema.as_str()) {
        bail!(
            "{}: results schema `{}` is not supported (this dengbao reads {})",
            path.display(),
            results.schema,
            crate::results::RESULTS_SCHEMAS.join(", ")
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
/// appearance order (collected from [`for_each_problem`]).
pub fn problems(c: &ControlResult) -> Vec<Problem<'_>> {
    let mut out = Vec::new();
    for_each_problem(c, |p| {
        out.push(p);
        Ok(())
    })
    .expect("collecting never fails");
    out
}

/// Gives `f` the problems of [`problems`], one at a time, in the same order, without holding them
/// all: a control over a huge estate can have a million failing resources (rule results may be
/// spilled to disk, and are read back a few times here rather than held). Only resources whose key
/// may occur more than once (by a 64-bit hash of it) are gathered before they are given.
pub fn for_each_problem<'c>(
    c: &'c ControlResult,
    mut f: impl FnMut(Problem<'c>) -> Result<()>,
) -> Result<()> {
    let non_passing = || {
        c.rules.iter().flat_map(|rule| {
            rule.resources
                .iter()
                .filter(|r| r.status != ResourceStatus::Pass)
                .map(move |r| (rule.id.as_str(), r))
        })
    };
    let mut occurs: std::collections::HashMap<u64, u32> = Default::default();
    for (_, r) in non_passing() {
        *occurs.entry(key_hash(&r.id, &r.region)).or_default() += 1;
    }
    // Keys that may repeat, merged in full: region → id → problem.
    type Merged<'c> =
        std::collections::HashMap<String, std::collections::HashMap<String, Problem<'c>>>;
    let mut merged: Merged<'c> = Default::default();
    for (rule, r) in non_passing() {
        if occurs[&key_hash(&r.id, &r.region)] > 1 {
            let r = r.into_owned();
            let p = merged
                .entry(r.region.clone())
                .or_default()
                .entry(r.id.clone())
                .or_insert_with(|| Problem::of(&r));
            p.absorb(rule, r);
        }
    }
    for (rule, r) in non_passing() {
        if occurs[&key_hash(&r.id, &r.region)] > 1 {
            // Given at its first appearance; later ones find it gone.
            if let Some(p) = merged.get_mut(&r.region).and_then(|m| m.remove(&r.id)) {
                f(p)?;
            }
        } else {
            let r = r.into_owned();
            let mut p = Problem::of(&r);
            p.absorb(rule, r);
            f(p)?;
        }
    }
    Ok(())
}

fn key_hash(id: &str, region: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (id, region).hash(&mut h);
    h.finish()
}

impl<'c> Problem<'c> {
    fn of(r: &crate::results::ResourceResult) -> Self {
        Problem {
            id: r.id.clone(),
            region: r.region.clone(),
            status: r.status,
            rules: Vec::new(),
            evidence: Vec::new(),
            locations: Vec::new(),
            reasons: Vec::new(),
        }
    }

    /// Adds `r`, a resource of this problem under `rule`.
    fn absorb(&mut self, rule: &'c str, r: crate::results::ResourceResult) {
        if r.status == ResourceStatus::Fail {
            self.status = ResourceStatus::Fail;
        }
        if !self.rules.contains(&rule) {
            self.rules.push(rule);
        }
        for e in r.evidence {
            push_unique(&mut self.evidence, e);
        }
        for l in r.locations {
            push_unique(&mut self.locations, l);
        }
        if let Some(reason) = r.reason {
            push_unique(&mut self.reasons, reason);
        }
    }
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
