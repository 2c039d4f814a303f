//! A generic client for Alibaba Cloud's RPC-style OpenAPI: V3-signed `POST /?<query>` over HTTPS
//! (reqwest on rustls), regional endpoints with overrides, STS security tokens, retries with back-off
//! on `Throttling*`, 5xx and transport failures, and a read-only guard that runs before anything is
//! signed.
//!
//! Only the business parameters of a call are ever returned for recording; the signed headers (with the
//! AccessKey id, the signature and any security token) never leave [`OpenApi::call`].

use super::credentials::{CredentialSource, Credentials};
use super::sign::{authorization, canonical_query, sha256_hex, SignInput};
use crate::collect::{Failure, RawAnswer, RetryReason};
use crate::probes::{ApiInfo, READ_ONLY_PREFIXES};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Refuses every `(product, action)` that is not on its allow-list.
#[derive(Debug, Clone)]
pub struct Guard {
    allowed: Arc<BTreeSet<(String, String)>>,
}

impl Guard {
    /// Allows exactly the probes' `(product, action)` pairs, each of which must be a read action.
    pub fn for_probes<'a>(probes: impl IntoIterator<Item = &'a crate::probes::ProbeSpec>) -> Self {
        let allowed = probes
            .into_iter()
            .filter(|p| {
                READ_ONLY_PREFIXES
                    .iter()
                    .any(|r| p.operation.starts_with(r))
            })
            .map(|p| (p.service.clone(), p.operation.clone()))
            .collect();
        Self {
            allowed: Arc::new(allowed),
        }
    }

    /// The credential exchange: STS `AssumeRole` and nothing else (its answer is never recorded).
    pub fn credential_exchange() -> Self {
        Self {
            allowed: Arc::new([("sts".to_string(), "AssumeRole".to_string())].into()),
        }
    }

    pub fn allows(&self, product: &str, action: &str) -> bool {
        self.allowed
            .contains(&(product.to_string(), action.to_string()))
    }
}

/// Where calls go: the product's documented endpoint, unless overridden.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    /// `--endpoint-url`: every product.
    pub all: Option<String>,
    /// `--endpoint PRODUCT=URL`.
    pub per_product: BTreeMap<String, String>,
}

impl Endpoints {
    /// The base URL (scheme, authority and path) for `product` in `region`.
    pub fn url(&self, product: &str, api: &ApiInfo, region: &str) -> String {
        self.per_product
            .get(product)
            .or(self.all.as_ref())
            .cloned()
            .unwrap_or_else(|| format!("https://{}/", api.host(region)))
    }
}

/// One call: product, API facts, region and business parameters (already flattened).
#[derive(Debug, Clone)]
pub struct CallSpec<'a> {
    pub product: &'a str,
    pub api: &'a ApiInfo,
    pub region: &'a str,
    pub action: &'a str,
    pub params: Vec<(String, String)>,
}

/// Retry and timeout settings.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// Time limit of one call, retries included.
    pub timeout: Duration,
    /// First back-off; doubled per attempt, capped at 20 s, with jitter.
    pub base_delay: Duration,
}

/// The OpenAPI client.
pub struct OpenApi {
    http: reqwest::Client,
    guard: Guard,
    pub(super) endpoints: Endpoints,
    credentials: Arc<CredentialSource>,
    retry: Retry,
}

/// The error code of an Alibaba Cloud JSON error body (`{"Code": …, "Message": …}`, SLS's
/// `{"errorCode": …, "errorMessage": …}`).
pub fn error_from_body(body: &[u8]) -> Option<(String, String)> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    code_and_message(&v)
}

/// The error code of an XML error body (OSS's `<Error><Code>…</Code><Message>…</Message></Error>`).
pub fn error_from_document(media_type: &str, body: &[u8]) -> Option<(String, String)> {
    let v = crate::convert::to_document(media_type, body).ok()?;
    code_and_message(&v)
}

fn code_and_message(v: &serde_json::Value) -> Option<(String, String)> {
    let field = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| v.get(*n).and_then(|c| c.as_str()))
    };
    let code = field(&["Code", "code", "errorCode"])?;
    let message = field(&["Message", "message", "errorMessage"]).unwrap_or("");
    Some((code.to_string(), message.to_string()))
}

