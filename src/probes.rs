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
//! fan_out = { from = "aws.ec2.describe_snapshots", items = "$.snapshotSet[*]", owner = "$.ownerId", key = "$.snapshotId", param = "SnapshotId" }
//! description = "Who may create volumes from each snapshot (group `all` = public)."
//! ```
//!
//! Alibaba Cloud files (`provider = "aliyun"`) also name the product's OpenAPI version and endpoint, and a
//! probe says how its answers are paged, so a collector needs no Rust per probe:
//!
//! ```toml
//! provider = "aliyun"
//! service = "ecs"                             # the product code (RAM actions are `ecs:…`)
//! api_version = "2014-05-26"
//! endpoint = "ecs.{region}.aliyuncs.com"      # `{region}` is the call's region; no `{region}` = one central endpoint
//! endpoints = { cn-hangzhou = "ecs-cn-hangzhou.aliyuncs.com" }   # optional per-region exceptions
//! # api_style = "oss" | "sls"                 # REST products with their own signature (default: the RPC OpenAPI)
//!
//! [[probe]]
//! id = "aliyun.ecs.describe_disks"
//! operation = "DescribeDisks"
//! scope = "regional"                          # regional calls carry `RegionId` (see `region_param`)
//! iam_action = "ecs:DescribeDisks"
//! parameters = { MaxResults = 500 }
//! pagination = { style = "token" }            # NextToken/MaxResults; or { style = "page", items = "$.Disks.Disk[*]" }: PageNumber/PageSize/TotalCount
//! description = "Cloud disks: encryption, KMS key, zone."
//! ```
//!
//! One probe of each provider has a `role`: `identity` (who is scanning: `reads = { account = "$…",
//! principal = "$…" }`) or `regions` (what to scan without `--regions`: `reads = { regions = "$…" }`);
//! the collection core calls them first.
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

/// Where a regional probe runs besides the scanned regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sweep {
    /// In every region the account has enabled (the regions probe's list), whatever `--regions`
    /// says: residency is a question about the whole account. Outside the scanned regions only this
    /// list is called (its pages, none of its fan-out); rules judge those regions only when they say
    /// `regions = "swept"`.
    AllRegions,
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
    /// JSONPath (relative to an item) of the item's home region: each key is then asked about once, in
    /// that region, also when it is not among those scanned (a multi-region trail is listed in every
    /// region but lives in its `HomeRegion`; an S3 bucket in its location).
    #[serde(default)]
    pub home_region: Option<String>,
    /// JSONPath (relative to an item) of the account owning it: an item owned by another account than
    /// the scanned one is not asked about (counted in the manifest's `skipped`). An item without the
    /// value, or a scan whose account is unknown, is asked about.
    #[serde(default)]
    pub owner: Option<String>,
    /// Further request parameters read from the same item, each a key expression as `key` is (its first
    /// value; an item without one gets no call): for calls that need two names, such as an SLS logstore
    /// (`project` and `logstore`).
    #[serde(default)]
    pub with: BTreeMap<String, String>,
}

/// What the collection core uses a probe for, besides its evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Says who is scanning: `reads.account` (and `reads.principal`, whose partition the provider reads).
    Identity,
    /// Lists the regions to scan when `--regions` is not given: `reads.regions`.
    Regions,
}

/// The JSONPaths a role's answers are read with.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reads {
    /// `identity`: the account id.
    #[serde(default)]
    pub account: Option<String>,
    /// `identity`: the scanning principal (e.g. an ARN, whose partition the provider reads).
    #[serde(default)]
    pub principal: Option<String>,
    /// `regions`: the region names.
    #[serde(default)]
    pub regions: Option<String>,
}

/// How a probe's answers are paged, when its provider's client does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageStyle {
    /// `PageNumber`/`PageSize` in, `TotalCount` out: the next page while page × size < total.
    Page,
    /// A continuation token: `NextToken`/`MaxResults`, or `Marker`/`MaxItems` with `IsTruncated`.
    Token,
}

/// A probe's pagination, with the parameter and field names its API uses (defaults in brackets).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pagination {
    pub style: PageStyle,
    /// `page`: the page-number parameter [`PageNumber`].
    #[serde(default)]
    pub page: Option<String>,
    /// `page`: the page-size parameter [`PageSize`]; its value comes from `parameters`.
    #[serde(default)]
    pub size: Option<String>,
    /// `page`: JSONPath of the total in the answer [`$.TotalCount`].
    #[serde(default)]
    pub total: Option<String>,
    /// `page`: JSONPath of the items of one answer. With it, pages are followed until as many items as
    /// the total were received (so a service that returns fewer items than asked is still read to the
    /// end); without it, while page × size < total.
    #[serde(default)]
    pub items: Option<String>,
    /// `token`: the request parameter carrying the token [`NextToken`].
    #[serde(default)]
    pub token: Option<String>,
    /// `token`: JSONPath of the next token in the answer [`$.NextToken`].
    #[serde(default)]
    pub next: Option<String>,
    /// `token`: JSONPath of a flag saying more pages follow (`$.IsTruncated`); without it a non-empty
    /// token is enough.
    #[serde(default)]
    pub truncated: Option<String>,
}

