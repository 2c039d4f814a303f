//! `dengbao scan --provider aliyun`.

use super::args::{AwsArgs, Formats};
use super::{finish_scan, Loaded};
use anyhow::Result;
use std::path::Path;

/// Collects from Alibaba Cloud into `out/pack`, then evaluates and renders like every scan.
pub fn scan(
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
    let opts = crate::aliyun::AliyunOptions {
        credentials: crate::aliyun::credentials::CredentialOptions {
            profile: args.profile.clone(),
            role_arn: args.role_arn.clone(),
            external_id: args.external_id.clone(),
        },
        regions: args
            .regions
            .iter()
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .collect(),
        endpoints: crate::aliyun::parse_endpoints(args.endpoint_url.clone(), &args.endpoints)?,
        concurrency: args.concurrency,
        rate: args.rate,
        max_attempts: args.max_attempts,
        timeout: std::time::Duration::from_secs(args.timeout.max(1)),
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let scan = runtime.block_on(crate::aliyun::scan(&opts, &loaded.probes, &pack_dir))?;
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
