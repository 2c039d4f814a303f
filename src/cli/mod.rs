//! The command line. Each subcommand is a small function over the library.

mod aliyun;
mod args;
mod render;

use args::*;

use crate::catalog::Catalog;
use crate::embedded::{self, toml_files};
use crate::pack::{self, Pack};
use crate::probes::ProbeCatalog;
use crate::report::{EvidenceSet, Format, ReportInput};
use crate::rules::{self, RuleSet};
use anyhow::{Context, Result};
use clap::Parser;
use std::path::Path;
use std::process::ExitCode;

/// Exit code when the input is bad (unreadable pack, broken rule file, bad arguments).
pub const EXIT_INPUT: u8 = 1;
/// Exit code when `verify` finds a missing, extra or altered file.
pub const EXIT_VERIFY_FAILED: u8 = 2;
/// Exit code when a scan could collect nothing at all.
pub const EXIT_NOTHING_COLLECTED: u8 = 3;
/// Exit code when Ctrl-C cut a scan short (the pack holds what was collected).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Writes to stdout; a closed pipe (`dengbao … | head`) ends output quietly instead of panicking.
fn emit(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
    {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
    }
}

/// Writes to stderr.
fn emit_err(text: &str) {
    eprint!("{text}");
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.log_format);
    match run(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            emit_err(&format!("error: {e:#}\n"));
            ExitCode::from(EXIT_INPUT)
        }
    }
}

fn init_logging(verbose: u8, format: LogFormat) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    // -v raises dengbao's own logging only: the SDK's debug/trace output includes request headers.
    let directives =
        std::env::var("DENGBAO_LOG").unwrap_or_else(|_| format!("warn,dengbao={level}"));
    // Signing internals print canonical requests (with session tokens): never logged, whatever is asked.
    let filter = tracing_subscriber::EnvFilter::new(format!(
        "{directives},aws_sigv4=off,aws_smithy_runtime::client::http=off"
    ));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Everything evaluation needs, loaded and validated.
pub struct Loaded {
    pub catalog: Catalog,
    pub probes: ProbeCatalog,
    pub rules: RuleSet,
}

/// Loads catalog, probes and rules (from disk when directories are given, else the built-in copies).
pub fn load(mappings: Option<&Path>, probes: Option<&Path>, framework: &str) -> Result<Loaded> {
    let (catalog, probes, fw_files) = load_catalog(mappings, probes, framework)?;
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

fn load_catalog(
    mappings: Option<&Path>,
    probes: Option<&Path>,
    framework: &str,
) -> Result<(Catalog, ProbeCatalog, Vec<embedded::SourceFile>)> {
    let probe_files = toml_files(&embedded::PROBES, "probes", probes)?;
    let probes = ProbeCatalog::from_files(&probe_files)?;
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
        anyhow::bail!("no framework `{framework}` in the mappings (expected a directory `{framework}/` with framework.toml)");
    }
    let catalog = Catalog::from_files(&fw_files)?;
    Ok((catalog, probes, fw_files))
}

