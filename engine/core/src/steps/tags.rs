//! Tag steps (reversible): `tag` adds or overwrites `tags`, `untag` removes `keys`, on users,
//! roles and customer-managed policies. A step that would change nothing is skipped.

use super::{param, Body, ChangeKind, Cx, ParamKind, Parts, Safety, StepInfo, StepName, Target};
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
    params: &[param("tags", ParamKind::StringMap, true, "")],
    params_schema: super::schema_of::<TagParams>,
    check_param: None,
    safety: Safety::Reversible,
    change: ChangeKind::Change,
    diff: "`~ tags = {...} -> {...}`",
    rank: 80,
    disables_credential: None,
    expand,
    verb: |_| "will be tagged".into(),
};

/// The parts of a `tag` action.
pub type TagParts = Parts<TagParams, TagsPrecondition, TagsState, TagsState>;

/// `untag`.
pub const UNTAG: StepInfo = StepInfo {
    targets: TARGETS,
    params: &[param("keys", ParamKind::StringList, true, "tag keys")],
    params_schema: super::schema_of::<UntagParams>,
    check_param: None,
    safety: Safety::Reversible,
    change: ChangeKind::Change,
    diff: "`~ tags = {...} -> {...}`",
    rank: 81,
    disables_credential: None,
    expand,
    verb: |_| "will be untagged".into(),
};

/// The parts of an `untag` action.
pub type UntagParts = Parts<UntagParams, TagsPrecondition, TagsState, TagsState>;

/// The action's params, one of the two steps'.
enum Wanted {
    Tag(TagParams),
    Untag(UntagParams),
}

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
        Wanted::Tag(want)
    } else {
        let want: UntagParams = serde_json::from_value(rendered.clone()).unwrap_or_default();
        for k in &want.keys {
            after.remove(k);
        }
        Wanted::Untag(want)
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
    let (before, after) = (TagsState { tags }, TagsState { tags: after });
    let body = match params {
        Wanted::Tag(params) => Body::Tag(Box::new(Parts {
            params,
            precondition: pre,
            before,
            after,
        })),
        Wanted::Untag(params) => Body::Untag(Box::new(Parts {
            params,
            precondition: pre,
            before,
            after,
        })),
    };
    cx.propose(r.clone(), "", body);
}

pub(crate) mod live {
    //! `tag` and `untag`: apply's check, calls and reverse (restore the values before, remove
    //! the keys that were absent).
    use super::TagMap;
    use crate::steps::live::*;
    use serde::Deserialize;

    /// The (kind, name) tag calls use: user/role name, or the policy ARN.
    fn tag_target(a: &Action) -> Result<(&'static str, String), StepError> {
        use crate::inventory::ResourceKind as R;
        match a.resource.kind {
            R::User => Ok(("user", a.resource.name.clone())),
            R::Role => Ok(("role", a.resource.name.clone())),
            R::ManagedPolicy => a
                .resource
                .arn
                .clone()
                .map(|arn| ("managed_policy", arn))
                .ok_or_else(|| StepError::Plan(format!("{} has no policy ARN", a.id))),
            _ => Err(StepError::Plan(format!(
                "{}: tags are set on users, roles and managed policies only",
                a.id
            ))),
        }
    }

    /// What the action changes: the tags a `tag` sets, or the keys an `untag` removes.
    enum Want {
        Set(BTreeMap<String, String>),
        Remove(Vec<String>),
    }

    impl Want {
        fn of(a: &Action) -> Result<Want, StepError> {
            Ok(match &a.body {
                Body::Tag(p) => Want::Set(strings_of(&p.params.tags)),
                Body::Untag(p) => Want::Remove(p.params.keys.clone()),
                _ => return Err(wrong_body(a)),
            })
        }

        /// The keys it touches.
        fn keys(&self) -> Vec<String> {
            match self {
                Want::Set(tags) => tags.keys().cloned().collect(),
                Want::Remove(keys) => keys.clone(),
            }
        }
    }

    /// A tag map's values as strings (a value that is not a string as its JSON text).
    fn strings_of(tags: &TagMap) -> BTreeMap<String, String> {
        tags.iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_string),
                )
            })
            .collect()
    }

    pub(crate) async fn check<X: Exec>(x: &X, a: &Action) -> Result<Check, StepError> {
        let (kind, name) = tag_target(a)?;
        let want = Want::of(a)?;
        let planned = match &a.body {
            Body::Tag(p) => strings_of(&p.precondition.tags),
            Body::Untag(p) => strings_of(&p.precondition.tags),
            _ => return Err(wrong_body(a)),
        };
        let Some(current) = x.iam().tags(kind, &name).await? else {
            return Ok(Check::Stale(format!(
                "{} no longer exists",
                a.resource.name
            )));
        };
        let keys = want.keys();
        let done = match &want {
            Want::Set(tags) => tags.iter().all(|(k, v)| current.get(k) == Some(v)),
            Want::Remove(keys) => keys.iter().all(|k| !current.contains_key(k)),
        };
        if done {
            return Ok(Check::Already(json!({"tags": current})));
        }
        if keys.iter().any(|k| current.get(k) != planned.get(k)) {
            return Ok(Check::Stale(
                "the tags changed since the plan was made".into(),
            ));
        }
        let previous: BTreeMap<&String, Option<&String>> =
            keys.iter().map(|k| (k, current.get(k))).collect();
        Ok(Check::Proceed(json!({"tags": previous})))
    }

    pub(crate) async fn execute<X: Exec>(
        x: &X,
        a: &Action,
        _before: &Value,
    ) -> Result<Value, StepError> {
        let (kind, name) = tag_target(a)?;
        let call = match Want::of(a)? {
            Want::Set(tags) => IamCall::tag(kind, &name, &tags),
            Want::Remove(keys) => IamCall::untag(kind, &name, &keys),
        };
        x.send(&a.id, call).await?;
        Ok(Value::Null)
    }

    /// The journal's `before` of an applied action: each touched key's value before (`null`:
    /// it was absent).
    #[derive(Debug, Default, Deserialize)]
    struct Previous {
        #[serde(default)]
        tags: BTreeMap<String, Option<String>>,
    }

    pub(crate) fn reverse(
        a: &Action,
        before: &Value,
        _after: &Value,
    ) -> (Vec<UndoOp>, Option<String>) {
        let Ok((kind, name)) = tag_target(a) else {
            return irreversible("tags of this resource kind cannot be restored");
        };
        let mut restore = BTreeMap::new();
        let mut remove = Vec::new();
        let before: Previous = part(a, "before", before).unwrap_or_default();
        for (k, v) in before.tags {
            match v {
                Some(v) => {
                    restore.insert(k, v);
                }
                None => remove.push(k),
            }
        }
        let mut ops = Vec::new();
        if !remove.is_empty() {
            ops.push(UndoOp::Untag {
                kind: kind.into(),
                name: name.clone(),
                keys: remove,
            });
        }
        if !restore.is_empty() {
            ops.push(UndoOp::Tag {
                kind: kind.into(),
                name,
                tags: restore,
            });
        }
        (ops, None)
    }
}
