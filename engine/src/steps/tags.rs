//! Tag steps (reversible): `tag` adds or overwrites `tags`, `untag` removes `keys`, on users,
//! roles and customer-managed policies. A step that would change nothing is skipped.

use super::{param, roundtrip, ChangeKind, Cx, ParamKind, Safety, StepInfo, StepName, Target};
use crate::inventory::ResourceKind;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

const TARGETS: &[ResourceKind] = &[
    ResourceKind::User,
    ResourceKind::Role,
    ResourceKind::ManagedPolicy,
];

/// `tag`.
pub const TAG: StepInfo = StepInfo {
    targets: TARGETS,
    params: &[param("tags", ParamKind::StringMap, true)],
    params_schema: super::schema_of::<TagParams>,
    check_param: None,
    safety: Safety::Reversible,
    change: ChangeKind::Change,
    rank: 80,
    disables_credential: None,
    expand,
    verb: |_| "will be tagged".into(),
    roundtrip: roundtrip::<TagParams, TagsPrecondition, TagsState, TagsState>,
};

/// `untag`.
pub const UNTAG: StepInfo = StepInfo {
    targets: TARGETS,
    params: &[param("keys", ParamKind::StringList, true)],
    params_schema: super::schema_of::<UntagParams>,
    check_param: None,
    safety: Safety::Reversible,
    change: ChangeKind::Change,
    rank: 81,
    disables_credential: None,
    expand,
    verb: |_| "will be untagged".into(),
    roundtrip: roundtrip::<UntagParams, TagsPrecondition, TagsState, TagsState>,
};

/// A resource's tags, in their order (key -> value).
pub type TagMap = Map<String, Value>;

/// `tag`'s params (as a pack writes them, and as the action carries them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TagParams {
    /// Tags to add or overwrite (required).
    pub tags: TagMap,
}

/// `untag`'s params (as a pack writes them, and as the action carries them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UntagParams {
    /// Tag keys to remove (required).
    #[serde(deserialize_with = "string_array")]
    pub keys: Vec<String>,
}

/// A rendered list: the strings of an array; anything else is no keys.
fn string_array<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    })
}

/// The tags (before and after).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TagsState {
    /// The tags.
    pub tags: TagMap,
}

/// What apply re-reads: the same tags on the same entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TagsPrecondition {
    /// The tags.
    pub tags: TagMap,
    /// The user's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The role's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_id: Option<String>,
    /// The policy's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_id: Option<String>,
}

fn expand(step: StepName, cx: &mut Cx<'_>, t: &Target<'_>, rendered: &Value) {
    let inv = cx.inv();
    let r = t.resource;
    let record = inv.record_value(r.kind, t.index).unwrap_or_default();
    let tags: TagMap = match record.get("tags") {
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            // Not a map: nothing to compare against (never the case for inventory records).
            return;
        }
        None => Map::new(),
    };
    let mut after = tags.clone();
    let params = if step == StepName::Tag {
        let Ok(want) = serde_json::from_value::<TagParams>(rendered.clone()) else {
            return;
        };
        for (k, v) in &want.tags {
            after.insert(k.clone(), v.clone());
        }
        serde_json::to_value(&want).unwrap_or(Value::Null)
    } else {
        let want: UntagParams = serde_json::from_value(rendered.clone()).unwrap_or_default();
        for k in &want.keys {
            after.remove(k);
        }
        serde_json::to_value(&want).unwrap_or(Value::Null)
    };
    if after == tags {
        cx.skip(r, step, "the tags are already as wanted");
        return;
    }
    if r.kind == ResourceKind::ManagedPolicy
        && inv
            .managed_policies
            .get(t.index)
            .is_some_and(|p| p.aws_managed)
    {
        cx.skip(
            r,
            step,
            "AWS-managed policies are never modified or deleted",
        );
        return;
    }
    let ids = cx.ix.entity_ids(r);
    let pre = TagsPrecondition {
        tags: tags.clone(),
        user_id: ids.user_id,
        role_id: ids.role_id,
        policy_id: ids.policy_id,
    };
    cx.propose(
        step,
        r.clone(),
        "",
        &params,
        &pre,
        &TagsState { tags },
        &TagsState { tags: after },
    );
}
