//! What the collection core asks of a cloud: the narrow hooks a provider implements (in the manner of
//! vector's sources: one shared loop, small adapters).
//!
//! The core decides everything a scan does — which probe runs where, the rate and concurrency limits,
//! pages, fan-out, what is recorded and how failures become evidence. A provider only sends one call
//! and says what came back, reads its own error bodies, names its partitions, adds the parameters its
//! API needs besides the manifest's, and maps a fan-out item's home region to a region it can call.

use crate::probes::ProbeSpec;
use serde_json::{Map, Value};
use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future (what the hooks return; the core is object-safe over providers).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One call the core asks a provider to send.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub probe: &'a ProbeSpec,
    pub region: &'a str,
    /// The request parameters exactly as they are recorded: the manifest's, the provider's additions
    /// ([`Provider::add_parameters`]), the fan-out key and the page. A provider sends these and nothing
    /// else that changes the answer.
    pub params: &'a Map<String, Value>,
}

/// What one call received (the last attempt, when the provider retried).
#[derive(Debug, Clone, Default)]
pub struct RawAnswer {
    pub status: u16,
    pub request_id: Option<String>,
    /// The media type the service declared for the body.
    pub media_type: String,
    /// The body, byte for byte.
    pub body: Vec<u8>,
    /// RFC 3339 UTC time the answer was received.
    pub captured_at: String,
    pub attempts: u32,
    /// The next page's token, when the provider's client reads it from the answer (an SDK's typed
    /// output). Without it, the probe manifest's `pagination` says how pages follow.
    pub next_token: Option<String>,
    /// What the provider's client said about this answer: for an error status, its own reading of the
    /// error (used when the body names no code); for a success status, why the answer could not be
    /// read — then the bytes are kept as evidence of a failed call, and paging stops.
    pub complaint: Option<Failure>,
    /// The answer's document, when the client converted the body already (it is not converted twice).
    pub document: Option<Value>,
}

/// Why a call got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The service's error code, or a transport class (`Timeout`, `ConnectionError`,
    /// `RefusedByReadOnlyGuard`, `NoCredentials`, ...).
    pub code: String,
    pub message: String,
}

impl Failure {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_string(),
            message: message.into(),
        }
    }
}

/// Why an error answer is sent again (by the collection core's rate controller, never by the client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryReason {
    /// The service says the caller is too fast: the rate of its service and region is halved.
    Throttled,
    /// A server-side failure (HTTP 5xx): sent again after a pause, at the same rate.
    ServerError,
}

impl RetryReason {
    /// The reading of an answer whose body names no code the provider knows: HTTP 429 is throttling,
    /// 5xx a server error.
    pub fn of_status(status: u16) -> Option<Self> {
        match status {
            429 => Some(Self::Throttled),
            500..=599 => Some(Self::ServerError),
            _ => None,
        }
    }
}

/// A service's documented request bucket: `burst` tokens, refilled at `refill` per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub burst: f64,
    pub refill: f64,
}

/// A connected provider, ready to scan.
pub struct Connection {
    /// The provider's name in probe manifests, packs and mappings (`aws`, `aliyun`).
    pub name: &'static str,
    /// The region the scan starts from: identity, region discovery and global probes are called here.
    pub home_region: String,
    /// The hooks the collection core calls.
    pub provider: std::sync::Arc<dyn Provider>,
}

/// A connected cloud: the hooks the collection core calls during a scan.
pub trait Provider: Send + Sync + 'static {
    /// The partition `region` belongs to (providers without partitions: their name).
    fn partition_of_region(&self, region: &str) -> String;

    /// The partition named by the scanning principal (the identity probe's `principal`), if it names
    /// one (an AWS ARN does: `arn:aws-cn:…`).
    fn partition_of_principal(&self, _principal: &str) -> Option<String> {
        None
    }

    /// Adds what the provider's API needs besides the manifest's parameters (Alibaba Cloud: the region
    /// of a regional call). Whatever is added here is recorded and sent.
    fn add_parameters(&self, _probe: &ProbeSpec, _region: &str, _params: &mut Map<String, Value>) {}

    /// Sends one call: `Ok` with whatever the service answered (an error answer too), `Err` when
    /// nothing was received (refused by the read-only guard, no credentials, timeout, connection).
    fn call<'a>(&'a self, request: Request<'a>) -> BoxFuture<'a, Result<RawAnswer, Failure>>;

    /// The error code and message an error answer's body carries, if it carries one.
    fn error_code(&self, media_type: &str, body: &[u8]) -> Option<(String, String)>;

    /// Whether an error answer (`status`, the body's `code`) is worth sending again, and why. Each
    /// provider names its throttling codes (AWS `Throttling`, `RequestLimitExceeded`, ...; Alibaba
    /// Cloud `Throttling.User`, `ServiceUnavailable`, ...).
    fn retry_reason(&self, status: u16, _code: Option<&str>) -> Option<RetryReason> {
        RetryReason::of_status(status)
    }

    /// The request bucket the service documents, if it documents one (the rate controller's burst).
    fn bucket(&self, _service: &str) -> Option<Bucket> {
        None
    }

    /// The region to call a fan-out item in, from the value at its `home_region` path (None: the
    /// region where it was listed).
    fn fan_out_region(&self, _child: &ProbeSpec, home: &Value) -> Option<String> {
        crate::jsonpath::scalar_string(home).filter(|h| !h.is_empty())
    }
}
