//! Probe manifests: what each probe asks of which API, declared as data under `probes/<provider>/`.
//!
//! One file per service, e.g. `probes/aws/ec2.toml`:
//!
//! ```toml
//! provider = "aws"
//! service = "ec2"
//!
//! [[probe]]
//! id = "aws.ec2.describe_snapshot_attribute"
//! operation = "DescribeSnapshotAttribute"
//! scope = "regional"                          # or "global"
//! iam_action = "ec2:DescribeSnapshotAttribute"
//! parameters = { Attribute = "createVolumePermission" }
//! fan_out = { from = "aws.ec2.describe_snapshots", items = "$.snapshotSet[*]", key = "$.snapshotId", param = "SnapshotId" }
//! description = "Who may create volumes from each snapshot (group `all` = public)."
//! ```
//!
//! The manifests drive `dengbao probes list`, the least-privilege policy of `dengbao iam-policy`, the
//! read-only guard's allow-list, and `rules check` (a rule may only read declared probes).

use crate::catalog::toml_error;
use crate::embedded::{line_col, SourceFile};
use anyhow::{bail, Result};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Whether a probe runs once per region or once per account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Regional,
    Global,
}

/// Calls made once per item of another probe's answers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FanOut {
    /// The probe whose documents list the items.
    pub from: String,
    /// JSONPath selecting the items.
    pub items: String,
    /// The value passed as `param`: a JSONPath relative to an item, or `param.NAME` (a request
    /// parameter of the source call, e.g. the bucket a GetBucketLocation answer is about).
    pub key: String,
    /// Request parameter receiving the key.
    pub param: String,
    /// Only keys matching this regex get a call (e.g. only SNS topic ARNs among rule targets).
    #[serde(default)]
    pub key_matches: Option<String>,
    /// Only items whose value at this JSONPath equals the call's region get a call (e.g. a trail is
    /// asked about in its `HomeRegion` only; multi-region trails are listed in every region).
    #[serde(default)]
    pub home_region: Option<String>,
}

/// One probe.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeSpec {
    pub id: String,
    pub operation: String,
    pub scope: Scope,
    /// The IAM / RAM action the call needs.
    pub iam_action: String,
    #[serde(default)]
    pub parameters: toml::Table,
    #[serde(default)]
    pub fan_out: Option<FanOut>,
    /// Name of the request parameter carrying the pagination token (default `NextToken`).
    #[serde(default = "default_page_token")]
    pub page_token: String,
    /// Error codes that mean "not configured" (an answer, not a failure), e.g. S3's
    /// `ReplicationConfigurationNotFoundError`.
    #[serde(default)]
    pub absent_codes: Vec<String>,
    pub description: String,
    /// Filled from the file.
    #[serde(skip)]
    pub provider: String,
    #[serde(skip)]
    pub service: String,
}

fn default_page_token() -> String {
    "NextToken".to_string()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProbeFile {
    provider: String,
    service: String,
    probe: Vec<toml::Spanned<ProbeSpec>>,
}

/// Every declared probe, by id.
#[derive(Debug, Clone, Default)]
pub struct ProbeCatalog {
    pub probes: BTreeMap<String, ProbeSpec>,
}

/// Operation-name prefixes of read-only API calls. A probe naming anything else is refused at load,
/// and the collectors refuse to send any operation no probe declares.
pub const READ_ONLY_PREFIXES: &[&str] = &[
    "Describe", "List", "Get", "Query", "Lookup", "Search", "Head",
];

impl ProbeCatalog {
    /// Loads `probes/<provider>/*.toml`.
    pub fn from_files(files: &[SourceFile]) -> Result<Self> {
        let mut cat = ProbeCatalog::default();
        for f in files {
            let parsed: ProbeFile = toml::from_str(&f.text).map_err(|e| toml_error(f, &e))?;
            for p in parsed.probe {
                let (line, _) = line_col(&f.text, p.span().start);
                let at = format!("{}:{line}", f.display);
                let mut spec = p.into_inner();
                spec.provider = parsed.provider.clone();
                spec.service = parsed.service.clone();
                let prefix = format!("{}.{}.", spec.provider, spec.service);
                if !spec.id.starts_with(&prefix) {
                    bail!("{at}: probe id `{}` must start with `{prefix}`", spec.id);
                }
                if !READ_ONLY_PREFIXES
                    .iter()
                    .any(|p| spec.operation.starts_with(p))
                {
                    bail!(
                        "{at}: probe {} calls `{}`, which is not a read operation ({}); dengbao only reads",
                        spec.id,
                        spec.operation,
                        READ_ONLY_PREFIXES.join("/")
                    );
                }
                if let Some(prev) = cat.probes.insert(spec.id.clone(), spec) {
                    bail!("{at}: probe `{}` is declared twice", prev.id);
                }
            }
        }
        for p in cat.probes.values() {
            if let Some(fo) = &p.fan_out {
                if !cat.probes.contains_key(&fo.from) {
                    bail!(
                        "probe {} fans out from `{}`, which is not declared",
                        p.id,
                        fo.from
                    );
                }
            }
        }
        Ok(cat)
    }

    pub fn get(&self, id: &str) -> Option<&ProbeSpec> {
        self.probes.get(id)
    }

    /// Probes of one provider, in id order.
    pub fn of_provider<'a>(
        &'a self,
        provider: &'a str,
    ) -> impl Iterator<Item = &'a ProbeSpec> + 'a {
        self.probes.values().filter(move |p| p.provider == provider)
    }
}

/// The least-privilege policy covering every probe of `provider`: exactly the actions they declare.
///
/// `Resource` is `*` because list/describe calls are not resource-scoped; the same document works in
/// every AWS partition (aws, aws-cn, aws-us-gov) and as an Alibaba Cloud RAM policy.
pub fn least_privilege_policy(catalog: &ProbeCatalog, provider: &str) -> serde_json::Value {
    let actions: std::collections::BTreeSet<&str> = catalog
        .of_provider(provider)
        .map(|p| p.iam_action.as_str())
        .collect();
    serde_json::json!({
        "Version": if provider == "aliyun" { "1" } else { "2012-10-17" },
        "Statement": [{
            "Sid": "DengbaoReadOnlyEvidenceCollection",
            "Effect": "Allow",
            "Action": actions,
            "Resource": "*",
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(op: &str) -> SourceFile {
        let text = format!(
            "provider = \"aws\"\nservice = \"ec2\"\n[[probe]]\nid = \"aws.ec2.x\"\noperation = \"{op}\"\nscope = \"regional\"\niam_action = \"ec2:{op}\"\ndescription = \"d\"\n"
        );
        SourceFile {
            display: "probes/aws/ec2.toml".into(),
            rel: "aws/ec2.toml".into(),
            text,
        }
    }

    #[test]
    fn a_mutating_operation_cannot_be_declared() {
        for op in [
            "DeleteVpc",
            "RunInstances",
            "ModifySnapshotAttribute",
            "PutBucketPolicy",
        ] {
            let err = ProbeCatalog::from_files(&[file(op)])
                .unwrap_err()
                .to_string();
            assert!(err.contains("not a read operation"), "{op}: {err}");
        }
        assert!(ProbeCatalog::from_files(&[file("DescribeVpcs")]).is_ok());
    }

    #[test]
    fn policy_lists_exactly_the_declared_actions() {
        let cat = ProbeCatalog::from_files(&[file("DescribeVpcs")]).unwrap();
        let p = least_privilege_policy(&cat, "aws");
        assert_eq!(
            p["Statement"][0]["Action"],
            serde_json::json!(["ec2:DescribeVpcs"])
        );
    }
}
