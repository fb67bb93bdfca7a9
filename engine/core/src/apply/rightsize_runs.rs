//! `rightsize_policy` against the in-memory IAM: planned from an inventory with last-accessed
//! data, then applied, found stale, found already applied, undone, and resumed after a run
//! killed between its call and its result (managed and inline policies alike).

use crate::apply::fake_runs::{journal_path, run_with, undo_all};
use crate::apply::{Options, Outcome, Report};
use crate::iam::fake::{FakeIam, FakePolicy, FakeUser, State};
use crate::inventory::{
    AccessDataStatus, ActionLastAccessed, Inventory, ManagedPolicy, PolicyVersion, ServiceAccess,
    ServiceLastAccessed, User,
};
use crate::plan::{Action, ChangeKind, Plan};
use crate::spec::StepName;
use crate::steps::{expand, Cx, Index, Target};
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use std::path::Path;

const P: &str = "arn:aws:iam::123456789012:policy/broad";

fn at(days_ago: i64) -> DateTime<Utc> {
    "2026-11-30T00:00:00Z"
        .parse::<DateTime<Utc>>()
        .unwrap_or_default()
        - Duration::days(days_ago)
}

fn broad() -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "ec2:*", "sqs:*"], "Resource": "*"}
    ]})
}

fn narrowed() -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "ec2:*"], "Resource": "*"}
    ]})
}

fn service(ns: &str, last: Option<i64>, actions: &[(&str, Option<i64>)]) -> ServiceLastAccessed {
    ServiceLastAccessed {
        namespace: ns.into(),
        last_authenticated_at: last.map(at),
        actions: actions
            .iter()
            .map(|(a, t)| ActionLastAccessed {
                action: (*a).into(),
                last_accessed_at: t.map(at),
                ..ActionLastAccessed::default()
            })
            .collect(),
        ..ServiceLastAccessed::default()
    }
}

/// carol: the policy `broad` attached and the same document inline (`own`); used s3:GetObject
/// and ec2 recently, s3:PutObject 200 days ago, sqs never.
fn inventory() -> Inventory {
    let mut inv = Inventory::default();
    inv.account.id = "123456789012".into();
    inv.users.push(User {
        id: "AIDACAROL".into(),
        arn: "arn:aws:iam::123456789012:user/carol".into(),
        name: "carol".into(),
        created_at: at(500),
        attached_policies: vec![P.into()],
        inline_policies: vec!["own".into()],
        service_access: Some(Box::new(ServiceAccess {
            status: AccessDataStatus::Complete,
            generated_at: Some(at(0)),
            error: None,
            services: vec![
                service(
                    "s3",
                    Some(3),
                    &[("GetObject", Some(3)), ("PutObject", Some(200))],
                ),
                service("ec2", Some(10), &[]),
                service("sqs", None, &[]),
            ],
        })),
        ..User::default()
    });
    inv.managed_policies.push(ManagedPolicy {
        id: P.into(),
        arn: P.into(),
        name: "broad".into(),
        policy_id: Some("ANPABROAD".into()),
        default_version_id: "v1".into(),
        versions: vec![PolicyVersion {
            version_id: "v1".into(),
            is_default: true,
            created_at: Some(at(400)),
            document: broad(),
        }],
        ..ManagedPolicy::default()
    });
    inv.inline_policies.push(crate::inventory::InlinePolicy {
        id: "user/carol/own".into(),
        owner: "carol".into(),
        owner_arn: "arn:aws:iam::123456789012:user/carol".into(),
        name: "own".into(),
        document: broad(),
        ..crate::inventory::InlinePolicy::default()
    });
    inv.normalize();
    inv
}

fn account() -> State {
    let mut s = State::default();
    s.users.insert(
        "carol".into(),
        FakeUser {
            id: "AIDACAROL".into(),
            attached: vec![P.into()],
            inline: [("own".to_string(), broad())].into(),
            ..FakeUser::default()
        },
    );
    s.policies
        .insert(P.into(), FakePolicy::with_document("ANPABROAD", broad()));
    s
}

