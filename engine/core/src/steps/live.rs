//! The apply-time side every step shares, SDK-free and generic over the [`Exec`] it runs
//! through: the entry points apply calls ([`check`], [`execute`], [`undo_for`], [`undo_op`]),
//! which dispatch through the registry to each family's `live` module (in the family's own
//! file, beside its plan side); the checks every step shares (a re-created entity, a
//! credential used since the plan); the dispatch over [`UndoOp`] (its call, and how undo tells
//! whether IAM already holds what an op restores); and the helpers.

use super::{access_keys, detach, groups, login_profile, policy_versions, rotate};
pub(crate) use super::{Action, Body, Check, Disables, Names, Part, StepName, UndoOp};
pub(crate) use crate::iam::{
    resolved_failure, unresolved, Attachments, Exec, Iam, IamCall, StepError,
};
pub(crate) use crate::inventory::PasswordPolicy;
pub(crate) use chrono::{DateTime, Utc};
pub(crate) use serde_json::{json, Value};
pub(crate) use std::collections::BTreeMap;

/// The attempts an action gets when its calls go unanswered (the first, and one more after a
/// re-read showed it was not applied); an undo op likewise.
pub const MAX_SENDS: u32 = 2;

/// Re-reads the action's target and compares it with the precondition.
pub async fn check<X: Exec>(x: &X, a: &Action) -> Result<Check, StepError> {
    if let Some(why) = entity_replaced(x, a).await? {
        return Ok(Check::Stale(why));
    }
    if let Some(why) = in_use_since_plan(x, a).await? {
        return Ok(Check::Stale(why));
    }
    super::live_check(x, a).await
}

/// Makes the action's calls. Returns what undo needs beyond the before-state (e.g. the
/// policy version created).
pub async fn execute<X: Exec>(x: &X, a: &Action, before: &Value) -> Result<Value, StepError> {
    super::live_execute(x, a, before).await
}

/// How to reverse an applied action, from the state read before it (`before`) and what its
/// calls returned (`after`); and what cannot be reversed.
pub fn undo_for(a: &Action, before: &Value, after: &Value) -> (Vec<UndoOp>, Option<String>) {
    super::live_reverse(a, before, after)
}

/// The one call an undo op makes.
pub(crate) fn undo_call(op: &UndoOp) -> IamCall {
    match op {
        UndoOp::UpdateAccessKey {
            user,
            access_key_id,
            status,
        } => access_keys::live::status_call(user, access_key_id, status),
        UndoOp::UpdateLoginProfile {
            user,
            password_reset_required,
        } => login_profile::live::reset_call(user, *password_reset_required),
        UndoOp::AttachPolicy {
            entity,
            name,
            policy_arn,
        } => IamCall::attach(entity, name, policy_arn),
        UndoOp::PutInlinePolicy {
            entity,
            name,
            policy_name,
            document,
        } => IamCall::put_inline(entity, name, policy_name, document),
        UndoOp::DeleteInlinePolicy {
            entity,
            name,
            policy_name,
        } => IamCall::delete_inline(entity, name, policy_name),
        UndoOp::AddUserToGroup { user, group } => IamCall::AddUserToGroup {
            user: user.clone(),
            group: group.clone(),
        },
        UndoOp::SetDefaultPolicyVersion {
            policy_arn,
            version_id,
        } => IamCall::SetDefaultPolicyVersion {
            policy_arn: policy_arn.clone(),
            version_id: version_id.clone(),
        },
        UndoOp::DeletePolicyVersion {
            policy_arn,
            version_id,
        } => IamCall::DeletePolicyVersion {
            policy_arn: policy_arn.clone(),
            version_id: version_id.clone(),
        },
        UndoOp::CreatePolicyVersion {
            policy_arn,
            document,
        } => IamCall::CreatePolicyVersion {
            policy_arn: policy_arn.clone(),
            set_as_default: false,
            document: document.clone(),
        },
        UndoOp::UpdatePasswordPolicy { settings } => IamCall::UpdateAccountPasswordPolicy {
            settings: settings.clone(),
        },
        UndoOp::DeletePasswordPolicy => IamCall::DeleteAccountPasswordPolicy {},
        UndoOp::Tag { kind, name, tags } => IamCall::tag(kind, name, tags),
        UndoOp::Untag { kind, name, keys } => IamCall::untag(kind, name, keys),
        UndoOp::DeleteAccessKey {
            user,
            access_key_id,
        } => IamCall::DeleteAccessKey {
            user: user.clone(),
            key: access_key_id.clone(),
        },
        UndoOp::DeleteSecret { secret_id } => IamCall::DeleteSecret {
            secret_id: secret_id.clone(),
        },
        UndoOp::RestoreSecretVersion {
            secret_id,
            move_to,
            remove_from,
        } => IamCall::UpdateSecretVersionStage {
            secret_id: secret_id.clone(),
            move_to: move_to.clone(),
            remove_from: remove_from.clone(),
        },
    }
}

