//! Unit tests of apply's pure parts: plan loading, prechecks, guards, undo derivation.

use super::steps::undo_for;
use super::*;
use crate::inventory::ResourceRef;
use crate::plan::ChangeKind;
use crate::steps::{Body, JsonParts, Part};
use serde_json::json;

/// An action of `step` on `kind` `id` (named `name`): the parts of the step's first action on
/// the demo account, with `params`' keys set over its params (a fixture for what needs only the
/// step, the resource and a few params: guards, undo derivation, selection).
pub(crate) fn action(
    step: StepName,
    kind: ResourceKind,
    id: &str,
    name: &str,
    params: Value,
) -> Action {
    let sample = crate::steps::tests::sample_body(step);
    let mut parts = JsonParts {
        params: sample.params_json(),
        precondition: sample.precondition_json(),
        before: sample.before_json(),
        after: sample.after_json(),
    };
    if let (Some(into), Value::Object(set)) = (parts.params.as_object_mut(), params) {
        into.extend(set);
    }
    let body = Body::from_json(step, parts)
        .unwrap_or_else(|e| panic!("the {step} fixture does not fit the step's types: {e}"));
    let mut a = Action::new(
        format!("act-{id}"),
        vec!["r".into()],
        ResourceRef {
            kind,
            id: id.into(),
            arn: None,
            name: name.into(),
        },
        body,
    );
    a.change = ChangeKind::Change;
    a
}

/// `a` with one part replaced by `value` (read through the step's type).
pub(crate) fn with_part(a: Action, part: Part, value: Value) -> Action {
    let mut parts = JsonParts {
        params: a.params_json(),
        precondition: a.precondition_json(),
        before: a.before_json(),
        after: a.after_json(),
    };
    match part {
        Part::Params => parts.params = value,
        Part::Precondition => parts.precondition = value,
        Part::Before => parts.before = value,
        Part::After => parts.after = value,
    }
    let step = a.step();
    let body = Body::from_json(step, parts)
        .unwrap_or_else(|e| panic!("the {step} fixture does not fit the step's types: {e}"));
    Action { body, ..a }
}

/// An action of `step` whose four parts are the step's typed structs (the ones its expansion
/// writes), given as anything that serializes to them: a fixture that does not fit the step's
/// types panics, and one that does round-trips to the same JSON.
#[allow(clippy::too_many_arguments)]
pub(crate) fn typed_action(
    step: StepName,
    kind: ResourceKind,
    id: &str,
    name: &str,
    params: &impl serde::Serialize,
    precondition: &impl serde::Serialize,
    before: &impl serde::Serialize,
    after: &impl serde::Serialize,
) -> Action {
    let parts = JsonParts {
        params: serde_json::to_value(params).unwrap(),
        precondition: serde_json::to_value(precondition).unwrap(),
        before: serde_json::to_value(before).unwrap(),
        after: serde_json::to_value(after).unwrap(),
    };
    let body = Body::from_json(step, parts.clone())
        .unwrap_or_else(|e| panic!("the {step} fixture does not fit the step's types: {e}"));
    assert_eq!(
        (
            body.params_json(),
            body.precondition_json(),
            body.before_json(),
            body.after_json()
        ),
        (parts.params, parts.precondition, parts.before, parts.after),
        "the {step} fixture round-trips through its types"
    );
    Action::new(
        format!("act-{id}"),
        vec!["r".into()],
        ResourceRef {
            kind,
            id: id.into(),
            arn: None,
            name: name.into(),
        },
        body,
    )
}

pub(crate) fn plan(actions: Vec<Action>) -> Plan {
    let now = Utc::now();
    let mut p = Plan {
        format_version: PLAN_FORMAT_VERSION,
        content_sha256: String::new(),
        iamwarden_version: env!("CARGO_PKG_VERSION").to_string(),
        created_at: now,
        now,
        account_id: "123456789012".into(),
        packs: Vec::new(),
        inventory_fingerprint: String::new(),
        rule_caps: Default::default(),
        findings: Vec::new(),
        actions,
        skipped: Vec::new(),
        summary: Default::default(),
    };
    p.seal();
    p
}

fn opts() -> Options {
    Options {
        allow_destructive: false,
        max_actions: None,
        max_plan_age: Duration::hours(24),
        concurrency: 1,
        plan_file: "plan.json".into(),
    }
}

