//! The command line. Each subcommand is a small function over the library.

mod args;
mod assess;
mod mappings_page;
mod render;
mod selfcheck;

use args::*;

use crate::app::{self, Loaded};
use crate::pack::{self, Pack};
use crate::report::{EvidenceSet, Format};
use crate::scope::Scope;
use anyhow::{Context, Result};
use clap::Parser;
use std::path::Path;
use std::process::ExitCode;

/// Exit code when the input is bad (unreadable pack, broken rule file, bad arguments).
pub const EXIT_INPUT: u8 = crate::exit::INPUT;
/// Exit code when `verify` finds a missing, extra or altered file.
pub const EXIT_VERIFY_FAILED: u8 = crate::exit::VERIFY_FAILED;
/// Exit code when a scan could collect nothing at all.
pub const EXIT_NOTHING_COLLECTED: u8 = crate::exit::NOTHING_COLLECTED;
/// Exit code when Ctrl-C cut a scan short (the pack holds what was collected).
pub const EXIT_INTERRUPTED: u8 = crate::exit::INTERRUPTED;

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

fn run(cmd: Command) -> Result<u8> {
    match cmd {
        Command::Scan(a) => scan(a),
        Command::Evaluate(a) => evaluate(a),
        Command::Report(a) => report(a),
        Command::Verify(a) => assess::verify(a),
        Command::Sign(a) => assess::sign(a),
        Command::Attach(a) => assess::attach(a),
        Command::Judgements { command } => assess::judgements(command),
        Command::Evidence { pack, probe } => evidence(&pack, probe.as_deref()),
        Command::Controls { command } => controls(command),
        Command::Diff(a) => selfcheck::diff(a),
        Command::History { command } => selfcheck::history(command),
        Command::Send {
            results,
            to,
            flush,
            pack,
            spool,
        } => {
            let delivery = spool.delivery(&to)?;
            match results {
                Some(results) => send_results(&results, pack.as_deref(), None, &delivery),
                None if flush => {
                    let report = delivery.flush()?;
                    emit(&report.render(&delivery.spool_root));
                    Ok(report.exit_code())
                }
                None => anyhow::bail!("give a results.json to send, or --flush"),
            }
        }
        Command::Spool {
            command: SpoolCommand::Status { spool, config },
        } => {
            let from_file = match &config {
                Some(c) => crate::sinks::config_file::load_file(c)?.spool_dir,
                None => None,
            };
            let root = spool
                .or(from_file)
                .unwrap_or_else(crate::sinks::spool::default_root);
            emit(&crate::sinks::run::status_text(&root)?);
            Ok(0)
        }
        Command::Rules {
            command:
                RulesCommand::List {
                    provider,
                    markdown,
                    data,
                },
        } => {
            let loaded = load(&data)?;
            emit(&render::rules_list(&loaded, provider.as_deref(), markdown));
            Ok(0)
        }
        Command::Rules {
            command: RulesCommand::Check { data },
        } => rules_check(&data),
        Command::Probes {
            command: ProbesCommand::List { provider, data },
        } => {
            let probes = app::load_probes(data.probes.as_deref())?;
            emit(&render::probes_list(&probes, provider.as_deref()));
            Ok(0)
        }
        Command::IamPolicy { provider, data } => {
            let probes = app::load_probes(data.probes.as_deref())?;
            let policy = crate::providers::least_privilege_policy(&probes, &provider)?;
            emit(&format!("{}\n", serde_json::to_string_pretty(&policy)?));
            Ok(0)
        }
    }
}

fn load(data: &DataArgs) -> Result<Loaded> {
    app::load(
        data.mappings.as_deref(),
        data.probes.as_deref(),
        &data.framework,
    )
}

