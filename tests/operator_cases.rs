//! The condition language, table-driven: every operator, missing values, `fallback`,
//! `if_missing`, `not`/`any`/`all`, paths that select several values, `{{params.x}}` operands,
//! selector filters and the policy-document operators, each through a real pack (written to a
//! temp file and loaded like any other) evaluated on one small inventory at a fixed clock. Then
//! load errors: each must fail to load and say `file:line:col`, the rule id and the field.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Utc};
use iamwarden_core::inventory::Inventory;
use iamwarden_core::plan::Plan;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

const NOW: &str = "2026-11-01T00:00:00Z";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(NOW)
        .unwrap()
        .with_timezone(&Utc)
}

fn parr(name: &str) -> String {
    format!("arn:aws:iam::111122223333:policy/{name}")
}

fn policy(name: &str, default: &str, versions: &[(&str, Value)]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|(v, d)| json!({"version_id": v, "created_at": "2025-01-01T00:00:00Z", "document": d}))
        .collect();
    json!({"id": parr(name), "arn": parr(name), "name": name, "default_version_id": default,
           "versions": versions})
}

/// The inventory every case runs on. The clock is 2026-11-01T00:00:00Z, so 2026-08-03T00:00:00Z
/// is exactly 90 days before it.
fn inventory() -> &'static Inventory {
    static INV: OnceLock<Inventory> = OnceLock::new();
    INV.get_or_init(|| {
        let admin = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
        let s3 = json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]});
        let doc = json!({
            "account": {"id": "111122223333", "root": {"mfa_enabled": true}},
            "users": [
                {"id": "AIDAALICE", "arn": "arn:aws:iam::111122223333:user/alice", "name": "alice",
                 "created_at": "2026-01-01T00:00:00Z", "password_last_used_at": "2026-08-03T00:00:00Z",
                 "groups": ["devs", "ops"], "tags": {"team": "platform", "cost-center": "42"}},
                {"id": "AIDABOB", "arn": "arn:aws:iam::111122223333:user/svc/bob", "name": "bob",
                 "path": "/svc/", "created_at": "2025-11-01T00:00:00Z"},
                {"id": "AIDACAROL", "arn": "arn:aws:iam::111122223333:user/carol", "name": "carol",
                 "created_at": "2026-08-03T00:00:01Z", "groups": ["admins"], "tags": {"team": ""},
                 "permissions_boundary": "arn:aws:iam::111122223333:policy/boundary"}
            ],
            "login_profiles": [{"id": "alice", "user": "alice", "created_at": "2026-01-01T00:00:00Z"}],
            "access_keys": [
                {"id": "AKIAALICE1", "user": "alice", "status": "Active",
                 "created_at": "2026-08-03T00:00:00Z", "last_used_at": "2026-10-31T00:00:00Z"},
                {"id": "AKIAALICE2", "user": "alice", "status": "Inactive",
                 "created_at": "2025-01-01T00:00:00Z"},
                {"id": "AKIABOB1", "user": "bob", "status": "Active", "created_at": "2025-11-01T00:00:00Z"},
                {"id": "AKIABOB2", "user": "bob", "status": "Active", "created_at": "2026-09-01T00:00:00Z",
                 "last_used_at": "2026-09-02T00:00:00Z", "last_used_service": "s3"},
                {"id": "AKIACAROL1", "user": "carol", "status": "Active",
                 "created_at": "2026-10-01T00:00:00Z", "last_used_at": "2026-10-02T00:00:00Z",
                 "last_used_region": "eu-west-1", "last_used_service": "s3"}
            ],
            "roles": [
                {"id": "AROADEPLOY", "arn": "arn:aws:iam::111122223333:role/deploy", "name": "deploy",
                 "created_at": "2024-01-01T00:00:00Z", "trust_policy": {"Statement": [{"Effect": "Allow",
                 "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}},
                {"id": "AROAFUTURE", "arn": "arn:aws:iam::111122223333:role/future", "name": "future",
                 "created_at": "2026-12-01T00:00:00Z"},
                {"id": "AROAOPEN", "arn": "arn:aws:iam::111122223333:role/open", "name": "open",
                 "created_at": "2025-01-01T00:00:00Z", "trust_policy": {"Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"},
                    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:TagSesion",
                     "NotResource": "arn:aws:iam::111122223333:role/nope"},
                    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
                     "Resource": "not-an-arn"}]}}
            ],
            "managed_policies": [
                policy("p-admin", "v1", &[("v1", admin.clone())]),
                policy("p-cond", "v1", &[("v1", json!({"Statement": [{"Effect": "Allow", "Action": "*",
                    "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}))]),
                policy("p-denied", "v1", &[("v1", json!({"Statement": [
                    {"Effect": "Allow", "Action": "*", "Resource": "*"},
                    {"Effect": "Deny", "Action": "*", "Resource": "*"}]}))]),
                policy("p-history", "v2", &[("v1", admin.clone()), ("v2", s3.clone())]),
                policy("p-notaction", "v1", &[("v1", json!({"Statement": [
                    {"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}]}))]),
                policy("p-pass", "v1", &[("v1", json!({"Statement": [
                    {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::111122223333:role/prod-*"},
                    {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                    {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]}))]),
                policy("p-string", "v1", &[("v1", json!(admin.to_string()))])
            ]
        });
        iamwarden_core::inventory::snapshot::parse(doc.to_string().as_bytes(), "operators").unwrap()
    })
}

/// A file in the temp dir with a name no other test (or test process) uses.
fn temp_pack(tag: &str, text: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let path = std::env::temp_dir().join(format!(
        "iamwarden-operators-{}-{}-{tag}.yaml",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// Loads packs from files, removing them afterwards.
fn load(
    paths: &[String],
) -> Result<iamwarden_core::compile::RuleSet, iamwarden_core::diag::Diagnostics> {
    let r = iamwarden_core::packs::load_rule_set(paths);
    for p in paths {
        let _ = std::fs::remove_file(p);
    }
    r
}

/// A one-rule pack (`when` and `params` are written as JSON, which is YAML).
fn pack(select: &str, when: &Value, params: &Value) -> String {
    let mut text = format!(
        "pack: {{name: t/operators, version: 1.0.0}}\nrules:\n  - id: case\n    title: case\n    severity: low\n    params: {params}\n    select: {}\n",
        serde_json::to_string(select).unwrap()
    );
    if !when.is_null() {
        text.push_str(&format!("    when: {when}\n"));
    }
    text
}

fn plan_of(select: &str, when: &Value, params: &Value) -> Result<Plan, String> {
    let path = temp_pack("case", &pack(select, when, params));
    let rules = load(&[path]).map_err(|d| d.to_string())?;
    Ok(iamwarden_core::pipeline::make_plan(
        &rules,
        inventory(),
        now(),
        now(),
    ))
}

/// The names of the resources the rule flags, sorted.
fn flagged(select: &str, when: &Value, params: &Value) -> Result<Vec<String>, String> {
    let plan = plan_of(select, when, params)?;
    let mut names: Vec<String> = plan
        .findings
        .iter()
        .map(|f| f.resource.name.clone())
        .collect();
    names.sort();
    Ok(names)
}

const U: &str = "$.users";
const K: &str = "$.access_keys";
const P: &str = "$.managed_policies";
const R: &str = "$.roles";
const ALL_USERS: &[&str] = &["alice", "bob", "carol"];
const ALL_KEYS: &[&str] = &[
    "AKIAALICE1",
    "AKIAALICE2",
    "AKIABOB1",
    "AKIABOB2",
    "AKIACAROL1",
];

/// (what it shows, selector, condition, params, the names it must flag)
type OpCase = (
    &'static str,
    &'static str,
    Value,
    Value,
    &'static [&'static str],
);

fn run(cases: Vec<OpCase>) {
    let mut failures = Vec::new();
    let n = cases.len();
    for (what, select, when, params, want) in cases {
        match flagged(select, &when, &params) {
            Ok(got) if got == want => {}
            Ok(got) => failures.push(format!(
                "{what}: select {select} when {when} params {params}: expected {want:?}, got {got:?}"
            )),
            Err(e) => failures.push(format!("{what}: select {select} when {when}: load failed:\n{e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn none() -> Value {
    json!({})
}

fn equality_cases() -> Vec<OpCase> {
    vec![
        (
            "eq on a string",
            U,
            json!({"path": "$.name", "eq": "alice"}),
            none(),
            &["alice"],
        ),
        (
            "1 == 1.0",
            U,
            json!({"path": "$.active_access_key_count", "eq": 1.0}),
            none(),
            &["alice", "carol"],
        ),
        (
            "2 == 2",
            U,
            json!({"path": "$.active_access_key_count", "eq": 2}),
            none(),
            &["bob"],
        ),
        (
            "eq on a tag with a dash",
            U,
            json!({"path": "$.tags['cost-center']", "eq": "42"}),
            none(),
            &["alice"],
        ),
        (
            "\"42\" is not 42",
            U,
            json!({"path": "$.tags['cost-center']", "eq": 42}),
            none(),
            &[],
        ),
        (
            "eq false",
            U,
            json!({"path": "$.mfa_enabled", "eq": false}),
            none(),
            ALL_USERS,
        ),
        (
            "\"false\" is not false",
            U,
            json!({"path": "$.mfa_enabled", "eq": "false"}),
            none(),
            &[],
        ),
        (
            "eq a whole list",
            U,
            json!({"path": "$.groups", "eq": ["devs", "ops"]}),
            none(),
            &["alice"],
        ),
        (
            "a list is not its element",
            U,
            json!({"path": "$.groups", "eq": "devs"}),
            none(),
            &[],
        ),
        (
            "eq on timestamps compares text, not instants (use le/ge)",
            U,
            json!({"path": "$.created_at", "eq": "2026-01-01T01:00:00+01:00"}),
            none(),
            &[],
        ),
        (
            "eq is case-sensitive",
            U,
            json!({"path": "$.name", "eq": "Alice"}),
            none(),
            &[],
        ),
        (
            "ne",
            U,
            json!({"path": "$.name", "ne": "alice"}),
            none(),
            &["bob", "carol"],
        ),
        (
            "ne 1.0 on integers",
            U,
            json!({"path": "$.active_access_key_count", "ne": 1.0}),
            none(),
            &["bob"],
        ),
        (
            "ne on a missing value does not hold",
            U,
            json!({"path": "$.permissions_boundary", "ne": "x"}),
            none(),
            &["carol"],
        ),
        (
            "ne on a missing value with if_missing: match",
            U,
            json!({"path": "$.permissions_boundary", "ne": "x", "if_missing": "match"}),
            none(),
            ALL_USERS,
        ),
    ]
}

#[test]
fn equality() {
    run(equality_cases());
}

fn ordering_cases() -> Vec<OpCase> {
    vec![
        (
            "lt on numbers",
            U,
            json!({"path": "$.active_access_key_count", "lt": 2}),
            none(),
            &["alice", "carol"],
        ),
        (
            "le on numbers, float operand",
            U,
            json!({"path": "$.active_access_key_count", "le": 1.5}),
            none(),
            &["alice", "carol"],
        ),
        (
            "gt on numbers",
            U,
            json!({"path": "$.active_access_key_count", "gt": 1}),
            none(),
            &["bob"],
        ),
        (
            "ge on numbers",
            U,
            json!({"path": "$.active_access_key_count", "ge": 2}),
            none(),
            &["bob"],
        ),
        (
            "le at equality",
            U,
            json!({"path": "$.active_access_key_count", "le": 1}),
            none(),
            &["alice", "carol"],
        ),
        (
            "a number is not compared with the string \"3\"",
            U,
            json!({"path": "$.active_access_key_count", "lt": "3"}),
            none(),
            &[],
        ),
        (
            "a boolean is not ordered",
            U,
            json!({"path": "$.mfa_enabled", "lt": true}),
            none(),
            &[],
        ),
        (
            "lt on timestamps",
            U,
            json!({"path": "$.created_at", "lt": "2026-01-01T00:00:00Z"}),
            none(),
            &["bob"],
        ),
        (
            "le on timestamps at equality",
            U,
            json!({"path": "$.created_at", "le": "2026-01-01T00:00:00Z"}),
            none(),
            &["alice", "bob"],
        ),
        (
            "gt on timestamps",
            U,
            json!({"path": "$.created_at", "gt": "2026-01-01T00:00:00+00:00"}),
            none(),
            &["carol"],
        ),
        (
            "ge on timestamps, equal instant in another offset",
            U,
            json!({"path": "$.created_at", "ge": "2026-01-01T01:00:00+01:00"}),
            none(),
            &["alice", "carol"],
        ),
        (
            "timestamps compare in time, not as text",
            U,
            json!({"path": "$.created_at", "lt": "2026-01-01T02:00:00+03:00"}),
            none(),
            &["bob"],
        ),
        (
            "lt on strings",
            U,
            json!({"path": "$.name", "lt": "b"}),
            none(),
            &["alice"],
        ),
        (
            "ge on strings",
            U,
            json!({"path": "$.name", "ge": "bob"}),
            none(),
            &["bob", "carol"],
        ),
        (
            "strings compare byte by byte: B < a",
            U,
            json!({"path": "$.name", "gt": "B"}),
            none(),
            ALL_USERS,
        ),
        (
            "a prefix sorts first",
            U,
            json!({"path": "$.path", "lt": "/s"}),
            none(),
            &["alice", "carol"],
        ),
        (
            "lt on a missing value",
            U,
            json!({"path": "$.password_last_used_at", "lt": "2030-01-01T00:00:00Z"}),
            none(),
            &["alice"],
        ),
        (
            "lt on a missing value with if_missing: match",
            U,
            json!({"path": "$.password_last_used_at", "lt": "2000-01-01T00:00:00Z", "if_missing": "match"}),
            none(),
            &["bob", "carol"],
        ),
    ]
}

#[test]
fn ordering() {
    run(ordering_cases());
}

fn membership_and_text_cases() -> Vec<OpCase> {
    vec![
        (
            "in",
            U,
            json!({"path": "$.name", "in": ["bob", "carol", "zed"]}),
            none(),
            &["bob", "carol"],
        ),
        (
            "in with numeric equality",
            U,
            json!({"path": "$.active_access_key_count", "in": [2.0, 5]}),
            none(),
            &["bob"],
        ),
        (
            "not_in",
            U,
            json!({"path": "$.name", "not_in": ["bob", "carol"]}),
            none(),
            &["alice"],
        ),
        (
            "not_in on a missing value does not hold",
            U,
            json!({"path": "$.permissions_boundary", "not_in": ["x"]}),
            none(),
            &["carol"],
        ),
        (
            "not_in on a missing value with if_missing: match",
            U,
            json!({"path": "$.permissions_boundary", "not_in": ["x"], "if_missing": "match"}),
            none(),
            ALL_USERS,
        ),
        (
            "contains: substring",
            U,
            json!({"path": "$.arn", "contains": ":user/svc/"}),
            none(),
            &["bob"],
        ),
        (
            "contains: list element",
            U,
            json!({"path": "$.groups", "contains": "ops"}),
            none(),
            &["alice"],
        ),
        (
            "contains: list element among key ids",
            U,
            json!({"path": "$.access_key_ids", "contains": "AKIABOB2"}),
            none(),
            &["bob"],
        ),
        (
            "contains: object key",
            U,
            json!({"path": "$.tags", "contains": "team"}),
            none(),
            &["alice", "carol"],
        ),
        (
            "contains: an object's value is not a key",
            U,
            json!({"path": "$.tags", "contains": "platform"}),
            none(),
            &[],
        ),
        (
            "contains: a number contains nothing",
            U,
            json!({"path": "$.active_access_key_count", "contains": 1}),
            none(),
            &[],
        ),
        (
            "contains is case-sensitive",
            U,
            json!({"path": "$.arn", "contains": ":USER/"}),
            none(),
            &[],
        ),
        (
            "regex, anchored by hand",
            U,
            json!({"path": "$.name", "regex": "^[ab]"}),
            none(),
            &["alice", "bob"],
        ),
        (
            "regex is unanchored",
            U,
            json!({"path": "$.name", "regex": "aro"}),
            none(),
            &["carol"],
        ),
        (
            "regex (?i)",
            U,
            json!({"path": "$.name", "regex": "(?i)^ALICE$"}),
            none(),
            &["alice"],
        ),
        (
            "regex with a class and $",
            U,
            json!({"path": "$.arn", "regex": ":user/[a-z]+$"}),
            none(),
            &["alice", "carol"],
        ),
        (
            "regex on a non-string",
            U,
            json!({"path": "$.active_access_key_count", "regex": "1"}),
            none(),
            &[],
        ),
        (
            "glob *",
            U,
            json!({"path": "$.name", "glob": "*o*"}),
            none(),
            &["bob", "carol"],
        ),
        (
            "glob ?",
            U,
            json!({"path": "$.name", "glob": "?ob"}),
            none(),
            &["bob"],
        ),
        (
            "glob is case-sensitive",
            U,
            json!({"path": "$.name", "glob": "Alice"}),
            none(),
            &[],
        ),
        (
            "glob matches the whole string",
            U,
            json!({"path": "$.name", "glob": "al"}),
            none(),
            &[],
        ),
        (
            "glob * crosses /",
            U,
            json!({"path": "$.arn", "glob": "arn:aws:iam::*:user/*"}),
            none(),
            ALL_USERS,
        ),
        (
            "glob [ is literal",
            U,
            json!({"path": "$.name", "glob": "a[l]ice"}),
            none(),
            &[],
        ),
    ]
}

#[test]
fn membership_and_text() {
    run(membership_and_text_cases());
}

fn presence_and_emptiness_cases() -> Vec<OpCase> {
    vec![
        (
            "exists: true",
            U,
            json!({"path": "$.permissions_boundary", "exists": true}),
            none(),
            &["carol"],
        ),
        (
            "exists: false",
            U,
            json!({"path": "$.permissions_boundary", "exists": false}),
            none(),
            &["alice", "bob"],
        ),
        (
            "absent: true",
            U,
            json!({"path": "$.permissions_boundary", "absent": true}),
            none(),
            &["alice", "bob"],
        ),
        (
            "absent: false",
            U,
            json!({"path": "$.permissions_boundary", "absent": false}),
            none(),
            &["carol"],
        ),
        (
            "an empty string exists",
            U,
            json!({"path": "$.tags.team", "exists": true}),
            none(),
            &["alice", "carol"],
        ),
        (
            "false exists",
            U,
            json!({"path": "$.mfa_enabled", "exists": true}),
            none(),
            ALL_USERS,
        ),
        (
            "if_missing has no effect on exists",
            U,
            json!({"path": "$.permissions_boundary", "exists": true, "if_missing": "match"}),
            none(),
            &["carol"],
        ),
        (
            "if_missing has no effect on absent",
            U,
            json!({"path": "$.permissions_boundary", "absent": false, "if_missing": "match"}),
            none(),
            &["carol"],
        ),
        (
            "never-used keys",
            K,
            json!({"path": "$.last_used_at", "absent": true}),
            none(),
            &["AKIAALICE2", "AKIABOB1"],
        ),
        (
            "a misspelt nested name is missing",
            U,
            json!({"path": "$.tags.teem", "exists": true}),
            none(),
            &[],
        ),
        (
            "empty: true on a string",
            U,
            json!({"path": "$.tags.team", "empty": true}),
            none(),
            &["carol"],
        ),
        (
            "empty: true on a list",
            U,
            json!({"path": "$.groups", "empty": true}),
            none(),
            &["bob"],
        ),
        (
            "empty: true on an object",
            U,
            json!({"path": "$.tags", "empty": true}),
            none(),
            &["bob"],
        ),
        (
            "empty: false on a list",
            U,
            json!({"path": "$.groups", "empty": false}),
            none(),
            &["alice", "carol"],
        ),
        (
            "empty: false on a string",
            U,
            json!({"path": "$.tags.team", "empty": false}),
            none(),
            &["alice"],
        ),
        (
            "a missing value is not empty",
            U,
            json!({"path": "$.permissions_boundary", "empty": true}),
            none(),
            &[],
        ),
        (
            "a missing value, if_missing: match",
            U,
            json!({"path": "$.permissions_boundary", "empty": true, "if_missing": "match"}),
            none(),
            &["alice", "bob"],
        ),
        (
            "a number is neither empty nor not",
            U,
            json!({"path": "$.active_access_key_count", "empty": false}),
            none(),
            &[],
        ),
        (
            "a boolean is neither empty nor not",
            U,
            json!({"path": "$.mfa_enabled", "empty": true}),
            none(),
            &[],
        ),
    ]
}

#[test]
fn presence_and_emptiness() {
    run(presence_and_emptiness_cases());
}

fn ages_cases() -> Vec<OpCase> {
    vec![
        (
            "exactly 90 days old is older_than 90d",
            K,
            json!({"path": "$.created_at", "older_than": "90d"}),
            none(),
            &["AKIAALICE1", "AKIAALICE2", "AKIABOB1"],
        ),
        (
            "exactly 90 days old is not newer_than 90d",
            K,
            json!({"path": "$.created_at", "newer_than": "90d"}),
            none(),
            &["AKIABOB2", "AKIACAROL1"],
        ),
        (
            "one second short of 90 days",
            U,
            json!({"path": "$.created_at", "older_than": "90d"}),
            none(),
            &["alice", "bob"],
        ),
        (
            "one second short of 90 days is newer",
            U,
            json!({"path": "$.created_at", "newer_than": "90d"}),
            none(),
            &["carol"],
        ),
        (
            "combined units: 12w6d = 90d",
            U,
            json!({"path": "$.password_last_used_at", "older_than": "12w6d"}),
            none(),
            &["alice"],
        ),
        (
            "13w = 91d",
            U,
            json!({"path": "$.password_last_used_at", "older_than": "13w"}),
            none(),
            &[],
        ),
        (
            "hours: 2160h = 90d",
            U,
            json!({"path": "$.created_at", "older_than": "2160h"}),
            none(),
            &["alice", "bob"],
        ),
        (
            "seconds: 7775999s",
            U,
            json!({"path": "$.created_at", "older_than": "7775999s"}),
            none(),
            ALL_USERS,
        ),
        (
            "minutes are m: 129600m = 90d",
            U,
            json!({"path": "$.created_at", "older_than": "129600m"}),
            none(),
            &["alice", "bob"],
        ),
        (
            "a timestamp after the clock is newer than anything",
            R,
            json!({"path": "$.created_at", "newer_than": "1s"}),
            none(),
            &["future"],
        ),
        (
            "a timestamp after the clock is not older_than 0s",
            R,
            json!({"path": "$.created_at", "older_than": "0s"}),
            none(),
            &["deploy", "open"],
        ),
        (
            "a non-timestamp is neither old",
            U,
            json!({"path": "$.name", "older_than": "1d"}),
            none(),
            &[],
        ),
        (
            "a non-timestamp is neither new",
            U,
            json!({"path": "$.name", "newer_than": "1d"}),
            none(),
            &[],
        ),
        (
            "a missing timestamp is neither",
            U,
            json!({"path": "$.password_last_used_at", "newer_than": "9999d"}),
            none(),
            &["alice"],
        ),
    ]
}

#[test]
fn ages() {
    run(ages_cases());
}

fn missing_values_fallback_and_if_missing_cases() -> Vec<OpCase> {
    vec![
        (
            "last use, or creation when never used",
            K,
            json!({"path": "$.last_used_at", "fallback": "$.created_at", "older_than": "90d"}),
            none(),
            &["AKIAALICE2", "AKIABOB1"],
        ),
        (
            "without the fallback, never-used keys are not old",
            K,
            json!({"path": "$.last_used_at", "older_than": "60d"}),
            none(),
            &["AKIABOB2"],
        ),
        (
            "the fallback is not consulted when the path has a value",
            K,
            json!({"path": "$.last_used_region", "fallback": "$.last_used_service", "eq": "s3"}),
            none(),
            &["AKIABOB2"],
        ),
        (
            "path and fallback both missing: if_missing decides",
            K,
            json!({"path": "$.last_used_region", "fallback": "$.last_used_service", "eq": "s3", "if_missing": "match"}),
            none(),
            &["AKIAALICE1", "AKIAALICE2", "AKIABOB1", "AKIABOB2"],
        ),
        (
            "exists looks at the fallback too",
            K,
            json!({"path": "$.last_used_region", "fallback": "$.last_used_service", "exists": true}),
            none(),
            &["AKIABOB2", "AKIACAROL1"],
        ),
        (
            "absent looks at the fallback too",
            K,
            json!({"path": "$.last_used_region", "fallback": "$.last_used_service", "absent": true}),
            none(),
            &["AKIAALICE1", "AKIAALICE2", "AKIABOB1"],
        ),
        (
            "if_missing: no_match written out",
            U,
            json!({"path": "$.permissions_boundary", "eq": "x", "if_missing": "no_match"}),
            none(),
            &[],
        ),
        (
            "if_missing: match only for the missing",
            U,
            json!({"path": "$.tags.team", "eq": "platform", "if_missing": "match"}),
            none(),
            &["alice", "bob"],
        ),
        (
            "if_missing on a nested settings field",
            "$.account",
            json!({"path": "$.password_policy.minimum_password_length", "lt": 14, "if_missing": "match"}),
            none(),
            &["111122223333"],
        ),
    ]
}

#[test]
fn missing_values_fallback_and_if_missing() {
    run(missing_values_fallback_and_if_missing_cases());
}

fn not_any_all_cases() -> Vec<OpCase> {
    vec![
        (
            "not",
            U,
            json!({"not": {"path": "$.name", "eq": "alice"}}),
            none(),
            &["bob", "carol"],
        ),
        (
            "not over a missing value holds",
            K,
            json!({"not": {"path": "$.last_used_at", "older_than": "1d"}}),
            none(),
            &["AKIAALICE2", "AKIABOB1"],
        ),
        (
            "not over if_missing: match",
            U,
            json!({"not": {"path": "$.permissions_boundary", "eq": "x", "if_missing": "match"}}),
            none(),
            &["carol"],
        ),
        (
            "not not",
            U,
            json!({"not": {"not": {"path": "$.name", "eq": "alice"}}}),
            none(),
            &["alice"],
        ),
        (
            "all",
            U,
            json!({"all": [{"path": "$.name", "ne": "alice"}, {"path": "$.groups", "empty": false}]}),
            none(),
            &["carol"],
        ),
        (
            "any",
            U,
            json!({"any": [{"path": "$.name", "eq": "alice"}, {"path": "$.tags", "empty": true}]}),
            none(),
            &["alice", "bob"],
        ),
        (
            "nested any/all/not",
            U,
            json!({"any": [
            {"all": [{"path": "$.mfa_enabled", "eq": false}, {"path": "$.password_enabled", "eq": true}]},
            {"not": {"path": "$.created_at", "older_than": "90d"}}]}),
            none(),
            &["alice", "carol"],
        ),
        (
            "all with a nested any, on keys",
            K,
            json!({"all": [
            {"path": "$.status", "eq": "Active"},
            {"any": [{"path": "$.last_used_at", "absent": true}, {"path": "$.last_used_at", "older_than": "30d"}]}]}),
            none(),
            &["AKIABOB1", "AKIABOB2", "AKIACAROL1"],
        ),
        (
            "a single-item all",
            U,
            json!({"all": [{"path": "$.name", "eq": "bob"}]}),
            none(),
            &["bob"],
        ),
        (
            "no when: everything selected is a finding",
            R,
            Value::Null,
            none(),
            &["deploy", "future", "open"],
        ),
    ]
}

#[test]
fn not_any_all() {
    run(not_any_all_cases());
}

fn several_values_any_semantics_cases() -> Vec<OpCase> {
    vec![
        (
            "[*] eq: some element",
            U,
            json!({"path": "$.groups[*]", "eq": "ops"}),
            none(),
            &["alice"],
        ),
        (
            "[*] ne: some element differs",
            U,
            json!({"path": "$.groups[*]", "ne": "devs"}),
            none(),
            &["alice", "carol"],
        ),
        (
            "not [*] glob: in no such group (also: in no group)",
            U,
            json!({"not": {"path": "$.groups[*]", "glob": "ad*"}}),
            none(),
            &["alice", "bob"],
        ),
        (
            "[*] over an empty list is missing",
            U,
            json!({"path": "$.groups[*]", "exists": false}),
            none(),
            &["bob"],
        ),
        (
            "[*] in",
            U,
            json!({"path": "$.groups[*]", "in": ["admins", "ops"]}),
            none(),
            &["alice", "carol"],
        ),
        (
            "[*] not_in: some element outside",
            U,
            json!({"path": "$.groups[*]", "not_in": ["devs"]}),
            none(),
            &["alice", "carol"],
        ),
        (
            "tags.* (values of an object)",
            U,
            json!({"path": "$.tags.*", "eq": "platform"}),
            none(),
            &["alice"],
        ),
        (
            "a filter inside a path",
            P,
            json!({"path": "$.versions[?@.is_default == false].document", "admin_access": true}),
            none(),
            &["p-history"],
        ),
        (
            "every version's document",
            P,
            json!({"path": "$.versions[*].document", "admin_access": true}),
            none(),
            &["p-admin", "p-cond", "p-history", "p-notaction", "p-string"],
        ),
        (
            "[0] selects one",
            U,
            json!({"path": "$.groups[0]", "eq": "ops"}),
            none(),
            &[],
        ),
        (
            "[-1] counts from the end",
            U,
            json!({"path": "$.groups[-1]", "eq": "ops"}),
            none(),
            &["alice"],
        ),
    ]
}

#[test]
fn several_values_any_semantics() {
    run(several_values_any_semantics_cases());
}

fn params_in_operands_cases() -> Vec<OpCase> {
    vec![
        (
            "\"{{params.days}}d\" renders text",
            K,
            json!({"path": "$.created_at", "older_than": "{{params.days}}d"}),
            json!({"days": 90}),
            &["AKIAALICE1", "AKIAALICE2", "AKIABOB1"],
        ),
        (
            "\"{{params.n}}\" keeps a number a number",
            U,
            json!({"path": "$.active_access_key_count", "ge": "{{params.n}}"}),
            json!({"n": 2}),
            &["bob"],
        ),
        (
            "\"{{params.n}}\" keeps a string a string",
            U,
            json!({"path": "$.active_access_key_count", "ge": "{{params.n}}"}),
            json!({"n": "2"}),
            &[],
        ),
        (
            "spaces inside the braces",
            U,
            json!({"path": "$.active_access_key_count", "eq": "{{ params.n }}"}),
            json!({"n": 1}),
            &["alice", "carol"],
        ),
        (
            "a boolean param",
            U,
            json!({"path": "$.password_enabled", "eq": "{{params.console}}"}),
            json!({"console": true}),
            &["alice"],
        ),
        (
            "params in list items",
            U,
            json!({"path": "$.name", "in": ["{{params.a}}", "{{params.b}}"]}),
            json!({"a": "alice", "b": "carol"}),
            &["alice", "carol"],
        ),
        (
            "params in not_in items",
            U,
            json!({"path": "$.name", "not_in": ["{{params.a}}"]}),
            json!({"a": "alice"}),
            &["bob", "carol"],
        ),
        (
            "params in a regex",
            U,
            json!({"path": "$.name", "regex": "^{{params.prefix}}"}),
            json!({"prefix": "ca"}),
            &["carol"],
        ),
        (
            "params in a glob",
            U,
            json!({"path": "$.arn", "glob": "arn:aws:iam::{{params.acct}}:user/svc/*"}),
            json!({"acct": "111122223333"}),
            &["bob"],
        ),
        (
            "params in contains",
            U,
            json!({"path": "$.groups", "contains": "{{params.g}}"}),
            json!({"g": "admins"}),
            &["carol"],
        ),
        (
            "params in newer_than",
            U,
            json!({"path": "$.created_at", "newer_than": "{{params.weeks}}w"}),
            json!({"weeks": 13}),
            &["carol"],
        ),
    ]
}

#[test]
fn params_in_operands() {
    run(params_in_operands_cases());
}

fn selectors_and_filters_cases() -> Vec<OpCase> {
    let no = || Value::Null;
    vec![
        ("filter on status", "$.access_keys[?(@.status == 'Active')]", no(), none(),
            &["AKIAALICE1", "AKIABOB1", "AKIABOB2", "AKIACAROL1"]),
        ("filter without parentheses", "$.access_keys[?@.status == 'Inactive']", no(), none(), &["AKIAALICE2"]),
        ("filter and when together", "$.access_keys[?(@.status == 'Active')]",
            json!({"path": "$.last_used_at", "absent": true}), none(), &["AKIABOB1"]),
        ("the filter runs before when", "$.access_keys[?(@.status == 'Inactive')]",
            json!({"path": "$.last_used_at", "absent": true}), none(), &["AKIAALICE2"]),
        ("!= on a missing field holds in a filter", "$.users[?(@.tags.team != 'platform')]", no(), none(), &["bob", "carol"]),
        ("== on a nested field", "$.users[?(@.tags.team == 'platform')]", no(), none(), &["alice"]),
        ("negation", "$.users[?(!(@.name == 'alice'))]", no(), none(), &["bob", "carol"]),
        ("&&", "$.users[?(@.password_enabled == true && @.mfa_enabled == false)]", no(), none(), &["alice"]),
        ("||", "$.users[?(@.name == 'bob' || @.permissions_boundary == 'arn:aws:iam::111122223333:policy/boundary')]",
            no(), none(), &["bob", "carol"]),
        ("existence test", "$.users[?@.permissions_boundary]", no(), none(), &["carol"]),
        ("numeric comparison", "$.access_keys[?(@.user_active_key_count >= 2)]", no(), none(), &["AKIABOB1", "AKIABOB2"]),
        ("literal on the left", "$.access_keys[?(2 <= @.user_active_key_count)]", no(), none(), &["AKIABOB1", "AKIABOB2"]),
        ("timestamp strings", "$.access_keys[?(@.created_at < '2026-01-01T00:00:00Z')]", no(), none(),
            &["AKIAALICE2", "AKIABOB1"]),
        ("an index inside a filter", "$.users[?(@.tags.team == 'platform' || @.groups[0] == 'admins')]", no(), none(),
            &["alice", "carol"]),
        ("boolean literal", "$.roles[?(@.service_linked == false)]", no(), none(), &["deploy", "future", "open"]),
        ("[*]", "$.users[*]", no(), none(), ALL_USERS),
        ("the collection itself", "$.access_keys", no(), none(), ALL_KEYS),
        ("the account", "$.account", no(), none(), &["111122223333"]),
    ]
}

#[test]
fn selectors_and_filters() {
    run(selectors_and_filters_cases());
}

fn policy_document_operators_cases() -> Vec<OpCase> {
    let pass = "arn:aws:iam::111122223333:role/prod-web";
    vec![
        (
            "service_wildcards: true",
            P,
            json!({"path": "$.default_document", "service_wildcards": true}),
            none(),
            &["p-admin", "p-cond", "p-history", "p-notaction", "p-string"],
        ),
        (
            "service_wildcards: false",
            P,
            json!({"path": "$.default_document", "service_wildcards": false}),
            none(),
            &["p-denied", "p-pass"],
        ),
        (
            "service_wildcards: [s3]",
            P,
            json!({"path": "$.default_document", "service_wildcards": ["s3"]}),
            none(),
            &["p-admin", "p-cond", "p-history", "p-string"],
        ),
        (
            "passrole_on_any_resource: true",
            P,
            json!({"path": "$.default_document", "passrole_on_any_resource": true}),
            none(),
            &["p-admin", "p-cond", "p-notaction", "p-string"],
        ),
        (
            "passrole_on_any_resource: false",
            P,
            json!({"path": "$.default_document", "passrole_on_any_resource": false}),
            none(),
            &["p-denied", "p-history", "p-pass"],
        ),
        (
            "not_action_allow: true",
            P,
            json!({"path": "$.default_document", "not_action_allow": true}),
            none(),
            &["p-notaction"],
        ),
        (
            "not_resource_allow: true",
            P,
            json!({"path": "$.default_document", "not_resource_allow": true}),
            none(),
            &[],
        ),
        (
            "not_resource_allow: false",
            P,
            json!({"path": "$.default_document", "not_resource_allow": false}),
            none(),
            &[
                "p-admin",
                "p-cond",
                "p-denied",
                "p-history",
                "p-notaction",
                "p-pass",
                "p-string",
            ],
        ),
        (
            "privilege_escalation: true",
            P,
            json!({"path": "$.default_document", "privilege_escalation": true}),
            none(),
            &["p-admin", "p-cond", "p-notaction", "p-string"],
        ),
        (
            "privilege_escalation: false",
            P,
            json!({"path": "$.default_document", "privilege_escalation": false}),
            none(),
            &["p-denied", "p-history", "p-pass"],
        ),
        (
            "unknown_actions: true",
            P,
            json!({"path": "$.default_document", "unknown_actions": true}),
            none(),
            &[],
        ),
        (
            "unknown_actions: false",
            P,
            json!({"path": "$.default_document", "unknown_actions": false}),
            none(),
            &[
                "p-admin",
                "p-cond",
                "p-denied",
                "p-history",
                "p-notaction",
                "p-pass",
                "p-string",
            ],
        ),
        (
            "invalid_arns: true",
            P,
            json!({"path": "$.default_document", "invalid_arns": true}),
            none(),
            &[],
        ),
        (
            "invalid_arns: false",
            P,
            json!({"path": "$.default_document", "invalid_arns": false}),
            none(),
            &[
                "p-admin",
                "p-cond",
                "p-denied",
                "p-history",
                "p-notaction",
                "p-pass",
                "p-string",
            ],
        ),
        (
            "grants_access_level: write",
            P,
            json!({"path": "$.default_document", "grants_access_level": "write"}),
            none(),
            &[
                "p-admin",
                "p-cond",
                "p-history",
                "p-notaction",
                "p-pass",
                "p-string",
            ],
        ),
        (
            "grants_access_level: [permissions_management]",
            P,
            json!({"path": "$.default_document", "grants_access_level": ["permissions_management"]}),
            none(),
            &[
                "p-admin",
                "p-cond",
                "p-history",
                "p-notaction",
                "p-pass",
                "p-string",
            ],
        ),
        (
            "unknown_actions on a trust policy",
            R,
            json!({"path": "$.trust_policy", "unknown_actions": true}),
            none(),
            &["open"],
        ),
        (
            "invalid_arns on a trust policy",
            R,
            json!({"path": "$.trust_policy", "invalid_arns": true}),
            none(),
            &["open"],
        ),
        (
            "not_resource_allow on a trust policy",
            R,
            json!({"path": "$.trust_policy", "not_resource_allow": true}),
            none(),
            &["open"],
        ),
        (
            "any_principal: true",
            R,
            json!({"path": "$.trust_policy", "any_principal": true}),
            none(),
            &["open"],
        ),
        (
            "any_principal: false",
            R,
            json!({"path": "$.trust_policy", "any_principal": false}),
            none(),
            &["deploy"],
        ),
        (
            "admin_access: true (a conditioned Allow counts by default)",
            P,
            json!({"path": "$.default_document", "admin_access": true}),
            none(),
            &["p-admin", "p-cond", "p-notaction", "p-string"],
        ),
        (
            "admin_access with include_conditioned: false",
            P,
            json!({"path": "$.default_document", "admin_access": true, "include_conditioned": false}),
            none(),
            &["p-admin", "p-notaction", "p-string"],
        ),
        (
            "admin_access: false",
            P,
            json!({"path": "$.default_document", "admin_access": false}),
            none(),
            &["p-denied", "p-history", "p-pass"],
        ),
        (
            "a name is not a document",
            P,
            json!({"path": "$.name", "admin_access": false}),
            none(),
            &[],
        ),
        (
            "the derived admin_access field agrees on unconditioned statements",
            P,
            json!({"path": "$.admin_access", "eq": true}),
            none(),
            &["p-admin", "p-notaction", "p-string"],
        ),
        (
            "allows an action on a resource",
            P,
            json!({"path": "$.default_document", "allows": {"action": "iam:PassRole", "resource": pass}}),
            none(),
            &["p-admin", "p-cond", "p-notaction", "p-pass", "p-string"],
        ),
        (
            "action names are case-insensitive",
            P,
            json!({"path": "$.default_document", "allows": {"action": "IAM:passrole", "resource": pass}}),
            none(),
            &["p-admin", "p-cond", "p-notaction", "p-pass", "p-string"],
        ),
        (
            "resource ARNs are case-sensitive",
            P,
            json!({"path": "$.default_document", "allows": {"action": "iam:PassRole", "resource": "arn:aws:iam::111122223333:role/PROD-web"}}),
            none(),
            &["p-admin", "p-cond", "p-notaction", "p-string"],
        ),
        (
            "the resource defaults to *",
            P,
            json!({"path": "$.default_document", "allows": {"action": "iam:PassRole"}}),
            none(),
            &["p-admin", "p-cond", "p-notaction", "p-string"],
        ),
        (
            "Deny overrides Allow; NotAction excludes",
            P,
            json!({"path": "$.default_document", "allows": {"action": "s3:DeleteBucket"}}),
            none(),
            &["p-admin", "p-cond", "p-history", "p-string"],
        ),
        (
            "allows with include_conditioned: false",
            P,
            json!({"path": "$.default_document", "allows": {"action": "iam:PassRole", "resource": pass}, "include_conditioned": false}),
            none(),
            &["p-admin", "p-notaction", "p-pass", "p-string"],
        ),
        (
            "a trust policy without Resource covers every resource",
            R,
            json!({"path": "$.trust_policy", "allows": {"action": "sts:AssumeRole"}}),
            none(),
            &["deploy", "open"],
        ),
    ]
}

#[test]
fn policy_document_operators() {
    run(policy_document_operators_cases());
}

#[test]
fn evidence_records_what_each_leaf_saw() {
    let p = plan_of(
        K,
        &json!({"all": [
            {"path": "$.last_used_at", "fallback": "$.created_at", "older_than": "{{params.days}}d"},
            {"not": {"path": "$.status", "eq": "Inactive"}},
            {"path": "$.user_tags.*", "exists": false}]}),
        &json!({"days": 90}),
    )
    .unwrap();
    let f = p
        .findings
        .iter()
        .find(|f| f.resource.id == "AKIABOB1")
        .unwrap();
    assert_eq!(f.evidence.len(), 3, "{:?}", f.evidence);
    assert_eq!(&*f.evidence[0].path, "$.created_at");
    assert_eq!(*f.evidence[0].expected, json!("90d"));
    assert_eq!(f.evidence[0].actual, json!("2025-11-01T00:00:00Z"));
    assert!(f.evidence[0].held && !f.evidence[0].negated);
    assert_eq!(&*f.evidence[1].path, "$.status");
    assert_eq!(f.evidence[1].actual, json!("Active"));
    assert!(!f.evidence[1].held && f.evidence[1].negated);
    assert_eq!(f.evidence[2].actual, Value::Null);
    // Several values are shown as a list.
    let p = plan_of(U, &json!({"path": "$.groups[*]", "eq": "ops"}), &none()).unwrap();
    assert_eq!(p.findings[0].evidence[0].actual, json!(["devs", "ops"]));
    // The title's params are filled in once.
    let path = temp_pack(
        "title",
        "pack: {name: t/title, version: 1.0.0}\nrules:\n  - id: titled\n    title: Keys unused for {{params.days}} days\n    severity: low\n    params: {days: 45}\n    select: $.access_keys\n",
    );
    let rules = load(&[path]).unwrap();
    assert_eq!(&*rules.rules[0].title, "Keys unused for 45 days");
}

// ---------------------------------------------------------------------------------------------
// Load errors
// ---------------------------------------------------------------------------------------------

/// Every case of the tables above.
fn all_cases() -> Vec<OpCase> {
    [
        equality_cases(),
        ordering_cases(),
        membership_and_text_cases(),
        presence_and_emptiness_cases(),
        ages_cases(),
        missing_values_fallback_and_if_missing_cases(),
        not_any_all_cases(),
        several_values_any_semantics_cases(),
        params_in_operands_cases(),
        selectors_and_filters_cases(),
        policy_document_operators_cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[test]
fn every_registered_operator_has_a_holding_and_a_not_holding_case() {
    // A case counts for an operator when its condition is one leaf with that operator: it
    // holds when the case flags something, and does not hold when `not` of the same leaf
    // flags something (a selected resource for which the leaf did not hold).
    let mut holding = std::collections::BTreeSet::new();
    let mut not_holding = std::collections::BTreeSet::new();
    for (what, select, when, params, want) in all_cases() {
        let Some(obj) = when.as_object().filter(|o| o.contains_key("path")) else {
            continue;
        };
        let Some(op) = iamwarden_core::ops::keys().find(|k| obj.contains_key(*k)) else {
            continue;
        };
        if !want.is_empty() {
            holding.insert(op);
        }
        if !not_holding.contains(op) {
            let negated = flagged(select, &json!({"not": when}), &params)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            if !negated.is_empty() {
                not_holding.insert(op);
            }
        }
    }
    let missing: Vec<String> = iamwarden_core::ops::keys()
        .filter_map(|k| match (holding.contains(k), not_holding.contains(k)) {
            (true, true) => None,
            (h, n) => Some(format!(
                "{k}:{}{}",
                if h { "" } else { " no holding case" },
                if n { "" } else { " no not-holding case" }
            )),
        })
        .collect();
    assert!(
        missing.is_empty(),
        "operators without cases:\n{}",
        missing.join("\n")
    );
}

/// 1-based line and column of the first occurrence of `needle` in `text`.
fn position(text: &str, needle: &str) -> (usize, usize) {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in the pack"));
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = at - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

const HEAD: &str = "pack:\n  name: t/errors\n  version: 1.0.0\nrules:\n";

/// A load-error case: the pack text (after HEAD), where the error must point (`needle`), the rule
/// id, the field, and text the message must contain.
struct ErrCase {
    what: &'static str,
    rules: &'static str,
    needle: &'static str,
    rule: &'static str,
    field: &'static str,
    message: &'static [&'static str],
}

fn error_cases() -> Vec<ErrCase> {
    vec![
        ErrCase {
            what: "bad JSONPath in select",
            rules: "  - id: bad-path\n    title: t\n    severity: low\n    select: \"$.users[?(@.name == )]\"\n",
            needle: "\"$.users[?(",
            rule: "bad-path",
            field: "select",
            message: &["invalid JSONPath"],
        },
        ErrCase {
            what: "unknown collection, with did-you-mean",
            rules: "  - id: bad-collection\n    title: t\n    severity: low\n    select: $.userz\n",
            needle: "$.userz",
            rule: "bad-collection",
            field: "select",
            message: &["unknown collection `userz`", "did you mean `users`?"],
        },
        ErrCase {
            what: "a path into a record as selector",
            rules: "  - id: bad-shape\n    title: t\n    severity: low\n    select: \"$.users[*].tags\"\n",
            needle: "\"$.users[*].tags\"",
            rule: "bad-shape",
            field: "select",
            message: &["a selector picks whole resources of one collection"],
        },
        ErrCase {
            what: "unknown operator field, with did-you-mean",
            rules: "  - id: bad-op\n    title: t\n    severity: low\n    select: $.access_keys\n    when:\n      path: $.created_at\n      older_thn: 90d\n",
            needle: "older_thn",
            rule: "bad-op",
            field: "when.older_thn",
            message: &["unknown field `older_thn`", "did you mean `older_than`?"],
        },
        ErrCase {
            what: "unknown field in the first path segment",
            rules: "  - id: bad-field\n    title: t\n    severity: low\n    select: $.users\n    when:\n      path: $.nmae\n      eq: alice\n",
            needle: "$.nmae",
            rule: "bad-field",
            field: "when.path",
            message: &["`users` has no field `nmae`", "did you mean `name`?"],
        },
        ErrCase {
            what: "bad duration",
            rules: "  - id: bad-duration\n    title: t\n    severity: low\n    select: $.access_keys\n    when:\n      path: $.created_at\n      older_than: 90x\n",
            needle: "90x",
            rule: "bad-duration",
            field: "when.older_than",
            message: &["invalid duration `90x`"],
        },
        ErrCase {
            what: "bad duration deep in a condition",
            rules: "  - id: deep-duration\n    title: t\n    severity: low\n    select: $.access_keys\n    when:\n      all:\n        - {path: $.status, eq: Active}\n        - not: {path: $.created_at, newer_than: 1.5d}\n",
            needle: "1.5d",
            rule: "deep-duration",
            field: "when.all[1].not.newer_than",
            message: &["invalid duration `1.5d`"],
        },
        ErrCase {
            what: "bad regex",
            rules: "  - id: bad-regex\n    title: t\n    severity: low\n    select: $.users\n    when:\n      path: $.name\n      regex: '(unclosed'\n",
            needle: "'(unclosed'",
            rule: "bad-regex",
            field: "when.regex",
            message: &["invalid regex"],
        },
        ErrCase {
            what: "template with an unknown variable in a tag step",
            rules: "  - id: bad-template\n    title: t\n    severity: low\n    select: $.users\n    remediation:\n      - step: tag\n        params:\n          tags:\n            owner: \"{{resource.nmae}}\"\n",
            // A block mapping is located at its first key (yaml-rust2 put it at the key's `:`).
            needle: "owner: \"{{resource.nmae}}\"",
            rule: "bad-template",
            field: "remediation[0].params.tags",
            message: &["unknown variable `resource.nmae`", "`users` has no field `nmae`"],
        },
        ErrCase {
            what: "unknown param in an operand template",
            rules: "  - id: bad-param\n    title: t\n    severity: low\n    params: {days: 90}\n    select: $.access_keys\n    when:\n      path: $.created_at\n      older_than: \"{{params.dayz}}d\"\n",
            needle: "\"{{params.dayz}}d\"",
            rule: "bad-param",
            field: "when.older_than",
            message: &["unknown variable `params.dayz`", "did you mean `days`?"],
        },
        ErrCase {
            what: "unknown param in a typed operand",
            rules: "  - id: bad-typed-param\n    title: t\n    severity: low\n    params: {min: 2}\n    select: $.users\n    when:\n      path: $.active_access_key_count\n      ge: \"{{params.mni}}\"\n",
            needle: "\"{{params.mni}}\"",
            rule: "bad-typed-param",
            field: "when.ge",
            message: &["unknown variable `params.mni`", "did you mean `min`?"],
        },
        ErrCase {
            what: "unknown param in the title",
            rules: "  - id: bad-title\n    title: Unused for {{params.dayz}} days\n    severity: low\n    params: {days: 90}\n    select: $.users\n",
            needle: "Unused for",
            rule: "bad-title",
            field: "title",
            message: &["unknown variable `params.dayz`"],
        },
        ErrCase {
            what: "a key step on users",
            rules: "  - id: wrong-collection\n    title: t\n    severity: low\n    select: $.users\n    remediation:\n      - step: deactivate_access_key\n",
            needle: "deactivate_access_key",
            rule: "wrong-collection",
            field: "remediation[0].step",
            message: &["`deactivate_access_key` acts on access_keys, but this rule selects `$.users`"],
        },
        ErrCase {
            what: "an unknown when_params name",
            rules: "  - id: bad-when-params\n    title: t\n    severity: low\n    params: {action: report}\n    select: $.users\n    remediation:\n      - step: quarantine_user\n        when_params: {acton: quarantine}\n",
            needle: "quarantine}",
            rule: "bad-when-params",
            field: "remediation[0].when_params.acton",
            message: &["`acton` is not a parameter of this rule", "did you mean `action`?"],
        },
        ErrCase {
            what: "an unknown step parameter",
            rules: "  - id: bad-step-param\n    title: t\n    severity: low\n    select: $.users\n    remediation:\n      - step: detach_user_policy\n        params:\n          policy_arn: [\"arn:aws:iam::*:policy/x\"]\n",
            needle: "[\"arn:aws",
            rule: "bad-step-param",
            field: "remediation[0].params.policy_arn",
            message: &["has no parameter `policy_arn`", "did you mean `policy_arns`?"],
        },
        ErrCase {
            what: "include_conditioned outside the policy operators",
            rules: "  - id: bad-include\n    title: t\n    severity: low\n    select: $.users\n    when: {path: $.name, eq: x, include_conditioned: true}\n",
            needle: "true}",
            rule: "bad-include",
            field: "when.include_conditioned",
            message: &["only applies to the policy-document operators (admin_access, allows,"],
        },
        ErrCase {
            what: "two operators in one leaf",
            rules: "  - id: two-ops\n    title: t\n    severity: low\n    select: $.users\n    when:\n      path: $.name\n      eq: a\n      ne: b\n",
            needle: "path: $.name",
            rule: "two-ops",
            field: "when",
            message: &["a leaf has exactly one operator"],
        },
        ErrCase {
            what: "an unknown severity",
            rules: "  - id: bad-severity\n    title: t\n    severity: hihg\n    select: $.users\n",
            needle: "hihg",
            rule: "bad-severity",
            field: "severity",
            message: &["unknown value `hihg`", "did you mean `high`?"],
        },
    ]
}

fn load_error(text: &str) -> (String, String) {
    let path = temp_pack("error", text);
    match load(std::slice::from_ref(&path)) {
        Ok(_) => panic!("the pack loaded:\n{text}"),
        Err(d) => (path, d.to_string()),
    }
}

#[test]
fn load_errors_name_file_position_rule_and_field() {
    let mut failures = Vec::new();
    for c in error_cases() {
        let text = format!("{HEAD}{}", c.rules);
        let path = temp_pack("error", &text);
        let shown = match load(std::slice::from_ref(&path)) {
            Ok(_) => {
                failures.push(format!("{}: the pack loaded", c.what));
                continue;
            }
            Err(d) => d.to_string(),
        };
        let (line, col) = position(&text, c.needle);
        let head = format!(
            "{path}:{line}:{col}: error in rule `{}`, field `{}`: ",
            c.rule, c.field
        );
        let mut problems = Vec::new();
        if !shown.contains(&head) {
            problems.push(format!("expected `{head}`"));
        }
        for m in c.message {
            if !shown.contains(m) {
                problems.push(format!("expected `{m}`"));
            }
        }
        if !shown.ends_with("\n1 error") {
            problems.push("expected exactly one error".to_string());
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n--- got:\n{shown}",
                c.what,
                problems.join("; ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn two_errors_in_two_rules_are_reported_together() {
    let text = format!(
        "{HEAD}  - id: first\n    title: t\n    severity: low\n    select: $.access_keys\n    when: {{path: $.created_at, older_than: 90x}}\n  - id: second\n    title: t\n    severity: low\n    select: $.users\n    when: {{path: $.name, regex: '[z-a]'}}\n"
    );
    let (path, shown) = load_error(&text);
    let (l1, c1) = position(&text, "90x");
    let (l2, c2) = position(&text, "'[z-a]'");
    assert!(
        shown.contains(&format!(
            "{path}:{l1}:{c1}: error in rule `first`, field `when.older_than`: invalid duration"
        )),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "{path}:{l2}:{c2}: error in rule `second`, field `when.regex`: invalid regex"
        )),
        "{shown}"
    );
    assert!(shown.ends_with("\n2 errors"), "{shown}");
    // The caret line points under the value.
    assert!(
        shown.contains("    |     when: {path: $.created_at, older_than: 90x}\n"),
        "{shown}"
    );
}

#[test]
fn structural_errors_in_two_rules_are_reported_together() {
    let text = format!(
        "{HEAD}  - id: first\n    titel: t\n    title: t\n    severity: low\n    select: $.users\n  - id: second\n    title: t\n    severity: low\n    select: $.users\n    remediation:\n      - step: deactivate_key\n"
    );
    let (path, shown) = load_error(&text);
    let (l1, c1) = position(&text, "titel");
    let (l2, c2) = position(&text, "deactivate_key");
    assert!(
        shown.contains(&format!("{path}:{l1}:{c1}: error in rule `first`, field `titel`: unknown field `titel` (did you mean `title`?)")),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("{path}:{l2}:{c2}: error in rule `second`, field `remediation[0].step`: unknown value `deactivate_key`")),
        "{shown}"
    );
    assert!(shown.ends_with("\n2 errors"), "{shown}");
}

#[test]
fn errors_in_two_packs_are_reported_together_and_nothing_loads() {
    let a = "pack:\n  name: t/a\n  version: 1.0.0\nrules:\n  - id: in-a\n    title: t\n    severity: low\n    select: $.groupz\n".to_string();
    let b = "pack:\n  name: t/b\n  version: 1.0.0\nrules:\n  - id: in-b\n    title: t\n    severity: low\n    select: $.users\n    when: {path: $.created_at, newer_than: '90'}\n  - id: fine\n    title: t\n    severity: low\n    select: $.users\n".to_string();
    let pa = temp_pack("a", &a);
    let pb = temp_pack("b", &b);
    let shown = match load(&[pa.clone(), pb.clone()]) {
        Ok(_) => panic!("loaded"),
        Err(d) => d.to_string(),
    };
    let (la, ca) = position(&a, "$.groupz");
    let (lb, cb) = position(&b, "'90'");
    assert!(
        shown.contains(&format!(
            "{pa}:{la}:{ca}: error in rule `in-a`, field `select`: unknown collection `groupz`"
        )),
        "{shown}"
    );
    assert!(shown.contains("did you mean `groups`?"), "{shown}");
    assert!(
        shown.contains(&format!(
            "{pb}:{lb}:{cb}: error in rule `in-b`, field `when.newer_than`: invalid duration `90`"
        )),
        "{shown}"
    );
    assert!(shown.ends_with("\n2 errors"), "{shown}");
}

#[test]
fn a_duplicate_rule_id_across_packs_is_an_error() {
    let text = |pack: &str| {
        format!("pack:\n  name: {pack}\n  version: 1.0.0\nrules:\n  - id: same\n    title: t\n    severity: low\n    select: $.users\n")
    };
    let pa = temp_pack("dup-a", &text("t/a"));
    let pb = temp_pack("dup-b", &text("t/b"));
    let shown = match load(&[pa.clone(), pb.clone()]) {
        Ok(_) => panic!("loaded"),
        Err(d) => d.to_string(),
    };
    assert!(
        shown.contains(&format!(
            "{pb}:5:9: error in rule `same`, field `id`: rule id `same` is already defined in {pa}"
        )),
        "{shown}"
    );
}

mod yaml_table {
    //! The cases of the former `tests/operators.rs` (pack text written as YAML, a second small
    //! inventory), kept whole: each one still runs.
    //!
    //! Rule semantics, table-driven: every condition operator, missing values, fallback,
    //! if_missing, all/any/not, several values, parameters, selector filters and policy operators,
    //! each through a real pack evaluated on a small inventory.

    use serde_json::json;

    const NOW: &str = "2026-11-01T00:00:00Z";

    fn inventory() -> iamwarden_core::inventory::Inventory {
        let doc = json!({
            "account": {"id": "111122223333"},
            "users": [
                {"id": "AIDA1", "arn": "arn:aws:iam::111122223333:user/alice", "name": "alice",
                 "created_at": "2026-01-01T00:00:00Z", "password_last_used_at": "2026-08-03T00:00:00Z",
                 "groups": ["devs", "ops"], "tags": {"team": "platform", "cost": "42"}},
                {"id": "AIDA2", "arn": "arn:aws:iam::111122223333:user/svc/bob", "name": "bob", "path": "/svc/",
                 "created_at": "2025-11-01T00:00:00Z", "tags": {}}
            ],
            "access_keys": [
                {"id": "AKIA1", "user": "alice", "status": "Active", "created_at": "2026-08-03T00:00:00Z",
                 "last_used_at": "2026-10-31T00:00:00Z"},
                {"id": "AKIA2", "user": "bob", "status": "Inactive", "created_at": "2025-11-01T00:00:00Z"}
            ],
            "managed_policies": [
                {"id": "arn:aws:iam::111122223333:policy/p", "arn": "arn:aws:iam::111122223333:policy/p",
                 "name": "p", "default_version_id": "v1",
                 "versions": [{"version_id": "v1", "document": {"Statement": [
                    {"Effect": "Allow", "Action": ["iam:PassRole", "s3:*"], "Resource": "*"},
                    {"Effect": "Deny", "Action": "s3:Delete*", "Resource": "*"}]}}]}
            ]
        });
        iamwarden_core::inventory::snapshot::parse(doc.to_string().as_bytes(), "ops").unwrap()
    }

    /// The ids a rule with this selector, condition and params matches.
    fn matches(select: &str, when: &str, params: &str) -> Result<Vec<String>, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("case.yaml");
        let text = format!(
            "pack: {{name: t/ops, version: 1.0.0}}\nrules:\n  - id: case\n    title: t\n    severity: low\n    params: {params}\n    select: \"{select}\"\n    when: {when}\n"
        );
        std::fs::write(&path, text).unwrap();
        let rules = iamwarden_core::packs::load_rule_set(&[path.display().to_string()])
            .map_err(|d| d.to_string())?;
        let now = chrono::DateTime::parse_from_rfc3339(NOW)
            .unwrap()
            .with_timezone(&chrono::Utc);
        let plan = iamwarden_core::pipeline::make_plan(&rules, &inventory(), now, now);
        let mut ids: Vec<String> = plan
            .findings
            .iter()
            .map(|f| f.resource.id.clone())
            .collect();
        ids.sort();
        Ok(ids)
    }

    #[test]
    fn operators_table() {
        // (selector, condition, params, expected matching ids)
        let cases: &[(&str, &str, &str, &[&str])] = &[
            ("$.users", "{path: $.name, eq: alice}", "{}", &["AIDA1"]),
            ("$.users", "{path: $.tags.cost, eq: '42'}", "{}", &["AIDA1"]),
            (
                "$.access_keys",
                "{path: $.user_active_key_count, eq: 1.0}",
                "{}",
                &["AKIA1"],
            ),
            ("$.users", "{path: $.name, ne: alice}", "{}", &["AIDA2"]),
            (
                "$.users",
                "{path: $.access_key_ids, ne: []}",
                "{}",
                &["AIDA1", "AIDA2"],
            ),
            (
                "$.users",
                "{path: $.created_at, lt: '2026-01-01T00:00:00Z'}",
                "{}",
                &["AIDA2"],
            ),
            (
                "$.users",
                "{path: $.created_at, le: '2026-01-01T00:00:00Z'}",
                "{}",
                &["AIDA1", "AIDA2"],
            ),
            (
                "$.users",
                "{path: $.created_at, gt: '2026-01-01T00:00:00+00:00'}",
                "{}",
                &[],
            ),
            (
                "$.users",
                "{path: $.created_at, ge: '2026-01-01T01:00:00+01:00'}",
                "{}",
                &["AIDA1"],
            ),
            (
                "$.access_keys",
                "{path: $.user_active_key_count, gt: 0}",
                "{}",
                &["AKIA1"],
            ),
            ("$.users", "{path: $.name, lt: b}", "{}", &["AIDA1"]),
            (
                "$.users",
                "{path: $.name, in: [bob, carol]}",
                "{}",
                &["AIDA2"],
            ),
            (
                "$.users",
                "{path: $.name, not_in: [bob, carol]}",
                "{}",
                &["AIDA1"],
            ),
            (
                "$.users",
                "{path: $.arn, contains: ':user/svc/'}",
                "{}",
                &["AIDA2"],
            ),
            (
                "$.users",
                "{path: $.groups, contains: ops}",
                "{}",
                &["AIDA1"],
            ),
            (
                "$.users",
                "{path: $.tags, contains: team}",
                "{}",
                &["AIDA1"],
            ),
            (
                "$.users",
                "{path: $.name, regex: '^b.b$'}",
                "{}",
                &["AIDA2"],
            ),
            (
                "$.users",
                "{path: $.arn, glob: 'arn:aws:iam::*:user/svc/*'}",
                "{}",
                &["AIDA2"],
            ),
            (
                "$.users",
                "{path: $.arn, glob: 'arn:aws:iam::*:user/SVC/*'}",
                "{}",
                &[],
            ),
            (
                "$.users",
                "{path: $.password_last_used_at, exists: true}",
                "{}",
                &["AIDA1"],
            ),
            (
                "$.users",
                "{path: $.password_last_used_at, exists: false}",
                "{}",
                &["AIDA2"],
            ),
            (
                "$.users",
                "{path: $.password_last_used_at, absent: true}",
                "{}",
                &["AIDA2"],
            ),
            ("$.users", "{path: $.tags, empty: true}", "{}", &["AIDA2"]),
            (
                "$.users",
                "{path: $.groups, empty: false}",
                "{}",
                &["AIDA1"],
            ),
            (
                "$.users",
                "{path: $.path, empty: false}",
                "{}",
                &["AIDA1", "AIDA2"],
            ),
            // Exactly 90 days old counts as older_than 90d; 89 days does not.
            (
                "$.users",
                "{path: $.password_last_used_at, older_than: 90d}",
                "{}",
                &["AIDA1"],
            ),
            (
                "$.users",
                "{path: $.password_last_used_at, older_than: 91d}",
                "{}",
                &[],
            ),
            (
                "$.users",
                "{path: $.password_last_used_at, newer_than: 91d}",
                "{}",
                &["AIDA1"],
            ),
            (
                "$.users",
                "{path: $.password_last_used_at, newer_than: 90d}",
                "{}",
                &[],
            ),
            (
                "$.users",
                "{path: $.created_at, older_than: 1w2d}",
                "{}",
                &["AIDA1", "AIDA2"],
            ),
            // Missing values: no match by default, match on request, fallback first.
            (
                "$.users",
                "{path: $.password_last_used_at, older_than: 30d}",
                "{}",
                &["AIDA1"],
            ),
            (
                "$.users",
                "{path: $.password_last_used_at, older_than: 30d, if_missing: match}",
                "{}",
                &["AIDA1", "AIDA2"],
            ),
            (
                "$.users",
                "{path: $.password_last_used_at, fallback: $.created_at, older_than: 300d}",
                "{}",
                &["AIDA2"],
            ),
            (
                "$.access_keys",
                "{path: $.last_used_at, fallback: $.created_at, older_than: 90d}",
                "{}",
                &["AKIA2"],
            ),
            (
                "$.users",
                "{path: $.tags.nonexistent, exists: false}",
                "{}",
                &["AIDA1", "AIDA2"],
            ),
            // Trees.
            (
                "$.users",
                "{all: [{path: $.name, ne: bob}, {path: $.groups, contains: devs}]}",
                "{}",
                &["AIDA1"],
            ),
            (
                "$.users",
                "{any: [{path: $.name, eq: bob}, {path: $.groups, contains: devs}]}",
                "{}",
                &["AIDA1", "AIDA2"],
            ),
            (
                "$.users",
                "{not: {path: $.name, eq: bob}}",
                "{}",
                &["AIDA1"],
            ),
            (
                "$.users",
                "{not: {not: {path: $.name, eq: bob}}}",
                "{}",
                &["AIDA2"],
            ),
            // Several values: any of them.
            (
                "$.users",
                "{path: '$.groups[*]', eq: ops}",
                "{}",
                &["AIDA1"],
            ),
            (
                "$.users",
                "{path: '$.groups[*]', regex: '^o'}",
                "{}",
                &["AIDA1"],
            ),
            // Parameters in operands keep their type when the operand is only the parameter.
            (
                "$.users",
                "{path: $.password_last_used_at, older_than: '{{params.days}}d'}",
                "{days: 90}",
                &["AIDA1"],
            ),
            (
                "$.access_keys",
                "{path: $.user_active_key_count, ge: '{{params.n}}'}",
                "{n: 1}",
                &["AKIA1"],
            ),
            (
                "$.users",
                "{path: $.tags.cost, eq: '{{params.cost}}'}",
                "{cost: '42'}",
                &["AIDA1"],
            ),
            // Selector filters.
            (
                "$.access_keys[?(@.status == 'Active')]",
                "{path: $.id, exists: true}",
                "{}",
                &["AKIA1"],
            ),
            (
                "$.access_keys[?(@.status != 'Active')]",
                "{path: $.id, exists: true}",
                "{}",
                &["AKIA2"],
            ),
            (
                "$.users[?(@.path == '/svc/' || @.name == 'alice')]",
                "{path: $.id, exists: true}",
                "{}",
                &["AIDA1", "AIDA2"],
            ),
            (
                "$.users[?(@.tags.team == 'platform')]",
                "{path: $.id, exists: true}",
                "{}",
                &["AIDA1"],
            ),
            (
                "$.users[*]",
                "{path: $.id, exists: true}",
                "{}",
                &["AIDA1", "AIDA2"],
            ),
            // Policy operators: IAM wildcards, case-insensitive actions, Deny overriding Allow.
            (
                "$.managed_policies",
                "{path: $.default_document, allows: {action: 'IAM:passrole'}}",
                "{}",
                &["arn:aws:iam::111122223333:policy/p"],
            ),
            (
                "$.managed_policies",
                "{path: $.default_document, allows: {action: 's3:GetObject'}}",
                "{}",
                &["arn:aws:iam::111122223333:policy/p"],
            ),
            (
                "$.managed_policies",
                "{path: $.default_document, allows: {action: 's3:DeleteBucket'}}",
                "{}",
                &[],
            ),
            (
                "$.managed_policies",
                "{path: $.default_document, admin_access: true}",
                "{}",
                &[],
            ),
            (
                "$.managed_policies",
                "{path: $.default_document, admin_access: false}",
                "{}",
                &["arn:aws:iam::111122223333:policy/p"],
            ),
        ];
        let mut failures = Vec::new();
        for (select, when, params, want) in cases {
            match matches(select, when, params) {
                Ok(got) if got == *want => {}
                Ok(got) => failures.push(format!("{select} / {when}: got {got:?}, want {want:?}")),
                Err(e) => failures.push(format!("{select} / {when}: did not load:\n{e}")),
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} cases failed:\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn load_errors_name_file_line_col_rule_and_field() {
        let cases: &[(&str, &str, &str)] = &[
            ("$.users[", "{path: $.name, eq: x}", "invalid JSONPath"),
            ("$.userz", "{path: $.name, eq: x}", "did you mean `users`?"),
            ("$.users", "{path: $.name, eqq: x}", "unknown field `eqq`"),
            (
                "$.users",
                "{path: $.created_at, older_than: 90x}",
                "invalid duration `90x`",
            ),
            ("$.users", "{path: $.name, regex: '('}", "invalid regex"),
            ("$.users", "{path: $.nmae, eq: x}", "did you mean `name`?"),
            (
                "$.users",
                "{path: $.created_at, older_than: '{{params.dayz}}d'}",
                "did you mean `days`?",
            ),
            ("$.users", "{path: $.name}", "needs an operator"),
            (
                "$.users",
                "{path: $.name, eq: a, ne: b}",
                "exactly one operator",
            ),
            (
                "$.users[?(@.nmae == 'x')]",
                "{path: $.name, eq: x}",
                "did you mean `name`?",
            ),
            (
                "$.users[0]",
                "{path: $.name, eq: x}",
                "whole resources of one collection",
            ),
        ];
        for (select, when, want) in cases {
            let err = matches(select, when, "{days: 90}").unwrap_err();
            assert!(err.contains(want), "{select} / {when}: {err}");
            assert!(err.contains("case.yaml:"), "names the file: {err}");
            assert!(err.contains("rule `case`"), "names the rule: {err}");
            let located = err
                .lines()
                .next()
                .unwrap()
                .split(':')
                .nth(1)
                .is_some_and(|l| l.parse::<u32>().is_ok());
            assert!(located, "file:line:col: {err}");
        }
    }

    #[test]
    fn remediation_load_errors() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, body: &str| {
            let p = dir.path().join(name);
            std::fs::write(
                &p,
                format!(
                    "pack: {{name: t/{}, version: 1.0.0}}\nrules:\n{body}",
                    name.trim_end_matches(".yaml")
                ),
            )
            .unwrap();
            p.display().to_string()
        };
        let wrong_kind = write("a.yaml", "  - id: keys-on-users\n    title: t\n    severity: low\n    select: $.users\n    remediation: [{step: deactivate_access_key}]\n");
        let bad_template = write("b.yaml", "  - id: tag-them\n    title: t\n    severity: low\n    select: $.users\n    remediation:\n      - step: tag\n        params: {tags: {owner: '{{resource.nmae}}'}}\n");
        let err = iamwarden_core::packs::load_rule_set(&[wrong_kind, bad_template])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("rule `keys-on-users`, field `remediation[0].step`"),
            "{err}"
        );
        assert!(err.contains("each key is judged on its own"), "{err}");
        assert!(
            err.contains("rule `tag-them`, field `remediation[0].params.tags`"),
            "{err}"
        );
        assert!(err.contains("unknown variable `resource.nmae`"), "{err}");
        assert!(err.ends_with("2 errors"), "both reported at once: {err}");
    }
}
