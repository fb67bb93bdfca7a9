//! The AWS edge of apply: for each step of the plan contract, the reads that decide whether
//! the action is still valid (its precondition, `check.rs`), the calls that make it with AWS's
//! real prerequisites (`execute.rs`), and what reverses it (`reverse.rs`). This file holds the
//! client, the one journaled dispatcher every changing call goes through (`mutate!` ->
//! `Aws::dispatch`, which types each call's outcome as a [`CallOutcome`]), and the reads.

use super::journal::{Journal, JournalError, Mode, Record};
use super::UndoOp;
use crate::inventory::PasswordPolicy;
use crate::plan::Action;
use crate::policy::parse_document_text;
use crate::spec::StepName;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::StatusType;
use aws_sdk_iam::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

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
    /// The journal could not be written: apply must stop.
    #[error(transparent)]
    Journal(#[from] JournalError),
}

impl StepError {
    fn code(&self) -> Option<&str> {
        match self {
            StepError::Call { code, .. } | StepError::Refused { code, .. } => code.as_deref(),
            _ => None,
        }
    }
    fn is_not_found(&self) -> bool {
        self.code() == Some("NoSuchEntity")
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

fn sdk_err<E, R>(call: &'static str, err: SdkError<E, R>) -> StepError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let (code, mut message) = crate::inventory::live::code_and_message(&err);
    // A read that reached the endpoint and lost its answer did not fail to reach it.
    let reached = matches!(
        err,
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_)
    ) && !never_sent(&err);
    if reached && message.starts_with("cannot reach the IAM endpoint") {
        message = format!(
            "the request was sent but no answer came ({})",
            chain_text(&err)
        );
    }
    StepError::Call {
        call,
        code,
        message,
    }
}

/// An unanswered call whose re-read failed.
fn unresolved(sent: &StepError, reread: &StepError) -> StepError {
    StepError::Unresolved {
        sent: sent.to_string(),
        reread: reread.to_string(),
    }
}

/// An unanswered call the re-read showed was not (or not only) applied.
fn resolved_failure(sent: &StepError, reread: &str) -> StepError {
    StepError::Resolved {
        sent: sent.to_string(),
        reread: reread.to_string(),
    }
}

/// What one mutating call came to, as the dispatcher (`Aws::dispatch`) classifies it.
#[derive(Debug, Clone, PartialEq)]
pub enum CallOutcome<T> {
    /// IAM answered with success.
    Done(T),
    /// IAM answered with an error response: the change was not made.
    Refused {
        /// The AWS error code.
        code: Option<String>,
        /// What IAM said.
        message: String,
        /// The HTTP status.
        status: u16,
        /// The answer proves the call was not applied and may be sent again (throttling,
        /// service unavailable).
        retryable: bool,
    },
    /// The request was sent (or may have been) and no usable answer came: a timeout, a
    /// connection cut before or during the response, or a 5xx that does not say whether the
    /// change was made.
    Unknown {
        /// What happened.
        message: String,
    },
    /// The request never left (the connection was refused, the request could not be built).
    NotSent {
        /// What happened.
        message: String,
    },
}

/// Error codes that answer "not now, nothing done": sending again is safe.
const RETRYABLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "ServiceUnavailable",
    "ServiceUnavailableException",
];

/// The default wait before re-reading after an unanswered call.
pub const DEFAULT_SETTLE: std::time::Duration = std::time::Duration::from_millis(500);

/// Attempts the dispatcher makes for answers that prove the call was not applied.
const MAX_ATTEMPTS: u32 = 6;

/// The error chain's `Display` texts, joined (never `Debug`, which could carry the request).
fn chain_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = e.source();
    }
    parts.join(": ")
}

/// Whether a dispatch failure happened before the request left: the connection was refused.
fn never_sent(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::AddrNotAvailable
            ) {
                return true;
            }
        }
        if e.to_string().contains("client error (Connect)") {
            return true;
        }
        cur = e.source();
    }
    false
}