/// `dengbao scan`: a live scan (or the demo pack), evaluated and rendered.
fn scan(a: ScanArgs) -> Result<u8> {
    let loaded = load(&a.judge.data)?;
    // Bad input is found before anything is collected.
    let scope = a.judge.scope.scope()?;
    let delivery = a.judge.send.delivery()?;
    let pack_dir = app::new_pack_dir(&a.judge.out)?;
    let mut check = selfcheck::prepare(&a.judge.selfcheck)?;
    let collected = match &a.provider {
        Some(provider) => {
            let opts = a.collect.options(&a.aliyun);
            Some(collect(provider, &opts, &loaded, &pack_dir)?)
        }
        None if a.demo => {
            app::copy_demo(&pack_dir)?;
            None
        }
        None => anyhow::bail!(
            "give --provider {} (live collection), or --demo (the built-in demo pack)",
            crate::providers::names().join(" or --provider ")
        ),
    };
    let fail_on = evaluate_into(
        &Pack::open(&pack_dir)?,
        &loaded,
        &a.judge,
        &scope,
        &mut check,
    )?;
    let code = match collected {
        Some((true, _)) => {
            emit_err("interrupted: the pack holds what was collected until then\n");
            EXIT_INTERRUPTED
        }
        Some((false, 0)) => {
            emit_err("nothing could be collected: check credentials, region and endpoint (the pack records every failure)\n");
            EXIT_NOTHING_COLLECTED
        }
        _ => crate::exit::OK,
    };
    let code = then_send(code, &a.judge.out, delivery, check.seen())?;
    Ok(crate::exit::combine(code, fail_on))
}

/// Collects into `pack_dir` and says what was collected: whether Ctrl-C cut it short, and how many
/// records are answers.
fn collect(
    provider: &str,
    opts: &crate::collect::Options,
    loaded: &Loaded,
    pack_dir: &Path,
) -> Result<(bool, usize)> {
    let outcome = app::collect(provider, opts, &loaded.probes, pack_dir)?;
    let failed_runs = outcome
        .manifest
        .probes
        .iter()
        .filter(|p| p.status == pack::ProbeStatus::Error)
        .count();
    emit_err(&format!(
        "collected {} record(s) from {} call(s); {} probe run(s) failed (see results.json `probes`)\n",
        outcome.manifest.records.len(),
        outcome.calls,
        failed_runs
    ));
    emit_err(&rate_summary(&outcome.manifest.rates));
    // Evaluation reads the pack as written; the manifest handed over would only double its memory.
    Ok((outcome.interrupted, outcome.records_ok))
}

/// The rate controllers at the end of a scan: the totals, then each service and region that was
/// throttled or retried.
fn rate_summary(rates: &[pack::RateRecord]) -> String {
    let sum = |f: fn(&pack::RateRecord) -> u64| rates.iter().map(f).sum::<u64>();
    let mut s = format!(
        "{} throttling answer(s), {} retried call(s) (see the manifest's `rates`)\n",
        sum(|r| r.throttles),
        sum(|r| r.retries)
    );
    for r in rates.iter().filter(|r| r.throttles > 0 || r.retries > 0) {
        s.push_str(&format!(
            "  {} {}: {} throttled, {} retried; {} requests at {:.1}/s, rate down to {:.1}/s, {:.1}/s at the end\n",
            r.service, r.region, r.throttles, r.retries, r.requests, r.effective_rate, r.lowest_rate, r.final_rate
        ));
    }
    s
}

/// `dengbao evaluate`.
fn evaluate(a: EvaluateArgs) -> Result<u8> {
    let loaded = load(&a.judge.data)?;
    let scope = a.judge.scope.scope()?;
    let delivery = a.judge.send.delivery()?;
    let pack = Pack::open(&a.pack)?;
    crate::out_dir::check(&a.judge.out, Some(&a.pack), Some(&pack.digest()), a.force)?;
    let mut check = selfcheck::prepare(&a.judge.selfcheck)?;
    let fail_on = evaluate_into(&pack, &loaded, &a.judge, &scope, &mut check)?;
    let sent = then_send(0, &a.judge.out, delivery, check.seen())?;
    Ok(crate::exit::combine(sent, fail_on))
}

/// After `scan`/`evaluate` wrote `out/results.json` with exit code `code`: sends its findings when
/// sinks were given, and returns the code of both (the precedence of [`crate::exit`]).
fn then_send(
    code: u8,
    out: &Path,
    delivery: Option<crate::sinks::run::Delivery>,
    seen: Option<&dyn crate::report::ocsf::SeenTimes>,
) -> Result<u8> {
    let Some(delivery) = delivery else {
        return Ok(code);
    };
    if code == EXIT_INTERRUPTED {
        emit_err(&format!(
            "interrupted: findings not sent; `dengbao send {} --to URL` sends them\n",
            out.join("results.json").display()
        ));
        return Ok(code);
    }
    let sent = send_results(&out.join("results.json"), None, seen, &delivery)?;
    Ok(crate::exit::combine(code, sent))
}

