//! Policy-version steps on customer-managed policies (reversible): `replace_policy_document`
//! makes a new default version from `document` (deleting the oldest non-default version first
//! when the policy has five; that version is kept in the plan so undo can recreate it), and
//! `set_default_policy_version` makes another existing version the default (`version_id`,
//! default `previous`: the newest version older than the default, never a newer one).

use super::{
    customer_policy, param, param_str, params, roundtrip, ChangeKind, Cx, ParamKind, Safety,
    StepInfo, StepName, Target,
};
use crate::inventory::ResourceKind;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `replace_policy_document`.
pub const REPLACE: StepInfo = StepInfo {
    targets: &[ResourceKind::ManagedPolicy],
    params: &[param("document", ParamKind::Object, true)],
    params_schema: super::schema_of::<ReplaceParams>,
    check_param: None,
    safety: Safety::Reversible,
    change: ChangeKind::Change,
    rank: 100,
    disables_credential: None,
    expand,
    verb: |_| "will get a new default version".into(),
    roundtrip: roundtrip::<ReplaceActionParams, VersionPrecondition, ReplaceBefore, VersionState>,
};

/// `set_default_policy_version`.
pub const SET_DEFAULT: StepInfo = StepInfo {
    targets: &[ResourceKind::ManagedPolicy],
    params: &[param("version_id", ParamKind::String, false)],
    params_schema: super::schema_of::<SetDefaultParams>,
    check_param: None,
    safety: Safety::Reversible,
    change: ChangeKind::Change,
    rank: 101,
    disables_credential: None,
    expand,
    verb: |p| {
        format!(
            "will make {} the default version",
            param_str(p, "version_id")
        )
    },
    roundtrip: roundtrip::<SetDefaultActionParams, VersionPrecondition, VersionState, VersionState>,
};

/// The params of `replace_policy_document` a pack writes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceParams {
    /// The new policy document (required).
    pub document: Value,
}

/// The params of `set_default_policy_version` a pack writes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetDefaultParams {
    /// The version to make the default (default `previous`).
    #[serde(default)]
    pub version_id: Option<String>,
}

/// `replace_policy_document`'s action params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceActionParams {
    /// The policy.
    pub policy_arn: String,
    /// The new document.
    pub document: Value,
    /// The version deleted first to make room (a policy holds at most five).
    pub delete_version_first: Option<String>,
}

/// `set_default_policy_version`'s action params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetDefaultActionParams {
    /// The policy.
    pub policy_arn: String,
    /// The version made the default.
    pub version_id: String,
}

/// What apply re-reads: the default version and the policy's id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionPrecondition {
    /// The default version.
    pub default_version_id: String,
    /// The policy's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_id: Option<String>,
}

/// A default version and its document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionState {
    /// The default version (`(new)` for the one a replace creates).
    pub default_version_id: String,
    /// Its document.
    pub document: Value,
}

/// A version kept so undo can recreate it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeptVersion {
    /// The version.
    pub version_id: String,
    /// Its document.
    pub document: Value,
}

/// The policy before a replace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceBefore {
    /// The default version.
    pub default_version_id: String,
    /// Its document.
    pub document: Value,
    /// The version deleted to make room, if any.
    pub deleted_version: Option<KeptVersion>,
}

fn version_number(v: &str) -> u64 {
    v.trim_start_matches('v').parse().unwrap_or(0)
}

fn expand(step: StepName, cx: &mut Cx<'_>, t: &Target<'_>, rendered: &Value) {
    let Some(p) = customer_policy(cx, step, t) else {
        return;
    };
    let r = t.resource;
    let pre = VersionPrecondition {
        default_version_id: p.default_version_id.clone(),
        policy_id: cx.ix.entity_ids(r).policy_id,
    };
    if step == StepName::ReplacePolicyDocument {
        let doc = params::<ReplaceParams>(rendered)
            .map(|w| w.document)
            .unwrap_or(Value::Null);
        if doc == p.default_document {
            cx.skip(r, step, "the default version already has this document");
            return;
        }
        let drop = (p.versions.len() >= 5)
            .then(|| {
                p.versions
                    .iter()
                    .filter(|v| !v.is_default)
                    .min_by_key(|v| (v.created_at, v.version_id.clone()))
                    .map(|v| v.version_id.clone())
            })
            .flatten();
        let deleted_version = drop
            .as_ref()
            .and_then(|id| p.versions.iter().find(|v| &v.version_id == id))
            .map(|v| KeptVersion {
                version_id: v.version_id.clone(),
                document: v.document.clone(),
            });
        let params = ReplaceActionParams {
            policy_arn: p.arn.clone(),
            document: doc.clone(),
            delete_version_first: drop,
        };
        let before = ReplaceBefore {
            default_version_id: p.default_version_id.clone(),
            document: p.default_document.clone(),
            deleted_version,
        };
        let after = VersionState {
            default_version_id: "(new)".into(),
            document: doc,
        };
        cx.propose(step, r.clone(), "", &params, &pre, &before, &after);
        return;
    }
    let wanted: SetDefaultParams = params(rendered).unwrap_or_default();
    let want = wanted.version_id.unwrap_or_else(|| "previous".into());
    let target = if want == "previous" {
        // The newest version older than the default: by creation time when both are known,
        // by version number otherwise. Never a newer one.
        let default = p.versions.iter().find(|v| v.is_default);
        let default_created = default.and_then(|v| v.created_at);
        let default_number = version_number(&p.default_version_id);
        p.versions
            .iter()
            .filter(|v| {
                !v.is_default
                    && match (v.created_at, default_created) {
                        (Some(c), Some(d)) => c <= d,
                        _ => version_number(&v.version_id) < default_number,
                    }
            })
            .max_by_key(|v| (v.created_at, version_number(&v.version_id)))
            .map(|v| v.version_id.clone())
    } else {
        p.versions
            .iter()
            .find(|v| v.version_id == want)
            .map(|v| v.version_id.clone())
    };
    let Some(target) = target else {
        cx.skip(r, step, format!("no version `{want}` to make the default"));
        return;
    };
    if target == p.default_version_id {
        cx.skip(r, step, format!("{target} is already the default"));
        return;
    }
    let doc = p
        .versions
        .iter()
        .find(|v| v.version_id == target)
        .map(|v| v.document.clone())
        .unwrap_or_default();
    let params = SetDefaultActionParams {
        policy_arn: p.arn.clone(),
        version_id: target.clone(),
    };
    let before = VersionState {
        default_version_id: p.default_version_id.clone(),
        document: p.default_document.clone(),
    };
    let after = VersionState {
        default_version_id: target,
        document: doc,
    };
    cx.propose(step, r.clone(), "", &params, &pre, &before, &after);
}
