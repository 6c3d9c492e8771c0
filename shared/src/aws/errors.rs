//! SDK errors become [`PortError`]s here, and only here: nothing AWS leaves this module.
//!
//! Retryable (throttling, 5xx, timeouts, connection failures) → `Unavailable`; a failed
//! condition → `Conflict`; a request AWS refuses as malformed → `Invalid`; the rest
//! (missing queue or bucket, access denied, an unreadable response) → `Internal`.

use crate::ports::PortError;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Error codes that mean "slow down" or "try again", across SQS (JSON and query protocols),
/// S3 and STS.
const RETRYABLE: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "SlowDown",
    "KmsThrottled",
    "KMS.ThrottlingException",
    "ServiceUnavailable",
    "InternalError",
    "InternalFailure",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// A write refused because its precondition no longer holds.
const CONFLICT: &[&str] = &[
    "ConditionalCheckFailedException",
    "TransactionCanceledException",
    "TransactionConflictException",
    "PreconditionFailed",
    "ConditionalRequestConflict",
    "OperationAborted",
];

/// The request itself is wrong and will stay wrong.
const INVALID: &[&str] = &[
    "ValidationException",
    "ValidationError",
    "InvalidParameterValue",
    "InvalidParameterCombination",
    "MissingParameter",
    "InvalidAttributeValue",
    "InvalidMessageContents",
    "MessageTooLong",
    "BatchRequestTooLong",
    "TooManyEntriesInBatchRequest",
    "BatchEntryIdsNotDistinct",
    "InvalidBatchEntryId",
    "EmptyBatchRequest",
    "InvalidArgument",
    "InvalidRequest",
    "EntityTooLarge",
    "KeyTooLongError",
    "InvalidIdFormat",
];

/// SQS codes may come with the query protocol's prefix (`AWS.SimpleQueueService.…`).
fn bare(code: &str) -> &str {
    code.rsplit_once('.')
        .filter(|(prefix, _)| prefix.starts_with("AWS."))
        .map_or(code, |(_, rest)| rest)
}

/// Classifies a failure from its AWS error code and HTTP status.
pub(crate) fn classify(code: Option<&str>, status: Option<u16>, text: String) -> PortError {
    let code = code.map(bare);
    let is = |list: &[&str]| code.is_some_and(|c| list.contains(&c));
    if is(RETRYABLE) || matches!(status, Some(429 | 500..=599)) {
        PortError::Unavailable(text)
    } else if is(CONFLICT) || status == Some(412) {
        PortError::Conflict(text)
    } else if is(INVALID) {
        PortError::Invalid(text)
    } else {
        PortError::Internal(text)
    }
}

/// The port error for a failed SDK call; `op` names the call in the message.
pub(crate) fn sdk<E>(op: &str, err: SdkError<E, HttpResponse>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &err {
        SdkError::TimeoutError(_) => PortError::Unavailable(format!("{op}: timed out")),
        SdkError::DispatchFailure(failure) if !failure.is_user() => {
            PortError::Unavailable(format!("{op}: {}", DisplayErrorContext(&err)))
        }
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let inner = service.err();
            let text = format!(
                "{op}: {} ({status}): {}",
                inner.code().unwrap_or("unknown error"),
                inner.message().unwrap_or("no message")
            );
            classify(inner.code(), Some(status), text)
        }
        SdkError::ResponseError(response) => {
            let status = response.raw().status().as_u16();
            classify(
                None,
                Some(status),
                format!("{op}: unreadable response ({status})"),
            )
        }
        _ => PortError::Internal(format!("{op}: {}", DisplayErrorContext(&err))),
    }
}

/// The port error for one failed entry of a batch call (`SendMessageBatch`, …): SQS
/// says whether it was our fault; if not, trying again may succeed.
pub(crate) fn batch_entry(op: &str, code: &str, sender_fault: bool, message: &str) -> PortError {
    let text = format!("{op}: {code}: {message}");
    if sender_fault {
        match classify(Some(code), None, text) {
            PortError::Internal(text) => PortError::Invalid(text),
            other => other,
        }
    } else {
        PortError::Unavailable(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_and_server_errors_are_worth_retrying() {
        for (code, status) in [
            (Some("ThrottlingException"), Some(400)),
            (Some("AWS.SimpleQueueService.RequestThrottled"), Some(403)),
            (Some("SlowDown"), Some(503)),
            (None, Some(500)),
            (Some("Whatever"), Some(429)),
        ] {
            assert!(
                matches!(
                    classify(code, status, String::new()),
                    PortError::Unavailable(_)
                ),
                "{code:?} {status:?}"
            );
        }
    }

    #[test]
    fn failed_conditions_conflict_and_malformed_requests_are_invalid() {
        assert!(matches!(
            classify(
                Some("ConditionalCheckFailedException"),
                Some(400),
                "".into()
            ),
            PortError::Conflict(_)
        ));
        assert!(matches!(
            classify(None, Some(412), "".into()),
            PortError::Conflict(_)
        ));
        assert!(matches!(
            classify(Some("InvalidParameterValue"), Some(400), "".into()),
            PortError::Invalid(_)
        ));
        assert!(matches!(
            classify(
                Some("AWS.SimpleQueueService.NonExistentQueue"),
                Some(400),
                "".into()
            ),
            PortError::Internal(_)
        ));
    }

    #[test]
    fn a_batch_entry_that_was_not_our_fault_is_retryable() {
        assert!(matches!(
            batch_entry("send", "InternalError", false, "x"),
            PortError::Unavailable(_)
        ));
        assert!(matches!(
            batch_entry("send", "InvalidMessageContents", true, "x"),
            PortError::Invalid(_)
        ));
        assert!(matches!(
            batch_entry("send", "SomethingNew", true, "x"),
            PortError::Invalid(_)
        ));
    }
}