/// Classifies what the SDK returned for one attempt of a mutating call (sent with the SDK's
/// own retries off).
pub fn classify<T, E>(result: Result<T, SdkError<E, HttpResponse>>) -> CallOutcome<T>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let err = match result {
        Ok(v) => return CallOutcome::Done(v),
        Err(e) => e,
    };
    match &err {
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let code = se.err().code().map(str::to_string);
            let message = se.err().message().unwrap_or("no message").to_string();
            let retryable = code
                .as_deref()
                .is_some_and(|c| RETRYABLE_CODES.contains(&c))
                || status == 503;
            if status >= 500 && !retryable {
                return CallOutcome::Unknown {
                    message: format!(
                        "IAM answered HTTP {status} {}, which does not say whether the change was made",
                        code.as_deref().unwrap_or("without an error code")
                    ),
                };
            }
            CallOutcome::Refused {
                code,
                message,
                status,
                retryable,
            }
        }
        SdkError::ConstructionFailure(_) => CallOutcome::NotSent {
            message: chain_text(&err),
        },
        SdkError::TimeoutError(_) => CallOutcome::Unknown {
            message: format!("no answer within the timeout: {}", chain_text(&err)),
        },
        SdkError::ResponseError(_) => CallOutcome::Unknown {
            message: format!("the response was cut or unreadable: {}", chain_text(&err)),
        },
        SdkError::DispatchFailure(d) => {
            if never_sent(&err) {
                CallOutcome::NotSent {
                    message: chain_text(&err),
                }
            } else if d.is_timeout() {
                CallOutcome::Unknown {
                    message: format!("no answer within the timeout: {}", chain_text(&err)),
                }
            } else {
                CallOutcome::Unknown {
                    message: format!(
                        "the connection failed after the request was sent: {}",
                        chain_text(&err)
                    ),
                }
            }
        }
        _ => CallOutcome::Unknown {
            message: chain_text(&err),
        },
    }
}

impl<T> CallOutcome<T> {
    /// The step's result: the value, or the typed error naming the call and the endpoint.
    pub fn into_result(self, call: &'static str, endpoint: &str) -> Result<T, StepError> {
        match self {
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

    /// Whether the answer proves nothing was changed and the call may be sent again.
    fn may_resend(&self) -> bool {
        matches!(
            self,
            CallOutcome::Refused {
                retryable: true,
                ..
            } | CallOutcome::NotSent { .. }
        )
    }
}

/// The per-operation config every mutating call is sent with: the SDK's automatic retry off
/// (a retry after an unanswered attempt could apply a non-idempotent call twice).
fn no_retry() -> aws_sdk_iam::config::Builder {
    aws_sdk_iam::config::Builder::default()
        .retry_config(aws_sdk_iam::config::retry::RetryConfig::disabled())
}

/// Sends one mutating call through [`Aws::dispatch`]: `mutate!(self, action, OPERATION,
/// json!(request), client.operation().param(..))` (the builder without `.send()`; OPERATION
/// a string literal).
macro_rules! mutate {
    ($self:expr, $action:expr, $call:literal, $request:expr, $builder:expr $(,)?) => {
        $self
            .dispatch($action, $call, $request, || {
                $builder.customize().config_override(no_retry()).send()
            })
            .await
    };
}

/// Every item of a paginated list call (all pages), or the call's error.
macro_rules! all_items {
    ($call:literal, $request:expr) => {
        $request
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| sdk_err($call, e))
    };
}

// After the macro, so the step modules can use it.
mod check;
mod execute;
mod in_use;
mod reverse;

pub use check::Check;
pub use reverse::undo_for;

/// `Ok(None)` for NoSuchEntity.
fn found<T>(r: Result<T, StepError>) -> Result<Option<T>, StepError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// The IAM client and the journal of one run.
#[derive(Debug, Clone)]
pub struct Aws {
    client: Client,
    journal: Arc<Journal>,
    mode: Mode,
    endpoint: String,
    settle: std::time::Duration,
}

fn param<'a>(a: &'a Action, key: &str) -> Result<&'a str, StepError> {
    a.params
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| StepError::Plan(format!("{} has no `{key}` parameter", a.id)))
}

fn ts(t: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    let t = t?;
    DateTime::from_timestamp(t.secs(), 0)
}

/// A plan timestamp, at second precision (the credential report has whole seconds).
fn plan_ts(v: Option<&Value>) -> Option<DateTime<Utc>> {
    let s = v?.as_str()?;
    let t = DateTime::parse_from_rfc3339(s).ok()?.with_timezone(&Utc);
    DateTime::from_timestamp(t.timestamp(), 0)
}

