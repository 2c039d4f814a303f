//! dengbao's ACS3-HMAC-SHA256 signer against vectors written by Alibaba Cloud's own Python SDK
//! (`alibabacloud-tea-openapi`, tests/aliyun/gen_vectors.py): never checked only against itself.
//!
//! The committed tests/aliyun/vectors.json is always checked. When scripts/aliyun-checks.sh has
//! regenerated the vectors with the pinned SDK (DENGBAO_ALIYUN_VECTORS), the fresh file must equal the
//! committed one and is checked too; with DENGBAO_REQUIRE_ALIYUN=1 the regeneration is required.

use dengbao::aliyun::client::v3_headers;
use dengbao::aliyun::credentials::Credentials;
use dengbao::aliyun::sign::{authorization, canonical_query, flatten_params, SignInput};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn committed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/aliyun/vectors.json")
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_string(),
                p[1].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn check_file(path: &Path) -> usize {
    let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 5, "{}", path.display());
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let req = &c["request"];
        let query = pairs(&req["query"]);
        // 1. Parameters flatten to the SDK's query.
        let mut flat = flatten_params(c["params"].as_object().unwrap());
        flat.sort();
        assert_eq!(flat, query, "{name}: flattened parameters");
        // 2. The SDK's whole request (it signs every header it sends) signs the same.
        let key = c["access_key_id"].as_str().unwrap();
        let secret = c["access_key_secret"].as_str().unwrap();
        let headers = pairs(&req["headers"]);
        let input = SignInput {
            method: req["method"].as_str().unwrap(),
            path: req["path"].as_str().unwrap(),
            query: &query,
            headers: &headers,
            body: req["body"].as_str().unwrap().as_bytes(),
        };
        assert_eq!(
            authorization(&input, key, secret),
            req["authorization"].as_str().unwrap(),
            "{name}: the SDK's request"
        );
        // 3. The headers dengbao's client sends are the SDK's, and sign as the SDK signs them.
        let get = |h: &str| {
            headers
                .iter()
                .find(|(k, _)| k == h)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        let creds = Credentials {
            access_key_id: key.into(),
            access_key_secret: secret.into(),
            security_token: c["security_token"].as_str().map(str::to_string),
        };
        let mut ours = v3_headers(
            &get("host"),
            c["action"].as_str().unwrap(),
            c["version"].as_str().unwrap(),
            &get("x-acs-date"),
            &get("x-acs-signature-nonce"),
            &creds,
        );
        ours.sort();
        assert_eq!(
            ours,
            pairs(&c["acs_only"]["headers"]),
            "{name}: dengbao's header set"
        );
        let input = SignInput {
            headers: &ours,
            ..input
        };
        assert_eq!(
            authorization(&input, key, secret),
            c["acs_only"]["authorization"].as_str().unwrap(),
            "{name}: dengbao's request"
        );
        // A wrong secret must not match (the comparison is not vacuous).
        assert_ne!(
            authorization(&input, key, "not-the-secret"),
            c["acs_only"]["authorization"].as_str().unwrap()
        );
        // The query dengbao sends is the canonical one, which the SDK also signed.
        assert!(
            !canonical_query(&query).contains('+'),
            "{name}: spaces are %20"
        );
    }
    cases.len()
}

#[test]
fn signer_matches_the_official_sdk() {
    assert!(check_file(&committed()) >= 5);
}

#[test]
fn committed_vectors_are_what_the_sdk_writes() {
    let fresh = std::env::var("DENGBAO_ALIYUN_VECTORS")
        .ok()
        .filter(|v| !v.is_empty());
    let Some(fresh) = fresh else {
        if std::env::var("DENGBAO_REQUIRE_ALIYUN").as_deref() == Ok("1") {
            panic!("DENGBAO_REQUIRE_ALIYUN=1 but DENGBAO_ALIYUN_VECTORS is not set (run scripts/aliyun-checks.sh)");
        }
        eprintln!("vectors not regenerated (run scripts/aliyun-checks.sh); checked the committed file only");
        return;
    };
    let fresh = PathBuf::from(fresh);
    check_file(&fresh);
    assert_eq!(
        std::fs::read_to_string(&fresh).unwrap(),
        std::fs::read_to_string(committed()).unwrap(),
        "the SDK now writes different vectors than tests/aliyun/vectors.json holds; regenerate and review"
    );
}

/// The cases of a REST vectors file (SLS, OSS).
fn rest_cases(path: &Path) -> Vec<Value> {
    let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    doc["cases"].as_array().unwrap().clone()
}

type RestCase<'a> = (
    &'a str,
    &'a str,
    &'a str,
    Vec<(String, String)>,
    Vec<(String, String)>,
);

/// A REST case's name, key id, secret, query and headers.
fn rest_case(c: &Value) -> RestCase<'_> {
    (
        c["name"].as_str().unwrap(),
        c["access_key_id"].as_str().unwrap(),
        c["access_key_secret"].as_str().unwrap(),
        pairs(&c["query"]),
        pairs(&c["headers"]),
    )
}

