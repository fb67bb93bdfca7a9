//! `quarantine_user` (reversible): attaches an inline deny-all policy to a user (`policy_name`,
//! default `iamwarden-quarantine`); a user that already has it is skipped.
//!
//! `quarantine_role` (reversible): the same deny-all inline policy on a role, so nothing that
//! assumes it can act until undo removes it. Service-linked roles (path `/aws-service-role/`)
//! are IAM's and never touched: the expansion skips them and apply's check, which re-reads the
//! role's path, refuses them too, whatever the plan says.

use super::{
    param, params, ts, Body, ChangeKind, Cx, Disables, Empty, ParamKind, Parts, Safety, StepInfo,
    StepName, Target,
};
use crate::inventory::ResourceKind;

/// The path IAM gives service-linked roles; iamwarden never changes a role under it.
pub const SERVICE_LINKED_PATH: &str = "/aws-service-role/";

/// Whether a role's path makes it service-linked.
pub fn is_service_linked(path: &str) -> bool {
    path.starts_with(SERVICE_LINKED_PATH)
}
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The default name of the quarantine policy.
pub const QUARANTINE_POLICY_NAME: &str = "iamwarden-quarantine";

/// `quarantine_user`.
pub const QUARANTINE: StepInfo = StepInfo {
    targets: &[ResourceKind::User],
    params: &[param(
        "policy_name",
        ParamKind::String,
        false,
        "default `iamwarden-quarantine`",
    )],
    params_schema: super::schema_of::<QuarantineParams>,
    check_param: None,
    safety: Safety::Reversible,
    change: ChangeKind::Add,
    diff: "`+ user`: `+ inline_policy = \"iamwarden-quarantine\"`, `+ effect = \"Deny *:* on *\"`",
    rank: 70,
    disables_credential: Some(Disables::User),
    expand,
    verb,
};

/// The parts of a `quarantine_user` action.
pub type QuarantineParts =
    Parts<QuarantineActionParams, QuarantinePrecondition, Empty, QuarantinedState>;

/// `quarantine_role`.
pub const QUARANTINE_ROLE: StepInfo = StepInfo {
    targets: &[ResourceKind::Role],
    params: &[param(
        "policy_name",
        ParamKind::String,
        false,
        "default `iamwarden-quarantine`; never on a service-linked role",
    )],
    params_schema: super::schema_of::<QuarantineParams>,
    check_param: None,
    safety: Safety::Reversible,
    change: ChangeKind::Add,
    diff: "`+ role`: `+ inline_policy = \"iamwarden-quarantine\"`, `+ effect = \"Deny *:* on *\"`",
    rank: 70,
    // A role has no credential of its own: sessions of it are denied, nothing is disabled.
    disables_credential: None,
    expand: expand_role,
    verb,
};

/// The parts of a `quarantine_role` action.
pub type QuarantineRoleParts =
    Parts<QuarantineRoleActionParams, QuarantineRolePrecondition, Empty, QuarantinedState>;

/// What a quarantine action does, in words.
fn verb(b: &Body) -> String {
    let name = match b {
        Body::QuarantineUser(p) => p.params.policy_name.as_str(),
        Body::QuarantineRole(p) => p.params.policy_name.as_str(),
        _ => QUARANTINE_POLICY_NAME,
    };
    format!("will be quarantined (inline deny-all policy {name})")
}

/// The inline policy `quarantine_user` and `quarantine_role` attach: deny everything.
pub fn quarantine_document() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "IamwardenQuarantine",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*"
        }]
    })
}

/// [`quarantine_document`], built once: a plan quarantining 30,000 users holds one copy of
/// it, not 30,000 (1.7 KB each as a JSON value).
fn shared_quarantine_document() -> std::sync::Arc<Value> {
    static DOCUMENT: std::sync::LazyLock<std::sync::Arc<Value>> =
        std::sync::LazyLock::new(|| std::sync::Arc::new(quarantine_document()));
    std::sync::Arc::clone(&DOCUMENT)
}

/// The params a pack writes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuarantineParams {
    /// The inline policy's name (default `iamwarden-quarantine`).
    #[serde(default)]
    pub policy_name: Option<String>,
}

/// The action's params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuarantineActionParams {
    /// The user.
    pub user: String,
    /// The inline policy's name.
    pub policy_name: String,
    /// The deny-all document ([`quarantine_document`]), one shared by every action.
    pub document: std::sync::Arc<Value>,
}

/// What apply re-reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuarantinePrecondition {
    /// The policy name that must not exist yet.
    pub inline_policy_absent: String,
    /// The user's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The in-use window's start apply re-checks the user's credentials against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_use_since: Option<String>,
}

/// The policy after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuarantinedState {
    /// The policy's name.
    pub inline_policy: String,
    /// Always `Deny *:* on *`.
    pub effect: String,
}

