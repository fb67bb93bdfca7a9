//! `update_password_policy`: apply's check, calls and reverse (the settings before, or no
//! policy at all).

use super::*;

pub(super) async fn check<I: Iam>(x: &Executor<I>, a: &Action) -> Result<Check, StepError> {
    let current = x.password_policy().await?;
    let want: Option<PasswordPolicy> =
        serde_json::from_value(a.params.get("settings").cloned().unwrap_or(Value::Null))
            .map_err(|e| StepError::Plan(format!("{}: settings: {e}", a.id)))?;
    if current == want {
        return Ok(Check::Already(
            json!({"password_policy": password_policy_value(current.as_ref())}),
        ));
    }
    let planned: Option<PasswordPolicy> = serde_json::from_value(
        a.precondition
            .get("password_policy")
            .cloned()
            .unwrap_or(Value::Null),
    )
    .map_err(|e| StepError::Plan(format!("{}: precondition: {e}", a.id)))?;
    if current != planned {
        return Ok(Check::Stale(
            "the account password policy changed since the plan was made".into(),
        ));
    }
    Ok(Check::Proceed(
        json!({"password_policy": password_policy_value(current.as_ref())}),
    ))
}

/// `UpdateAccountPasswordPolicy` with these settings (the inventory's password-policy shape).
pub(super) fn update_call(id: &str, settings: &Value) -> Result<IamCall, StepError> {
    let settings: PasswordPolicy = serde_json::from_value(settings.clone())
        .map_err(|e| StepError::Plan(format!("{id}: password policy settings: {e}")))?;
    Ok(IamCall::UpdateAccountPasswordPolicy { settings })
}

pub(super) async fn execute<I: Iam>(x: &Executor<I>, a: &Action) -> Result<Value, StepError> {
    let settings = a.params.get("settings").cloned().unwrap_or(Value::Null);
    x.send(&a.id, update_call(&a.id, &settings)?).await?;
    Ok(Value::Null)
}

pub(super) fn reverse(before: &Value) -> (Vec<UndoOp>, Option<String>) {
    match before.get("password_policy") {
        Some(Value::Null) | None => (vec![UndoOp::DeletePasswordPolicy], None),
        Some(settings) => (
            vec![UndoOp::UpdatePasswordPolicy {
                settings: settings.clone(),
            }],
            None,
        ),
    }
}
