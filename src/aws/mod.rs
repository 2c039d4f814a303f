//! The AWS provider: live, read-only, concurrent collection into an evidence pack.
//!
//! Credentials and settings come from the standard AWS configuration chain (`aws-config`):
//! environment, `--profile`, shared config and credentials files, SSO, `credential_process`, web
//! identity and instance metadata; `--role-arn` (+ `--external-id`) assumes a read-only role on top.
//! The partition (aws, aws-cn, aws-us-gov) is read from the caller's ARN and checked against the
//! regions; nothing assumes us-east-1.

mod capture;
mod ops;
pub(crate) mod ratelimit;
mod scheduler;

pub use capture::{error_from_body, ReadOnlyGuard, Recorder, Refused};
pub use scheduler::s3_location_region;

use crate::interrupt::or_interrupt;
use crate::pack::{Manifest, PackWriter, ScanInfo};
use crate::probes::{ProbeCatalog, ProbeSpec, Scope};
use anyhow::{bail, Context, Result};
use scheduler::Scheduler;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `dengbao scan --provider aws` options.
#[derive(Debug, Clone)]
pub struct AwsOptions {
    pub profile: Option<String>,
    pub role_arn: Option<String>,
    pub external_id: Option<String>,
    /// Regions to scan; empty means every region enabled for the account (discovered).
    pub regions: Vec<String>,
    /// Endpoint override for emulators (also read from `AWS_ENDPOINT_URL` by aws-config).
    pub endpoint_url: Option<String>,
    /// Calls in flight at once.
    pub concurrency: usize,
    /// Requests per second per service and region.
    pub rate: f64,
    /// Attempts per call, including retries (adaptive retry mode).
    pub max_attempts: u32,
    /// Time limit of one call, retries included.
    pub timeout: Duration,
    /// Show a progress bar (only ever on a terminal).
    pub progress: bool,
}

/// What a scan did.
#[derive(Debug)]
pub struct AwsScan {
    pub manifest: Manifest,
    /// Calls sent.
    pub calls: u64,
    /// Records whose call succeeded.
    pub records_ok: usize,
    /// Whether Ctrl-C cut the scan short.
    pub interrupted: bool,
}

/// Current UTC time, RFC 3339 with milliseconds.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The partition a region belongs to.
pub fn partition_of_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else {
        "aws"
    }
}

/// The partition named in an ARN (`arn:aws-cn:iam::…` → `aws-cn`).
pub fn partition_of_arn(arn: &str) -> Option<&str> {
    let mut parts = arn.split(':');
    (parts.next()? == "arn").then_some(())?;
    parts.next().filter(|p| !p.is_empty())
}

/// The AWS probes, each checked to have a Rust function.
pub fn aws_probes(catalog: &ProbeCatalog) -> Result<Vec<ProbeSpec>> {
    let probes: Vec<ProbeSpec> = catalog.of_provider("aws").cloned().collect();
    for p in &probes {
        if ops::function(&p.id).is_none() {
            bail!(
                "probe {} is declared in probes/aws/ but has no function in src/aws/ops/",
                p.id
            );
        }
    }
    Ok(probes)
}

/// The read-only guard for these probes: exactly their `(service, operation)` pairs.
pub fn guard_for(probes: &[ProbeSpec]) -> ReadOnlyGuard {
    ReadOnlyGuard::new(
        probes
            .iter()
            .map(|p| (p.service.clone(), p.operation.clone()))
            .collect::<BTreeSet<_>>(),
    )
}

