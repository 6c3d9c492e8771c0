//! Every error a client sees, as `application/problem+json` (RFC 9457), mapped in
//! this one place. A 5xx never says more than that something failed; the log gets
//! the cause.

use crate::ports::PortError;
use crate::services::ServiceError;
use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub detail: String,
    pub retry_after_secs: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
}

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: detail.into(),
            retry_after_secs: None,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, detail)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "sign in (a session cookie), or send `Authorization: Bearer <api key>`",
        )
    }

    /// 429 with `Retry-After` in whole seconds, rounded up: a client that waits as told
    /// gets in.
    pub fn too_many(wait: std::time::Duration, detail: &str) -> Self {
        Self {
            retry_after_secs: Some((wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, detail)
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{what} not found"))
    }

    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the service is busy; try again shortly",
        )
    }

    fn problem(&self) -> Problem {
        let title = self.status.canonical_reason().unwrap_or("Error").to_owned();
        let slug = title.to_lowercase().replace(' ', "-");
        Problem {
            kind: format!("urn:switchboard:problem:{slug}"),
            title,
            status: self.status.as_u16(),
            detail: self.detail.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.problem())).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound(what) => Self::not_found(what),
            ServiceError::Invalid(detail) => Self::invalid(detail),
            ServiceError::Conflict(detail) => Self::new(StatusCode::CONFLICT, detail),
            ServiceError::Forbidden => {
                Self::new(StatusCode::FORBIDDEN, "this needs an admin's API key")
            }
            ServiceError::TooLarge(detail) => Self::new(StatusCode::PAYLOAD_TOO_LARGE, detail),
            ServiceError::Off(detail) => Self::new(StatusCode::NOT_FOUND, detail),
            ServiceError::Upstream(detail) => Self::new(StatusCode::BAD_GATEWAY, detail),
            ServiceError::TooMany {
                detail,
                retry_after,
            } => Self::too_many(retry_after, &detail),
            ServiceError::Backend(e) => e.into(),
        }
    }
}

impl From<PortError> for ApiError {
    fn from(e: PortError) -> Self {
        match e {
            PortError::NotFound => Self::not_found("item"),
            PortError::Invalid(detail) => Self::bad_request(detail),
            PortError::Conflict(detail) => Self::new(StatusCode::CONFLICT, detail),
            PortError::Unavailable(cause) => {
                tracing::warn!(%cause, "backend unavailable");
                Self {
                    retry_after_secs: Some(1),
                    ..Self::unavailable()
                }
            }
            PortError::Internal(cause) => {
                tracing::error!(%cause, "backend failure");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "something went wrong on our side",
                )
            }
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = match r.status() {
            StatusCode::UNPROCESSABLE_ENTITY => StatusCode::UNPROCESSABLE_ENTITY,
            other => other,
        };
        Self::new(status, r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::bad_request(r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        Self::new(StatusCode::NOT_FOUND, r.body_text())
    }
}

/// `axum::Json` whose rejections are problems.
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `axum::extract::Query` whose rejections are problems.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `axum::extract::Path` whose rejections are problems.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// Answers unknown routes with a problem too.
pub async fn not_found() -> ApiError {
    ApiError::not_found("route")
}
