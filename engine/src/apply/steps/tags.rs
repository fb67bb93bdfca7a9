//! `tag` and `untag`: apply's check, calls and reverse (restore the values before, remove
//! the keys that were absent).

use super::*;

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

pub(super) async fn check<I: Iam>(x: &Executor<I>, a: &Action) -> Result<Check, StepError> {
    let tagging = a.action == StepName::Tag;
    let (kind, name) = tag_target(a)?;
    let Some(current) = x.tags(kind, &name).await? else {
        return Ok(Check::Stale(format!(
            "{} no longer exists",
            a.resource.name
        )));
    };
    let planned: BTreeMap<String, String> =
        serde_json::from_value(a.precondition.get("tags").cloned().unwrap_or(json!({})))
            .unwrap_or_default();
    let keys: Vec<String> = if tagging {
        a.params
            .get("tags")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    } else {
        strings(a.params.get("keys"))
    };
    let done = if tagging {
        a.params
            .get("tags")
            .and_then(Value::as_object)
            .is_some_and(|m| {
                m.iter()
                    .all(|(k, v)| current.get(k).map(String::as_str) == v.as_str())
            })
    } else {
        keys.iter().all(|k| !current.contains_key(k))
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

pub(super) async fn execute<I: Iam>(x: &Executor<I>, a: &Action) -> Result<Value, StepError> {
    let (kind, name) = tag_target(a)?;
    let call = if a.action == StepName::Tag {
        IamCall::tag(kind, &name, &string_map(a.params.get("tags")))
    } else {
        IamCall::untag(kind, &name, &strings(a.params.get("keys")))
    };
    x.send(&a.id, call).await?;
    Ok(Value::Null)
}

pub(super) fn reverse(a: &Action, before: &Value) -> (Vec<UndoOp>, Option<String>) {
    let Ok((kind, name)) = tag_target(a) else {
        return irreversible("tags of this resource kind cannot be restored");
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
