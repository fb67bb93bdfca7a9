//! `rotate_access_key`: key rotation with a hand-off through AWS Secrets Manager, in two
//! phases on two runs. Planned on `$.access_keys` (the old key).
//!
//! - **Phase one** (`create_new_key`): the user has one key and no rotation record. Apply
//!   creates a new access key, writes `{"AccessKeyId": ..., "SecretAccessKey": ...}` only to
//!   the secret `secret_name` (a new secret with `kms_key_id` when given, or a new current
//!   version of an existing one; tags `iamwarden:user`, `iamwarden:old-key`), then records the
//!   rotation on the **user's tags** ([`TAG_OLD`] = the old key, [`TAG_NEW`] = the new key,
//!   [`TAG_SECRET`] = the secret's name). Access keys cannot be tagged and the secret's tags
//!   are not in the IAM inventory, so the user's tags are where a later run's inventory (and
//!   the keys' derived `user_tags`) sees the rotation in progress. The secret value is a
//!   [`crate::iam::Secret`] from the moment the answer arrives: it is never in the plan, the
//!   journal (the dispatcher journals only the new key's id and the secret's ARN/version), a
//!   log or `Debug` output. Undo: untag the user, delete the secret (if apply created it) or
//!   move `AWSCURRENT` back to the version that was current, delete the new key.
//! - **Phase two** (`deactivate_old_key`): a later run sees the record; once the new key has
//!   been used, or the rule's `grace` (default [`DEFAULT_GRACE`]) has passed since it was
//!   created, the old key is set `Inactive` (undo: `Active` again). The step declares
//!   [`Disables::RotatedKey`], so the in-use guard keeps phase two off an old key used within
//!   the in-use window (phase one stops nothing and is not guarded).
//!
//! A user with two keys already is skipped (AWS allows two). An unanswered `CreateAccessKey`
//! is resolved by re-reading the user's keys: a key not in the plan's list is the one the lost
//! answer created; its secret never reached iamwarden, so it is deleted (journaled) and the
//! call is sent once more, never blindly. A key created whose secret could not be stored is
//! deleted again; if that fails too, the error names the key (also in the journal's `result`).

use super::{
    param, ts, Body, ChangeKind, Cx, Disables, ParamIssue, ParamKind, Parts, Safety, StepInfo,
    StepName, Target,
};
use crate::inventory::{KeyStatus, ResourceKind};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The user tag naming the key being rotated (the old key).
pub const TAG_OLD: &str = "iamwarden:rotates";
/// The user tag naming the rotation's new key.
pub const TAG_NEW: &str = "iamwarden:rotation-new-key";
/// The user tag naming the secret the new key was written to.
pub const TAG_SECRET: &str = "iamwarden:rotation-secret";
/// The grace period after which phase two deactivates the old key even if the new key was
/// never used.
pub const DEFAULT_GRACE: &str = "7d";

/// `rotate_access_key`.
pub const ROTATE: StepInfo = StepInfo {
    targets: &[ResourceKind::AccessKey],
    params: &[
        param(
            "secret_name",
            ParamKind::String,
            true,
            "template, e.g. `iamwarden/{{resource.user}}`",
        ),
        param("kms_key_id", ParamKind::String, false, "the secret's KMS key"),
        param("grace", ParamKind::String, false, "duration, default `7d`"),
    ],
    params_schema: super::schema_of::<RotateParams>,
    check_param: Some(check_param),
    safety: Safety::Reversible,
    change: ChangeKind::Change,
    diff: "phase one: `~ access_key`: `new_key = (none) -> \"created by apply\"`, `secret_name`; phase two: `old_key_status = \"Active\" -> \"Inactive\"`",
    rank: 19,
    disables_credential: Some(Disables::RotatedKey),
    expand,
    verb: |b| match b {
        Body::RotateAccessKey(p) if p.params.phase == Phase::DeactivateOldKey => format!(
            "will be deactivated: its rotation's new key {} took over",
            p.params.new_key.as_deref().unwrap_or("?")
        ),
        Body::RotateAccessKey(p) => format!(
            "will be rotated: a new key, written only to secret {}",
            p.params.secret_name
        ),
        _ => "will be rotated".into(),
    },
};

