//! Reads from Alibaba Cloud's REST products that sign their own way: OSS (`OSS4-HMAC-SHA256`, XML
//! answers) and SLS (`LOG` signature, JSON answers).
//!
//! Only GET is ever sent, and only the reads listed here: each action maps to one fixed resource (a
//! bucket sub-resource, a logstore), so a probe manifest cannot reach any other. The read-only guard
//! ([`super::client::Guard`]) runs first, as for the OpenAPI; the recorded parameters are exactly what
//! is sent (the bucket or project goes into the host, as the services expect, or into the path / the
//! Host header when the endpoint is an IP address such as the local test endpoint).

use super::client::{read_answer, transport_failure, OpenApi};
use super::credentials::Credentials;
use super::sign::{flatten_params, percent_encode};
use super::{sign_oss, sign_sls};
use crate::collect::{Failure, RawAnswer};
use crate::probes::{ApiInfo, ApiStyle};
use serde_json::{Map, Value};

/// One REST read: the bucket or project it is about, the path and the query (unencoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestRead {
    /// The bucket (OSS) or project (SLS); `None` for service-level reads (ListBuckets).
    pub owner: Option<String>,
    pub path: String,
    pub query: Vec<(String, String)>,
}

fn bad(code: &str, message: String) -> Failure {
    Failure::new(code, message)
}

fn take(params: &mut Vec<(String, String)>, name: &str) -> Option<String> {
    let i = params.iter().position(|(k, _)| k == name)?;
    Some(params.remove(i).1)
}

fn no_more(action: &str, params: &[(String, String)]) -> Result<(), Failure> {
    match params.first() {
        None => Ok(()),
        Some((k, _)) => Err(bad(
            "UnexpectedParameter",
            format!("{action} takes no parameter `{k}`"),
        )),
    }
}

/// The OSS read `action` with `params` (`bucket`, and for ListBuckets the paging parameters).
pub fn oss_read(action: &str, params: &Map<String, Value>) -> Result<RestRead, Failure> {
    let mut rest = flatten_params(params);
    let bucket = take(&mut rest, "bucket");
    let sub_resource = match action {
        "ListBuckets" => {
            if bucket.is_some() {
                return Err(bad(
                    "UnexpectedParameter",
                    "ListBuckets takes no bucket".into(),
                ));
            }
            // marker, max-keys, prefix: sent as given.
            return Ok(RestRead {
                owner: None,
                path: "/".into(),
                query: rest,
            });
        }
        "GetBucketInfo" => "bucketInfo",
        "GetBucketReplication" => "replication",
        "GetBucketLifecycle" => "lifecycle",
        "GetBucketEncryption" => "encryption",
        _ => {
            return Err(bad(
                "UnknownRestRead",
                format!("{action} is not an OSS read dengbao knows"),
            ))
        }
    };
    let Some(bucket) = bucket.filter(|b| !b.is_empty()) else {
        return Err(bad("MissingParameter", format!("{action} needs `bucket`")));
    };
    no_more(action, &rest)?;
    Ok(RestRead {
        owner: Some(bucket),
        path: "/".into(),
        query: vec![(sub_resource.to_string(), String::new())],
    })
}

/// The project named by `ProjectArn` (`acs:log:<region>:<account>:project/<name>`) or `project`.
fn sls_project(params: &mut Vec<(String, String)>) -> Result<String, Failure> {
    if let Some(arn) = take(params, "ProjectArn") {
        return arn
            .rsplit_once(":project/")
            .map(|(_, p)| p.trim_end_matches('/').to_string())
            .filter(|p| !p.is_empty() && !p.contains('/'))
            .ok_or_else(|| {
                bad(
                    "InvalidParameter",
                    format!("ProjectArn `{arn}` is not acs:log:<region>:<account>:project/<name>"),
                )
            });
    }
    take(params, "project")
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            bad(
                "MissingParameter",
                "an SLS read needs `ProjectArn` or `project`".into(),
            )
        })
}

