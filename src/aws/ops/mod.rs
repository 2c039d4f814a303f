//! One small function per AWS operation: build the request from the call's recorded parameters (the
//! probe manifest's, the fan-out key and the page token: what is sent is what the record says was
//! asked), attach the recorder, send, and return the next page token from the typed output. Everything
//! else (what to record, which keys to fan out over) is data: the probe manifests and the recorded bytes.

mod data;
mod ec2;
mod net;
mod other;
mod s3;

use super::capture::Recorder;
use crate::collect::Failure;
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::{Map, Value};
use std::future::Future;
use std::pin::Pin;

/// One client per service, for one region. Every client carries the read-only guard.
#[derive(Clone)]
pub struct Clients {
    pub sts: aws_sdk_sts::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub elb: aws_sdk_elasticloadbalancing::Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    pub cloudtrail: aws_sdk_cloudtrail::Client,
    pub config: aws_sdk_config::Client,
    pub guardduty: aws_sdk_guardduty::Client,
    pub kms: aws_sdk_kms::Client,
    pub s3: aws_sdk_s3::Client,
    pub iam: aws_sdk_iam::Client,
    pub rds: aws_sdk_rds::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub sns: aws_sdk_sns::Client,
    pub organizations: aws_sdk_organizations::Client,
    pub backup: aws_sdk_backup::Client,
    pub accessanalyzer: aws_sdk_accessanalyzer::Client,
}

/// A client of `$krate` for `$conf`, with every interceptor of `$with`.
macro_rules! guarded {
    ($krate:ident, $conf:expr, $with:expr) => {{
        let mut b = $krate::config::Builder::from($conf);
        b.set_interceptors($with.iter().cloned());
        b.push_retry_classifier(crate::aws::retry::classifier());
        $krate::Client::from_conf(b.build())
    }};
}

impl Clients {
    /// Builds the clients for `conf`'s region, each with the interceptors `with` (the read-only guard
    /// first). `path_style` forces S3 path-style addressing (emulators).
    pub fn new(conf: &aws_types::SdkConfig, with: &[SharedInterceptor], path_style: bool) -> Self {
        let mut s3 = aws_sdk_s3::config::Builder::from(conf);
        s3.set_interceptors(with.iter().cloned());
        s3.push_retry_classifier(super::retry::classifier());
        Self {
            sts: guarded!(aws_sdk_sts, conf, with),
            ec2: guarded!(aws_sdk_ec2, conf, with),
            elb: guarded!(aws_sdk_elasticloadbalancing, conf, with),
            elbv2: guarded!(aws_sdk_elasticloadbalancingv2, conf, with),
            cloudtrail: guarded!(aws_sdk_cloudtrail, conf, with),
            config: guarded!(aws_sdk_config, conf, with),
            guardduty: guarded!(aws_sdk_guardduty, conf, with),
            kms: guarded!(aws_sdk_kms, conf, with),
            s3: aws_sdk_s3::Client::from_conf(s3.force_path_style(path_style).build()),
            iam: guarded!(aws_sdk_iam, conf, with),
            rds: guarded!(aws_sdk_rds, conf, with),
            logs: guarded!(aws_sdk_cloudwatchlogs, conf, with),
            cloudwatch: guarded!(aws_sdk_cloudwatch, conf, with),
            events: guarded!(aws_sdk_eventbridge, conf, with),
            sns: guarded!(aws_sdk_sns, conf, with),
            organizations: guarded!(aws_sdk_organizations, conf, with),
            backup: guarded!(aws_sdk_backup, conf, with),
            accessanalyzer: guarded!(aws_sdk_accessanalyzer, conf, with),
        }
    }
}

/// What a probe function is given.
pub struct Call {
    pub clients: Clients,
    /// Attached to the request by [`send!`].
    pub rec: Recorder,
    /// The request parameters, exactly as recorded.
    pub params: Map<String, Value>,
    /// The fan-out key (snapshot id, bucket name, ...), for probes that fan out: the recorded value of
    /// the manifest's `fan_out.param`.
    pub key: Option<String>,
    /// The parameter carrying the page token (the manifest's `page_token`).
    pub token_param: String,
}

impl Call {
    /// A text parameter (a fan-out key, an attribute name); numbers and flags as their text.
    pub fn text(&self, name: &str) -> Option<String> {
        match self.params.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Null | Value::Array(_) | Value::Object(_) => None,
            v => Some(v.to_string()),
        }
    }

    /// A whole-number parameter (a page size).
    pub fn int(&self, name: &str) -> Option<i32> {
        self.params.get(name)?.as_i64()?.try_into().ok()
    }

    /// A true/false parameter.
    pub fn flag(&self, name: &str) -> Option<bool> {
        self.params.get(name)?.as_bool()
    }

    /// A list of texts; an empty list is what not sending one means, so it is not sent.
    pub fn texts(&self, name: &str) -> Option<Vec<String>> {
        let list: Vec<String> = self
            .params
            .get(name)?
            .as_array()?
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        (!list.is_empty()).then_some(list)
    }

    /// The fan-out key.
    pub fn key(&self) -> String {
        self.key.clone().unwrap_or_default()
    }

    /// The page token, on every page after the first.
    pub fn token(&self) -> Option<String> {
        self.text(&self.token_param)
    }
}

/// The answer of one page: the next page's token, if any.
pub type PageResult = Result<Option<String>, Failure>;
/// A probe function's future.
pub type CallFuture = Pin<Box<dyn Future<Output = PageResult> + Send>>;

/// Sends a fluent request with the call's recorder attached, returning its output (`?` on failure).
macro_rules! send {
    ($call:ident, $request:expr) => {
        $request
            .customize()
            .interceptor($call.rec)
            .send()
            .await
            .map_err(super::failure)?
    };
}
pub(crate) use send;

/// Classifies an SDK error: the service's code when it answered, else the transport failure.
pub fn failure<E, R>(e: SdkError<E, R>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    // The service's own message when it sent one; else the error chain, cut short (the raw response
    // it may quote is in the pack already).
    let message = match &e {
        SdkError::ServiceError(s) if s.err().message().is_some() => {
            s.err().message().unwrap_or_default().to_string()
        }
        _ => {
            let full = aws_smithy_types::error::display::DisplayErrorContext(&e).to_string();
            let short = full.split(" (").next().unwrap_or(&full);
            short.chars().take(300).collect()
        }
    };
    let code = match &e {
        SdkError::ServiceError(s) => s.err().code().unwrap_or("ServiceError").to_string(),
        SdkError::TimeoutError(_) => "Timeout".into(),
        SdkError::DispatchFailure(d) if d.is_timeout() => "Timeout".into(),
        SdkError::DispatchFailure(d) if d.is_io() => "ConnectionError".into(),
        SdkError::DispatchFailure(_) => "DispatchFailure".into(),
        SdkError::ResponseError(_) => "UnparsableResponse".into(),
        _ if aws_smithy_types::error::display::DisplayErrorContext(&e)
            .to_string()
            .contains("read-only guard refused") =>
        {
            "RefusedByReadOnlyGuard".into()
        }
        _ => "RequestFailed".into(),
    };
    Failure { code, message }
}

/// The function implementing `probe`, if there is one.
pub fn function(probe: &str) -> Option<fn(Call) -> CallFuture> {
    ec2::function(probe)
        .or_else(|| net::function(probe))
        .or_else(|| s3::function(probe))
        .or_else(|| other::function(probe))
        .or_else(|| data::function(probe))
}