async fn sdk_config(opts: &AwsOptions, home: Option<&str>) -> Result<aws_types::SdkConfig> {
    use aws_config::retry::RetryConfig;
    use aws_config::timeout::TimeoutConfig;
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .retry_config(RetryConfig::adaptive().with_max_attempts(opts.max_attempts.max(1)))
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(opts.timeout)
                .operation_attempt_timeout(opts.timeout / 2)
                .connect_timeout(Duration::from_secs(10))
                .build(),
        );
    if let Some(p) = &opts.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = home {
        loader = loader.region(aws_types::region::Region::new(r.to_string()));
    }
    if let Some(url) = &opts.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let base = loader.load().await;
    let Some(role) = &opts.role_arn else {
        return Ok(base);
    };
    let mut builder = aws_config::sts::AssumeRoleProvider::builder(role)
        .session_name("dengbao-readonly")
        .configure(&base);
    if let Some(id) = &opts.external_id {
        builder = builder.external_id(id);
    }
    let provider = builder.build().await;
    Ok(base
        .into_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(provider),
        )
        .build())
}

/// Scans AWS into a new pack at `pack_dir`. Writes whatever was collected even when interrupted.
pub async fn scan(opts: &AwsOptions, catalog: &ProbeCatalog, pack_dir: &Path) -> Result<AwsScan> {
    let probes = aws_probes(catalog)?;
    let guard = guard_for(&probes);
    let started_at = now_rfc3339();
    let base = sdk_config(opts, opts.regions.first().map(String::as_str)).await?;
    let home = match (opts.regions.first(), base.region()) {
        (Some(r), _) => r.clone(),
        (None, Some(r)) => r.to_string(),
        (None, None) => bail!("no region to start from: pass --regions (e.g. --regions cn-north-1,cn-northwest-1) or set AWS_REGION"),
    };
    let path_style = opts.endpoint_url.is_some() || std::env::var_os("AWS_ENDPOINT_URL").is_some();
    let scan_info = ScanInfo {
        provider: "aws".into(),
        partition: partition_of_region(&home).into(),
        accounts: Vec::new(),
        regions: opts.regions.clone(),
        started_at,
        finished_at: String::new(),
    };
    let writer = Arc::new(Mutex::new(PackWriter::create(pack_dir, scan_info)?));
    let progress = opts.progress.then(|| {
        let p = indicatif::ProgressBar::new_spinner();
        p.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {pos} calls {elapsed} {msg}")
                .expect("valid template"),
        );
        p.enable_steady_tick(Duration::from_millis(120));
        p
    });
    let mut sched = Scheduler::new(
        probes.clone(),
        base,
        guard,
        path_style,
        writer.clone(),
        opts.concurrency,
        opts.rate,
        progress,
    );
    sched.partition = partition_of_region(&home).into();

    // Who is scanning: the account and, from its ARN, the partition.
    let sts = sched
        .ledger
        .probes()
        .iter()
        .find(|p| p.id == "aws.sts.get_caller_identity")
        .cloned()
        .context("aws.sts.get_caller_identity is not declared")?;
    let Some(answer) = or_interrupt(sched.call(&sts, &home, None, None)).await else {
        return finalize(&writer, &sched, true);
    };
    if let (None, Some(rec)) = (&answer.error, &answer.record) {
        let doc = crate::convert::to_document(&rec.media_type, &answer.body).unwrap_or_default();
        let result = doc
            .get("GetCallerIdentityResult")
            .cloned()
            .unwrap_or_default();
        sched.account = result
            .get("Account")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        if let Some(p) = result
            .get("Arn")
            .and_then(|v| v.as_str())
            .and_then(partition_of_arn)
        {
            sched.partition = p.to_string();
        }
    }
    let mut identity = answer;
    if let Some(rec) = identity.record.as_mut() {
        rec.account = (sched.account.clone()).into();
        rec.partition = (sched.partition.clone()).into();
    }
    sched.note_identity(&sts, &home, &identity);
    if let Some(e) = &identity.error {
        tracing::warn!(
            "could not identify the caller ({}: {}); scanning anyway",
            e.code,
            e.message
        );
    }

    // Which regions: as given (checked against the partition), or every enabled one.
    let regions = if opts.regions.is_empty() {
        match or_interrupt(sched.discover_regions(&home)).await {
            Some(r) => r,
            None => return finalize(&writer, &sched, true),
        }
    } else {
        opts.regions.clone()
    };
    if let Some(r) = regions
        .iter()
        .find(|r| partition_of_region(r) != sched.partition)
    {
        // Keep what was collected (the identity call) before refusing.
        finalize(&writer, &sched, false)?;
        bail!(
            "region {r} belongs to partition {}, but the caller's ARN says {}; scan one partition at a time (nothing else was collected; the pack holds the identity call)",
            partition_of_region(r),
            sched.partition
        );
    }
    {
        let mut w = writer.lock().expect("writer lock");
        let s = w.scan_mut();
        s.partition = sched.partition.clone();
        s.accounts = if sched.account.is_empty() {
            Vec::new()
        } else {
            vec![sched.account.clone()]
        };
        s.regions = regions.clone();
    }

    let sched = Arc::new(sched);
    let mut tasks = tokio::task::JoinSet::new();
    for p in probes
        .iter()
        .filter(|p| p.fan_out.is_none() && p.id != sts.id)
    {
        match p.scope {
            Scope::Global => {
                if p.id != "aws.ec2.describe_regions" || !opts.regions.is_empty() {
                    tasks.spawn(sched.clone().run(p.clone(), home.clone(), None));
                }
            }
            Scope::Regional => {
                for r in &regions {
                    tasks.spawn(sched.clone().run(p.clone(), r.clone(), None));
                }
            }
        }
    }
    let interrupted = or_interrupt(async { while tasks.join_next().await.is_some() {} })
        .await
        .is_none();
    if interrupted {
        tasks.abort_all();
    }
    finalize(&writer, &sched, interrupted)
}

