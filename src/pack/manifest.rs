//! `manifest.json`: the typed form of a pack's index.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Format tag written into every manifest; readers refuse formats they do not know.
pub const PACK_FORMAT: &str = "dengbao.pack/v1";

/// The whole manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`PACK_FORMAT`].
    pub format: String,
    /// The tool and version that wrote the pack, e.g. `dengbao 0.1.0`.
    pub created_by: String,
    /// What was scanned.
    pub scan: ScanInfo,
    /// Every probe run, per region, with its outcome — including runs that produced no record.
    pub probes: Vec<ProbeRun>,
    /// Every API call whose answer (or failure) is evidence.
    pub records: Vec<EvidenceRecord>,
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
    pub probe: String,
    pub provider: String,
    pub partition: String,
    pub account: String,
    pub region: String,
    /// Service id, e.g. `ec2`.
    pub service: String,
    /// API operation, e.g. `DescribeSecurityGroups`.
    pub operation: String,
    /// Request parameters as the API names them (never credentials).
    pub parameters: Value,
    /// RFC 3339 UTC time the response was received.
    pub captured_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Media type of the body as the service declared it.
    pub media_type: String,
    /// `sha256:<hex>` of the raw body bytes; the blob lives at `blobs/sha256/<hex[..2]>/<hex>`.
    pub sha256: String,
    /// Size of the body in bytes.
    pub size: u64,
    /// Set when the call failed; the blob then holds the error body (possibly empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ProbeError>,
}

impl EvidenceRecord {
    /// Hex part of [`EvidenceRecord::sha256`].
    pub fn hex(&self) -> &str {
        self.sha256.strip_prefix("sha256:").unwrap_or(&self.sha256)
    }
}
