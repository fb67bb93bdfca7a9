//! `quarantine_user`: apply's check (the in-use re-check is shared, in `steps`), calls and
//! reverse (delete the quarantine policy).

use super::*;

pub(super) async fn check<I: Iam>(x: &Executor<I>, a: &Action) -> Result<Check, StepError> {
    let user = param(a, "user")?;
    let name = param(a, "policy_name")?;
    let want = a.params.get("document").cloned().unwrap_or(Value::Null);
    if x.user(user).await?.is_none() {
        return Ok(Check::Stale(format!("user {user} no longer exists")));
    }
    Ok(match x.inline("user", user, name).await? {
        Some(doc) if doc == want => Check::Already(json!({"inline_policy": name})),
        Some(_) => Check::Stale(format!(
            "user {user} has an inline policy named {name} with another document"
        )),
        None => Check::Proceed(json!({"inline_policy_absent": name})),
    })
}

pub(super) async fn execute<I: Iam>(x: &Executor<I>, a: &Action) -> Result<Value, StepError> {
    let user = param(a, "user")?;
    let name = param(a, "policy_name")?;
    let doc = a.params.get("document").cloned().unwrap_or(Value::Null);
    x.send(&a.id, IamCall::put_inline("user", user, name, &doc))
        .await?;
    Ok(Value::Null)
}

pub(super) fn reverse(a: &Action) -> (Vec<UndoOp>, Option<String>) {
    (
        vec![UndoOp::DeleteInlinePolicy {
            entity: "user".into(),
            name: param_or_empty(a, "user"),
            policy_name: param_or_empty(a, "policy_name"),
        }],
        None,
    )
}