/// The parts of a `rotate_access_key` action.
pub type RotateParts = Parts<RotateActionParams, RotatePrecondition, RotationState, RotationState>;

/// The action's body from its parts.
fn body(
    params: RotateActionParams,
    precondition: RotatePrecondition,
    before: RotationState,
    after: RotationState,
) -> Body {
    Body::RotateAccessKey(Box::new(Parts {
        params,
        precondition,
        before,
        after,
    }))
}

/// The step's params as a pack writes them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateParams {
    /// The Secrets Manager secret the new key is written to (a template, e.g.
    /// `iamwarden/{{resource.user}}`).
    pub secret_name: String,
    /// The KMS key that encrypts a secret apply creates (the account's default otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    /// How long after the new key was created phase two deactivates the old key even when the
    /// new key was never used (default `7d`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace: Option<String>,
}

/// Which phase an action is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Create the new key and hand it off through the secret.
    CreateNewKey,
    /// Deactivate the old key.
    DeactivateOldKey,
}

/// The action's params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateActionParams {
    /// The key's user.
    pub user: String,
    /// The phase.
    pub phase: Phase,
    /// The secret's name.
    pub secret_name: String,
    /// The KMS key for a new secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    /// Phase two: the new key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_key: Option<String>,
}

/// What apply re-reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RotatePrecondition {
    /// The user.
    pub user: String,
    /// The user's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The old key's status.
    pub status: KeyStatus,
    /// The old key's last use (`null`: never used; a plan without the field is refused).
    #[serde(deserialize_with = "super::present")]
    pub last_used_at: Option<String>,
    /// The user's keys as the plan saw them.
    pub keys: Vec<String>,
    /// Phase two: when the new key was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_key_created_at: Option<String>,
    /// Phase two: the new key's last use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_key_last_used_at: Option<String>,
}

/// The rotation as the diff shows it (before and after).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RotationState {
    /// The old key's status.
    pub old_key_status: KeyStatus,
    /// The new key (`created by apply` before it exists).
    pub new_key: Option<String>,
    /// The secret holding the new key.
    pub secret_name: Option<String>,
}

/// What phase one did, as its `execute` returns it (the journal's `done` record keeps the
/// undo built from it): ids only, never the key's secret.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HandOff {
    /// The new key's id.
    pub new_key: String,
    /// The secret's ARN.
    pub secret_arn: String,
    /// The version apply wrote.
    pub secret_version: Option<String>,
    /// Whether apply created the secret (undo deletes it) or put a version (undo restores the
    /// previous current version).
    pub secret_created: bool,
    /// The version that was current before.
    pub previous_version: Option<String>,
}

/// A rotation recorded on a user's tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// The key being rotated.
    pub old: &'a str,
    /// The new key.
    pub new: &'a str,
}

/// The rotation recorded in a user's tags, if any; `tag` looks a tag up (the inventory's
/// [`crate::inventory::Tags`] or the map IAM returned).
pub fn recorded<'a>(tag: impl Fn(&str) -> Option<&'a String>) -> Option<Record<'a>> {
    Some(Record {
        old: tag(TAG_OLD)?.as_str(),
        new: tag(TAG_NEW)?.as_str(),
    })
}

fn check_param(name: &str, value: &Value) -> Vec<ParamIssue> {
    let issue = |message: String| ParamIssue {
        key: String::new(),
        message,
        hint: None,
    };
    match (name, value.as_str()) {
        ("grace", Some(g)) => crate::ops::duration::parse_duration(g)
            .err()
            .map(issue)
            .into_iter()
            .collect(),
        ("secret_name", Some("")) => vec![issue("must not be empty".into())],
        _ => Vec::new(),
    }
}

