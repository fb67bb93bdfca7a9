//! The traps of the built-in rules that matter in production, on small hand-made inventories
//! evaluated at a fixed clock, asserting plan details a hit/miss list cannot (a user's other key,
//! the newest key, Deny cancelling admin, innocent names, exemptions, AWS-managed policies, the
//! password-policy merge), parameter overrides in a copied pack, and the `delete_user` cascade.
//! What each rule flags and the near miss it leaves alone are rule tests in `rules/*.tests.yaml`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Utc};
use iamwarden_core::compile::RuleSet;
use iamwarden_core::inventory::Inventory;
use iamwarden_core::plan::{Action, Plan, Safety};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

const NOW: &str = "2026-11-01T00:00:00Z";
const ACCT: &str = "123456789012";
const ADMIN_ARN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
const READONLY_ARN: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";

// ---------------------------------------------------------------------------------------------
// Building inventories
// ---------------------------------------------------------------------------------------------

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(NOW)
        .unwrap()
        .with_timezone(&Utc)
}

/// `base` with the keys of `extra` set over it (one level deep).
fn with(mut base: Value, extra: Value) -> Value {
    let b = base.as_object_mut().unwrap();
    for (k, v) in extra.as_object().unwrap() {
        b.insert(k.clone(), v.clone());
    }
    base
}

/// An account that none of the account rules flags: a CIS-strength password policy and a root
/// user with MFA and no access key.
fn strong_account() -> Value {
    json!({
        "id": ACCT,
        "password_policy": {
            "minimum_password_length": 14,
            "require_symbols": true,
            "require_numbers": true,
            "require_uppercase_characters": true,
            "require_lowercase_characters": true,
            "allow_users_to_change_password": true,
            "max_password_age": 90,
            "password_reuse_prevention": 24
        },
        "root": {"mfa_enabled": true, "access_keys_present": false}
    })
}

fn user_id(name: &str) -> String {
    format!("AIDA{}", name.to_uppercase())
}

/// A user created at `created`, with `extra` fields.
fn user(name: &str, created: &str, extra: Value) -> Value {
    with(
        json!({
            "id": user_id(name),
            "arn": format!("arn:aws:iam::{ACCT}:user/{name}"),
            "name": name,
            "created_at": created
        }),
        extra,
    )
}

fn key(id: &str, user: &str, status: &str, created: &str, last_used: Option<&str>) -> Value {
    let mut k = json!({"id": id, "user": user, "status": status, "created_at": created});
    if let Some(t) = last_used {
        k = with(k, json!({"last_used_at": t}));
    }
    k
}

fn login(user: &str, created: &str) -> Value {
    json!({"id": user, "user": user, "created_at": created})
}

fn mfa(user: &str) -> Value {
    json!({"id": format!("arn:aws:iam::{ACCT}:mfa/{user}"), "user": user, "virtual": true,
           "enabled_at": "2025-01-01T00:00:00Z"})
}

fn group(name: &str, attached: &[&str]) -> Value {
    json!({"id": format!("AGPA{}", name.to_uppercase()), "arn": format!("arn:aws:iam::{ACCT}:group/{name}"),
           "name": name, "created_at": "2024-01-01T00:00:00Z", "attached_policies": attached})
}

fn role(name: &str, path: &str, attached: &[&str]) -> Value {
    json!({"id": format!("AROA{}", name.to_uppercase().replace('-', "")),
           "arn": format!("arn:aws:iam::{ACCT}:role{path}{name}"), "name": name, "path": path,
           "created_at": "2024-01-01T00:00:00Z", "attached_policies": attached})
}

fn customer_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCT}:policy/{name}")
}

/// A managed policy with versions `(version_id, created_at, document)`; `default` is the default.
fn policy(arn: &str, name: &str, default: &str, versions: &[(&str, &str, Value)]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|(v, t, d)| json!({"version_id": v, "created_at": t, "document": d}))
        .collect();
    json!({"id": arn, "arn": arn, "name": name, "default_version_id": default, "versions": versions})
}

/// A customer-managed policy with a single version `v1`.
fn customer_policy(name: &str, doc: Value) -> Value {
    policy(
        &customer_arn(name),
        name,
        "v1",
        &[("v1", "2025-01-01T00:00:00Z", doc)],
    )
}

fn inline(owner_kind: &str, owner: &str, name: &str, doc: Value) -> Value {
    json!({"id": format!("{owner_kind}/{owner}/{name}"), "owner_kind": owner_kind,
           "owner": owner, "name": name, "document": doc})
}

fn doc(statements: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

fn admin_doc() -> Value {
    doc(json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}]))
}

fn s3_doc() -> Value {
    doc(json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]))
}

/// Allow everything, Deny everything: the Deny wins.
fn denied_admin_doc() -> Value {
    doc(json!([{"Effect": "Allow", "Action": "*", "Resource": "*"},
               {"Effect": "Deny", "Action": "*", "Resource": "*"}]))
}

/// An inventory from `parts` (collections, and optionally `account`) over a strong account.
fn inventory(parts: Value) -> Inventory {
    let doc = with(json!({"account": strong_account()}), parts);
    iamwarden_core::inventory::snapshot::parse(doc.to_string().as_bytes(), "case").unwrap()
}

// ---------------------------------------------------------------------------------------------
// Planning and looking at plans
// ---------------------------------------------------------------------------------------------

