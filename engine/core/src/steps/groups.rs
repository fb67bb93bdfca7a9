//! `remove_user_from_group` (reversible): one action per membership matching `groups`
//! (group-name globs, default all).

use super::{
    param, params, Body, ChangeKind, Cx, Empty, Globs, ParamKind, Parts, Safety, StepInfo,
    StepName, Target,
};
use crate::inventory::ResourceKind;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `remove_user_from_group`.
pub const REMOVE: StepInfo = StepInfo {
    targets: &[ResourceKind::User],
    params: &[param(
        "groups",
        ParamKind::StringList,
        false,
        "group-name globs, default all",
    )],
    params_schema: super::schema_of::<GroupsParams>,
    check_param: None,
    safety: Safety::Reversible,
    change: ChangeKind::Change,
    diff: "`~ user`: `- group_membership = \"admins\"`, one action per group",
    rank: 40,
    disables_credential: None,
    expand,
    verb: |b| match b {
        Body::RemoveUserFromGroup(p) => format!("will be removed from group {}", p.params.group),
        _ => "will be removed from a group".into(),
    },
};

/// The parts of a `remove_user_from_group` action.
pub type MembershipParts = Parts<MembershipParams, MembershipPrecondition, MembershipState, Empty>;

/// The params a pack writes.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupsParams {
    /// Group-name globs (default all; a `{from: ...}` that finds nothing removes none).
    #[serde(default)]
    pub groups: Globs,
}

/// The action's params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MembershipParams {
    /// The user.
    pub user: String,
    /// The group.
    pub group: String,
}

/// What apply re-reads: the user is still a member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MembershipPrecondition {
    /// Always `true`.
    pub member: bool,
    /// The user's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// The membership before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MembershipState {
    /// The group.
    pub group_membership: String,
}

fn expand(step: StepName, cx: &mut Cx<'_>, t: &Target<'_>, rendered: &Value) {
    let Some(u) = cx.inv().users.get(t.index) else {
        return;
    };
    let Some(wanted) = params::<GroupsParams>(rendered) else {
        cx.skip(t.resource, step, "the parameters do not fit the step");
        return;
    };
    let pre = MembershipPrecondition {
        member: true,
        user_id: cx.ix.entity_ids(t.resource).user_id,
    };
    for g in u.groups.iter().filter(|g| wanted.groups.matches(g)) {
        let params = MembershipParams {
            user: u.name.clone(),
            group: g.clone(),
        };
        let before = MembershipState {
            group_membership: g.clone(),
        };
        cx.propose(
            t.resource.clone(),
            g,
            Body::RemoveUserFromGroup(Box::new(Parts {
                params,
                precondition: pre.clone(),
                before,
                after: Empty {},
            })),
        );
    }
}

pub(crate) mod live {
    //! `remove_user_from_group`: apply's check, calls and reverse (add the user back).
    use super::MembershipParams;
    use crate::steps::live::*;

    pub(crate) async fn check<X: Exec>(x: &X, a: &Action) -> Result<Check, StepError> {
        let p: MembershipParams = parts_of!(a, RemoveUserFromGroup)?.params.clone();
        let (user, group) = (p.user.as_str(), p.group.as_str());
        Ok(match x.iam().groups_of(user).await? {
            None => Check::Stale(format!("user {user} no longer exists")),
            Some(gs) if gs.iter().any(|g| g == group) => {
                Check::Proceed(json!({"group_membership": group}))
            }
            Some(_) => Check::Already(json!({"member": false})),
        })
    }

    pub(crate) async fn execute<X: Exec>(
        x: &X,
        a: &Action,
        _before: &Value,
    ) -> Result<Value, StepError> {
        let p: MembershipParams = parts_of!(a, RemoveUserFromGroup)?.params.clone();
        let call = IamCall::RemoveUserFromGroup {
            user: p.user,
            group: p.group,
        };
        x.send(&a.id, call).await?;
        Ok(Value::Null)
    }

    pub(crate) fn reverse(
        a: &Action,
        _before: &Value,
        _after: &Value,
    ) -> (Vec<UndoOp>, Option<String>) {
        match parts_of!(a, RemoveUserFromGroup).map(|p| p.params.clone()) {
            Ok(p) => (
                vec![UndoOp::AddUserToGroup {
                    user: p.user,
                    group: p.group,
                }],
                None,
            ),
            Err(e) => irreversible(&e.to_string()),
        }
    }

    /// Whether the user is in the group now (undo's re-read).
    pub(crate) async fn is_member<X: Exec>(
        x: &X,
        user: &str,
        group: &str,
    ) -> Result<bool, StepError> {
        Ok(x.iam()
            .groups_of(user)
            .await?
            .unwrap_or_default()
            .iter()
            .any(|g| g == group))
    }
}