fn ts_value(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| {
        Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    })
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

fn doc_text(v: &Value) -> String {
    v.to_string()
}

fn doc_hash(v: &Value) -> String {
    crate::compile::sha256_hex(v.to_string().as_bytes())
}

fn entity_of(a: &Action) -> Result<(&'static str, &str), StepError> {
    for (kind, key) in [
        ("user", "user_name"),
        ("group", "group_name"),
        ("role", "role_name"),
    ] {
        if let Some(n) = a.params.get(key).and_then(Value::as_str) {
            return Ok((kind, n));
        }
    }
    Err(StepError::Plan(format!(
        "{} names no user, group or role",
        a.id
    )))
}

/// The (kind, name) tag calls use: user/role name, or the policy ARN.
fn tag_target(a: &Action) -> Result<(&'static str, String), StepError> {
    use crate::inventory::ResourceKind as R;
    match a.resource.kind {
        R::User => Ok(("user", a.resource.name.clone())),
        R::Role => Ok(("role", a.resource.name.clone())),
        R::ManagedPolicy => a
            .resource
            .arn
            .clone()
            .map(|arn| ("managed_policy", arn))
            .ok_or_else(|| StepError::Plan(format!("{} has no policy ARN", a.id))),
        _ => Err(StepError::Plan(format!(
            "{}: tags are set on users, roles and managed policies only",
            a.id
        ))),
    }
}

/// What `GetUser` tells the checks.
#[derive(Debug, Clone)]
struct UserInfo {
    id: String,
    boundary: Option<String>,
    password_last_used: Option<DateTime<Utc>>,
}

/// Attachments as the plan and the check compare them.
#[derive(Debug, Default, Clone, PartialEq)]
struct Attachments {
    users: Vec<String>,
    groups: Vec<String>,
    roles: Vec<String>,
}

impl Attachments {
    fn of(v: Option<&Value>) -> Attachments {
        Attachments {
            users: strings(v.and_then(|a| a.get("users"))),
            groups: strings(v.and_then(|a| a.get("groups"))),
            roles: strings(v.and_then(|a| a.get("roles"))),
        }
    }
    fn is_empty(&self) -> bool {
        self.users.is_empty() && self.groups.is_empty() && self.roles.is_empty()
    }
    /// Entities attached now that the plan did not see.
    fn new_since(&self, planned: &Attachments) -> Vec<String> {
        let mut out = Vec::new();
        for (now, then, kind) in [
            (&self.users, &planned.users, "user"),
            (&self.groups, &planned.groups, "group"),
            (&self.roles, &planned.roles, "role"),
        ] {
            out.extend(
                now.iter()
                    .filter(|n| !then.contains(n))
                    .map(|n| format!("{kind} {n}")),
            );
        }
        out
    }
    fn to_value(&self) -> Value {
        json!({"users": self.users, "groups": self.groups, "roles": self.roles})
    }
}

fn password_policy_value(p: Option<&PasswordPolicy>) -> Value {
    serde_json::to_value(p).unwrap_or(Value::Null)
}

impl Aws {
    /// A client and the journal its mutating calls are written to.
    pub fn new(client: Client, journal: Arc<Journal>, mode: Mode) -> Aws {
        Aws {
            client,
            journal,
            mode,
            endpoint: "the IAM endpoint (iam.amazonaws.com)".to_string(),
            settle: DEFAULT_SETTLE,
        }
    }

    /// How long to wait after an unanswered call before re-reading its target (a request
    /// still in flight lands first; IAM is eventually consistent).
    pub fn settle(&self) -> std::time::Duration {
        self.settle
    }

    /// Sets [`Aws::settle`].
    pub fn with_settle(mut self, settle: std::time::Duration) -> Aws {
        self.settle = settle;
        self
    }

    /// Names the endpoint in messages (`--endpoint-url`, when one is set).
    pub fn with_endpoint(mut self, endpoint: Option<&str>) -> Aws {
        if let Some(e) = endpoint {
            self.endpoint = e.to_string();
        }
        self
    }