fn expand(step: StepName, cx: &mut Cx<'_>, t: &Target<'_>, rendered: &Value) {
    let Some(u) = cx.inv().users.get(t.index) else {
        return;
    };
    let wanted: QuarantineParams = params(rendered).unwrap_or_default();
    let name = wanted
        .policy_name
        .unwrap_or_else(|| QUARANTINE_POLICY_NAME.to_string());
    if u.inline_policies.contains(&name) {
        cx.skip(
            t.resource,
            step,
            format!("already quarantined (inline policy {name} exists)"),
        );
        return;
    }
    let pre = QuarantinePrecondition {
        inline_policy_absent: name.clone(),
        user_id: cx.ix.entity_ids(t.resource).user_id,
        in_use_since: ts(cx.in_use_since),
    };
    let after = QuarantinedState {
        inline_policy: name.clone(),
        effect: "Deny *:* on *".into(),
    };
    let params = QuarantineActionParams {
        user: u.name.clone(),
        policy_name: name,
        document: shared_quarantine_document(),
    };
    cx.propose(
        t.resource.clone(),
        "",
        Body::QuarantineUser(Box::new(Parts {
            params,
            precondition: pre,
            before: Empty {},
            after,
        })),
    );
}

/// The action's params (`quarantine_role`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuarantineRoleActionParams {
    /// The role.
    pub role_name: String,
    /// The inline policy's name.
    pub policy_name: String,
    /// The deny-all document ([`quarantine_document`]), one shared by every action.
    pub document: std::sync::Arc<Value>,
}

/// What apply re-reads (`quarantine_role`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuarantineRolePrecondition {
    /// The policy name that must not exist yet.
    pub inline_policy_absent: String,
    /// Always `true`: the role must not be service-linked (apply re-reads its path).
    pub not_service_linked: bool,
    /// The role's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_id: Option<String>,
}

fn expand_role(step: StepName, cx: &mut Cx<'_>, t: &Target<'_>, rendered: &Value) {
    let Some(r) = cx.inv().roles.get(t.index) else {
        return;
    };
    if r.service_linked || is_service_linked(&r.path) {
        cx.skip(
            t.resource,
            step,
            "service-linked roles are IAM's and never touched",
        );
        return;
    }
    let wanted: QuarantineParams = params(rendered).unwrap_or_default();
    let name = wanted
        .policy_name
        .unwrap_or_else(|| QUARANTINE_POLICY_NAME.to_string());
    if r.inline_policies.contains(&name) {
        cx.skip(
            t.resource,
            step,
            format!("already quarantined (inline policy {name} exists)"),
        );
        return;
    }
    let pre = QuarantineRolePrecondition {
        inline_policy_absent: name.clone(),
        not_service_linked: true,
        role_id: cx.ix.entity_ids(t.resource).role_id,
    };
    let after = QuarantinedState {
        inline_policy: name.clone(),
        effect: "Deny *:* on *".into(),
    };
    let params = QuarantineRoleActionParams {
        role_name: r.name.clone(),
        policy_name: name,
        document: shared_quarantine_document(),
    };
    cx.propose(
        t.resource.clone(),
        "",
        Body::QuarantineRole(Box::new(Parts {
            params,
            precondition: pre,
            before: Empty {},
            after,
        })),
    );
}

pub(crate) mod live {
    //! `quarantine_user`: apply's check (the in-use re-check is shared, in `steps`), calls and
    //! reverse (delete the quarantine policy). `quarantine_role`: apply's check (the role
    //! exists and is not service-linked, its path read from IAM now; the policy), calls and
    //! reverse (delete the quarantine policy).
    use super::{is_service_linked, QuarantineActionParams};
    use crate::steps::live::*;

    pub(crate) async fn check<X: Exec>(x: &X, a: &Action) -> Result<Check, StepError> {
        match a.step() {
            StepName::QuarantineRole => check_role(x, a).await,
            _ => check_user(x, a).await,
        }
    }

    pub(crate) async fn execute<X: Exec>(
        x: &X,
        a: &Action,
        _before: &Value,
    ) -> Result<Value, StepError> {
        let (kind, name, policy_name, document) = match a.step() {
            StepName::QuarantineRole => {
                let p = parts_of!(a, QuarantineRole)?.params.clone();
                ("role", p.role_name, p.policy_name, p.document)
            }
            _ => {
                let p = parts_of!(a, QuarantineUser)?.params.clone();
                ("user", p.user, p.policy_name, p.document)
            }
        };
        x.send(
            &a.id,
            IamCall::put_inline(kind, &name, &policy_name, &document),
        )
        .await?;
        Ok(Value::Null)
    }

