//! The application: load, scan, evaluate, report. The command line, the tests and the benches all go
//! through these functions; none of them prints (the command line says what happened).
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! let loaded = dengbao::app::load(None, None, "mlps2-l3-cloud")?;
//! let pack = dengbao::pack::Pack::open(std::path::Path::new("scan/pack"))?;
//! let results = dengbao::app::evaluate(&pack, &loaded, &Default::default())?;
//! dengbao::app::write_results(&results, std::path::Path::new("scan"))?;
//! # Ok(()) }
//! ```

use crate::catalog::Catalog;
use crate::collect::{self, Options, Outcome};
use crate::embedded::{self, toml_files, SourceFile};
use crate::pack::{self, Pack};
use crate::probes::ProbeCatalog;
use crate::report::{EvidenceSet, Format, ReportInput};
use crate::results::Results;
use crate::rules::{self, RuleSet};
use crate::scope::Scope;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// Everything evaluation needs, loaded and validated.
pub struct Loaded {
    pub catalog: Catalog,
    pub probes: ProbeCatalog,
    pub rules: RuleSet,
}

/// Loads catalog, probes and rules (from disk when directories are given, else the built-in copies).
pub fn load(mappings: Option<&Path>, probes: Option<&Path>, framework: &str) -> Result<Loaded> {
    let (catalog, probes, fw_files) = load_sources(mappings, probes, framework)?;
    let rules = rules::load(&fw_files, &catalog, &probes).map_err(|errs| {
        anyhow::anyhow!(
            "{} problem(s) in the mapping files:\n  {}\nFix them, then run `dengbao rules check`.",
            errs.len(),
            errs.join("\n  ")
        )
    })?;
    Ok(Loaded {
        catalog,
        probes,
        rules,
    })
}

/// The probe manifests (from `dir`, else the built-in ones).
pub fn load_probes(dir: Option<&Path>) -> Result<ProbeCatalog> {
    let files = toml_files(&embedded::PROBES, "probes", dir)?;
    ProbeCatalog::from_files(&files)
}

/// The catalog, the probes and the framework's rule files, not yet compiled (`rules check` reports
/// every problem of the latter itself).
pub fn load_sources(
    mappings: Option<&Path>,
    probes: Option<&Path>,
    framework: &str,
) -> Result<(Catalog, ProbeCatalog, Vec<SourceFile>)> {
    let probes = load_probes(probes)?;
    let all = toml_files(&embedded::MAPPINGS, "mappings", mappings)?;
    let prefix = format!("{framework}/");
    let fw_files: Vec<_> = all
        .into_iter()
        .filter_map(|mut f| {
            f.rel = f.rel.strip_prefix(&prefix)?.to_string();
            Some(f)
        })
        .collect();
    if fw_files.is_empty() {
        bail!("no framework `{framework}` in the mappings (expected a directory `{framework}/` with framework.toml)");
    }
    let catalog = Catalog::from_files(&fw_files)?;
    Ok((catalog, probes, fw_files))
}

/// `out/pack`, which must not exist yet: no evidence is ever overwritten.
pub fn new_pack_dir(out: &Path) -> Result<PathBuf> {
    let pack_dir = out.join("pack");
    if pack_dir.exists() {
        bail!(
            "{} already exists; choose a new --out directory so no evidence is overwritten",
            pack_dir.display()
        );
    }
    Ok(pack_dir)
}

/// Collects live evidence from `provider` into a new pack at `pack_dir` (read-only; whatever was
/// collected is written, also after Ctrl-C). The async runtime lives only as long as the scan.
pub fn collect(
    provider: &str,
    opts: &Options,
    probes: &ProbeCatalog,
    pack_dir: &Path,
) -> Result<Outcome> {
    let Some(adapter) = crate::providers::by_name(provider) else {
        bail!(
            "no provider `{provider}`; dengbao collects from {}",
            crate::providers::names().join(", ")
        );
    };
    let probes = crate::providers::probes_of(probes, provider)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(async {
        let connection = (adapter.connect)(opts, &probes).await?;
        collect::scan(connection, probes, opts, pack_dir).await
    });
    // Evaluation needs no runtime: its threads, and what they hold, go before it starts.
    drop(runtime);
    outcome
}

/// Copies the built-in demo pack (a real scan of an emulated aws-cn account) to `pack_dir`.
pub fn copy_demo(pack_dir: &Path) -> Result<()> {
    let demo = Pack::embedded(&embedded::DEMO_PACK)?;
    pack::copy_pack(&demo, pack_dir)
}

/// Evaluates `pack` offline: the same pack, mappings and version always give the same results.
pub fn evaluate(pack: &Pack, loaded: &Loaded, scope: &Scope) -> Result<Results> {
    crate::engine::evaluate_scoped(pack, &loaded.catalog, &loaded.rules, scope)
}

/// Writes `out/results.json` (creating `out`) and returns its path.
pub fn write_results(results: &Results, out: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let path = out.join("results.json");
    results
        .write_json(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Renders `formats` of `results` into `out`; returns the paths written.
pub fn write_reports(
    formats: &[Format],
    results: &Results,
    catalog: &Catalog,
    evidence: &EvidenceSet,
    out: &Path,
) -> Result<Vec<PathBuf>> {
    let input = ReportInput {
        results,
        catalog,
        evidence,
    };
    let outputs = crate::report::render(formats, &input)?;
    crate::report::write_outputs(out, &outputs)
}

/// Sends the findings of the results file `results_path` (evidence details from `pack`, else `pack/`
/// beside it) to every sink of `delivery`, through the spool (`dengbao send`, `--send`).
pub fn send_results(
    results_path: &Path,
    pack: Option<&Path>,
    delivery: &crate::sinks::run::Delivery,
) -> Result<crate::sinks::run::Report> {
    let results = crate::report::read_results(results_path)?;
    // OCSF events read only the results and the evidence; the catalog is there for the type.
    let (catalog, _, _) = load_sources(None, None, &results.framework.id)?;
    let evidence = crate::report::evidence_for_report(results_path, pack, &results)?;
    let input = ReportInput {
        results: &results,
        catalog: &catalog,
        evidence: &evidence,
    };
    let mut findings = Vec::new();
    crate::sinks::event::each_finding(&input, &crate::report::ocsf::NoHistory, &mut |f| {
        findings.push(f);
        Ok(())
    })?;
    delivery.send(&findings)
}