/// The plan's actions for carol (managed first, then inline), made by the step's expansion.
fn actions(inv: &Inventory) -> Vec<Action> {
    let ix = Index::new(inv);
    let mut cx = Cx::new(&ix);
    let r = inv
        .resource_ref(crate::inventory::ResourceKind::User, 0)
        .unwrap_or_else(|| panic!("carol"));
    let t = Target {
        kind: r.kind,
        index: 0,
        resource: &r,
    };
    expand(
        StepName::RightsizePolicy,
        &mut cx,
        &t,
        &json!({"unused_for": "90d"}),
    );
    assert!(cx.skips.is_empty(), "{:?}", cx.skips);
    cx.out
        .into_iter()
        .map(|p| {
            let mut a = Action::new(
                format!("act-{}", p.resource.id),
                vec!["r".into()],
                p.resource,
                p.body,
            );
            a.change = ChangeKind::Change;
            a
        })
        .collect()
}

fn plan(actions: Vec<Action>) -> Plan {
    crate::apply::tests::plan(actions)
}

async fn run(fake: &FakeIam, path: &Path, p: &Plan) -> Report {
    let opts = Options {
        allow_destructive: false,
        max_actions: None,
        max_plan_age: Duration::hours(1),
        concurrency: 1,
        plan_file: "plan.json".into(),
    };
    run_with(fake, path, p, &opts).await
}

fn default_doc(fake: &FakeIam) -> Value {
    let s = fake.state();
    s.policies[P]
        .versions
        .iter()
        .find(|v| v.2)
        .map(|v| v.1.clone())
        .unwrap_or_default()
}

fn inline_doc(fake: &FakeIam) -> Value {
    fake.state().users["carol"].inline["own"].clone()
}

fn outcomes(r: &Report) -> Vec<Outcome> {
    r.actions.iter().map(|a| a.outcome).collect()
}

#[test]
fn the_plan_removes_the_unused_service_and_action_from_both_policies() {
    let acts = actions(&inventory());
    assert_eq!(acts.len(), 2);
    for a in &acts {
        assert_eq!(a.params_json()["document"], narrowed(), "{}", a.resource.id);
        assert_eq!(a.before_json()["unused_services"], json!(["sqs"]));
        assert_eq!(
            a.before_json()["unused_actions"],
            json!(["s3:PutObject", "sqs:*"])
        );
        assert_eq!(a.after_json()["document"], narrowed());
    }
    assert_eq!(acts[0].params_json()["policy_arn"], json!(P));
    assert_eq!(
        acts[0].precondition_json()["default_version_id"],
        json!("v1")
    );
    assert_eq!(acts[1].params_json()["owner"], json!("carol"));
    assert_eq!(acts[1].precondition_json()["owner_id"], json!("AIDACAROL"));
}

#[tokio::test]
async fn apply_narrows_both_and_undo_restores_both() {
    let fake = FakeIam::new(account());
    let (_d, path) = journal_path();
    let p = plan(actions(&inventory()));
    let r = run(&fake, &path, &p).await;
    assert_eq!(outcomes(&r), [Outcome::Applied, Outcome::Applied], "{r:?}");
    assert_eq!(fake.call_names(), ["CreatePolicyVersion", "PutUserPolicy"]);
    assert_eq!(default_doc(&fake), narrowed());
    assert_eq!(inline_doc(&fake), narrowed());

    // A second run finds both in the planned state and sends nothing.
    let n = fake.calls().len();
    let again = run(&fake, &path, &p).await;
    assert_eq!(again.summary.applied, 0, "{again:?}");
    assert_eq!(fake.calls().len(), n);

    let u = undo_all(&fake, &path).await;
    assert_eq!(u.summary.applied, 2, "{u:?}");
    assert_eq!(
        &fake.call_names()[n..],
        [
            "PutUserPolicy",
            "SetDefaultPolicyVersion",
            "DeletePolicyVersion"
        ]
    );
    assert_eq!(default_doc(&fake), broad());
    let versions: Vec<String> = fake.state().policies[P]
        .versions
        .iter()
        .map(|v| v.0.clone())
        .collect();
    assert_eq!(versions, ["v1"], "the narrowed version is gone");
    assert_eq!(inline_doc(&fake), broad());
}