fn run(cmd: Command) -> Result<u8> {
    match cmd {
        Command::Scan {
            demo: false,
            provider: Some(Provider::Aws),
            out,
            aws,
            scope,
            format,
            data,
        } => {
            let loaded = load(
                data.mappings.as_deref(),
                data.probes.as_deref(),
                &data.framework,
            )?;
            scan_aws(&aws, &loaded, &out, &scope.scope()?, format.as_ref())
        }
        Command::Scan {
            demo: false,
            provider: Some(Provider::Aliyun),
            out,
            aws,
            scope,
            format,
            data,
        } => {
            let loaded = load(
                data.mappings.as_deref(),
                data.probes.as_deref(),
                &data.framework,
            )?;
            aliyun::scan(&aws, &loaded, &out, &scope.scope()?, format.as_ref())
        }
        Command::Scan {
            demo,
            out,
            data,
            scope,
            format,
            ..
        } => {
            if !demo {
                anyhow::bail!(
                    "give --provider aws or --provider aliyun (live collection), or --demo (the built-in demo pack)"
                );
            }
            let loaded = load(
                data.mappings.as_deref(),
                data.probes.as_deref(),
                &data.framework,
            )?;
            let demo_pack = Pack::embedded(&embedded::DEMO_PACK)?;
            let pack_dir = out.join("pack");
            if pack_dir.exists() {
                anyhow::bail!(
                    "{} already exists; choose a new --out directory so no evidence is overwritten",
                    pack_dir.display()
                );
            }
            pack::copy_pack(&demo_pack, &pack_dir)?;
            let pack = Pack::open(&pack_dir)?;
            let results = evaluate_and_write(&pack, &loaded, &out, &scope.scope()?)?;
            if let Some(formats) = format {
                let evidence = EvidenceSet::from_pack(&pack, &results)?;
                write_reports(&formats.0, &results, &loaded.catalog, &evidence, &out)?;
            }
            Ok(0)
        }
        Command::Evaluate {
            pack: pack_dir,
            out,
            force,
            scope,
            format,
            data,
        } => {
            let loaded = load(
                data.mappings.as_deref(),
                data.probes.as_deref(),
                &data.framework,
            )?;
            let pack = Pack::open(&pack_dir)?;
            crate::out_dir::check(&out, Some(&pack_dir), Some(&pack.digest()), force)?;
            let results = evaluate_and_write(&pack, &loaded, &out, &scope.scope()?)?;
            if let Some(formats) = format {
                let evidence = EvidenceSet::from_pack(&pack, &results)?;
                write_reports(&formats.0, &results, &loaded.catalog, &evidence, &out)?;
            }
            Ok(0)
        }
        Command::Report {
            results,
            format,
            out,
            pack,
            mappings,
        } => {
            let read = pack.clone().or_else(|| {
                let beside = results.parent().unwrap_or(Path::new(".")).join("pack");
                beside.is_dir().then_some(beside)
            });
            crate::out_dir::check(&out, read.as_deref(), None, false)?;
            let parsed = crate::report::read_results(&results)?;
            let loaded = load(mappings.as_deref(), None, &parsed.framework.id)?;
            let evidence = crate::report::evidence_for_report(&results, pack.as_deref(), &parsed)?;
            if let crate::report::Availability::Absent(why) = &evidence.availability {
                emit_err(&format!("note: {}\n", why.en));
            }
            write_reports(&format.0, &parsed, &loaded.catalog, &evidence, &out)?;
            Ok(0)
        }
        Command::Verify { pack } => {
            let report = pack::verify(&pack)?;
            for p in &report.problems {
                emit(&format!("{p}\n"));
            }
            if report.is_ok() {
                emit(&format!(
                    "ok: {} blob(s) intact; manifest {}\n",
                    report.blobs_ok, report.manifest_digest
                ));
                Ok(0)
            } else {
                eprintln!(
                    "{} problem(s): this pack is not the evidence that was collected",
                    report.problems.len()
                );
                Ok(EXIT_VERIFY_FAILED)
            }
        }
        Command::IamPolicy { provider, data } => {
            let files = toml_files(&embedded::PROBES, "probes", data.probes.as_deref())?;
            let probes = ProbeCatalog::from_files(&files)?;
            if probes.of_provider(&provider).next().is_none() {
                anyhow::bail!("no probes are declared for provider `{provider}`; `dengbao probes list` shows the providers");
            }
            let policy = crate::probes::least_privilege_policy(&probes, &provider);
            emit(&format!("{}\n", serde_json::to_string_pretty(&policy)?));
            Ok(0)
        }
        Command::Evidence { pack, probe } => {
            let pack = Pack::open(&pack)?;
            let index = crate::engine::EvidenceIndex::build(&pack)?;
            for (i, rec) in pack.manifest.records.iter().enumerate() {
                if probe.as_ref().is_some_and(|p| p != &rec.probe) {
                    continue;
                }
                let line = serde_json::json!({
                    "probe": rec.probe, "region": rec.region, "parameters": rec.parameters,
                    "evidence": rec.sha256, "error": rec.error, "document": index.docs[i],
                });
                emit(&format!("{}\n", serde_json::to_string_pretty(&line)?));
            }
            Ok(0)
        }
        Command::Controls { command } => match command {
            ControlsCommand::List { provider, data } => {
                let loaded = load(
                    data.mappings.as_deref(),
                    data.probes.as_deref(),
                    &data.framework,
                )?;
                emit(&render::controls_list(&loaded, provider.as_deref()));
                Ok(0)
            }
            ControlsCommand::Show { id, data } => {
                let loaded = load(
                    data.mappings.as_deref(),
                    data.probes.as_deref(),
                    &data.framework,
                )?;
                let c = loaded.catalog.get(&id).with_context(|| {
                    format!("no test item `{id}`; `dengbao controls list` shows them all")
                })?;
                emit(&render::control_detail(c, &loaded));
                Ok(0)
            }
        },
        Command::Rules {
            command:
                RulesCommand::List {
                    provider,
                    markdown,
                    data,
                },
        } => {
            let loaded = load(
                data.mappings.as_deref(),
                data.probes.as_deref(),
                &data.framework,
            )?;
            emit(&render::rules_list(&loaded, provider.as_deref(), markdown));
            Ok(0)
        }
        Command::Rules {
            command: RulesCommand::Check { data },
        } => {
            let (catalog, probes, files) = load_catalog(
                data.mappings.as_deref(),
                data.probes.as_deref(),
                &data.framework,
            )?;
            match rules::load(&files, &catalog, &probes) {
                Ok(set) => {
                    emit(&format!(
                        "ok: {} rule(s), {} control mapping(s) for {} of {} test items\n",
                        set.rules.len(),
                        set.mappings.len(),
                        set.mappings
                            .iter()
                            .map(|m| &m.control)
                            .collect::<std::collections::BTreeSet<_>>()
                            .len(),
                        catalog.controls.len()
                    ));
                    Ok(0)
                }
                Err(errs) => {
                    for e in &errs {
                        emit(&format!("{e}\n"));
                    }
                    emit_err(&format!("{} problem(s) found\n", errs.len()));
                    Ok(EXIT_INPUT)
                }
            }
        }
        Command::Probes {
            command: ProbesCommand::List { provider, data },
        } => {
            let files = toml_files(&embedded::PROBES, "probes", data.probes.as_deref())?;
            let probes = ProbeCatalog::from_files(&files)?;
            emit(&render::probes_list(&probes, provider.as_deref()));
            Ok(0)
        }
    }
}