    pub(crate) fn reverse(
        a: &Action,
        _before: &Value,
        _after: &Value,
    ) -> (Vec<UndoOp>, Option<String>) {
        let read = match a.step() {
            StepName::QuarantineRole => parts_of!(a, QuarantineRole).map(|p| {
                (
                    "role",
                    p.params.role_name.clone(),
                    p.params.policy_name.clone(),
                )
            }),
            _ => parts_of!(a, QuarantineUser)
                .map(|p| ("user", p.params.user.clone(), p.params.policy_name.clone())),
        };
        match read {
            Ok((entity, name, policy_name)) => (
                vec![UndoOp::DeleteInlinePolicy {
                    entity: entity.into(),
                    name,
                    policy_name,
                }],
                None,
            ),
            Err(e) => irreversible(&e.to_string()),
        }
    }

    async fn check_user<X: Exec>(x: &X, a: &Action) -> Result<Check, StepError> {
        let QuarantineActionParams {
            user,
            policy_name: name,
            document: want,
        } = parts_of!(a, QuarantineUser)?.params.clone();
        if x.iam().user(&user).await?.is_none() {
            return Ok(Check::Stale(format!("user {user} no longer exists")));
        }
        Ok(match x.iam().inline("user", &user, &name).await? {
            Some(doc) if doc == *want => Check::Already(json!({"inline_policy": name})),
            Some(_) => Check::Stale(format!(
                "user {user} has an inline policy named {name} with another document"
            )),
            None => Check::Proceed(json!({"inline_policy_absent": name})),
        })
    }

    async fn check_role<X: Exec>(x: &X, a: &Action) -> Result<Check, StepError> {
        let p = &parts_of!(a, QuarantineRole)?.params;
        let (role, name) = (p.role_name.as_str(), p.policy_name.as_str());
        let Some(path) = x.iam().role_path(role).await? else {
            return Ok(Check::Stale(format!("role {role} no longer exists")));
        };
        if is_service_linked(&path) {
            return Ok(Check::Stale(format!(
                "role {role} is service-linked (path {path}): IAM's, never touched"
            )));
        }
        Ok(match x.iam().inline("role", role, name).await? {
            Some(doc) if doc == *p.document => Check::Already(json!({"inline_policy": name})),
            Some(_) => Check::Stale(format!(
                "role {role} has an inline policy named {name} with another document"
            )),
            None => Check::Proceed(json!({"inline_policy_absent": name})),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{Inventory, Role};
    use crate::steps::tests::expand_one;
    use serde_json::json;

    fn roles() -> Inventory {
        let role = |name: &str, path: &str, inline: &[&str]| Role {
            id: format!("AROA{}", name.to_uppercase()),
            arn: format!("arn:aws:iam::123456789012:role{path}{name}"),
            name: name.into(),
            path: path.into(),
            inline_policies: inline.iter().map(|s| s.to_string()).collect(),
            ..Role::default()
        };
        let mut inv = Inventory {
            roles: vec![
                role("deploy", "/", &[]),
                role("AWSServiceRoleForSupport", SERVICE_LINKED_PATH, &[]),
                role("old", "/", &[QUARANTINE_POLICY_NAME]),
            ],
            ..Inventory::default()
        };
        inv.normalize();
        inv
    }

    fn index(inv: &Inventory, name: &str) -> usize {
        inv.roles.iter().position(|r| r.name == name).unwrap()
    }

    #[test]
    fn a_role_gets_the_deny_all_policy() {
        let inv = roles();
        let (out, skips) = expand_one(
            &inv,
            StepName::QuarantineRole,
            ResourceKind::Role,
            index(&inv, "deploy"),
            &Value::Null,
        );
        assert!(skips.is_empty(), "{skips:?}");
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].body.params_json(),
            json!({"role_name": "deploy", "policy_name": QUARANTINE_POLICY_NAME,
                   "document": quarantine_document()})
        );
        assert_eq!(
            out[0].body.precondition_json(),
            json!({"inline_policy_absent": QUARANTINE_POLICY_NAME, "not_service_linked": true,
                   "role_id": "AROADEPLOY"})
        );
    }

    #[test]
    fn a_service_linked_role_and_a_quarantined_one_are_skipped() {
        let inv = roles();
        let i = index(&inv, "AWSServiceRoleForSupport");
        assert!(inv.roles[i].service_linked);
        let (out, skips) = expand_one(
            &inv,
            StepName::QuarantineRole,
            ResourceKind::Role,
            i,
            &Value::Null,
        );
        assert!(out.is_empty());
        assert!(skips[0].contains("service-linked"), "{skips:?}");
        let (out, skips) = expand_one(
            &inv,
            StepName::QuarantineRole,
            ResourceKind::Role,
            index(&inv, "old"),
            &Value::Null,
        );
        assert!(out.is_empty());
        assert!(skips[0].contains("already quarantined"), "{skips:?}");
    }
}