/// Writes the manifest of what was collected (also after an interruption) and sums up the scan.
fn finalize(writer: &Mutex<PackWriter>, sched: &Scheduler, interrupted: bool) -> Result<AwsScan> {
    if let Some(p) = &sched.progress {
        p.finish_and_clear();
    }
    let (manifest, records_ok) = sched.ledger.finish(writer)?;
    Ok(AwsScan {
        manifest,
        calls: sched.calls.load(std::sync::atomic::Ordering::Relaxed),
        records_ok,
        interrupted,
    })
}

impl Scheduler {
    fn note_identity(&self, spec: &ProbeSpec, region: &str, answer: &scheduler::Answer) {
        self.record_answer(spec, region, answer);
    }

    /// Regions enabled for the account, from DescribeRegions (recorded as evidence).
    async fn discover_regions(&self, home: &str) -> Vec<String> {
        let partition = partition_of_region(home);
        let spec = self
            .ledger
            .probes()
            .iter()
            .find(|p| p.id == "aws.ec2.describe_regions")
            .cloned()
            .expect("declared");
        let answer = self.call(&spec, home, None, None).await;
        self.record_answer(&spec, home, &answer);
        let mut regions = Vec::new();
        if let (None, Some(rec)) = (&answer.error, &answer.record) {
            if let Ok(doc) = crate::convert::to_document(&rec.media_type, &answer.body) {
                for item in doc
                    .get("regionInfo")
                    .and_then(|v| v.as_array())
                    .into_iter()
                    .flatten()
                {
                    let opted_out =
                        item.get("optInStatus").and_then(|v| v.as_str()) == Some("not-opted-in");
                    if let (Some(name), false) =
                        (item.get("regionName").and_then(|v| v.as_str()), opted_out)
                    {
                        // Only the caller's partition (emulators list every partition's regions).
                        if partition_of_region(name) == partition {
                            regions.push(name.to_string());
                        }
                    }
                }
            }
        }
        if regions.is_empty() {
            tracing::warn!("could not discover regions; scanning {home} only");
            regions.push(home.to_string());
        }
        regions.sort();
        regions
    }
}
