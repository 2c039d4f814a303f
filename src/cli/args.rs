//! The command line's arguments (clap). Each subcommand's handling is in `mod.rs`.

use crate::report::Format;
use anyhow::Result;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "dengbao",
    version,
    about = "MLPS 2.0 (等级保护 2.0) Level 3 cloud-extension evidence collector and offline judge",
    long_about = "Collects cloud configuration as evidence for GB/T 22239-2019 Level 3 cloud-computing extension requirements, \
and turns it into per-control verdicts with the raw evidence attached.\n\nStart with `dengbao scan --demo --out demo-out`."
)]
pub(super) struct Cli {
    #[command(subcommand)]
    pub(super) command: Command,
    /// More logging on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(super) verbose: u8,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub(super) log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum LogFormat {
    Text,
    Json,
}

/// How a scan collects, whatever the cloud. AWS: the standard configuration chain applies (environment,
/// shared files, SSO, credential_process, web identity, instance metadata). Alibaba Cloud:
/// ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET / _SECURITY_TOKEN, profiles of ~/.aliyun/config.json, the ECS
/// instance RAM role.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Collection")]
pub(super) struct CollectArgs {
    /// Named profile (AWS: shared config/credentials files; Alibaba Cloud: ~/.aliyun/config.json).
    #[arg(long)]
    pub(super) profile: Option<String>,
    /// Role to assume for the scan (a read-only role; see `dengbao iam-policy`).
    #[arg(long, value_name = "ARN")]
    pub(super) role_arn: Option<String>,
    /// External id required by the role's trust policy.
    #[arg(long, requires = "role_arn")]
    pub(super) external_id: Option<String>,
    /// Regions to scan, comma-separated; default: every region enabled for the account.
    #[arg(long, value_delimiter = ',')]
    pub(super) regions: Vec<String>,
    /// Send every call to this endpoint (an emulator such as moto); AWS_ENDPOINT_URL works too for AWS.
    #[arg(long, value_name = "URL")]
    pub(super) endpoint_url: Option<String>,
    /// Calls in flight at once.
    #[arg(long, default_value_t = 32)]
    pub(super) concurrency: usize,
    /// Requests per second per service and region (token bucket).
    #[arg(long, default_value_t = 20.0)]
    pub(super) rate: f64,
    /// Attempts per call, retries included (retried on throttling, 5xx and transport failures).
    #[arg(long, default_value_t = 8)]
    pub(super) max_attempts: u32,
    /// Seconds one call may take, retries included.
    #[arg(long, default_value_t = 120)]
    pub(super) timeout: u64,
}

/// Alibaba Cloud only.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Alibaba Cloud")]
pub(super) struct AliyunArgs {
    /// Send one product's calls to this endpoint (repeatable), e.g. `ecs=https://ecs-vpc.cn-hangzhou.aliyuncs.com`.
    #[arg(long = "endpoint", value_name = "PRODUCT=URL")]
    pub(super) endpoints: Vec<String>,
}

impl CollectArgs {
    /// The collection options of a scan (with the provider-specific flags that apply).
    pub(super) fn options(&self, aliyun: &AliyunArgs) -> crate::collect::Options {
        crate::collect::Options {
            regions: self
                .regions
                .iter()
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty())
                .collect(),
            concurrency: self.concurrency,
            rate: self.rate,
            max_attempts: self.max_attempts,
            timeout: std::time::Duration::from_secs(self.timeout.max(1)),
            progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
            profile: self.profile.clone(),
            role_arn: self.role_arn.clone(),
            external_id: self.external_id.clone(),
            endpoint_url: self.endpoint_url.clone(),
            endpoints: aliyun.endpoints.clone(),
        }
    }
}

/// Which resources form the assessed system (等级保护对象). Out-of-scope resources never decide a verdict.
#[derive(Args, Debug, Clone, Default)]
pub(super) struct ScopeArgs {
    /// Judge only resources with this tag (KEY=VALUE; repeat for alternatives).
    #[arg(long = "scope-tag", value_name = "KEY=VALUE")]
    pub(super) tags: Vec<String>,
    /// Judge only resources in this VPC (repeatable).
    #[arg(long = "scope-vpc", value_name = "VPC_ID")]
    pub(super) vpcs: Vec<String>,
    /// Judge only resources of this account (repeatable).
    #[arg(long = "scope-account", value_name = "ACCOUNT_ID")]
    pub(super) accounts: Vec<String>,
}

