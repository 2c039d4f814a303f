//! What is sent is what is recorded: every AWS probe's operation function is given the parameters a
//! scan would record (first page and next page), and the request the SDK serializes — seen by an
//! interceptor just before it would be transmitted, and stopped there — must carry exactly those
//! parameters: none missing (an empty list is not sent; it means what not sending one means), none
//! added, each under its recorded name (compared without case or dashes, with EC2's list names) and with
//! its recorded value.

use super::capture::ReadOnlyGuard;
use super::ops::{self, Call, Clients};
use super::Recorder;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// Probes whose API has no pages (a page token must not be sent).
const UNPAGED: &[&str] = &[
    "aws.sts.get_caller_identity",
    "aws.ec2.describe_regions",
    "aws.ec2.describe_snapshot_attribute",
    "aws.ec2.describe_image_attribute",
    "aws.ec2.get_ebs_encryption_by_default",
    "aws.iam.get_account_summary",
    "aws.iam.get_account_password_policy",
    "aws.cloudtrail.describe_trails",
    "aws.cloudtrail.get_trail_status",
    "aws.cloudtrail.get_event_selectors",
    "aws.config.describe_configuration_recorders",
    "aws.config.describe_configuration_recorder_status",
    "aws.config.describe_delivery_channels",
    "aws.guardduty.get_detector",
    "aws.kms.describe_key",
    "aws.kms.get_key_rotation_status",
    "aws.s3.get_bucket_location",
    "aws.s3.get_bucket_encryption",
    "aws.s3.get_bucket_replication",
    "aws.s3.get_bucket_lifecycle_configuration",
    "aws.s3.get_public_access_block",
    "aws.organizations.describe_organization",
    "aws.iam.get_login_profile",
    "aws.elbv2.describe_target_health",
    "aws.backup.get_backup_plan",
];

/// Names the EC2 query protocol gives list parameters on the wire.
const WIRE_NAMES: &[(&str, &str)] = &[("ownerids", "owner"), ("owners", "owner")];

/// Fields of the wire format that are not request parameters (a query key without a value, such as
/// S3's `?location`, is part of the operation's path and not counted either).
const BOILERPLATE: &[&str] = &["action", "version", "xid"];

/// Keeps the last request serialized, and stops it there.
#[derive(Debug, Clone, Default)]
struct Stop(Arc<Mutex<Option<Sent>>>);

#[derive(Debug, Clone)]
struct Sent {
    path: String,
    query: String,
    content_type: String,
    body: Vec<u8>,
}

impl Intercept for Stop {
    fn name(&self) -> &'static str {
        "sent-equals-recorded"
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let req = ctx.request();
        let uri: http_uri::Uri = req.uri().parse()?;
        *self.0.lock().unwrap() = Some(Sent {
            path: uri.path,
            query: uri.query,
            content_type: req.headers().get("content-type").unwrap_or("").to_string(),
            body: req.body().bytes().unwrap_or_default().to_vec(),
        });
        Err("stopped before transmitting".into())
    }
}

/// Just enough of a URI: its path and query.
mod http_uri {
    pub struct Uri {
        pub path: String,
        pub query: String,
    }

    impl std::str::FromStr for Uri {
        type Err = String;
        fn from_str(s: &str) -> Result<Self, String> {
            let rest = s.split_once("://").map_or(s, |(_, r)| r);
            let path_and_query = rest.find('/').map_or("", |i| &rest[i..]);
            let (path, query) = path_and_query
                .split_once('?')
                .unwrap_or((path_and_query, ""));
            Ok(Uri {
                path: path.to_string(),
                query: query.to_string(),
            })
        }
    }
}

fn norm(name: &str) -> String {
    let lower = name.to_ascii_lowercase().replace('-', "");
    let base = match lower.rsplit_once('.') {
        Some((b, n)) if n.chars().all(|c| c.is_ascii_digit()) => b.to_string(),
        _ => lower,
    };
    WIRE_NAMES
        .iter()
        .find(|(recorded, _)| *recorded == base)
        .map_or(base, |(_, wire)| wire.to_string())
}

