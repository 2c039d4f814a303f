//! The command line. Each subcommand is a small function over the library.

mod render;

use crate::catalog::Catalog;
use crate::embedded::{self, toml_files};
use crate::pack::{self, Pack};
use crate::probes::ProbeCatalog;
use crate::report::{EvidenceSet, Format, ReportInput};
use crate::rules::{self, RuleSet};
use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit code when the input is bad (unreadable pack, broken rule file, bad arguments).
pub const EXIT_INPUT: u8 = 1;
/// Exit code when `verify` finds a missing, extra or altered file.
pub const EXIT_VERIFY_FAILED: u8 = 2;
/// Exit code when a scan could collect nothing at all.
pub const EXIT_NOTHING_COLLECTED: u8 = 3;
/// Exit code when Ctrl-C cut a scan short (the pack holds what was collected).
pub const EXIT_INTERRUPTED: u8 = 130;

#[derive(Parser, Debug)]
#[command(
    name = "dengbao",
    version,
    about = "MLPS 2.0 (等级保护 2.0) Level 3 cloud-extension evidence collector and offline judge",
    long_about = "Collects cloud configuration as evidence for GB/T 22239-2019 Level 3 cloud-computing extension requirements, \
and turns it into per-control verdicts with the raw evidence attached.\n\nStart with `dengbao scan --demo --out demo-out`."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// More logging on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Provider {
    Aws,
}

/// Collection options (AWS: the standard configuration chain applies — environment, shared files, SSO,
/// credential_process, web identity, instance metadata).
#[derive(Args, Debug, Clone)]
struct AwsArgs {
    /// Named profile from the shared config/credentials files.
    #[arg(long)]
    profile: Option<String>,
    /// Role to assume for the scan (a read-only role; see `dengbao iam-policy`).
    #[arg(long, value_name = "ARN")]
    role_arn: Option<String>,
    /// External id required by the role's trust policy.
    #[arg(long, requires = "role_arn")]
    external_id: Option<String>,
    /// Regions to scan, comma-separated; default: every region enabled for the account.
    #[arg(long, value_delimiter = ',')]
    regions: Vec<String>,
    /// Send every call to this endpoint (an emulator such as moto); AWS_ENDPOINT_URL works too.
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// Calls in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Requests per second per service and region (token bucket).
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
    /// Attempts per call, retries included (adaptive retry on throttling).
    #[arg(long, default_value_t = 8)]
    max_attempts: u32,
    /// Seconds one call may take, retries included.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
}

/// Which resources form the assessed system (等级保护对象). Out-of-scope resources never decide a verdict.
#[derive(Args, Debug, Clone, Default)]
struct ScopeArgs {
    /// Judge only resources with this tag (KEY=VALUE; repeat for alternatives).
    #[arg(long = "scope-tag", value_name = "KEY=VALUE")]
    tags: Vec<String>,
    /// Judge only resources in this VPC (repeatable).
    #[arg(long = "scope-vpc", value_name = "VPC_ID")]
    vpcs: Vec<String>,
    /// Judge only resources of this account (repeatable).
    #[arg(long = "scope-account", value_name = "ACCOUNT_ID")]
    accounts: Vec<String>,
}

impl ScopeArgs {
    fn scope(&self) -> Result<crate::engine::Scope> {
        let tags = self
            .tags
            .iter()
            .map(|t| crate::engine::Scope::parse_tag(t).map_err(anyhow::Error::msg))
            .collect::<Result<Vec<_>>>()?;
        Ok(crate::engine::Scope {
            tags,
            vpcs: self.vpcs.clone(),
            accounts: self.accounts.clone(),
        })
    }
}