impl Pagination {
    pub fn page_param(&self) -> &str {
        self.page.as_deref().unwrap_or("PageNumber")
    }
    pub fn size_param(&self) -> &str {
        self.size.as_deref().unwrap_or("PageSize")
    }
    pub fn total_path(&self) -> &str {
        self.total.as_deref().unwrap_or("$.TotalCount")
    }
    pub fn token_param(&self) -> &str {
        self.token.as_deref().unwrap_or("NextToken")
    }
    pub fn next_path(&self) -> &str {
        self.next.as_deref().unwrap_or("$.NextToken")
    }
}

/// The OpenAPI facts of an Alibaba Cloud product, from the head of its probe file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiInfo {
    /// e.g. `2014-05-26` (sent as `x-acs-version`).
    pub version: String,
    /// Host template, e.g. `ecs.{region}.aliyuncs.com`.
    pub endpoint: String,
    /// Per-region exceptions to `endpoint`.
    pub endpoints: BTreeMap<String, String>,
    /// Request parameter naming the region on regional calls (`RegionId`; empty = none).
    pub region_param: String,
    /// How the product's requests are shaped and signed.
    pub style: ApiStyle,
}

/// How an Alibaba Cloud product's requests are shaped and signed (`api_style` in its probe file).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiStyle {
    /// The OpenAPI (RPC style, `ACS3-HMAC-SHA256`): most products.
    #[default]
    Rpc,
    /// OSS's REST API, V4-signed (`OSS4-HMAC-SHA256`), XML answers.
    Oss,
    /// SLS's REST API, with its own `LOG` signature, JSON answers.
    Sls,
}

impl ApiInfo {
    /// The host serving `region`.
    pub fn host(&self, region: &str) -> String {
        self.endpoints
            .get(region)
            .cloned()
            .unwrap_or_else(|| self.endpoint.replace("{region}", region))
    }
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
    /// How answers are paged, read from the answers (none: one call, or pages as the provider's
    /// client says, with the token under `page_token`).
    #[serde(default)]
    pub pagination: Option<Pagination>,
    /// What the collection core uses this probe for besides evidence (identity, regions).
    #[serde(default)]
    pub role: Option<Role>,
    /// The JSONPaths the role's answers are read with.
    #[serde(default)]
    pub reads: Option<Reads>,
    /// Runs in every enabled region, not only the scanned ones (`sweep = "all_regions"`).
    #[serde(default)]
    pub sweep: Option<Sweep>,
    pub description: String,
    /// Filled from the file.
    #[serde(skip)]
    pub provider: String,
    #[serde(skip)]
    pub service: String,
    /// Alibaba Cloud: the product's API version and endpoints (from the file).
    #[serde(skip)]
    pub api: Option<ApiInfo>,
}

