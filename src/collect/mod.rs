//! One collection core for every cloud: a scan from the first call to the written pack.
//!
//! The core knows no provider. It asks the identity probe who is scanning, discovers the regions when
//! none are given (the regions probe), checks them against the caller's partition, then runs every
//! probe where its scope says — global probes once in the home region, regional ones in each region —
//! with their pages and fan-out ([`scheduler`]), and writes the manifest of everything collected, also
//! after Ctrl-C. The identity and regions probes are roles declared in the probe manifests
//! (`role = "identity"` / `"regions"`, with the JSONPaths they are read with). A cloud plugs in through
//! the [`Provider`] hooks.

mod fan_out;
pub mod interrupt;
pub mod ledger;
pub mod paging;
mod provider;
pub mod ratelimit;
mod scheduler;
pub mod tasks;

pub use interrupt::or_interrupt;
pub use provider::{
    BoxFuture, Bucket, Connection, Failure, Provider, RawAnswer, Request, RetryReason,
};

use crate::jsonpath::{scalar_string, Query};
use crate::pack::{Manifest, PackWriter, ProbeError, RateRecord, ScanInfo, SweepInfo};
use crate::probes::{ProbeSpec, Role, Scope};
use anyhow::{bail, Context, Result};
use scheduler::Scheduler;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a scan is asked to do: the options every provider shares (`dengbao scan`'s collection flags).
/// The core uses the limits; the provider reads the credentials, endpoints, retries and timeout.
#[derive(Debug, Clone)]
pub struct Options {
    /// Regions to scan; empty means every region the regions probe lists.
    pub regions: Vec<String>,
    /// Calls in flight at once.
    pub concurrency: usize,
    /// Requests per second per service and region.
    pub rate: f64,
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// Time limit of one call, retries included.
    pub timeout: Duration,
    /// Show a progress line (only ever on a terminal).
    pub progress: bool,
    /// A named profile of the provider's configuration files.
    pub profile: Option<String>,
    /// A (read-only) role to assume for the scan, and the external id its trust policy requires.
    pub role_arn: Option<String>,
    pub external_id: Option<String>,
    /// Send every call to this endpoint (an emulator, a private endpoint).
    pub endpoint_url: Option<String>,
    /// `SERVICE=URL`: send one service's calls to this endpoint.
    pub endpoints: Vec<String>,
}

/// What a scan did.
#[derive(Debug)]
pub struct Outcome {
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

fn progress_bar() -> indicatif::ProgressBar {
    let p = indicatif::ProgressBar::new_spinner();
    p.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {pos} calls {elapsed} {msg}")
            .expect("valid template"),
    );
    p.enable_steady_tick(Duration::from_millis(120));
    p
}

/// The probe declaring `role`, if one does.
fn with_role(probes: &[ProbeSpec], role: Role) -> Option<&ProbeSpec> {
    probes.iter().find(|p| p.role == Some(role))
}

/// Scans with a connected provider into a new pack at `pack_dir`. Writes whatever was collected even
/// when interrupted.
pub async fn scan(
    connection: Connection,
    probes: Vec<ProbeSpec>,
    opts: &Options,
    pack_dir: &Path,
) -> Result<Outcome> {
    let Connection {
        name,
        home_region: home,
        provider,
    } = connection;
    let identity = with_role(&probes, Role::Identity)
        .cloned()
        .with_context(|| format!("no probe under probes/{name}/ declares role = \"identity\""))?;
    let regions_probe = with_role(&probes, Role::Regions).cloned();
    if opts.regions.is_empty() && regions_probe.is_none() {
        bail!("no probe under probes/{name}/ declares role = \"regions\"; give --regions");
    }
    let scan_info = ScanInfo {
        provider: name.to_string(),
        partition: provider.partition_of_region(&home),
        accounts: Vec::new(),
        regions: opts.regions.clone(),
        started_at: now_rfc3339(),
        finished_at: String::new(),
        sweep: None,
    };
    let partition = scan_info.partition.clone();
    let writer = Arc::new(Mutex::new(PackWriter::create(pack_dir, scan_info)?));
    let mut sched = Scheduler::new(
        name,
        provider.clone(),
        probes.clone(),
        writer.clone(),
        opts,
        partition,
    );

    // Who is scanning: the account and, when the principal names one, the partition.
    let Some((account, partition)) = or_interrupt(identify(&sched, &identity, &home)).await else {
        return finish(&writer, &sched, true).await;
    };
    sched.account = account.unwrap_or_default();
    if let Some(p) = partition {
        sched.partition = p;
    }
    if let Some(e) = sched.ledger.run_failed(&identity.id, &home) {
        tracing::warn!(
            "could not identify the caller ({}: {}); scanning anyway",
            e.code,
            e.message
        );
    }

    // Which regions: as given, or every region the regions probe lists (recorded as evidence). The
    // regions probe also runs first when a probe sweeps every enabled region.
    let sweeps = probes.iter().any(|p| p.sweep.is_some());
    let enabled = match &regions_probe {
        Some(spec) if opts.regions.is_empty() || sweeps => {
            match or_interrupt(discover_regions(&sched, spec, &home)).await {
                Some(r) => Some(r),
                None => return finish(&writer, &sched, true).await,
            }
        }
        _ => None,
    };
    let regions = match &enabled {
        _ if !opts.regions.is_empty() => opts.regions.clone(),
        Some(r) if !r.is_empty() => r.clone(),
        _ => {
            tracing::warn!("could not discover regions; scanning {home} only");
            vec![home.clone()]
        }
    };
    if let Some(r) = regions
        .iter()
        .find(|r| provider.partition_of_region(r) != sched.partition)
    {
        // Keep what was collected (the identity call) before refusing.
        finish(&writer, &sched, false).await?;
        bail!(
            "region {r} belongs to partition {}, but the caller's identity says {}; scan one partition at a time (nothing else was collected; the pack holds the identity call)",
            provider.partition_of_region(r),
            sched.partition
        );
    }
    let sweep = sweeps.then(|| {
        sweep_info(
            &sched,
            &probes,
            regions_probe.as_ref(),
            &home,
            enabled.as_deref(),
            &regions,
        )
    });
    {
        let mut w = writer.lock().expect("writer lock");
        let s = w.scan_mut();
        s.partition = sched.partition.clone();
        s.accounts = [sched.account.clone()]
            .into_iter()
            .filter(|a| !a.is_empty())
            .collect();
        s.regions = regions.clone();
        s.sweep = sweep.clone();
    }

    let sched = Arc::new(sched);
    let plan = Plan {
        home: &home,
        regions: &regions,
        swept: sweep.as_ref().map_or(&[][..], |s| &s.regions[..]),
        regions_listed: enabled.is_some(),
    };
    let interrupted = run_all(&sched, &probes, &plan).await;
    finish(&writer, &sched, interrupted).await
}

/// Where a scan's probes run.
struct Plan<'a> {
    /// Identity, region discovery and global probes.
    home: &'a str,
    /// The scanned regions: every regional probe.
    regions: &'a [String],
    /// Every enabled region: the probes declaring `sweep` (empty when none does).
    swept: &'a [String],
    /// Whether the regions probe ran already (to discover or to sweep).
    regions_listed: bool,
}

