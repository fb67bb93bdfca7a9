//! `deactivate_mfa_device`: apply's check and calls (it has no reverse: re-enabling a device
//! takes two codes from it).

use super::*;

pub(super) async fn check<I: Iam>(x: &Executor<I>, a: &Action) -> Result<Check, StepError> {
    let pre = &a.precondition;
    let user = param(a, "user")?;
    let serial = a.resource.id.as_str();
    let delete_virtual = a.params.get("delete_virtual").and_then(Value::as_bool) == Some(true);
    let devices = x.mfa_devices(user).await?.unwrap_or_default();
    Ok(match devices.iter().find(|(s, _)| s == serial) {
        Some((_, enabled)) => {
            let planned = plan_ts(pre.get("enabled_at"));
            if planned.is_some() && enabled.is_some() && planned != *enabled {
                return Ok(Check::Stale(format!(
                    "the device was enabled again at {} (the plan saw {})",
                    when(*enabled),
                    when(planned)
                )));
            }
            Check::Proceed(json!({"user": user, "enabled": true, "enabled_at": ts_value(*enabled)}))
        }
        None if delete_virtual && x.virtual_mfa_exists(serial).await? => Check::Proceed(
            json!({"user": Value::Null, "enabled": false, "virtual_device": "present"}),
        ),
        None => Check::Already(json!({"enabled": false})),
    })
}

pub(super) async fn execute<I: Iam>(
    x: &Executor<I>,
    a: &Action,
    before: &Value,
) -> Result<Value, StepError> {
    let user = param(a, "user")?;
    let serial = a.resource.id.as_str();
    if before.get("enabled").and_then(Value::as_bool) == Some(true) {
        x.send(
            &a.id,
            IamCall::DeactivateMfaDevice {
                user: user.to_string(),
                serial: serial.to_string(),
            },
        )
        .await?;
    }
    if a.params.get("delete_virtual").and_then(Value::as_bool) == Some(true) {
        x.send(
            &a.id,
            IamCall::DeleteVirtualMfaDevice {
                serial: serial.to_string(),
            },
        )
        .await?;
    }
    Ok(Value::Null)
}

pub(super) fn reverse() -> (Vec<UndoOp>, Option<String>) {
    irreversible(
        "an MFA device cannot be re-enabled without two codes from it: the user must enable MFA again",
    )
}
