//! Apply against the in-memory IAM ([`crate::iam::fake`]): cascade order, refusals that stop
//! a chain and its dependents, unanswered calls resolved by re-reading, resume, undo order,
//! and that the journal records exactly the calls sent.

use crate::apply::journal::{self, History, Journal, Mode, Record};
use crate::apply::tests::{plan, typed_action};
use crate::apply::{self, Caller, Executor, Options, Outcome, Report};
use crate::iam::fake::{Answer, FakeEntity, FakeIam, FakePolicy, FakeUser, State};
use crate::inventory::{KeyStatus, ResourceKind};
use crate::plan::{Action, Plan};
use crate::spec::StepName;
use crate::steps::access_keys::{DeletedKey, KeyParams, KeyPrecondition, StatusState};
use crate::steps::delete_user::{DeleteUserParams, DeleteUserPrecondition, DeletedUser};
use crate::steps::detach::{AttachedState, DetachActionParams, DetachPrecondition};
use crate::steps::groups::{MembershipParams, MembershipPrecondition, MembershipState};
use crate::steps::policy_versions::{
    KeptVersion, ReplaceActionParams, ReplaceBefore, VersionPrecondition, VersionState,
};
use crate::steps::tags::{TagParams, TagsPrecondition, TagsState};
use crate::steps::Empty;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const P1: &str = "arn:aws:iam::123456789012:policy/P1";
const MFA: &str = "arn:aws:iam::123456789012:mfa/bob";

/// The harness the fake-IAM run suites share (`rotate_runs`, `rightsize_runs` use it too).
pub(super) fn caller() -> Caller {
    Caller {
        arn: "arn:aws:iam::123456789012:user/ci".into(),
        account_id: "123456789012".into(),
        access_key_id: Some("AKIACI".into()),
    }
}

pub(super) fn opts() -> Options {
    Options {
        allow_destructive: true,
        max_actions: None,
        max_plan_age: chrono::Duration::hours(1),
        concurrency: 2,
        plan_file: "plan.json".into(),
    }
}

pub(super) fn exec(fake: &FakeIam, path: &Path, mode: Mode) -> Executor<FakeIam> {
    let j = Arc::new(Journal::open(path).unwrap());
    Executor::over(fake.clone(), j, mode)
        .with_settle(std::time::Duration::ZERO)
        .with_backoff_ms(0)
}

async fn run(fake: &FakeIam, path: &Path, p: &Plan) -> Report {
    run_with(fake, path, p, &opts()).await
}

/// Applies `p` against `fake`, resuming from what the journal at `path` holds.
pub(super) async fn run_with(fake: &FakeIam, path: &Path, p: &Plan, opts: &Options) -> Report {
    let records = journal::read(path).unwrap_or_default();
    let history: History = journal::history(path, &records, Some(&p.content_sha256)).unwrap();
    let x = exec(fake, path, Mode::Apply);
    apply::run(p, opts, &x, &caller(), &history, None)
        .await
        .unwrap()
}

pub(super) fn journal_path() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    (dir, path)
}

fn bob() -> FakeUser {
    FakeUser {
        id: "AIDABOB".into(),
        keys: vec![("AKIABOB".into(), "Active".into())],
        login_profile: Some((None, false)),
        mfa: vec![(MFA.into(), None)],
        groups: vec!["devs".into()],
        attached: vec![P1.into()],
        inline: [("p".to_string(), json!({"Statement": []}))].into(),
        boundary: Some(P1.into()),
        certificates: vec!["CERT1".into()],
        ssh_keys: vec!["APKA1".into()],
        service_credentials: vec!["ACCA1".into()],
        ..FakeUser::default()
    }
}

pub(super) fn account() -> State {
    let mut s = State::default();
    s.users.insert("bob".into(), bob());
    s.users.insert(
        "alice".into(),
        FakeUser {
            id: "AIDAALICE".into(),
            keys: vec![("AKIA1".into(), "Active".into())],
            groups: vec!["devs".into()],
            attached: vec![P1.into()],
            ..FakeUser::default()
        },
    );
    s.groups.insert(
        "devs".into(),
        FakeEntity {
            id: "AGPADEVS".into(),
            ..FakeEntity::default()
        },
    );
    s.policies.insert(
        P1.into(),
        FakePolicy::with_document("ANPAP1", json!({"Statement": []})),
    );
    s.virtual_mfa.insert(MFA.into());
    s
}

fn strings(xs: &[&str]) -> Vec<String> {
    xs.iter().map(|x| x.to_string()).collect()
}

