//! `rotate_access_key` against the in-memory IAM and Secrets Manager
//! ([`crate::iam::fake`]): phase one's hand-off, phase two's deactivation, stale plans, an
//! already-applied rotation, undo of both phases, a run killed before its `done` record, an
//! unanswered `CreateAccessKey`, a secret write that fails; and that the key's secret is in
//! the secret only, never in the journal or the report.

use crate::apply::fake_runs::{journal_path, run_with, undo_all};
use crate::apply::tests::{action, plan, with_part};
use crate::apply::{Options, Outcome, Report};
use crate::iam::fake::{Answer, FakeIam, FakeSecret, FakeUser, State};
use crate::inventory::ResourceKind;
use crate::plan::{Action, Plan};
use crate::spec::StepName;
use crate::steps::rotate::{TAG_NEW, TAG_OLD};
use crate::steps::Part;
use serde_json::{json, Value};
use std::path::Path;

const SECRET: &str = "iamwarden/alice";

fn opts() -> Options {
    Options {
        allow_destructive: false,
        max_actions: None,
        max_plan_age: chrono::Duration::hours(1),
        concurrency: 1,
        plan_file: "plan.json".into(),
    }
}

async fn run(fake: &FakeIam, path: &Path, p: &Plan) -> Report {
    run_with(fake, path, p, &opts()).await
}

fn account() -> State {
    let mut s = State::default();
    s.users.insert(
        "alice".into(),
        FakeUser {
            id: "AIDAALICE".into(),
            keys: vec![("AKIAOLD".into(), "Active".into())],
            ..FakeUser::default()
        },
    );
    s
}

fn phase_one() -> Action {
    let a = action(
        StepName::RotateAccessKey,
        ResourceKind::AccessKey,
        "AKIAOLD",
        "AKIAOLD",
        json!({"user": "alice", "phase": "create_new_key", "secret_name": SECRET}),
    );
    with_part(
        a,
        Part::Precondition,
        json!({
            "user": "alice", "user_id": "AIDAALICE", "status": "Active",
            "last_used_at": null, "keys": ["AKIAOLD"],
        }),
    )
}

fn phase_two(new: &str) -> Action {
    let mut a = action(
        StepName::RotateAccessKey,
        ResourceKind::AccessKey,
        "AKIAOLD",
        "AKIAOLD",
        json!({"user": "alice", "phase": "deactivate_old_key", "secret_name": SECRET, "new_key": new}),
    );
    a.id = "act-phase-two".into();
    with_part(
        a,
        Part::Precondition,
        json!({
            "user": "alice", "user_id": "AIDAALICE", "status": "Active",
            "last_used_at": null, "keys": ["AKIAOLD", new],
        }),
    )
}

fn outcome(r: &Report, id: &str) -> (Outcome, String) {
    let a = r.actions.iter().find(|a| a.id == id).unwrap();
    (a.outcome, a.detail.clone())
}

fn keys(fake: &FakeIam) -> Vec<(String, String)> {
    fake.state().users["alice"].keys.clone()
}

/// The new key's secret as the fake handed it out, from the secret's current value.
fn stored(fake: &FakeIam) -> Value {
    let s = fake.state();
    let text = s.secrets[SECRET]
        .current_value()
        .unwrap_or_default()
        .to_string();
    serde_json::from_str(&text).unwrap()
}

/// No secret access key the fake handed out appears in the journal or the report.
fn assert_no_secret(path: &Path, report: &Report) {
    let journal = std::fs::read_to_string(path).unwrap();
    let rep = serde_json::to_string(&serde_json::json!({
        "actions": report.actions.iter().map(|a| (&a.id, &a.detail)).collect::<Vec<_>>()
    }))
    .unwrap();
    for text in [&journal, &rep] {
        assert!(!text.contains("fake-secret-"), "a secret leaked: {text}");
    }
}

