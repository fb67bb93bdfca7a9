//! `quarantine_user` (reversible): attaches an inline deny-all policy to a user (`policy_name`,
//! default `iamwarden-quarantine`); a user that already has it is skipped.

use super::{
    param, param_str, params, roundtrip, ts, ChangeKind, Cx, Disables, Empty, ParamKind, Safety,
    StepInfo, StepName, Target,
};
use crate::inventory::ResourceKind;
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
    verb: |p| {
        format!(
            "will be quarantined (inline deny-all policy {})",
            param_str(p, "policy_name")
        )
    },
    roundtrip: roundtrip::<QuarantineActionParams, QuarantinePrecondition, Empty, QuarantinedState>,
};

/// The inline policy `quarantine_user` attaches: deny everything.
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
    /// The deny-all document ([`quarantine_document`]).
    pub document: Value,
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
        document: quarantine_document(),
    };
    cx.propose(
        step,
        t.resource.clone(),
        "",
        &params,
        &pre,
        &Empty {},
        &after,
    );
}

pub(crate) mod live {
    //! `quarantine_user`: apply's check (the in-use re-check is shared, in `steps`), calls and
    //! reverse (delete the quarantine policy).
    use super::QuarantineActionParams;
    use crate::steps::live::*;

    pub(crate) async fn check<X: Exec>(x: &X, a: &Action) -> Result<Check, StepError> {
        let QuarantineActionParams {
            user,
            policy_name: name,
            document: want,
        } = part(a, "params", &a.params)?;
        if x.iam().user(&user).await?.is_none() {
            return Ok(Check::Stale(format!("user {user} no longer exists")));
        }
        Ok(match x.iam().inline("user", &user, &name).await? {
            Some(doc) if doc == want => Check::Already(json!({"inline_policy": name})),
            Some(_) => Check::Stale(format!(
                "user {user} has an inline policy named {name} with another document"
            )),
            None => Check::Proceed(json!({"inline_policy_absent": name})),
        })
    }

    pub(crate) async fn execute<X: Exec>(
        x: &X,
        a: &Action,
        _before: &Value,
    ) -> Result<Value, StepError> {
        let p: QuarantineActionParams = part(a, "params", &a.params)?;
        x.send(
            &a.id,
            IamCall::put_inline("user", &p.user, &p.policy_name, &p.document),
        )
        .await?;
        Ok(Value::Null)
    }

    pub(crate) fn reverse(
        a: &Action,
        _before: &Value,
        _after: &Value,
    ) -> (Vec<UndoOp>, Option<String>) {
        match part::<QuarantineActionParams>(a, "params", &a.params) {
            Ok(p) => (
                vec![UndoOp::DeleteInlinePolicy {
                    entity: "user".into(),
                    name: p.user,
                    policy_name: p.policy_name,
                }],
                None,
            ),
            Err(e) => irreversible(&e.to_string()),
        }
    }
}