fn builtin() -> &'static RuleSet {
    static SET: OnceLock<RuleSet> = OnceLock::new();
    SET.get_or_init(|| iamwarden_core::packs::load_rule_set(&[]).unwrap())
}

fn plan_with(rules: &RuleSet, parts: Value) -> Plan {
    let inv = inventory(parts);
    iamwarden_core::pipeline::make_plan(rules, &inv, now(), now())
}

fn plan(parts: Value) -> Plan {
    plan_with(builtin(), parts)
}

fn found(p: &Plan, rule: &str, id: &str) -> bool {
    p.findings
        .iter()
        .any(|f| &*f.rule == rule && f.resource.id == id)
}

/// The actions on resource `id`.
fn actions_on<'a>(p: &'a Plan, id: &str) -> Vec<&'a Action> {
    p.actions.iter().filter(|a| a.resource.id == id).collect()
}

/// The action `step` on resource `id` that rule `rule` asked for.
fn action<'a>(p: &'a Plan, rule: &str, step: &str, id: &str) -> Option<&'a Action> {
    p.actions.iter().find(|a| {
        a.step().as_str() == step && a.resource.id == id && a.rules.iter().any(|r| r == rule)
    })
}

fn by_rule_on<'a>(p: &'a Plan, rule: &str, id: &str) -> Vec<&'a Action> {
    p.actions
        .iter()
        .filter(|a| a.resource.id == id && a.rules.iter().any(|r| r == rule))
        .collect()
}

fn skip_reason<'a>(p: &'a Plan, rule: &str, id: &str) -> Option<&'a str> {
    p.skipped
        .iter()
        .find(|s| s.rule == rule && s.resource.id == id)
        .map(|s| s.reason.as_str())
}

fn describe(p: &Plan) -> String {
    let f: Vec<String> = p
        .findings
        .iter()
        .map(|f| format!("{} {}", f.rule, f.resource.id))
        .collect();
    let a: Vec<String> = p
        .actions
        .iter()
        .map(|a| format!("{} {} {:?}", a.step(), a.resource.id, a.rules))
        .collect();
    let s: Vec<String> = p
        .skipped
        .iter()
        .map(|s| format!("{} {} {:?}: {}", s.rule, s.resource.id, s.action, s.reason))
        .collect();
    format!("findings: {f:#?}\nactions: {a:#?}\nskipped: {s:#?}")
}

// ---------------------------------------------------------------------------------------------
// Traps
// ---------------------------------------------------------------------------------------------

#[test]
fn only_the_stale_key_of_a_user_is_acted_on() {
    let p = plan(json!({
        "users": [user("kim", "2024-01-01T00:00:00Z", json!({}))],
        "access_keys": [
            key("AKIASTALE", "kim", "Active", "2025-01-01T00:00:00Z", Some("2026-04-01T00:00:00Z")),
            key("AKIAFRESH", "kim", "Active", "2026-10-01T00:00:00Z", Some("2026-10-31T12:00:00Z"))]}));
    assert!(
        found(&p, "access-key-unused", "AKIASTALE"),
        "{}",
        describe(&p)
    );
    assert!(
        !found(&p, "access-key-unused", "AKIAFRESH"),
        "{}",
        describe(&p)
    );
    let stale = actions_on(&p, "AKIASTALE");
    assert_eq!(stale.len(), 1, "{}", describe(&p));
    assert_eq!(stale[0].step().as_str(), "deactivate_access_key");
    // The stale key is also the older of two active keys: both rules share one action (and
    // access-key-not-rotated only reports).
    assert_eq!(
        stale[0].rules,
        vec!["access-key-unused", "access-key-second-active"]
    );
    assert_eq!(stale[0].params_json(), json!({"user": "kim"}));
    assert!(
        actions_on(&p, "AKIAFRESH").is_empty(),
        "the user's other key must never be touched\n{}",
        describe(&p)
    );
    assert!(
        p.findings.iter().all(|f| f.resource.id != "AKIAFRESH"),
        "{}",
        describe(&p)
    );
}

#[test]
fn a_never_used_key_counts_from_its_creation() {
    let p = plan(json!({
        "users": [user("lee", "2024-01-01T00:00:00Z", json!({}))],
        "access_keys": [
            key("AKIANEVER1", "lee", "Active", "2026-07-01T00:00:00Z", None),
            key("AKIANEVER2", "lee", "Inactive", "2026-10-01T00:00:00Z", None)]}));
    let f = p
        .findings
        .iter()
        .find(|f| &*f.rule == "access-key-unused" && f.resource.id == "AKIANEVER1")
        .unwrap_or_else(|| panic!("{}", describe(&p)));
    // The evidence names the fallback that supplied the value.
    assert_eq!(f.evidence.len(), 1);
    assert_eq!(&*f.evidence[0].path, "$.created_at");
    assert_eq!(f.evidence[0].actual, json!("2026-07-01T00:00:00Z"));
    assert_eq!(*f.evidence[0].expected, json!("90d"));
    assert!(f.evidence[0].held);
    assert_eq!(&*f.title, "Active access key unused for 90 days");
    assert!(action(
        &p,
        "access-key-unused",
        "deactivate_access_key",
        "AKIANEVER1"
    )
    .is_some());
}

