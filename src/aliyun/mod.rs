//! The Alibaba Cloud provider: live, read-only, concurrent collection over the signed RPC-style
//! OpenAPI into an evidence pack.
//!
//! Everything a probe does is data in `probes/aliyun/*.toml` (product, API version, endpoint, action,
//! parameters, pagination, fan-out); this module only signs, sends, pages and records. The pack format,
//! the rule engine and the catalog are shared with AWS.

pub mod client;
pub mod credentials;
mod scheduler;
pub mod sign;
pub mod sign_sls;

use crate::aws::now_rfc3339;
use crate::interrupt::or_interrupt;
use crate::pack::{Manifest, PackWriter, ScanInfo};
use crate::probes::{ProbeCatalog, ProbeSpec, Scope};
use anyhow::{bail, Result};
use client::{Endpoints, Guard, OpenApi, Retry};
use scheduler::Scheduler;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The probe that says who is scanning (its `AccountId` becomes the pack's account).
pub const IDENTITY_PROBE: &str = "aliyun.sts.get_caller_identity";
/// The probe that lists the regions when `--regions` is not given.
pub const REGIONS_PROBE: &str = "aliyun.ecs.describe_regions";

/// `dengbao scan --provider aliyun` options.
#[derive(Debug, Clone)]
pub struct AliyunOptions {
    pub credentials: credentials::CredentialOptions,
    /// Regions to scan; empty means every region DescribeRegions lists.
    pub regions: Vec<String>,
    /// `--endpoint-url` (every product) and `--endpoint PRODUCT=URL`.
    pub endpoints: Endpoints,
    pub concurrency: usize,
    /// Requests per second per product and region.
    pub rate: f64,
    pub max_attempts: u32,
    pub timeout: Duration,
    pub progress: bool,
}

/// What a scan did.
#[derive(Debug)]
pub struct AliyunScan {
    pub manifest: Manifest,
    pub calls: u64,
    pub records_ok: usize,
    pub interrupted: bool,
}

/// The Alibaba Cloud probes, each checked to carry its product's API facts.
pub fn aliyun_probes(catalog: &ProbeCatalog) -> Result<Vec<ProbeSpec>> {
    let probes: Vec<ProbeSpec> = catalog.of_provider("aliyun").cloned().collect();
    if let Some(p) = probes.iter().find(|p| p.api.is_none()) {
        bail!("probe {} has no api_version/endpoint", p.id);
    }
    for id in [IDENTITY_PROBE, REGIONS_PROBE] {
        if !probes.iter().any(|p| p.id == id) {
            bail!("{id} is not declared under probes/aliyun/");
        }
    }
    Ok(probes)
}

/// Parses `--endpoint PRODUCT=URL` values.
pub fn parse_endpoints(all: Option<String>, per_product: &[String]) -> Result<Endpoints> {
    let mut map = BTreeMap::new();
    for e in per_product {
        let Some((product, url)) = e.split_once('=') else {
            bail!("--endpoint {e}: write PRODUCT=URL, e.g. --endpoint ecs=https://ecs-vpc.cn-hangzhou.aliyuncs.com");
        };
        map.insert(product.trim().to_ascii_lowercase(), url.trim().to_string());
    }
    Ok(Endpoints {
        all,
        per_product: map,
    })
}

/// Scans Alibaba Cloud into a new pack at `pack_dir`. Writes whatever was collected even when interrupted.
pub async fn scan(
    opts: &AliyunOptions,
    catalog: &ProbeCatalog,
    pack_dir: &Path,
) -> Result<AliyunScan> {
    let probes = aliyun_probes(catalog)?;
    let home = opts
        .regions
        .first()
        .cloned()
        .or_else(|| {
            std::env::var("ALIBABA_CLOUD_REGION_ID")
                .ok()
                .filter(|r| !r.is_empty())
        })
        .or_else(|| credentials::profile_region(opts.credentials.profile.as_deref()))
        .unwrap_or_else(|| "cn-hangzhou".to_string());
    let retry = Retry {
        max_attempts: opts.max_attempts.max(1),
        timeout: opts.timeout,
        base_delay: Duration::from_millis(200),
    };
    let source = credentials::resolve(
        &opts.credentials,
        &credentials::Resolve {
            endpoints: opts.endpoints.clone(),
            region: home.clone(),
            retry,
        },
    )?;
    let api = OpenApi::new(
        Guard::for_probes(&probes),
        opts.endpoints.clone(),
        Arc::new(source),
        retry,
    )?;
    let scan_info = ScanInfo {
        provider: "aliyun".into(),
        partition: "aliyun".into(),
        accounts: Vec::new(),
        regions: opts.regions.clone(),
        started_at: now_rfc3339(),
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
        api,
        writer.clone(),
        opts.concurrency,
        opts.rate,
        progress,
    );

    // Who is scanning: the account id (recorded; the answer holds no secret).
    let identity = probes
        .iter()
        .find(|p| p.id == IDENTITY_PROBE)
        .expect("checked");
    let answer = sched
        .call(
            identity,
            &home,
            Scheduler::parameters(identity, &home, None),
        )
        .await;
    if let Some(doc) = &answer.doc {
        if let Some(a) = doc
            .get("AccountId")
            .and_then(crate::rules::path::scalar_string)
        {
            sched.account = a;
        }
    }
    let mut identity_answer = answer;
    if let Some(rec) = identity_answer.record.as_mut() {
        rec.account = (sched.account.clone()).into();
    }
    sched.record_answer(identity, &home, &identity_answer);
    if let Some(e) = &identity_answer.error {
        tracing::warn!(
            "could not identify the caller ({}: {}); scanning anyway",
            e.code,
            e.message
        );
    }

    // Which regions: as given, or every region DescribeRegions lists (recorded as evidence).
    let regions = if opts.regions.is_empty() {
        match or_interrupt(discover_regions(&sched, &home)).await {
            Some(r) => r,
            None => return finalize(&writer, &sched, true),
        }
    } else {
        opts.regions.clone()
    };
    {
        let mut w = writer.lock().expect("writer lock");
        let s = w.scan_mut();
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
        .filter(|p| p.fan_out.is_none() && p.id != IDENTITY_PROBE)
    {
        match p.scope {
            Scope::Global => {
                if p.id != REGIONS_PROBE || !opts.regions.is_empty() {
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
fn finalize(
    writer: &Mutex<PackWriter>,
    sched: &Scheduler,
    interrupted: bool,
) -> Result<AliyunScan> {
    if let Some(p) = &sched.progress {
        p.finish_and_clear();
    }
    let (manifest, records_ok) = sched.ledger.finish(writer)?;
    Ok(AliyunScan {
        manifest,
        calls: sched.calls.load(Ordering::Relaxed),
        records_ok,
        interrupted,
    })
}

/// Every region DescribeRegions lists (the call is recorded as the regions probe's evidence).
async fn discover_regions(sched: &Scheduler, home: &str) -> Vec<String> {
    let spec = sched
        .ledger
        .probes()
        .iter()
        .find(|p| p.id == REGIONS_PROBE)
        .cloned()
        .expect("checked");
    let mut regions: Vec<String> = Vec::new();
    for (_, doc) in sched.pages(&spec, home, None).await {
        let found = crate::rules::path::Query::compile("$.Regions.Region[*].RegionId")
            .expect("valid path")
            .select(&doc)
            .into_iter()
            .filter_map(|(v, _)| crate::rules::path::scalar_string(v));
        regions.extend(found);
    }
    if regions.is_empty() {
        tracing::warn!("could not discover regions; scanning {home} only");
        regions.push(home.to_string());
    }
    regions.sort();
    regions.dedup();
    regions
}