#[tokio::test]
async fn phase_one_hands_the_new_key_off_through_the_secret_only() {
    let fake = FakeIam::new(account());
    let (_d, path) = journal_path();
    let r = run(&fake, &path, &plan(vec![phase_one()])).await;
    assert_eq!(outcome(&r, "act-AKIAOLD").0, Outcome::Applied, "{r:?}");
    let ks = keys(&fake);
    assert_eq!(ks.len(), 2);
    let new = ks[1].0.clone();
    assert_eq!(ks[0], ("AKIAOLD".into(), "Active".into()));
    let v = stored(&fake);
    assert_eq!(v["AccessKeyId"], new.as_str());
    assert!(v["SecretAccessKey"]
        .as_str()
        .unwrap()
        .starts_with("fake-secret-"));
    let s = fake.state();
    assert_eq!(s.secrets[SECRET].tags["iamwarden:user"], "alice");
    assert_eq!(s.secrets[SECRET].tags["iamwarden:old-key"], "AKIAOLD");
    let tags = &s.users["alice"].tags;
    assert_eq!(tags[TAG_OLD], "AKIAOLD");
    assert_eq!(tags[TAG_NEW], new);
    assert_eq!(
        fake.call_names(),
        ["CreateAccessKey", "CreateSecret", "TagUser"]
    );
    assert_no_secret(&path, &r);
    // The journal names what was created: the key id and the secret's ARN and version.
    let journal = std::fs::read_to_string(&path).unwrap();
    assert!(
        journal.contains(&format!("\"AccessKeyId\":\"{new}\"")),
        "{journal}"
    );
    assert!(
        journal.contains("\"SecretString\":\"<redacted>\""),
        "{journal}"
    );
    assert!(journal.contains("\"VersionId\":\"ver-1\""), "{journal}");
}

