//! `delete_user` (destructive): the cascade AWS requires first, in AWS's order (login profile,
//! access keys, MFA devices, group memberships, attached and inline policies: each an action
//! of its own step, `part_of` the user's), then the user.

use super::{
    action_id, expand as expand_step, ts, Body, ChangeKind, Cx, Disables, Gone, Parts, Safety,
    StepInfo, StepName, Target,
};
use crate::inventory::ResourceKind;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// `delete_user`.
pub const DELETE: StepInfo = StepInfo {
    targets: &[ResourceKind::User],
    params: &[],
    params_schema: super::schema_of::<super::NoParams>,
    check_param: None,
    safety: Safety::Destructive,
    change: ChangeKind::Delete,
    diff: "the cascade ([8.2](#82-which-resource-an-action-lands-on)), then `- user`: `groups`, `access_keys`, `attached_policies`, `inline_policies`",
    rank: 90,
    disables_credential: Some(Disables::User),
    expand,
    verb: |_| "will be deleted".into(),
};

/// The parts of a `delete_user` action.
pub type DeleteUserParts = Parts<DeleteUserParams, DeleteUserPrecondition, DeletedUser, Gone>;

/// The action's params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteUserParams {
    /// The user.
    pub user: String,
    /// The user's permissions boundary (removed before the user is deleted).
    pub permissions_boundary: Option<String>,
}

/// What apply re-reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteUserPrecondition {
    /// The user's id.
    pub user_id: String,
    /// When the user was created.
    pub created_at: Option<String>,
    /// The in-use window's start apply re-checks the user's credentials against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_use_since: Option<String>,
}

/// The user as it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeletedUser {
    /// The name.
    pub user: String,
    /// Its groups.
    pub groups: Vec<String>,
    /// Its access key ids.
    pub access_keys: Vec<String>,
    /// Its attached managed policies.
    pub attached_policies: Vec<String>,
    /// Its inline policies' names.
    pub inline_policies: Vec<String>,
}

fn expand(step: StepName, cx: &mut Cx<'_>, t: &Target<'_>, _params: &Value) {
    let inv = cx.inv();
    let Some(u) = inv.users.get(t.index) else {
        return;
    };
    let r = t.resource.clone();
    let parent = action_id(step, &r, "");
    let mut parts: Vec<(StepName, ResourceKind, usize, Value)> = Vec::new();
    if let Some(&li) = cx.ix.login_profiles.get(u.name.as_str()) {
        parts.push((
            StepName::DeleteLoginProfile,
            ResourceKind::LoginProfile,
            li,
            Value::Null,
        ));
    }
    let owned = cx.ix.owned_by(&u.name);
    for &ki in &owned.keys {
        parts.push((
            StepName::DeleteAccessKey,
            ResourceKind::AccessKey,
            ki,
            Value::Null,
        ));
    }
    for &mi in &owned.mfa_devices {
        parts.push((
            StepName::DeactivateMfaDevice,
            ResourceKind::MfaDevice,
            mi,
            json!({"delete_virtual": true}),
        ));
    }
    let start = cx.out.len();
    let part = |cx: &mut Cx<'_>, step: StepName, kind: ResourceKind, index: usize, p: &Value| {
        let resource = inv.resource_ref(kind, index).unwrap_or_else(|| r.clone());
        let target = Target {
            kind,
            index,
            resource: &resource,
        };
        expand_step(step, cx, &target, p);
    };
    for (step, kind, idx, params) in &parts {
        part(cx, *step, *kind, *idx, params);
    }
    expand_step(StepName::RemoveUserFromGroup, cx, t, &Value::Null);
    expand_step(StepName::DetachUserPolicy, cx, t, &Value::Null);
    for &pi in &owned.inline_policies {
        part(
            cx,
            StepName::DeleteInlinePolicy,
            ResourceKind::InlinePolicy,
            pi,
            &Value::Null,
        );
    }
    for p in cx.out.iter_mut().skip(start) {
        p.part_of = Some(parent.clone());
    }
    let params = DeleteUserParams {
        user: u.name.clone(),
        permissions_boundary: u.permissions_boundary.clone(),
    };
    let pre = DeleteUserPrecondition {
        user_id: u.id.clone(),
        created_at: ts(Some(u.created_at)),
        in_use_since: ts(cx.in_use_since),
    };
    let before = DeletedUser {
        user: u.name.clone(),
        groups: u.groups.clone(),
        access_keys: u.access_key_ids.clone(),
        attached_policies: u.attached_policies.clone(),
        inline_policies: u.inline_policies.clone(),
    };
    cx.propose(
        r,
        "",
        Body::DeleteUser(Box::new(Parts {
            params,
            precondition: pre,
            before,
            after: (),
        })),
    );
}