impl ScopeArgs {
    pub(super) fn scope(&self) -> Result<crate::scope::Scope> {
        let tags = self
            .tags
            .iter()
            .map(|t| crate::scope::Scope::parse_tag(t).map_err(anyhow::Error::msg))
            .collect::<Result<Vec<_>>>()?;
        Ok(crate::scope::Scope {
            tags,
            vpcs: self.vpcs.clone(),
            accounts: self.accounts.clone(),
        })
    }
}

/// Where delivery keeps what waits, and the config file with `[[sink]]` tables (see docs/siem.md).
#[derive(Args, Debug, Clone, Default)]
pub(super) struct SpoolArgs {
    /// Config file with `[[sink]]` tables (and `spool_dir`, `spool_max_bytes`); validated before anything runs.
    #[arg(long, value_name = "FILE")]
    pub(super) config: Option<PathBuf>,
    /// Spool directory (default: $XDG_DATA_HOME/dengbao/spool, else ~/.local/share/dengbao/spool).
    #[arg(long, value_name = "DIR")]
    pub(super) spool: Option<PathBuf>,
    /// Size limit of each sink's spool, in bytes (default 536870912); a full spool refuses new events.
    #[arg(long, value_name = "BYTES")]
    pub(super) spool_max_bytes: Option<u64>,
}

/// `--send URL` on scan and evaluate.
#[derive(Args, Debug, Clone, Default)]
pub(super) struct SendArgs {
    /// After writing results.json, send the findings to this sink (repeatable): syslog+tcp://HOST:PORT,
    /// syslog+tls://HOST:PORT, splunk-hec+http(s)://HOST:PORT, webhook+http(s)://HOST/PATH.
    #[arg(long = "send", value_name = "URL")]
    pub(super) send: Vec<String>,
    #[command(flatten)]
    pub(super) spool: SpoolArgs,
}

impl SendArgs {
    /// The delivery to run after evaluating, validated now (None: no sink given).
    pub(super) fn delivery(&self) -> Result<Option<crate::sinks::run::Delivery>> {
        if self.send.is_empty() && self.spool.config.is_none() {
            return Ok(None);
        }
        self.spool.delivery(&self.send).map(Some)
    }
}

impl SpoolArgs {
    pub(super) fn delivery(&self, urls: &[String]) -> Result<crate::sinks::run::Delivery> {
        crate::sinks::run::Delivery::configure(
            urls,
            self.config.as_deref(),
            self.spool.as_deref(),
            self.spool_max_bytes,
        )
    }
}

#[derive(Args, Debug, Clone)]
pub(super) struct DataArgs {
    /// Mapping tree to use instead of the one built in (a directory like the repository's `mappings/`).
    #[arg(long, value_name = "DIR")]
    pub(super) mappings: Option<PathBuf>,
    /// Probe manifests to use instead of the built-in ones (a directory like `probes/`).
    #[arg(long, value_name = "DIR")]
    pub(super) probes: Option<PathBuf>,
    /// Framework to evaluate against.
    #[arg(long, default_value = "mlps2-l3-cloud")]
    pub(super) framework: String,
}

