//! Detach steps: `detach_user_policy`, `detach_group_policy`, `detach_role_policy` (reversible),
//! one action per attached managed policy matching `policy_arns` (default all). The policies of
//! service-linked roles are IAM's and are never detached.

use super::{
    param, params, Body, ChangeKind, Cx, Empty, Globs, ParamKind, Parts, Safety, StepInfo,
    StepName, Target,
};
use crate::inventory::ResourceKind;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

const PARAMS: &[super::ParamInfo] = &[param(
    "policy_arns",
    ParamKind::StringList,
    false,
    "ARN globs, default all",
)];

const fn info(target: &'static [ResourceKind], diff: &'static str) -> StepInfo {
    StepInfo {
        targets: target,
        params: PARAMS,
        params_schema: super::schema_of::<DetachParams>,
        check_param: None,
        safety: Safety::Reversible,
        change: ChangeKind::Change,
        diff,
        rank: 50,
        disables_credential: None,
        expand,
        verb: |b| match parts(b) {
            Some(p) => format!("will have {} detached", p.params.policy_arn),
            None => "will have a policy detached".into(),
        },
    }
}

/// The parts of a detach action (all three steps).
pub type DetachParts = Parts<DetachActionParams, DetachPrecondition, AttachedState, Empty>;

/// The parts of a detach action's body.
fn parts(b: &Body) -> Option<&DetachParts> {
    match b {
        Body::DetachUserPolicy(p) | Body::DetachGroupPolicy(p) | Body::DetachRolePolicy(p) => {
            Some(p)
        }
        _ => None,
    }
}

/// `detach_user_policy`.
pub const USER: StepInfo = info(
    &[ResourceKind::User],
    "`~ user`: `- attached_policy = \"arn:...\"`, one action per policy",
);
/// `detach_group_policy`.
pub const GROUP: StepInfo = info(
    &[ResourceKind::Group],
    "`~ group`: `- attached_policy = \"arn:...\"`, one action per policy",
);
/// `detach_role_policy`.
pub const ROLE: StepInfo = info(
    &[ResourceKind::Role],
    "`~ role`: `- attached_policy = \"arn:...\"`, one action per policy; service-linked roles are skipped",
);

/// The params a pack writes.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DetachParams {
    /// ARN globs of the policies to detach (default all; a `{from: ...}` that finds nothing
    /// detaches none).
    #[serde(default)]
    pub policy_arns: Globs,
}

/// The action's params: the owner (one of the three names) and the policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DetachActionParams {
    /// The user (`detach_user_policy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// The group (`detach_group_policy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    /// The role (`detach_role_policy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_name: Option<String>,
    /// The policy detached.
    pub policy_arn: String,
}

/// What apply re-reads: the policy is still attached to the same entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DetachPrecondition {
    /// Always `true`.
    pub attached: bool,
    /// The user's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The group's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// The role's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_id: Option<String>,
}

/// The attachment before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachedState {
    /// The policy's ARN.
    pub attached_policy: String,
}

fn expand(step: StepName, cx: &mut Cx<'_>, t: &Target<'_>, rendered: &Value) {
    let inv = cx.inv();
    let r = t.resource;
    let (attached, service_linked): (&[String], bool) = match r.kind {
        ResourceKind::User => match inv.users.get(t.index) {
            Some(u) => (&u.attached_policies, false),
            None => return,
        },
        ResourceKind::Group => match inv.groups.get(t.index) {
            Some(g) => (&g.attached_policies, false),
            None => return,
        },
        ResourceKind::Role => match inv.roles.get(t.index) {
            Some(x) => (&x.attached_policies, x.service_linked),
            None => return,
        },
        _ => return,
    };
    if service_linked {
        cx.skip(r, step, "IAM manages the policies of service-linked roles");
        return;
    }
    let Some(wanted) = params::<DetachParams>(rendered) else {
        cx.skip(r, step, "the parameters do not fit the step");
        return;
    };
    let ids = cx.ix.entity_ids(r);
    let pre = DetachPrecondition {
        attached: true,
        user_id: ids.user_id,
        group_id: ids.group_id,
        role_id: ids.role_id,
    };
    for arn in attached.iter().filter(|a| wanted.policy_arns.matches(a)) {
        let name = Some(r.name.clone());
        let params = DetachActionParams {
            user_name: name.clone().filter(|_| r.kind == ResourceKind::User),
            group_name: name.clone().filter(|_| r.kind == ResourceKind::Group),
            role_name: name.filter(|_| r.kind == ResourceKind::Role),
            policy_arn: arn.clone(),
        };
        let before = AttachedState {
            attached_policy: arn.clone(),
        };
        let parts = Box::new(Parts {
            params,
            precondition: pre.clone(),
            before,
            after: Empty {},
        });
        let body = match step {
            StepName::DetachGroupPolicy => Body::DetachGroupPolicy(parts),
            StepName::DetachRolePolicy => Body::DetachRolePolicy(parts),
            _ => Body::DetachUserPolicy(parts),
        };
        cx.propose(r.clone(), arn, body);
    }
}

pub(crate) mod live {
    //! `detach_user_policy`, `detach_group_policy`, `detach_role_policy`: apply's check, calls
    //! and reverse (attach it again).
    use crate::steps::live::*;

    /// The (kind, name) of the entity the action acts on, and the policy.
    fn target(a: &Action) -> Result<(&'static str, String, String), StepError> {
        let p = &super::parts(&a.body).ok_or_else(|| wrong_body(a))?.params;
        let (kind, name) = match (
            p.user_name.clone(),
            p.group_name.clone(),
            p.role_name.clone(),
        ) {
            (Some(n), _, _) => ("user", n),
            (_, Some(n), _) => ("group", n),
            (_, _, Some(n)) => ("role", n),
            _ => {
                return Err(StepError::Plan(format!(
                    "{} names no user, group or role",
                    a.id
                )))
            }
        };
        Ok((kind, name, p.policy_arn.clone()))
    }

    pub(crate) async fn check<X: Exec>(x: &X, a: &Action) -> Result<Check, StepError> {
        let (kind, name, arn) = target(a)?;
        Ok(match x.iam().attached(kind, &name).await? {
            None => Check::Stale(format!("{kind} {name} no longer exists")),
            Some(arns) if arns.contains(&arn) => Check::Proceed(json!({"attached_policy": arn})),
            Some(_) => Check::Already(json!({"attached": false})),
        })
    }

    pub(crate) async fn execute<X: Exec>(
        x: &X,
        a: &Action,
        _before: &Value,
    ) -> Result<Value, StepError> {
        let (kind, name, arn) = target(a)?;
        x.send(&a.id, IamCall::detach(kind, &name, &arn)).await?;
        Ok(Value::Null)
    }

    pub(crate) fn reverse(
        a: &Action,
        _before: &Value,
        _after: &Value,
    ) -> (Vec<UndoOp>, Option<String>) {
        match target(a) {
            Ok((kind, name, policy_arn)) => (
                vec![UndoOp::AttachPolicy {
                    entity: kind.into(),
                    name,
                    policy_arn,
                }],
                None,
            ),
            Err(e) => irreversible(&e.to_string()),
        }
    }

    /// Whether the policy is attached to the entity now (undo's re-read).
    pub(crate) async fn is_attached<X: Exec>(
        x: &X,
        kind: &str,
        name: &str,
        arn: &str,
    ) -> Result<bool, StepError> {
        Ok(x.iam()
            .attached(kind, name)
            .await?
            .unwrap_or_default()
            .iter()
            .any(|p| p == arn))
    }
}
