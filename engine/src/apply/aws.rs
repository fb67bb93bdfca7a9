//! The AWS edge of apply: for each step of the plan contract, the reads that decide whether
//! the action is still valid (its precondition), the calls that make it (with AWS's real
//! prerequisites), and what reverses it. Every mutating call goes through [`Aws::mutate`],
//! which journals the intent before and the result after.

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
    let code = err.code().map(str::to_string);
    let message = match err.as_service_error() {
        Some(se) => se.message().unwrap_or("no message").to_string(),
        None => crate::inventory::live::describe_transport_error(&err),
    };
    StepError::Call {
        call,
        code,
        message,
    }
}

/// `Ok(None)` for NoSuchEntity.
fn found<T>(r: Result<T, StepError>) -> Result<Option<T>, StepError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// What the re-read says about an action.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// The precondition holds: run it. Carries the state read (journaled as `before`).
    Proceed(Value),
    /// The target is already in the planned state. Carries what was observed.
    Already(Value),
    /// The target changed since the plan was made.
    Stale(String),
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
        let r = self
            .client
            .list_access_keys()
            .user_name(user)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| sdk_err("ListAccessKeys", e));
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
        let r = self
            .client
            .list_mfa_devices()
            .user_name(user)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| sdk_err("ListMFADevices", e));
        Ok(found(r)?.map(|ds| {
            ds.iter()
                .map(|d| (d.serial_number().to_string(), ts(Some(d.enable_date()))))
                .collect()
        }))
    }

    async fn virtual_mfa_exists(&self, serial: &str) -> Result<bool, StepError> {
        let all = self
            .client
            .list_virtual_mfa_devices()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| sdk_err("ListVirtualMFADevices", e))?;
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
            "user" => self
                .client
                .list_attached_user_policies()
                .user_name(name)
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .map(arns)
                .map_err(|e| sdk_err("ListAttachedUserPolicies", e)),
            "group" => self
                .client
                .list_attached_group_policies()
                .group_name(name)
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .map(arns)
                .map_err(|e| sdk_err("ListAttachedGroupPolicies", e)),
            _ => self
                .client
                .list_attached_role_policies()
                .role_name(name)
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .map(arns)
                .map_err(|e| sdk_err("ListAttachedRolePolicies", e)),
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
        self.client
            .list_user_policies()
            .user_name(user)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| sdk_err("ListUserPolicies", e))
    }

    async fn groups_of(&self, user: &str) -> Result<Option<Vec<String>>, StepError> {
        let r = self
            .client
            .list_groups_for_user()
            .user_name(user)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| sdk_err("ListGroupsForUser", e));
        Ok(found(r)?.map(|gs| gs.iter().map(|g| g.group_name().to_string()).collect()))
    }

    /// (user id, permissions boundary ARN); `None` when the user does not exist.
    async fn user(&self, name: &str) -> Result<Option<(String, Option<String>)>, StepError> {
        let r = self
            .client
            .get_user()
            .user_name(name)
            .send()
            .await
            .map_err(|e| sdk_err("GetUser", e));
        Ok(found(r)?.and_then(|o| {
            o.user().map(|u| {
                (
                    u.user_id().to_string(),
                    u.permissions_boundary()
                        .and_then(|b| b.permissions_boundary_arn())
                        .map(str::to_string),
                )
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
        let vs = self
            .client
            .list_policy_versions()
            .policy_arn(arn)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| sdk_err("ListPolicyVersions", e))?;
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
            "user" => self
                .client
                .list_user_tags()
                .user_name(name)
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .map(|t| to_map(&t))
                .map_err(|e| sdk_err("ListUserTags", e)),
            "role" => self
                .client
                .list_role_tags()
                .role_name(name)
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .map(|t| to_map(&t))
                .map_err(|e| sdk_err("ListRoleTags", e)),
            _ => self
                .client
                .list_policy_tags()
                .policy_arn(name)
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .map(|t| to_map(&t))
                .map_err(|e| sdk_err("ListPolicyTags", e)),
        };
        found(r)
    }

    // ---- checks ------------------------------------------------------------------------

    /// Re-reads the action's target and compares it with the precondition.
    pub async fn check(&self, a: &Action) -> Result<Check, StepError> {
        use StepName as S;
        let pre = &a.precondition;
        Ok(match a.action {
            S::DeactivateAccessKey | S::DeleteAccessKey => {
                let user = param(a, "user")?;
                let key = a.resource.id.as_str();
                let deleting = a.action == S::DeleteAccessKey;
                let Some(keys) = self.access_keys(user).await? else {
                    return Ok(if deleting {
                        Check::Already(json!({"access_key": "absent"}))
                    } else {
                        Check::Stale(format!("user {user} no longer exists"))
                    });
                };
                let Some((_, status)) = keys.iter().find(|(id, _)| id == key) else {
                    return Ok(if deleting {
                        Check::Already(json!({"access_key": "absent"}))
                    } else {
                        Check::Stale("the access key no longer exists".into())
                    });
                };
                if !deleting && status == "Inactive" {
                    return Ok(Check::Already(json!({"status": "Inactive"})));
                }
                let planned = pre
                    .get("status")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if status != planned {
                    return Ok(Check::Stale(format!(
                        "the key is {status} now; the plan saw it {planned}"
                    )));
                }
                let used = self.key_last_used(key).await?;
                let planned_use = plan_ts(pre.get("last_used_at"));
                if pre.get("last_used_at").is_some() && used != planned_use && used > planned_use {
                    return Ok(Check::Stale(format!(
                        "the key was used at {} since the plan saw its last use ({})",
                        ts_value(used),
                        ts_value(planned_use).as_str().unwrap_or("never")
                    )));
                }
                Check::Proceed(json!({"status": status, "last_used_at": ts_value(used)}))
            }
            S::RequirePasswordReset | S::DeleteLoginProfile => {
                let user = param(a, "user")?;
                match self.login_profile(user).await? {
                    None if a.action == S::DeleteLoginProfile => {
                        Check::Already(json!({"login_profile": "absent"}))
                    }
                    None => Check::Stale(format!("user {user} no longer has a console password")),
                    Some((_, true)) if a.action == S::RequirePasswordReset => {
                        Check::Already(json!({"password_reset_required": true}))
                    }
                    Some((created, reset)) => Check::Proceed(json!({
                        "login_profile": "present",
                        "created_at": ts_value(created),
                        "password_reset_required": reset,
                    })),
                }
            }
            S::DeactivateMfaDevice => {
                let user = param(a, "user")?;
                let serial = a.resource.id.as_str();
                let delete_virtual =
                    a.params.get("delete_virtual").and_then(Value::as_bool) == Some(true);
                let devices = self.mfa_devices(user).await?.unwrap_or_default();
                match devices.iter().find(|(s, _)| s == serial) {
                    Some((_, enabled)) => {
                        let planned = plan_ts(pre.get("enabled_at"));
                        if planned.is_some() && enabled.is_some() && planned != *enabled {
                            return Ok(Check::Stale(format!(
                                "the device was enabled again at {} (the plan saw {})",
                                ts_value(*enabled),
                                ts_value(planned)
                            )));
                        }
                        Check::Proceed(
                            json!({"user": user, "enabled": true, "enabled_at": ts_value(*enabled)}),
                        )
                    }
                    None if delete_virtual && self.virtual_mfa_exists(serial).await? => {
                        Check::Proceed(
                            json!({"user": Value::Null, "enabled": false, "virtual_device": "present"}),
                        )
                    }
                    None => Check::Already(json!({"enabled": false})),
                }
            }
            S::DetachUserPolicy | S::DetachGroupPolicy | S::DetachRolePolicy => {
                let (kind, name) = entity_of(a)?;
                let arn = param(a, "policy_arn")?;
                match self.attached(kind, name).await? {
                    None => Check::Stale(format!("{kind} {name} no longer exists")),
                    Some(arns) if arns.iter().any(|x| x == arn) => {
                        Check::Proceed(json!({"attached_policy": arn}))
                    }
                    Some(_) => Check::Already(json!({"attached": false})),
                }
            }
            S::DeleteInlinePolicy => {
                let kind = param(a, "owner_kind")?;
                let owner = param(a, "owner")?;
                let name = param(a, "policy_name")?;
                match self.inline(kind, owner, name).await? {
                    None => Check::Already(json!({"inline_policy": "absent"})),
                    Some(doc) => {
                        let planned = pre.get("document_sha256").and_then(Value::as_str);
                        if planned.is_some_and(|h| h != doc_hash(&doc)) {
                            Check::Stale(
                                "the inline policy's document changed since the plan was made"
                                    .into(),
                            )
                        } else {
                            Check::Proceed(json!({"policy_name": name, "document": doc}))
                        }
                    }
                }
            }
            S::RemoveUserFromGroup => {
                let user = param(a, "user")?;
                let group = param(a, "group")?;
                match self.groups_of(user).await? {
                    None => Check::Stale(format!("user {user} no longer exists")),
                    Some(gs) if gs.iter().any(|g| g == group) => {
                        Check::Proceed(json!({"group_membership": group}))
                    }
                    Some(_) => Check::Already(json!({"member": false})),
                }
            }
            S::QuarantineUser => {
                let user = param(a, "user")?;
                let name = param(a, "policy_name")?;
                let want = a.params.get("document").cloned().unwrap_or(Value::Null);
                if self.user(user).await?.is_none() {
                    return Ok(Check::Stale(format!("user {user} no longer exists")));
                }
                match self.inline("user", user, name).await? {
                    Some(doc) if doc == want => Check::Already(json!({"inline_policy": name})),
                    Some(_) => Check::Stale(format!(
                        "user {user} has an inline policy named {name} with another document"
                    )),
                    None => Check::Proceed(json!({"inline_policy_absent": name})),
                }
            }
            S::DeleteUser => {
                let user = param(a, "user")?;
                let Some((id, boundary)) = self.user(user).await? else {
                    return Ok(Check::Already(json!({"user": "absent"})));
                };
                let planned_id = pre
                    .get("user_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if id != planned_id {
                    return Ok(Check::Stale(format!(
                        "user {user} is another user now (id {id}; the plan saw {planned_id})"
                    )));
                }
                // Anything the user gained since the plan was reviewed makes it stale.
                let mut new = Vec::new();
                let keys = self.access_keys(user).await?.unwrap_or_default();
                let planned_keys = strings(a.before.get("access_keys"));
                new.extend(
                    keys.iter()
                        .filter(|(k, _)| !planned_keys.contains(k))
                        .map(|(k, _)| format!("access key {k}")),
                );
                let groups = self.groups_of(user).await?.unwrap_or_default();
                let planned_groups = strings(a.before.get("groups"));
                new.extend(
                    groups
                        .iter()
                        .filter(|g| !planned_groups.contains(g))
                        .map(|g| format!("group {g}")),
                );
                let attached = self.attached("user", user).await?.unwrap_or_default();
                let planned_att = strings(a.before.get("attached_policies"));
                new.extend(
                    attached
                        .iter()
                        .filter(|p| !planned_att.contains(p))
                        .map(|p| format!("policy {p}")),
                );
                let inline = self.inline_names(user).await?;
                let planned_inline = strings(a.before.get("inline_policies"));
                new.extend(
                    inline
                        .iter()
                        .filter(|p| !planned_inline.contains(p))
                        .map(|p| format!("inline policy {p}")),
                );
                if !new.is_empty() {
                    return Ok(Check::Stale(format!(
                        "user {user} has changed since the plan was made: {}",
                        new.join(", ")
                    )));
                }
                Check::Proceed(
                    json!({"user_id": id, "permissions_boundary": boundary, "access_keys": keys.iter().map(|(k, _)| k).collect::<Vec<_>>(), "groups": groups, "attached_policies": attached, "inline_policies": inline}),
                )
            }
            S::ReplacePolicyDocument | S::SetDefaultPolicyVersion => {
                let arn = param(a, "policy_arn")?;
                let Some(current) = self.policy_default(arn).await? else {
                    return Ok(Check::Stale(format!("policy {arn} no longer exists")));
                };
                let planned = pre
                    .get("default_version_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let current_doc = self.policy_document(arn, &current).await?;
                if a.action == S::ReplacePolicyDocument {
                    let want = a.params.get("document").cloned().unwrap_or(Value::Null);
                    if current_doc == want {
                        return Ok(Check::Already(json!({"default_version_id": current})));
                    }
                } else if Some(current.as_str())
                    == a.params.get("version_id").and_then(Value::as_str)
                {
                    return Ok(Check::Already(json!({"default_version_id": current})));
                }
                if current != planned {
                    return Ok(Check::Stale(format!(
                        "the policy's default version is {current} now; the plan saw {planned}"
                    )));
                }
                Check::Proceed(json!({"default_version_id": current, "document": current_doc}))
            }
            S::DetachPolicyEverywhere | S::DeletePolicy => {
                let arn = param(a, "policy_arn")?;
                let Some(current) = self.policy_default(arn).await? else {
                    return Ok(if a.action == S::DeletePolicy {
                        Check::Already(json!({"policy": "absent"}))
                    } else {
                        Check::Stale(format!("policy {arn} no longer exists"))
                    });
                };
                let now = self.entities(arn).await?;
                let planned = Attachments::of(a.before.get("attachments"));
                let new = now.new_since(&planned);
                if !new.is_empty() {
                    return Ok(Check::Stale(format!(
                        "the policy was attached to {} since the plan was made",
                        new.join(", ")
                    )));
                }
                if a.action == S::DetachPolicyEverywhere {
                    if now.is_empty() {
                        return Ok(Check::Already(json!({"attachments": now.to_value()})));
                    }
                    Check::Proceed(json!({"attachments": now.to_value()}))
                } else {
                    let planned_default = pre
                        .get("default_version_id")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if current != planned_default {
                        return Ok(Check::Stale(format!(
                            "the policy's default version is {current} now; the plan saw {planned_default}"
                        )));
                    }
                    Check::Proceed(
                        json!({"default_version_id": current, "attachments": now.to_value()}),
                    )
                }
            }
            S::UpdatePasswordPolicy => {
                let current = self.password_policy().await?;
                let want: Option<PasswordPolicy> = serde_json::from_value(
                    a.params.get("settings").cloned().unwrap_or(Value::Null),
                )
                .map_err(|e| StepError::Plan(format!("{}: settings: {e}", a.id)))?;
                if current == want {
                    return Ok(Check::Already(
                        json!({"password_policy": password_policy_value(current.as_ref())}),
                    ));
                }
                let planned: Option<PasswordPolicy> = serde_json::from_value(
                    pre.get("password_policy").cloned().unwrap_or(Value::Null),
                )
                .map_err(|e| StepError::Plan(format!("{}: precondition: {e}", a.id)))?;
                if current != planned {
                    return Ok(Check::Stale(
                        "the account password policy changed since the plan was made".into(),
                    ));
                }
                Check::Proceed(json!({"password_policy": password_policy_value(current.as_ref())}))
            }
            S::Tag | S::Untag => {
                let (kind, name) = tag_target(a)?;
                let Some(current) = self.tags(kind, &name).await? else {
                    return Ok(Check::Stale(format!(
                        "{} no longer exists",
                        a.resource.name
                    )));
                };
                let planned: BTreeMap<String, String> =
                    serde_json::from_value(pre.get("tags").cloned().unwrap_or(json!({})))
                        .unwrap_or_default();
                let keys: Vec<String> = if a.action == S::Tag {
                    a.params
                        .get("tags")
                        .and_then(Value::as_object)
                        .map(|m| m.keys().cloned().collect())
                        .unwrap_or_default()
                } else {
                    strings(a.params.get("keys"))
                };
                let done = if a.action == S::Tag {
                    a.params
                        .get("tags")
                        .and_then(Value::as_object)
                        .is_some_and(|m| {
                            m.iter()
                                .all(|(k, v)| current.get(k).map(String::as_str) == v.as_str())
                        })
                } else {
                    keys.iter().all(|k| !current.contains_key(k))
                };
                if done {
                    return Ok(Check::Already(json!({"tags": current})));
                }
                if keys.iter().any(|k| current.get(k) != planned.get(k)) {
                    return Ok(Check::Stale(
                        "the tags changed since the plan was made".into(),
                    ));
                }
                let previous: BTreeMap<&String, Option<&String>> =
                    keys.iter().map(|k| (k, current.get(k))).collect();
                Check::Proceed(json!({"tags": previous}))
            }
        })
    }

    // ---- execution ---------------------------------------------------------------------

    /// Makes the action's calls. Returns what undo needs beyond the before-state (e.g. the
    /// policy version created).
    pub async fn execute(&self, a: &Action, before: &Value) -> Result<Value, StepError> {
        use StepName as S;
        let id = a.id.as_str();
        let c = &self.client;
        match a.action {
            S::DeactivateAccessKey => {
                let user = param(a, "user")?;
                let key = a.resource.id.as_str();
                self.mutate(
                    id,
                    "UpdateAccessKey",
                    json!({"UserName": user, "AccessKeyId": key, "Status": "Inactive"}),
                    c.update_access_key()
                        .user_name(user)
                        .access_key_id(key)
                        .status(StatusType::Inactive)
                        .send(),
                )
                .await?;
            }
            S::DeleteAccessKey => {
                let user = param(a, "user")?;
                let key = a.resource.id.as_str();
                self.mutate(
                    id,
                    "DeleteAccessKey",
                    json!({"UserName": user, "AccessKeyId": key}),
                    c.delete_access_key()
                        .user_name(user)
                        .access_key_id(key)
                        .send(),
                )
                .await?;
            }
            S::RequirePasswordReset => {
                let user = param(a, "user")?;
                // No password: AWS keeps the current one and only sets the flag.
                self.mutate(
                    id,
                    "UpdateLoginProfile",
                    json!({"UserName": user, "PasswordResetRequired": true}),
                    c.update_login_profile()
                        .user_name(user)
                        .password_reset_required(true)
                        .send(),
                )
                .await?;
            }
            S::DeleteLoginProfile => {
                let user = param(a, "user")?;
                self.mutate(
                    id,
                    "DeleteLoginProfile",
                    json!({"UserName": user}),
                    c.delete_login_profile().user_name(user).send(),
                )
                .await?;
            }
            S::DeactivateMfaDevice => {
                let user = param(a, "user")?;
                let serial = a.resource.id.as_str();
                if before.get("enabled").and_then(Value::as_bool) == Some(true) {
                    self.mutate(
                        id,
                        "DeactivateMFADevice",
                        json!({"UserName": user, "SerialNumber": serial}),
                        c.deactivate_mfa_device()
                            .user_name(user)
                            .serial_number(serial)
                            .send(),
                    )
                    .await?;
                }
                if a.params.get("delete_virtual").and_then(Value::as_bool) == Some(true) {
                    self.mutate(
                        id,
                        "DeleteVirtualMFADevice",
                        json!({"SerialNumber": serial}),
                        c.delete_virtual_mfa_device().serial_number(serial).send(),
                    )
                    .await?;
                }
            }
            S::DetachUserPolicy | S::DetachGroupPolicy | S::DetachRolePolicy => {
                let (kind, name) = entity_of(a)?;
                let arn = param(a, "policy_arn")?;
                self.detach(id, kind, name, arn).await?;
            }
            S::DeleteInlinePolicy => {
                let kind = param(a, "owner_kind")?;
                let owner = param(a, "owner")?;
                let name = param(a, "policy_name")?;
                self.delete_inline(id, kind, owner, name).await?;
            }
            S::RemoveUserFromGroup => {
                let user = param(a, "user")?;
                let group = param(a, "group")?;
                self.mutate(
                    id,
                    "RemoveUserFromGroup",
                    json!({"UserName": user, "GroupName": group}),
                    c.remove_user_from_group()
                        .user_name(user)
                        .group_name(group)
                        .send(),
                )
                .await?;
            }
            S::QuarantineUser => {
                let user = param(a, "user")?;
                let name = param(a, "policy_name")?;
                let doc = a.params.get("document").cloned().unwrap_or(Value::Null);
                self.mutate(
                    id,
                    "PutUserPolicy",
                    json!({"UserName": user, "PolicyName": name, "PolicyDocument": doc}),
                    c.put_user_policy()
                        .user_name(user)
                        .policy_name(name)
                        .policy_document(doc_text(&doc))
                        .send(),
                )
                .await?;
            }
            S::DeleteUser => {
                let user = param(a, "user")?;
                self.delete_user_cascade(id, user, before).await?;
            }
            S::ReplacePolicyDocument => {
                let arn = param(a, "policy_arn")?;
                let doc = a.params.get("document").cloned().unwrap_or(Value::Null);
                let versions = self.policy_versions(arn).await?;
                let mut deleted = Value::Null;
                if versions.len() >= 5 {
                    // AWS keeps five versions: drop the oldest non-default one (kept for undo).
                    if let Some((vid, _, _)) = versions.iter().find(|(_, d, _)| !d) {
                        let old = self.policy_document(arn, vid).await?;
                        self.mutate(
                            id,
                            "DeletePolicyVersion",
                            json!({"PolicyArn": arn, "VersionId": vid}),
                            c.delete_policy_version()
                                .policy_arn(arn)
                                .version_id(vid)
                                .send(),
                        )
                        .await?;
                        deleted = json!({"version_id": vid, "document": old});
                    }
                }
                let out = self
                    .mutate(
                        id,
                        "CreatePolicyVersion",
                        json!({"PolicyArn": arn, "SetAsDefault": true, "PolicyDocument": doc}),
                        c.create_policy_version()
                            .policy_arn(arn)
                            .policy_document(doc_text(&doc))
                            .set_as_default(true)
                            .send(),
                    )
                    .await?;
                let created = out
                    .policy_version()
                    .and_then(|v| v.version_id())
                    .unwrap_or_default()
                    .to_string();
                return Ok(json!({"created_version_id": created, "deleted_version": deleted}));
            }
            S::SetDefaultPolicyVersion => {
                let arn = param(a, "policy_arn")?;
                let v = param(a, "version_id")?;
                self.mutate(
                    id,
                    "SetDefaultPolicyVersion",
                    json!({"PolicyArn": arn, "VersionId": v}),
                    c.set_default_policy_version()
                        .policy_arn(arn)
                        .version_id(v)
                        .send(),
                )
                .await?;
            }
            S::DetachPolicyEverywhere => {
                let arn = param(a, "policy_arn")?;
                self.detach_everywhere(id, arn).await?;
            }
            S::DeletePolicy => {
                let arn = param(a, "policy_arn")?;
                if super::is_aws_managed(arn) {
                    return Err(StepError::Plan(
                        "AWS-managed policies are never deleted".into(),
                    ));
                }
                self.detach_everywhere(id, arn).await?;
                for (vid, default, _) in self.policy_versions(arn).await? {
                    if !default {
                        self.mutate(
                            id,
                            "DeletePolicyVersion",
                            json!({"PolicyArn": arn, "VersionId": vid}),
                            c.delete_policy_version()
                                .policy_arn(arn)
                                .version_id(&vid)
                                .send(),
                        )
                        .await?;
                    }
                }
                self.mutate(
                    id,
                    "DeletePolicy",
                    json!({"PolicyArn": arn}),
                    c.delete_policy().policy_arn(arn).send(),
                )
                .await?;
            }
            S::UpdatePasswordPolicy => {
                let settings = a.params.get("settings").cloned().unwrap_or(Value::Null);
                self.put_password_policy(id, &settings).await?;
            }
            S::Tag => {
                let (kind, name) = tag_target(a)?;
                let tags: BTreeMap<String, String> = a
                    .params
                    .get("tags")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| {
                                (
                                    k.clone(),
                                    v.as_str().map_or_else(|| v.to_string(), str::to_string),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                self.tag(id, kind, &name, &tags).await?;
            }
            S::Untag => {
                let (kind, name) = tag_target(a)?;
                self.untag(id, kind, &name, &strings(a.params.get("keys")))
                    .await?;
            }
        }
        Ok(Value::Null)
    }

    async fn detach(&self, id: &str, kind: &str, name: &str, arn: &str) -> Result<(), StepError> {
        let c = &self.client;
        match kind {
            "user" => self
                .mutate(
                    id,
                    "DetachUserPolicy",
                    json!({"UserName": name, "PolicyArn": arn}),
                    c.detach_user_policy()
                        .user_name(name)
                        .policy_arn(arn)
                        .send(),
                )
                .await
                .map(|_| ()),
            "group" => self
                .mutate(
                    id,
                    "DetachGroupPolicy",
                    json!({"GroupName": name, "PolicyArn": arn}),
                    c.detach_group_policy()
                        .group_name(name)
                        .policy_arn(arn)
                        .send(),
                )
                .await
                .map(|_| ()),
            _ => self
                .mutate(
                    id,
                    "DetachRolePolicy",
                    json!({"RoleName": name, "PolicyArn": arn}),
                    c.detach_role_policy()
                        .role_name(name)
                        .policy_arn(arn)
                        .send(),
                )
                .await
                .map(|_| ()),
        }
    }

    async fn attach(&self, id: &str, kind: &str, name: &str, arn: &str) -> Result<(), StepError> {
        let c = &self.client;
        match kind {
            "user" => self
                .mutate(
                    id,
                    "AttachUserPolicy",
                    json!({"UserName": name, "PolicyArn": arn}),
                    c.attach_user_policy()
                        .user_name(name)
                        .policy_arn(arn)
                        .send(),
                )
                .await
                .map(|_| ()),
            "group" => self
                .mutate(
                    id,
                    "AttachGroupPolicy",
                    json!({"GroupName": name, "PolicyArn": arn}),
                    c.attach_group_policy()
                        .group_name(name)
                        .policy_arn(arn)
                        .send(),
                )
                .await
                .map(|_| ()),
            _ => self
                .mutate(
                    id,
                    "AttachRolePolicy",
                    json!({"RoleName": name, "PolicyArn": arn}),
                    c.attach_role_policy()
                        .role_name(name)
                        .policy_arn(arn)
                        .send(),
                )
                .await
                .map(|_| ()),
        }
    }

    async fn delete_inline(
        &self,
        id: &str,
        kind: &str,
        owner: &str,
        name: &str,
    ) -> Result<(), StepError> {
        let c = &self.client;
        match kind {
            "user" => self
                .mutate(
                    id,
                    "DeleteUserPolicy",
                    json!({"UserName": owner, "PolicyName": name}),
                    c.delete_user_policy()
                        .user_name(owner)
                        .policy_name(name)
                        .send(),
                )
                .await
                .map(|_| ()),
            "group" => self
                .mutate(
                    id,
                    "DeleteGroupPolicy",
                    json!({"GroupName": owner, "PolicyName": name}),
                    c.delete_group_policy()
                        .group_name(owner)
                        .policy_name(name)
                        .send(),
                )
                .await
                .map(|_| ()),
            _ => self
                .mutate(
                    id,
                    "DeleteRolePolicy",
                    json!({"RoleName": owner, "PolicyName": name}),
                    c.delete_role_policy()
                        .role_name(owner)
                        .policy_name(name)
                        .send(),
                )
                .await
                .map(|_| ()),
        }
    }

    async fn put_inline(
        &self,
        id: &str,
        kind: &str,
        owner: &str,
        name: &str,
        doc: &Value,
    ) -> Result<(), StepError> {
        let c = &self.client;
        let text = doc_text(doc);
        match kind {
            "user" => self
                .mutate(
                    id,
                    "PutUserPolicy",
                    json!({"UserName": owner, "PolicyName": name, "PolicyDocument": doc}),
                    c.put_user_policy()
                        .user_name(owner)
                        .policy_name(name)
                        .policy_document(text)
                        .send(),
                )
                .await
                .map(|_| ()),
            "group" => self
                .mutate(
                    id,
                    "PutGroupPolicy",
                    json!({"GroupName": owner, "PolicyName": name, "PolicyDocument": doc}),
                    c.put_group_policy()
                        .group_name(owner)
                        .policy_name(name)
                        .policy_document(text)
                        .send(),
                )
                .await
                .map(|_| ()),
            _ => self
                .mutate(
                    id,
                    "PutRolePolicy",
                    json!({"RoleName": owner, "PolicyName": name, "PolicyDocument": doc}),
                    c.put_role_policy()
                        .role_name(owner)
                        .policy_name(name)
                        .policy_document(text)
                        .send(),
                )
                .await
                .map(|_| ()),
        }
    }

    async fn detach_everywhere(&self, id: &str, arn: &str) -> Result<(), StepError> {
        let att = self.entities(arn).await?;
        for u in &att.users {
            self.detach(id, "user", u, arn).await?;
        }
        for g in &att.groups {
            self.detach(id, "group", g, arn).await?;
        }
        for r in &att.roles {
            self.detach(id, "role", r, arn).await?;
        }
        Ok(())
    }

    async fn put_password_policy(&self, id: &str, settings: &Value) -> Result<(), StepError> {
        let p: PasswordPolicy = serde_json::from_value(settings.clone())
            .map_err(|e| StepError::Plan(format!("{id}: password policy settings: {e}")))?;
        let to_i32 = |n: Option<u32>| n.and_then(|n| i32::try_from(n).ok());
        self.mutate(
            id,
            "UpdateAccountPasswordPolicy",
            json!({"settings": settings}),
            self.client
                .update_account_password_policy()
                .set_minimum_password_length(to_i32(p.minimum_password_length))
                .require_symbols(p.require_symbols)
                .require_numbers(p.require_numbers)
                .require_uppercase_characters(p.require_uppercase_characters)
                .require_lowercase_characters(p.require_lowercase_characters)
                .allow_users_to_change_password(p.allow_users_to_change_password)
                .set_max_password_age(to_i32(p.max_password_age))
                .set_password_reuse_prevention(to_i32(p.password_reuse_prevention))
                .hard_expiry(p.hard_expiry)
                .send(),
        )
        .await
        .map(|_| ())
    }

    async fn tag(
        &self,
        id: &str,
        kind: &str,
        name: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), StepError> {
        let c = &self.client;
        let list: Vec<aws_sdk_iam::types::Tag> = tags
            .iter()
            .filter_map(|(k, v)| {
                aws_sdk_iam::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .ok()
            })
            .collect();
        let req = json!({"Name": name, "Tags": tags});
        match kind {
            "user" => self
                .mutate(
                    id,
                    "TagUser",
                    req,
                    c.tag_user().user_name(name).set_tags(Some(list)).send(),
                )
                .await
                .map(|_| ()),
            "role" => self
                .mutate(
                    id,
                    "TagRole",
                    req,
                    c.tag_role().role_name(name).set_tags(Some(list)).send(),
                )
                .await
                .map(|_| ()),
            _ => self
                .mutate(
                    id,
                    "TagPolicy",
                    req,
                    c.tag_policy().policy_arn(name).set_tags(Some(list)).send(),
                )
                .await
                .map(|_| ()),
        }
    }

    async fn untag(
        &self,
        id: &str,
        kind: &str,
        name: &str,
        keys: &[String],
    ) -> Result<(), StepError> {
        let c = &self.client;
        let req = json!({"Name": name, "TagKeys": keys});
        let keys = Some(keys.to_vec());
        match kind {
            "user" => self
                .mutate(
                    id,
                    "UntagUser",
                    req,
                    c.untag_user().user_name(name).set_tag_keys(keys).send(),
                )
                .await
                .map(|_| ()),
            "role" => self
                .mutate(
                    id,
                    "UntagRole",
                    req,
                    c.untag_role().role_name(name).set_tag_keys(keys).send(),
                )
                .await
                .map(|_| ()),
            _ => self
                .mutate(
                    id,
                    "UntagPolicy",
                    req,
                    c.untag_policy().policy_arn(name).set_tag_keys(keys).send(),
                )
                .await
                .map(|_| ()),
        }
    }

    /// `DeleteUser` and everything AWS requires gone first, in AWS's order. The plan's own
    /// prerequisite actions normally removed what the inventory knew of; this removes the rest
    /// (signing certificates, SSH keys, service-specific credentials, the permissions boundary).
    async fn delete_user_cascade(
        &self,
        id: &str,
        user: &str,
        before: &Value,
    ) -> Result<(), StepError> {
        let c = &self.client;
        if self.login_profile(user).await?.is_some() {
            self.mutate(
                id,
                "DeleteLoginProfile",
                json!({"UserName": user}),
                c.delete_login_profile().user_name(user).send(),
            )
            .await?;
        }
        for (key, _) in self.access_keys(user).await?.unwrap_or_default() {
            self.mutate(
                id,
                "DeleteAccessKey",
                json!({"UserName": user, "AccessKeyId": key}),
                c.delete_access_key()
                    .user_name(user)
                    .access_key_id(&key)
                    .send(),
            )
            .await?;
        }
        let certs = c
            .list_signing_certificates()
            .user_name(user)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| sdk_err("ListSigningCertificates", e))?;
        for cert in certs {
            let cid = cert.certificate_id().to_string();
            self.mutate(
                id,
                "DeleteSigningCertificate",
                json!({"UserName": user, "CertificateId": cid}),
                c.delete_signing_certificate()
                    .user_name(user)
                    .certificate_id(&cid)
                    .send(),
            )
            .await?;
        }
        let ssh = c
            .list_ssh_public_keys()
            .user_name(user)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| sdk_err("ListSSHPublicKeys", e))?;
        for k in ssh {
            let kid = k.ssh_public_key_id().to_string();
            self.mutate(
                id,
                "DeleteSSHPublicKey",
                json!({"UserName": user, "SSHPublicKeyId": kid}),
                c.delete_ssh_public_key()
                    .user_name(user)
                    .ssh_public_key_id(&kid)
                    .send(),
            )
            .await?;
        }
        let creds = c
            .list_service_specific_credentials()
            .user_name(user)
            .send()
            .await
            .map_err(|e| sdk_err("ListServiceSpecificCredentials", e))?;
        for cred in creds.service_specific_credentials() {
            let cid = cred.service_specific_credential_id().to_string();
            self.mutate(
                id,
                "DeleteServiceSpecificCredential",
                json!({"UserName": user, "ServiceSpecificCredentialId": cid}),
                c.delete_service_specific_credential()
                    .user_name(user)
                    .service_specific_credential_id(&cid)
                    .send(),
            )
            .await?;
        }
        for (serial, _) in self.mfa_devices(user).await?.unwrap_or_default() {
            self.mutate(
                id,
                "DeactivateMFADevice",
                json!({"UserName": user, "SerialNumber": serial}),
                c.deactivate_mfa_device()
                    .user_name(user)
                    .serial_number(&serial)
                    .send(),
            )
            .await?;
            if serial.starts_with("arn:") {
                self.mutate(
                    id,
                    "DeleteVirtualMFADevice",
                    json!({"SerialNumber": serial}),
                    c.delete_virtual_mfa_device().serial_number(&serial).send(),
                )
                .await?;
            }
        }
        for g in self.groups_of(user).await?.unwrap_or_default() {
            self.mutate(
                id,
                "RemoveUserFromGroup",
                json!({"UserName": user, "GroupName": g}),
                c.remove_user_from_group()
                    .user_name(user)
                    .group_name(&g)
                    .send(),
            )
            .await?;
        }
        for arn in self.attached("user", user).await?.unwrap_or_default() {
            self.detach(id, "user", user, &arn).await?;
        }
        for name in self.inline_names(user).await? {
            self.delete_inline(id, "user", user, &name).await?;
        }
        if before
            .get("permissions_boundary")
            .and_then(Value::as_str)
            .is_some()
        {
            self.mutate(
                id,
                "DeleteUserPermissionsBoundary",
                json!({"UserName": user}),
                c.delete_user_permissions_boundary().user_name(user).send(),
            )
            .await?;
        }
        self.mutate(
            id,
            "DeleteUser",
            json!({"UserName": user}),
            c.delete_user().user_name(user).send(),
        )
        .await?;
        Ok(())
    }

    // ---- undo --------------------------------------------------------------------------

    /// Makes one undo call.
    pub async fn undo_op(&self, action: &str, op: &UndoOp) -> Result<(), StepError> {
        let c = &self.client;
        let id = action;
        match op {
            UndoOp::UpdateAccessKey { user, access_key_id, status } => {
                let st = StatusType::from(status.as_str());
                self.mutate(id, "UpdateAccessKey", json!({"UserName": user, "AccessKeyId": access_key_id, "Status": status}),
                    c.update_access_key().user_name(user).access_key_id(access_key_id).status(st).send()).await.map(|_| ())
            }
            UndoOp::UpdateLoginProfile { user, password_reset_required } => self
                .mutate(id, "UpdateLoginProfile", json!({"UserName": user, "PasswordResetRequired": password_reset_required}),
                    c.update_login_profile().user_name(user).password_reset_required(*password_reset_required).send())
                .await
                .map(|_| ()),
            UndoOp::AttachPolicy { entity, name, policy_arn } => self.attach(id, entity, name, policy_arn).await,
            UndoOp::PutInlinePolicy { entity, name, policy_name, document } => {
                self.put_inline(id, entity, name, policy_name, document).await
            }
            UndoOp::DeleteInlinePolicy { entity, name, policy_name } => {
                self.delete_inline(id, entity, name, policy_name).await
            }
            UndoOp::AddUserToGroup { user, group } => self
                .mutate(id, "AddUserToGroup", json!({"UserName": user, "GroupName": group}),
                    c.add_user_to_group().user_name(user).group_name(group).send())
                .await
                .map(|_| ()),
            UndoOp::SetDefaultPolicyVersion { policy_arn, version_id } => self
                .mutate(id, "SetDefaultPolicyVersion", json!({"PolicyArn": policy_arn, "VersionId": version_id}),
                    c.set_default_policy_version().policy_arn(policy_arn).version_id(version_id).send())
                .await
                .map(|_| ()),
            UndoOp::DeletePolicyVersion { policy_arn, version_id } => self
                .mutate(id, "DeletePolicyVersion", json!({"PolicyArn": policy_arn, "VersionId": version_id}),
                    c.delete_policy_version().policy_arn(policy_arn).version_id(version_id).send())
                .await
                .map(|_| ()),
            UndoOp::CreatePolicyVersion { policy_arn, document } => self
                .mutate(id, "CreatePolicyVersion", json!({"PolicyArn": policy_arn, "SetAsDefault": false, "PolicyDocument": document}),
                    c.create_policy_version().policy_arn(policy_arn).policy_document(doc_text(document)).set_as_default(false).send())
                .await
                .map(|_| ()),
            UndoOp::UpdatePasswordPolicy { settings } => self.put_password_policy(id, settings).await,
            UndoOp::DeletePasswordPolicy => self
                .mutate(id, "DeleteAccountPasswordPolicy", json!({}), c.delete_account_password_policy().send())
                .await
                .map(|_| ()),
            UndoOp::Tag { kind, name, tags } => self.tag(id, kind, name, tags).await,
            UndoOp::Untag { kind, name, keys } => self.untag(id, kind, name, keys).await,
        }
    }
}

/// How to reverse an applied action, from the state read before it (`before`) and what its
/// calls returned (`after`); and what cannot be reversed.
pub fn undo_for(a: &Action, before: &Value, after: &Value) -> (Vec<UndoOp>, Option<String>) {
    use StepName as S;
    let p = |k: &str| {
        a.params
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let none = |why: &str| (Vec::new(), Some(why.to_string()));
    match a.action {
        S::DeactivateAccessKey => (
            vec![UndoOp::UpdateAccessKey { user: p("user"), access_key_id: a.resource.id.clone(), status: "Active".into() }],
            None,
        ),
        S::DeleteAccessKey => none("a deleted access key cannot be restored: issue the user a new key"),
        S::RequirePasswordReset => (
            vec![UndoOp::UpdateLoginProfile { user: p("user"), password_reset_required: false }],
            None,
        ),
        S::DeleteLoginProfile => none("a deleted console password cannot be restored (IAM never returns passwords): create a new login profile"),
        S::DeactivateMfaDevice => none("an MFA device cannot be re-enabled without two codes from it: the user must enable MFA again"),
        S::DetachUserPolicy | S::DetachGroupPolicy | S::DetachRolePolicy => match entity_of(a) {
            Ok((kind, name)) => (
                vec![UndoOp::AttachPolicy { entity: kind.into(), name: name.into(), policy_arn: p("policy_arn") }],
                None,
            ),
            Err(_) => none("the plan's action names no entity"),
        },
        S::DeleteInlinePolicy => match before.get("document") {
            Some(doc) => (
                vec![UndoOp::PutInlinePolicy { entity: p("owner_kind"), name: p("owner"), policy_name: p("policy_name"), document: doc.clone() }],
                None,
            ),
            None => none("the deleted document was not recorded"),
        },
        S::RemoveUserFromGroup => (vec![UndoOp::AddUserToGroup { user: p("user"), group: p("group") }], None),
        S::QuarantineUser => (
            vec![UndoOp::DeleteInlinePolicy { entity: "user".into(), name: p("user"), policy_name: p("policy_name") }],
            None,
        ),
        S::DeleteUser => none("a deleted user cannot be restored (its keys, password and id are gone): create it again"),
        S::ReplacePolicyDocument | S::SetDefaultPolicyVersion => {
            let arn = p("policy_arn");
            let mut ops = Vec::new();
            let mut note = None;
            if let Some(prev) = before.get("default_version_id").and_then(Value::as_str) {
                ops.push(UndoOp::SetDefaultPolicyVersion { policy_arn: arn.clone(), version_id: prev.to_string() });
            }
            if a.action == S::ReplacePolicyDocument {
                let created = after
                    .get("created_version_id")
                    .or_else(|| after.get("default_version_id"))
                    .and_then(Value::as_str);
                if let Some(v) = created {
                    ops.push(UndoOp::DeletePolicyVersion { policy_arn: arn.clone(), version_id: v.to_string() });
                }
                if let Some(d) = after.get("deleted_version").filter(|d| !d.is_null()) {
                    if let Some(doc) = d.get("document") {
                        ops.push(UndoOp::CreatePolicyVersion { policy_arn: arn.clone(), document: doc.clone() });
                    }
                    note = Some(format!(
                        "version {} was deleted to make room; undo re-creates its document under a new version id",
                        d.get("version_id").and_then(Value::as_str).unwrap_or("?")
                    ));
                }
            }
            (ops, note)
        }
        S::DetachPolicyEverywhere => {
            let att = Attachments::of(before.get("attachments"));
            let arn = p("policy_arn");
            let mut ops = Vec::new();
            for (kind, names) in [("user", &att.users), ("group", &att.groups), ("role", &att.roles)] {
                for n in names {
                    ops.push(UndoOp::AttachPolicy { entity: kind.into(), name: n.clone(), policy_arn: arn.clone() });
                }
            }
            (ops, None)
        }
        S::DeletePolicy => none("a deleted managed policy cannot be restored: its versions are recorded in the plan's `before`"),
        S::UpdatePasswordPolicy => match before.get("password_policy") {
            Some(Value::Null) | None => (vec![UndoOp::DeletePasswordPolicy], None),
            Some(settings) => (vec![UndoOp::UpdatePasswordPolicy { settings: settings.clone() }], None),
        },
        S::Tag | S::Untag => {
            let Ok((kind, name)) = tag_target(a) else {
                return none("tags of this resource kind cannot be restored");
            };
            let mut restore = BTreeMap::new();
            let mut remove = Vec::new();
            if let Some(prev) = before.get("tags").and_then(Value::as_object) {
                for (k, v) in prev {
                    match v.as_str() {
                        Some(v) => {
                            restore.insert(k.clone(), v.to_string());
                        }
                        None => remove.push(k.clone()),
                    }
                }
            }
            let mut ops = Vec::new();
            if !remove.is_empty() {
                ops.push(UndoOp::Untag { kind: kind.into(), name: name.clone(), keys: remove });
            }
            if !restore.is_empty() {
                ops.push(UndoOp::Tag { kind: kind.into(), name, tags: restore });
            }
            (ops, None)
        }
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