#[derive(Args, Debug, Clone)]
struct DataArgs {
    /// Mapping tree to use instead of the one built in (a directory like the repository's `mappings/`).
    #[arg(long, value_name = "DIR")]
    mappings: Option<PathBuf>,
    /// Probe manifests to use instead of the built-in ones (a directory like `probes/`).
    #[arg(long, value_name = "DIR")]
    probes: Option<PathBuf>,
    /// Framework to evaluate against.
    #[arg(long, default_value = "mlps2-l3-cloud")]
    framework: String,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Collect evidence into a pack and evaluate it (`--demo` uses the built-in demo pack).
    Scan {
        /// Evaluate the built-in demo pack (an aws-cn account with good and bad configuration).
        #[arg(long, conflicts_with = "provider")]
        demo: bool,
        /// Cloud to collect from.
        #[arg(long, value_enum, required_unless_present = "demo")]
        provider: Option<Provider>,
        /// Output directory: receives `pack/` and `results.json`.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Also render reports into the output directory: html, xlsx, csv, md, ocsf (comma-separated) or all.
        #[arg(long, value_name = "LIST", value_parser = parse_formats)]
        format: Option<Formats>,
        #[command(flatten)]
        aws: AwsArgs,
        #[command(flatten)]
        scope: ScopeArgs,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Evaluate an existing evidence pack offline.
    Evaluate {
        /// The pack directory.
        pack: PathBuf,
        /// Output directory for `results.json`.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Also render reports into the output directory: html, xlsx, csv, md, ocsf (comma-separated) or all.
        #[arg(long, value_name = "LIST", value_parser = parse_formats)]
        format: Option<Formats>,
        #[command(flatten)]
        scope: ScopeArgs,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Render reports from a results.json: HTML, XLSX 测评记录表, CSV, Markdown, OCSF JSON Lines.
    Report {
        /// The results.json to render.
        results: PathBuf,
        /// Formats: html, xlsx, csv, md, ocsf (comma-separated) or all.
        #[arg(long, value_name = "LIST", value_parser = parse_formats, default_value = "all")]
        format: Formats,
        /// Output directory for the reports.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The evidence pack the results came from (default: `pack/` beside results.json, if present).
        /// Its bodies are embedded in the HTML report.
        #[arg(long, value_name = "DIR")]
        pack: Option<PathBuf>,
        /// Mapping tree to take the catalog from instead of the built-in one.
        #[arg(long, value_name = "DIR")]
        mappings: Option<PathBuf>,
    },
    /// Re-hash every blob of a pack and report missing, extra or altered files.
    Verify {
        /// The pack directory.
        pack: PathBuf,
    },
    /// Print the JSON documents rules read from a pack (one per record), to write or debug rules.
    Evidence {
        /// The pack directory.
        pack: PathBuf,
        /// Only this probe's documents (e.g. `aws.ec2.describe_security_groups`).
        #[arg(long)]
        probe: Option<String>,
    },
    /// The framework's test items.
    Controls {
        #[command(subcommand)]
        command: ControlsCommand,
    },
    /// Rule files.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Print the least-privilege read-only policy covering every probe (IAM for aws, RAM for aliyun).
    IamPolicy {
        #[arg(long, default_value = "aws")]
        provider: String,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Probe manifests.
    Probes {
        #[command(subcommand)]
        command: ProbesCommand,
    },
}

#[derive(Subcommand, Debug)]
enum ControlsCommand {
    /// List every test item with its automation level.
    List {
        /// Show the automation level achieved by this provider's mappings (e.g. `aws`).
        #[arg(long)]
        provider: Option<String>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Show one test item in full (e.g. `L3-CES2-09`).
    Show {
        id: String,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand, Debug)]
enum RulesCommand {
    /// Validate every mapping file; report each problem as file:line:column.
    Check {
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand, Debug)]
enum ProbesCommand {
    /// List declared probes.
    List {
        #[arg(long)]
        provider: Option<String>,
        #[command(flatten)]
        data: DataArgs,
    },
}

/// The value of `--format`: a comma-separated list of report formats.
#[derive(Debug, Clone)]
struct Formats(Vec<Format>);

/// Parses `--format html,xlsx,...`.
fn parse_formats(s: &str) -> Result<Formats, String> {
    Format::parse_list(s).map(Formats)
}

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
    let filter = tracing_subscriber::EnvFilter::try_from_env("DENGBAO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
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
            demo,
            out,
            data,
            scope,
            format,
            ..
        } => {
            if !demo {
                anyhow::bail!(
                    "give --provider aws (live collection) or --demo (the built-in demo pack)"
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
                let evidence = EvidenceSet::from_pack(&pack, &results);
                write_reports(&formats.0, &results, &loaded.catalog, &evidence, &out)?;
            }
            Ok(0)
        }
        Command::Evaluate {
            pack,
            out,
            scope,
            format,
            data,
        } => {
            let loaded = load(
                data.mappings.as_deref(),
                data.probes.as_deref(),
                &data.framework,
            )?;
            let pack = Pack::open(&pack)?;
            let results = evaluate_and_write(&pack, &loaded, &out, &scope.scope()?)?;
            if let Some(formats) = format {
                let evidence = EvidenceSet::from_pack(&pack, &results);
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
    let failed_runs = scan
        .manifest
        .probes
        .iter()
        .filter(|p| p.status == crate::pack::ProbeStatus::Error)
        .count();
    emit_err(&format!(
        "collected {} record(s) from {} call(s); {} probe run(s) failed (see results.json `probes`)\n",
        scan.manifest.records.len(),
        scan.calls,
        failed_runs
    ));
    let pack = Pack::open(&pack_dir)?;
    let results = evaluate_and_write(&pack, loaded, out, scope)?;
    if let Some(formats) = formats {
        let evidence = EvidenceSet::from_pack(&pack, &results);
        write_reports(&formats.0, &results, &loaded.catalog, &evidence, out)?;
    }
    if scan.records_ok == 0 {
        emit_err("nothing could be collected: check credentials, region and endpoint (the pack records every failure)\n");
        return Ok(EXIT_NOTHING_COLLECTED);
    }
    Ok(if scan.interrupted {
        EXIT_INTERRUPTED
    } else {
        0
    })
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
