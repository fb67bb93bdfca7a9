//! Unit tests of apply's pure parts: plan loading, prechecks, guards, undo derivation.

use super::steps::undo_for;
use super::*;
use crate::inventory::ResourceRef;
use crate::plan::ChangeKind;
use serde_json::json;

pub(crate) fn action(
    step: StepName,
    kind: ResourceKind,
    id: &str,
    name: &str,
    params: Value,
) -> Action {
    Action {
        id: format!("act-{id}"),
        rules: vec!["r".into()],
        action: step,
        resource: ResourceRef {
            kind,
            id: id.into(),
            arn: None,
            name: name.into(),
        },
        params,
        safety: step.info().safety,
        change: ChangeKind::Change,
        precondition: json!({}),
        before: json!({}),
        after: json!({}),
        depends_on: Vec::new(),
        part_of: None,
        supersedes: Vec::new(),
        triggered_by: Vec::new(),
        allowed_in_use: None,
    }
}

/// A sealed plan holding `actions` (made now, for account 123456789012).
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
    detach_everywhere.before =
        json!({"attachments": {"users": ["ci-bot"], "groups": [], "roles": ["deployer"]}});
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
        (u(StepName::DeleteUser, "ci-bot"), &role, false),
    ];
    for (i, (a, caller, refused)) in cases.iter().enumerate() {
        assert_eq!(
            guard(a, caller).is_some(),
            *refused,
            "case {i}: {} {} as {}",
            a.action,
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
        let (ops, why) = undo_for(&key("K", "u", step), &json!({}), &Value::Null);
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

/// Every IAM operation apply calls: the names in `sdk_err(...)`, `all_items!(..)` and
/// `mutate!(..)` in aws/*.rs.
/// Every IAM operation apply makes: the mutating calls ([`crate::iam::IamCall::name`]) and
/// the reads of the SDK implementation.
fn operations_in_source() -> std::collections::BTreeSet<String> {
    let calls = regex::Regex::new(r#"C::[A-Za-z]+ \{[^}]*\} => "([A-Za-z]+)""#).unwrap();
    let reads = regex::Regex::new(r#"(?:sdk_err|all_items!)\(\s*"([A-Za-z]+)""#).unwrap();
    // The rotation hand-off's Secrets Manager operations (`IamCall::service`).
    let secrets = [
        "CreateSecret",
        "PutSecretValue",
        "TagResource",
        "UpdateSecretVersionStage",
        "DeleteSecret",
        "DescribeSecret",
    ];
    let iam = include_str!("../iam/mod.rs");
    let sdk = include_str!("aws/mod.rs");
    calls
        .captures_iter(iam)
        .chain(reads.captures_iter(sdk))
        .map(|c| c[1].to_string())
        .filter(|op| op != "GetCallerIdentity") // STS; needs no permission
        .filter(|op| op != "secretsmanager") // the word in `IamCall::service`
        .map(|op| {
            let service = if secrets.contains(&op.as_str()) {
                "secretsmanager"
            } else {
                "iam"
            };
            format!("{service}:{op}")
        })
        .collect()
}

#[test]
fn the_apply_policy_grants_exactly_what_apply_calls() {
    let ops = operations_in_source();
    assert!(ops.len() > 50, "{ops:?}");
    let policy: Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/iam-apply-policy.json"
    )))
    .unwrap();
    let granted: std::collections::BTreeSet<String> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|st| st["Action"].as_array().unwrap().iter())
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    let missing: Vec<_> = ops.difference(&granted).collect();
    let extra: Vec<_> = granted.difference(&ops).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "examples/iam-apply-policy.json: missing {missing:?}, not called {extra:?}"
    );
}

// ---- the outcome of a mutating call, and how an unanswered one is resolved ----------------