fn default_page_token() -> String {
    "NextToken".to_string()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProbeFile {
    provider: String,
    service: String,
    #[serde(default)]
    api_version: Option<String>,
    #[serde(default)]
    endpoint: Option<String>,
    #[serde(default)]
    endpoints: BTreeMap<String, String>,
    #[serde(default)]
    region_param: Option<String>,
    #[serde(default)]
    api_style: Option<ApiStyle>,
    probe: Vec<toml::Spanned<ProbeSpec>>,
}

impl ProbeFile {
    /// The product's API facts: required for Alibaba Cloud, refused elsewhere.
    fn api(&self, at: &str) -> Result<Option<ApiInfo>> {
        let given = self.api_version.is_some()
            || self.endpoint.is_some()
            || !self.endpoints.is_empty()
            || self.region_param.is_some()
            || self.api_style.is_some();
        let named =
            crate::providers::by_name(&self.provider).is_some_and(|p| p.probe_files_name_api);
        if !named {
            if given {
                bail!(
                    "{at}: api_version, endpoint, endpoints, region_param and api_style are for providers whose probe files name their API ({})",
                    crate::providers::naming_api().join(", ")
                );
            }
            return Ok(None);
        }
        let (Some(version), Some(endpoint)) = (&self.api_version, &self.endpoint) else {
            bail!(
                "{at}: a {} probe file names the product's `api_version` and `endpoint`",
                self.provider
            );
        };
        Ok(Some(ApiInfo {
            version: version.clone(),
            endpoint: endpoint.clone(),
            endpoints: self.endpoints.clone(),
            region_param: self
                .region_param
                .clone()
                .unwrap_or_else(|| "RegionId".to_string()),
            style: self.api_style.unwrap_or_default(),
        }))
    }
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
            let api = parsed.api(&f.display)?;
            for p in parsed.probe {
                let (line, _) = line_col(&f.text, p.span().start);
                let at = format!("{}:{line}", f.display);
                let mut spec = p.into_inner();
                spec.provider = parsed.provider.clone();
                spec.service = parsed.service.clone();
                spec.api = api.clone();
                if let Some(pg) = &spec.pagination {
                    check_pagination(pg, &spec)
                        .map_err(|m| anyhow::anyhow!("{at}: probe {}: {m}", spec.id))?;
                }
                check_role(&spec).map_err(|m| anyhow::anyhow!("{at}: probe {}: {m}", spec.id))?;
                if spec.sweep.is_some() && (spec.scope != Scope::Regional || spec.fan_out.is_some())
                {
                    bail!(
                        "{at}: probe {}: sweep needs scope = \"regional\" and no fan_out (one list per region)",
                        spec.id
                    );
                }
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
            if let Some(twin) = cat.probes.values().find(|q| {
                q.id < p.id && q.provider == p.provider && q.role.is_some() && q.role == p.role
            }) {
                bail!(
                    "probes {} and {} both declare role {:?}; a provider has one of each",
                    twin.id,
                    p.id,
                    p.role.expect("checked")
                );
            }
            if let Some(fo) = &p.fan_out {
                if !cat.probes.contains_key(&fo.from) {
                    bail!(
                        "probe {} fans out from `{}`, which is not declared",
                        p.id,
                        fo.from
                    );
                }
                if let Some(Err(e)) = fo.owner.as_deref().map(crate::jsonpath::Query::compile) {
                    bail!("probe {}: fan_out.owner: {e}", p.id);
                }
                for (param, key) in &fo.with {
                    if let Err(e) = crate::jsonpath::KeyExpr::parse(key) {
                        bail!("probe {}: fan_out.with.{param}: {e}", p.id);
                    }
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

/// A role names the paths its answers are read with, and runs once, in the scan's home region.
fn check_role(spec: &ProbeSpec) -> Result<(), String> {
    let Some(role) = spec.role else {
        return match spec.reads {
            Some(_) => Err("`reads` needs a `role`".into()),
            None => Ok(()),
        };
    };
    if spec.scope != Scope::Global || spec.fan_out.is_some() {
        return Err(format!(
            "role {role:?} needs scope = \"global\" and no fan_out"
        ));
    }
    let reads = spec.reads.clone().unwrap_or_default();
    let (needed, allowed): (&Option<String>, &[(&str, bool)]) = match role {
        Role::Identity => (
            &reads.account,
            &[("account", true), ("principal", true), ("regions", false)],
        ),
        Role::Regions => (
            &reads.regions,
            &[("account", false), ("principal", false), ("regions", true)],
        ),
    };
    let given = [&reads.account, &reads.principal, &reads.regions];
    if needed.is_none() {
        let name = allowed.iter().find(|(_, ok)| *ok).expect("one").0;
        return Err(format!(
            "role {role:?} reads `{name}`: add reads = {{ {name} = \"$…\" }}"
        ));
    }
    if let Some(((name, _), _)) = allowed
        .iter()
        .zip(given)
        .find(|((_, ok), g)| !ok && g.is_some())
    {
        return Err(format!("role {role:?} does not read `{name}`"));
    }
    for path in given.into_iter().flatten() {
        crate::jsonpath::Query::compile(path)?;
    }
    Ok(())
}

fn check_pagination(pg: &Pagination, spec: &ProbeSpec) -> Result<(), String> {
    type Fields<'a> = &'a [(&'a str, bool)];
    let (own, foreign): (Fields, Fields) = (
        &[
            ("page", pg.page.is_some()),
            ("size", pg.size.is_some()),
            ("total", pg.total.is_some()),
            ("items", pg.items.is_some()),
        ],
        &[
            ("token", pg.token.is_some()),
            ("next", pg.next.is_some()),
            ("truncated", pg.truncated.is_some()),
        ],
    );
    let wrong = match pg.style {
        PageStyle::Page => foreign,
        PageStyle::Token => own,
    };
    if let Some((name, _)) = wrong.iter().find(|(_, set)| *set) {
        return Err(format!(
            "`{name}` does not belong to pagination style {:?}",
            pg.style
        )
        .to_lowercase());
    }
    for path in [&pg.total, &pg.items, &pg.next, &pg.truncated]
        .into_iter()
        .flatten()
    {
        crate::jsonpath::Query::compile(path)?;
    }
    if pg.style == PageStyle::Page && !spec.parameters.contains_key(pg.size_param()) {
        return Err(format!(
            "page-style pagination needs the page size in `parameters` ({} = …)",
            pg.size_param()
        ));
    }
    Ok(())
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
    fn only_a_regional_list_sweeps() {
        let with = |extra: &str| {
            SourceFile {
            display: "probes/aws/ec2.toml".into(),
            rel: "aws/ec2.toml".into(),
            text: format!("provider = \"aws\"\nservice = \"ec2\"\n[[probe]]\nid = \"aws.ec2.x\"\noperation = \"DescribeVolumes\"\niam_action = \"ec2:DescribeVolumes\"\ndescription = \"d\"\nsweep = \"all_regions\"\n{extra}"),
        }
        };
        let ok = ProbeCatalog::from_files(&[with("scope = \"regional\"\n")]).unwrap();
        assert_eq!(ok.get("aws.ec2.x").unwrap().sweep, Some(Sweep::AllRegions));
        let err = ProbeCatalog::from_files(&[with("scope = \"global\"\n")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("sweep needs scope = \"regional\""), "{err}");
    }
}