/// Whether IAM already holds what the undo op restores.
pub(crate) async fn undo_holds<X: Exec>(x: &X, op: &UndoOp) -> Result<bool, StepError> {
    Ok(match op {
        UndoOp::UpdateAccessKey {
            user,
            access_key_id,
            status,
        } => access_keys::live::has_status(x, user, access_key_id, status).await?,
        UndoOp::UpdateLoginProfile {
            user,
            password_reset_required,
        } => login_profile::live::has_reset(x, user, *password_reset_required).await?,
        UndoOp::AttachPolicy {
            entity,
            name,
            policy_arn,
        } => detach::live::is_attached(x, entity, name, policy_arn).await?,
        UndoOp::PutInlinePolicy {
            entity,
            name,
            policy_name,
            document,
        } => x.iam().inline(entity, name, policy_name).await?.as_ref() == Some(document),
        UndoOp::DeleteInlinePolicy {
            entity,
            name,
            policy_name,
        } => x.iam().inline(entity, name, policy_name).await?.is_none(),
        UndoOp::AddUserToGroup { user, group } => groups::live::is_member(x, user, group).await?,
        UndoOp::SetDefaultPolicyVersion {
            policy_arn,
            version_id,
        } => x.iam().policy_default(policy_arn).await?.as_ref() == Some(version_id),
        UndoOp::DeletePolicyVersion {
            policy_arn,
            version_id,
        } => !policy_versions::live::has_version(x, policy_arn, version_id).await?,
        UndoOp::CreatePolicyVersion {
            policy_arn,
            document,
        } => policy_versions::live::copies(x, policy_arn, document).await? > 0,
        UndoOp::UpdatePasswordPolicy { settings } => {
            x.iam().password_policy().await?.as_ref() == Some(settings)
        }
        UndoOp::DeletePasswordPolicy => x.iam().password_policy().await?.is_none(),
        UndoOp::Tag { kind, name, tags } => {
            let now = x.iam().tags(kind, name).await?.unwrap_or_default();
            tags.iter().all(|(k, v)| now.get(k) == Some(v))
        }
        UndoOp::Untag { kind, name, keys } => {
            let now = x.iam().tags(kind, name).await?.unwrap_or_default();
            keys.iter().all(|k| !now.contains_key(k))
        }
        UndoOp::DeleteAccessKey {
            user,
            access_key_id,
        } => !rotate::live::has_key(x, user, access_key_id).await?,
        UndoOp::DeleteSecret { secret_id } => {
            x.iam().secret(secret_id).await?.is_none_or(|s| s.deleted)
        }
        UndoOp::RestoreSecretVersion {
            secret_id, move_to, ..
        } => x
            .iam()
            .secret(secret_id)
            .await?
            .is_some_and(|s| s.current_version.as_deref() == Some(move_to.as_str())),
    })
}

