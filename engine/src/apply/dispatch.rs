//! The one dispatcher every mutating call goes through, generic over the [`Iam`] it runs
//! against: journal the intent (written from the [`IamCall`] it sends, so the journal and the
//! request cannot disagree), send one attempt, journal the result, and send again only when
//! the answer proves nothing was changed (throttling, service unavailable, not sent), with
//! backoff. An unanswered attempt comes back as [`StepError::Unknown`] for the step to
//! resolve by re-reading. [`Executor`] also carries the reads, typed as step errors.

use crate::iam::{outcome_result, StepError};
use super::journal::{Journal, Mode, Record};
use crate::iam::{
    Attachments, CallOk, Iam, IamCall, KeyStatus, LoginProfileInfo, MfaDeviceInfo, UserInfo,
    VersionInfo,
};
use crate::inventory::PasswordPolicy;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::BTreeMap;
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
                response: Value::Null,
                at: Utc::now(),
            })?;
            if !resend {
                return result;
            }
            let backoff = self.backoff_ms.saturating_mul(1 << attempt.min(6));
            tokio::time::sleep(std::time::Duration::from_millis(backoff)).await;
            attempt += 1;
        }
    }

    /// Waits [`Executor::settle`].
    pub(crate) async fn wait_settle(&self) {
        if !self.settle.is_zero() {
            tokio::time::sleep(self.settle).await;
        }
    }

    // ---- reads, as step errors ---------------------------------------------------------

    pub(crate) async fn access_keys(
        &self,
        user: &str,
    ) -> Result<Option<Vec<KeyStatus>>, StepError> {
        Ok(self.iam.access_keys(user).await?)
    }
    pub(crate) async fn key_last_used(
        &self,
        key: &str,
    ) -> Result<Option<DateTime<Utc>>, StepError> {
        Ok(self.iam.key_last_used(key).await?)
    }
    pub(crate) async fn login_profile(
        &self,
        user: &str,
    ) -> Result<Option<LoginProfileInfo>, StepError> {
        Ok(self.iam.login_profile(user).await?)
    }
    pub(crate) async fn mfa_devices(
        &self,
        user: &str,
    ) -> Result<Option<Vec<MfaDeviceInfo>>, StepError> {
        Ok(self.iam.mfa_devices(user).await?)
    }
    pub(crate) async fn virtual_mfa_exists(&self, serial: &str) -> Result<bool, StepError> {
        Ok(self.iam.virtual_mfa_exists(serial).await?)
    }
    pub(crate) async fn user(&self, name: &str) -> Result<Option<UserInfo>, StepError> {
        Ok(self.iam.user(name).await?)
    }
    pub(crate) async fn group_id(&self, name: &str) -> Result<Option<String>, StepError> {
        Ok(self.iam.group_id(name).await?)
    }
    pub(crate) async fn role_id(&self, name: &str) -> Result<Option<String>, StepError> {
        Ok(self.iam.role_id(name).await?)
    }
    pub(crate) async fn attached(
        &self,
        kind: &str,
        name: &str,
    ) -> Result<Option<Vec<String>>, StepError> {
        Ok(self.iam.attached(kind, name).await?)
    }
    pub(crate) async fn inline(
        &self,
        kind: &str,
        owner: &str,
        name: &str,
    ) -> Result<Option<Value>, StepError> {
        Ok(self.iam.inline(kind, owner, name).await?)
    }
    pub(crate) async fn inline_names(&self, user: &str) -> Result<Vec<String>, StepError> {
        Ok(self.iam.inline_names(user).await?)
    }
    pub(crate) async fn groups_of(&self, user: &str) -> Result<Option<Vec<String>>, StepError> {
        Ok(self.iam.groups_of(user).await?)
    }
    pub(crate) async fn policy_id(&self, arn: &str) -> Result<Option<String>, StepError> {
        Ok(self.iam.policy_id(arn).await?)
    }
    pub(crate) async fn policy_default(&self, arn: &str) -> Result<Option<String>, StepError> {
        Ok(self.iam.policy_default(arn).await?)
    }
    pub(crate) async fn policy_document(
        &self,
        arn: &str,
        version: &str,
    ) -> Result<Value, StepError> {
        Ok(self.iam.policy_document(arn, version).await?)
    }
    pub(crate) async fn policy_versions(&self, arn: &str) -> Result<Vec<VersionInfo>, StepError> {
        Ok(self.iam.policy_versions(arn).await?)
    }
    pub(crate) async fn entities(&self, arn: &str) -> Result<Attachments, StepError> {
        Ok(self.iam.entities(arn).await?)
    }
    pub(crate) async fn password_policy(&self) -> Result<Option<PasswordPolicy>, StepError> {
        Ok(self.iam.password_policy().await?)
    }
    pub(crate) async fn tags(
        &self,
        kind: &str,
        name: &str,
    ) -> Result<Option<BTreeMap<String, String>>, StepError> {
        Ok(self.iam.tags(kind, name).await?)
    }
    pub(crate) async fn signing_certificates(&self, user: &str) -> Result<Vec<String>, StepError> {
        Ok(self.iam.signing_certificates(user).await?)
    }
    pub(crate) async fn ssh_public_keys(&self, user: &str) -> Result<Vec<String>, StepError> {
        Ok(self.iam.ssh_public_keys(user).await?)
    }
    pub(crate) async fn service_specific_credentials(
        &self,
        user: &str,
    ) -> Result<Vec<String>, StepError> {
        Ok(self.iam.service_specific_credentials(user).await?)
    }
}