/// The SLS read `action` with `params` (the project; the logstore for GetLogStore).
pub fn sls_read(action: &str, params: &Map<String, Value>) -> Result<RestRead, Failure> {
    let mut rest = flatten_params(params);
    let project = sls_project(&mut rest)?;
    let path = match action {
        // offset, size, logstoreName: sent as given.
        "ListLogStores" => {
            return Ok(RestRead {
                owner: Some(project),
                path: "/logstores".into(),
                query: rest,
            })
        }
        "GetLogStore" => {
            let logstore = take(&mut rest, "logstore")
                .filter(|l| !l.is_empty() && !l.contains('/'))
                .ok_or_else(|| bad("MissingParameter", "GetLogStore needs `logstore`".into()))?;
            format!("/logstores/{logstore}")
        }
        _ => {
            return Err(bad(
                "UnknownRestRead",
                format!("{action} is not an SLS read dengbao knows"),
            ))
        }
    };
    no_more(action, &rest)?;
    Ok(RestRead {
        owner: Some(project),
        path,
        query: Vec::new(),
    })
}

/// Where a REST read goes: the URL to connect to and the Host the service must see. The bucket or
/// project is the first label of the host name; on an IP endpoint (nothing to prefix) it goes into the
/// path (`owner_in_path`: OSS's path style) or only into the Host header (SLS, as its SDK does).
fn target(
    base: &str,
    owner: Option<&str>,
    path: &str,
    owner_in_path: bool,
) -> Result<(reqwest::Url, String), Failure> {
    let mut url = reqwest::Url::parse(base)
        .map_err(|e| bad("InvalidEndpoint", format!("endpoint `{base}`: {e}")))?;
    let host = url
        .host_str()
        .ok_or_else(|| bad("InvalidEndpoint", format!("{base} has no host")))?
        .to_string();
    let is_ip = host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[');
    let authority = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    let named = match owner {
        Some(o) => format!("{o}.{authority}"),
        None => authority.clone(),
    };
    match (is_ip, owner) {
        (true, Some(o)) if owner_in_path => {
            url.set_path(&format!("/{o}{path}"));
            Ok((url, authority))
        }
        (true, _) => {
            url.set_path(path);
            Ok((url, named))
        }
        (false, _) => {
            let name = match owner {
                Some(o) => format!("{o}.{host}"),
                None => host,
            };
            url.set_host(Some(&name))
                .map_err(|e| bad("InvalidEndpoint", format!("{name}: {e}")))?;
            url.set_path(path);
            Ok((url, named))
        }
    }
}

/// A signed GET, ready to send.
struct Signed {
    url: reqwest::Url,
    host: String,
    authorization: String,
    headers: Vec<(String, String)>,
    request_id_header: &'static str,
}

fn http_date(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// An OSS read, V4-signed for `region` (the bucket's).
fn sign_oss_read(
    base: &str,
    region: &str,
    read: &RestRead,
    creds: &Credentials,
) -> Result<Signed, Failure> {
    // Path style (`/<bucket>/`) only on an IP endpoint; the signature covers `/<bucket>/` either way.
    let (mut url, host) = target(base, read.owner.as_deref(), &read.path, true)?;
    let query = sign_oss::canonical_query(&read.query);
    url.set_query((!query.is_empty()).then_some(query.as_str()));
    let now = chrono::Utc::now();
    let mut headers = sign_oss::read_headers(
        &now.format("%Y%m%dT%H%M%SZ").to_string(),
        creds.security_token.as_deref(),
    );
    let input = sign_oss::OssSignInput {
        method: "GET",
        bucket: read.owner.as_deref(),
        key: None,
        query: &read.query,
        headers: &headers,
        additional_headers: &[],
        region,
    };
    let authorization =
        sign_oss::authorization(&input, &creds.access_key_id, &creds.access_key_secret);
    headers.push(("date".into(), http_date(now)));
    Ok(Signed {
        url,
        host,
        authorization,
        headers,
        request_id_header: "x-oss-request-id",
    })
}

/// An SLS read, signed with SLS's `LOG` scheme.
fn sign_sls_read(base: &str, read: &RestRead, creds: &Credentials) -> Result<Signed, Failure> {
    let (mut url, host) = target(base, read.owner.as_deref(), &read.path, false)?;
    let query = read
        .query
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    url.set_query((!query.is_empty()).then_some(query.as_str()));
    let headers = sign_sls::read_headers(
        &http_date(chrono::Utc::now()),
        creds.security_token.as_deref(),
    );
    let input = sign_sls::SlsSignInput {
        method: "GET",
        path: &read.path,
        query: &read.query,
        headers: &headers,
    };
    let authorization =
        sign_sls::authorization(&input, &creds.access_key_id, &creds.access_key_secret);
    Ok(Signed {
        url,
        host,
        authorization,
        headers,
        request_id_header: "x-log-requestid",
    })
}

impl OpenApi {
    /// Sends one OSS or SLS read (`api.style` says which).
    pub async fn rest_call(
        &self,
        product: &str,
        api: &ApiInfo,
        region: &str,
        action: &str,
        params: &Map<String, Value>,
    ) -> Result<RawAnswer, Failure> {
        let base = self.endpoints.url(product, api, region);
        // The guard runs first: an action it refuses is never even mapped to a resource.
        self.guarded(product, action, region, |creds, attempt| {
            let base = base.clone();
            async move {
                let signed = match api.style {
                    ApiStyle::Oss => {
                        sign_oss_read(&base, region, &oss_read(action, params)?, &creds)?
                    }
                    ApiStyle::Sls => sign_sls_read(&base, &sls_read(action, params)?, &creds)?,
                    ApiStyle::Rpc => {
                        return Err(bad("NotRest", format!("{product} is an OpenAPI product")))
                    }
                };
                self.get(signed, attempt).await
            }
        })
        .await
    }

    /// Sends one signed GET (headers with empty values left out) and reads the answer.
    async fn get(&self, signed: Signed, attempt: u32) -> Result<RawAnswer, Failure> {
        let mut req = self
            .http()
            .get(signed.url)
            .header("host", signed.host)
            .header("authorization", signed.authorization);
        for (k, v) in signed.headers.iter().filter(|(_, v)| !v.is_empty()) {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp = req.send().await.map_err(transport_failure)?;
        read_answer(resp, attempt, signed.request_id_header).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn each_read_is_one_fixed_resource() {
        let r = oss_read("GetBucketInfo", &params(json!({"bucket": "logs"}))).unwrap();
        assert_eq!(r.owner.as_deref(), Some("logs"));
        assert_eq!(r.query, vec![("bucketInfo".to_string(), String::new())]);
        let arn = "acs:log:cn-hangzhou:1:project/audit";
        let s = sls_read(
            "GetLogStore",
            &params(json!({"ProjectArn": arn, "logstore": "actiontrail_t"})),
        );
        let s = s.unwrap();
        assert_eq!(
            (s.owner.as_deref(), s.path.as_str()),
            (Some("audit"), "/logstores/actiontrail_t")
        );
        // Writes, unknown reads, stray parameters, missing names and paths in names are refused.
        type Read = fn(&str, &Map<String, Value>) -> Result<RestRead, Failure>;
        let refused: [(Read, &str, Value); 5] = [
            (oss_read, "PutBucketLifecycle", json!({"bucket": "b"})),
            (
                oss_read,
                "GetBucketInfo",
                json!({"bucket": "b", "delete": ""}),
            ),
            (oss_read, "GetBucketInfo", json!({})),
            (sls_read, "DeleteLogStore", json!({"project": "p"})),
            (
                sls_read,
                "GetLogStore",
                json!({"project": "p", "logstore": "../x/y"}),
            ),
        ];
        for (read, action, p) in refused {
            assert!(read(action, &params(p)).is_err(), "{action}");
        }
    }

    #[test]
    fn ip_endpoints_are_path_style() {
        let (u, h) = target("http://127.0.0.1:5520/", Some("logs"), "/", true).unwrap();
        assert_eq!(
            (u.as_str(), h.as_str()),
            ("http://127.0.0.1:5520/logs/", "127.0.0.1:5520")
        );
        let (u, h) = target(
            "https://oss-cn-hangzhou.aliyuncs.com/",
            Some("logs"),
            "/",
            true,
        )
        .unwrap();
        assert_eq!(
            (u.as_str(), h.as_str()),
            (
                "https://logs.oss-cn-hangzhou.aliyuncs.com/",
                "logs.oss-cn-hangzhou.aliyuncs.com"
            )
        );
        let (u, h) = target(
            "http://127.0.0.1:5520",
            Some("audit"),
            "/logstores/x",
            false,
        )
        .unwrap();
        assert_eq!(
            (u.as_str(), h.as_str()),
            ("http://127.0.0.1:5520/logstores/x", "audit.127.0.0.1:5520")
        );
    }
}
