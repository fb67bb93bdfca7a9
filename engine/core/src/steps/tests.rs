//! Registry-wide tests: names, parameter tables against the typed params, and the typed round
//! trip of every step's expansion over the demo account.

use super::*;
use serde_json::json;
use std::collections::BTreeSet;

/// The demo account (examples/demo-account.json).
pub(crate) fn fixture() -> Inventory {
    crate::inventory::snapshot::parse(
        include_bytes!("../../../../examples/demo-account.json"),
        "demo-account.json",
    )
    .expect("the demo account parses")
}

/// Expands one step for one record: (proposals, skip reasons).
pub(crate) fn expand_one(
    inv: &Inventory,
    step: StepName,
    kind: ResourceKind,
    index: usize,
    params: &Value,
) -> (Vec<Proposed>, Vec<String>) {
    let ix = Index::new(inv);
    let mut cx = Cx::new(&ix);
    if let Some(r) = inv.resource_ref(kind, index) {
        let t = Target {
            kind,
            index,
            resource: &r,
        };
        expand(step, &mut cx, &t, params);
    }
    (cx.out, cx.skips.into_iter().map(|s| s.reason).collect())
}

/// How many records of `kind` the inventory holds.
fn count(inv: &Inventory, kind: ResourceKind) -> usize {
    match kind {
        ResourceKind::Account => 1,
        ResourceKind::User => inv.users.len(),
        ResourceKind::AccessKey => inv.access_keys.len(),
        ResourceKind::MfaDevice => inv.mfa_devices.len(),
        ResourceKind::LoginProfile => inv.login_profiles.len(),
        ResourceKind::Group => inv.groups.len(),
        ResourceKind::Role => inv.roles.len(),
        ResourceKind::ManagedPolicy => inv.managed_policies.len(),
        ResourceKind::InlinePolicy => inv.inline_policies.len(),
    }
}

/// Params that make `step` do something on the record.
fn sample_params(inv: &Inventory, step: StepName, kind: ResourceKind, index: usize) -> Value {
    match step {
        StepName::Tag => json!({"tags": {"iamwarden-test": "yes"}}),
        StepName::Untag => {
            let keys: Vec<String> = inv
                .record_value(kind, index)
                .and_then(|r| r.get("tags").and_then(Value::as_object).cloned())
                .map(|t| t.keys().cloned().collect())
                .unwrap_or_default();
            json!({ "keys": keys })
        }
        StepName::ReplacePolicyDocument => json!({"document": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]
        }}),
        StepName::UpdatePasswordPolicy => json!({"settings": {"minimum_password_length": 99}}),
        StepName::DeactivateMfaDevice => json!({"delete_virtual": index.is_multiple_of(2)}),
        StepName::RotateAccessKey => json!({"secret_name": "iamwarden/test"}),
        _ => Value::Null,
    }
}

/// The body of `step`'s first action on the demo account (with [`sample_params`]).
pub(crate) fn sample_body(step: StepName) -> Body {
    let inv = fixture();
    for &kind in step.info().targets {
        for index in 0..count(&inv, kind) {
            let params = sample_params(&inv, step, kind, index);
            let (out, _) = expand_one(&inv, step, kind, index, &params);
            if let Some(p) = out.into_iter().find(|p| p.step() == step) {
                return p.body;
            }
        }
    }
    panic!("the demo account plans no {step}")
}

#[test]
fn every_name_is_its_serde_name_and_unique() {
    let mut seen = BTreeSet::new();
    for &s in ALL_STEPS {
        assert_eq!(serde_json::to_value(s).ok(), Some(json!(s.as_str())));
        assert_eq!(
            serde_json::from_value::<StepName>(json!(s.as_str())).ok(),
            Some(s)
        );
        assert!(seen.insert(s.as_str()), "{s} twice");
        assert!(!s.info().targets.is_empty(), "{s} has no targets");
    }
    assert_eq!(seen.len(), 23);
}

#[test]
fn param_tables_match_the_typed_params() {
    for &s in ALL_STEPS {
        let info = s.info();
        let schema = (info.params_schema)();
        let props: BTreeSet<String> = schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        let required: BTreeSet<String> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        let table: BTreeSet<String> = info.params.iter().map(|p| p.name.to_string()).collect();
        let table_required: BTreeSet<String> = info
            .params
            .iter()
            .filter(|p| p.required)
            .map(|p| p.name.to_string())
            .collect();
        assert_eq!(props, table, "{s}: parameter names");
        assert_eq!(required, table_required, "{s}: required parameters");
        assert_eq!(
            schema.get("additionalProperties"),
            Some(&json!(false)),
            "{s}: unknown parameters must be refused"
        );
    }
}

#[test]
fn every_step_expands_on_the_demo_account_and_its_parts_round_trip_through_the_types() {
    let inv = fixture();
    let mut planned: BTreeSet<StepName> = BTreeSet::new();
    for &step in ALL_STEPS {
        for &kind in step.info().targets {
            for index in 0..count(&inv, kind) {
                let params = sample_params(&inv, step, kind, index);
                let (out, _) = expand_one(&inv, step, kind, index, &params);
                for p in out {
                    let ps = p.step();
                    planned.insert(ps);
                    let parts = JsonParts {
                        params: p.body.params_json(),
                        precondition: p.body.precondition_json(),
                        before: p.body.before_json(),
                        after: p.body.after_json(),
                    };
                    let back = Body::from_json(ps, parts.clone());
                    assert_eq!(back.as_ref().ok(), Some(&p.body), "{}: {back:?}", ps);
                    // Byte-identical too (key order is part of the plan's content hash).
                    let action = Action::new("act-x", Vec::new(), p.resource.clone(), p.body);
                    let text = serde_json::to_string(&action).unwrap_or_default();
                    let reread: Action = serde_json::from_str(&text).unwrap_or_else(|e| {
                        panic!("{}: {e}", ps);
                    });
                    assert_eq!(reread, action);
                    assert_eq!(serde_json::to_string(&reread).ok(), Some(text.clone()));
                    let raw: Value = serde_json::from_str(&text).unwrap_or_default();
                    assert_eq!(raw["precondition"], parts.precondition);
                    assert_eq!(raw["params"], parts.params);
                }
            }
        }
    }
    let all: BTreeSet<StepName> = ALL_STEPS.iter().copied().collect();
    assert_eq!(planned, all, "steps the demo account never planned");
}

