//! SDK interceptors: the read-only guard, and the recorder that keeps each response byte for byte.
//!
//! Both hook into the smithy orchestrator (`aws-smithy-runtime-api`'s `Intercept`):
//!
//! * [`ReadOnlyGuard`] runs in `read_before_serialization`, before anything is serialized or signed, and
//!   refuses every operation that no probe manifest declares. It is installed on every client dengbao
//!   builds, so a mutating call cannot leave the process even if code asked for one.
//! * [`Recorder`] runs in `read_after_deserialization`, where the response body has been read into
//!   memory, and copies the status, request id and exact body bytes of the last attempt. Request
//!   headers (which carry signatures and session tokens) are never looked at.

use crate::collect::RawAnswer;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// Maps the SDK's service names (`Metadata::service`) to probe-manifest service ids.
pub fn manifest_service(sdk_service: &str) -> String {
    let squashed: String = sdk_service
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    match squashed.as_str() {
        "configservice" => "config".into(),
        "cloudwatchlogs" => "logs".into(),
        "eventbridge" => "events".into(),
        "elasticloadbalancing" => "elb".into(),
        "elasticloadbalancingv2" => "elbv2".into(),
        _ => squashed,
    }
}

/// Refuses any operation not on the allow-list of `(service, operation)` pairs.
#[derive(Debug, Clone)]
pub struct ReadOnlyGuard {
    allowed: Arc<BTreeSet<(String, String)>>,
}

impl ReadOnlyGuard {
    /// `allowed` holds `(manifest service, operation)` pairs, e.g. `("ec2", "DescribeVpcs")`.
    pub fn new(allowed: BTreeSet<(String, String)>) -> Self {
        Self {
            allowed: Arc::new(allowed),
        }
    }

    /// Whether the guard lets `operation` of SDK service `sdk_service` through.
    pub fn allows(&self, sdk_service: &str, operation: &str) -> bool {
        self.allowed
            .contains(&(manifest_service(sdk_service), operation.to_string()))
    }
}

/// The error a refused call fails with.
#[derive(Debug, thiserror::Error)]
#[error("dengbao's read-only guard refused {service}:{operation}: it is not a read operation declared by a probe manifest")]
pub struct Refused {
    pub service: String,
    pub operation: String,
}

impl Intercept for ReadOnlyGuard {
    fn name(&self) -> &'static str {
        "dengbao-read-only-guard"
    }

    // Client-level `read_before_execution` runs before the operation's configuration (and so its
    // `Metadata`) is applied; `read_before_serialization` is the first hook that knows the operation,
    // and it still runs before anything is serialized, signed or sent.
    fn read_before_serialization(
        &self,
        _ctx: &BeforeSerializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(meta) = cfg.load::<Metadata>() else {
            return Err(
                "dengbao's read-only guard refused a call whose operation it cannot identify"
                    .into(),
            );
        };
        if self.allows(meta.service(), meta.name()) {
            Ok(())
        } else {
            Err(Box::new(Refused {
                service: meta.service().to_string(),
                operation: meta.name().to_string(),
            }))
        }
    }
}

/// Per-call recorder: attach to one operation with `.customize().interceptor(recorder.clone())`.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    slot: Arc<Mutex<Option<RawAnswer>>>,
}

impl Recorder {
    /// Takes what was captured (None when no response arrived: timeout, connection error, refusal).
    pub fn take(&self) -> Option<RawAnswer> {
        self.slot.lock().expect("recorder lock").take()
    }
}

const REQUEST_ID_HEADERS: &[&str] = &["x-amzn-requestid", "x-amz-request-id", "x-amzn-request-id"];

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "dengbao-recorder"
    }

    fn read_after_deserialization(
        &self,
        ctx: &AfterDeserializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let resp = ctx.response();
        let headers = resp.headers();
        let request_id = REQUEST_ID_HEADERS
            .iter()
            .find_map(|h| headers.get(*h))
            .map(str::to_string);
        let media_type = headers
            .get("content-type")
            .unwrap_or("application/octet-stream")
            .to_string();
        let body = resp.body().bytes().map(<[u8]>::to_vec).unwrap_or_default();
        let mut slot = self.slot.lock().expect("recorder lock");
        let attempts = slot.as_ref().map(|c| c.attempts + 1).unwrap_or(1);
        *slot = Some(RawAnswer {
            status: resp.status().as_u16(),
            request_id,
            media_type,
            body,
            captured_at: crate::collect::now_rfc3339(),
            attempts,
            ..RawAnswer::default()
        });
        Ok(())
    }
}

/// The error code and message of an AWS error body, whatever the protocol: JSON `__type`/`code`/`message`,
/// EC2 `<Response><Errors><Error>`, query `<ErrorResponse><Error>`, S3 `<Error>`.
pub fn error_from_body(media_type: &str, body: &[u8]) -> Option<(String, String)> {
    let doc = crate::convert::to_document(media_type, body).ok()?;
    fn find<'a>(v: &'a serde_json::Value, keys: &[&str]) -> Option<&'a str> {
        match v {
            serde_json::Value::Object(m) => keys
                .iter()
                .find_map(|k| m.get(*k).and_then(|x| x.as_str()))
                .or_else(|| m.values().find_map(|x| find(x, keys))),
            serde_json::Value::Array(a) => a.iter().find_map(|x| find(x, keys)),
            _ => None,
        }
    }
    let code = find(&doc, &["__type", "Code", "code"])?;
    // awsJson puts a namespace before `#`: `com.amazonaws.kms#AccessDeniedException`.
    let code = code
        .rsplit('#')
        .next()
        .unwrap_or(code)
        .split(':')
        .next()
        .unwrap_or(code)
        .to_string();
    let message = find(&doc, &["message", "Message"])
        .unwrap_or("")
        .to_string();
    Some((code, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_from_every_protocol() {
        let cases: &[(&str, &[u8], &str)] = &[
            ("application/x-amz-json-1.1", br#"{"__type":"com.amazonaws.kms#AccessDeniedException","message":"no"}"#, "AccessDeniedException"),
            ("application/json", br#"{"__type":"BadRequestException:http://internal","message":"x"}"#, "BadRequestException"),
            ("text/xml", b"<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>m</Message></Error></Errors><RequestID>r</RequestID></Response>", "UnauthorizedOperation"),
            ("text/xml", b"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>m</Message></Error></ErrorResponse>", "AccessDenied"),
            ("application/xml", b"<Error><Code>NoSuchLifecycleConfiguration</Code><Message>m</Message></Error>", "NoSuchLifecycleConfiguration"),
        ];
        for (mt, body, code) in cases {
            assert_eq!(
                error_from_body(mt, body).map(|(c, _)| c).as_deref(),
                Some(*code),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn guard_maps_sdk_service_names() {
        let g = ReadOnlyGuard::new(
            [
                ("config".into(), "DescribeConfigurationRecorders".into()),
                ("ec2".into(), "DescribeVpcs".into()),
            ]
            .into(),
        );
        assert!(g.allows("Config Service", "DescribeConfigurationRecorders"));
        assert!(g.allows("EC2", "DescribeVpcs"));
        assert!(!g.allows("EC2", "DeleteVpc"));
        assert!(!g.allows("EC2", "DescribeSubnets"));
    }
}
