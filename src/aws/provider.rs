//! AWS behind the collection core's [`Provider`] hooks: a call is the probe's operation function on
//! the region's clients, with the recorder attached.

use super::capture::{error_from_body, ReadOnlyGuard, Recorder};
use super::ops::{self, Call, Clients};
use crate::collect::{BoxFuture, Bucket, Failure, Provider, RawAnswer, Request, RetryReason};
use crate::probes::ProbeSpec;
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;

/// A connected AWS account.
pub struct AwsProvider {
    base: aws_types::SdkConfig,
    guard: ReadOnlyGuard,
    path_style: bool,
    clients: Mutex<HashMap<String, Clients>>,
}

impl AwsProvider {
    pub fn new(base: aws_types::SdkConfig, guard: ReadOnlyGuard, path_style: bool) -> Self {
        Self {
            base,
            guard,
            path_style,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The clients for `region`, built once.
    fn clients(&self, region: &str) -> Clients {
        let mut map = self.clients.lock().expect("clients lock");
        map.entry(region.to_string())
            .or_insert_with(|| {
                let conf = self
                    .base
                    .to_builder()
                    .region(aws_types::region::Region::new(region.to_string()))
                    .build();
                let guard = SharedInterceptor::new(self.guard.clone());
                Clients::new(&conf, &[guard], self.path_style)
            })
            .clone()
    }
}

impl Provider for AwsProvider {
    fn partition_of_region(&self, region: &str) -> String {
        super::partition_of_region(region).to_string()
    }

    fn partition_of_principal(&self, principal: &str) -> Option<String> {
        super::partition_of_arn(principal).map(str::to_string)
    }

    fn call<'a>(&'a self, req: Request<'a>) -> BoxFuture<'a, Result<RawAnswer, Failure>> {
        Box::pin(async move {
            let function = ops::function(&req.probe.id).ok_or_else(|| {
                Failure::new(
                    "NoFunction",
                    format!("no function in src/aws/ops/ for {}", req.probe.id),
                )
            })?;
            let rec = Recorder::default();
            let key = req
                .probe
                .fan_out
                .as_ref()
                .and_then(|f| req.params.get(&f.param));
            let result = function(Call {
                clients: self.clients(req.region),
                rec: rec.clone(),
                params: req.params.clone(),
                key: key.and_then(Value::as_str).map(str::to_string),
                token_param: crate::collect::paging::token_param(req.probe).to_string(),
            })
            .await;
            let (next_token, complaint) = match result {
                Ok(next) => (next, None),
                Err(f) => (None, Some(f)),
            };
            let Some(mut answer) = rec.take() else {
                return Err(complaint.unwrap_or_else(|| {
                    Failure::new("NoResponse", "the call returned no response")
                }));
            };
            answer.next_token = next_token;
            // An error status the SDK read, or a success it could not parse (the bytes are kept).
            answer.complaint = complaint;
            Ok(answer)
        })
    }

    fn error_code(&self, media_type: &str, body: &[u8]) -> Option<(String, String)> {
        error_from_body(media_type, body)
    }

    fn retry_reason(&self, status: u16, code: Option<&str>) -> Option<RetryReason> {
        super::retry::retry_reason(status, code)
    }

    fn bucket(&self, service: &str) -> Option<Bucket> {
        super::retry::bucket(service)
    }

    /// S3 answers GetBucketLocation with an empty constraint for us-east-1 (and `EU` for eu-west-1).
    fn fan_out_region(&self, child: &ProbeSpec, home: &Value) -> Option<String> {
        let value = crate::jsonpath::scalar_string(home);
        if child.service == "s3" {
            return Some(super::s3_location_region(value.as_deref().unwrap_or("")));
        }
        value.filter(|v| !v.is_empty())
    }
}
