//! `deactivate_access_key` and `delete_access_key`: apply's check, calls and reverse.

use super::*;

/// The action's key and its user.
fn target(a: &Action) -> Result<(&str, &str), StepError> {
    Ok((param(a, "user")?, a.resource.id.as_str()))
}

pub(super) async fn check<I: Iam>(x: &Executor<I>, a: &Action) -> Result<Check, StepError> {
    let pre = &a.precondition;
    let (user, key) = target(a)?;
    let deleting = a.action == StepName::DeleteAccessKey;
    let Some(keys) = x.access_keys(user).await? else {
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
    let used = x.key_last_used(key).await?;
    let planned_use = plan_ts(pre.get("last_used_at"));
    if pre.get("last_used_at").is_some() && used != planned_use && used > planned_use {
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
pub(super) fn status_call(user: &str, key: &str, status: &str) -> IamCall {
    IamCall::UpdateAccessKey {
        user: user.to_string(),
        key: key.to_string(),
        status: status.to_string(),
    }
}

pub(super) async fn execute<I: Iam>(x: &Executor<I>, a: &Action) -> Result<Value, StepError> {
    let (user, key) = target(a)?;
    let call = if a.action == StepName::DeleteAccessKey {
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

pub(super) fn reverse(a: &Action) -> (Vec<UndoOp>, Option<String>) {
    if a.action == StepName::DeleteAccessKey {
        return irreversible("a deleted access key cannot be restored: issue the user a new key");
    }
    (
        vec![UndoOp::UpdateAccessKey {
            user: param_or_empty(a, "user"),
            access_key_id: a.resource.id.clone(),
            status: "Active".into(),
        }],
        None,
    )
}

/// Whether the key has this status now (undo's re-read).
pub(super) async fn has_status<I: Iam>(
    x: &Executor<I>,
    user: &str,
    key: &str,
    status: &str,
) -> Result<bool, StepError> {
    Ok(x.access_keys(user)
        .await?
        .unwrap_or_default()
        .iter()
        .any(|(k, s)| k == key && s == status))
}
