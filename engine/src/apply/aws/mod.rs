//! The AWS edge of apply: for each step of the plan contract, the reads that decide whether
//! the action is still valid (its precondition, [`check`]), the calls that make it with AWS's
//! real prerequisites ([`execute`]), and what reverses it ([`reverse`]). This file holds the
//! client, the journaled [`Aws::mutate`] every changing call goes through, and the reads.

use super::journal::{Journal, JournalError, Mode, Record};
use super::UndoOp;
use crate::inventory::PasswordPolicy;
use crate::plan::Action;
use crate::policy::parse_document_text;
use crate::spec::StepName;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::StatusType;
use aws_sdk_iam::Client;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A failed step.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// An IAM call failed.
    #[error("{call} failed: {message}{}", permission_hint(call, code.as_deref()))]
    Call {
        /// The API operation.
        call: &'static str,
        /// The AWS error code.
        code: Option<String>,
        /// What AWS or the SDK said (never credentials).
        message: String,
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
            StepError::Call { code, .. } => code.as_deref(),
            _ => None,
        }
    }
    fn is_not_found(&self) -> bool {
        self.code() == Some("NoSuchEntity")
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
    let (code, message) = crate::inventory::live::code_and_message(&err);
    StepError::Call {
        call,
        code,
        message,
    }
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
        }
    }

    /// The journal.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Makes one mutating call: journals the intent, sends, journals the result.
    async fn mutate<T, E, R, F>(
        &self,
        action: &str,
        call: &'static str,
        request: Value,
        send: F,
    ) -> Result<T, StepError>
    where
        F: std::future::Future<Output = Result<T, SdkError<E, R>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        self.journal.append(&Record::Call {
            action: action.to_string(),
            mode: self.mode,
            call: call.to_string(),
            request,
            at: Utc::now(),
        })?;
        let result = send.await.map_err(|e| sdk_err(call, e));
        self.journal.append(&Record::Result {
            action: action.to_string(),
            mode: self.mode,
            call: call.to_string(),
            ok: result.is_ok(),
            error: result.as_ref().err().map(ToString::to_string),
            response: Value::Null,
            at: Utc::now(),
        })?;
        result
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