fn key(id: &str, user: &str, step: StepName) -> Action {
    action(step, ResourceKind::AccessKey, id, id, json!({"user": user}))
}

#[test]
fn a_sealed_plan_loads_and_any_edit_is_refused() {
    let p = plan(vec![key("AKIA1", "alice", StepName::DeactivateAccessKey)]);
    let text = serde_json::to_string_pretty(&p).unwrap();
    assert_eq!(load_plan(&text).unwrap(), p);
    let edited = text.replace("alice", "bob");
    let err = load_plan(&edited).unwrap_err().to_string();
    assert!(err.contains("content hash"), "{err}");
    let mut raw: Value = serde_json::from_str(&text).unwrap();
    raw["format_version"] = json!(1);
    let err = load_plan(&raw.to_string()).unwrap_err().to_string();
    assert!(err.contains("plan format 1"), "{err}");
    let err = load_plan("{\"actions\": []}").unwrap_err().to_string();
    assert!(err.contains("no `format_version`"), "{err}");
    let err = load_plan("not json").unwrap_err().to_string();
    assert!(err.contains("not a JSON plan file"), "{err}");
}

#[test]
fn prechecks_refuse_old_future_capped_and_destructive_plans() {
    let mut p = plan(vec![
        key("AKIA1", "alice", StepName::DeactivateAccessKey),
        key("AKIA2", "bob", StepName::DeleteAccessKey),
    ]);
    let now = p.created_at;
    let e = precheck(&p, &opts(), now).unwrap_err().to_string();
    assert!(
        e.contains("1 destructive action") && e.contains("AKIA2 (user bob)"),
        "{e}"
    );
    let allow = Options {
        allow_destructive: true,
        ..opts()
    };
    precheck(&p, &allow, now).unwrap();
    let e = precheck(&p, &allow, now + Duration::hours(25))
        .unwrap_err()
        .to_string();
    assert!(e.contains("made 1d1h0m ago") || e.contains("1d1h"), "{e}");
    let e = precheck(&p, &allow, now - Duration::hours(1))
        .unwrap_err()
        .to_string();
    assert!(e.contains("in the future"), "{e}");
    let capped = Options {
        max_actions: Some(1),
        ..allow.clone()
    };
    let e = precheck(&p, &capped, now).unwrap_err().to_string();
    assert!(e.contains("2 actions, more than --max-actions 1"), "{e}");
    p.rule_caps.insert("r".into(), 1);
    let e = precheck(&p, &allow, now).unwrap_err().to_string();
    assert!(
        e.contains("rule r planned 2 actions, its max_actions is 1"),
        "{e}"
    );
}

#[test]
fn another_account_is_refused() {
    let p = plan(Vec::new());
    let caller = Caller {
        arn: "arn:aws:iam::210987654321:user/ci".into(),
        account_id: "210987654321".into(),
        access_key_id: None,
    };
    let e = check_account(&p, &caller).unwrap_err().to_string();
    assert!(
        e.contains("210987654321") && e.contains(&p.account_id),
        "{e}"
    );
}

#[test]
fn caller_names_come_from_the_arn() {
    let u = Caller {
        arn: "arn:aws:iam::123456789012:user/team/ci-bot".into(),
        ..Caller::default()
    };
    assert_eq!(u.user(), Some("ci-bot"));
    assert_eq!(u.role(), None);
    let r = Caller {
        arn: "arn:aws:sts::123456789012:assumed-role/deployer/session-1".into(),
        ..Caller::default()
    };
    assert_eq!(r.role(), Some("deployer"));
    assert_eq!(r.user(), None);
}