pub(super) fn delete_bob() -> Action {
    typed_action(
        StepName::DeleteUser,
        ResourceKind::User,
        "AIDABOB",
        "bob",
        &DeleteUserParams {
            user: "bob".into(),
            permissions_boundary: Some(P1.into()),
        },
        &DeleteUserPrecondition {
            user_id: "AIDABOB".into(),
            created_at: None,
            in_use_since: None,
        },
        &DeletedUser {
            user: "bob".into(),
            groups: strings(&["devs"]),
            access_keys: strings(&["AKIABOB"]),
            attached_policies: strings(&[P1]),
            inline_policies: strings(&["p"]),
        },
        &(),
    )
}

/// A key step's precondition: the key active and never used, as the plan saw it.
fn key_pre(user: &str, user_id: &str) -> KeyPrecondition {
    KeyPrecondition {
        user: user.into(),
        status: KeyStatus::Active,
        last_used_at: None,
        user_id: Some(user_id.into()),
    }
}

pub(super) fn deactivate_alice_key() -> Action {
    typed_action(
        StepName::DeactivateAccessKey,
        ResourceKind::AccessKey,
        "AKIA1",
        "AKIA1",
        &KeyParams {
            user: "alice".into(),
        },
        &key_pre("alice", "AIDAALICE"),
        &StatusState {
            status: KeyStatus::Active,
        },
        &StatusState {
            status: KeyStatus::Inactive,
        },
    )
}

fn delete_bob_key() -> Action {
    typed_action(
        StepName::DeleteAccessKey,
        ResourceKind::AccessKey,
        "AKIABOB",
        "AKIABOB",
        &KeyParams { user: "bob".into() },
        &key_pre("bob", "AIDABOB"),
        &DeletedKey {
            status: KeyStatus::Active,
            created_at: None,
            last_used_at: None,
        },
        &(),
    )
}

/// `remove_user_from_group` of `user` (id `user_id`) from `group`, on `kind` `name`.
pub(super) fn leave(id: &str, kind: ResourceKind, name: &str, user: &str, user_id: &str) -> Action {
    typed_action(
        StepName::RemoveUserFromGroup,
        kind,
        id,
        name,
        &MembershipParams {
            user: user.into(),
            group: "devs".into(),
        },
        &MembershipPrecondition {
            member: true,
            user_id: Some(user_id.into()),
        },
        &MembershipState {
            group_membership: "devs".into(),
        },
        &Empty {},
    )
}

fn outcome(r: &Report, id: &str) -> (Outcome, String) {
    let a = r.actions.iter().find(|a| a.id == id).unwrap();
    (a.outcome, a.detail.clone())
}

fn key_status(fake: &FakeIam, user: &str, key: &str) -> String {
    fake.state().users[user]
        .keys
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, s)| s.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn delete_user_removes_everything_first_in_aws_order() {
    let fake = FakeIam::new(account());
    let (_d, path) = journal_path();
    let r = run(&fake, &path, &plan(vec![delete_bob()])).await;
    assert_eq!(outcome(&r, "act-AIDABOB").0, Outcome::Applied, "{r:?}");
    assert_eq!(
        fake.call_names(),
        [
            "DeleteLoginProfile",
            "DeleteAccessKey",
            "DeleteSigningCertificate",
            "DeleteSSHPublicKey",
            "DeleteServiceSpecificCredential",
            "DeactivateMFADevice",
            "DeleteVirtualMFADevice",
            "RemoveUserFromGroup",
            "DetachUserPolicy",
            "DeleteUserPolicy",
            "DeleteUserPermissionsBoundary",
            "DeleteUser",
        ]
    );
    let s = fake.state();
    assert!(!s.users.contains_key("bob"));
    assert!(!s.virtual_mfa.contains(MFA));
}