    /// The journal.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// The one dispatcher every mutating call goes through: journals the intent (`call`)
    /// before each attempt, sends it (with the SDK's retry off, see [`mutate!`]), journals
    /// the result, and classifies it ([`CallOutcome`]). It sends again only after an answer
    /// that proves nothing was changed (throttling, service unavailable, connection refused);
    /// an unanswered attempt is returned as [`StepError::Unknown`] for the caller to resolve
    /// by re-reading the target.
    async fn dispatch<T, E, F, Fut>(
        &self,
        action: &str,
        call: &'static str,
        request: Value,
        send: F,
    ) -> Result<T, StepError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let mut attempt = 1;
        loop {
            self.journal.append(&Record::Call {
                action: action.to_string(),
                mode: self.mode,
                call: call.to_string(),
                request: request.clone(),
                at: Utc::now(),
            })?;
            let outcome = classify(send().await);
            let resend = outcome.may_resend() && attempt < MAX_ATTEMPTS;
            let result = outcome.into_result(call, &self.endpoint);
            self.journal.append(&Record::Result {
                action: action.to_string(),
                mode: self.mode,
                call: call.to_string(),
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
            let backoff = 50u64.saturating_mul(1 << attempt.min(6));
            tokio::time::sleep(std::time::Duration::from_millis(backoff)).await;
            attempt += 1;
        }
    }

    // ---- reads -------------------------------------------------------------------------

    /// The user's keys: (id, status); `None` when the user does not exist.
    async fn access_keys(&self, user: &str) -> Result<Option<Vec<(String, String)>>, StepError> {
        let r = all_items!(
            "ListAccessKeys",
            self.client.list_access_keys().user_name(user)
        );
        Ok(found(r)?.map(|keys| {
            keys.iter()
                .map(|k| {
                    (
                        k.access_key_id().unwrap_or_default().to_string(),
                        k.status()
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_default(),
                    )
                })
                .collect()
        }))
    }

    async fn key_last_used(&self, key: &str) -> Result<Option<DateTime<Utc>>, StepError> {
        let out = self
            .client
            .get_access_key_last_used()
            .access_key_id(key)
            .send()
            .await
            .map_err(|e| sdk_err("GetAccessKeyLastUsed", e))?;
        Ok(ts(out
            .access_key_last_used()
            .and_then(|u| u.last_used_date())))
    }

    /// (create date, reset required); `None` without a login profile.
    async fn login_profile(
        &self,
        user: &str,
    ) -> Result<Option<(Option<DateTime<Utc>>, bool)>, StepError> {
        let r = self
            .client
            .get_login_profile()
            .user_name(user)
            .send()
            .await
            .map_err(|e| sdk_err("GetLoginProfile", e));
        Ok(found(r)?.map(|o| {
            let lp = o.login_profile();
            (
                ts(lp.map(|l| l.create_date())),
                lp.is_some_and(|l| l.password_reset_required()),
            )
        }))
    }

    /// The user's MFA devices: (serial, enable date); `None` when the user does not exist.
    async fn mfa_devices(
        &self,
        user: &str,
    ) -> Result<Option<Vec<(String, Option<DateTime<Utc>>)>>, StepError> {
        let r = all_items!(
            "ListMFADevices",
            self.client.list_mfa_devices().user_name(user)
        );
        Ok(found(r)?.map(|ds| {
            ds.iter()
                .map(|d| (d.serial_number().to_string(), ts(Some(d.enable_date()))))
                .collect()
        }))
    }

    async fn virtual_mfa_exists(&self, serial: &str) -> Result<bool, StepError> {
        let all = all_items!(
            "ListVirtualMFADevices",
            self.client.list_virtual_mfa_devices()
        )?;
        Ok(all.iter().any(|d| d.serial_number() == serial))
    }

    /// Managed policies attached to a user, group or role; `None` when it does not exist.
    async fn attached(&self, kind: &str, name: &str) -> Result<Option<Vec<String>>, StepError> {
        let arns = |ps: Vec<aws_sdk_iam::types::AttachedPolicy>| {
            ps.iter()
                .filter_map(|p| p.policy_arn().map(str::to_string))
                .collect::<Vec<_>>()
        };
        let r = match kind {
            "user" => all_items!(
                "ListAttachedUserPolicies",
                self.client.list_attached_user_policies().user_name(name)
            )
            .map(arns),
            "group" => all_items!(
                "ListAttachedGroupPolicies",
                self.client.list_attached_group_policies().group_name(name)
            )
            .map(arns),
            _ => all_items!(
                "ListAttachedRolePolicies",
                self.client.list_attached_role_policies().role_name(name)
            )
            .map(arns),
        };
        found(r)
    }

    /// An inline policy's document; `None` when it (or its owner) does not exist.
    async fn inline(
        &self,
        kind: &str,
        owner: &str,
        name: &str,
    ) -> Result<Option<Value>, StepError> {
        let r = match kind {
            "user" => self
                .client
                .get_user_policy()
                .user_name(owner)
                .policy_name(name)
                .send()
                .await
                .map(|o| o.policy_document().to_string())
                .map_err(|e| sdk_err("GetUserPolicy", e)),
            "group" => self
                .client
                .get_group_policy()
                .group_name(owner)
                .policy_name(name)
                .send()
                .await
                .map(|o| o.policy_document().to_string())
                .map_err(|e| sdk_err("GetGroupPolicy", e)),
            _ => self
                .client
                .get_role_policy()
                .role_name(owner)
                .policy_name(name)
                .send()
                .await
                .map(|o| o.policy_document().to_string())
                .map_err(|e| sdk_err("GetRolePolicy", e)),
        };
        Ok(found(r)?.map(|text| parse_document_text(&text).unwrap_or(Value::String(text))))
    }

    async fn inline_names(&self, user: &str) -> Result<Vec<String>, StepError> {
        all_items!(
            "ListUserPolicies",
            self.client.list_user_policies().user_name(user)
        )
    }

    async fn groups_of(&self, user: &str) -> Result<Option<Vec<String>>, StepError> {
        let r = all_items!(
            "ListGroupsForUser",
            self.client.list_groups_for_user().user_name(user)
        );
        Ok(found(r)?.map(|gs| gs.iter().map(|g| g.group_name().to_string()).collect()))
    }

    /// (user id, permissions boundary ARN); `None` when the user does not exist.
    /// (user id, permissions boundary ARN, last console sign-in); `None` when the user does
    /// not exist.
    async fn user(&self, name: &str) -> Result<Option<UserInfo>, StepError> {
        let r = self
            .client
            .get_user()
            .user_name(name)
            .send()
            .await
            .map_err(|e| sdk_err("GetUser", e));
        Ok(found(r)?.and_then(|o| {
            o.user().map(|u| UserInfo {
                id: u.user_id().to_string(),
                boundary: u
                    .permissions_boundary()
                    .and_then(|b| b.permissions_boundary_arn())
                    .map(str::to_string),
                password_last_used: ts(u.password_last_used()),
            })
        }))
    }

    /// The group's id; `None` when the group does not exist.
    async fn group_id(&self, name: &str) -> Result<Option<String>, StepError> {
        let r = self
            .client
            .get_group()
            .group_name(name)
            .max_items(1)
            .send()
            .await
            .map_err(|e| sdk_err("GetGroup", e));
        Ok(found(r)?.and_then(|o| o.group().map(|g| g.group_id().to_string())))
    }

    /// The role's id; `None` when the role does not exist.
    async fn role_id(&self, name: &str) -> Result<Option<String>, StepError> {
        let r = self
            .client
            .get_role()
            .role_name(name)
            .send()
            .await
            .map_err(|e| sdk_err("GetRole", e));
        Ok(found(r)?.and_then(|o| o.role().map(|r| r.role_id().to_string())))
    }

    /// The managed policy's id; `None` when the policy does not exist.
    async fn policy_id(&self, arn: &str) -> Result<Option<String>, StepError> {
        let r = self
            .client
            .get_policy()
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| sdk_err("GetPolicy", e));
        Ok(found(r)?.and_then(|o| o.policy().and_then(|p| p.policy_id()).map(str::to_string)))
    }

