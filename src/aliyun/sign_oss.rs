//! OSS request signing, V4 (`OSS4-HMAC-SHA256`), as OSS verifies it.
//!
//! OSS takes neither the OpenAPI signature ([`super::sign`]) nor SLS's ([`super::sign_sls`]):
//!
//! ```text
//! CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n AdditionalHeaders \n x-oss-content-sha256
//! StringToSign     = "OSS4-HMAC-SHA256" \n <x-oss-date> \n <scope> \n hex(SHA256(CanonicalRequest))
//! scope            = <yyyymmdd>/<region>/oss/aliyun_v4_request
//! SigningKey       = HMAC(HMAC(HMAC(HMAC("aliyun_v4" + secret, yyyymmdd), region), "oss"), "aliyun_v4_request")
//! Authorization    = OSS4-HMAC-SHA256 Credential=<AccessKeyId>/<scope>[,AdditionalHeaders=a;b],Signature=hex(HMAC(SigningKey, StringToSign))
//! ```
//!
//! * CanonicalURI is `/<bucket>/<object>` (`/<bucket>/` for a bucket, `/` for the service), percent-encoded
//!   except `/`, whatever the address style (virtual-hosted or path) the request is sent with.
//! * CanonicalQuery: each parameter's name and value percent-encoded (RFC 3986), the pairs sorted, each
//!   `name=value`, or just `name` when the value is empty (sub-resources such as `bucketInfo`), joined by `&`.
//! * CanonicalHeaders: every `x-oss-*` header, `content-type`, `content-md5`, and the additional headers,
//!   names lower-cased and sorted, each `name:value\n`. The region is the bare one (`cn-hangzhou`, not
//!   `oss-cn-hangzhou`).
//!
//! `tests/aliyun_signing.rs` checks this module against vectors written by the official OSS SDK
//! (`alibabacloud-oss-v2`, `tests/aliyun/gen_oss_vectors.py`), never only against itself.

use super::sign::{header, hmac_sha256 as hmac, percent_encode, sha256_hex};
use crate::pack::hex_lower;

/// The signature algorithm, as named in the `Authorization` header.
pub const ALGORITHM: &str = "OSS4-HMAC-SHA256";

/// The payload hash dengbao sends (and signs): OSS accepts an unsigned payload; a read has no body.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// What is signed.
#[derive(Debug, Clone)]
pub struct OssSignInput<'a> {
    pub method: &'a str,
    /// The bucket (`None` for service-level calls such as ListBuckets).
    pub bucket: Option<&'a str>,
    /// The object key (`None` for bucket-level calls).
    pub key: Option<&'a str>,
    /// Query parameters, unencoded (`("bucketInfo", "")` for a sub-resource).
    pub query: &'a [(String, String)],
    /// The headers as sent (names in any case).
    pub headers: &'a [(String, String)],
    /// Further headers to sign besides the default ones (lower-case names).
    pub additional_headers: &'a [String],
    /// The bare region of the bucket (`cn-hangzhou`).
    pub region: &'a str,
}

/// The signing time: `x-oss-date` (`20251125T083000Z`).
fn oss_date(headers: &[(String, String)]) -> &str {
    header(headers, "x-oss-date").unwrap_or("")
}

/// Python's `quote(s, safe='/')`: RFC 3986 unreserved characters and `/` stay, everything else is encoded.
fn encode_path(s: &str) -> String {
    s.split('/')
        .map(percent_encode)
        .collect::<Vec<_>>()
        .join("/")
}

/// The canonical URI.
pub fn canonical_uri(bucket: Option<&str>, key: Option<&str>) -> String {
    let mut uri = String::from("/");
    if let Some(b) = bucket {
        uri.push_str(b);
        uri.push('/');
    }
    if let Some(k) = key {
        uri.push_str(k);
    }
    encode_path(&uri)
}

