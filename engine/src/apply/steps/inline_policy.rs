//! `delete_inline_policy`: apply's check, calls and reverse (put the recorded document back).

use super::*;

pub(super) async fn check<I: Iam>(x: &Executor<I>, a: &Action) -> Result<Check, StepError> {
    let kind = param(a, "owner_kind")?;
    let owner = param(a, "owner")?;
    let name = param(a, "policy_name")?;
    Ok(match x.inline(kind, owner, name).await? {
        None => Check::Already(json!({"inline_policy": "absent"})),
        Some(doc) => {
            let planned = a
                .precondition
                .get("document_sha256")
                .and_then(Value::as_str);
            if planned.is_some_and(|h| h != doc_hash(&doc)) {
                Check::Stale("the inline policy's document changed since the plan was made".into())
            } else {
                Check::Proceed(json!({"policy_name": name, "document": doc}))
            }
        }
    })
}

pub(super) async fn execute<I: Iam>(x: &Executor<I>, a: &Action) -> Result<Value, StepError> {
    let kind = param(a, "owner_kind")?;
    let owner = param(a, "owner")?;
    let name = param(a, "policy_name")?;
    x.send(&a.id, IamCall::delete_inline(kind, owner, name))
        .await?;
    Ok(Value::Null)
}

pub(super) fn reverse(a: &Action, before: &Value) -> (Vec<UndoOp>, Option<String>) {
    match before.get("document") {
        Some(doc) => (
            vec![UndoOp::PutInlinePolicy {
                entity: param_or_empty(a, "owner_kind"),
                name: param_or_empty(a, "owner"),
                policy_name: param_or_empty(a, "policy_name"),
                document: doc.clone(),
            }],
            None,
        ),
        None => irreversible("the deleted document was not recorded"),
    }
}