#[test]
fn the_self_lockout_guard_table() {
    let user = Caller {
        arn: "arn:aws:iam::123456789012:user/ci-bot".into(),
        account_id: "123456789012".into(),
        access_key_id: Some("AKIACI".into()),
    };
    let role = Caller {
        arn: "arn:aws:sts::123456789012:assumed-role/deployer/s".into(),
        account_id: "123456789012".into(),
        access_key_id: Some("ASIATEMP".into()),
    };
    let u = |step, name: &str| action(step, ResourceKind::User, name, name, json!({}));
    let mut detach_everywhere = action(
        StepName::DetachPolicyEverywhere,
        ResourceKind::ManagedPolicy,
        "P",
        "p",
        json!({"policy_arn": "arn:aws:iam::123456789012:policy/p"}),
    );
    detach_everywhere = with_part(
        detach_everywhere,
        Part::Before,
        json!({"attachments": {"users": ["ci-bot"], "groups": [], "roles": ["deployer"]}}),
    );
    let cases: Vec<(Action, &Caller, bool)> = vec![
        (
            key("AKIACI", "ci-bot", StepName::DeactivateAccessKey),
            &user,
            true,
        ),
        (
            key("AKIACI", "ci-bot", StepName::DeleteAccessKey),
            &user,
            true,
        ),
        (
            key("AKIAOLD", "ci-bot", StepName::DeleteAccessKey),
            &user,
            true,
        ),
        (
            key("AKIAX", "alice", StepName::DeactivateAccessKey),
            &user,
            false,
        ),
        (u(StepName::DeleteUser, "ci-bot"), &user, true),
        (u(StepName::QuarantineUser, "ci-bot"), &user, true),
        // Apply signs with a key, which carries no MFA: the MFA policy would deny its next call.
        (u(StepName::EnforceMfa, "ci-bot"), &user, true),
        (u(StepName::EnforceMfa, "alice"), &user, false),
        (u(StepName::DetachUserPolicy, "ci-bot"), &user, true),
        (u(StepName::RemoveUserFromGroup, "ci-bot"), &user, true),
        (u(StepName::Tag, "ci-bot"), &user, false),
        (u(StepName::DeleteUser, "alice"), &user, false),
        (
            action(
                StepName::DeleteInlinePolicy,
                ResourceKind::InlinePolicy,
                "i",
                "p",
                json!({"owner_kind": "user", "owner": "ci-bot", "policy_name": "p"}),
            ),
            &user,
            true,
        ),
        (detach_everywhere.clone(), &user, true),
        (detach_everywhere.clone(), &role, true),
        (
            action(
                StepName::DetachRolePolicy,
                ResourceKind::Role,
                "R",
                "deployer",
                json!({}),
            ),
            &role,
            true,
        ),
        (
            action(
                StepName::DetachRolePolicy,
                ResourceKind::Role,
                "R",
                "app",
                json!({}),
            ),
            &role,
            false,
        ),
        (
            action(
                StepName::QuarantineRole,
                ResourceKind::Role,
                "R",
                "deployer",
                json!({"role_name": "deployer"}),
            ),
            &role,
            true,
        ),
        (
            action(
                StepName::QuarantineRole,
                ResourceKind::Role,
                "R",
                "app",
                json!({"role_name": "app"}),
            ),
            &role,
            false,
        ),
        (u(StepName::DeleteUser, "ci-bot"), &role, false),
    ];
    for (i, (a, caller, refused)) in cases.iter().enumerate() {
        assert_eq!(
            guard(a, caller).is_some(),
            *refused,
            "case {i}: {} {} as {}",
            a.step(),
            a.resource.name,
            caller.arn
        );
    }
}