#[tokio::test]
async fn a_refused_call_stops_the_cascade_and_the_actions_that_depend_on_it() {
    let fake = FakeIam::new(account());
    fake.answer("RemoveUserFromGroup", Answer::Refused("AccessDenied"), 1);
    let (_d, path) = journal_path();
    let mut leave = leave("bob-devs", ResourceKind::User, "bob", "bob", "AIDABOB");
    leave.part_of = Some("act-AIDABOB".into());
    let mut del = delete_bob();
    del.depends_on = vec![leave.id.clone()];
    let r = run(&fake, &path, &plan(vec![leave, del])).await;
    let (o, detail) = outcome(&r, "act-bob-devs");
    assert_eq!(o, Outcome::Failed);
    assert!(
        detail.contains("RemoveUserFromGroup was refused by IAM")
            && detail.contains("iam:RemoveUserFromGroup"),
        "{detail}"
    );
    let (o, detail) = outcome(&r, "act-AIDABOB");
    assert_eq!(o, Outcome::Failed);
    assert!(
        detail.contains("prerequisite act-bob-devs was failed"),
        "{detail}"
    );
    assert_eq!(fake.call_names(), ["RemoveUserFromGroup"]);
    assert!(fake.state().users.contains_key("bob"));

    // Inside one cascade, a refused call stops the calls after it.
    let fake = FakeIam::new(account());
    fake.answer("DeleteAccessKey", Answer::Refused("AccessDenied"), 1);
    let (_d, path) = journal_path();
    let r = run(&fake, &path, &plan(vec![delete_bob()])).await;
    assert_eq!(outcome(&r, "act-AIDABOB").0, Outcome::Failed);
    assert_eq!(fake.call_names(), ["DeleteLoginProfile", "DeleteAccessKey"]);
    assert_eq!(r.summary.failed, 1);
}

#[tokio::test]
async fn an_unanswered_call_that_landed_is_applied_by_the_re_read() {
    let fake = FakeIam::new(account());
    fake.answer("UpdateAccessKey", Answer::Unknown { applied: true }, 1);
    let (_d, path) = journal_path();
    let r = run(&fake, &path, &plan(vec![deactivate_alice_key()])).await;
    let (o, detail) = outcome(&r, "act-AKIA1");
    assert_eq!(o, Outcome::Applied);
    assert!(
        detail.contains("re-read shows the planned state: applied"),
        "{detail}"
    );
    assert_eq!(
        fake.call_names(),
        ["UpdateAccessKey"],
        "sent once, never twice"
    );
    assert_eq!(key_status(&fake, "alice", "AKIA1"), "Inactive");
}

#[tokio::test]
async fn an_unanswered_call_that_did_not_land_is_sent_once_more_then_left_open() {
    let fake = FakeIam::new(account());
    fake.answer("UpdateAccessKey", Answer::Unknown { applied: false }, 1);
    let (_d, path) = journal_path();
    let r = run(&fake, &path, &plan(vec![deactivate_alice_key()])).await;
    let (o, detail) = outcome(&r, "act-AKIA1");
    assert_eq!(o, Outcome::Applied, "{detail}");
    assert!(detail.contains("not applied, sent once more"), "{detail}");
    assert_eq!(fake.call_names(), ["UpdateAccessKey", "UpdateAccessKey"]);
    assert_eq!(key_status(&fake, "alice", "AKIA1"), "Inactive");

    // Unanswered twice, not applied: failed, and the action stays open in the journal.
    let fake = FakeIam::new(account());
    fake.answer("UpdateAccessKey", Answer::Unknown { applied: false }, 2);
    let (_d, path) = journal_path();
    let r = run(&fake, &path, &plan(vec![deactivate_alice_key()])).await;
    let (o, detail) = outcome(&r, "act-AKIA1");
    assert_eq!(o, Outcome::Failed);
    assert!(detail.contains("stays open in the journal"), "{detail}");
    let records = journal::read(&path).unwrap();
    assert!(!records
        .iter()
        .any(|r| matches!(r, Record::Done { action, .. } if action == "act-AKIA1")));
    assert_eq!(key_status(&fake, "alice", "AKIA1"), "Active");
}

#[tokio::test]
async fn answers_that_prove_nothing_changed_are_resent() {
    let fake = FakeIam::new(account());
    fake.answer("UpdateAccessKey", Answer::Throttled, 2);
    fake.answer("DeleteAccessKey", Answer::NotSent, 6);
    let (_d, path) = journal_path();
    let del = delete_bob_key();
    let r = run(&fake, &path, &plan(vec![deactivate_alice_key(), del])).await;
    assert_eq!(outcome(&r, "act-AKIA1").0, Outcome::Applied);
    // Never sent: resent up to the dispatcher's limit, then failed as not sent.
    let (o, detail) = outcome(&r, "act-AKIABOB");
    assert_eq!(o, Outcome::Failed);
    assert!(detail.contains("the request was not sent"), "{detail}");
    let names = fake.call_names();
    assert_eq!(names.iter().filter(|n| **n == "UpdateAccessKey").count(), 3);
    assert_eq!(
        names.iter().filter(|n| **n == "DeleteAccessKey").count(),
        crate::apply::dispatch::MAX_ATTEMPTS as usize
    );
    let resent = journal::read(&path)
        .unwrap()
        .iter()
        .filter(|r| matches!(r, Record::Result { error: Some(e), .. } if e.contains("sending it again")))
        .count();
    assert_eq!(resent, 2 + 5);
}

