//! `remove_user_from_group`: apply's check, calls and reverse (add the user back).

use super::*;

pub(super) async fn check<I: Iam>(x: &Executor<I>, a: &Action) -> Result<Check, StepError> {
    let user = param(a, "user")?;
    let group = param(a, "group")?;
    Ok(match x.groups_of(user).await? {
        None => Check::Stale(format!("user {user} no longer exists")),
        Some(gs) if gs.iter().any(|g| g == group) => {
            Check::Proceed(json!({"group_membership": group}))
        }
        Some(_) => Check::Already(json!({"member": false})),
    })
}

pub(super) async fn execute<I: Iam>(x: &Executor<I>, a: &Action) -> Result<Value, StepError> {
    let call = IamCall::RemoveUserFromGroup {
        user: param(a, "user")?.to_string(),
        group: param(a, "group")?.to_string(),
    };
    x.send(&a.id, call).await?;
    Ok(Value::Null)
}

pub(super) fn reverse(a: &Action) -> (Vec<UndoOp>, Option<String>) {
    (
        vec![UndoOp::AddUserToGroup {
            user: param_or_empty(a, "user"),
            group: param_or_empty(a, "group"),
        }],
        None,
    )
}

/// Whether the user is in the group now (undo's re-read).
pub(super) async fn is_member<I: Iam>(
    x: &Executor<I>,
    user: &str,
    group: &str,
) -> Result<bool, StepError> {
    Ok(x.groups_of(user)
        .await?
        .unwrap_or_default()
        .iter()
        .any(|g| g == group))
}