#[test]
fn aws_managed_policies_are_never_modified() {
    let caller = Caller::default();
    for step in [
        StepName::ReplacePolicyDocument,
        StepName::SetDefaultPolicyVersion,
        StepName::DeletePolicy,
    ] {
        let a = action(
            step,
            ResourceKind::ManagedPolicy,
            "P",
            "AdministratorAccess",
            json!({"policy_arn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        );
        assert!(guard(&a, &caller).is_some(), "{step}");
    }
    let detach = action(
        StepName::DetachUserPolicy,
        ResourceKind::User,
        "U",
        "alice",
        json!({"user_name": "alice", "policy_arn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
    );
    assert!(guard(&detach, &caller).is_none(), "detaching one is fine");
}

#[test]
fn undo_table() {
    let deact = key("AKIA1", "alice", StepName::DeactivateAccessKey);
    let (ops, none) = undo_for(&deact, &json!({"status": "Active"}), &Value::Null);
    assert_eq!(
        ops,
        vec![UndoOp::UpdateAccessKey {
            user: "alice".into(),
            access_key_id: "AKIA1".into(),
            status: "Active".into()
        }]
    );
    assert!(none.is_none());
    for step in [
        StepName::DeleteAccessKey,
        StepName::DeleteLoginProfile,
        StepName::DeleteUser,
        StepName::DeletePolicy,
        StepName::DeactivateMfaDevice,
    ] {
        let a = action(step, ResourceKind::AccessKey, "K", "u", json!({}));
        let (ops, why) = undo_for(&a, &json!({}), &Value::Null);
        assert!(ops.is_empty() && why.is_some(), "{step}");
    }
    let replace = action(
        StepName::ReplacePolicyDocument,
        ResourceKind::ManagedPolicy,
        "P",
        "p",
        json!({"policy_arn": "arn:p", "document": {}}),
    );
    let (ops, note) = undo_for(
        &replace,
        &json!({"default_version_id": "v2"}),
        &json!({"created_version_id": "v6", "deleted_version": {"version_id": "v1", "document": {"a": 1}}}),
    );
    assert_eq!(
        ops,
        vec![
            UndoOp::SetDefaultPolicyVersion {
                policy_arn: "arn:p".into(),
                version_id: "v2".into()
            },
            UndoOp::DeletePolicyVersion {
                policy_arn: "arn:p".into(),
                version_id: "v6".into()
            },
            UndoOp::CreatePolicyVersion {
                policy_arn: "arn:p".into(),
                document: json!({"a": 1})
            },
        ]
    );
    assert!(note.unwrap().contains("v1 was deleted"));
    let pw = action(
        StepName::UpdatePasswordPolicy,
        ResourceKind::Account,
        "1",
        "1",
        json!({}),
    );
    let (ops, _) = undo_for(&pw, &json!({"password_policy": null}), &Value::Null);
    assert_eq!(ops, vec![UndoOp::DeletePasswordPolicy]);
    let tag = action(StepName::Tag, ResourceKind::User, "U", "bob", json!({}));
    let (ops, _) = undo_for(
        &tag,
        &json!({"tags": {"owner": "old", "new": null}}),
        &Value::Null,
    );
    assert_eq!(
        ops,
        vec![
            UndoOp::Untag {
                kind: "user".into(),
                name: "bob".into(),
                keys: vec!["new".into()]
            },
            UndoOp::Tag {
                kind: "user".into(),
                name: "bob".into(),
                tags: [("owner".to_string(), "old".to_string())].into()
            },
        ]
    );
}

#[test]
fn exit_kinds() {
    let s = |stale, failed, refused| Summary {
        applied: 1,
        already_applied: 1,
        stale,
        failed,
        refused,
    };
    assert_eq!(exit_kind(&s(0, 0, 0)), ExitKind::Ok);
    assert_eq!(exit_kind(&s(1, 0, 0)), ExitKind::Stale);
    assert_eq!(exit_kind(&s(1, 1, 0)), ExitKind::Failed);
    assert_eq!(exit_kind(&s(0, 0, 1)), ExitKind::Failed);
}

// ---- how an unanswered call is resolved (the SDK's classification is tested in iamwarden-aws) --

mod outcomes {
    use super::super::{resolve, Check, Resolution, StepError, MAX_SENDS};
    use serde_json::json;

    #[test]
    fn the_resolution_table() {
        // The planned state: applied (undo from the begin record).
        assert_eq!(
            resolve(Ok(Check::Already(json!({"attached": false}))), 1),
            Resolution::Applied(json!({"attached": false}))
        );
        // The state before: not applied; sent once more, then no more.
        assert_eq!(
            resolve(Ok(Check::Proceed(json!({"status": "Active"}))), 1),
            Resolution::SendAgain(json!({"status": "Active"}))
        );
        assert_eq!(
            resolve(Ok(Check::Proceed(json!({}))), MAX_SENDS),
            Resolution::NotApplied
        );
        // Something else: failed, with what.
        assert_eq!(
            resolve(Ok(Check::Stale("the key is gone".into())), 1),
            Resolution::Other("the key is gone".into())
        );
        // The re-read failed: unknown (the action stays open in the journal).
        match resolve(Err(StepError::Plan("x".into())), 1) {
            Resolution::Unknown(why) => assert!(why.contains("malformed"), "{why}"),
            other => panic!("{other:?}"),
        }
    }
}
