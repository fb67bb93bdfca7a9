//! `apply --only` / `--exclude` ([`super::select`]) against the in-memory IAM: terms by action
//! id, rule and resource, did-you-mean for an unknown term, dependencies kept whole, exactly
//! the selected actions' calls sent, and the selection in the journal's `run` record.

use super::fake_runs::{
    account, caller, deactivate_alice_key, delete_bob, exec, journal_path, leave, opts,
};
use super::journal::{self, History, Mode, Record};
use super::select::{select, Selection};
use super::tests::plan;
use crate::iam::fake::FakeIam;
use crate::inventory::ResourceKind;
use crate::plan::Plan;

fn sel(only: &[&str], exclude: &[&str]) -> Selection {
    Selection {
        only: only.iter().map(|s| s.to_string()).collect(),
        exclude: exclude.iter().map(|s| s.to_string()).collect(),
    }
}

/// Alice's key deactivation, and bob's deletion after he leaves `devs` (a cascade part).
fn sample() -> Plan {
    let mut leave = leave("bob-devs", ResourceKind::User, "bob", "bob", "AIDABOB");
    leave.part_of = Some("act-AIDABOB".into());
    let mut del = delete_bob();
    del.depends_on = vec![leave.id.clone()];
    del.rules = vec!["stale-users".into()];
    plan(vec![deactivate_alice_key(), leave, del])
}

fn ids(p: &Plan) -> Vec<&str> {
    p.actions.iter().map(|a| a.id.as_str()).collect()
}

#[test]
fn only_selects_by_id_rule_or_resource_and_brings_in_prerequisites() {
    let p = sample();
    let s = select(&p, &sel(&["act-AKIA1"], &[])).unwrap();
    assert_eq!(ids(&s.plan), ["act-AKIA1"]);
    assert_eq!(s.record.left_out, 2);
    assert!(s.notes.is_empty());
    // By rule: the deletion, and its prerequisite with a note.
    let s = select(&p, &sel(&["stale-users"], &[])).unwrap();
    assert_eq!(ids(&s.plan), ["act-bob-devs", "act-AIDABOB"]);
    assert_eq!(s.notes.len(), 1, "{:?}", s.notes);
    assert!(s.notes[0].contains("runs too: delete_user bob [act-AIDABOB] depends on it"));
    // By the user a key belongs to.
    let s = select(&p, &sel(&["alice"], &[])).unwrap();
    assert_eq!(ids(&s.plan), ["act-AKIA1"]);
    // The content hash field stays the whole plan's.
    assert_eq!(s.plan.content_sha256, p.content_sha256);
}

#[test]
fn exclude_takes_out_what_depends_on_it_and_says_so() {
    let p = sample();
    let s = select(&p, &sel(&[], &["act-bob-devs"])).unwrap();
    assert_eq!(ids(&s.plan), ["act-AKIA1"]);
    assert_eq!(s.notes.len(), 1, "{:?}", s.notes);
    assert!(
        s.notes[0].contains("delete_user bob [act-AIDABOB] is excluded too: it depends on"),
        "{:?}",
        s.notes
    );
    // Excluding the cascade takes out its part.
    let s = select(&p, &sel(&[], &["act-AIDABOB"])).unwrap();
    assert_eq!(ids(&s.plan), ["act-AKIA1"]);
    assert!(s.notes[0].contains("is excluded too: it is part of delete_user bob"));
    assert_eq!(s.record.exclude, ["act-AIDABOB"]);
}

#[test]
fn an_unknown_term_is_an_error_with_did_you_mean_and_nothing_left_is_an_error() {
    let p = sample();
    let e = select(&p, &sel(&["alcie"], &[])).unwrap_err().to_string();
    assert_eq!(
        e,
        "--only alcie: no action, rule or resource of the plan is called that (did you mean `alice`?)"
    );
    let e = select(&p, &sel(&[], &["stale-user"]))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("--exclude stale-user: "), "{e}");
    assert!(e.contains("did you mean `stale-users`?"), "{e}");
    let e = select(&p, &sel(&["alice"], &["act-AKIA1"]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("leaves no action of the plan's 3 to run"), "{e}");
}

#[tokio::test]
async fn a_selected_run_sends_only_the_selected_calls_and_journals_the_selection() {
    let fake = FakeIam::new(account());
    let (_d, path) = journal_path();
    let p = sample();
    let s = select(&p, &sel(&[], &["bob"])).unwrap();
    let x = exec(&fake, &path, Mode::Apply);
    let history = History::default();
    let r = super::run_selected(
        &s.plan,
        &opts(),
        Some(&s.record),
        &x,
        &caller(),
        &history,
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.actions.len(), 1);
    assert_eq!(fake.call_names(), ["UpdateAccessKey"]);
    assert!(fake.state().users.contains_key("bob"));
    let records = journal::read(&path).unwrap();
    let Some(Record::Run {
        selection: Some(rec),
        plan_sha256,
        ..
    }) = records.first()
    else {
        panic!("no selection in {records:?}")
    };
    assert_eq!(plan_sha256, &p.content_sha256);
    assert_eq!(rec.actions, ["act-AKIA1"]);
    assert_eq!(rec.exclude, ["bob"]);
    assert_eq!(rec.left_out, 2);
    // A later full run of the same plan resumes: the key is done, bob's actions run.
    let history = journal::history(&path, &records, Some(&p.content_sha256)).unwrap();
    let x = exec(&fake, &path, Mode::Apply);
    let r = super::run(&p, &opts(), &x, &caller(), &history, None)
        .await
        .unwrap();
    assert_eq!(r.summary.already_applied, 1, "{r:?}");
    assert_eq!(r.summary.applied, 2, "{r:?}");
    assert!(!fake.state().users.contains_key("bob"));
}
