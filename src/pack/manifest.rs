//! `manifest.json`: the typed form of a pack's index.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use super::shared_str::SharedStr;
use super::Digest;

/// The whole manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The format version, one of [`super::FORMATS`] (new packs: [`super::PACK_FORMAT`]).
    pub format: String,
    /// The tool and version that wrote the pack, e.g. `dengbao 0.1.0`.
    pub created_by: String,
    /// What was scanned.
    pub scan: ScanInfo,
    /// Every probe run, per region, with its outcome — including runs that produced no record.
    pub probes: Vec<ProbeRun>,
    /// Every API call whose answer (or failure) is evidence.
    pub records: Vec<EvidenceRecord>,
    /// Per service and region: requests, throttling answers, retries and rates of the scan's rate
    /// controller (`dengbao.pack/v2`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rates: Vec<RateRecord>,
    /// Fan-out items not asked about, per probe and region, and why (`dengbao.pack/v2`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
}

/// What the rate controller of one service in one region saw (`dengbao.pack/v2`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RateRecord {
    pub service: String,
    pub region: String,
    /// Requests sent, retries included.
    pub requests: u64,
    /// Answers the provider classified as throttling.
    pub throttles: u64,
    /// Requests that repeated an earlier attempt (after throttling or a server error).
    pub retries: u64,
    /// Requests per second between the first request and the last answer.
    pub effective_rate: f64,
    /// The lowest rate the controller went down to, and its rate at the end (requests per second).
    pub lowest_rate: f64,
    pub final_rate: f64,
}

/// Fan-out items a probe did not ask about in one region, and why (`dengbao.pack/v2`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Skipped {
    /// The probe that would have been called for each item.
    pub probe: String,
    /// The region the items were listed in.
    pub region: String,
    /// How many items.
    pub items: u64,
    /// Why, e.g. `owner: $.OwnerId is not the scanned account`.
    pub reason: String,
}

/// What was scanned, by whom, when.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScanInfo {
    /// `aws`, `aliyun`, ...
    pub provider: String,
    /// `aws`, `aws-cn`, `aws-us-gov`; for providers without partitions, the provider name.
    pub partition: String,
    /// The account(s) whose configuration was read.
    pub accounts: Vec<String>,
    /// The regions scanned (global services are recorded under the region their call was signed for).
    pub regions: Vec<String>,
    /// RFC 3339 UTC timestamps.
    pub started_at: String,
    pub finished_at: String,
    /// The residency sweep: the probes that listed every enabled region, not only `regions`
    /// (`dengbao.pack/v2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepInfo>,
}

/// What the residency sweep covered (`dengbao.pack/v2`): the probes declared `sweep = "all_regions"`
/// ran in each of `regions` (the scanned ones included); outside the scanned regions only those lists
/// were called. Rules judging per scanned region never see the swept-only regions.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SweepInfo {
    /// The probes that swept, by id.
    pub probes: Vec<String>,
    /// Every region they ran in, sorted.
    pub regions: Vec<String>,
    /// Why the enabled regions are not known (the regions probe failed, or none is declared): the
    /// sweep then covered `regions` only, and residency cannot be judged for the whole account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ProbeError>,
}

impl SweepInfo {
    /// Whether `probe`'s record in `region` exists only because of the sweep (a region not scanned).
    pub fn swept_only(&self, scanned: &[String], probe: &str, region: &str) -> bool {
        !scanned.iter().any(|r| r == region) && self.probes.iter().any(|p| p == probe)
    }
}

/// Outcome of one probe in one region.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ProbeStatus {
    Ok,
    Error,
}

/// One probe run in one region: how many records it produced, and why it failed if it did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProbeRun {
    pub id: String,
    pub region: String,
    pub status: ProbeStatus,
    /// Records this run produced (pages, fan-out calls, and failed calls).
    pub records: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ProbeError>,
}

/// Why a call failed, as the service (or the transport) said it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ProbeError {
    /// The service's error code (`AccessDenied`, `Throttling`, ...) or a transport class
    /// (`Timeout`, `ConnectionError`, `UnparsableResponse`).
    pub code: String,
    pub message: String,
}

/// One API call: what was asked, where, when, and the digest of the raw answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EvidenceRecord {
    /// The probe that made the call, e.g. `aws.ec2.describe_security_groups`.
    pub probe: SharedStr,
    pub provider: SharedStr,
    pub partition: SharedStr,
    pub account: SharedStr,
    pub region: SharedStr,
    /// Service id, e.g. `ec2`.
    pub service: SharedStr,
    /// API operation, e.g. `DescribeSecurityGroups`.
    pub operation: SharedStr,
    /// Request parameters as the API names them (never credentials).
    pub parameters: Params,
    /// RFC 3339 UTC time the response was received.
    pub captured_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Media type of the body as the service declared it.
    pub media_type: SharedStr,
    /// `sha256:<hex>` of the raw body bytes; the blob lives at `blobs/sha256/<hex[..2]>/<hex>`.
    /// Checked when the manifest is parsed: 64 lower-case hex digits, nothing else.
    pub sha256: Digest,
    /// Size of the body in bytes.
    pub size: u64,
    /// Set when the call failed; the blob then holds the error body (possibly empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ProbeError>,
}

impl EvidenceRecord {
    /// Hex part of [`EvidenceRecord::sha256`].
    pub fn hex(&self) -> &str {
        self.sha256.hex()
    }
}

/// Request parameters of a record: a JSON object, kept as its compact text.
///
/// A large scan has tens of thousands of records, most with one or two parameters; as a parsed
/// `Value` each held a B-tree node of over 600 bytes. The text is canonical (keys sorted, as
/// `serde_json` writes a `Value`), and serializes exactly as the `Value` would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params(Box<str>);

impl Params {
    /// The parameters, parsed.
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.0).expect("Params holds JSON it wrote itself")
    }

    /// The parameter `name`, if given.
    pub fn get(&self, name: &str) -> Option<Value> {
        match self.value() {
            Value::Object(mut m) => m.remove(name),
            _ => None,
        }
    }

    /// The compact JSON text.
    pub fn as_json(&self) -> &str {
        &self.0
    }
}

impl Default for Params {
    fn default() -> Self {
        Params::from(Value::Object(Default::default()))
    }
}

impl From<Value> for Params {
    fn from(v: Value) -> Self {
        Params(v.to_string().into_boxed_str())
    }
}

impl Serialize for Params {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Params {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(Params::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_serialize_as_the_value_they_hold() {
        let v = serde_json::json!({"SnapshotId": "snap-1", "Attribute": "createVolumePermission", "MaxResults": 5, "Filter": [{"Name": "x"}]});
        let p = Params::from(v.clone());
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            serde_json::to_string(&v).unwrap()
        );
        assert_eq!(
            serde_json::to_string_pretty(&p).unwrap(),
            serde_json::to_string_pretty(&v).unwrap()
        );
        assert_eq!(p.value(), v);
        assert_eq!(p.get("MaxResults"), Some(serde_json::json!(5)));
        assert_eq!(p.get("Nope"), None);
        let back: Params =
            serde_json::from_str(&serde_json::to_string_pretty(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }
}