#[test]
fn the_most_recently_used_active_key_is_never_deactivated_for_being_second() {
    // Three active keys (a snapshot may hold anything): only the most recently used is spared
    // (a tie goes to the newer), whatever the order they are listed in; a never-used key, even
    // the newest, is the least recently used. Issue 10.
    let p = plan(json!({
        "users": [user("max", "2024-01-01T00:00:00Z", json!({}))],
        "access_keys": [
            key("AKIAZNEWEST", "max", "Active", "2026-10-20T00:00:00Z", None),
            key("AKIAAOLDEST", "max", "Active", "2026-01-01T00:00:00Z", Some("2026-10-31T00:00:00Z")),
            key("AKIAMMIDDLE", "max", "Active", "2026-05-01T00:00:00Z", Some("2026-10-31T00:00:00Z")),
            key("AKIANEWERINACTIVE", "max", "Inactive", "2026-10-30T00:00:00Z", None)]}));
    assert!(found(&p, "access-key-second-active", "AKIAAOLDEST"));
    assert!(found(&p, "access-key-second-active", "AKIAZNEWEST"));
    assert!(
        !found(&p, "access-key-second-active", "AKIAMMIDDLE"),
        "{}",
        describe(&p)
    );
    // The oldest key was used yesterday: flagged, but the in-use guard keeps it working.
    assert!(action(
        &p,
        "access-key-second-active",
        "deactivate_access_key",
        "AKIAAOLDEST"
    )
    .is_none());
    assert!(action(
        &p,
        "access-key-second-active",
        "deactivate_access_key",
        "AKIAZNEWEST"
    )
    .is_some());
    assert!(!found(&p, "access-key-second-active", "AKIANEWERINACTIVE"));
    assert!(actions_on(&p, "AKIAMMIDDLE").is_empty(), "{}", describe(&p));
    assert!(p.skipped.iter().any(|s| s.resource.id == "AKIAAOLDEST"
        && s.reason
            .starts_with("in use: last used 2026-10-31, 1 day ago")));
}