pub(crate) mod live {
    //! `delete_user`: apply's check (nothing gained since the plan; the in-use re-check is
    //! shared, in `steps`), the cascade of calls AWS requires before `DeleteUser` in AWS's order,
    //! and why it has no reverse.
    use crate::iam::UserInfo;
    use crate::steps::live::*;
    use serde::Deserialize;

    pub(crate) async fn check<X: Exec>(x: &X, a: &Action) -> Result<Check, StepError> {
        let parts: &super::DeleteUserParts = parts_of!(a, DeleteUser)?;
        let user = parts.params.user.as_str();
        let planned_id = parts.precondition.user_id.as_str();
        let planned = &parts.before;
        let Some(UserInfo { id, boundary, .. }) = x.iam().user(user).await? else {
            return Ok(Check::Already(json!({"user": "absent"})));
        };
        if id != planned_id {
            return Ok(Check::Stale(format!(
                "user {user} is another user now (id {id}; the plan saw {planned_id})"
            )));
        }
        // Anything the user gained since the plan was reviewed makes it stale.
        let mut new = Vec::new();
        let keys = x.iam().access_keys(user).await?.unwrap_or_default();
        let planned_keys = &planned.access_keys;
        new.extend(
            keys.iter()
                .filter(|(k, _)| !planned_keys.contains(k))
                .map(|(k, _)| format!("access key {k}")),
        );
        let groups = x.iam().groups_of(user).await?.unwrap_or_default();
        let planned_groups = &planned.groups;
        new.extend(
            groups
                .iter()
                .filter(|g| !planned_groups.contains(g))
                .map(|g| format!("group {g}")),
        );
        let attached = x.iam().attached("user", user).await?.unwrap_or_default();
        let planned_att = &planned.attached_policies;
        new.extend(
            attached
                .iter()
                .filter(|p| !planned_att.contains(p))
                .map(|p| format!("policy {p}")),
        );
        let inline = x.iam().inline_names(user).await?;
        let planned_inline = &planned.inline_policies;
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

    /// What the check read (`before` in the journal) that the calls need.
    #[derive(Debug, Deserialize)]
    struct Seen {
        /// The user's permissions boundary, removed before the user.
        #[serde(deserialize_with = "crate::steps::present")]
        permissions_boundary: Option<String>,
    }

    /// `DeleteUser` and everything AWS requires gone first, in AWS's order. The plan's own
    /// prerequisite actions normally removed what the inventory knew of; this removes the rest
    /// (signing certificates, SSH keys, service-specific credentials, the permissions boundary).
    pub(crate) async fn execute<X: Exec>(
        x: &X,
        a: &Action,
        before: &Value,
    ) -> Result<Value, StepError> {
        let id = a.id.as_str();
        let user = parts_of!(a, DeleteUser)?.params.user.as_str();
        let u = || user.to_string();
        if x.iam().login_profile(user).await?.is_some() {
            x.send(id, IamCall::DeleteLoginProfile { user: u() })
                .await?;
        }
        for (key, _) in x.iam().access_keys(user).await?.unwrap_or_default() {
            x.send(id, IamCall::DeleteAccessKey { user: u(), key })
                .await?;
        }
        for certificate_id in x.iam().signing_certificates(user).await? {
            x.send(
                id,
                IamCall::DeleteSigningCertificate {
                    user: u(),
                    certificate_id,
                },
            )
            .await?;
        }
        for key_id in x.iam().ssh_public_keys(user).await? {
            x.send(id, IamCall::DeleteSshPublicKey { user: u(), key_id })
                .await?;
        }
        for credential_id in x.iam().service_specific_credentials(user).await? {
            x.send(
                id,
                IamCall::DeleteServiceSpecificCredential {
                    user: u(),
                    credential_id,
                },
            )
            .await?;
        }
        for (serial, _) in x.iam().mfa_devices(user).await?.unwrap_or_default() {
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
        for group in x.iam().groups_of(user).await?.unwrap_or_default() {
            x.send(id, IamCall::RemoveUserFromGroup { user: u(), group })
                .await?;
        }
        for arn in x.iam().attached("user", user).await?.unwrap_or_default() {
            x.send(id, IamCall::detach("user", user, &arn)).await?;
        }
        for name in x.iam().inline_names(user).await? {
            x.send(id, IamCall::delete_inline("user", user, &name))
                .await?;
        }
        if part::<Seen>(a, "before", before)?
            .permissions_boundary
            .is_some()
        {
            x.send(id, IamCall::DeleteUserPermissionsBoundary { user: u() })
                .await?;
        }
        x.send(id, IamCall::DeleteUser { user: u() }).await?;
        Ok(Value::Null)
    }

    pub(crate) fn reverse(
        _a: &Action,
        _before: &Value,
        _after: &Value,
    ) -> (Vec<UndoOp>, Option<String>) {
        irreversible(
        "a deleted user cannot be restored (its keys, password and id are gone): create it again",
    )
    }
}