fn scan_aws(
    args: &AwsArgs,
    loaded: &Loaded,
    out: &Path,
    scope: &crate::engine::Scope,
    formats: Option<&Formats>,
) -> Result<u8> {
    let pack_dir = out.join("pack");
    if pack_dir.exists() {
        anyhow::bail!(
            "{} already exists; choose a new --out directory so no evidence is overwritten",
            pack_dir.display()
        );
    }
    if !args.endpoints.is_empty() {
        anyhow::bail!("--endpoint PRODUCT=URL is for --provider aliyun; for AWS use --endpoint-url or AWS_ENDPOINT_URL_<SERVICE>");
    }
    let opts = crate::aws::AwsOptions {
        profile: args.profile.clone(),
        role_arn: args.role_arn.clone(),
        external_id: args.external_id.clone(),
        regions: args
            .regions
            .iter()
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .collect(),
        endpoint_url: args.endpoint_url.clone(),
        concurrency: args.concurrency,
        rate: args.rate,
        max_attempts: args.max_attempts,
        timeout: std::time::Duration::from_secs(args.timeout.max(1)),
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let scan = runtime.block_on(crate::aws::scan(&opts, &loaded.probes, &pack_dir))?;
    // Evaluation needs no runtime: its threads, and what they hold, go before it starts.
    drop(runtime);
    finish_scan(
        scan.manifest,
        scan.calls,
        scan.records_ok,
        scan.interrupted,
        loaded,
        out,
        scope,
        formats,
    )
}

/// After a live scan: says what was collected, evaluates the pack, renders reports; the exit code.
#[allow(clippy::too_many_arguments)]
fn finish_scan(
    manifest: crate::pack::Manifest,
    calls: u64,
    records_ok: usize,
    interrupted: bool,
    loaded: &Loaded,
    out: &Path,
    scope: &crate::engine::Scope,
    formats: Option<&Formats>,
) -> Result<u8> {
    let pack_dir = out.join("pack");
    let failed_runs = manifest
        .probes
        .iter()
        .filter(|p| p.status == crate::pack::ProbeStatus::Error)
        .count();
    emit_err(&format!(
        "collected {} record(s) from {} call(s); {} probe run(s) failed (see results.json `probes`)\n",
        manifest.records.len(),
        calls,
        failed_runs
    ));
    // Evaluation reads the pack as written; this copy would only double the memory it needs.
    drop(manifest);
    let pack = Pack::open(&pack_dir)?;
    let results = evaluate_and_write(&pack, loaded, out, scope)?;
    if let Some(formats) = formats {
        let evidence = EvidenceSet::from_pack(&pack, &results)?;
        write_reports(&formats.0, &results, &loaded.catalog, &evidence, out)?;
    }
    if interrupted {
        emit_err("interrupted: the pack holds what was collected until then\n");
        return Ok(EXIT_INTERRUPTED);
    }
    if records_ok == 0 {
        emit_err("nothing could be collected: check credentials, region and endpoint (the pack records every failure)\n");
        return Ok(EXIT_NOTHING_COLLECTED);
    }
    Ok(0)
}

/// Renders `formats` into `out` and prints the paths written.
pub fn write_reports(
    formats: &[Format],
    results: &crate::results::Results,
    catalog: &Catalog,
    evidence: &EvidenceSet,
    out: &Path,
) -> Result<()> {
    let input = ReportInput {
        results,
        catalog,
        evidence,
    };
    let outputs = crate::report::render(formats, &input)?;
    for path in crate::report::write_outputs(out, &outputs)? {
        emit(&format!("report:  {}\n", path.display()));
    }
    Ok(())
}

/// Evaluates `pack` and writes `out/results.json`; prints the per-control table. Returns the results.
pub fn evaluate_and_write(
    pack: &Pack,
    loaded: &Loaded,
    out: &Path,
    scope: &crate::engine::Scope,
) -> Result<crate::results::Results> {
    let results = crate::engine::evaluate_scoped(pack, &loaded.catalog, &loaded.rules, scope)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let path = out.join("results.json");
    results
        .write_json(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    emit(&render::results_table(&results));
    emit(&format!("results: {}\n", path.display()));
    if let Some(dir) = pack.dir() {
        emit(&format!(
            "pack:    {} ({})\n",
            dir.display(),
            results.scan.pack_digest
        ));
    }
    Ok(results)
}