/// Makes one undo call, resolving an unanswered one by re-reading: IAM already holds
/// what the op restores -> done; it does not -> sent once more (`CreatePolicyVersion`,
/// not idempotent, counts the versions holding its document before and after); a delete
/// whose target is gone (`NoSuchEntity`) is done.
pub async fn undo_op<X: Exec>(x: &X, action: &str, op: &UndoOp) -> Result<(), StepError> {
    // A re-created version is told apart by count: another version may hold the same
    // document already.
    let copies_before = match op {
        UndoOp::CreatePolicyVersion {
            policy_arn,
            document,
        } => Some(policy_versions::live::copies(x, policy_arn, document).await?),
        _ => None,
    };
    let call = undo_call(op);
    let mut sent = 0;
    loop {
        sent += 1;
        let err = match x.send(action, call.clone()).await {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        let delete = matches!(
            op,
            UndoOp::DeleteInlinePolicy { .. }
                | UndoOp::DeletePolicyVersion { .. }
                | UndoOp::DeletePasswordPolicy
                | UndoOp::DeleteAccessKey { .. }
                | UndoOp::DeleteSecret { .. }
        );
        if delete && err.is_not_found() {
            return Ok(());
        }
        if !err.is_unknown() {
            return Err(err);
        }
        x.wait_settle().await;
        let holds = match (op, copies_before) {
            (
                UndoOp::CreatePolicyVersion {
                    policy_arn,
                    document,
                },
                Some(n),
            ) => policy_versions::live::copies(x, policy_arn, document)
                .await
                .map(|now| now > n),
            _ => undo_holds(x, op).await,
        };
        match holds {
            Ok(true) => return Ok(()),
            Ok(false) if sent < MAX_SENDS => {}
            Ok(false) => {
                return Err(resolved_failure(
                    &err,
                    "the state before apply: not restored; run undo again",
                ))
            }
            Err(re) => return Err(unresolved(&err, &re)),
        }
    }
}

// ---- the checks every step shares ------------------------------------------------------

/// The entity ids and the in-use window a step's precondition may carry, as the shared
/// checks read them: a view over every step's precondition type (each family's struct says
/// which of them it has; the ids are written only when the inventory knew them).
#[derive(Debug, Default, serde::Deserialize)]
struct Planned {
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    group_id: Option<String>,
    #[serde(default)]
    role_id: Option<String>,
    #[serde(default)]
    policy_id: Option<String>,
    #[serde(default)]
    owner_id: Option<String>,
    #[serde(default)]
    in_use_since: Option<String>,
}

/// Whether the entity the action acts on was re-created under the same name since the
/// plan was made: its id (`user_id`, `group_id`, `role_id`, `policy_id`, an inline
/// policy's `owner_id`, in the precondition) differs from the one IAM has now. An entity
/// that is gone is left to the step's own check (gone may be the planned state).
async fn entity_replaced<X: Exec>(x: &X, a: &Action) -> Result<Option<String>, StepError> {
    use crate::inventory::{OwnerKind, ResourceKind as R};
    let pre: Planned = view(a, Part::Precondition)?;
    let names = view::<Names>(a, Part::Params)?;
    let planned = |id: Option<String>| id.filter(|s| !s.is_empty());
    let own = |kind: R| (a.resource.kind == kind).then(|| a.resource.name.clone());
    let differs = |what: String, now: &str, then: &str| {
        (now != then).then(|| {
            format!(
                "{what} is another one now (id {now}; the plan saw {then}): it was deleted \
                 and re-created under the same name"
            )
        })
    };
    // delete_user compares the id itself, with everything else the user holds.
    if let Some(then) = planned(pre.user_id).filter(|_| a.step() != StepName::DeleteUser) {
        let name = names.user.clone().or(names.user_name.clone());
        if let Some(name) = name.or_else(|| own(R::User)) {
            if let Some(u) = x.iam().user(&name).await? {
                return Ok(differs(format!("user {name}"), &u.id, &then));
            }
        }
    }
    if let Some(then) = planned(pre.group_id) {
        if let Some(name) = names.group_name.clone().or_else(|| own(R::Group)) {
            if let Some(id) = x.iam().group_id(&name).await? {
                return Ok(differs(format!("group {name}"), &id, &then));
            }
        }
    }
    if let Some(then) = planned(pre.role_id) {
        if let Some(name) = names.role_name.clone().or_else(|| own(R::Role)) {
            if let Some(id) = x.iam().role_id(&name).await? {
                return Ok(differs(format!("role {name}"), &id, &then));
            }
        }
    }
    if let Some(then) = planned(pre.policy_id) {
        if let Some(arn) = names.policy_arn.clone().or(a.resource.arn.clone()) {
            if let Some(id) = x.iam().policy_id(&arn).await? {
                return Ok(differs(format!("policy {arn}"), &id, &then));
            }
        }
    }
    if let Some(then) = planned(pre.owner_id) {
        if let (Some(kind), Some(owner)) = (names.owner_kind, names.owner) {
            let now = match kind {
                OwnerKind::User => x.iam().user(&owner).await?.map(|u| u.id),
                OwnerKind::Group => x.iam().group_id(&owner).await?,
                OwnerKind::Role => x.iam().role_id(&owner).await?,
            };
            if let Some(id) = now {
                return Ok(differs(format!("{} {owner}", kind.as_str()), &id, &then));
            }
        }
    }
    Ok(None)
}

/// The in-use guard at apply time: a user-level step that stops every credential of a user
/// (`quarantine_user`, `delete_user`) is stale when one of the user's active keys or the
/// console password was used after the start of the window the plan judged with
/// (`precondition.in_use_since`), unless the plan let the rule act on credentials in use
/// (`allowed_in_use`). Key steps and `delete_login_profile` already go stale when their own
/// credential was used since the plan (see their checks).
async fn in_use_since_plan<X: Exec>(x: &X, a: &Action) -> Result<Option<String>, StepError> {
    let user_level = a
        .step()
        .disables_credential()
        .is_some_and(|d| d == Disables::User);
    if !user_level || a.allowed_in_use.is_some() {
        return Ok(None);
    }
    let pre: Planned = view(a, Part::Precondition)?;
    let Some(since) = plan_ts(pre.in_use_since.as_deref()) else {
        return Ok(None);
    };
    let names = view::<Names>(a, Part::Params)?;
    let user = names
        .user
        .ok_or_else(|| StepError::Plan(format!("{} has no `user` parameter", a.id)))?;
    let user = user.as_str();
    let mut uses: Vec<(DateTime<Utc>, String)> = Vec::new();
    for (key, status) in x.iam().access_keys(user).await?.unwrap_or_default() {
        if status != "Active" {
            continue;
        }
        if let Some(t) = x.iam().key_last_used(&key).await?.filter(|t| *t > since) {
            uses.push((t, format!("access key {key}")));
        }
    }
    if x.iam().login_profile(user).await?.is_some() {
        let used = x.iam().user(user).await?.and_then(|u| u.password_last_used);
        if let Some(t) = used.filter(|t| *t > since) {
            uses.push((t, "password".to_string()));
        }
    }
    Ok(uses.into_iter().max().map(|(t, what)| {
        format!(
            "user {user} is in use: {what} was used at {} (after {}, the start of the plan's in-use window)",
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )
    }))
}

// ---- helpers ---------------------------------------------------------------------------

/// A JSON value apply recorded (the state a check read, what the calls returned, as the
/// journal holds them) read into the step's typed struct: a value that does not fit is a
/// [`StepError::Plan`] naming the action and what it is.
pub(crate) fn part<T: serde::de::DeserializeOwned>(
    a: &Action,
    field: &str,
    v: &Value,
) -> Result<T, StepError> {
    serde_json::from_value(v.clone()).map_err(|e| {
        StepError::Plan(format!(
            "{}: `{field}` does not fit the {} step's type: {e}",
            a.id,
            a.step()
        ))
    })
}

/// A view over one of the action's typed parts that every step's type fits ([`Planned`],
/// [`Names`]): a part that is `null` (a step whose params are none) is the view's default.
fn view<T: serde::de::DeserializeOwned + Default>(a: &Action, p: Part) -> Result<T, StepError> {
    match a.body.part_json(p) {
        Value::Null => Ok(T::default()),
        v => part(a, p.name(), &v),
    }
}

/// The error for a body that reached another family's code (the registry dispatches on the
/// body's variant, so this names a bug, never a plan).
pub(crate) fn wrong_body(a: &Action) -> StepError {
    StepError::Plan(format!(
        "{}: the {} step's parts reached another step's code",
        a.id,
        a.step()
    ))
}

/// Nothing to reverse, and why.
pub(crate) fn irreversible(why: &str) -> (Vec<UndoOp>, Option<String>) {
    (Vec::new(), Some(why.to_string()))
}

/// A plan timestamp, at second precision (the credential report has whole seconds).
pub(crate) fn plan_ts(s: Option<&str>) -> Option<DateTime<Utc>> {
    let t = DateTime::parse_from_rfc3339(s?).ok()?.with_timezone(&Utc);
    DateTime::from_timestamp(t.timestamp(), 0)
}

pub(crate) fn ts_value(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| {
        Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    })
}

/// A time for messages: RFC 3339, or `never`.
pub(crate) fn when(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "never".to_string(),
        |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}
