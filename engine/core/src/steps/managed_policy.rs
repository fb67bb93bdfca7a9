//! Whole-policy steps: `detach_policy_everywhere` (reversible; also for AWS-managed policies,
//! which are only detached) and `delete_policy` (destructive; customer-managed only).

use super::{
    customer_policy, Body, ChangeKind, Cx, Gone, Parts, Safety, StepInfo, StepName, Target,
};
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
    diff: "`~ managed_policy`: `attachments = {...} -> {\"users\":[],\"groups\":[],\"roles\":[]}`",
    rank: 110,
    disables_credential: None,
    expand,
    verb: |_| "will be detached from every user, group and role".into(),
};

/// The parts of a `detach_policy_everywhere` action.
pub type DetachEverywhereParts =
    Parts<PolicyParams, AttachmentsPrecondition, AttachmentsState, AttachmentsState>;

/// `delete_policy`.
pub const DELETE: StepInfo = StepInfo {
    targets: &[ResourceKind::ManagedPolicy],
    params: &[],
    params_schema: super::schema_of::<super::NoParams>,
    check_param: None,
    safety: Safety::Destructive,
    change: ChangeKind::Delete,
    diff: "`- managed_policy`: `default_version_id`, `versions`, `attachments`",
    rank: 120,
    disables_credential: None,
    expand,
    verb: |_| "will be deleted".into(),
};

/// The parts of a `delete_policy` action.
pub type DeletePolicyParts = Parts<PolicyParams, DeletePrecondition, DeletedPolicy, Gone>;

/// The policy an action of either step acts on, and the attachments the plan saw.
pub fn planned(b: &Body) -> Option<(&PolicyParams, &Attachments)> {
    match b {
        Body::DetachPolicyEverywhere(p) => Some((&p.params, &p.before.attachments)),
        Body::DeletePolicy(p) => Some((&p.params, &p.before.attachments)),
        _ => None,
    }
}

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
        cx.propose(
            r.clone(),
            "",
            Body::DetachPolicyEverywhere(Box::new(Parts {
                params,
                precondition: pre,
                before,
                after,
            })),
        );
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
        cx.propose(
            r.clone(),
            "",
            Body::DeletePolicy(Box::new(Parts {
                params,
                precondition: pre,
                before,
                after: (),
            })),
        );
    }
}

pub(crate) mod live {
    //! `detach_policy_everywhere` and `delete_policy`: apply's check (attached to nothing new
    //! since the plan), calls (detach from every entity; delete the other versions, then the
    //! policy) and reverse.
    use super::AttachmentsState;
    use crate::steps::live::*;

    impl From<super::Attachments> for Attachments {
        fn from(a: super::Attachments) -> Attachments {
            Attachments {
                users: a.users,
                groups: a.groups,
                roles: a.roles,
            }
        }
    }

    impl From<&Attachments> for super::Attachments {
        fn from(a: &Attachments) -> super::Attachments {
            super::Attachments {
                users: a.users.clone(),
                groups: a.groups.clone(),
                roles: a.roles.clone(),
            }
        }
    }

    /// The attachments as `before` records them.
    fn state(now: &Attachments) -> Value {
        serde_json::to_value(AttachmentsState {
            attachments: now.into(),
        })
        .unwrap_or(Value::Null)
    }

    pub(crate) async fn check<X: Exec>(x: &X, a: &Action) -> Result<Check, StepError> {
        let (params, planned) = super::planned(&a.body).ok_or_else(|| wrong_body(a))?;
        let arn = params.policy_arn.as_str();
        let deleting = a.step() == StepName::DeletePolicy;
        // The plan's `before` holds the attachments it saw; a delete also the default version.
        let planned_default = match &a.body {
            Body::DeletePolicy(p) => p.precondition.default_version_id.clone(),
            _ => String::new(),
        };
        let planned = Attachments::from(planned.clone());
        let Some(current) = x.iam().policy_default(arn).await? else {
            return Ok(if deleting {
                Check::Already(json!({"policy": "absent"}))
            } else {
                Check::Stale(format!("policy {arn} no longer exists"))
            });
        };
        let now = x.iam().entities(arn).await?;
        let new = new_since(&now, &planned);
        if !new.is_empty() {
            return Ok(Check::Stale(format!(
                "the policy was attached to {} since the plan was made",
                new.join(", ")
            )));
        }
        if !deleting {
            if is_empty(&now) {
                return Ok(Check::Already(state(&now)));
            }
            return Ok(Check::Proceed(state(&now)));
        }
        if current != planned_default {
            return Ok(Check::Stale(format!(
                "the policy's default version is {current} now; the plan saw {planned_default}"
            )));
        }
        Ok(Check::Proceed(
            json!({"default_version_id": current, "attachments": super::Attachments::from(&now)}),
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

    pub(crate) async fn execute<X: Exec>(
        x: &X,
        a: &Action,
        _before: &Value,
    ) -> Result<Value, StepError> {
        let id = a.id.as_str();
        let arn = super::planned(&a.body)
            .ok_or_else(|| wrong_body(a))?
            .0
            .policy_arn
            .as_str();
        if a.step() == StepName::DeletePolicy && crate::steps::is_aws_managed(arn) {
            return Err(StepError::Plan(
                "AWS-managed policies are never deleted".into(),
            ));
        }
        let att = x.iam().entities(arn).await?;
        for (kind, names) in [
            ("user", &att.users),
            ("group", &att.groups),
            ("role", &att.roles),
        ] {
            for n in names {
                x.send(id, IamCall::detach(kind, n, arn)).await?;
            }
        }
        if a.step() == StepName::DeletePolicy {
            for (vid, default, _) in x.iam().policy_versions(arn).await? {
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

    pub(crate) fn reverse(
        a: &Action,
        before: &Value,
        _after: &Value,
    ) -> (Vec<UndoOp>, Option<String>) {
        if a.step() == StepName::DeletePolicy {
            return irreversible(
            "a deleted managed policy cannot be restored: its versions are recorded in the plan's `before`",
        );
        }
        let arn = match super::planned(&a.body) {
            Some((p, _)) => p.policy_arn.clone(),
            None => return irreversible(&wrong_body(a).to_string()),
        };
        // `before` is the check's read (an [`AttachmentsState`]); nothing recorded, nothing
        // to attach again.
        let att: Attachments = part::<AttachmentsState>(a, "before", before)
            .map(|b| b.attachments.into())
            .unwrap_or_default();
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
}
