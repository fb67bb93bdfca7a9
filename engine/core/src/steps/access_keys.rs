//! Access-key steps: `deactivate_access_key` (reversible) and `delete_access_key` (destructive).
//! Planned only on `$.access_keys`, so each key is judged on its own.

use super::{ts, Body, ChangeKind, Cx, Disables, Gone, Parts, Safety, StepInfo, StepName, Target};
use crate::inventory::{KeyStatus, ResourceKind};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `deactivate_access_key`.
pub const DEACTIVATE: StepInfo = StepInfo {
    targets: &[ResourceKind::AccessKey],
    params: &[],
    params_schema: super::schema_of::<super::NoParams>,
    check_param: None,
    safety: Safety::Reversible,
    change: ChangeKind::Change,
    diff: "`~ access_key`: `status = \"Active\" -> \"Inactive\"`. Skipped if already inactive.",
    rank: 20,
    disables_credential: Some(Disables::AccessKey),
    expand,
    verb: |_| "will be deactivated".into(),
};

/// The parts of a `deactivate_access_key` action.
pub type DeactivateParts = Parts<KeyParams, KeyPrecondition, StatusState, StatusState>;

/// `delete_access_key`.
pub const DELETE: StepInfo = StepInfo {
    targets: &[ResourceKind::AccessKey],
    params: &[],
    params_schema: super::schema_of::<super::NoParams>,
    check_param: None,
    safety: Safety::Destructive,
    change: ChangeKind::Delete,
    diff: "`- access_key`: `status`, `created_at`, `last_used_at`",
    rank: 21,
    disables_credential: Some(Disables::AccessKey),
    expand,
    verb: |_| "will be deleted".into(),
};

/// The parts of a `delete_access_key` action.
pub type DeleteParts = Parts<KeyParams, KeyPrecondition, DeletedKey, Gone>;

/// The action's params: the key's user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyParams {
    /// The user the key belongs to.
    pub user: String,
}

/// What apply re-reads: the key's user, status and last use (a key used since the plan was
/// made is not the key the plan judged unused), and the user's id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyPrecondition {
    /// The user.
    pub user: String,
    /// The status.
    pub status: KeyStatus,
    /// The last use, RFC 3339 (`null`: never used; required, so an old plan without it is
    /// refused rather than read as "never used").
    #[serde(deserialize_with = "super::present")]
    pub last_used_at: Option<String>,
    /// The user's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// A key's status (before and after a deactivation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusState {
    /// The status.
    pub status: KeyStatus,
}

/// A deleted key, as it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeletedKey {
    /// The status.
    pub status: KeyStatus,
    /// When it was created.
    pub created_at: Option<String>,
    /// Its last use.
    pub last_used_at: Option<String>,
}

