use crate::ports::PortError;

/// Why a use case refused or failed; the HTTP layer maps each to one status.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("this needs an admin")]
    Forbidden,
    /// More bytes than allowed (a reply's files).
    #[error("{0}")]
    TooLarge(String),
    /// A feature this installation has not turned on (the settings it needs).
    #[error("{0}")]
    Off(&'static str),
    /// A service of the team's own (a language model) failed to answer.
    #[error("{0}")]
    Upstream(String),
    /// More of something than allowed in a while (codes texted to one number); try
    /// again after `retry_after`.
    #[error("{detail}")]
    TooMany {
        detail: String,
        retry_after: std::time::Duration,
    },
    #[error(transparent)]
    Backend(PortError),
}

impl From<PortError> for ServiceError {
    fn from(e: PortError) -> Self {
        match e {
            PortError::Invalid(reason) => Self::Invalid(reason),
            PortError::Conflict(reason) => Self::Conflict(reason),
            PortError::NotFound => Self::NotFound("item"),
            other => Self::Backend(other),
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// Whether an admin's `what` (a rule, a calendar, …) may be saved: one replaced must
/// exist, and a new one needs room under `max`.
pub(crate) fn room_for(
    what: &'static str,
    replacing: bool,
    exists: bool,
    count: usize,
    max: usize,
) -> ServiceResult<()> {
    match (replacing, exists) {
        (true, false) => Err(ServiceError::NotFound(what)),
        (false, _) if count >= max => Err(ServiceError::Conflict(format!(
            "an installation keeps at most {max} of these ({what}): delete one first"
        ))),
        _ => Ok(()),
    }
}
