//! The typed error of one step, SDK-free: what a read, a mutating call or the plan's action
//! came to, with the call, the endpoint and (for a denied call) the permission it needs.
//! It lives with the [`Iam`](super::Iam) boundary so the step registry (`crate::steps`), which
//! holds each step's apply-time half, can name it without importing apply.

use super::{CallOutcome, ReadError};

/// A failed step.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// A read failed (or a call failed before iamwarden classified it).
    #[error("{call} failed: {message}{}", permission_hint(call, code.as_deref()))]
    Call {
        /// The API operation.
        call: &'static str,
        /// The AWS error code.
        code: Option<String>,
        /// What AWS or the SDK said (never credentials).
        message: String,
    },
    /// IAM answered a mutating call with an error response: nothing was changed.
    #[error(
        "{call} was refused by IAM at {endpoint}: {}{message}{}",
        code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default(),
        permission_hint(call, code.as_deref())
    )]
    Refused {
        /// The API operation.
        call: &'static str,
        /// The AWS error code.
        code: Option<String>,
        /// What IAM said.
        message: String,
        /// The endpoint that answered.
        endpoint: String,
    },
    /// A mutating call was sent (or may have been) and no answer came: IAM may or may not
    /// have made the change. Never retried blindly; apply re-reads the target.
    #[error("{call} to {endpoint}: the request was sent but no answer came ({message})")]
    Unknown {
        /// The API operation.
        call: &'static str,
        /// What went wrong (timeout, cut connection, truncated response).
        message: String,
        /// The endpoint the request went to.
        endpoint: String,
    },
    /// A mutating call never left: the endpoint could not be reached (nothing was changed).
    #[error(
        "{call}: cannot reach the IAM endpoint {endpoint} ({message}); the request was not sent"
    )]
    NotSent {
        /// The API operation.
        call: &'static str,
        /// What went wrong.
        message: String,
        /// The endpoint.
        endpoint: String,
    },
    /// A call had no answer and the re-read decided it: not applied, or something else.
    #[error("{sent}; re-read shows {reread}")]
    Resolved {
        /// The unanswered call ([`StepError::Unknown`]'s text).
        sent: String,
        /// What the re-read found.
        reread: String,
    },
    /// A call had no answer and the re-read failed too: the outcome stays unknown (apply
    /// leaves the action open in the journal, and the next run resolves it).
    #[error(
        "{sent}; the re-read failed too ({reread}): whether it was applied is unknown; run \
         apply again to resolve it"
    )]
    Unresolved {
        /// The unanswered call.
        sent: String,
        /// Why the re-read failed.
        reread: String,
    },
    /// The plan's action lacks something it must have.
    #[error("the plan's action is malformed: {0}")]
    Plan(String),
    /// The journal could not be written: apply must stop. Carries the journal's own error
    /// (`apply::journal::JournalError`, which converts into this variant and back).
    #[error(transparent)]
    Journal(Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl From<ReadError> for StepError {
    fn from(e: ReadError) -> StepError {
        StepError::Call {
            call: e.call,
            code: e.code,
            message: e.message,
        }
    }
}

impl StepError {
    fn code(&self) -> Option<&str> {
        match self {
            StepError::Call { code, .. } | StepError::Refused { code, .. } => code.as_deref(),
            _ => None,
        }
    }
    /// Whether IAM (or Secrets Manager) said the target does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self.code(),
            Some("NoSuchEntity" | "ResourceNotFoundException")
        )
    }
    /// Whether the outcome of a mutating call is unknown (sent, no answer).
    pub fn is_unknown(&self) -> bool {
        matches!(self, StepError::Unknown { .. })
    }
}

fn permission_hint(call: &str, code: Option<&str>) -> String {
    match code {
        Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation") => {
            format!(" (the caller needs the IAM permission iam:{call})")
        }
        Some("DeleteConflict") => " (AWS requires something removed first)".to_string(),
        _ => String::new(),
    }
}

/// A call's outcome as the step's result: the value, or the typed error naming the call and
/// the endpoint.
pub fn outcome_result<T>(
    outcome: CallOutcome<T>,
    call: &'static str,
    endpoint: &str,
) -> Result<T, StepError> {
    match outcome {
        CallOutcome::Done(v) => Ok(v),
        CallOutcome::Refused { code, message, .. } => Err(StepError::Refused {
            call,
            code,
            message,
            endpoint: endpoint.to_string(),
        }),
        CallOutcome::Unknown { message } => Err(StepError::Unknown {
            call,
            message,
            endpoint: endpoint.to_string(),
        }),
        CallOutcome::NotSent { message } => Err(StepError::NotSent {
            call,
            message,
            endpoint: endpoint.to_string(),
        }),
    }
}

/// An unanswered call whose re-read failed.
pub fn unresolved(sent: &StepError, reread: &StepError) -> StepError {
    StepError::Unresolved {
        sent: sent.to_string(),
        reread: reread.to_string(),
    }
}

/// An unanswered call the re-read showed was not (or not only) applied.
pub fn resolved_failure(sent: &StepError, reread: &str) -> StepError {
    StepError::Resolved {
        sent: sent.to_string(),
        reread: reread.to_string(),
    }
}
