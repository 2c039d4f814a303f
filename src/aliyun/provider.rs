//! Alibaba Cloud behind the collection core's [`Provider`] hooks: a call is one signed OpenAPI request
//! with the recorded parameters, flattened as the gateway reads them.

use super::client::{error_from_body, error_from_document, retry_reason, CallSpec, OpenApi};
use super::sign::flatten_params;
use crate::collect::{BoxFuture, Failure, Provider, RawAnswer, Request, RetryReason};
use crate::probes::{ApiStyle, ProbeSpec, Scope};
use serde_json::{Map, Value};

/// A connected Alibaba Cloud account.
pub struct AliyunProvider {
    api: OpenApi,
}

impl AliyunProvider {
    pub fn new(api: OpenApi) -> Self {
        Self { api }
    }
}

impl Provider for AliyunProvider {
    /// Alibaba Cloud has one partition.
    fn partition_of_region(&self, _region: &str) -> String {
        "aliyun".to_string()
    }

    /// Regional calls name their region (`RegionId`, or the product's `region_param`).
    fn add_parameters(&self, probe: &ProbeSpec, region: &str, params: &mut Map<String, Value>) {
        if let Some(api) = &probe.api {
            if probe.scope == Scope::Regional && !api.region_param.is_empty() {
                params
                    .entry(api.region_param.clone())
                    .or_insert_with(|| Value::String(region.to_string()));
            }
        }
    }

    fn call<'a>(&'a self, req: Request<'a>) -> BoxFuture<'a, Result<RawAnswer, Failure>> {
        Box::pin(async move {
            let api = req.probe.api.as_ref().ok_or_else(|| {
                Failure::new(
                    "NoApiFacts",
                    format!("probe {} names no api_version/endpoint", req.probe.id),
                )
            })?;
            let (product, action) = (&req.probe.service, &req.probe.operation);
            let mut answer = match api.style {
                ApiStyle::Rpc => {
                    self.api
                        .call(&CallSpec {
                            product,
                            api,
                            region: req.region,
                            action,
                            params: flatten_params(req.params),
                        })
                        .await?
                }
                ApiStyle::Oss | ApiStyle::Sls => {
                    self.api
                        .rest_call(product, api, req.region, action, req.params)
                        .await?
                }
            };
            // A success must be a readable document; its conversion is handed over, not repeated.
            if answer.status < 300 {
                match crate::convert::to_document(&answer.media_type, &answer.body) {
                    Ok(doc) => answer.document = Some(doc),
                    Err(e) => {
                        answer.complaint = Some(Failure::new("UnparsableResponse", e.to_string()))
                    }
                }
            }
            Ok(answer)
        })
    }

    fn retry_reason(&self, status: u16, code: Option<&str>) -> Option<RetryReason> {
        retry_reason(status, code)
    }

    fn error_code(&self, media_type: &str, body: &[u8]) -> Option<(String, String)> {
        error_from_body(body).or_else(|| error_from_document(media_type, body))
    }

    /// A fan-out item's home region: a region name, or the region of an Alibaba Cloud resource ARN
    /// (`acs:log:cn-hangzhou:<account>:project/<name>`, as a trail names its SLS project).
    fn fan_out_region(&self, _child: &ProbeSpec, home: &Value) -> Option<String> {
        let home = crate::jsonpath::scalar_string(home).filter(|h| !h.is_empty())?;
        match home.strip_prefix("acs:") {
            Some(_) => arn_region(&home).map(str::to_string),
            None => Some(home),
        }
    }
}

/// The region an Alibaba Cloud ARN (`acs:SERVICE:REGION:ACCOUNT:RESOURCE`) names, if it names one.
pub fn arn_region(arn: &str) -> Option<&str> {
    arn.strip_prefix("acs:")?
        .split(':')
        .nth(1)
        .filter(|r| !r.is_empty())
}
