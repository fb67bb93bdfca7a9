//! `require_password_reset` and `delete_login_profile`: apply's check, calls and reverse.

use super::*;

pub(super) async fn check<I: Iam>(x: &Executor<I>, a: &Action) -> Result<Check, StepError> {
    let pre = &a.precondition;
    let user = param(a, "user")?;
    // A console password used since the plan was made is not the unused one the plan judged.
    if pre.get("password_last_used_at").is_some() {
        let planned = plan_ts(pre.get("password_last_used_at"));
        let used = x.user(user).await?.and_then(|u| u.password_last_used);
        if used > planned {
            return Ok(Check::Stale(format!(
                "the password was used at {} since the plan saw its last use ({})",
                when(used),
                when(planned)
            )));
        }
    }
    Ok(match x.login_profile(user).await? {
        None if a.action == StepName::DeleteLoginProfile => {
            Check::Already(json!({"login_profile": "absent"}))
        }
        None => Check::Stale(format!("user {user} no longer has a console password")),
        Some((_, true)) if a.action == StepName::RequirePasswordReset => {
            Check::Already(json!({"password_reset_required": true}))
        }
        Some((created, reset)) => Check::Proceed(json!({
            "login_profile": "present",
            "created_at": ts_value(created),
            "password_reset_required": reset,
        })),
    })
}

/// `UpdateLoginProfile` with only the reset flag (no password: AWS keeps the current one).
pub(super) fn reset_call(user: &str, reset_required: bool) -> IamCall {
    IamCall::UpdateLoginProfile {
        user: user.to_string(),
        reset_required,
    }
}

pub(super) async fn execute<I: Iam>(x: &Executor<I>, a: &Action) -> Result<Value, StepError> {
    let user = param(a, "user")?;
    let call = if a.action == StepName::DeleteLoginProfile {
        IamCall::DeleteLoginProfile {
            user: user.to_string(),
        }
    } else {
        reset_call(user, true)
    };
    x.send(&a.id, call).await?;
    Ok(Value::Null)
}

pub(super) fn reverse(a: &Action) -> (Vec<UndoOp>, Option<String>) {
    if a.action == StepName::DeleteLoginProfile {
        return irreversible(
            "a deleted console password cannot be restored (IAM never returns passwords): create a new login profile",
        );
    }
    (
        vec![UndoOp::UpdateLoginProfile {
            user: param_or_empty(a, "user"),
            password_reset_required: false,
        }],
        None,
    )
}

/// Whether the login profile's reset flag is this now (undo's re-read).
pub(super) async fn has_reset<I: Iam>(
    x: &Executor<I>,
    user: &str,
    reset: bool,
) -> Result<bool, StepError> {
    Ok(x.login_profile(user)
        .await?
        .is_some_and(|(_, r)| r == reset))
}