#[tokio::test]
async fn phase_one_is_stale_when_the_user_got_another_key_since_the_plan() {
    let fake = FakeIam::new(account());
    fake.edit(|s| {
        if let Some(u) = s.users.get_mut("alice") {
            u.keys.push(("AKIAOTHER".into(), "Active".into()));
        }
    });
    let (_d, path) = journal_path();
    let r = run(&fake, &path, &plan(vec![phase_one()])).await;
    let (o, detail) = outcome(&r, "act-AKIAOLD");
    assert_eq!(o, Outcome::Stale);
    assert!(detail.contains("AKIAOTHER"), "{detail}");
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn a_rotation_in_place_is_already_applied() {
    let fake = FakeIam::new(account());
    let (_d, path) = journal_path();
    run(&fake, &path, &plan(vec![phase_one()])).await;
    let calls = fake.calls().len();
    // A fresh journal (another operator's run): the re-read sees the record and the new key.
    let (_d2, other) = journal_path();
    let r = run(&fake, &other, &plan(vec![phase_one()])).await;
    assert_eq!(outcome(&r, "act-AKIAOLD").0, Outcome::AlreadyApplied);
    assert_eq!(fake.calls().len(), calls);
}

#[tokio::test]
async fn undo_of_phase_one_deletes_the_new_key_and_the_secret_it_created() {
    let fake = FakeIam::new(account());
    let (_d, path) = journal_path();
    run(&fake, &path, &plan(vec![phase_one()])).await;
    let u = undo_all(&fake, &path).await;
    assert_eq!(u.summary.failed, 0, "{u:?}");
    assert_eq!(keys(&fake), [("AKIAOLD".to_string(), "Active".to_string())]);
    let s = fake.state();
    assert!(s.secrets.is_empty());
    assert!(!s.users["alice"].tags.contains_key(TAG_OLD));
    assert_no_secret(&path, &u);
}

#[tokio::test]
async fn undo_of_phase_one_on_an_existing_secret_restores_its_current_version() {
    let fake = FakeIam::new(account());
    fake.edit(|s| {
        s.secrets.insert(
            SECRET.into(),
            FakeSecret {
                arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:iamwarden/alice-X"
                    .into(),
                versions: vec![("v-old".into(), "{\"old\": true}".into())],
                current: Some("v-old".into()),
                ..FakeSecret::default()
            },
        );
    });
    let (_d, path) = journal_path();
    let r = run(&fake, &path, &plan(vec![phase_one()])).await;
    assert_eq!(outcome(&r, "act-AKIAOLD").0, Outcome::Applied);
    assert_eq!(
        fake.call_names(),
        [
            "CreateAccessKey",
            "PutSecretValue",
            "TagResource",
            "TagUser"
        ]
    );
    assert_eq!(stored(&fake)["AccessKeyId"], keys(&fake)[1].0.as_str());
    let u = undo_all(&fake, &path).await;
    assert_eq!(u.summary.failed, 0, "{u:?}");
    assert_eq!(
        fake.state().secrets[SECRET].current.as_deref(),
        Some("v-old")
    );
    assert_eq!(keys(&fake).len(), 1);
}

#[tokio::test]
async fn a_run_killed_before_its_done_record_is_completed_with_its_undo() {
    let fake = FakeIam::new(account());
    let (_d, path) = journal_path();
    let p = plan(vec![phase_one()]);
    run(&fake, &path, &p).await;
    // Cut the journal after the last call's result: the run was killed before `done`.
    let text = std::fs::read_to_string(&path).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .take_while(|l| !l.contains("\"done\""))
        .collect();
    std::fs::write(&path, format!("{}\n", kept.join("\n"))).unwrap();
    let calls = fake.calls().len();
    let r = run(&fake, &path, &p).await;
    let (o, detail) = outcome(&r, "act-AKIAOLD");
    assert_eq!(o, Outcome::Applied, "{detail}");
    assert!(detail.contains("interrupted"), "{detail}");
    assert_eq!(fake.calls().len(), calls, "no call made twice");
    let u = undo_all(&fake, &path).await;
    assert_eq!(u.summary.failed, 0, "{u:?}");
    assert_eq!(keys(&fake).len(), 1);
    assert!(fake.state().secrets.is_empty());
}

#[tokio::test]
async fn an_unanswered_create_access_key_is_resolved_by_rereading_the_keys() {
    let fake = FakeIam::new(account());
    // The key is created but the answer (with its secret) is lost.
    fake.answer("CreateAccessKey", Answer::Unknown { applied: true }, 1);
    let (_d, path) = journal_path();
    let r = run(&fake, &path, &plan(vec![phase_one()])).await;
    assert_eq!(outcome(&r, "act-AKIAOLD").0, Outcome::Applied, "{r:?}");
    // The orphan (its secret never received) was deleted, then one more key created.
    assert_eq!(
        fake.call_names(),
        [
            "CreateAccessKey",
            "DeleteAccessKey",
            "CreateAccessKey",
            "CreateSecret",
            "TagUser"
        ]
    );
    let ks = keys(&fake);
    assert_eq!(ks.len(), 2);
    assert_eq!(stored(&fake)["AccessKeyId"], ks[1].0.as_str());
    assert_no_secret(&path, &r);
}

#[tokio::test]
async fn a_failed_secret_write_takes_the_new_key_back() {
    let fake = FakeIam::new(account());
    fake.answer("CreateSecret", Answer::Refused("AccessDeniedException"), 1);
    let (_d, path) = journal_path();
    let r = run(&fake, &path, &plan(vec![phase_one()])).await;
    let (o, detail) = outcome(&r, "act-AKIAOLD");
    assert_eq!(o, Outcome::Failed);
    assert!(detail.contains("taken back"), "{detail}");
    assert_eq!(keys(&fake), [("AKIAOLD".to_string(), "Active".to_string())]);
    assert_eq!(
        fake.call_names(),
        ["CreateAccessKey", "CreateSecret", "DeleteAccessKey"]
    );
    assert_no_secret(&path, &r);
}

#[tokio::test]
async fn a_key_that_cannot_be_taken_back_is_named() {
    let fake = FakeIam::new(account());
    fake.answer("CreateSecret", Answer::Refused("AccessDeniedException"), 1);
    fake.answer("DeleteAccessKey", Answer::Refused("AccessDenied"), 1);
    let (_d, path) = journal_path();
    let r = run(&fake, &path, &plan(vec![phase_one()])).await;
    let (o, detail) = outcome(&r, "act-AKIAOLD");
    assert_eq!(o, Outcome::Failed);
    let new = keys(&fake)[1].0.clone();
    assert!(detail.contains(&format!("access key {new}")), "{detail}");
    assert!(detail.contains("delete-access-key"), "{detail}");
    // The journal names the key left behind.
    let journal = std::fs::read_to_string(&path).unwrap();
    assert!(
        journal.contains(&format!("\"AccessKeyId\":\"{new}\"")),
        "{journal}"
    );
    // A later run does not rotate on top of it: stale, and it says what to do.
    let (_d2, later) = journal_path();
    let again = run(&fake, &later, &plan(vec![phase_one()])).await;
    let (o, detail) = outcome(&again, "act-AKIAOLD");
    assert_eq!(o, Outcome::Stale);
    assert!(
        detail.contains(&new) && detail.contains("delete-access-key"),
        "{detail}"
    );
    assert_eq!(keys(&fake).len(), 2);
}

#[tokio::test]
async fn phase_two_deactivates_the_old_key_and_undo_reactivates_it() {
    let fake = FakeIam::new(account());
    let (_d, path) = journal_path();
    run(&fake, &path, &plan(vec![phase_one()])).await;
    let new = keys(&fake)[1].0.clone();
    // A later run: its own plan and journal.
    let (_d2, later) = journal_path();
    let two = plan(vec![phase_two(&new)]);
    let r = run(&fake, &later, &two).await;
    assert_eq!(outcome(&r, "act-phase-two").0, Outcome::Applied, "{r:?}");
    assert_eq!(keys(&fake)[0], ("AKIAOLD".into(), "Inactive".into()));
    // Again: already applied.
    let (_d3, other) = journal_path();
    let again = run(&fake, &other, &two).await;
    assert_eq!(outcome(&again, "act-phase-two").0, Outcome::AlreadyApplied);
    // Undo, newest first: the old key active again, then the new key and secret gone.
    let u = undo_all(&fake, &later).await;
    assert_eq!(u.summary.failed, 0, "{u:?}");
    assert_eq!(keys(&fake)[0], ("AKIAOLD".into(), "Active".into()));
    let u = undo_all(&fake, &path).await;
    assert_eq!(u.summary.failed, 0, "{u:?}");
    assert_eq!(keys(&fake), [("AKIAOLD".to_string(), "Active".to_string())]);
    assert!(fake.state().secrets.is_empty());
}

#[tokio::test]
async fn phase_two_is_stale_while_the_old_key_is_still_used() {
    let fake = FakeIam::new(account());
    let (_d, path) = journal_path();
    run(&fake, &path, &plan(vec![phase_one()])).await;
    let new = keys(&fake)[1].0.clone();
    fake.edit(|s| {
        s.key_last_used.insert("AKIAOLD".into(), chrono::Utc::now());
    });
    let (_d2, later) = journal_path();
    let r = run(&fake, &later, &plan(vec![phase_two(&new)])).await;
    let (o, detail) = outcome(&r, "act-phase-two");
    assert_eq!(o, Outcome::Stale);
    assert!(detail.contains("the old key was used"), "{detail}");
    assert_eq!(keys(&fake)[0].1, "Active");
}

#[tokio::test]
async fn phase_two_is_stale_when_the_new_key_is_gone() {
    let fake = FakeIam::new(account());
    let (_d, path) = journal_path();
    let r = run(&fake, &path, &plan(vec![phase_two("AKIAGONE")])).await;
    let (o, detail) = outcome(&r, "act-phase-two");
    assert_eq!(o, Outcome::Stale);
    assert!(detail.contains("AKIAGONE"), "{detail}");
}

#[tokio::test]
async fn the_self_lockout_guard_keeps_rotation_off_the_callers_own_key() {
    let fake = FakeIam::new(account());
    let (_d, path) = journal_path();
    let mut a = phase_two("AKIANEW");
    a.resource.id = "AKIACI".into();
    let r = run(&fake, &path, &plan(vec![a])).await;
    assert_eq!(outcome(&r, "act-phase-two").0, Outcome::Refused);
}
