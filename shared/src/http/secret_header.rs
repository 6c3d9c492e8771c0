//! The one check of a webhook that authenticates its caller by a shared secret in a
//! header (Telegram's secret token, the email relay's secret): compared in constant
//! time, refused with a 401 that names the header, and logged.

use crate::http::problem::ApiError;
use axum::http::{HeaderMap, StatusCode};
use subtle::ConstantTimeEq;

/// Ok when `headers` carry `expected` in `name`; `header` is how the refusal names it.
pub fn check_secret_header(
    headers: &HeaderMap,
    name: &str,
    header: &str,
    expected: &str,
) -> Result<(), ApiError> {
    let presented = headers.get(name).map(|v| v.as_bytes()).unwrap_or_default();
    if bool::from(presented.ct_eq(expected.as_bytes())) {
        return Ok(());
    }
    tracing::warn!(header, "webhook call without the right secret refused");
    Err(ApiError::new(
        StatusCode::UNAUTHORIZED,
        format!("the {header} header is missing or wrong"),
    ))
}