fn expand(step: StepName, cx: &mut Cx<'_>, t: &Target<'_>, rendered: &Value) {
    let inv = cx.inv();
    let Some(k) = inv.access_keys.get(t.index) else {
        return;
    };
    let r = t.resource;
    if k.status == KeyStatus::Inactive {
        cx.skip(r, step, "already inactive");
        return;
    }
    let Some(p) = super::params::<RotateParams>(rendered) else {
        cx.skip(r, step, "the parameters do not fit the step");
        return;
    };
    if p.secret_name.is_empty() {
        cx.skip(r, step, "`secret_name` rendered empty");
        return;
    }
    let keys: Vec<&crate::inventory::AccessKey> = cx
        .ix
        .users
        .get(k.user.as_str())
        .and_then(|&i| inv.users.get(i))
        .map(|u| {
            u.access_key_ids
                .iter()
                .filter_map(|id| cx.ix.keys.get(id.as_str()))
                .filter_map(|&i| inv.access_keys.get(i))
                .collect()
        })
        .unwrap_or_else(|| vec![k]);
    let mut pre = RotatePrecondition {
        user: k.user.clone(),
        user_id: cx.ix.user_id(&k.user),
        status: k.status,
        last_used_at: ts(k.last_used_at),
        keys: keys.iter().map(|k| k.id.clone()).collect(),
        new_key_created_at: None,
        new_key_last_used_at: None,
    };
    let mut params = RotateActionParams {
        user: k.user.clone(),
        phase: Phase::CreateNewKey,
        secret_name: p.secret_name.clone(),
        kms_key_id: p.kms_key_id.clone(),
        new_key: None,
    };
    match recorded(|t| k.user_tags.get(t)) {
        Some(rec) if rec.old == k.id => {
            let Some(nk) = keys.iter().find(|n| n.id == rec.new) else {
                cx.skip(
                    r,
                    step,
                    format!(
                        "the rotation record names new key {}, which no longer exists: remove the \
                         user tags {TAG_OLD} and {TAG_NEW} to rotate again",
                        rec.new
                    ),
                );
                return;
            };
            if nk.status != KeyStatus::Active {
                cx.skip(
                    r,
                    step,
                    format!(
                        "the rotation's new key {} is inactive: the old key stays active",
                        nk.id
                    ),
                );
                return;
            }
            let grace =
                crate::ops::duration::parse_duration(p.grace.as_deref().unwrap_or(DEFAULT_GRACE))
                    .unwrap_or_else(|_| chrono::Duration::days(7));
            let used = nk.last_used_at.is_some();
            let until = nk.created_at + grace;
            let over = cx.now.is_some_and(|now| now >= until);
            if !used && !over {
                cx.skip(
                    r,
                    step,
                    format!(
                        "rotation in progress: waiting until the new key {} is used or the grace \
                         period ends ({})",
                        nk.id,
                        ts(Some(until)).unwrap_or_default()
                    ),
                );
                return;
            }
            params.phase = Phase::DeactivateOldKey;
            params.new_key = Some(nk.id.clone());
            pre.new_key_created_at = ts(Some(nk.created_at));
            pre.new_key_last_used_at = ts(nk.last_used_at);
            let before = RotationState {
                old_key_status: KeyStatus::Active,
                new_key: Some(nk.id.clone()),
                secret_name: Some(p.secret_name.clone()),
            };
            let after = RotationState {
                old_key_status: KeyStatus::Inactive,
                ..before.clone()
            };
            cx.propose(r.clone(), "", body(params, pre, before, after));
        }
        Some(rec) => cx.skip(
            r,
            step,
            format!(
                "a rotation of the user's key {} to {} is in progress",
                rec.old, rec.new
            ),
        ),
        None if keys.len() >= 2 => cx.skip(
            r,
            step,
            format!(
                "user {} has 2 access keys already (AWS allows 2): deactivate and delete the \
                 other key before rotating this one",
                k.user
            ),
        ),
        None => {
            let before = RotationState {
                old_key_status: KeyStatus::Active,
                new_key: None,
                secret_name: None,
            };
            let after = RotationState {
                old_key_status: KeyStatus::Active,
                new_key: Some("created by apply".into()),
                secret_name: Some(p.secret_name.clone()),
            };
            cx.propose(r.clone(), "", body(params, pre, before, after));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{expand_one, fixture};
    use super::*;
    use crate::inventory::Inventory;
    use serde_json::json;

    fn one_key_user(inv: &Inventory) -> usize {
        inv.access_keys
            .iter()
            .position(|k| k.status == KeyStatus::Active && k.user_active_key_count == 1)
            .unwrap_or(usize::MAX)
    }

    fn run(inv: &Inventory, i: usize) -> (Vec<super::super::Proposed>, Vec<String>) {
        expand_one(
            inv,
            StepName::RotateAccessKey,
            ResourceKind::AccessKey,
            i,
            &json!({"secret_name": "iamwarden/u", "grace": "7d"}),
        )
    }

    #[test]
    fn phase_one_is_planned_for_a_single_key_and_never_carries_a_secret() {
        let inv = fixture();
        let i = one_key_user(&inv);
        let (out, skips) = run(&inv, i);
        assert!(skips.is_empty(), "{skips:?}");
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].body.params_json()["phase"], "create_new_key");
        assert_eq!(out[0].body.params_json()["secret_name"], "iamwarden/u");
        assert_eq!(out[0].body.after_json()["new_key"], "created by apply");
        let text = serde_json::to_string(&out[0].body.params_json()).unwrap_or_default();
        assert!(!text.contains("Secret"), "{text}");
    }

    #[test]
    fn a_user_with_two_keys_is_skipped_with_the_reason() {
        let mut inv = fixture();
        let i = one_key_user(&inv);
        let user = inv.access_keys[i].user.clone();
        let mut second = inv.access_keys[i].clone();
        second.id = "AKIASECOND".into();
        inv.access_keys.push(second);
        if let Some(u) = inv.users.iter_mut().find(|u| u.name == user) {
            u.access_key_ids.push("AKIASECOND".into());
        }
        let (out, skips) = run(&inv, i);
        assert!(out.is_empty());
        assert!(skips[0].contains("2 access keys already"), "{skips:?}");
    }

    #[test]
    fn phase_two_waits_for_the_new_key_or_the_grace_period() {
        let mut inv = fixture();
        let i = one_key_user(&inv);
        let user = inv.access_keys[i].user.clone();
        let old = inv.access_keys[i].id.clone();
        let mut new = inv.access_keys[i].clone();
        new.id = "AKIANEW".into();
        new.last_used_at = None;
        new.created_at = chrono::Utc::now();
        let tags: crate::inventory::Tags = [
            (TAG_OLD.to_string(), old.clone()),
            (TAG_NEW.to_string(), "AKIANEW".to_string()),
        ]
        .into_iter()
        .collect();
        inv.access_keys[i].user_tags = tags.clone();
        new.user_tags = tags;
        inv.access_keys.push(new);
        if let Some(u) = inv.users.iter_mut().find(|u| u.name == user) {
            u.access_key_ids.push("AKIANEW".into());
        }
        let (out, skips) = run(&inv, i);
        assert!(out.is_empty());
        assert!(
            skips[0].contains("waiting until the new key AKIANEW"),
            "{skips:?}"
        );
        // Used: phase two.
        let n = inv.access_keys.len() - 1;
        inv.access_keys[n].last_used_at = Some(chrono::Utc::now());
        let (out, _) = run(&inv, i);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].body.params_json()["phase"], "deactivate_old_key");
        assert_eq!(out[0].body.params_json()["new_key"], "AKIANEW");
        assert_eq!(out[0].body.after_json()["old_key_status"], "Inactive");
        // The new key itself is not rotated while the rotation is in progress.
        let (out, skips) = run(&inv, n);
        assert!(out.is_empty());
        assert!(skips[0].contains("in progress"), "{skips:?}");
    }

    #[test]
    fn the_grace_param_is_checked_at_load() {
        assert!(check_param("grace", &json!("7d")).is_empty());
        assert_eq!(check_param("grace", &json!("seven days")).len(), 1);
        assert_eq!(check_param("secret_name", &json!("")).len(), 1);
    }
}