/// How the collection core reads an Alibaba Cloud error answer: the `Throttling*` codes and
/// `ServiceUnavailable` (the gateway's answer when it sheds load) are throttling; other 5xx are server
/// errors. The client itself retries none of them (see [`OpenApi::call`]).
pub fn retry_reason(status: u16, code: Option<&str>) -> Option<RetryReason> {
    if code.is_some_and(|c| c.starts_with("Throttling") || c == "ServiceUnavailable") {
        return Some(RetryReason::Throttled);
    }
    RetryReason::of_status(status)
}

static NONCE_SEQ: AtomicU64 = AtomicU64::new(0);

/// A nonce unique to this process and attempt (the gateway refuses a nonce it has seen).
pub fn nonce() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(NONCE_SEQ.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.write_u32(std::process::id());
    let seed = h.finish().to_le_bytes();
    sha256_hex(&[&seed[..], &NONCE_SEQ.load(Ordering::Relaxed).to_le_bytes()].concat())[..32]
        .to_string()
}

/// The headers dengbao sends and signs on every call (host and `x-acs-*`; the body is always empty).
pub fn v3_headers(
    host: &str,
    action: &str,
    version: &str,
    date: &str,
    nonce: &str,
    creds: &Credentials,
) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), host.to_string()),
        ("x-acs-action".into(), action.to_string()),
        ("x-acs-version".into(), version.to_string()),
        ("x-acs-date".into(), date.to_string()),
        ("x-acs-signature-nonce".into(), nonce.to_string()),
        ("x-acs-content-sha256".into(), sha256_hex(b"")),
    ];
    if let Some(token) = &creds.security_token {
        headers.push(("x-acs-accesskey-id".into(), creds.access_key_id.clone()));
        headers.push(("x-acs-security-token".into(), token.clone()));
    }
    headers
}