#[test]
fn deny_of_everything_cancels_admin_everywhere() {
    let ck = customer_arn("Fenced");
    let p = plan(json!({
        "users": [user("ned", "2026-10-01T00:00:00Z", json!({"attached_policies": [ck], "inline_policies": ["fenced"]}))],
        "groups": [group("fenced", &[&ck])],
        "roles": [role("fenced", "/", &[&ck])],
        "managed_policies": [customer_policy("Fenced", denied_admin_doc())],
        "inline_policies": [inline("user", "ned", "fenced", denied_admin_doc())]}));
    for rule in [
        "user-admin-policy",
        "group-admin-policy",
        "role-admin-policy",
        "customer-policy-admin",
        "inline-policy-admin",
    ] {
        assert!(
            p.findings.iter().all(|f| &*f.rule != rule),
            "{rule} fired\n{}",
            describe(&p)
        );
    }
    // Only the Deny of `*`: a Deny of s3 does not cancel.
    let partial = doc(json!([{"Effect": "Allow", "Action": "*", "Resource": "*"},
                             {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]));
    let p = plan(json!({"managed_policies": [customer_policy("MostlyAdmin", partial)]}));
    assert!(found(
        &p,
        "customer-policy-admin",
        &customer_arn("MostlyAdmin")
    ));
    // A Deny that itself has a Condition does not cancel either.
    let conditional_deny = doc(json!([{"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}]));
    let p = plan(json!({"managed_policies": [customer_policy("MfaAdmin", conditional_deny)]}));
    assert!(found(
        &p,
        "customer-policy-admin",
        &customer_arn("MfaAdmin")
    ));
}

#[test]
fn an_innocently_named_admin_policy_is_found_and_rolled_back() {
    let arn = customer_arn("ReadOnlyS3Access");
    let p = plan(json!({
        "users": [user("ola", "2026-10-01T00:00:00Z", json!({"attached_policies": [arn.clone(), READONLY_ARN]}))],
        "managed_policies": [policy(&arn, "ReadOnlyS3Access", "v3", &[
            ("v1", "2025-01-01T00:00:00Z", s3_doc()),
            ("v2", "2025-06-01T00:00:00Z", doc(json!([{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}]))),
            ("v3", "2026-01-01T00:00:00Z", doc(json!([{"Effect": "Allow", "Action": ["s3:Get*", "*"], "Resource": "*"}])))])]}));
    assert!(found(&p, "customer-policy-admin", &arn), "{}", describe(&p));
    let a = action(
        &p,
        "customer-policy-admin",
        "set_default_policy_version",
        &arn,
    )
    .unwrap_or_else(|| panic!("{}", describe(&p)));
    // The previous version is the newest older one, v2.
    assert_eq!(a.params_json()["version_id"], json!("v2"));
    assert_eq!(a.safety, Safety::Reversible);
    // The user holding it is found too, and only that policy is detached (not ReadOnlyAccess).
    let uid = user_id("ola");
    assert!(found(&p, "user-admin-policy", &uid));
    let detaches: Vec<&Action> = by_rule_on(&p, "user-admin-policy", &uid);
    assert_eq!(detaches.len(), 1, "{}", describe(&p));
    assert_eq!(detaches[0].step().as_str(), "detach_user_policy");
    assert_eq!(detaches[0].params_json()["policy_arn"], json!(arn));
}

#[test]
fn an_admin_policy_without_a_previous_version_is_reported_and_skipped() {
    let arn = customer_arn("BornAdmin");
    let p = plan(json!({"managed_policies": [customer_policy("BornAdmin", admin_doc())]}));
    assert!(found(&p, "customer-policy-admin", &arn));
    assert!(actions_on(&p, &arn).is_empty(), "{}", describe(&p));
    let reason = skip_reason(&p, "customer-policy-admin", &arn).unwrap_or_default();
    assert!(reason.contains("no version `previous`"), "{}", describe(&p));
}

#[test]
fn aws_managed_policies_never_get_set_default_policy_version() {
    let versions = [
        ("v1", "2015-01-01T00:00:00Z", s3_doc()),
        ("v2", "2016-01-01T00:00:00Z", admin_doc()),
    ];
    // An AWS-managed policy with an admin default and an older version to roll back to, and a
    // custom path that ends in `aws:policy/...` as well.
    let other = "arn:aws:iam::aws:policy/job-function/SystemAdministrator";
    let parts = json!({
        "roles": [role("deploy", "/", &[ADMIN_ARN, other])],
        "managed_policies": [
            policy(ADMIN_ARN, "AdministratorAccess", "v2", &versions),
            with(policy(other, "SystemAdministrator", "v2", &versions), json!({"aws_managed": false}))]});
    let p = plan(parts.clone());
    for arn in [ADMIN_ARN, other] {
        assert!(!found(&p, "customer-policy-admin", arn), "{}", describe(&p));
        assert!(actions_on(&p, arn).is_empty(), "{}", describe(&p));
    }
    // Even a rule that selects every managed policy and asks for it gets a skip, not an action.
    let path = write_pack(
        "aws-managed",
        "pack: {name: t/aws-managed, version: 1.0.0}\nrules:\n  - id: roll-back-admin\n    title: roll back\n    severity: high\n    select: $.managed_policies\n    when: {path: $.admin_access, eq: true}\n    remediation:\n      - step: set_default_policy_version\n        params: {version_id: previous}\n",
    );
    let rules = iamwarden_core::packs::load_rule_set(std::slice::from_ref(&path)).unwrap();
    let p = plan_with(&rules, parts);
    let _ = std::fs::remove_file(&path);
    for arn in [ADMIN_ARN, other] {
        assert!(found(&p, "roll-back-admin", arn), "{}", describe(&p));
        assert!(
            p.actions
                .iter()
                .all(|a| a.step().as_str() != "set_default_policy_version"),
            "{}",
            describe(&p)
        );
        assert_eq!(
            skip_reason(&p, "roll-back-admin", arn),
            Some("AWS-managed policies are never modified or deleted"),
            "{}",
            describe(&p)
        );
    }
}

#[test]
fn exempt_user_is_skipped_with_a_reason_and_gets_no_action() {
    let exempt = json!({"tags": {"iamwarden:exempt": "true"}});
    let parts = json!({
        "users": [
            user("breakglass", "2024-01-01T00:00:00Z", with(exempt.clone(), json!({"attached_policies": [ADMIN_ARN]}))),
            user("pam", "2024-01-01T00:00:00Z", json!({"tags": {"iamwarden:exempt": "false"}}))],
        "login_profiles": [login("breakglass", "2024-01-01T00:00:00Z")],
        "access_keys": [
            key("AKIABREAK", "breakglass", "Active", "2024-01-01T00:00:00Z", None),
            key("AKIAPAM", "pam", "Active", "2024-01-01T00:00:00Z", None)],
        "inline_policies": [inline("user", "breakglass", "all", admin_doc())]});
    let p = plan(parts);
    let uid = user_id("breakglass");
    for (rule, id, reason) in [
        (
            "user-inactive",
            uid.as_str(),
            "exempt: tag iamwarden:exempt=true (pack builtin/users)",
        ),
        (
            "user-admin-policy",
            uid.as_str(),
            "exempt: tag iamwarden:exempt=true (pack builtin/users)",
        ),
        (
            "user-direct-policies",
            uid.as_str(),
            "exempt: tag iamwarden:exempt=true (pack builtin/users)",
        ),
        (
            "access-key-unused",
            "AKIABREAK",
            "exempt: owner's tag iamwarden:exempt=true (pack builtin/credentials)",
        ),
        (
            "access-key-not-rotated",
            "AKIABREAK",
            "exempt: owner's tag iamwarden:exempt=true (pack builtin/credentials)",
        ),
        (
            "console-user-without-mfa",
            uid.as_str(),
            "exempt: tag iamwarden:exempt=true (pack builtin/credentials)",
        ),
        (
            "console-password-unused",
            "breakglass",
            "exempt: owner's tag iamwarden:exempt=true (pack builtin/credentials)",
        ),
        (
            "inline-policy-admin",
            "user/breakglass/all",
            "exempt: owner's tag iamwarden:exempt=true (pack builtin/policies)",
        ),
    ] {
        assert_eq!(
            skip_reason(&p, rule, id),
            Some(reason),
            "{rule} {id}\n{}",
            describe(&p)
        );
        assert!(!found(&p, rule, id), "exempt {id} is a finding of {rule}");
    }
    for id in [
        uid.as_str(),
        "AKIABREAK",
        "breakglass",
        "user/breakglass/all",
    ] {
        assert!(
            actions_on(&p, id).is_empty(),
            "action on exempt {id}\n{}",
            describe(&p)
        );
    }
    // `iamwarden:exempt: "false"` is not an exemption.
    assert!(found(&p, "user-inactive", &user_id("pam")));
    assert!(found(&p, "access-key-unused", "AKIAPAM"));
    assert!(action(&p, "access-key-unused", "deactivate_access_key", "AKIAPAM").is_some());
    assert_eq!(p.summary.findings, p.findings.len());
}

#[test]
fn password_policy_merge_never_weakens() {
    // Longer than CIS, shorter expiry than CIS, but no symbols and no reuse prevention.
    let current = json!({"minimum_password_length": 20, "require_symbols": false, "require_numbers": true,
        "require_uppercase_characters": true, "require_lowercase_characters": true,
        "allow_users_to_change_password": true, "max_password_age": 30, "hard_expiry": true});
    let p = plan(json!({"account": with(strong_account(), json!({"password_policy": current}))}));
    assert!(found(&p, "password-policy-weak", ACCT), "{}", describe(&p));
    let a = action(&p, "password-policy-weak", "update_password_policy", ACCT)
        .unwrap_or_else(|| panic!("{}", describe(&p)));
    let params = a.params_json();
    let s = &params["settings"];
    assert_eq!(
        s["minimum_password_length"],
        json!(20),
        "20 must stay 20: {s}"
    );
    assert_eq!(
        s["max_password_age"],
        json!(30),
        "30 days must stay 30: {s}"
    );
    assert_eq!(s["password_reuse_prevention"], json!(24));
    assert_eq!(s["require_symbols"], json!(true));
    assert_eq!(
        s["hard_expiry"],
        json!(true),
        "an existing setting is never turned off"
    );
    assert_eq!(a.before_json()["minimum_password_length"], json!(20));
    assert_eq!(a.after_json(), *s);

    // No policy at all: the CIS settings, as numbers.
    let p = plan(json!({"account": {"id": ACCT, "root": {"mfa_enabled": true}}}));
    let a = action(&p, "password-policy-weak", "update_password_policy", ACCT)
        .unwrap_or_else(|| panic!("{}", describe(&p)));
    assert_eq!(
        a.params_json()["settings"]["minimum_password_length"],
        json!(14)
    );
    assert_eq!(a.params_json()["settings"]["max_password_age"], json!(90));
    assert_eq!(
        a.params_json()["settings"]["require_lowercase_characters"],
        json!(true)
    );
    assert_eq!(a.before_json(), Value::Null);
}

#[test]
fn a_login_profile_already_awaiting_reset_is_flagged_but_skipped() {
    let p = plan(json!({
        "users": [user("quin", "2024-01-01T00:00:00Z", json!({}))],
        "login_profiles": [with(login("quin", "2024-01-01T00:00:00Z"), json!({"password_reset_required": true}))]}));
    assert!(found(&p, "console-password-unused", "quin"));
    assert!(actions_on(&p, "quin").is_empty(), "{}", describe(&p));
    assert_eq!(
        skip_reason(&p, "console-password-unused", "quin"),
        Some("a password reset is already required")
    );
}

#[test]
fn a_user_already_quarantined_is_flagged_but_skipped() {
    let uid = user_id("rex");
    let p = plan(json!({
        "users": [user("rex", "2024-01-01T00:00:00Z", json!({"inline_policies": ["iamwarden-quarantine"]}))],
        "inline_policies": [inline("user", "rex", "iamwarden-quarantine",
            doc(json!([{"Effect": "Deny", "Action": "*", "Resource": "*"}])))]}));
    assert!(found(&p, "user-inactive", &uid));
    assert!(actions_on(&p, &uid).is_empty(), "{}", describe(&p));
    assert_eq!(
        skip_reason(&p, "user-inactive", &uid),
        Some("already quarantined (inline policy iamwarden-quarantine exists)")
    );
}

#[test]
fn a_quarantine_is_the_documented_deny_all_inline_policy() {
    let uid = user_id("sue");
    let p = plan(json!({"users": [user("sue", "2024-01-01T00:00:00Z", json!({}))]}));
    let a = action(&p, "user-inactive", "quarantine_user", &uid)
        .unwrap_or_else(|| panic!("{}", describe(&p)));
    assert_eq!(
        a.params_json()["policy_name"],
        json!("iamwarden-quarantine")
    );
    assert_eq!(
        a.params_json()["document"]["Statement"][0]["Effect"],
        json!("Deny")
    );
    assert_eq!(
        a.params_json()["document"]["Statement"][0]["Action"],
        json!("*")
    );
    assert_eq!(a.safety, Safety::Reversible);
}

// ---------------------------------------------------------------------------------------------
// Custom packs: params overrides and the delete_user cascade
// ---------------------------------------------------------------------------------------------

/// Writes a pack to a fresh file in the temp dir and returns its path.
fn write_pack(tag: &str, text: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let path = std::env::temp_dir().join(format!(
        "iamwarden-builtin-rules-{}-{}-{tag}.yaml",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// The built-in `access-key-unused`, copied from rules/credentials.yaml (as embedded in the
/// engine) with its params replaced.
fn copied_access_key_unused(params: &str) -> String {
    let src = iamwarden_core::packs::BUILTIN
        .iter()
        .find(|(name, _)| *name == "credentials.yaml")
        .map(|(_, text)| *text)
        .unwrap();
    let start = src.find("  - id: access-key-unused").unwrap();
    let end = src.find("  - id: access-key-not-rotated").unwrap();
    let rule = &src[start..end];
    assert!(
        rule.contains("      days: 90\n      action: deactivate\n"),
        "{rule}"
    );
    let rule = rule.replace("      days: 90\n      action: deactivate\n", params);
    format!("pack:\n  name: acme/credentials\n  version: 2.0.0\nrules:\n{rule}")
}

#[test]
fn params_override_in_a_copied_pack() {
    let parts = json!({
        "users": [user("tia", "2024-01-01T00:00:00Z", json!({"password_last_used_at": "2026-10-31T00:00:00Z"}))],
        "access_keys": [
            key("AKIA60DAYS", "tia", "Active", "2025-01-01T00:00:00Z", Some("2026-09-02T00:00:00Z")),
            key("AKIA44DAYS", "tia", "Active", "2025-01-01T00:00:00Z", Some("2026-09-18T00:00:00Z"))]});

    // The built-in (90 days) leaves a key unused for 60 days alone.
    let p = plan(parts.clone());
    assert!(!found(&p, "access-key-unused", "AKIA60DAYS"));

    let path = write_pack(
        "override",
        &copied_access_key_unused("      days: 45\n      action: delete\n"),
    );
    let rules = iamwarden_core::packs::load_rule_set(std::slice::from_ref(&path)).unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(rules.rules.len(), 1);
    assert_eq!(rules.packs[0].name, "acme/credentials");
    assert_eq!(rules.packs[0].source, path);
    let p = plan_with(&rules, parts);
    let f = p
        .findings
        .iter()
        .find(|f| f.resource.id == "AKIA60DAYS")
        .unwrap_or_else(|| panic!("{}", describe(&p)));
    assert_eq!(&*f.title, "Active access key unused for 45 days");
    assert_eq!(*f.evidence[0].expected, json!("45d"));
    assert!(
        !found(&p, "access-key-unused", "AKIA44DAYS"),
        "{}",
        describe(&p)
    );
    // `action: delete` switches the step: a destructive delete, and no deactivation.
    assert_eq!(p.actions.len(), 1, "{}", describe(&p));
    let a = &p.actions[0];
    assert_eq!(a.step().as_str(), "delete_access_key");
    assert_eq!(a.resource.id, "AKIA60DAYS");
    assert_eq!(a.safety, Safety::Destructive);
    assert_eq!(a.after_json(), Value::Null);
    assert_eq!(p.summary.destructive, 1);
    assert_eq!(f.actions, vec![a.id.clone()]);

    // `action: report` plans nothing at all, not even a skip.
    let path = write_pack(
        "report",
        &copied_access_key_unused("      days: 45\n      action: report\n"),
    );
    let rules = iamwarden_core::packs::load_rule_set(std::slice::from_ref(&path)).unwrap();
    let _ = std::fs::remove_file(&path);
    let p = plan_with(
        &rules,
        json!({"users": [user("tia", "2024-01-01T00:00:00Z", json!({}))],
               "access_keys": [key("AKIA60DAYS", "tia", "Active", "2025-01-01T00:00:00Z", Some("2026-09-02T00:00:00Z"))]}),
    );
    assert!(found(&p, "access-key-unused", "AKIA60DAYS"));
    assert!(
        p.actions.is_empty() && p.skipped.is_empty(),
        "{}",
        describe(&p)
    );
}

const CASCADE_PACK: &str = "pack:
  name: acme/offboarding
  version: 1.0.0
rules:
  - id: offboard-leavers
    title: Leavers are deleted
    severity: high
    select: $.users
    when: {path: $.tags.status, eq: left}
    remediation:
      - step: delete_user
  - id: quarantine-leavers
    title: Leavers are quarantined
    severity: medium
    select: $.users
    when: {path: $.tags.status, eq: left}
    remediation:
      - step: quarantine_user
  - id: deactivate-leaver-keys
    title: Keys of leavers are deactivated
    severity: medium
    select: $.access_keys
    when: {path: $.user_tags.status, eq: left}
    remediation:
      - step: deactivate_access_key
  - id: leavers-need-mfa
    title: Leavers must use MFA
    severity: medium
    select: $.users
    when: {path: $.tags.status, eq: left}
    remediation:
      - step: enforce_mfa
        params: {allow_active_keys: true}
";

#[test]
fn delete_user_cascade_order_links_and_supersession() {
    let mfa_id = format!("arn:aws:iam::{ACCT}:mfa/uma");
    let parts = json!({
        "users": [
            user("uma", "2024-01-01T00:00:00Z", json!({
                "tags": {"status": "left"},
                "groups": ["devs"],
                "attached_policies": [READONLY_ARN],
                "inline_policies": ["scratch"]})),
            user("val", "2024-01-01T00:00:00Z", json!({"groups": ["devs"]}))],
        "login_profiles": [login("uma", "2024-01-01T00:00:00Z")],
        "access_keys": [
            key("AKIAUMA2", "uma", "Active", "2025-06-01T00:00:00Z", Some("2026-08-01T00:00:00Z")),
            key("AKIAUMA1", "uma", "Inactive", "2024-06-01T00:00:00Z", None),
            key("AKIAVAL1", "val", "Active", "2024-06-01T00:00:00Z", None)],
        "mfa_devices": [mfa("uma")],
        "groups": [group("devs", &[])],
        "inline_policies": [inline("user", "uma", "scratch", s3_doc())]});
    let path = write_pack("cascade", CASCADE_PACK);
    let rules = iamwarden_core::packs::load_rule_set(std::slice::from_ref(&path)).unwrap();
    let _ = std::fs::remove_file(&path);
    let p = plan_with(&rules, parts);

    let uid = user_id("uma");
    let got: Vec<(String, String)> = p
        .actions
        .iter()
        .map(|a| (a.step().as_str().to_string(), a.resource.id.clone()))
        .collect();
    let want: Vec<(String, String)> = [
        ("delete_login_profile", "uma"),
        ("delete_access_key", "AKIAUMA1"),
        ("delete_access_key", "AKIAUMA2"),
        ("deactivate_mfa_device", mfa_id.as_str()),
        ("remove_user_from_group", uid.as_str()),
        ("detach_user_policy", uid.as_str()),
        ("delete_inline_policy", "user/uma/scratch"),
        ("delete_user", uid.as_str()),
    ]
    .iter()
    .map(|(a, r)| (a.to_string(), r.to_string()))
    .collect();
    assert_eq!(got, want, "{}", describe(&p));

    let (prereqs, last) = p.actions.split_at(p.actions.len() - 1);
    let delete = &last[0];
    assert_eq!(delete.safety, Safety::Destructive);
    assert_eq!(delete.part_of, None);
    for a in prereqs {
        assert_eq!(
            a.part_of.as_deref(),
            Some(delete.id.as_str()),
            "{} {}",
            a.step(),
            a.resource.id
        );
    }
    let ids: Vec<String> = prereqs.iter().map(|a| a.id.clone()).collect();
    assert_eq!(delete.depends_on, ids);
    // The prerequisites themselves.
    assert_eq!(prereqs[3].params_json()["delete_virtual"], json!(true));
    assert_eq!(prereqs[4].params_json()["group"], json!("devs"));
    assert_eq!(prereqs[5].params_json()["policy_arn"], json!(READONLY_ARN));
    assert_eq!(delete.before_json()["inline_policies"], json!(["scratch"]));

    // The quarantine another rule asked for is moot: superseded by delete_user, not planned.
    assert!(p
        .actions
        .iter()
        .all(|a| a.step().as_str() != "quarantine_user"));
    assert!(
        delete.supersedes.iter().any(
            |s| s.action.as_str() == "quarantine_user" && s.rules == vec!["quarantine-leavers"]
        ),
        "{:?}",
        delete.supersedes
    );
    // So is the MFA policy (issue 14): delete_user's cascade would not know to delete it.
    assert!(p.actions.iter().all(|a| a.step().as_str() != "enforce_mfa"));
    assert!(
        delete
            .supersedes
            .iter()
            .any(|s| s.action.as_str() == "enforce_mfa" && s.rules == vec!["leavers-need-mfa"]),
        "{:?}",
        delete.supersedes
    );
    // The active key's deactivation is superseded by its deletion in the cascade.
    let del_key = &prereqs[2];
    assert!(
        del_key
            .supersedes
            .iter()
            .any(|s| s.action.as_str() == "deactivate_access_key"
                && s.rules == vec!["deactivate-leaver-keys"]),
        "{:?}",
        del_key.supersedes
    );
    assert!(p
        .actions
        .iter()
        .all(|a| a.step().as_str() != "deactivate_access_key"));
    // Nothing touches the other member of the group.
    assert!(actions_on(&p, &user_id("val")).is_empty());
    assert!(actions_on(&p, "AKIAVAL1").is_empty());
    // Every finding links the action that now covers it.
    let q = p
        .findings
        .iter()
        .find(|f| &*f.rule == "quarantine-leavers")
        .unwrap();
    assert!(q.actions.contains(&delete.id), "{:?}", q.actions);
}

/// The built-in `password-policy-weak`, copied from rules/account.yaml (as embedded in the
/// engine) with `minimum_length: 14` replaced by `minimum_length: <len>`.
fn copied_password_policy_weak(len: &str) -> String {
    let src = iamwarden_core::packs::BUILTIN
        .iter()
        .find(|(name, _)| *name == "account.yaml")
        .map(|(_, text)| *text)
        .unwrap();
    let start = src.find("  - id: password-policy-weak").unwrap();
    let end = src.find("  - id: root-access-key").unwrap();
    let rule = &src[start..end];
    assert!(rule.contains("      minimum_length: 14\n"), "{rule}");
    let rule = rule.replace(
        "      minimum_length: 14\n",
        &format!("      minimum_length: {len}\n"),
    );
    format!("pack:\n  name: acme/account\n  version: 1.0.0\nrules:\n{rule}")
}

/// CIS everywhere except a minimum length of 8.
fn short_passwords() -> Value {
    let p = with(
        strong_account()["password_policy"].clone(),
        json!({"minimum_password_length": 8}),
    );
    json!({"account": with(strong_account(), json!({"password_policy": p}))})
}

#[test]
fn password_length_param_override_reaches_the_merge() {
    let path = write_pack("pw16", &copied_password_policy_weak("16"));
    let rules = iamwarden_core::packs::load_rule_set(std::slice::from_ref(&path)).unwrap();
    let _ = std::fs::remove_file(&path);
    let p = plan_with(&rules, short_passwords());
    assert!(found(&p, "password-policy-weak", ACCT), "{}", describe(&p));
    let a = action(&p, "password-policy-weak", "update_password_policy", ACCT)
        .unwrap_or_else(|| panic!("{}", describe(&p)));
    assert_eq!(
        a.params_json()["settings"]["minimum_password_length"],
        json!(16)
    );
}

#[test]
fn password_length_written_as_a_float_is_not_dropped() {
    let path = write_pack("pw16f", &copied_password_policy_weak("16.0"));
    let rules = iamwarden_core::packs::load_rule_set(std::slice::from_ref(&path)).unwrap();
    let _ = std::fs::remove_file(&path);
    let p = plan_with(&rules, short_passwords());
    assert!(found(&p, "password-policy-weak", ACCT), "{}", describe(&p));
    let a = action(&p, "password-policy-weak", "update_password_policy", ACCT)
        .unwrap_or_else(|| panic!("no update planned\n{}", describe(&p)));
    assert_eq!(
        a.params_json()["settings"]["minimum_password_length"],
        json!(16)
    );
}

/// A customer policy whose versions carry no `created_at` (optional in the inventory schema).
fn undated_policy(name: &str, default: &str, versions: &[(&str, Value)]) -> Value {
    let arn = customer_arn(name);
    let versions: Vec<Value> = versions
        .iter()
        .map(|(v, d)| json!({"version_id": v, "document": d}))
        .collect();
    json!({"id": arn, "arn": arn, "name": name, "default_version_id": default, "versions": versions})
}

#[test]
fn previous_version_with_creation_dates_is_never_a_newer_one() {
    // v3 is newer than the admin default v2: rolling "back" to it would be rolling forward.
    let arn = customer_arn("Dated");
    let p = plan(json!({"managed_policies": [policy(&arn, "Dated", "v2", &[
        ("v1", "2025-01-01T00:00:00Z", s3_doc()),
        ("v2", "2025-06-01T00:00:00Z", admin_doc()),
        ("v3", "2026-01-01T00:00:00Z", s3_doc())])]}));
    let a = action(
        &p,
        "customer-policy-admin",
        "set_default_policy_version",
        &arn,
    )
    .unwrap_or_else(|| panic!("{}", describe(&p)));
    assert_eq!(a.params_json()["version_id"], json!("v1"));
}

#[test]
fn previous_version_without_creation_dates_is_never_a_newer_one() {
    let arn = customer_arn("Undated");
    let p = plan(
        json!({"managed_policies": [undated_policy("Undated", "v2", &[
        ("v1", s3_doc()), ("v2", admin_doc()), ("v3", s3_doc())])]}),
    );
    let a = action(
        &p,
        "customer-policy-admin",
        "set_default_policy_version",
        &arn,
    )
    .unwrap_or_else(|| panic!("{}", describe(&p)));
    assert_eq!(
        a.params_json()["version_id"],
        json!("v1"),
        "{}",
        describe(&p)
    );

    let arn = customer_arn("UndatedFirst");
    let p = plan(
        json!({"managed_policies": [undated_policy("UndatedFirst", "v1", &[
        ("v1", admin_doc()), ("v2", s3_doc())])]}),
    );
    assert!(found(&p, "customer-policy-admin", &arn));
    assert!(actions_on(&p, &arn).is_empty(), "{}", describe(&p));
    assert_eq!(
        skip_reason(&p, "customer-policy-admin", &arn),
        Some("no version `previous` to make the default")
    );
}

/// The live reader's opt-in: the built-in rules read last-accessed data but only report, so a
/// plain live plan costs no last-accessed calls (the CLI notes that `--service-access` reads
/// it); a pack that plans `rightsize_policy` turns the read on by itself.
#[test]
fn only_a_rule_that_plans_rightsize_turns_the_last_accessed_read_on() {
    assert!(builtin().reads_service_access());
    assert!(!builtin().acts_on_service_access());
    let path = write_pack(
        "rightsize",
        "pack: {name: acme/least-privilege, version: 1.0.0}\n\
         rules:\n\
         \x20 - id: narrow\n\
         \x20   title: narrow\n\
         \x20   severity: low\n\
         \x20   select: $.roles\n\
         \x20   when: {path: $.unused_services, empty: false}\n\
         \x20   remediation:\n\
         \x20     - step: rightsize_policy\n\
         \x20       params: {unused_for: 30d}\n",
    );
    let rules = iamwarden_core::packs::load_rule_set(std::slice::from_ref(&path)).unwrap();
    assert!(rules.reads_service_access() && rules.acts_on_service_access());
    // A window that is not a duration is a load error, at the parameter.
    std::fs::write(
        &path,
        std::fs::read_to_string(&path)
            .unwrap()
            .replace("30d", "a month"),
    )
    .unwrap();
    let err = iamwarden_core::packs::load_rule_set(std::slice::from_ref(&path))
        .unwrap_err()
        .to_string();
    let _ = std::fs::remove_file(&path);
    assert!(err.contains("unused_for"), "{err}");
}
