//! What reverses an applied action: derived when it is applied, recorded in the journal.

use super::*;

/// How to reverse an applied action, from the state read before it (`before`) and what its
/// calls returned (`after`); and what cannot be reversed.
pub fn undo_for(a: &Action, before: &Value, after: &Value) -> (Vec<UndoOp>, Option<String>) {
    use StepName as S;
    let p = |k: &str| {
        a.params
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let none = |why: &str| (Vec::new(), Some(why.to_string()));
    match a.action {
        S::DeactivateAccessKey => (
            vec![UndoOp::UpdateAccessKey { user: p("user"), access_key_id: a.resource.id.clone(), status: "Active".into() }],
            None,
        ),
        S::DeleteAccessKey => none("a deleted access key cannot be restored: issue the user a new key"),
        S::RequirePasswordReset => (
            vec![UndoOp::UpdateLoginProfile { user: p("user"), password_reset_required: false }],
            None,
        ),
        S::DeleteLoginProfile => none("a deleted console password cannot be restored (IAM never returns passwords): create a new login profile"),
        S::DeactivateMfaDevice => none("an MFA device cannot be re-enabled without two codes from it: the user must enable MFA again"),
        S::DetachUserPolicy | S::DetachGroupPolicy | S::DetachRolePolicy => match entity_of(a) {
            Ok((kind, name)) => (
                vec![UndoOp::AttachPolicy { entity: kind.into(), name: name.into(), policy_arn: p("policy_arn") }],
                None,
            ),
            Err(_) => none("the plan's action names no entity"),
        },
        S::DeleteInlinePolicy => match before.get("document") {
            Some(doc) => (
                vec![UndoOp::PutInlinePolicy { entity: p("owner_kind"), name: p("owner"), policy_name: p("policy_name"), document: doc.clone() }],
                None,
            ),
            None => none("the deleted document was not recorded"),
        },
        S::RemoveUserFromGroup => (vec![UndoOp::AddUserToGroup { user: p("user"), group: p("group") }], None),
        S::QuarantineUser => (
            vec![UndoOp::DeleteInlinePolicy { entity: "user".into(), name: p("user"), policy_name: p("policy_name") }],
            None,
        ),
        S::DeleteUser => none("a deleted user cannot be restored (its keys, password and id are gone): create it again"),
        S::ReplacePolicyDocument | S::SetDefaultPolicyVersion => {
            let arn = p("policy_arn");
            let mut ops = Vec::new();
            let mut note = None;
            if let Some(prev) = before.get("default_version_id").and_then(Value::as_str) {
                ops.push(UndoOp::SetDefaultPolicyVersion { policy_arn: arn.clone(), version_id: prev.to_string() });
            }
            if a.action == S::ReplacePolicyDocument {
                let created = after
                    .get("created_version_id")
                    .or_else(|| after.get("default_version_id"))
                    .and_then(Value::as_str);
                if let Some(v) = created {
                    ops.push(UndoOp::DeletePolicyVersion { policy_arn: arn.clone(), version_id: v.to_string() });
                }
                if let Some(d) = after.get("deleted_version").filter(|d| !d.is_null()) {
                    if let Some(doc) = d.get("document") {
                        ops.push(UndoOp::CreatePolicyVersion { policy_arn: arn.clone(), document: doc.clone() });
                    }
                    note = Some(format!(
                        "version {} was deleted to make room; undo re-creates its document under a new version id",
                        d.get("version_id").and_then(Value::as_str).unwrap_or("?")
                    ));
                }
            }
            (ops, note)
        }
        S::DetachPolicyEverywhere => {
            let att = Attachments::of(before.get("attachments"));
            let arn = p("policy_arn");
            let mut ops = Vec::new();
            for (kind, names) in [("user", &att.users), ("group", &att.groups), ("role", &att.roles)] {
                for n in names {
                    ops.push(UndoOp::AttachPolicy { entity: kind.into(), name: n.clone(), policy_arn: arn.clone() });
                }
            }
            (ops, None)
        }
        S::DeletePolicy => none("a deleted managed policy cannot be restored: its versions are recorded in the plan's `before`"),
        S::UpdatePasswordPolicy => match before.get("password_policy") {
            Some(Value::Null) | None => (vec![UndoOp::DeletePasswordPolicy], None),
            Some(settings) => (vec![UndoOp::UpdatePasswordPolicy { settings: settings.clone() }], None),
        },
        S::Tag | S::Untag => {
            let Ok((kind, name)) = tag_target(a) else {
                return none("tags of this resource kind cannot be restored");
            };
            let mut restore = BTreeMap::new();
            let mut remove = Vec::new();
            if let Some(prev) = before.get("tags").and_then(Value::as_object) {
                for (k, v) in prev {
                    match v.as_str() {
                        Some(v) => {
                            restore.insert(k.clone(), v.to_string());
                        }
                        None => remove.push(k.clone()),
                    }
                }
            }
            let mut ops = Vec::new();
            if !remove.is_empty() {
                ops.push(UndoOp::Untag { kind: kind.into(), name: name.clone(), keys: remove });
            }
            if !restore.is_empty() {
                ops.push(UndoOp::Tag { kind: kind.into(), name, tags: restore });
            }
            (ops, None)
        }
    }
}