/// The SLS signer (`LOG <AccessKeyId>:<signature>`) against the official SLS SDK's requests
/// (tests/aliyun/gen_sls_vectors.py): every header the SDK sent, then the set dengbao sends for a read.
fn check_sls_file(path: &Path) -> usize {
    use dengbao::aliyun::sign_sls::{authorization, read_headers, SlsSignInput};
    let cases = rest_cases(path);
    for c in &cases {
        let (name, key, secret, query, headers) = rest_case(c);
        let input = SlsSignInput {
            method: c["method"].as_str().unwrap(),
            path: c["path"].as_str().unwrap(),
            query: &query,
            headers: &headers,
        };
        let want = c["authorization"].as_str().unwrap();
        assert_eq!(authorization(&input, key, secret), want, "{name}");
        assert_ne!(authorization(&input, key, "not-the-secret"), want);
        // dengbao's own header set for a read signs the same (host and user-agent are not signed).
        let date = headers.iter().find(|(k, _)| k == "date").unwrap().1.clone();
        let ours = read_headers(&date, c["security_token"].as_str());
        let mine = SlsSignInput {
            headers: &ours,
            ..input
        };
        assert_eq!(
            authorization(&mine, key, secret),
            want,
            "{name}: dengbao's headers"
        );
    }
    cases.len()
}

/// Checks the committed vectors file `name` with `check`, then, when scripts/aliyun-checks.sh regenerated
/// it (`env` names the fresh file), the fresh one, which must equal the committed one.
fn committed_and_fresh(name: &str, env: &str, min: usize, check: fn(&Path) -> usize) {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/aliyun")
        .join(name);
    assert!(check(&committed) >= min, "{name}");
    let Some(fresh) = std::env::var(env).ok().filter(|v| !v.is_empty()) else {
        if std::env::var("DENGBAO_REQUIRE_ALIYUN").as_deref() == Ok("1") {
            panic!("DENGBAO_REQUIRE_ALIYUN=1 but {env} is not set (run scripts/aliyun-checks.sh)");
        }
        return;
    };
    check(Path::new(&fresh));
    assert_eq!(
        std::fs::read_to_string(&fresh).unwrap(),
        std::fs::read_to_string(&committed).unwrap(),
        "the SDK now writes different vectors than tests/aliyun/{name} holds; regenerate and review"
    );
}

#[test]
fn sls_signer_matches_the_official_sdk() {
    committed_and_fresh(
        "sls_vectors.json",
        "DENGBAO_ALIYUN_SLS_VECTORS",
        4,
        check_sls_file,
    );
}

/// The OSS V4 signer (`OSS4-HMAC-SHA256`) against the official OSS SDK V2's requests
/// (tests/aliyun/gen_oss_vectors.py): every header the SDK sent, then the set dengbao sends for a read.
fn check_oss_file(path: &Path) -> usize {
    use dengbao::aliyun::sign_oss::{authorization, canonical_query, read_headers, OssSignInput};
    let cases = rest_cases(path);
    for c in &cases {
        let (name, key, secret, query, headers) = rest_case(c);
        let additional: Vec<String> = c["additional_headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap().to_string())
            .collect();
        let input = OssSignInput {
            method: c["method"].as_str().unwrap(),
            bucket: c["bucket"].as_str(),
            key: None,
            query: &query,
            headers: &headers,
            additional_headers: &additional,
            region: c["region"].as_str().unwrap(),
        };
        let want = c["authorization"].as_str().unwrap();
        assert_eq!(authorization(&input, key, secret), want, "{name}");
        assert_ne!(authorization(&input, key, "not-the-secret"), want);
        // The query dengbao sends, and signs, decodes to the SDK's.
        let sent = canonical_query(&query);
        let raw = c["raw_query"].as_str().unwrap();
        assert_eq!(sent, raw.trim_end_matches('='), "{name}: the query sent");
        // The headers dengbao's client sends for a read are those the SDK signed for `dengbao_only`, and
        // sign as the SDK signs them (host, user-agent and date only when named as additional headers).
        let only = pairs(&c["dengbao_only"]["headers"]);
        let get = |h: &str| only.iter().find(|(k, _)| k == h).map(|(_, v)| v.clone());
        let mut ours = read_headers(&get("x-oss-date").unwrap(), c["security_token"].as_str());
        let additional: Vec<String> = c["dengbao_only"]["additional_headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap().to_string())
            .collect();
        for h in &additional {
            ours.push((h.clone(), get(h).unwrap()));
        }
        ours.sort();
        assert_eq!(ours, only, "{name}: dengbao's header set");
        let sdk_signed = c["dengbao_only"]["authorization"].as_str().unwrap();
        let ours = OssSignInput {
            headers: &ours,
            additional_headers: &additional,
            ..input
        };
        assert_eq!(
            authorization(&ours, key, secret),
            sdk_signed,
            "{name}: ours"
        );
    }
    cases.len()
}

#[test]
fn oss_signer_matches_the_official_sdk() {
    committed_and_fresh(
        "oss_vectors.json",
        "DENGBAO_ALIYUN_OSS_VECTORS",
        6,
        check_oss_file,
    );
}
