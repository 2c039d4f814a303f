//! The Alibaba Cloud provider: signing, the HTTP client for the RPC-style OpenAPI and credentials; the
//! collection core ([`crate::collect`]) does the rest.
//!
//! Everything a probe does is data in `probes/aliyun/*.toml` (product, API version, endpoint, action,
//! parameters, pagination, fan-out); this module only signs, sends and says what came back.

pub mod client;
pub mod credentials;
mod provider;
pub use provider::arn_region;
pub mod rest;
pub mod sign;
pub mod sign_oss;
pub mod sign_sls;

pub use provider::AliyunProvider;

use crate::collect::Options;
use crate::probes::{ProbeCatalog, ProbeSpec};
use crate::providers::{Adapter, Connection};
use anyhow::{bail, Result};
use client::{Endpoints, Guard, OpenApi, Retry};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

/// Alibaba Cloud in the provider registry. A generic OpenAPI client needs each product's API version and
/// endpoint, so its probe files name them.
pub static ADAPTER: Adapter = Adapter {
    name: "aliyun",
    title: "Alibaba Cloud",
    probe_files_name_api: true,
    connect: |opts, probes| Box::pin(std::future::ready(connect(opts, probes))),
    policy,
    ocsf_account_type: None,
};

/// A RAM policy (`Version` "1", actions such as `ecs:DescribeInstances`; RAM statements take no `Sid`).
fn policy(actions: &BTreeSet<&str>) -> serde_json::Value {
    serde_json::json!({
        "Version": "1",
        "Statement": [{ "Effect": "Allow", "Action": actions, "Resource": "*" }],
    })
}

/// The Alibaba Cloud probes, each checked to carry its product's API facts.
pub fn aliyun_probes(catalog: &ProbeCatalog) -> Result<Vec<ProbeSpec>> {
    let probes = crate::providers::probes_of(catalog, "aliyun")?;
    if let Some(p) = probes.iter().find(|p| p.api.is_none()) {
        bail!("probe {} has no api_version/endpoint", p.id);
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

/// Connects to Alibaba Cloud for a scan of `probes`: endpoints, credentials (resolved, not yet
/// fetched), the read-only guard, and the home region (the first of `--regions`, else
/// `ALIBABA_CLOUD_REGION_ID`, the profile's region, or cn-hangzhou).
pub fn connect(opts: &Options, probes: &[ProbeSpec]) -> Result<Connection> {
    if let Some(p) = probes.iter().find(|p| p.api.is_none()) {
        bail!("probe {} has no api_version/endpoint", p.id);
    }
    let endpoints = parse_endpoints(opts.endpoint_url.clone(), &opts.endpoints)?;
    let home = opts
        .regions
        .first()
        .cloned()
        .or_else(|| {
            std::env::var("ALIBABA_CLOUD_REGION_ID")
                .ok()
                .filter(|r| !r.is_empty())
        })
        .or_else(|| credentials::profile_region(opts.profile.as_deref()))
        .unwrap_or_else(|| "cn-hangzhou".to_string());
    let retry = Retry {
        max_attempts: opts.max_attempts.max(1),
        timeout: opts.timeout,
        base_delay: Duration::from_millis(200),
    };
    let source = credentials::resolve(
        &credentials::CredentialOptions {
            profile: opts.profile.clone(),
            role_arn: opts.role_arn.clone(),
            external_id: opts.external_id.clone(),
        },
        &credentials::Resolve {
            endpoints: endpoints.clone(),
            region: home.clone(),
            retry,
        },
    )?;
    let api = OpenApi::new(
        Guard::for_probes(probes),
        endpoints,
        Arc::new(source),
        retry,
    )?;
    Ok(Connection {
        name: ADAPTER.name,
        home_region: home,
        provider: Arc::new(AliyunProvider::new(api)),
    })
}
