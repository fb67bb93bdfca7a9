//! Whole-policy steps: `detach_policy_everywhere` (reversible; also for AWS-managed policies,
//! which are only detached) and `delete_policy` (destructive; customer-managed only).

use super::{customer_policy, roundtrip, ChangeKind, Cx, Gone, Safety, StepInfo, StepName, Target};
use crate::inventory::ResourceKind;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `detach_policy_everywhere`.
pub const DETACH_EVERYWHERE: StepInfo = StepInfo {
    targets: &[ResourceKind::ManagedPolicy],
    params: &[],
    params_schema: super::schema_of::<super::NoParams>,
    check_param: None,
    safety: Safety::Reversible,
    change: ChangeKind::Change,
    rank: 110,
    disables_credential: None,
    expand,
    verb: |_| "will be detached from every user, group and role".into(),
    roundtrip: roundtrip::<PolicyParams, AttachmentsPrecondition, AttachmentsState, AttachmentsState>,
};

/// `delete_policy`.
pub const DELETE: StepInfo = StepInfo {
    targets: &[ResourceKind::ManagedPolicy],
    params: &[],
    params_schema: super::schema_of::<super::NoParams>,
    check_param: None,
    safety: Safety::Destructive,
    change: ChangeKind::Delete,
    rank: 120,
    disables_credential: None,
    expand,
    verb: |_| "will be deleted".into(),
    roundtrip: roundtrip::<PolicyParams, DeletePrecondition, DeletedPolicy, Gone>,
};

/// The action's params: the policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyParams {
    /// The policy.
    pub policy_arn: String,
}

/// Where a policy is attached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Attachments {
    /// User names.
    pub users: Vec<String>,
    /// Group names.
    pub groups: Vec<String>,
    /// Role names.
    pub roles: Vec<String>,
}

/// The attachments (before and after a detach).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentsState {
    /// The attachments.
    pub attachments: Attachments,
}

/// What apply re-reads before a detach: the same attachments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentsPrecondition {
    /// The attachments.
    pub attachments: Attachments,
    /// The policy's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_id: Option<String>,
}

/// What apply re-reads before a delete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeletePrecondition {
    /// The default version.
    pub default_version_id: String,
    /// The policy's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_id: Option<String>,
}

/// The policy as it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeletedPolicy {
    /// The default version.
    pub default_version_id: String,
    /// Every version's id.
    pub versions: Vec<String>,
    /// The attachments.
    pub attachments: Attachments,
}

fn expand(step: StepName, cx: &mut Cx<'_>, t: &Target<'_>, _params: &Value) {
    let p = if step == StepName::DetachPolicyEverywhere {
        cx.inv().managed_policies.get(t.index)
    } else {
        customer_policy(cx, step, t)
    };
    let Some(p) = p else {
        return;
    };
    let r = t.resource;
    let policy_id = cx.ix.entity_ids(r).policy_id;
    let att = Attachments {
        users: p.attached_users.clone(),
        groups: p.attached_groups.clone(),
        roles: p.attached_roles.clone(),
    };
    let params = PolicyParams {
        policy_arn: p.arn.clone(),
    };
    if step == StepName::DetachPolicyEverywhere {
        if p.attachment_count == 0 {
            cx.skip(r, step, "the policy is not attached");
            return;
        }
        let pre = AttachmentsPrecondition {
            attachments: att.clone(),
            policy_id,
        };
        let before = AttachmentsState { attachments: att };
        let after = AttachmentsState {
            attachments: Attachments {
                users: Vec::new(),
                groups: Vec::new(),
                roles: Vec::new(),
            },
        };
        cx.propose(step, r.clone(), "", &params, &pre, &before, &after);
    } else {
        let pre = DeletePrecondition {
            default_version_id: p.default_version_id.clone(),
            policy_id,
        };
        let before = DeletedPolicy {
            default_version_id: p.default_version_id.clone(),
            versions: p.versions.iter().map(|v| v.version_id.clone()).collect(),
            attachments: att,
        };
        cx.propose(step, r.clone(), "", &params, &pre, &before, &());
    }
}
