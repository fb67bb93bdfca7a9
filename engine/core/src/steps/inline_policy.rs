//! `delete_inline_policy` (reversible: the document is kept in the plan and the journal, and
//! undo puts it back).

use super::{Body, ChangeKind, Cx, Gone, Parts, Safety, StepInfo, StepName, Target};
use crate::inventory::{OwnerKind, ResourceKind};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `delete_inline_policy`.
pub const DELETE: StepInfo = StepInfo {
    targets: &[ResourceKind::InlinePolicy],
    params: &[],
    params_schema: super::schema_of::<super::NoParams>,
    check_param: None,
    safety: Safety::Reversible,
    change: ChangeKind::Delete,
    diff: "`- inline_policy`: `policy_name`, the full `document` (kept in the plan and journal, so undo puts it back)",
    rank: 60,
    disables_credential: None,
    expand,
    verb: |_| "will be deleted (document kept in the plan)".into(),
};

/// The parts of a `delete_inline_policy` action.
pub type InlineParts = Parts<InlineParams, InlinePrecondition, InlineState, Gone>;

/// The action's params: which policy of which owner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InlineParams {
    /// The owner's kind.
    pub owner_kind: OwnerKind,
    /// The owner's name.
    pub owner: String,
    /// The policy's name.
    pub policy_name: String,
}

/// What apply re-reads: the document is the one the plan judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InlinePrecondition {
    /// sha256 hex of the document's JSON.
    pub document_sha256: String,
    /// The owner's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
}

/// The policy as it was (undo puts it back).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InlineState {
    /// The name.
    pub policy_name: String,
    /// The whole document.
    pub document: Value,
}

fn expand(_step: StepName, cx: &mut Cx<'_>, t: &Target<'_>, _params: &Value) {
    let Some(p) = cx.inv().inline_policies.get(t.index) else {
        return;
    };
    let pre = InlinePrecondition {
        document_sha256: crate::digest::document_sha256(&p.document),
        owner_id: cx.ix.owner_id(p.owner_kind, &p.owner),
    };
    let params = InlineParams {
        owner_kind: p.owner_kind,
        owner: p.owner.clone(),
        policy_name: p.name.clone(),
    };
    let before = InlineState {
        policy_name: p.name.clone(),
        document: p.document.clone(),
    };
    let parts = Parts {
        params,
        precondition: pre,
        before,
        after: (),
    };
    cx.propose(
        t.resource.clone(),
        "",
        Body::DeleteInlinePolicy(Box::new(parts)),
    );
}

pub(crate) mod live {
    //! `delete_inline_policy`: apply's check, calls and reverse (put the recorded document back).
    use super::InlineState;
    use crate::steps::live::*;

    pub(crate) async fn check<X: Exec>(x: &X, a: &Action) -> Result<Check, StepError> {
        let parts: &super::InlineParts = parts_of!(a, DeleteInlinePolicy)?;
        let (p, pre) = (&parts.params, &parts.precondition);
        let name = p.policy_name.as_str();
        Ok(
            match x
                .iam()
                .inline(p.owner_kind.as_str(), &p.owner, name)
                .await?
            {
                None => Check::Already(json!({"inline_policy": "absent"})),
                Some(doc) if pre.document_sha256 != crate::digest::document_sha256(&doc) => {
                    Check::Stale(
                        "the inline policy's document changed since the plan was made".into(),
                    )
                }
                Some(doc) => Check::Proceed(json!({"policy_name": name, "document": doc})),
            },
        )
    }

    pub(crate) async fn execute<X: Exec>(
        x: &X,
        a: &Action,
        _before: &Value,
    ) -> Result<Value, StepError> {
        let p = &parts_of!(a, DeleteInlinePolicy)?.params;
        let call = IamCall::delete_inline(p.owner_kind.as_str(), &p.owner, &p.policy_name);
        x.send(&a.id, call).await?;
        Ok(Value::Null)
    }

    /// Puts the document recorded before (the check's read, in the journal) back.
    pub(crate) fn reverse(
        a: &Action,
        before: &Value,
        _after: &Value,
    ) -> (Vec<UndoOp>, Option<String>) {
        let p = match parts_of!(a, DeleteInlinePolicy) {
            Ok(p) => &p.params,
            Err(e) => return irreversible(&e.to_string()),
        };
        match part::<InlineState>(a, "before", before) {
            Ok(b) => (
                vec![UndoOp::PutInlinePolicy {
                    entity: p.owner_kind.as_str().into(),
                    name: p.owner.clone(),
                    policy_name: p.policy_name.clone(),
                    document: b.document,
                }],
                None,
            ),
            Err(_) => irreversible("the deleted document was not recorded"),
        }
    }
}