    /// The default version id; `None` when the policy does not exist.
    async fn policy_default(&self, arn: &str) -> Result<Option<String>, StepError> {
        let r = self
            .client
            .get_policy()
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| sdk_err("GetPolicy", e));
        Ok(found(r)?.map(|o| {
            o.policy()
                .and_then(|p| p.default_version_id())
                .unwrap_or_default()
                .to_string()
        }))
    }

    async fn policy_document(&self, arn: &str, version: &str) -> Result<Value, StepError> {
        let out = self
            .client
            .get_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send()
            .await
            .map_err(|e| sdk_err("GetPolicyVersion", e))?;
        let text = out
            .policy_version()
            .and_then(|v| v.document())
            .unwrap_or_default();
        Ok(parse_document_text(text).unwrap_or(Value::String(text.to_string())))
    }

    /// (version id, is default, create date), oldest first.
    async fn policy_versions(
        &self,
        arn: &str,
    ) -> Result<Vec<(String, bool, Option<DateTime<Utc>>)>, StepError> {
        let vs = all_items!(
            "ListPolicyVersions",
            self.client.list_policy_versions().policy_arn(arn)
        )?;
        let mut out: Vec<(String, bool, Option<DateTime<Utc>>)> = vs
            .iter()
            .map(|v| {
                (
                    v.version_id().unwrap_or_default().to_string(),
                    v.is_default_version(),
                    ts(v.create_date()),
                )
            })
            .collect();
        out.sort_by_key(|(id, _, c)| (*c, id.trim_start_matches('v').parse::<u64>().unwrap_or(0)));
        Ok(out)
    }

    async fn entities(&self, arn: &str) -> Result<Attachments, StepError> {
        let mut att = Attachments::default();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .list_entities_for_policy()
                .policy_arn(arn)
                .set_marker(marker.clone())
                .send()
                .await
                .map_err(|e| sdk_err("ListEntitiesForPolicy", e))?;
            att.users.extend(
                page.policy_users()
                    .iter()
                    .filter_map(|u| u.user_name().map(str::to_string)),
            );
            att.groups.extend(
                page.policy_groups()
                    .iter()
                    .filter_map(|g| g.group_name().map(str::to_string)),
            );
            att.roles.extend(
                page.policy_roles()
                    .iter()
                    .filter_map(|r| r.role_name().map(str::to_string)),
            );
            marker = page.marker().map(str::to_string);
            if !page.is_truncated() || marker.is_none() {
                return Ok(att);
            }
        }
    }

    async fn password_policy(&self) -> Result<Option<PasswordPolicy>, StepError> {
        let r = self
            .client
            .get_account_password_policy()
            .send()
            .await
            .map_err(|e| sdk_err("GetAccountPasswordPolicy", e));
        Ok(found(r)?.and_then(|o| {
            o.password_policy()
                .map(crate::inventory::live::password_policy_of)
        }))
    }

    /// Tags of a user, role or managed policy; `None` when it does not exist.
    async fn tags(
        &self,
        kind: &str,
        name: &str,
    ) -> Result<Option<BTreeMap<String, String>>, StepError> {
        let to_map = |ts: &[aws_sdk_iam::types::Tag]| {
            ts.iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        let r = match kind {
            "user" => all_items!("ListUserTags", self.client.list_user_tags().user_name(name))
                .map(|t| to_map(&t)),
            "role" => all_items!("ListRoleTags", self.client.list_role_tags().role_name(name))
                .map(|t| to_map(&t)),
            _ => all_items!(
                "ListPolicyTags",
                self.client.list_policy_tags().policy_arn(name)
            )
            .map(|t| to_map(&t)),
        };
        found(r)
    }
}

/// Who is calling: `sts:GetCallerIdentity` and the access key id of the credentials in use.
pub async fn caller(config: &aws_config::SdkConfig) -> Result<super::Caller, StepError> {
    let sts = aws_sdk_sts::Client::new(config);
    let out = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| sdk_err("GetCallerIdentity", e))?;
    let access_key_id = match config.credentials_provider() {
        Some(p) => {
            use aws_credential_types::provider::ProvideCredentials;
            p.provide_credentials()
                .await
                .ok()
                .map(|c| c.access_key_id().to_string())
        }
        None => None,
    };
    Ok(super::Caller {
        arn: out.arn().unwrap_or_default().to_string(),
        account_id: out.account().unwrap_or_default().to_string(),
        access_key_id,
    })
}
