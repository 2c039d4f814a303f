//! SLS (Log Service) request signing: `LOG <AccessKeyId>:<signature>`, as SLS's gateway verifies it.
//!
//! SLS does not take the OpenAPI RPC signature ([`super::sign`]); the official SDK (`alibabacloud_sls20201230`
//! through `alibabacloud_gateway_sls`, signature version v1) signs each request itself:
//!
//! ```text
//! StringToSign  = METHOD \n Content-MD5 \n Content-Type \n Date \n CanonicalizedHeaders CanonicalizedResource
//! Authorization = LOG <AccessKeyId>:base64(HMAC-SHA256(secret, StringToSign))      (x-log-signaturemethod: hmac-sha256)
//! ```
//!
//! * Content-MD5, Content-Type and Date are the headers' values, empty when absent.
//! * CanonicalizedHeaders: every header whose name contains `x-log-` or `x-acs-` (`x-acs-security-token`
//!   with STS credentials), sorted by name, each `name:value\n`.
//! * CanonicalizedResource: the path, then `?` and the query parameters sorted by name, each `name=value`
//!   (values as they are, not percent-encoded), joined by `&`.
//!
//! `tests/aliyun_signing.rs` checks this module against vectors written by the official SDK
//! (`tests/aliyun/gen_sls_vectors.py`), never only against itself.

use super::sign::{header, hmac_sha256};
use base64::Engine as _;

/// The `x-log-signaturemethod` this signer uses.
pub const SIGNATURE_METHOD: &str = "hmac-sha256";

/// The SLS API version the SDK sends in `x-log-apiversion`.
pub const API_VERSION: &str = "0.6.0";

/// What is signed.
#[derive(Debug, Clone)]
pub struct SlsSignInput<'a> {
    pub method: &'a str,
    /// The resource path, e.g. `/logstores/actiontrail_trail-all`.
    pub path: &'a str,
    /// Query parameters, unencoded.
    pub query: &'a [(String, String)],
    /// The headers as sent (names in any case).
    pub headers: &'a [(String, String)],
}

/// The signed `x-log-*` / `x-acs-*` headers, `name:value\n` each, sorted by name.
pub fn canonical_headers(headers: &[(String, String)]) -> String {
    let mut named: Vec<(String, &str)> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str()))
        .filter(|(k, _)| k.contains("x-log-") || k.contains("x-acs-"))
        .collect();
    named.sort();
    named.iter().map(|(k, v)| format!("{k}:{v}\n")).collect()
}

/// The path and the sorted query (`/logstores?offset=0&size=100`).
pub fn canonical_resource(path: &str, query: &[(String, String)]) -> String {
    let mut pairs: Vec<&(String, String)> = query.iter().collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = path.to_string();
    for (i, (k, v)) in pairs.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// The string to sign.
pub fn string_to_sign(input: &SlsSignInput<'_>) -> String {
    let h = input.headers;
    format!(
        "{}\n{}\n{}\n{}\n{}{}",
        input.method.to_ascii_uppercase(),
        header(h, "content-md5").unwrap_or(""),
        header(h, "content-type").unwrap_or(""),
        header(h, "date").unwrap_or(""),
        canonical_headers(h),
        canonical_resource(input.path, input.query)
    )
}

/// The `Authorization` header value.
pub fn authorization(input: &SlsSignInput<'_>, access_key_id: &str, secret: &str) -> String {
    let mac = hmac_sha256(secret.as_bytes(), string_to_sign(input).as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac);
    format!("LOG {access_key_id}:{signature}")
}

/// The headers a body-less SLS read sends and signs (besides `host` and `user-agent`): the SDK's set,
/// with `date` an RFC 1123 GMT date and the STS token when there is one.
pub fn read_headers(date: &str, security_token: Option<&str>) -> Vec<(String, String)> {
    let mut h: Vec<(String, String)> = [
        ("accept", "application/json"),
        ("content-md5", ""),
        ("content-type", "application/json"),
        ("date", date),
        ("x-log-apiversion", API_VERSION),
        ("x-log-bodyrawsize", "0"),
        ("x-log-signaturemethod", SIGNATURE_METHOD),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    if let Some(t) = security_token {
        h.push(("x-acs-security-token".into(), t.into()));
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_and_headers_are_canonical() {
        let q = vec![
            ("size".to_string(), "100".to_string()),
            ("logstoreName".to_string(), "a b/*".to_string()),
        ];
        assert_eq!(
            canonical_resource("/logstores", &q),
            "/logstores?logstoreName=a b/*&size=100"
        );
        assert_eq!(canonical_resource("/logstores/x", &[]), "/logstores/x");
        let h = vec![
            ("X-Log-BodyRawSize".to_string(), "0".to_string()),
            ("x-acs-security-token".to_string(), "t".to_string()),
            (
                "host".to_string(),
                "p.cn-hangzhou.log.aliyuncs.com".to_string(),
            ),
        ];
        assert_eq!(
            canonical_headers(&h),
            "x-acs-security-token:t\nx-log-bodyrawsize:0\n"
        );
    }
}
