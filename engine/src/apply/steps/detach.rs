//! `detach_user_policy`, `detach_group_policy`, `detach_role_policy`: apply's check, calls
//! and reverse (attach it again).

use super::*;

pub(super) async fn check<I: Iam>(x: &Executor<I>, a: &Action) -> Result<Check, StepError> {
    let (kind, name) = entity_of(a)?;
    let arn = param(a, "policy_arn")?;
    Ok(match x.attached(kind, name).await? {
        None => Check::Stale(format!("{kind} {name} no longer exists")),
        Some(arns) if arns.iter().any(|x| x == arn) => {
            Check::Proceed(json!({"attached_policy": arn}))
        }
        Some(_) => Check::Already(json!({"attached": false})),
    })
}

pub(super) async fn execute<I: Iam>(x: &Executor<I>, a: &Action) -> Result<Value, StepError> {
    let (kind, name) = entity_of(a)?;
    let arn = param(a, "policy_arn")?;
    x.send(&a.id, IamCall::detach(kind, name, arn)).await?;
    Ok(Value::Null)
}

pub(super) fn reverse(a: &Action) -> (Vec<UndoOp>, Option<String>) {
    match entity_of(a) {
        Ok((kind, name)) => (
            vec![UndoOp::AttachPolicy {
                entity: kind.into(),
                name: name.into(),
                policy_arn: param_or_empty(a, "policy_arn"),
            }],
            None,
        ),
        Err(_) => irreversible("the plan's action names no entity"),
    }
}

/// Whether the policy is attached to the entity now (undo's re-read).
pub(super) async fn is_attached<I: Iam>(
    x: &Executor<I>,
    kind: &str,
    name: &str,
    arn: &str,
) -> Result<bool, StepError> {
    Ok(x.attached(kind, name)
        .await?
        .unwrap_or_default()
        .iter()
        .any(|p| p == arn))
}