#[allow(clippy::result_large_err)] // SdkError is what the SDK returns; these build one
mod outcomes {
    use super::super::aws::classify;
    use super::super::{resolve, Check, Resolution, StepError, MAX_SENDS};
    use crate::iam::outcome_result;
    use crate::iam::CallOutcome;
    use aws_sdk_iam::error::{ErrorMetadata, SdkError};
    use aws_sdk_iam::operation::detach_user_policy::DetachUserPolicyError;
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_types::body::SdkBody;
    use serde_json::json;

    type R = Result<(), SdkError<DetachUserPolicyError, HttpResponse>>;

    fn answer(status: u16, code: &str, message: &str) -> R {
        let err = DetachUserPolicyError::generic(
            ErrorMetadata::builder().code(code).message(message).build(),
        );
        let raw = HttpResponse::new(status.try_into().unwrap(), SdkBody::empty());
        Err(SdkError::service_error(err, raw))
    }

    fn io(kind: std::io::ErrorKind) -> R {
        Err(SdkError::dispatch_failure(ConnectorError::io(Box::new(
            std::io::Error::new(kind, "io"),
        ))))
    }

    const EP: &str = "http://127.0.0.1:1";

    #[test]
    fn success_is_done() {
        let ok: R = Ok(());
        assert_eq!(classify(ok), CallOutcome::Done(()));
    }

    #[test]
    fn throttling_and_503_are_answers_that_prove_nothing_was_done() {
        for (status, code) in [(400, "Throttling"), (503, "ServiceUnavailable"), (503, "X")] {
            match classify(answer(status, code, "slow down")) {
                CallOutcome::Refused { retryable, .. } => assert!(retryable, "{status} {code}"),
                other => panic!("{status} {code}: {other:?}"),
            }
        }
    }

    #[test]
    fn access_denied_is_refused_with_the_call_the_endpoint_and_the_permission() {
        let o = classify(answer(403, "AccessDenied", "not allowed"));
        assert!(matches!(
            o,
            CallOutcome::Refused {
                retryable: false,
                status: 403,
                ..
            }
        ));
        let msg = outcome_result(o, "DetachUserPolicy", EP)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("DetachUserPolicy was refused by IAM at http://127.0.0.1:1"),
            "{msg}"
        );
        assert!(msg.contains("AccessDenied: not allowed"), "{msg}");
        assert!(msg.contains("iam:DetachUserPolicy"), "{msg}");
    }

    #[test]
    fn a_500_does_not_say_whether_the_change_was_made() {
        let o = classify(answer(500, "InternalFailure", "oops"));
        assert!(matches!(o, CallOutcome::Unknown { .. }), "{o:?}");
    }

    #[test]
    fn no_answer_is_unknown_and_never_says_the_endpoint_was_unreachable() {
        let cases: Vec<R> = vec![
            Err(SdkError::timeout_error("attempt timeout")),
            Err(SdkError::response_error(
                "truncated body",
                HttpResponse::new(200.try_into().unwrap(), SdkBody::empty()),
            )),
            io(std::io::ErrorKind::ConnectionReset),
            io(std::io::ErrorKind::UnexpectedEof),
        ];
        for c in cases {
            let o = classify(c);
            assert!(matches!(o, CallOutcome::Unknown { .. }), "{o:?}");
            let e = outcome_result(o, "CreatePolicyVersion", EP).unwrap_err();
            assert!(e.is_unknown());
            let msg = e.to_string();
            assert!(
                msg.contains("the request was sent but no answer came"),
                "{msg}"
            );
            assert!(!msg.contains("cannot reach"), "{msg}");
        }
    }

    #[test]
    fn a_refused_connection_was_never_sent() {
        let o = classify(io(std::io::ErrorKind::ConnectionRefused));
        assert!(matches!(o, CallOutcome::NotSent { .. }), "{o:?}");
        let msg = outcome_result(o, "DetachUserPolicy", EP)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("cannot reach the IAM endpoint http://127.0.0.1:1"),
            "{msg}"
        );
        assert!(msg.contains("the request was not sent"), "{msg}");
    }

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
