//! The AWS provider: SDK configuration, one function per operation, and the capture interceptors; the
//! collection core ([`crate::collect`]) does the rest.
//!
//! Credentials and settings come from the standard AWS configuration chain (`aws-config`):
//! environment, `--profile`, shared config and credentials files, SSO, `credential_process`, web
//! identity and instance metadata; `--role-arn` (+ `--external-id`) assumes a read-only role on top.
//! The partition (aws, aws-cn, aws-us-gov) is read from the caller's ARN and checked against the
//! regions; nothing assumes us-east-1.

mod capture;
mod ops;
mod provider;
mod retry;
#[cfg(test)]
mod sent;

pub use capture::{error_from_body, ReadOnlyGuard, Recorder, Refused};
pub use provider::AwsProvider;

use crate::collect::{BoxFuture, Options};
use crate::probes::{ProbeCatalog, ProbeSpec};
use crate::providers::{Adapter, Connection};
use anyhow::{bail, Result};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// AWS in the provider registry.
pub static ADAPTER: Adapter = Adapter {
    name: "aws",
    title: "AWS",
    probe_files_name_api: false,
    connect,
    policy,
    ocsf_account_type: Some((10, "AWS Account")),
};

/// An IAM policy; the same document works in every partition (aws, aws-cn, aws-us-gov).
fn policy(actions: &BTreeSet<&str>) -> serde_json::Value {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DengbaoReadOnlyEvidenceCollection",
            "Effect": "Allow",
            "Action": actions,
            "Resource": "*",
        }],
    })
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

/// GetBucketLocation's answer as a region: empty means us-east-1, `EU` the legacy name of eu-west-1.
pub fn s3_location_region(loc: &str) -> String {
    match loc.trim() {
        "" => "us-east-1".into(),
        "EU" => "eu-west-1".into(),
        other => other.to_string(),
    }
}

/// The AWS probes, each checked to have a Rust function.
pub fn aws_probes(catalog: &ProbeCatalog) -> Result<Vec<ProbeSpec>> {
    let probes = crate::providers::probes_of(catalog, "aws")?;
    check_functions(&probes)?;
    Ok(probes)
}

fn check_functions(probes: &[ProbeSpec]) -> Result<()> {
    for p in probes {
        if ops::function(&p.id).is_none() {
            bail!(
                "probe {} is declared in probes/aws/ but has no function in src/aws/ops/",
                p.id
            );
        }
    }
    Ok(())
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

async fn sdk_config(opts: &Options, home: Option<&str>) -> Result<aws_types::SdkConfig> {
    use aws_config::retry::RetryConfig;
    use aws_config::timeout::TimeoutConfig;
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        // Standard mode, not adaptive: the collection core's rate controller is the only one (see
        // `retry.rs`); the SDK retries only calls that got no answer.
        .retry_config(RetryConfig::standard().with_max_attempts(opts.max_attempts.max(1)))
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

/// Connects to AWS for a scan of `probes`: the configuration chain, the home region (the first of
/// `--regions`, else the configured one), the read-only guard.
pub fn connect<'a>(
    opts: &'a Options,
    probes: &'a [ProbeSpec],
) -> BoxFuture<'a, Result<Connection>> {
    Box::pin(async move {
        if !opts.endpoints.is_empty() {
            bail!("--endpoint PRODUCT=URL is for --provider aliyun; for AWS use --endpoint-url or AWS_ENDPOINT_URL_<SERVICE>");
        }
        check_functions(probes)?;
        let base = sdk_config(opts, opts.regions.first().map(String::as_str)).await?;
        let home = match (opts.regions.first(), base.region()) {
            (Some(r), _) => r.clone(),
            (None, Some(r)) => r.to_string(),
            (None, None) => bail!("no region to start from: pass --regions (e.g. --regions cn-north-1,cn-northwest-1) or set AWS_REGION"),
        };
        let path_style =
            opts.endpoint_url.is_some() || std::env::var_os("AWS_ENDPOINT_URL").is_some();
        Ok(Connection {
            name: ADAPTER.name,
            home_region: home,
            provider: Arc::new(AwsProvider::new(base, guard_for(probes), path_style)),
        })
    })
}