#[test]
fn a_part_of_another_steps_shape_is_refused_naming_the_part() {
    let parts = JsonParts {
        params: json!({"user": "alice"}),
        precondition: json!({"attached": true}),
        before: json!({"status": "Active"}),
        after: json!({"status": "Inactive"}),
    };
    let err = Body::from_json(StepName::DeactivateAccessKey, parts.clone());
    let Err(e) = err else {
        panic!("a detach precondition fits a key step: {err:?}");
    };
    assert_eq!(e.part, Part::Precondition);
    assert!(
        e.to_string()
            .starts_with("`precondition` does not fit the deactivate_access_key step's type"),
        "{e}"
    );
    // In a plan file, the error names the action too.
    let text = json!({
        "id": "act-1", "rules": ["r"], "action": "deactivate_access_key",
        "resource": {"kind": "access_key", "id": "AKIA1", "name": "AKIA1"},
        "params": parts.params, "safety": "reversible", "change": "change",
        "precondition": parts.precondition, "before": parts.before, "after": parts.after,
    });
    let err = serde_json::from_value::<Action>(text).map(|_| ());
    let msg = err.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        msg.starts_with(
            "action act-1: `precondition` does not fit the deactivate_access_key step's type"
        ),
        "{msg}"
    );
}

#[test]
fn the_delete_user_cascade_comes_first_and_belongs_to_the_user() {
    let inv = fixture();
    // ben.carter has a key, a console password, an MFA device, two groups, an inline policy.
    let Some(i) = inv.users.iter().position(|u| u.name == "ben.carter") else {
        panic!("the demo account has ben.carter");
    };
    let (out, _) = expand_one(
        &inv,
        StepName::DeleteUser,
        ResourceKind::User,
        i,
        &Value::Null,
    );
    let last = out.last().expect("the user is deleted");
    assert_eq!(last.step(), StepName::DeleteUser);
    assert!(last.part_of.is_none());
    let parent = action_id(StepName::DeleteUser, &last.resource, "");
    assert!(out.len() > 3);
    for p in &out[..out.len() - 1] {
        assert_eq!(p.part_of.as_deref(), Some(parent.as_str()), "{}", p.step());
    }
    let steps: BTreeSet<StepName> = out.iter().map(|p| p.step()).collect();
    for s in [
        StepName::DeleteAccessKey,
        StepName::RemoveUserFromGroup,
        StepName::DeleteInlinePolicy,
    ] {
        assert!(steps.contains(&s), "{s} missing from the cascade");
    }
}

#[test]
fn the_in_use_window_start_goes_only_into_user_level_preconditions() {
    let inv = fixture();
    let ix = Index::new(&inv);
    let since = chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .ok();
    let mut cx = Cx::new(&ix);
    cx.in_use_since = since;
    let i = inv
        .users
        .iter()
        .position(|u| !u.access_key_ids.is_empty())
        .unwrap_or(0);
    let r = inv.resource_ref(ResourceKind::User, i).expect("a user");
    let t = Target {
        kind: ResourceKind::User,
        index: i,
        resource: &r,
    };
    expand(StepName::DeleteUser, &mut cx, &t, &Value::Null);
    for p in &cx.out {
        let has = p.body.precondition_json().get("in_use_since").is_some();
        assert_eq!(has, p.step() == StepName::DeleteUser, "{}", p.step());
    }
    assert_eq!(
        cx.out
            .last()
            .and_then(|p| p.body.precondition_json().get("in_use_since").cloned()),
        Some(json!("2026-11-01T00:00:00Z"))
    );
}

#[test]
fn what_a_user_owns_is_what_a_scan_of_the_account_finds_in_inventory_order() {
    let inv = fixture();
    let ix = Index::new(&inv);
    let mut seen_any = false;
    for u in inv
        .users
        .iter()
        .map(|u| u.name.as_str())
        .chain(["no-such-user"])
    {
        let owned = ix.owned_by(u);
        let keys: Vec<usize> = (0..inv.access_keys.len())
            .filter(|&i| inv.access_keys[i].user == u)
            .collect();
        let mfa: Vec<usize> = (0..inv.mfa_devices.len())
            .filter(|&i| inv.mfa_devices[i].user.as_deref() == Some(u))
            .collect();
        let inline: Vec<usize> = (0..inv.inline_policies.len())
            .filter(|&i| {
                let p = &inv.inline_policies[i];
                p.owner_kind == OwnerKind::User && p.owner == u
            })
            .collect();
        seen_any |= !keys.is_empty() && !mfa.is_empty();
        assert_eq!(owned.keys, keys, "{u}");
        assert_eq!(owned.mfa_devices, mfa, "{u}");
        assert_eq!(owned.inline_policies, inline, "{u}");
    }
    assert!(
        seen_any,
        "the demo account has a user with keys and an MFA device"
    );
}