/// The canonical query; also the query string dengbao sends (`bucketInfo`, `marker=a&max-keys=100`).
pub fn canonical_query(query: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                k.clone()
            } else {
                format!("{k}={v}")
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn is_default_signed(name: &str) -> bool {
    name.starts_with("x-oss-") || name == "content-type" || name == "content-md5"
}

/// The additional headers actually signed: named, not signed anyway, and present with a value; sorted.
pub fn additional_headers(headers: &[(String, String)], wanted: &[String]) -> Vec<String> {
    let mut out: Vec<String> = wanted
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .filter(|h| !is_default_signed(h))
        .filter(|h| header(headers, h).is_some_and(|v| !v.is_empty()))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The canonical request.
pub fn canonical_request(input: &OssSignInput<'_>) -> String {
    let additional = additional_headers(input.headers, input.additional_headers);
    let mut signed: Vec<(String, &str)> = input
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str()))
        .filter(|(k, _)| is_default_signed(k) || additional.contains(k))
        .collect();
    signed.sort_by(|a, b| a.0.cmp(&b.0));
    let canonical_headers: String = signed.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        input.method.to_ascii_uppercase(),
        canonical_uri(input.bucket, input.key),
        canonical_query(input.query),
        canonical_headers,
        additional.join(";"),
        header(input.headers, "x-oss-content-sha256").unwrap_or(UNSIGNED_PAYLOAD)
    )
}

/// `<yyyymmdd>/<region>/oss/aliyun_v4_request`.
pub fn scope(date: &str, region: &str) -> String {
    format!("{date}/{region}/oss/aliyun_v4_request")
}

/// The string to sign.
pub fn string_to_sign(input: &OssSignInput<'_>) -> String {
    let when = oss_date(input.headers);
    let hash = sha256_hex(canonical_request(input).as_bytes());
    format!(
        "{ALGORITHM}\n{when}\n{}\n{hash}",
        scope(when.get(..8).unwrap_or(""), input.region)
    )
}

/// The `Authorization` header value.
pub fn authorization(input: &OssSignInput<'_>, access_key_id: &str, secret: &str) -> String {
    let date = oss_date(input.headers).get(..8).unwrap_or("");
    let mut key = hmac(format!("aliyun_v4{secret}").as_bytes(), date.as_bytes());
    for part in [input.region, "oss", "aliyun_v4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let signature = hex_lower(&hmac(&key, string_to_sign(input).as_bytes()));
    let additional = additional_headers(input.headers, input.additional_headers);
    let mut out = format!(
        "{ALGORITHM} Credential={access_key_id}/{}",
        scope(date, input.region)
    );
    if !additional.is_empty() {
        out.push_str(",AdditionalHeaders=");
        out.push_str(&additional.join(";"));
    }
    out.push_str(",Signature=");
    out.push_str(&signature);
    out
}

/// The headers a body-less OSS read sends and signs (besides `host`, `user-agent` and `date`, which are not
/// signed): `x-oss-date` (`20251125T083000Z`), the unsigned payload and the STS token when there is one.
/// (The SDK also sends Content-MD5 and an operation-dependent Content-Type; a read needs neither.)
pub fn read_headers(oss_date: &str, security_token: Option<&str>) -> Vec<(String, String)> {
    let token = security_token.map(|t| ("x-oss-security-token", t));
    [
        ("x-oss-content-sha256", UNSIGNED_PAYLOAD),
        ("x-oss-date", oss_date),
    ]
    .into_iter()
    .chain(token)
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_and_query_are_canonical() {
        assert_eq!(canonical_uri(None, None), "/");
        assert_eq!(canonical_uri(Some("logs"), None), "/logs/");
        assert_eq!(canonical_uri(Some("b"), Some("a b/c+d")), "/b/a%20b/c%2Bd");
        let q = vec![
            ("max-keys".to_string(), "100".to_string()),
            ("bucketInfo".to_string(), String::new()),
            ("marker".to_string(), "a/b c".to_string()),
        ];
        assert_eq!(
            canonical_query(&q),
            "bucketInfo&marker=a%2Fb%20c&max-keys=100"
        );
    }
}