#[tokio::test]
async fn a_second_run_resumes_a_partly_applied_plan() {
    let fake = FakeIam::new(account());
    fake.answer("RemoveUserFromGroup", Answer::Unknown { applied: false }, 2);
    let (_d, path) = journal_path();
    let leave = leave(
        "alice-devs",
        ResourceKind::Group,
        "devs",
        "alice",
        "AIDAALICE",
    );
    let p = plan(vec![deactivate_alice_key(), leave]);
    let first = run(&fake, &path, &p).await;
    assert_eq!(outcome(&first, "act-AKIA1").0, Outcome::Applied);
    assert_eq!(outcome(&first, "act-alice-devs").0, Outcome::Failed);
    let calls_before = fake.calls().len();

    let second = run(&fake, &path, &p).await;
    let (o, detail) = outcome(&second, "act-AKIA1");
    assert_eq!(o, Outcome::AlreadyApplied);
    assert!(detail.contains("earlier run"), "{detail}");
    assert_eq!(outcome(&second, "act-alice-devs").0, Outcome::Applied);
    // The second run made only the one call still to make.
    assert_eq!(&fake.call_names()[calls_before..], ["RemoveUserFromGroup"]);
    assert!(fake.state().users["alice"].groups.is_empty());
    // Its undo comes from the first run's begin record.
    let undo = apply::undo::plan_undo(&path).unwrap();
    let ops: Vec<_> = undo.entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(ops, ["act-alice-devs", "act-AKIA1"]);
}

#[tokio::test]
async fn undo_replays_the_reverse_calls_newest_first() {
    let fake = FakeIam::new(account());
    let (_d, path) = journal_path();
    let detach = typed_action(
        StepName::DetachUserPolicy,
        ResourceKind::User,
        "alice-p1",
        "alice",
        &DetachActionParams {
            user_name: Some("alice".into()),
            group_name: None,
            role_name: None,
            policy_arn: P1.into(),
        },
        &DetachPrecondition {
            attached: true,
            user_id: Some("AIDAALICE".into()),
            group_id: None,
            role_id: None,
        },
        &AttachedState {
            attached_policy: P1.into(),
        },
        &Empty {},
    );
    let leave = leave(
        "alice-devs",
        ResourceKind::User,
        "alice",
        "alice",
        "AIDAALICE",
    );
    let tags = |pairs: &[(&str, &str)]| -> crate::steps::tags::TagMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect()
    };
    let tag = typed_action(
        StepName::Tag,
        ResourceKind::User,
        "alice-tag",
        "alice",
        &TagParams {
            tags: tags(&[("owner", "sec")]),
        },
        &TagsPrecondition {
            tags: tags(&[]),
            user_id: Some("AIDAALICE".into()),
            role_id: None,
            policy_id: None,
        },
        &TagsState { tags: tags(&[]) },
        &TagsState {
            tags: tags(&[("owner", "sec")]),
        },
    );
    let p = plan(vec![detach, leave, tag]);
    let r = run(&fake, &path, &p).await;
    assert_eq!(r.summary.applied, 3, "{r:?}");
    let applied = fake.call_names();
    assert_eq!(
        applied,
        ["DetachUserPolicy", "RemoveUserFromGroup", "TagUser"]
    );

    let undo = apply::undo::plan_undo(&path).unwrap();
    let x = exec(&fake, &path, Mode::Undo);
    let u = apply::undo::run(&undo, &x, &caller(), "journal.jsonl", None)
        .await
        .unwrap();
    assert_eq!(u.summary.applied, 3, "{u:?}");
    assert_eq!(
        &fake.call_names()[applied.len()..],
        ["UntagUser", "AddUserToGroup", "AttachUserPolicy"]
    );
    let alice = &fake.state().users["alice"];
    assert_eq!(alice.attached, [P1]);
    assert_eq!(alice.groups, ["devs"]);
    assert!(alice.tags.is_empty());

    // A second undo reverses nothing twice.
    let n = fake.calls().len();
    let undo = apply::undo::plan_undo(&path).unwrap();
    let u = apply::undo::run(&undo, &x, &caller(), "journal.jsonl", None)
        .await
        .unwrap();
    assert_eq!(u.summary.already_applied, 3);
    assert_eq!(fake.calls().len(), n);
}

