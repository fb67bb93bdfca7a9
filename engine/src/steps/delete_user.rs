//! `delete_user` (destructive): the cascade AWS requires first, in AWS's order (login profile,
//! access keys, MFA devices, group memberships, attached and inline policies: each an action
//! of its own step, `part_of` the user's), then the user.

use super::{
    action_id, expand as expand_step, roundtrip, ts, ChangeKind, Cx, Disables, Gone, Safety,
    StepInfo, StepName, Target,
};
use crate::inventory::{OwnerKind, ResourceKind};
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
    rank: 90,
    disables_credential: Some(Disables::User),
    expand,
    verb: |_| "will be deleted".into(),
    roundtrip: roundtrip::<DeleteUserParams, DeleteUserPrecondition, DeletedUser, Gone>,
};

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
    for (ki, _) in inv
        .access_keys
        .iter()
        .enumerate()
        .filter(|(_, k)| k.user == u.name)
    {
        parts.push((
            StepName::DeleteAccessKey,
            ResourceKind::AccessKey,
            ki,
            Value::Null,
        ));
    }
    for (mi, _) in inv
        .mfa_devices
        .iter()
        .enumerate()
        .filter(|(_, d)| d.user.as_deref() == Some(u.name.as_str()))
    {
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
    for (pi, _) in inv
        .inline_policies
        .iter()
        .enumerate()
        .filter(|(_, p)| p.owner_kind == OwnerKind::User && p.owner == u.name)
    {
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
    cx.propose(step, r, "", &params, &pre, &before, &());
}