#[derive(Subcommand, Debug)]
pub(super) enum Command {
    /// Collect evidence into a pack and evaluate it (`--demo` uses the built-in demo pack).
    Scan(ScanArgs),
    /// Evaluate an existing evidence pack offline.
    Evaluate(EvaluateArgs),
    /// Send the findings of a results.json to SIEMs (syslog, Splunk HEC, webhooks) through the spool.
    Send {
        /// The results.json whose findings to send.
        #[arg(required_unless_present = "flush", conflicts_with = "flush")]
        results: Option<PathBuf>,
        /// A sink (repeatable): syslog+tcp://HOST:PORT, syslog+tls://HOST:PORT,
        /// splunk-hec+http(s)://HOST:PORT, webhook+http(s)://HOST/PATH; options as ?key=value.
        #[arg(long = "to", value_name = "URL")]
        to: Vec<String>,
        /// Deliver what waits in the spool (every sink there), without new results.
        #[arg(long)]
        flush: bool,
        /// The evidence pack the results came from (default: `pack/` beside results.json, if present).
        #[arg(long, value_name = "DIR")]
        pack: Option<PathBuf>,
        #[command(flatten)]
        spool: SpoolArgs,
    },
    /// The delivery spool.
    Spool {
        #[command(subcommand)]
        command: SpoolCommand,
    },
    /// Render reports from a results.json: HTML, XLSX 测评记录表, CSV, Markdown, OCSF JSON Lines.
    Report(ReportArgs),
    /// Re-hash every blob of a pack, check its signatures, and name who signed the evidence and the
    /// assessment.
    Verify(super::assess::VerifyArgs),
    /// Sign a pack's evidence (PACK/manifest.json.sig) or its assessment with an SSH key.
    Sign(super::assess::SignArgs),
    /// Attach an assessor's file (interview record, screenshot, certificate…) to a test item, in the
    /// pack's assessment layer.
    Attach(super::assess::AttachArgs),
    /// The assessor's judgements.
    Judgements {
        #[command(subcommand)]
        command: super::assess::JudgementsCommand,
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
        #[arg(long, default_value = "aws", value_parser = provider_names())]
        provider: String,
        #[command(flatten)]
        data: DataArgs,
    },
    /// What changed between two scans (results.json files, packs, or history ids).
    Diff(DiffArgs),
    /// The history of scans recorded by `scan` and `evaluate`.
    History {
        #[command(subcommand)]
        command: HistoryCommand,
    },
    /// Probe manifests.
    Probes {
        #[command(subcommand)]
        command: ProbesCommand,
    },
}

/// `dengbao scan`.
#[derive(Args, Debug)]
pub(super) struct ScanArgs {
    /// Evaluate the built-in demo pack (an aws-cn account with good and bad configuration).
    #[arg(long, conflicts_with = "provider")]
    pub(super) demo: bool,
    /// Cloud to collect from.
    #[arg(long, required_unless_present = "demo", value_parser = provider_names())]
    pub(super) provider: Option<String>,
    #[command(flatten)]
    pub(super) judge: JudgeArgs,
    #[command(flatten)]
    pub(super) collect: CollectArgs,
    #[command(flatten)]
    pub(super) aliyun: AliyunArgs,
}

/// `dengbao evaluate`.
#[derive(Args, Debug)]
pub(super) struct EvaluateArgs {
    /// The pack directory.
    pub(super) pack: PathBuf,
    /// Replace a results.json in the output directory that was computed from another pack.
    #[arg(long)]
    pub(super) force: bool,
    #[command(flatten)]
    pub(super) judge: JudgeArgs,
}

/// Where and how `scan` and `evaluate` judge: output, reports, scope, data.
#[derive(Args, Debug)]
pub(super) struct JudgeArgs {
    /// Output directory: receives `results.json` (and, for `scan`, the pack in `pack/`); never inside the pack.
    #[arg(long, value_name = "DIR")]
    pub(super) out: PathBuf,
    /// Also render reports into the output directory: html, xlsx, csv, md, ocsf (comma-separated) or all.
    #[arg(long, value_name = "LIST", value_parser = parse_formats)]
    pub(super) format: Option<Formats>,
    #[command(flatten)]
    pub(super) scope: ScopeArgs,
    #[command(flatten)]
    pub(super) data: DataArgs,
    #[command(flatten)]
    pub(super) send: SendArgs,
    #[command(flatten)]
    pub(super) selfcheck: SelfCheckArgs,
}

/// Scheduled self-checks: history, exceptions, exit codes.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Self-checks")]
pub(super) struct SelfCheckArgs {
    /// Exit with code 4 when any of these holds: non_compliant, partially_compliant, error (an item
    /// with that verdict, after exceptions), new (a resource failing that did not fail in the previous
    /// comparable scan). Comma-separated.
    #[arg(long, value_name = "LEVELS", value_parser = parse_fail_on)]
    pub(super) fail_on: Option<FailOn>,
    /// Accepted risks (TOML): failing resources they cover are marked `excepted`; see docs/self-check.md.
    #[arg(long, value_name = "FILE")]
    pub(super) exceptions: Option<PathBuf>,
    #[command(flatten)]
    pub(super) history: HistoryArgs,
}