#[tokio::test]
async fn an_account_already_narrowed_is_already_applied() {
    let mut s = account();
    s.policies
        .insert(P.into(), FakePolicy::with_document("ANPABROAD", narrowed()));
    s.users
        .get_mut("carol")
        .map(|u| u.inline.insert("own".into(), narrowed()));
    let fake = FakeIam::new(s);
    let (_d, path) = journal_path();
    let r = run(&fake, &path, &plan(actions(&inventory()))).await;
    assert_eq!(
        outcomes(&r),
        [Outcome::AlreadyApplied, Outcome::AlreadyApplied],
        "{r:?}"
    );
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn a_policy_changed_since_the_plan_is_stale() {
    let mut s = account();
    let other = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]});
    if let Some(p) = s.policies.get_mut(P) {
        p.versions = vec![
            ("v1".into(), broad(), false),
            ("v2".into(), other.clone(), true),
        ];
        p.next_version = 3;
    }
    s.users
        .get_mut("carol")
        .map(|u| u.inline.insert("own".into(), other.clone()));
    let fake = FakeIam::new(s);
    let (_d, path) = journal_path();
    let r = run(&fake, &path, &plan(actions(&inventory()))).await;
    assert_eq!(outcomes(&r), [Outcome::Stale, Outcome::Stale], "{r:?}");
    assert!(
        r.actions[0].detail.contains("v2"),
        "{}",
        r.actions[0].detail
    );
    assert!(fake.calls().is_empty());
    assert_eq!(inline_doc(&fake), other);
}

#[tokio::test]
async fn a_run_killed_after_its_calls_resumes_without_a_second_version_and_undo_still_works() {
    let fake = FakeIam::new(account());
    let (_d, path) = journal_path();
    let p = plan(actions(&inventory()));
    let r = run(&fake, &path, &p).await;
    assert_eq!(r.summary.applied, 2, "{r:?}");
    // The process died right after sending each call: keep the journal up to the last
    // `call` record (no result, no done).
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let last_call = lines
        .iter()
        .rposition(|l| l.contains("\"record\":\"call\""))
        .unwrap_or_else(|| panic!("no call record:\n{text}"));
    let cut: String = lines
        .iter()
        .take(last_call + 1)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&path, cut).unwrap_or_else(|e| panic!("{e}"));
    let n = fake.calls().len();

    let second = run(&fake, &path, &p).await;
    assert!(
        second
            .actions
            .iter()
            .all(|a| matches!(a.outcome, Outcome::Applied | Outcome::AlreadyApplied)),
        "{second:?}"
    );
    assert_eq!(fake.calls().len(), n, "the resumed run sent nothing again");
    assert_eq!(
        fake.state().policies[P].versions.len(),
        2,
        "one new version only"
    );

    let u = undo_all(&fake, &path).await;
    assert_eq!(u.summary.failed, 0, "{u:?}");
    assert_eq!(default_doc(&fake), broad());
    assert_eq!(inline_doc(&fake), broad());
    assert_eq!(
        fake.state().policies[P].versions.len(),
        1,
        "{:?}",
        fake.state().policies[P].versions
    );
}

#[tokio::test]
async fn a_policy_with_five_versions_loses_its_oldest_other_version_and_undo_recreates_it() {
    let mut inv = inventory();
    let mut s = account();
    if let (Some(mp), Some(fp)) = (inv.managed_policies.get_mut(0), s.policies.get_mut(P)) {
        for n in 2..=5 {
            let doc = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": format!("s3:Get{n}"), "Resource": "*"}]});
            mp.versions.push(PolicyVersion {
                version_id: format!("v{n}"),
                is_default: false,
                created_at: Some(at(300 - n)),
                document: doc.clone(),
            });
            fp.versions.push((format!("v{n}"), doc, false));
        }
        fp.next_version = 6;
    }
    let acts = actions(&inv);
    assert_eq!(acts[0].params_json()["delete_version_first"], json!("v2"));
    let fake = FakeIam::new(s);
    let (_d, path) = journal_path();
    let r = run(&fake, &path, &plan(vec![acts[0].clone()])).await;
    assert_eq!(r.summary.applied, 1, "{r:?}");
    assert_eq!(
        fake.call_names(),
        ["DeletePolicyVersion", "CreatePolicyVersion"]
    );
    let u = undo_all(&fake, &path).await;
    assert_eq!(u.summary.applied, 1, "{u:?}");
    assert_eq!(default_doc(&fake), broad());
    assert!(fake.state().policies[P]
        .versions
        .iter()
        .any(|v| v.1["Statement"][0]["Action"] == json!("s3:Get2")));
}
