//! Access-key steps: `deactivate_access_key` (reversible) and `delete_access_key` (destructive).
//! Planned only on `$.access_keys`, so each key is judged on its own.

use super::{roundtrip, ts, ChangeKind, Cx, Disables, Gone, Safety, StepInfo, StepName, Target};
use crate::inventory::{KeyStatus, ResourceKind};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `deactivate_access_key`.
pub const DEACTIVATE: StepInfo = StepInfo {
    targets: &[ResourceKind::AccessKey],
    params: &[],
    params_schema: super::schema_of::<super::NoParams>,
    check_param: None,
    safety: Safety::Reversible,
    change: ChangeKind::Change,
    rank: 20,
    disables_credential: Some(Disables::AccessKey),
    expand,
    verb: |_| "will be deactivated".into(),
    roundtrip: roundtrip::<KeyParams, KeyPrecondition, StatusState, StatusState>,
};

/// `delete_access_key`.
pub const DELETE: StepInfo = StepInfo {
    targets: &[ResourceKind::AccessKey],
    params: &[],
    params_schema: super::schema_of::<super::NoParams>,
    check_param: None,
    safety: Safety::Destructive,
    change: ChangeKind::Delete,
    rank: 21,
    disables_credential: Some(Disables::AccessKey),
    expand,
    verb: |_| "will be deleted".into(),
    roundtrip: roundtrip::<KeyParams, KeyPrecondition, DeletedKey, Gone>,
};

/// The action's params: the key's user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyParams {
    /// The user the key belongs to.
    pub user: String,
}

/// What apply re-reads: the key's user, status and last use (a key used since the plan was
/// made is not the key the plan judged unused), and the user's id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyPrecondition {
    /// The user.
    pub user: String,
    /// The status.
    pub status: KeyStatus,
    /// The last use, RFC 3339.
    pub last_used_at: Option<String>,
    /// The user's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// A key's status (before and after a deactivation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusState {
    /// The status.
    pub status: KeyStatus,
}

/// A deleted key, as it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeletedKey {
    /// The status.
    pub status: KeyStatus,
    /// When it was created.
    pub created_at: Option<String>,
    /// Its last use.
    pub last_used_at: Option<String>,
}

fn expand(step: StepName, cx: &mut Cx<'_>, t: &Target<'_>, _params: &Value) {
    let Some(k) = cx.inv().access_keys.get(t.index) else {
        return;
    };
    if step == StepName::DeactivateAccessKey && k.status == KeyStatus::Inactive {
        cx.skip(t.resource, step, "already inactive");
        return;
    }
    let params = KeyParams {
        user: k.user.clone(),
    };
    let pre = KeyPrecondition {
        user: k.user.clone(),
        status: k.status,
        last_used_at: ts(k.last_used_at),
        user_id: cx.ix.user_id(&k.user),
    };
    let r = t.resource.clone();
    if step == StepName::DeactivateAccessKey {
        let before = StatusState {
            status: KeyStatus::Active,
        };
        let after = StatusState {
            status: KeyStatus::Inactive,
        };
        cx.propose(step, r, "", &params, &pre, &before, &after);
    } else {
        let before = DeletedKey {
            status: k.status,
            created_at: ts(Some(k.created_at)),
            last_used_at: ts(k.last_used_at),
        };
        cx.propose(step, r, "", &params, &pre, &before, &());
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{expand_one, fixture};
    use super::*;

    #[test]
    fn an_inactive_key_is_not_deactivated_again_but_may_be_deleted() {
        let inv = fixture();
        let i = inv
            .access_keys
            .iter()
            .position(|k| k.status == KeyStatus::Inactive)
            .unwrap_or(usize::MAX);
        let (out, skips) = expand_one(
            &inv,
            StepName::DeactivateAccessKey,
            ResourceKind::AccessKey,
            i,
            &Value::Null,
        );
        assert!(out.is_empty());
        assert_eq!(skips, vec!["already inactive".to_string()]);
        let (out, _) = expand_one(
            &inv,
            StepName::DeleteAccessKey,
            ResourceKind::AccessKey,
            i,
            &Value::Null,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].after, Value::Null);
        assert_eq!(out[0].before["status"], "Inactive");
    }
}
