//! One small function per AWS operation: build the request from the probe's key and page token, attach
//! the recorder, send, and return the next page token from the typed output. Everything else
//! (what to record, which keys to fan out over) is data: the probe manifests and the recorded bytes.

mod data;
mod ec2;
mod net;
mod other;
mod s3;

use super::capture::{ReadOnlyGuard, Recorder};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
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
}

macro_rules! guarded {
    ($krate:ident, $conf:expr, $guard:expr) => {
        $krate::Client::from_conf(
            $krate::config::Builder::from($conf)
                .interceptor($guard.clone())
                .build(),
        )
    };
}

impl Clients {
    /// Builds the clients for `conf`'s region. `path_style` forces S3 path-style addressing (emulators).
    pub fn new(conf: &aws_types::SdkConfig, guard: &ReadOnlyGuard, path_style: bool) -> Self {
        let s3_conf = aws_sdk_s3::config::Builder::from(conf)
            .interceptor(guard.clone())
            .force_path_style(path_style)
            .build();
        Self {
            sts: guarded!(aws_sdk_sts, conf, guard),
            ec2: guarded!(aws_sdk_ec2, conf, guard),
            elb: guarded!(aws_sdk_elasticloadbalancing, conf, guard),
            elbv2: guarded!(aws_sdk_elasticloadbalancingv2, conf, guard),
            cloudtrail: guarded!(aws_sdk_cloudtrail, conf, guard),
            config: guarded!(aws_sdk_config, conf, guard),
            guardduty: guarded!(aws_sdk_guardduty, conf, guard),
            kms: guarded!(aws_sdk_kms, conf, guard),
            s3: aws_sdk_s3::Client::from_conf(s3_conf),
            iam: guarded!(aws_sdk_iam, conf, guard),
            rds: guarded!(aws_sdk_rds, conf, guard),
            logs: guarded!(aws_sdk_cloudwatchlogs, conf, guard),
            cloudwatch: guarded!(aws_sdk_cloudwatch, conf, guard),
            events: guarded!(aws_sdk_eventbridge, conf, guard),
            sns: guarded!(aws_sdk_sns, conf, guard),
            organizations: guarded!(aws_sdk_organizations, conf, guard),
        }
    }
}

/// What a probe function is given.
pub struct Call {
    pub clients: Clients,
    /// Attach with `.customize().interceptor(call.rec)`.
    pub rec: Recorder,
    /// The fan-out key (snapshot id, bucket name, ...), for probes that fan out.
    pub key: Option<String>,
    /// The page token from the previous page.
    pub token: Option<String>,
    /// The probe manifest's `MaxResults`, when it sets one: what is asked is what is recorded.
    pub page_size: Option<i32>,
}

impl Call {
    /// The page size to ask for: the manifest's `MaxResults`, else `default`.
    fn page(&self, default: i32) -> i32 {
        self.page_size.unwrap_or(default)
    }

    fn key(&self) -> String {
        self.key.clone().unwrap_or_default()
    }
}

/// Why a call produced no usable answer.
#[derive(Debug, Clone)]
pub struct Failure {
    pub code: String,
    pub message: String,
}

/// The answer of one page: the next page's token, if any.
pub type PageResult = Result<Option<String>, Failure>;
/// A probe function's future.
pub type CallFuture = Pin<Box<dyn Future<Output = PageResult> + Send>>;

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