#[tokio::test]
async fn the_journal_records_exactly_the_calls_sent() {
    let fake = FakeIam::new(account());
    fake.answer("DeleteAccessKey", Answer::Throttled, 1);
    let (_d, path) = journal_path();
    let r = run(
        &fake,
        &path,
        &plan(vec![deactivate_alice_key(), delete_bob()]),
    )
    .await;
    assert_eq!(r.summary.applied, 2, "{r:?}");
    let journaled: Vec<(String, Value)> = journal::read(&path)
        .unwrap()
        .into_iter()
        .filter_map(|r| match r {
            Record::Call { call, request, .. } => Some((call, request)),
            _ => None,
        })
        .collect();
    let sent = fake.calls();
    assert_eq!(journaled.len(), sent.len());
    // The two subjects run concurrently: compare as multisets of (call, request).
    let mut want: Vec<(String, String)> = sent
        .iter()
        .map(|c| {
            let (name, request) = c.journal_parts();
            assert_eq!(name, c.name(), "the journal's call name is the operation's");
            (name, request.to_string())
        })
        .collect();
    let mut got: Vec<(String, String)> = journaled
        .into_iter()
        .map(|(c, r)| (c, r.to_string()))
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    assert!(got.iter().any(|(c, r)| c == "UpdateAccessKey"
        && r == r#"{"UserName":"alice","AccessKeyId":"AKIA1","Status":"Inactive"}"#));
}

#[tokio::test]
async fn a_new_default_version_makes_room_and_undo_restores_the_old_default() {
    let mut s = account();
    let p = s.policies.get_mut(P1).unwrap();
    for n in 2..=5 {
        p.versions.push((format!("v{n}"), json!({"n": n}), false));
    }
    p.next_version = 6;
    let fake = FakeIam::new(s);
    let (_d, path) = journal_path();
    let new = json!({"Statement": ["new"]});
    let a = typed_action(
        StepName::ReplacePolicyDocument,
        ResourceKind::ManagedPolicy,
        "ANPAP1",
        "P1",
        &ReplaceActionParams {
            policy_arn: P1.into(),
            document: new.clone(),
            delete_version_first: Some("v2".into()),
        },
        &VersionPrecondition {
            default_version_id: "v1".into(),
            policy_id: Some("ANPAP1".into()),
        },
        &ReplaceBefore {
            default_version_id: "v1".into(),
            document: json!({"Statement": []}),
            deleted_version: Some(KeptVersion {
                version_id: "v2".into(),
                document: json!({"n": 2}),
            }),
        },
        &VersionState {
            default_version_id: "(new)".into(),
            document: new,
        },
    );
    let r = run(&fake, &path, &plan(vec![a])).await;
    assert_eq!(r.summary.applied, 1, "{r:?}");
    // v1 is the default: the oldest other one (v2) goes to make room.
    assert_eq!(
        fake.call_names(),
        ["DeletePolicyVersion", "CreatePolicyVersion"]
    );
    let versions: Vec<String> = fake.state().policies[P1]
        .versions
        .iter()
        .map(|v| v.0.clone())
        .collect();
    assert_eq!(versions, ["v1", "v3", "v4", "v5", "v6"]);

    let undo = apply::undo::plan_undo(&path).unwrap();
    let x = exec(&fake, &path, Mode::Undo);
    let u = apply::undo::run(&undo, &x, &caller(), "journal.jsonl", None)
        .await
        .unwrap();
    assert_eq!(u.summary.applied, 1, "{u:?}");
    assert_eq!(
        &fake.call_names()[2..],
        [
            "SetDefaultPolicyVersion",
            "DeletePolicyVersion",
            "CreatePolicyVersion"
        ]
    );
    let p = &fake.state().policies[P1];
    let default: Vec<&str> = p
        .versions
        .iter()
        .filter(|v| v.2)
        .map(|v| v.0.as_str())
        .collect();
    assert_eq!(default, ["v1"]);
    assert!(
        p.versions.iter().any(|v| v.1 == json!({"n": 2})),
        "v2's document is back"
    );
}

/// A `null` last use ("never used") and a field an old plan lacks are two things: the first
/// is checked against IAM's last use, the second refused as a malformed plan naming the
/// action and the field, never read as "never used".
#[tokio::test]
async fn a_null_last_use_is_never_used_and_a_missing_one_is_a_plan_error() {
    use crate::steps::live::check;
    use crate::steps::login_profile::{ProfileParams, ProfilePrecondition, ResetState};
    let (_d, path) = journal_path();
    let x = exec(&FakeIam::new(account()), &path, Mode::Apply);

    // `null`, and IAM has no use either: proceed.
    let a = deactivate_alice_key();
    assert_eq!(a.precondition_json()["last_used_at"], Value::Null);
    assert!(matches!(
        check(&x, &a).await,
        Ok(crate::steps::Check::Proceed(_))
    ));

    // `null`, but the key has been used since: stale.
    let mut s = account();
    let used = chrono::DateTime::parse_from_rfc3339("2026-11-30T10:00:00Z")
        .unwrap()
        .to_utc();
    s.key_last_used.insert("AKIA1".into(), used);
    let used_x = exec(&FakeIam::new(s), &path, Mode::Apply);
    match check(&used_x, &a).await {
        Ok(crate::steps::Check::Stale(why)) => {
            assert!(why.contains("used at 2026-11-30T10:00:00Z"), "{why}")
        }
        other => panic!("a key used since a never-used plan is stale: {other:?}"),
    }

    // Missing: the plan is refused when it is read, naming the action, the part and the
    // field, for both kinds of credential.
    let without = |a: &Action, field: &str| {
        let mut raw = serde_json::to_value(a).unwrap();
        raw["precondition"].as_object_mut().unwrap().remove(field);
        serde_json::from_value::<Action>(raw)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    match without(&a, "last_used_at") {
        Err(m) => assert!(
            m.contains("act-AKIA1") && m.contains("`precondition`") && m.contains("`last_used_at`"),
            "{m}"
        ),
        Ok(()) => panic!("a missing last use is a plan error"),
    }
    let reset = typed_action(
        StepName::RequirePasswordReset,
        ResourceKind::LoginProfile,
        "bob",
        "bob",
        &ProfileParams { user: "bob".into() },
        &ProfilePrecondition {
            user: "bob".into(),
            created_at: None,
            password_reset_required: false,
            password_last_used_at: None,
            user_id: Some("AIDABOB".into()),
        },
        &ResetState {
            password_reset_required: false,
        },
        &ResetState {
            password_reset_required: true,
        },
    );
    assert!(matches!(
        check(&x, &reset).await,
        Ok(crate::steps::Check::Proceed(_))
    ));
    match without(&reset, "password_last_used_at") {
        Err(m) => assert!(
            m.contains("act-bob") && m.contains("`password_last_used_at`"),
            "{m}"
        ),
        Ok(()) => panic!("a missing password last use is a plan error"),
    }
}

// ---- enforce_mfa and quarantine_role (issue 14) ------------------------------------------

const MFA_POLICY: &str = crate::steps::enforce_mfa::ENFORCE_MFA_POLICY_NAME;

/// `carol`: a console user with no key and no MFA; the role `deploy` and a service-linked one.
fn mfa_account() -> State {
    let mut s = account();
    s.users.insert(
        "carol".into(),
        FakeUser {
            id: "AIDACAROL".into(),
            login_profile: Some((None, false)),
            ..FakeUser::default()
        },
    );
    s.roles.insert(
        "deploy".into(),
        FakeEntity {
            id: "AROADEPLOY".into(),
            path: "/".into(),
            ..FakeEntity::default()
        },
    );
    s.roles.insert(
        "AWSServiceRoleForSupport".into(),
        FakeEntity {
            id: "AROASUPPORT".into(),
            path: "/aws-service-role/support.amazonaws.com/".into(),
            ..FakeEntity::default()
        },
    );
    s
}

fn enforce_mfa_carol() -> Action {
    use crate::steps::enforce_mfa::{
        enforce_mfa_document, EnforceMfaActionParams, EnforceMfaPrecondition, EnforcedState,
    };
    typed_action(
        StepName::EnforceMfa,
        ResourceKind::User,
        "AIDACAROL",
        "carol",
        &EnforceMfaActionParams {
            user: "carol".into(),
            policy_name: MFA_POLICY.into(),
            document: enforce_mfa_document(),
        },
        &EnforceMfaPrecondition {
            inline_policy_absent: MFA_POLICY.into(),
            no_active_keys: true,
            user_id: Some("AIDACAROL".into()),
        },
        &crate::steps::Empty {},
        &EnforcedState {
            inline_policy: MFA_POLICY.into(),
            effect: "Deny all but MFA self-service unless aws:MultiFactorAuthPresent".into(),
        },
    )
}

fn quarantine_role(name: &str, id: &str) -> Action {
    use crate::steps::quarantine::{
        quarantine_document, QuarantineRoleActionParams, QuarantineRolePrecondition,
        QuarantinedState,
    };
    typed_action(
        StepName::QuarantineRole,
        ResourceKind::Role,
        id,
        name,
        &QuarantineRoleActionParams {
            role_name: name.into(),
            policy_name: "iamwarden-quarantine".into(),
            document: quarantine_document().into(),
        },
        &QuarantineRolePrecondition {
            inline_policy_absent: "iamwarden-quarantine".into(),
            not_service_linked: true,
            role_id: Some(id.into()),
        },
        &crate::steps::Empty {},
        &QuarantinedState {
            inline_policy: "iamwarden-quarantine".into(),
            effect: "Deny *:* on *".into(),
        },
    )
}

/// Undoes everything the journal at `path` holds.
pub(super) async fn undo_all(fake: &FakeIam, path: &Path) -> Report {
    let undo = apply::undo::plan_undo(path).unwrap();
    let x = exec(fake, path, Mode::Undo);
    apply::undo::run(&undo, &x, &caller(), "journal.jsonl", None)
        .await
        .unwrap()
}

#[tokio::test]
async fn enforce_mfa_attaches_the_policy_and_undo_deletes_it() {
    let fake = FakeIam::new(mfa_account());
    let (_d, path) = journal_path();
    let r = run(&fake, &path, &plan(vec![enforce_mfa_carol()])).await;
    assert_eq!(outcome(&r, "act-AIDACAROL").0, Outcome::Applied, "{r:?}");
    assert_eq!(fake.call_names(), ["PutUserPolicy"]);
    assert_eq!(
        fake.state().users["carol"].inline[MFA_POLICY],
        crate::steps::enforce_mfa::enforce_mfa_document()
    );
    let u = undo_all(&fake, &path).await;
    assert_eq!(u.summary.applied, 1, "{u:?}");
    assert_eq!(&fake.call_names()[1..], ["DeleteUserPolicy"]);
    assert!(fake.state().users["carol"].inline.is_empty());
    // A second undo finds it done and calls nothing.
    let u = undo_all(&fake, &path).await;
    assert_eq!(u.summary.already_applied, 1, "{u:?}");
    assert_eq!(fake.calls().len(), 2);
}

#[tokio::test]
async fn enforce_mfa_already_in_place_is_not_sent_again() {
    let mut s = mfa_account();
    s.users.get_mut("carol").unwrap().inline.insert(
        MFA_POLICY.into(),
        crate::steps::enforce_mfa::enforce_mfa_document(),
    );
    let fake = FakeIam::new(s);
    let (_d, path) = journal_path();
    let r = run(&fake, &path, &plan(vec![enforce_mfa_carol()])).await;
    assert_eq!(outcome(&r, "act-AIDACAROL").0, Outcome::AlreadyApplied);
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn enforce_mfa_is_stale_when_the_policy_changed_or_a_key_appeared() {
    // Another document under the policy's name.
    let mut s = mfa_account();
    s.users
        .get_mut("carol")
        .unwrap()
        .inline
        .insert(MFA_POLICY.into(), json!({"Statement": []}));
    let fake = FakeIam::new(s);
    let (_d, path) = journal_path();
    let r = run(&fake, &path, &plan(vec![enforce_mfa_carol()])).await;
    let (o, detail) = outcome(&r, "act-AIDACAROL");
    assert_eq!(o, Outcome::Stale, "{detail}");
    assert!(detail.contains("another document"), "{detail}");
    // An active key since the plan: the policy would deny every request it signs.
    let mut s = mfa_account();
    s.users.get_mut("carol").unwrap().keys = vec![("AKIACAROL".into(), "Active".into())];
    let fake2 = FakeIam::new(s);
    let (_d2, path2) = journal_path();
    let r = run(&fake2, &path2, &plan(vec![enforce_mfa_carol()])).await;
    let (o, detail) = outcome(&r, "act-AIDACAROL");
    assert_eq!(o, Outcome::Stale, "{detail}");
    assert!(detail.contains("AKIACAROL"), "{detail}");
    // The user re-created under the same name.
    let fake3 = FakeIam::new(mfa_account());
    fake3.edit(|s| s.users.get_mut("carol").unwrap().id = "AIDANEW".into());
    let (_d3, path3) = journal_path();
    let r = run(&fake3, &path3, &plan(vec![enforce_mfa_carol()])).await;
    assert_eq!(outcome(&r, "act-AIDACAROL").0, Outcome::Stale);
    assert!(fake.calls().is_empty() && fake2.calls().is_empty() && fake3.calls().is_empty());
}

/// Cuts the journal just before the first `result` record: the process was killed after the
/// call left and before its answer was written.
fn kill_after_first_call(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap();
    let cut = text.find("{\"record\":\"result\"").unwrap();
    std::fs::write(path, &text[..cut]).unwrap();
}

#[tokio::test]
async fn enforce_mfa_killed_after_its_call_resumes_without_sending_it_again() {
    let fake = FakeIam::new(mfa_account());
    let (_d, path) = journal_path();
    let p = plan(vec![enforce_mfa_carol()]);
    let first = run(&fake, &path, &p).await;
    assert_eq!(first.summary.applied, 1);
    kill_after_first_call(&path);

    let second = run(&fake, &path, &p).await;
    let (o, detail) = outcome(&second, "act-AIDACAROL");
    // Reported as applied (by this plan), completed by the run that was killed.
    assert_eq!(o, Outcome::Applied, "{detail}");
    assert!(detail.contains("interrupted earlier run"), "{detail}");
    assert_eq!(fake.call_names(), ["PutUserPolicy"], "sent once");
    // Undo still knows to remove it.
    let u = undo_all(&fake, &path).await;
    assert_eq!(u.summary.applied, 1, "{u:?}");
    assert!(fake.state().users["carol"].inline.is_empty());
}

#[tokio::test]
async fn quarantine_role_denies_all_and_undo_removes_it_killed_or_not() {
    let fake = FakeIam::new(mfa_account());
    let (_d, path) = journal_path();
    let p = plan(vec![quarantine_role("deploy", "AROADEPLOY")]);
    let first = run(&fake, &path, &p).await;
    assert_eq!(first.summary.applied, 1, "{first:?}");
    assert_eq!(fake.call_names(), ["PutRolePolicy"]);
    kill_after_first_call(&path);
    let second = run(&fake, &path, &p).await;
    let (o, detail) = outcome(&second, "act-AROADEPLOY");
    assert_eq!(o, Outcome::Applied, "{detail}");
    assert!(detail.contains("interrupted earlier run"), "{detail}");
    assert_eq!(fake.calls().len(), 1);
    let u = undo_all(&fake, &path).await;
    assert_eq!(u.summary.applied, 1, "{u:?}");
    assert_eq!(&fake.call_names()[1..], ["DeleteRolePolicy"]);
    assert!(fake.state().roles["deploy"].inline.is_empty());
}

#[tokio::test]
async fn quarantine_role_refuses_a_service_linked_role_whatever_the_plan_says() {
    let fake = FakeIam::new(mfa_account());
    let (_d, path) = journal_path();
    // A plan that names a service-linked role (hand-edited, or made before the path was known).
    let r = run(
        &fake,
        &path,
        &plan(vec![quarantine_role(
            "AWSServiceRoleForSupport",
            "AROASUPPORT",
        )]),
    )
    .await;
    let (o, detail) = outcome(&r, "act-AROASUPPORT");
    assert_eq!(o, Outcome::Stale, "{detail}");
    assert!(detail.contains("service-linked"), "{detail}");
    assert!(fake.calls().is_empty());
    assert!(fake.state().roles["AWSServiceRoleForSupport"]
        .inline
        .is_empty());
}

#[tokio::test]
async fn quarantine_role_is_stale_when_the_role_is_gone_or_re_created() {
    let fake = FakeIam::new(mfa_account());
    fake.edit(|s| s.roles.get_mut("deploy").unwrap().id = "AROANEW".into());
    let (_d, path) = journal_path();
    let r = run(
        &fake,
        &path,
        &plan(vec![quarantine_role("deploy", "AROADEPLOY")]),
    )
    .await;
    let (o, detail) = outcome(&r, "act-AROADEPLOY");
    assert_eq!(o, Outcome::Stale, "{detail}");
    assert!(detail.contains("re-created"), "{detail}");
    fake.edit(|s| {
        s.roles.remove("deploy");
    });
    let (_d2, path2) = journal_path();
    let r = run(
        &fake,
        &path2,
        &plan(vec![quarantine_role("deploy", "AROADEPLOY")]),
    )
    .await;
    let (o, detail) = outcome(&r, "act-AROADEPLOY");
    assert_eq!(o, Outcome::Stale, "{detail}");
    assert!(detail.contains("no longer exists"), "{detail}");
    assert!(fake.calls().is_empty());
}