/// Where the history of scans lives.
#[derive(Args, Debug, Clone)]
pub(super) struct HistoryArgs {
    /// History database (default: $XDG_DATA_HOME/dengbao/history.sqlite3, else ~/.local/share/dengbao/history.sqlite3).
    #[arg(long, value_name = "PATH", conflicts_with = "no_history")]
    pub(super) history: Option<PathBuf>,
    /// Record nothing in, and read nothing from, the history.
    #[arg(long)]
    pub(super) no_history: bool,
}

/// The value of `--fail-on`.
#[derive(Debug, Clone)]
pub(super) struct FailOn(pub(super) Vec<crate::fail_on::Level>);

fn parse_fail_on(s: &str) -> Result<FailOn, String> {
    crate::fail_on::Level::parse_list(s).map(FailOn)
}

/// `dengbao report`.
#[derive(Args, Debug)]
pub(super) struct ReportArgs {
    /// The results.json to render.
    pub(super) results: PathBuf,
    /// Formats: html, xlsx, csv, md, ocsf (comma-separated) or all.
    #[arg(long, value_name = "LIST", value_parser = parse_formats, default_value = "all")]
    pub(super) format: Formats,
    /// Output directory for the reports (never inside the pack).
    #[arg(long, value_name = "DIR")]
    pub(super) out: PathBuf,
    /// The evidence pack the results came from (default: `pack/` beside results.json, if present).
    /// Its bodies are embedded in the HTML report.
    #[arg(long, value_name = "DIR")]
    pub(super) pack: Option<PathBuf>,
    /// Mapping tree to take the catalog from instead of the built-in one.
    #[arg(long, value_name = "DIR")]
    pub(super) mappings: Option<PathBuf>,
    /// Show drift from this diff file (`dengbao diff --format json`) in the HTML and Markdown reports.
    #[arg(long, value_name = "DIFF.json")]
    pub(super) diff: Option<PathBuf>,
}

/// `dengbao diff`.
#[derive(Args, Debug)]
pub(super) struct DiffArgs {
    /// The older scan: a results.json, a pack directory, or a history id.
    pub(super) old: String,
    /// The newer scan (same kinds).
    pub(super) new: String,
    /// Output: text (terminal), json (a diff file for `report --diff`), md or html.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub(super) format: DiffFormat,
    #[command(flatten)]
    pub(super) data: DataArgs,
    #[command(flatten)]
    pub(super) history: HistoryArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(super) enum DiffFormat {
    Text,
    Json,
    Md,
    Html,
}

#[derive(Subcommand, Debug)]
pub(super) enum HistoryCommand {
    /// Recorded scans, newest first.
    List {
        #[arg(long)]
        provider: Option<String>,
        #[arg(long)]
        account: Option<String>,
        #[command(flatten)]
        history: HistoryArgs,
    },
    /// One recorded scan: its metadata and item verdicts.
    Show {
        id: i64,
        #[command(flatten)]
        history: HistoryArgs,
    },
}

/// The providers dengbao knows, for `--provider`.
fn provider_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(crate::providers::names())
}

#[derive(Subcommand, Debug)]
pub(super) enum SpoolCommand {
    /// Show what waits where: pending and rejected events per sink, the last attempt and its error.
    Status {
        /// Spool directory (default: $XDG_DATA_HOME/dengbao/spool, else ~/.local/share/dengbao/spool).
        #[arg(long, value_name = "DIR")]
        spool: Option<PathBuf>,
        /// Config file naming `spool_dir`.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub(super) enum ControlsCommand {
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
pub(super) enum RulesCommand {
    /// List which rules judge which test item, per provider (context rules are marked).
    List {
        #[arg(long)]
        provider: Option<String>,
        /// Print a Markdown table instead of the terminal table.
        #[arg(long)]
        markdown: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Validate every mapping file; report each problem as file:line:column.
    Check {
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand, Debug)]
pub(super) enum ProbesCommand {
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
pub(super) struct Formats(pub(super) Vec<Format>);

/// Parses `--format html,xlsx,...`.
pub(super) fn parse_formats(s: &str) -> Result<Formats, String> {
    Format::parse_list(s).map(Formats)
}
