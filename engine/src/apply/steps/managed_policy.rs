//! `detach_policy_everywhere` and `delete_policy`: apply's check (attached to nothing new
//! since the plan), calls (detach from every entity; delete the other versions, then the
//! policy) and reverse.

use super::*;

pub(super) async fn check<I: Iam>(x: &Executor<I>, a: &Action) -> Result<Check, StepError> {
    let arn = param(a, "policy_arn")?;
    let deleting = a.action == StepName::DeletePolicy;
    let Some(current) = x.policy_default(arn).await? else {
        return Ok(if deleting {
            Check::Already(json!({"policy": "absent"}))
        } else {
            Check::Stale(format!("policy {arn} no longer exists"))
        });
    };
    let now = x.entities(arn).await?;
    let planned = attachments_of(a.before.get("attachments"));
    let new = new_since(&now, &planned);
    if !new.is_empty() {
        return Ok(Check::Stale(format!(
            "the policy was attached to {} since the plan was made",
            new.join(", ")
        )));
    }
    if !deleting {
        if is_empty(&now) {
            return Ok(Check::Already(
                json!({"attachments": attachments_value(&now)}),
            ));
        }
        return Ok(Check::Proceed(
            json!({"attachments": attachments_value(&now)}),
        ));
    }
    let planned_default = a
        .precondition
        .get("default_version_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if current != planned_default {
        return Ok(Check::Stale(format!(
            "the policy's default version is {current} now; the plan saw {planned_default}"
        )));
    }
    Ok(Check::Proceed(
        json!({"default_version_id": current, "attachments": attachments_value(&now)}),
    ))
}

fn is_empty(a: &Attachments) -> bool {
    a.users.is_empty() && a.groups.is_empty() && a.roles.is_empty()
}

/// Entities attached now that the plan did not see.
fn new_since(now: &Attachments, planned: &Attachments) -> Vec<String> {
    let mut out = Vec::new();
    for (now, then, kind) in [
        (&now.users, &planned.users, "user"),
        (&now.groups, &planned.groups, "group"),
        (&now.roles, &planned.roles, "role"),
    ] {
        out.extend(
            now.iter()
                .filter(|n| !then.contains(n))
                .map(|n| format!("{kind} {n}")),
        );
    }
    out
}

pub(super) async fn execute<I: Iam>(x: &Executor<I>, a: &Action) -> Result<Value, StepError> {
    let id = a.id.as_str();
    let arn = param(a, "policy_arn")?;
    if a.action == StepName::DeletePolicy && crate::apply::is_aws_managed(arn) {
        return Err(StepError::Plan(
            "AWS-managed policies are never deleted".into(),
        ));
    }
    let att = x.entities(arn).await?;
    for (kind, names) in [
        ("user", &att.users),
        ("group", &att.groups),
        ("role", &att.roles),
    ] {
        for n in names {
            x.send(id, IamCall::detach(kind, n, arn)).await?;
        }
    }
    if a.action == StepName::DeletePolicy {
        for (vid, default, _) in x.policy_versions(arn).await? {
            if !default {
                let call = IamCall::DeletePolicyVersion {
                    policy_arn: arn.to_string(),
                    version_id: vid,
                };
                x.send(id, call).await?;
            }
        }
        x.send(
            id,
            IamCall::DeletePolicy {
                policy_arn: arn.to_string(),
            },
        )
        .await?;
    }
    Ok(Value::Null)
}

pub(super) fn reverse(a: &Action, before: &Value) -> (Vec<UndoOp>, Option<String>) {
    if a.action == StepName::DeletePolicy {
        return irreversible(
            "a deleted managed policy cannot be restored: its versions are recorded in the plan's `before`",
        );
    }
    let att = attachments_of(before.get("attachments"));
    let arn = param_or_empty(a, "policy_arn");
    let mut ops = Vec::new();
    for (kind, names) in [
        ("user", &att.users),
        ("group", &att.groups),
        ("role", &att.roles),
    ] {
        for n in names {
            ops.push(UndoOp::AttachPolicy {
                entity: kind.into(),
                name: n.clone(),
                policy_arn: arn.clone(),
            });
        }
    }
    (ops, None)
}