fn texts(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().flat_map(texts).collect(),
        Value::Null => Vec::new(),
        other => vec![other.to_string()],
    }
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?, 16).ok())
            .flatten();
        match (hex, bytes[i]) {
            (Some(b), _) => {
                out.push(b);
                i += 3;
                continue;
            }
            (None, b'+') => out.push(b' '),
            (None, b) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The (normalized name, value) pairs a serialized request carries, and its path segments.
fn fields(sent: &Sent) -> (BTreeSet<(String, String)>, Vec<String>) {
    let pairs = |text: &str| -> Vec<(String, String)> {
        text.split('&')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (decode(k), decode(v)))
            .collect()
    };
    let mut out: Vec<(String, String)> = pairs(&sent.query);
    if sent
        .content_type
        .starts_with("application/x-www-form-urlencoded")
    {
        out.extend(pairs(&String::from_utf8_lossy(&sent.body)));
    } else if sent.content_type.contains("json") || sent.content_type.contains("cbor") {
        let doc: Value = if sent.content_type.contains("cbor") {
            crate::convert::cbor_to_json(&sent.body).unwrap()
        } else if sent.body.is_empty() {
            Value::Object(Map::new())
        } else {
            serde_json::from_slice(&sent.body).unwrap()
        };
        for (k, v) in doc.as_object().unwrap() {
            out.extend(texts(v).into_iter().map(|t| (k.clone(), t)));
        }
    }
    let segments = sent.path.split('/').map(decode).collect();
    let set = out
        .into_iter()
        .map(|(k, v)| (norm(&k), v))
        .filter(|(k, _)| !BOILERPLATE.contains(&k.as_str()))
        .collect();
    (set, segments)
}

/// The request a call with `params` serializes.
async fn serialize(
    clients: &Clients,
    stop: &Stop,
    spec: &crate::probes::ProbeSpec,
    params: &Map<String, Value>,
) -> Sent {
    let function = ops::function(&spec.id).expect("checked");
    let key = spec.fan_out.as_ref().and_then(|f| params.get(&f.param));
    let _ = function(Call {
        clients: clients.clone(),
        rec: Recorder::default(),
        params: params.clone(),
        key: key.and_then(Value::as_str).map(str::to_string),
        token_param: crate::collect::paging::token_param(spec).to_string(),
    })
    .await;
    stop.0
        .lock()
        .unwrap()
        .take()
        .unwrap_or_else(|| panic!("{}: nothing was serialized", spec.id))
}

fn compare(id: &str, page: &str, params: &Map<String, Value>, sent: &Sent) -> Vec<String> {
    let (on_wire, segments) = fields(sent);
    let mut problems = Vec::new();
    let mut recorded = BTreeSet::new();
    for (name, value) in params {
        for text in texts(value) {
            let field = (norm(name), text.clone());
            if !on_wire.contains(&field) && !segments.contains(&text) {
                problems.push(format!(
                    "{id} ({page}): recorded {name} = {text} is not sent"
                ));
            }
            recorded.insert(field);
        }
    }
    for (name, value) in on_wire.difference(&recorded) {
        problems.push(format!(
            "{id} ({page}): sends {name} = {value}, which the record does not say"
        ));
    }
    problems
}

#[tokio::test]
async fn every_probe_sends_exactly_what_it_records() {
    let files = crate::embedded::toml_files(&crate::embedded::PROBES, "probes", None).unwrap();
    let catalog = crate::probes::ProbeCatalog::from_files(&files).unwrap();
    let probes = super::aws_probes(&catalog).unwrap();
    let conf = aws_types::SdkConfig::builder()
        .region(aws_types::region::Region::new("cn-north-1"))
        .endpoint_url("http://127.0.0.1:9")
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new("AKIDTEST", "secret", None, None, "test"),
            ),
        )
        .behavior_version(aws_config::BehaviorVersion::latest())
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    let stop = Stop::default();
    let guard: ReadOnlyGuard = super::guard_for(&probes);
    let clients = Clients::new(
        &conf,
        &[
            SharedInterceptor::new(guard),
            SharedInterceptor::new(stop.clone()),
        ],
        true,
    );
    let mut problems = Vec::new();
    for spec in &probes {
        let mut params: Map<String, Value> = spec
            .parameters
            .iter()
            .map(|(k, v)| (k.clone(), crate::convert::toml_to_json(v)))
            .collect();
        if let Some(f) = &spec.fan_out {
            params.insert(f.param.clone(), Value::String("key-1".into()));
        }
        let first = serialize(&clients, &stop, spec, &params).await;
        problems.extend(compare(&spec.id, "first page", &params, &first));
        let token = crate::collect::paging::token_param(spec);
        params.insert(token.to_string(), Value::String("page-2".into()));
        let next = serialize(&clients, &stop, spec, &params).await;
        let paged = fields(&next).0.iter().any(|(_, v)| v == "page-2");
        match (UNPAGED.contains(&spec.id.as_str()), paged) {
            (true, true) => problems.push(format!(
                "{}: listed as unpaged but sends a page token",
                spec.id
            )),
            (true, false) => {}
            (false, _) => problems.extend(compare(&spec.id, "next page", &params, &next)),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
