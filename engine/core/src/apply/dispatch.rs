//! The one dispatcher every mutating call goes through, generic over the [`Iam`] it runs
//! against: journal the intent (written from the [`IamCall`] it sends, so the journal and the
//! request cannot disagree), send one attempt, journal the result, and send again only when
//! the answer proves nothing was changed (throttling, service unavailable, not sent), with
//! backoff. An unanswered attempt comes back as [`StepError::Unknown`] for the step to
//! resolve by re-reading. [`Executor`] is the [`Exec`] the steps' apply-time halves run through.

use super::journal::{Journal, Mode, Record};
use crate::iam::{outcome_result, StepError};
use crate::iam::{CallOk, Exec, Iam, IamCall};
use chrono::Utc;
use serde_json::Value;
use std::sync::Arc;

/// The default wait before re-reading after an unanswered call.
pub const DEFAULT_SETTLE: std::time::Duration = std::time::Duration::from_millis(500);

/// Attempts the dispatcher makes for answers that prove the call was not applied.
pub const MAX_ATTEMPTS: u32 = 6;

/// An [`Iam`] and the journal of one run.
#[derive(Debug, Clone)]
pub struct Executor<I> {
    iam: I,
    journal: Arc<Journal>,
    mode: Mode,
    endpoint: String,
    settle: std::time::Duration,
    backoff_ms: u64,
}

impl<I: Iam> Executor<I> {
    /// Runs against `iam`, journaling to `journal`.
    pub fn over(iam: I, journal: Arc<Journal>, mode: Mode) -> Executor<I> {
        Executor {
            iam,
            journal,
            mode,
            endpoint: "the IAM endpoint (iam.amazonaws.com)".to_string(),
            settle: DEFAULT_SETTLE,
            backoff_ms: 50,
        }
    }

    /// How long to wait after an unanswered call before re-reading its target (a request
    /// still in flight lands first; IAM is eventually consistent).
    pub fn settle(&self) -> std::time::Duration {
        self.settle
    }

    /// Sets [`Executor::settle`].
    pub fn with_settle(mut self, settle: std::time::Duration) -> Executor<I> {
        self.settle = settle;
        self
    }

    /// Sets the first resend backoff (doubling per attempt; 50 ms unless set).
    pub fn with_backoff_ms(mut self, ms: u64) -> Executor<I> {
        self.backoff_ms = ms;
        self
    }

    /// Names the endpoint in messages (`--endpoint-url`, when one is set).
    pub fn with_endpoint(mut self, endpoint: Option<&str>) -> Executor<I> {
        if let Some(e) = endpoint {
            self.endpoint = e.to_string();
        }
        self
    }

    /// The journal.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// The IAM this runs against.
    pub fn iam(&self) -> &I {
        &self.iam
    }

    /// Sends one mutating call for `action`: see the module docs.
    pub async fn send(&self, action: &str, call: IamCall) -> Result<CallOk, StepError> {
        let (name, request) = call.journal_parts();
        let mut attempt = 1;
        loop {
            self.journal.append(&Record::Call {
                action: action.to_string(),
                mode: self.mode,
                call: name.clone(),
                request: request.clone(),
                at: Utc::now(),
            })?;
            let outcome = self.iam.send(&call).await;
            let resend = outcome.may_resend() && attempt < MAX_ATTEMPTS;
            let result = outcome_result(outcome, call.name(), &self.endpoint);
            self.journal.append(&Record::Result {
                action: action.to_string(),
                mode: self.mode,
                call: name.clone(),
                ok: result.is_ok(),
                error: result.as_ref().err().map(|e| {
                    if resend {
                        format!("{e}; sending it again (the answer proves nothing was changed)")
                    } else {
                        e.to_string()
                    }
                }),
                // The ids of what the call created (a new key, a secret version), so a run
                // cut off before its `done` record still leaves them in the journal.
                response: result
                    .as_ref()
                    .map_or(Value::Null, CallOk::journal_response),
                at: Utc::now(),
            })?;
            if !resend {
                return result;
            }
            let backoff = self.backoff_ms.saturating_mul(1 << attempt.min(6));
            self.iam
                .sleep(std::time::Duration::from_millis(backoff))
                .await;
            attempt += 1;
        }
    }

    /// Waits [`Executor::settle`].
    pub(crate) async fn wait_settle(&self) {
        if !self.settle.is_zero() {
            self.iam.sleep(self.settle).await;
        }
    }
}

impl<I: Iam> Exec for Executor<I> {
    type Iam = I;

    fn iam(&self) -> &I {
        &self.iam
    }

    fn send(
        &self,
        action: &str,
        call: IamCall,
    ) -> impl std::future::Future<Output = Result<CallOk, StepError>> + Send {
        Executor::send(self, action, call)
    }

    fn wait_settle(&self) -> impl std::future::Future<Output = ()> + Send {
        Executor::wait_settle(self)
    }
}