pub(crate) mod live {
    //! `rotate_access_key`: apply's check, the hand-off's calls, and the reverse.
    use super::{
        recorded, HandOff, Phase, RotateActionParams, RotatePrecondition, TAG_NEW, TAG_OLD,
        TAG_SECRET,
    };
    use crate::iam::{CallOk, Secret, SecretInfo};
    use crate::steps::access_keys;
    use crate::steps::live::*;

    fn parts(a: &Action) -> Result<(RotateActionParams, RotatePrecondition), StepError> {
        Ok((
            parts_of!(a, RotateAccessKey)?.params.clone(),
            parts_of!(a, RotateAccessKey)?.precondition.clone(),
        ))
    }

    /// Whether the user holds this key (undo's re-read of a deleted new key).
    pub(crate) async fn has_key<X: Exec>(x: &X, user: &str, key: &str) -> Result<bool, StepError> {
        Ok(x.iam()
            .access_keys(user)
            .await?
            .unwrap_or_default()
            .iter()
            .any(|(k, _)| k == key))
    }

    /// What phase one left, re-read (an interrupted run's action found applied).
    async fn observed<X: Exec>(x: &X, secret_name: &str, new: &str) -> Result<Value, StepError> {
        let info = x.iam().secret(secret_name).await?.unwrap_or_default();
        let h = HandOff {
            new_key: new.to_string(),
            secret_created: info.previous_version.is_none() && info.versions.len() <= 1,
            secret_arn: info.arn,
            secret_version: info.current_version,
            previous_version: info.previous_version,
        };
        Ok(serde_json::to_value(h).unwrap_or(Value::Null))
    }