/// What the residency sweep covers: the probes declaring `sweep`, in every enabled region and every
/// scanned one. When the enabled regions are not known, the sweep covers the scanned regions and
/// says why.
fn sweep_info(
    sched: &Scheduler,
    probes: &[ProbeSpec],
    regions_probe: Option<&ProbeSpec>,
    home: &str,
    enabled: Option<&[String]>,
    scanned: &[String],
) -> SweepInfo {
    let error = match (regions_probe, enabled) {
        (None, _) => Some(ProbeError {
            code: "RegionsUnknown".into(),
            message: format!(
                "no probe under probes/{}/ declares role = \"regions\"; the enabled regions are not known",
                sched.name()
            ),
        }),
        (Some(spec), _) if sched.ledger.run_failed(&spec.id, home).is_some() => {
            let e = sched.ledger.run_failed(&spec.id, home).expect("checked");
            Some(ProbeError {
                code: e.code.clone(),
                message: format!(
                    "the enabled regions could not be read ({} in {home}: {})",
                    spec.id, e.message
                ),
            })
        }
        (Some(spec), Some([])) | (Some(spec), None) => Some(ProbeError {
            code: "RegionsUnknown".into(),
            message: format!(
                "{} listed no region of partition {}; the enabled regions are not known",
                spec.id, sched.partition
            ),
        }),
        _ => None,
    };
    let mut regions: Vec<String> = enabled
        .unwrap_or_default()
        .iter()
        .chain(scanned)
        .cloned()
        .collect();
    regions.sort();
    regions.dedup();
    SweepInfo {
        probes: probes
            .iter()
            .filter(|p| p.sweep.is_some())
            .map(|p| p.id.clone())
            .collect(),
        regions,
        error,
    }
}