/// Sends the findings of `results_path` through `delivery` and prints the numbers; the exit code is 0
/// only when everything was delivered.
fn send_results(
    results_path: &Path,
    pack: Option<&Path>,
    seen: Option<&dyn crate::report::ocsf::SeenTimes>,
    delivery: &crate::sinks::run::Delivery,
) -> Result<u8> {
    let seen = seen.unwrap_or(&crate::report::ocsf::NoHistory);
    let report = app::send_results(results_path, pack, seen, delivery)?;
    emit(&report.render(&delivery.spool_root));
    Ok(report.exit_code())
}

/// Evaluates `pack`, applies exceptions, writes `out/results.json`, prints the table, renders
/// `formats`, records the history; returns the `--fail-on` exit code.
fn evaluate_into(
    pack: &Pack,
    loaded: &Loaded,
    judge: &JudgeArgs,
    scope: &Scope,
    check: &mut selfcheck::Prepared,
) -> Result<u8> {
    let out = &judge.out;
    let mut results = app::evaluate(pack, loaded, scope)?;
    check.apply(&mut results)?;
    crate::assess::apply::apply(&mut results, pack, &loaded.catalog)?;
    let path = app::write_results(&results, out)?;
    emit(&render::results_table(&results));
    emit(&format!("results: {}\n", path.display()));
    if let Some(dir) = pack.dir() {
        emit(&format!(
            "pack:    {} ({})\n",
            dir.display(),
            results.scan.pack_digest
        ));
    }
    if let Some(formats) = &judge.format {
        let evidence = EvidenceSet::from_pack(pack, &results)?;
        write_reports(
            &formats.0,
            &results,
            loaded,
            &evidence,
            None,
            check.seen(),
            out,
        )?;
    }
    check.finish(&results, pack, &path)
}

/// Renders `formats` into `out` and prints the paths written.
fn write_reports(
    formats: &[Format],
    results: &crate::results::Results,
    loaded: &Loaded,
    evidence: &EvidenceSet,
    diff: Option<&crate::drift::Diff>,
    seen: Option<&dyn crate::report::ocsf::SeenTimes>,
    out: &Path,
) -> Result<()> {
    for path in app::write_reports(formats, results, &loaded.catalog, evidence, diff, seen, out)? {
        emit(&format!("report:  {}\n", path.display()));
    }
    Ok(())
}

/// `dengbao report`.
fn report(a: ReportArgs) -> Result<u8> {
    let read = a.pack.clone().or_else(|| {
        let beside = a.results.parent().unwrap_or(Path::new(".")).join("pack");
        beside.is_dir().then_some(beside)
    });
    crate::out_dir::check(&a.out, read.as_deref(), None, false)?;
    let parsed = crate::report::read_results(&a.results)?;
    let loaded = app::load(a.mappings.as_deref(), None, &parsed.framework.id)?;
    let evidence = crate::report::evidence_for_report(&a.results, a.pack.as_deref(), &parsed)?;
    if let crate::report::Availability::Absent(why) = &evidence.availability {
        emit_err(&format!("note: {}\n", why.en));
    }
    let diff = a.diff.as_deref().map(selfcheck::read_diff).transpose()?;
    write_reports(
        &a.format.0,
        &parsed,
        &loaded,
        &evidence,
        diff.as_ref(),
        None,
        &a.out,
    )?;
    Ok(0)
}

/// `dengbao evidence`.
fn evidence(pack: &Path, probe: Option<&str>) -> Result<u8> {
    let pack = Pack::open(pack)?;
    let index = crate::engine::EvidenceIndex::build(&pack)?;
    for (i, rec) in pack.manifest.records.iter().enumerate() {
        if probe.is_some_and(|p| p != rec.probe.as_str()) {
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

/// `dengbao controls list|show`.
fn controls(command: ControlsCommand) -> Result<u8> {
    match command {
        ControlsCommand::List { provider, data } => {
            emit(&render::controls_list(&load(&data)?, provider.as_deref()));
        }
        ControlsCommand::Show { id, data } => {
            let loaded = load(&data)?;
            let c = loaded.catalog.get(&id).with_context(|| {
                format!("no test item `{id}`; `dengbao controls list` shows them all")
            })?;
            emit(&render::control_detail(c, &loaded));
        }
    }
    Ok(0)
}

/// `dengbao rules check`: every problem of every mapping file, as file:line:col.
fn rules_check(data: &DataArgs) -> Result<u8> {
    let (catalog, probes, files) = app::load_sources(
        data.mappings.as_deref(),
        data.probes.as_deref(),
        &data.framework,
    )?;
    match crate::rules::load(&files, &catalog, &probes) {
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
