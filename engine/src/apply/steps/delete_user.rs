//! `delete_user`: apply's check (nothing gained since the plan; the in-use re-check is
//! shared, in `steps`), the cascade of calls AWS requires before `DeleteUser` in AWS's order,
//! and why it has no reverse.

use super::*;
use crate::iam::UserInfo;

pub(super) async fn check<I: Iam>(x: &Executor<I>, a: &Action) -> Result<Check, StepError> {
    let user = param(a, "user")?;
    let Some(UserInfo { id, boundary, .. }) = x.user(user).await? else {
        return Ok(Check::Already(json!({"user": "absent"})));
    };
    let planned_id = a
        .precondition
        .get("user_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if id != planned_id {
        return Ok(Check::Stale(format!(
            "user {user} is another user now (id {id}; the plan saw {planned_id})"
        )));
    }
    // Anything the user gained since the plan was reviewed makes it stale.
    let mut new = Vec::new();
    let keys = x.access_keys(user).await?.unwrap_or_default();
    let planned_keys = strings(a.before.get("access_keys"));
    new.extend(
        keys.iter()
            .filter(|(k, _)| !planned_keys.contains(k))
            .map(|(k, _)| format!("access key {k}")),
    );
    let groups = x.groups_of(user).await?.unwrap_or_default();
    let planned_groups = strings(a.before.get("groups"));
    new.extend(
        groups
            .iter()
            .filter(|g| !planned_groups.contains(g))
            .map(|g| format!("group {g}")),
    );
    let attached = x.attached("user", user).await?.unwrap_or_default();
    let planned_att = strings(a.before.get("attached_policies"));
    new.extend(
        attached
            .iter()
            .filter(|p| !planned_att.contains(p))
            .map(|p| format!("policy {p}")),
    );
    let inline = x.inline_names(user).await?;
    let planned_inline = strings(a.before.get("inline_policies"));
    new.extend(
        inline
            .iter()
            .filter(|p| !planned_inline.contains(p))
            .map(|p| format!("inline policy {p}")),
    );
    if !new.is_empty() {
        return Ok(Check::Stale(format!(
            "user {user} has changed since the plan was made: {}",
            new.join(", ")
        )));
    }
    Ok(Check::Proceed(
        json!({"user_id": id, "permissions_boundary": boundary, "access_keys": keys.iter().map(|(k, _)| k).collect::<Vec<_>>(), "groups": groups, "attached_policies": attached, "inline_policies": inline}),
    ))
}

/// `DeleteUser` and everything AWS requires gone first, in AWS's order. The plan's own
/// prerequisite actions normally removed what the inventory knew of; this removes the rest
/// (signing certificates, SSH keys, service-specific credentials, the permissions boundary).
pub(super) async fn execute<I: Iam>(
    x: &Executor<I>,
    a: &Action,
    before: &Value,
) -> Result<Value, StepError> {
    let id = a.id.as_str();
    let user = param(a, "user")?;
    let u = || user.to_string();
    if x.login_profile(user).await?.is_some() {
        x.send(id, IamCall::DeleteLoginProfile { user: u() })
            .await?;
    }
    for (key, _) in x.access_keys(user).await?.unwrap_or_default() {
        x.send(id, IamCall::DeleteAccessKey { user: u(), key })
            .await?;
    }
    for certificate_id in x.signing_certificates(user).await? {
        x.send(
            id,
            IamCall::DeleteSigningCertificate {
                user: u(),
                certificate_id,
            },
        )
        .await?;
    }
    for key_id in x.ssh_public_keys(user).await? {
        x.send(id, IamCall::DeleteSshPublicKey { user: u(), key_id })
            .await?;
    }
    for credential_id in x.service_specific_credentials(user).await? {
        x.send(
            id,
            IamCall::DeleteServiceSpecificCredential {
                user: u(),
                credential_id,
            },
        )
        .await?;
    }
    for (serial, _) in x.mfa_devices(user).await?.unwrap_or_default() {
        x.send(
            id,
            IamCall::DeactivateMfaDevice {
                user: u(),
                serial: serial.clone(),
            },
        )
        .await?;
        if serial.starts_with("arn:") {
            x.send(id, IamCall::DeleteVirtualMfaDevice { serial })
                .await?;
        }
    }
    for group in x.groups_of(user).await?.unwrap_or_default() {
        x.send(id, IamCall::RemoveUserFromGroup { user: u(), group })
            .await?;
    }
    for arn in x.attached("user", user).await?.unwrap_or_default() {
        x.send(id, IamCall::detach("user", user, &arn)).await?;
    }
    for name in x.inline_names(user).await? {
        x.send(id, IamCall::delete_inline("user", user, &name))
            .await?;
    }
    if before
        .get("permissions_boundary")
        .and_then(Value::as_str)
        .is_some()
    {
        x.send(id, IamCall::DeleteUserPermissionsBoundary { user: u() })
            .await?;
    }
    x.send(id, IamCall::DeleteUser { user: u() }).await?;
    Ok(Value::Null)
}

pub(super) fn reverse() -> (Vec<UndoOp>, Option<String>) {
    irreversible(
        "a deleted user cannot be restored (its keys, password and id are gone): create it again",
    )
}