/// Runs every probe that fans out from none: global ones in the home region, regional ones in each
/// scanned region (their fan-out follows), and the sweeping ones in every swept region too (outside
/// the scanned ones, their list only). The identity probe ran already, and so did the regions probe
/// when it was listed. Returns whether Ctrl-C cut the scan short.
async fn run_all(sched: &Arc<Scheduler>, probes: &[ProbeSpec], plan: &Plan<'_>) -> bool {
    let mut tasks = tokio::task::JoinSet::new();
    for p in probes.iter().filter(|p| p.fan_out.is_none()) {
        match (p.scope, p.role) {
            (_, Some(Role::Identity)) => {}
            (Scope::Global, Some(Role::Regions)) if plan.regions_listed => {}
            (Scope::Global, _) => {
                tasks.spawn(sched.clone().run(p.clone(), plan.home.to_string(), None));
            }
            (Scope::Regional, _) => {
                for r in plan.regions {
                    tasks.spawn(sched.clone().run(p.clone(), r.clone(), None));
                }
                let swept_only = plan.swept.iter().filter(|r| !plan.regions.contains(r));
                for r in swept_only.filter(|_| p.sweep.is_some()) {
                    tasks.spawn(sched.clone().list_only(p.clone(), r.clone()));
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
    interrupted
}

/// Calls the identity probe: the account and the principal's partition, also stamped on its record.
async fn identify(
    sched: &Scheduler,
    spec: &ProbeSpec,
    home: &str,
) -> (Option<String>, Option<String>) {
    let reads = spec.reads.clone().unwrap_or_default();
    let first = |doc: &serde_json::Value, path: &Option<String>| {
        Query::compile(path.as_deref()?)
            .ok()?
            .first(doc)
            .and_then(|(v, _)| scalar_string(v))
    };
    let (mut account, mut partition) = (None, None);
    sched
        .pages(spec, home, None, true, |rec, doc| {
            account = account.take().or_else(|| first(doc, &reads.account));
            partition = partition.take().or_else(|| {
                first(doc, &reads.principal).and_then(|p| sched.provider.partition_of_principal(&p))
            });
            if let Some(a) = &account {
                rec.account = a.clone().into();
            }
            if let Some(p) = &partition {
                rec.partition = p.clone().into();
            }
        })
        .await;
    (account, partition)
}

/// Every region the regions probe lists, in the caller's partition (the calls are recorded); none
/// when it could not be read.
async fn discover_regions(sched: &Scheduler, spec: &ProbeSpec, home: &str) -> Vec<String> {
    let path = spec.reads.as_ref().and_then(|r| r.regions.as_deref());
    let query = path.and_then(|p| Query::compile(p).ok());
    let mut regions: Vec<String> = Vec::new();
    sched
        .pages(spec, home, None, true, |_, doc| {
            if let Some(q) = &query {
                regions.extend(q.values(doc).into_iter().filter_map(scalar_string));
            }
        })
        .await;
    // Emulators list every partition's regions.
    regions.retain(|r| sched.provider.partition_of_region(r) == sched.partition);
    regions.sort();
    regions.dedup();
    regions
}

/// Writes the manifest of what was collected (also after an interruption) and sums up the scan.
async fn finish(
    writer: &Mutex<PackWriter>,
    sched: &Scheduler,
    interrupted: bool,
) -> Result<Outcome> {
    if let Some(p) = &sched.progress {
        p.finish_and_clear();
    }
    let round = |r: f64| (r * 100.0).round() / 100.0;
    let rates = sched
        .rate_stats()
        .await
        .into_iter()
        .map(|(service, region, s)| RateRecord {
            service,
            region,
            requests: s.requests,
            throttles: s.throttles,
            retries: s.retries,
            effective_rate: round(s.effective_rate),
            lowest_rate: round(s.lowest_rate),
            final_rate: round(s.final_rate),
        })
        .collect();
    let (manifest, records_ok) = sched.ledger.finish(writer, rates)?;
    Ok(Outcome {
        manifest,
        calls: sched.calls.load(Ordering::Relaxed),
        records_ok,
        interrupted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> crate::probes::ProbeCatalog {
        let files = crate::embedded::toml_files(&crate::embedded::PROBES, "probes", None).unwrap();
        crate::probes::ProbeCatalog::from_files(&files).unwrap()
    }

    #[test]
    fn regions_opted_out_of_are_not_scanned() {
        let catalog = shipped();
        let spec = catalog.get("aws.ec2.describe_regions").unwrap();
        let path = spec.reads.as_ref().unwrap().regions.as_deref().unwrap();
        let doc = serde_json::json!({"regionInfo": [
            {"regionName": "cn-north-1", "optInStatus": "opt-in-not-required"},
            {"regionName": "ap-east-1", "optInStatus": "not-opted-in"},
            {"regionName": "me-south-1", "optInStatus": "opted-in"},
            {"regionName": "us-east-1"},
        ]});
        let names: Vec<String> = Query::compile(path)
            .unwrap()
            .values(&doc)
            .into_iter()
            .filter_map(scalar_string)
            .collect();
        assert_eq!(names, ["cn-north-1", "me-south-1", "us-east-1"]);
    }
}