    pub(crate) async fn check<X: Exec>(x: &X, a: &Action) -> Result<Check, StepError> {
        let (p, pre) = parts(a)?;
        let old = a.resource.id.as_str();
        let user = p.user.as_str();
        let Some(keys) = x.iam().access_keys(user).await? else {
            return Ok(Check::Stale(format!("user {user} no longer exists")));
        };
        let Some((_, status)) = keys.iter().find(|(id, _)| id == old) else {
            return Ok(Check::Stale("the access key no longer exists".into()));
        };
        let ids: Vec<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
        match p.phase {
            Phase::CreateNewKey => {
                let tags = x.iam().tags("user", user).await?.unwrap_or_default();
                if let Some(rec) = recorded(|t| tags.get(t)).filter(|r| r.old == old) {
                    if ids.contains(&rec.new) {
                        return Ok(Check::Already(observed(x, &p.secret_name, rec.new).await?));
                    }
                }
                if status != "Active" {
                    return Ok(Check::Stale(format!(
                        "the key is {status} now; the plan saw it Active"
                    )));
                }
                let extra: Vec<&str> = ids
                    .iter()
                    .copied()
                    .filter(|k| !pre.keys.iter().any(|p| p == k))
                    .collect();
                if !extra.is_empty() {
                    return Ok(Check::Stale(format!(
                        "user {user} has access key(s) {} the plan did not see; if an \
                         interrupted run of this action created it, its secret was never \
                         stored: delete it (aws iam delete-access-key --user-name {user} \
                         --access-key-id KEY) and plan again",
                        extra.join(", ")
                    )));
                }
                if keys.len() >= 2 {
                    return Ok(Check::Stale(format!(
                        "user {user} has 2 access keys now (AWS allows 2)"
                    )));
                }
                Ok(Check::Proceed(json!({"status": status, "keys": ids})))
            }
            Phase::DeactivateOldKey => {
                if status == "Inactive" {
                    return Ok(Check::Already(json!({"status": "Inactive"})));
                }
                let new = p.new_key.as_deref().unwrap_or_default();
                if !ids.contains(&new) {
                    return Ok(Check::Stale(format!(
                        "the rotation's new key {new} no longer exists: the old key stays active"
                    )));
                }
                let used = x.iam().key_last_used(old).await?;
                let planned = plan_ts(pre.last_used_at.as_deref());
                if used > planned {
                    return Ok(Check::Stale(format!(
                        "the old key was used at {} since the plan saw its last use ({}): its \
                         consumers have not all moved to the new key",
                        when(used),
                        when(planned)
                    )));
                }
                Ok(Check::Proceed(
                    json!({"status": status, "last_used_at": ts_value(used)}),
                ))
            }
        }
    }