/// The `x-acs-date` of now.
pub fn acs_date() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl OpenApi {
    pub fn new(
        guard: Guard,
        endpoints: Endpoints,
        credentials: Arc<CredentialSource>,
        retry: Retry,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("dengbao/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            // An attempt may take half the call's time, so a hanging endpoint still gets a retry.
            .timeout((retry.timeout / 2).max(Duration::from_secs(1)))
            .build()?;
        Ok(Self {
            http,
            guard,
            endpoints,
            credentials,
            retry,
        })
    }

    /// The HTTP client (shared with the credential exchange and instance metadata).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sends one call, retrying only attempts that received no answer (connection errors, timeouts):
    /// answers, throttling ones included, go back to the collection core, whose rate controller alone
    /// sends them again. `Ok` carries the answer (which may be an error answer); `Err` means nothing
    /// was received.
    pub async fn call(&self, spec: &CallSpec<'_>) -> Result<RawAnswer, Failure> {
        let base = self.endpoints.url(spec.product, spec.api, spec.region);
        self.guarded(spec.product, spec.action, spec.region, |creds, attempt| {
            let base = base.clone();
            async move {
                let url = reqwest::Url::parse(&base).map_err(|e| {
                    Failure::new("InvalidEndpoint", format!("endpoint `{base}`: {e}"))
                })?;
                self.send_once(spec, &url, &creds, attempt).await
            }
        })
        .await
    }

    /// Runs one call of `(product, action)` through the read-only guard, the call's time limit and the
    /// retries of attempts that received no answer; `send` makes one attempt with fresh credentials.
    pub(super) async fn guarded<F, Fut>(
        &self,
        product: &str,
        action: &str,
        region: &str,
        send: F,
    ) -> Result<RawAnswer, Failure>
    where
        F: Fn(Credentials, u32) -> Fut,
        Fut: std::future::Future<Output = Result<RawAnswer, Failure>>,
    {
        if !self.guard.allows(product, action) {
            return Err(Failure::new(
                "RefusedByReadOnlyGuard",
                format!(
                    "dengbao's read-only guard refused {product}:{action}: it is not a read action declared by a probe manifest"
                ),
            ));
        }
        let work = async {
            let mut last: Result<RawAnswer, Failure> = Err(Failure::new("NoResponse", "not sent"));
            for attempt in 1..=self.retry.max_attempts.max(1) {
                if attempt > 1 {
                    tokio::time::sleep(self.backoff(attempt - 1)).await;
                }
                let creds = match self.credentials.get(&self.http).await {
                    Ok(c) => c,
                    Err(e) => return Err(Failure::new("NoCredentials", format!("{e:#}"))),
                };
                last = send(creds, attempt).await;
                let again = matches!(&last, Err(f) if matches!(f.code.as_str(), "ConnectionError" | "Timeout"));
                if !again {
                    break;
                }
                tracing::debug!(action, region, attempt, "retrying");
            }
            last
        };
        match tokio::time::timeout(self.retry.timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(Failure::new(
                "Timeout",
                format!("no answer within {} s", self.retry.timeout.as_secs()),
            )),
        }
    }

    fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .retry
            .base_delay
            .saturating_mul(1u32 << retry.min(10))
            .min(Duration::from_secs(20));
        // Jitter from the nonce source: 50–100 % of the exponential delay.
        let jitter = u64::from_str_radix(&nonce()[..4], 16).unwrap_or(0) as f64 / 65535.0;
        exp.mul_f64(0.5 + jitter / 2.0)
    }

    async fn send_once(
        &self,
        spec: &CallSpec<'_>,
        url: &reqwest::Url,
        creds: &Credentials,
        attempt: u32,
    ) -> Result<RawAnswer, Failure> {
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => {
                return Err(Failure::new(
                    "InvalidEndpoint",
                    format!("{url} has no host"),
                ))
            }
        };
        let path = if url.path().is_empty() {
            "/"
        } else {
            url.path()
        };
        let body: &[u8] = b"";
        let headers = v3_headers(
            &host,
            spec.action,
            &spec.api.version,
            &acs_date(),
            &nonce(),
            creds,
        );
        let auth = authorization(
            &SignInput {
                method: "POST",
                path,
                query: &spec.params,
                headers: &headers,
                body,
            },
            &creds.access_key_id,
            &creds.access_key_secret,
        );
        let mut full = url.clone();
        full.set_path(path);
        let query = canonical_query(&spec.params);
        full.set_query((!query.is_empty()).then_some(query.as_str()));
        let mut req = self
            .http
            .post(full)
            .header("accept", "application/json")
            .header("authorization", auth)
            .body(body.to_vec());
        for (k, v) in headers.iter().filter(|(k, _)| k != "host") {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp = req.send().await.map_err(transport_failure)?;
        read_answer(resp, attempt, "x-acs-request-id").await
    }
}

/// A request that received no answer, as a failure naming the endpoint and the cause (never the
/// request's headers).
pub(super) fn transport_failure(e: reqwest::Error) -> Failure {
    let code = if e.is_timeout() {
        "Timeout"
    } else if e.is_connect() {
        "ConnectionError"
    } else {
        "RequestFailed"
    };
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg = format!("{msg}: {s}");
        src = s.source();
    }
    Failure::new(code, msg.chars().take(300).collect::<String>())
}

/// What came back: status, media type, body and the request id (the `request_id_header`, else the
/// body's `RequestId`).
pub(super) async fn read_answer(
    resp: reqwest::Response,
    attempt: u32,
    request_id_header: &str,
) -> Result<RawAnswer, Failure> {
    let status = resp.status().as_u16();
    let header = |n: &str| {
        resp.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let media_type = header("content-type").unwrap_or_else(|| "application/octet-stream".into());
    let mut request_id = header(request_id_header);
    let body = resp
        .bytes()
        .await
        .map_err(|e| Failure::new("ConnectionError", format!("reading the answer: {e}")))?
        .to_vec();
    if request_id.is_none() {
        request_id = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                v.get("RequestId")
                    .and_then(|r| r.as_str())
                    .map(str::to_string)
            });
    }
    Ok(RawAnswer {
        status,
        request_id,
        media_type,
        body,
        captured_at: crate::collect::now_rfc3339(),
        attempts: attempt,
        ..RawAnswer::default()
    })
}
