//! Which layer retries what, on AWS: the SDK retries only calls that received no answer (connection
//! errors, timeouts); every answer — throttling ones included — goes back to the collection core,
//! whose rate controller alone sends throttled calls again. So the SDK's adaptive mode is off and a
//! last retry classifier forbids the SDK to retry any call that got a response.

use crate::collect::{Bucket, RetryReason};
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority, SharedRetryClassifier,
};

/// The error codes AWS services throttle with (as the SDK's `THROTTLING_ERRORS`, aws-runtime).
pub const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// How the collection core reads an AWS error answer.
pub fn retry_reason(status: u16, code: Option<&str>) -> Option<RetryReason> {
    if code.is_some_and(|c| THROTTLING_CODES.contains(&c)) {
        return Some(RetryReason::Throttled);
    }
    RetryReason::of_status(status)
}

/// The request buckets AWS documents. EC2 (per account and region, per API): non-mutating actions
/// hold 100 tokens refilled at 20 per second — "Request throttling for the Amazon EC2 API",
/// <https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html>.
pub fn bucket(service: &str) -> Option<Bucket> {
    (service == "ec2").then_some(Bucket {
        burst: 100.0,
        refill: 20.0,
    })
}

/// The classifier every client gets (see [`AnswersToTheCore`]).
pub fn classifier() -> SharedRetryClassifier {
    SharedRetryClassifier::new(AnswersToTheCore)
}

/// Runs after every classifier of the SDK and forbids retrying a call that received a response.
#[derive(Debug, Default, Clone, Copy)]
pub struct AnswersToTheCore;

impl ClassifyRetry for AnswersToTheCore {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        if ctx.response().is_some() {
            RetryAction::RetryForbidden
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "dengbao: answers go to the collection core"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_codes_are_throttling_and_other_answers_are_not() {
        for code in [
            "Throttling",
            "ThrottlingException",
            "RequestLimitExceeded",
            "SlowDown",
            "TooManyRequestsException",
        ] {
            assert_eq!(
                retry_reason(400, Some(code)),
                Some(RetryReason::Throttled),
                "{code}"
            );
        }
        assert_eq!(
            retry_reason(503, Some("RequestLimitExceeded")),
            Some(RetryReason::Throttled)
        );
        assert_eq!(
            retry_reason(500, Some("InternalError")),
            Some(RetryReason::ServerError)
        );
        assert_eq!(retry_reason(429, None), Some(RetryReason::Throttled));
        assert_eq!(retry_reason(403, Some("AccessDenied")), None);
        assert_eq!(retry_reason(400, Some("InvalidSnapshot.NotFound")), None);
    }
}