fn expand(step: StepName, cx: &mut Cx<'_>, t: &Target<'_>, _params: &Value) {
    let Some(k) = cx.inv().access_keys.get(t.index) else {
        return;
    };
    if step == StepName::DeactivateAccessKey && k.status == KeyStatus::Inactive {
        cx.skip(t.resource, step, "already inactive");
        return;
    }
    let params = KeyParams {
        user: k.user.clone(),
    };
    let pre = KeyPrecondition {
        user: k.user.clone(),
        status: k.status,
        last_used_at: ts(k.last_used_at),
        user_id: cx.ix.user_id(&k.user),
    };
    let r = t.resource.clone();
    if step == StepName::DeactivateAccessKey {
        let before = StatusState {
            status: KeyStatus::Active,
        };
        let after = StatusState {
            status: KeyStatus::Inactive,
        };
        let parts = Parts {
            params,
            precondition: pre,
            before,
            after,
        };
        cx.propose(r, "", Body::DeactivateAccessKey(Box::new(parts)));
    } else {
        let before = DeletedKey {
            status: k.status,
            created_at: ts(Some(k.created_at)),
            last_used_at: ts(k.last_used_at),
        };
        let parts = Parts {
            params,
            precondition: pre,
            before,
            after: (),
        };
        cx.propose(r, "", Body::DeleteAccessKey(Box::new(parts)));
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{expand_one, fixture};
    use super::*;

    #[test]
    fn an_inactive_key_is_not_deactivated_again_but_may_be_deleted() {
        let inv = fixture();
        let i = inv
            .access_keys
            .iter()
            .position(|k| k.status == KeyStatus::Inactive)
            .unwrap_or(usize::MAX);
        let (out, skips) = expand_one(
            &inv,
            StepName::DeactivateAccessKey,
            ResourceKind::AccessKey,
            i,
            &Value::Null,
        );
        assert!(out.is_empty());
        assert_eq!(skips, vec!["already inactive".to_string()]);
        let (out, _) = expand_one(
            &inv,
            StepName::DeleteAccessKey,
            ResourceKind::AccessKey,
            i,
            &Value::Null,
        );
        assert_eq!(out.len(), 1);
        let Body::DeleteAccessKey(p) = &out[0].body else {
            panic!("a delete_access_key body");
        };
        assert_eq!(p.before.status, KeyStatus::Inactive);
    }
}

pub(crate) mod live {
    //! `deactivate_access_key` and `delete_access_key`: apply's check, calls and reverse.
    use super::{KeyParams, KeyPrecondition};
    use crate::steps::live::*;

    /// The action's params and precondition (both steps share them).
    fn parts(a: &Action) -> Result<(&KeyParams, &KeyPrecondition), StepError> {
        match &a.body {
            Body::DeactivateAccessKey(p) => Ok((&p.params, &p.precondition)),
            Body::DeleteAccessKey(p) => Ok((&p.params, &p.precondition)),
            _ => Err(wrong_body(a)),
        }
    }

    /// The action's key and its user.
    fn target(a: &Action) -> Result<(&str, &str), StepError> {
        Ok((parts(a)?.0.user.as_str(), a.resource.id.as_str()))
    }

    pub(crate) async fn check<X: Exec>(x: &X, a: &Action) -> Result<Check, StepError> {
        let (user, key) = target(a)?;
        let pre = parts(a)?.1;
        let deleting = a.step() == StepName::DeleteAccessKey;
        let Some(keys) = x.iam().access_keys(user).await? else {
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
        let planned = pre.status.as_str();
        if status != planned {
            return Ok(Check::Stale(format!(
                "the key is {status} now; the plan saw it {planned}"
            )));
        }
        let used = x.iam().key_last_used(key).await?;
        let planned_use = plan_ts(pre.last_used_at.as_deref());
        if used > planned_use {
            return Ok(Check::Stale(format!(
                "the key was used at {} since the plan saw its last use ({})",
                when(used),
                when(planned_use)
            )));
        }
        Ok(Check::Proceed(
            json!({"status": status, "last_used_at": ts_value(used)}),
        ))
    }

    /// `UpdateAccessKey` to a status.
    pub(crate) fn status_call(user: &str, key: &str, status: &str) -> IamCall {
        IamCall::UpdateAccessKey {
            user: user.to_string(),
            key: key.to_string(),
            status: status.to_string(),
        }
    }

    pub(crate) async fn execute<X: Exec>(
        x: &X,
        a: &Action,
        _before: &Value,
    ) -> Result<Value, StepError> {
        let (user, key) = target(a)?;
        let call = if a.step() == StepName::DeleteAccessKey {
            IamCall::DeleteAccessKey {
                user: user.to_string(),
                key: key.to_string(),
            }
        } else {
            status_call(user, key, "Inactive")
        };
        x.send(&a.id, call).await?;
        Ok(Value::Null)
    }

    pub(crate) fn reverse(
        a: &Action,
        _before: &Value,
        _after: &Value,
    ) -> (Vec<UndoOp>, Option<String>) {
        if a.step() == StepName::DeleteAccessKey {
            return irreversible(
                "a deleted access key cannot be restored: issue the user a new key",
            );
        }
        (
            vec![UndoOp::UpdateAccessKey {
                user: target(a)
                    .map(|(user, _)| user.to_string())
                    .unwrap_or_default(),
                access_key_id: a.resource.id.clone(),
                status: "Active".into(),
            }],
            None,
        )
    }

    /// Whether the key has this status now (undo's re-read).
    pub(crate) async fn has_status<X: Exec>(
        x: &X,
        user: &str,
        key: &str,
        status: &str,
    ) -> Result<bool, StepError> {
        Ok(x.iam()
            .access_keys(user)
            .await?
            .unwrap_or_default()
            .iter()
            .any(|(k, s)| k == key && s == status))
    }
}
