//! `POST /webhooks/email`: a relay (or a script) posts one raw `message/rfc822` with the
//! shared secret in `X-Switchboard-Email-Secret`; the email is kept and queued, and the
//! answer comes at once.

use crate::config::EmailWebhook;
use crate::http::ChannelState;
use crate::http::problem::ApiError;
use crate::http::secret_header::Verified;
use crate::services::email::{EmailIntake, Intake, IntakeError};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub async fn receive(
    Verified(config): Verified<EmailWebhook>,
    State(state): State<ChannelState>,
    req: Request,
) -> Response {
    let body = match axum::body::to_bytes(req.into_body(), config.max_bytes).await {
        Ok(body) => body,
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the email is larger than {} bytes", config.max_bytes),
            )
            .into_response();
        }
    };
    let intake = EmailIntake {
        ingest: state.ingest.clone(),
        blobs: state.blobs.clone(),
        parse: config.parse,
        inbound: config.inbound,
    };
    match intake.accept(&body).await {
        Ok(Intake::Queued(source_id)) => {
            tracing::info!(source_id = source_id.as_str(), "email queued");
            StatusCode::ACCEPTED.into_response()
        }
        Ok(Intake::Bounce(bounce)) => {
            tracing::info!(original = ?bounce.original_message_id, reason = %bounce.reason, "bounce received");
            StatusCode::ACCEPTED.into_response()
        }
        Ok(Intake::Ignored(reason)) => {
            // Accepted all the same: a relay would otherwise keep sending it.
            tracing::info!(reason, "email ignored");
            StatusCode::ACCEPTED.into_response()
        }
        Err(IntakeError::Parse(e)) => ApiError::bad_request(e.to_string()).into_response(),
        Err(IntakeError::Normalize(e)) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()).into_response()
        }
        Err(IntakeError::Port(e)) => ApiError::from(e).into_response(),
    }
}