    pub(crate) async fn execute<X: Exec>(
        x: &X,
        a: &Action,
        _before: &Value,
    ) -> Result<Value, StepError> {
        let (p, pre) = parts(a)?;
        let old = a.resource.id.as_str();
        if p.phase == Phase::DeactivateOldKey {
            x.send(
                &a.id,
                access_keys::live::status_call(&p.user, old, "Inactive"),
            )
            .await?;
            return Ok(Value::Null);
        }
        let (new, secret) = create_key(x, a, &p, &pre).await?;
        let hand = match write_secret(x, a, &p, old, &new, &secret).await {
            Ok(h) => h,
            Err(e) => return Err(roll_back(x, a, &p, &new, None, e).await),
        };
        drop(secret);
        let record: BTreeMap<String, String> = [
            (TAG_OLD.to_string(), old.to_string()),
            (TAG_NEW.to_string(), new.clone()),
            (TAG_SECRET.to_string(), p.secret_name.clone()),
        ]
        .into();
        let tagged = match x.send(&a.id, IamCall::tag("user", &p.user, &record)).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_unknown() => {
                x.wait_settle().await;
                match x.iam().tags("user", &p.user).await {
                    Ok(Some(t)) if record.iter().all(|(k, v)| t.get(k) == Some(v)) => Ok(()),
                    Ok(_) => Err(e),
                    Err(re) => Err(unresolved(&e, &re.into())),
                }
            }
            Err(e) => Err(e),
        };
        if let Err(e) = tagged {
            return Err(roll_back(x, a, &p, &new, Some(&hand), e).await);
        }
        Ok(serde_json::to_value(&hand).unwrap_or(Value::Null))
    }

    /// `CreateAccessKey`, an unanswered one resolved by re-reading the user's keys.
    async fn create_key<X: Exec>(
        x: &X,
        a: &Action,
        p: &RotateActionParams,
        pre: &RotatePrecondition,
    ) -> Result<(String, Secret), StepError> {
        let call = IamCall::CreateAccessKey {
            user: p.user.clone(),
        };
        let mut sent = 0;
        loop {
            sent += 1;
            let err = match x.send(&a.id, call.clone()).await {
                Ok(CallOk::CreatedKey { id, secret }) => return Ok((id, secret)),
                Ok(_) => {
                    return Err(StepError::Call {
                        call: "CreateAccessKey",
                        code: None,
                        message: "the answer held no access key".into(),
                    })
                }
                Err(e) => e,
            };
            if !err.is_unknown() {
                return Err(err);
            }
            x.wait_settle().await;
            let keys = match x.iam().access_keys(&p.user).await {
                Ok(k) => k.unwrap_or_default(),
                Err(re) => return Err(unresolved(&err, &re.into())),
            };
            let lost: Vec<String> = keys
                .into_iter()
                .map(|(k, _)| k)
                .filter(|k| !pre.keys.contains(k))
                .collect();
            for k in &lost {
                // The lost answer carried its secret: nobody can use this key. Remove it.
                let del = IamCall::DeleteAccessKey {
                    user: p.user.clone(),
                    key: k.clone(),
                };
                if let Err(de) = x.send(&a.id, del).await {
                    return Err(resolved_failure(
                        &err,
                        &format!(
                            "access key {k} was created by the unanswered call (its secret never \
                             reached iamwarden) and deleting it failed ({de}): delete it (aws \
                             iam delete-access-key --user-name {} --access-key-id {k})",
                            p.user
                        ),
                    ));
                }
            }
            if sent >= MAX_SENDS {
                return Err(resolved_failure(
                    &err,
                    &format!(
                        "no usable new key after {sent} unanswered attempts ({} deleted again)",
                        if lost.is_empty() {
                            "none created".to_string()
                        } else {
                            lost.join(", ")
                        }
                    ),
                ));
            }
        }
    }

    /// The secret's value: the new key as JSON, a [`Secret`] from the start.
    fn secret_value(new: &str, secret: &Secret) -> Secret {
        Secret::new(json!({"AccessKeyId": new, "SecretAccessKey": secret.expose()}).to_string())
    }

    /// Writes the new key to the secret (creating it, or a new current version), an
    /// unanswered write resolved by re-reading the secret's versions (never its value).
    async fn write_secret<X: Exec>(
        x: &X,
        a: &Action,
        p: &RotateActionParams,
        old: &str,
        new: &str,
        secret: &Secret,
    ) -> Result<HandOff, StepError> {
        let tags: BTreeMap<String, String> = [
            ("iamwarden:user".to_string(), p.user.clone()),
            ("iamwarden:old-key".to_string(), old.to_string()),
        ]
        .into();
        let existing = x.iam().secret(&p.secret_name).await?;
        if existing.as_ref().is_some_and(|s| s.deleted) {
            return Err(StepError::Call {
                call: "PutSecretValue",
                code: Some("InvalidRequestException".into()),
                message: format!(
                    "secret {} is scheduled for deletion: restore it or choose another secret_name",
                    p.secret_name
                ),
            });
        }
        let before = existing.clone();
        let call = match &existing {
            Some(s) => IamCall::PutSecretValue {
                secret_id: s.arn.clone(),
                secret_string: secret_value(new, secret),
            },
            None => IamCall::CreateSecret {
                name: p.secret_name.clone(),
                secret_string: secret_value(new, secret),
                kms_key_id: p.kms_key_id.clone(),
                tags: tags.clone(),
            },
        };
        let (arn, version) = match x.send(&a.id, call).await {
            Ok(CallOk::SecretWritten { arn, version_id }) => (arn, Some(version_id)),
            Ok(_) => reread_write(x, p, before.as_ref(), None).await?,
            Err(e) if e.is_unknown() => {
                x.wait_settle().await;
                reread_write(x, p, before.as_ref(), Some(&e)).await?
            }
            Err(e) => return Err(e),
        };
        let hand = HandOff {
            new_key: new.to_string(),
            secret_arn: arn.clone(),
            secret_version: version,
            secret_created: existing.is_none(),
            previous_version: existing.and_then(|s| s.current_version),
        };
        if !hand.secret_created {
            if let Err(e) = x
                .send(
                    &a.id,
                    IamCall::TagSecret {
                        secret_id: arn,
                        tags,
                    },
                )
                .await
            {
                return Err(roll_back(x, a, p, new, Some(&hand), e).await);
            }
        }
        Ok(hand)
    }

    /// After an unanswered secret write: the secret now exists (it did not) or has another
    /// current version -> written.
    async fn reread_write<X: Exec>(
        x: &X,
        p: &RotateActionParams,
        before: Option<&SecretInfo>,
        err: Option<&StepError>,
    ) -> Result<(String, Option<String>), StepError> {
        let sent = || {
            err.map(ToString::to_string)
                .unwrap_or_else(|| "the secret write answered without a version".into())
        };
        let now = match x.iam().secret(&p.secret_name).await {
            Ok(n) => n,
            Err(re) => {
                return Err(StepError::Unresolved {
                    sent: sent(),
                    reread: StepError::from(re).to_string(),
                })
            }
        };
        match (before, now) {
            (None, Some(s)) => Ok((s.arn, s.current_version)),
            (Some(b), Some(s)) if s.current_version != b.current_version => {
                Ok((s.arn, s.current_version))
            }
            _ => Err(StepError::Resolved {
                sent: sent(),
                reread: format!("secret {} was not written", p.secret_name),
            }),
        }
    }

    /// Takes back a phase one that could not finish: the secret version (when written) and
    /// the new key, whose secret is stored nowhere else. The error says what happened and,
    /// when a removal failed, what to remove by hand.
    async fn roll_back<X: Exec>(
        x: &X,
        a: &Action,
        p: &RotateActionParams,
        new: &str,
        hand: Option<&HandOff>,
        why: StepError,
    ) -> StepError {
        if matches!(why, StepError::Journal(_)) {
            return why;
        }
        let mut left: Vec<String> = Vec::new();
        if let Some(h) = hand {
            for op in secret_undo(h) {
                if let Err(e) = undo_op(x, &a.id, &op).await {
                    left.push(format!("the secret {} ({e})", h.secret_arn));
                }
            }
        }
        let del = UndoOp::DeleteAccessKey {
            user: p.user.clone(),
            access_key_id: new.to_string(),
        };
        if let Err(e) = undo_op(x, &a.id, &del).await {
            left.push(format!(
                "access key {new} of user {} ({e}): delete it (aws iam delete-access-key \
                 --user-name {} --access-key-id {new})",
                p.user, p.user
            ));
        }
        let reread = if left.is_empty() {
            format!("the rotation was taken back: new key {new} deleted, nothing left behind")
        } else {
            format!(
                "the rotation could not be taken back fully; left behind: {}",
                left.join("; ")
            )
        };
        StepError::Resolved {
            sent: why.to_string(),
            reread,
        }
    }

    /// The ops that take back phase one's secret write.
    fn secret_undo(h: &HandOff) -> Vec<UndoOp> {
        if h.secret_created {
            return vec![UndoOp::DeleteSecret {
                secret_id: h.secret_arn.clone(),
            }];
        }
        match (&h.previous_version, &h.secret_version) {
            (Some(prev), Some(ours)) => vec![UndoOp::RestoreSecretVersion {
                secret_id: h.secret_arn.clone(),
                move_to: prev.clone(),
                remove_from: ours.clone(),
            }],
            _ => Vec::new(),
        }
    }

    pub(crate) fn reverse(
        a: &Action,
        _before: &Value,
        after: &Value,
    ) -> (Vec<UndoOp>, Option<String>) {
        let Ok(p) = parts_of!(a, RotateAccessKey).map(|p| p.params.clone()) else {
            return irreversible("the action's params do not fit the step");
        };
        if p.phase == Phase::DeactivateOldKey {
            return (
                vec![UndoOp::UpdateAccessKey {
                    user: p.user,
                    access_key_id: a.resource.id.clone(),
                    status: "Active".into(),
                }],
                None,
            );
        }
        let Ok(h) = serde_json::from_value::<HandOff>(after.clone()) else {
            return irreversible("the journal does not say which key and secret were created");
        };
        let mut ops = vec![UndoOp::Untag {
            kind: "user".into(),
            name: p.user.clone(),
            keys: vec![TAG_OLD.into(), TAG_NEW.into(), TAG_SECRET.into()],
        }];
        ops.extend(secret_undo(&h));
        ops.push(UndoOp::DeleteAccessKey {
            user: p.user,
            access_key_id: h.new_key,
        });
        (ops, None)
    }
}
