//! The engine-level in-use guard (issue 10, section 1): a step that disables or removes a
//! credential is never planned while the credential was used within the rule's window, unless
//! the rule opted out with `allow_in_use: true`.
//!
//! The table runs over every built-in rule and every value of its `action` parameter, derived
//! from the loaded packs (nothing here lists rules or actions), on an inventory where every
//! credential was used within the window. Then the window's edges (44/46 days), the pack and
//! rule settings, their load errors, `explain`, and every renderer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Duration, Utc};
use iamwarden_core::compile::RuleSet;
use iamwarden_core::inventory::Inventory;
use iamwarden_core::plan::Plan;
use iamwarden_core::spec::StepName;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

const NOW: &str = "2026-11-01T00:00:00Z";
const ACCT: &str = "123456789012";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(NOW)
        .unwrap()
        .with_timezone(&Utc)
}

fn ago(days: i64) -> String {
    (now() - Duration::days(days)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn user(name: &str, extra: Value) -> Value {
    let mut u = json!({"id": format!("AIDA{}", name.to_uppercase()),
        "arn": format!("arn:aws:iam::{ACCT}:user/{name}"), "name": name,
        "created_at": "2023-01-01T00:00:00Z"});
    for (k, v) in extra.as_object().unwrap() {
        u[k] = v.clone();
    }
    u
}

fn key(id: &str, user: &str, created: &str, used_days_ago: i64) -> Value {
    json!({"id": id, "user": user, "status": "Active", "created_at": created,
           "last_used_at": ago(used_days_ago)})
}

fn inventory(parts: Value) -> Inventory {
    let mut doc = json!({"account": {"id": ACCT,
        "password_policy": {"minimum_password_length": 14, "require_symbols": true,
            "require_numbers": true, "require_uppercase_characters": true,
            "require_lowercase_characters": true, "allow_users_to_change_password": true,
            "max_password_age": 90, "password_reuse_prevention": 24},
        "root": {"mfa_enabled": true, "access_keys_present": false}}});
    for (k, v) in parts.as_object().unwrap() {
        doc[k] = v.clone();
    }
    iamwarden_core::inventory::snapshot::parse(doc.to_string().as_bytes(), "case").unwrap()
}

/// Every credential was used within 45 days: active keys old enough to be "not rotated", two
/// keys on one user, console users with and without MFA, a key made at user setup (and used).
fn all_in_use() -> Inventory {
    inventory(json!({
        "users": [
            user("alice", json!({"password_last_used_at": ago(10)})),
            user("bob", json!({})),
            user("carol", json!({"password_last_used_at": ago(3)})),
            user("dave", json!({"created_at": "2023-01-01T00:00:00Z", "password_last_used_at": ago(44)})),
            // A rotate_access_key rotation in progress: the old key is still in use.
            user("erin", json!({"tags": {"iamwarden:rotates": "AKIAERIN1",
                                         "iamwarden:rotation-new-key": "AKIAERIN2"}})),
        ],
        "login_profiles": [
            {"id": "alice", "user": "alice", "created_at": "2023-01-01T00:00:00Z"},
            {"id": "carol", "user": "carol", "created_at": "2023-01-01T00:00:00Z"},
            {"id": "dave", "user": "dave", "created_at": "2023-01-01T00:00:00Z"},
        ],
        "mfa_devices": [{"id": format!("arn:aws:iam::{ACCT}:mfa/carol"), "user": "carol",
                         "virtual": true, "enabled_at": "2024-01-01T00:00:00Z"}],
        "access_keys": [
            key("AKIAALICE1", "alice", "2023-02-01T00:00:00Z", 2),
            key("AKIAALICE2", "alice", "2024-02-01T00:00:00Z", 20),
            key("AKIABOB1", "bob", "2022-06-01T00:00:00Z", 1),
            key("AKIADAVE1", "dave", "2023-01-01T00:01:00Z", 30),
            key("AKIAERIN1", "erin", "2022-06-01T00:00:00Z", 5),
            key("AKIAERIN2", "erin", &ago(20), 1),
        ],
    }))
}

/// A pack that includes the built-ins and overrides one rule.
fn pack_text(rule: &str, params: &BTreeMap<String, Value>, allow: bool) -> String {
    let o = json!({"params": params, "allow_in_use": allow});
    format!(
        "pack: {{name: test/in-use, version: 1.0.0}}\ninclude: [builtin]\noverrides:\n  {rule}: {o}\n"
    )
}

fn load(text: &str) -> Result<RuleSet, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pack.yaml");
    std::fs::write(&path, text).unwrap();
    iamwarden_core::packs::load_rule_set(&[path.display().to_string()]).map_err(|d| d.to_string())
}

fn plan(rules: &RuleSet, inv: &Inventory) -> Plan {
    iamwarden_core::pipeline::make_plan(rules, inv, now(), now())
}

fn human(p: &Plan) -> String {
    let mut out = Vec::new();
    iamwarden_core::render::render(p, iamwarden_core::render::Format::Human, false, &mut out)
        .unwrap();
    String::from_utf8(out).unwrap()
}

fn markdown(p: &Plan) -> String {
    let mut out = Vec::new();
    iamwarden_core::render::render(p, iamwarden_core::render::Format::Markdown, false, &mut out)
        .unwrap();
    String::from_utf8(out).unwrap()
}

fn sarif(p: &Plan, rules: &RuleSet) -> String {
    let mut out = Vec::new();
    let locate = |_: &str, _: &str| Some(("rules/x.yaml".to_string(), 1));
    iamwarden_core::render::sarif::render_sarif(p, rules, &locate, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// (step, resource name) of the disabling actions rule `rule` asked for (cascade parts included).
/// Whether the action stops a credential: a step that disables one, except phase one of
/// `rotate_access_key`, which only adds a key.
fn disables(a: &iamwarden_core::plan::Action) -> bool {
    a.step().disables_credential().is_some()
        && a.params_json().get("phase").and_then(Value::as_str) != Some("create_new_key")
}

fn disabling_actions(p: &Plan, rule: &str) -> BTreeSet<(StepName, String)> {
    p.actions
        .iter()
        .filter(|a| a.rules.iter().any(|r| r == rule))
        .filter(|a| disables(a))
        .map(|a| (a.step(), a.resource.name.clone()))
        .collect()
}

/// (step, resource name) of the steps of `rule` the guard kept out (a user-level step on a
/// login profile is named by the user, as the profile is).
fn guarded(p: &Plan, rule: &str) -> BTreeSet<(StepName, String)> {
    p.skipped
        .iter()
        .filter(|s| s.rule == rule && s.reason.starts_with("in use: "))
        .filter_map(|s| s.action.map(|a| (a, s.resource.name.clone())))
        .collect()
}

/// Every built-in rule with every value of its `action` parameter (the default and each
/// `when_params: {action: ...}` of its remediation), read from the packs themselves.
fn rule_actions() -> Vec<(String, Option<Value>, BTreeMap<String, Value>)> {
    let packs = iamwarden_core::packs::load_packs(&[]).unwrap();
    let mut out = Vec::new();
    for p in &packs {
        for r in &p.spec.rules {
            let mut values: Vec<Value> = r.params.get("action").cloned().into_iter().collect();
            for s in &r.remediation {
                if let Some(v) = s.when_params.get("action") {
                    if !values.contains(v) {
                        values.push(v.clone());
                    }
                }
            }
            let values: Vec<Option<Value>> = if values.is_empty() {
                vec![None]
            } else {
                values.into_iter().map(Some).collect()
            };
            for v in values {
                out.push((r.id.clone(), v, r.params.clone()));
            }
        }
    }
    out
}

/// The disabling steps the built-in packs can plan, from their remediation lists.
fn builtin_disabling_steps() -> BTreeSet<StepName> {
    let packs = iamwarden_core::packs::load_packs(&[]).unwrap();
    packs
        .iter()
        .flat_map(|p| p.spec.rules.iter())
        .flat_map(|r| r.remediation.iter())
        .map(|s| s.step)
        .filter(|s| s.disables_credential().is_some())
        .collect()
}

#[test]
fn no_builtin_rule_disables_a_credential_in_use_unless_it_opts_out() {
    let inv = all_in_use();
    let combos = rule_actions();
    assert!(
        combos.len() >= 20,
        "only {} rule/action pairs",
        combos.len()
    );
    let mut exercised: BTreeSet<StepName> = BTreeSet::new();
    let mut failures = Vec::new();
    for (rule, action, defaults) in &combos {
        // Twice: with the rule's defaults, and with its `days` threshold (when it has one)
        // lowered below every last use, so rules about unused credentials match these too.
        for lowered in [false, true] {
            if lowered && !defaults.contains_key("days") {
                continue;
            }
            let mut params = BTreeMap::new();
            if let Some(a) = action {
                params.insert("action".to_string(), a.clone());
            }
            if lowered {
                params.insert("days".to_string(), json!(0));
            }
            let label = format!("{rule} {params:?}");
            let guarded_set = load(&pack_text(rule, &params, false)).unwrap();
            let p = plan(&guarded_set, &inv);
            let bad = disabling_actions(&p, rule);
            if !bad.is_empty() {
                failures.push(format!("{label}: disabled credentials in use: {bad:?}"));
            }
            let kept_out = guarded(&p, rule);
            exercised.extend(kept_out.iter().map(|(s, _)| *s));

            // Opted out: exactly what the guard kept out is planned, and says so.
            let allowed_set = load(&pack_text(rule, &params, true)).unwrap();
            let q = plan(&allowed_set, &inv);
            let top: BTreeSet<(StepName, String)> = q
                .actions
                .iter()
                .filter(|a| a.rules.iter().any(|r| r == rule) && a.part_of.is_none())
                .filter(|a| disables(a))
                .map(|a| (a.step(), a.resource.name.clone()))
                .collect();
            if top != kept_out {
                failures.push(format!(
                    "{label}: with allow_in_use planned {top:?}, the guard had kept out {kept_out:?}"
                ));
            }
            if !guarded(&q, rule).is_empty() {
                failures.push(format!("{label}: allow_in_use still guarded"));
            }
            for a in q
                .actions
                .iter()
                .filter(|a| top.contains(&(a.step(), a.resource.name.clone())))
            {
                let Some(note) = &a.allowed_in_use else {
                    failures.push(format!(
                        "{label}: {} {} lacks allowed_in_use",
                        a.step(),
                        a.resource.id
                    ));
                    continue;
                };
                if !note.contains("last used ") {
                    failures.push(format!("{label}: allowed_in_use says {note:?}"));
                }
            }
            if !top.is_empty() && !human(&q).contains("allowed while in use: ") {
                failures.push(format!(
                    "{label}: the diff does not say allowed while in use"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Not vacuous: every disabling step a built-in rule can plan was kept out at least once.
    assert_eq!(exercised, builtin_disabling_steps());
}

const EDGE_PACK: &str = "\
pack: {name: test/edge, version: 1.0.0}
rules:
  - id: key-idle
    title: key idle
    severity: low
    select: $.access_keys
    when: {path: $.last_used_at, older_than: 30d}
    remediation: [{step: deactivate_access_key}]
  - id: user-idle
    title: user idle
    severity: low
    select: $.users
    when: {path: $.last_activity_at, older_than: 30d}
    remediation: [{step: quarantine_user}]
  - id: password-idle
    title: password idle
    severity: low
    select: $.login_profiles
    when: {path: $.password_last_used_at, older_than: 30d}
    remediation: [{step: delete_login_profile}]
";

fn edge_inventory() -> Inventory {
    inventory(json!({
        "users": [
            user("u44", json!({"password_last_used_at": ago(44)})),
            user("u46", json!({"password_last_used_at": ago(46)})),
            user("k44", json!({})),
            user("k46", json!({})),
            user("exact45", json!({})),
        ],
        "login_profiles": [
            {"id": "u44", "user": "u44", "created_at": "2023-01-01T00:00:00Z"},
            {"id": "u46", "user": "u46", "created_at": "2023-01-01T00:00:00Z"},
        ],
        "access_keys": [
            key("AKIAK44", "k44", "2023-01-01T00:00:00Z", 44),
            key("AKIAK46", "k46", "2023-01-01T00:00:00Z", 46),
            key("AKIAEXACT45", "exact45", "2023-01-01T00:00:00Z", 45),
        ],
    }))
}

fn planned(p: &Plan, step: &str) -> BTreeSet<String> {
    p.actions
        .iter()
        .filter(|a| a.step().as_str() == step)
        .map(|a| a.resource.name.clone())
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_window_edge_is_45_days_by_default() {
    let p = plan(&load(EDGE_PACK).unwrap(), &edge_inventory());
    // Used 44 days ago: in use. 46 days, or exactly 45: not.
    assert_eq!(
        planned(&p, "deactivate_access_key"),
        set(&["AKIAK46", "AKIAEXACT45"])
    );
    assert_eq!(
        planned(&p, "quarantine_user"),
        set(&["exact45", "k46", "u46"])
    );
    assert_eq!(planned(&p, "delete_login_profile"), set(&["u46"]));
    let reasons: BTreeMap<String, String> = p
        .skipped
        .iter()
        .map(|s| {
            (
                format!(
                    "{} {}",
                    s.action.map(|a| a.as_str()).unwrap_or(""),
                    s.resource.name
                ),
                s.reason.clone(),
            )
        })
        .collect();
    assert_eq!(
        reasons.get("deactivate_access_key AKIAK44").map(String::as_str),
        Some("in use: last used 2026-09-18, 44 days ago (within the 45d in-use window; allow_in_use: true acts anyway)")
    );
    // User-level steps name the credential.
    assert!(reasons["quarantine_user k44"]
        .starts_with("in use: access key AKIAK44 last used 2026-09-18, 44 days ago"));
    assert!(reasons["quarantine_user u44"].starts_with("in use: password last used 2026-09-18"));
    assert!(reasons["delete_login_profile u44"].starts_with("in use: password last used"));
    assert_eq!(p.skipped.len(), 4, "{:#?}", p.skipped);
    // Apply re-checks user-level steps from the plan's window start.
    let q = p.actions.iter().find(|a| a.resource.name == "k46").unwrap();
    assert_eq!(
        q.precondition_json()["in_use_since"],
        json!("2026-09-17T00:00:00Z")
    );
    assert!(q.allowed_in_use.is_none());
}

#[test]
fn every_renderer_shows_what_the_guard_kept_out() {
    let rules = load(EDGE_PACK).unwrap();
    let p = plan(&rules, &edge_inventory());
    let line = "in use: last used 2026-09-18, 44 days ago";
    let h = human(&p);
    assert!(
        h.contains(&format!(
            "access_key AKIAK44 deactivate_access_key: key-idle: {line}"
        )),
        "{h}"
    );
    let m = markdown(&p);
    assert!(
        m.contains(&format!("access_key `AKIAK44` (key-idle): {line}")),
        "{m}"
    );
    let s = sarif(&p, &rules);
    assert!(
        s.contains(&format!("Not planned: deactivate_access_key ({line}")),
        "{s}"
    );
    let j = serde_json::to_string(&p).unwrap();
    assert!(j.contains(line));
}

#[test]
fn pack_and_rule_windows_and_overrides() {
    // A pack window of 50d protects the 46-day key too; a rule's own 40d lets the 44-day one go.
    let text = EDGE_PACK
        .replace("version: 1.0.0}", "version: 1.0.0, in_use_window: 50d}")
        .replace(
            "    remediation: [{step: quarantine_user}]",
            "    in_use_window: 40d\n    remediation: [{step: quarantine_user}]",
        );
    let p = plan(&load(&text).unwrap(), &edge_inventory());
    assert_eq!(planned(&p, "deactivate_access_key"), set(&[]));
    assert_eq!(
        planned(&p, "quarantine_user"),
        set(&["exact45", "k44", "k46", "u44", "u46"])
    );
    assert!(p
        .skipped
        .iter()
        .any(|s| s.reason.contains("within the 50d in-use window")));

    // An included rule's window and opt-out through overrides.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("edge.yaml"), EDGE_PACK).unwrap();
    let top = "pack: {name: test/top, version: 1.0.0}\ninclude: [edge.yaml]\noverrides:\n  key-idle: {in_use_window: 47d}\n  password-idle: {allow_in_use: true}\n";
    std::fs::write(dir.path().join("top.yaml"), top).unwrap();
    let rules =
        iamwarden_core::packs::load_rule_set(&[dir.path().join("top.yaml").display().to_string()])
            .unwrap();
    let p = plan(&rules, &edge_inventory());
    assert_eq!(planned(&p, "deactivate_access_key"), set(&[]));
    assert_eq!(planned(&p, "delete_login_profile"), set(&["u44", "u46"]));
    let a = p.actions.iter().find(|a| a.resource.name == "u44").unwrap();
    assert_eq!(
        a.allowed_in_use.as_deref(),
        Some("password last used 2026-09-18, 44 days ago")
    );
    assert!(human(&p).contains("allowed while in use: password last used 2026-09-18, 44 days ago"));
    assert!(markdown(&p).contains("!     allowed while in use: password last used 2026-09-18"));
}

#[test]
fn a_bad_window_is_a_load_error_at_its_position() {
    let text = EDGE_PACK.replace(
        "    remediation: [{step: quarantine_user}]",
        "    in_use_window: 45days\n    remediation: [{step: quarantine_user}]",
    );
    let e = load(&text).unwrap_err();
    assert!(e.contains("pack.yaml:14:"), "{e}");
    assert!(e.contains("invalid duration `45days`"), "{e}");
    let e = load(&EDGE_PACK.replace("version: 1.0.0}", "version: 1.0.0, in_use_window: soon}"))
        .unwrap_err();
    assert!(
        e.contains("pack.yaml:1:") && e.contains("invalid duration `soon`"),
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("edge.yaml"), EDGE_PACK).unwrap();
    let top = "pack: {name: test/top, version: 1.0.0}\ninclude: [edge.yaml]\noverrides:\n  key-idle: {in_use_window: 3x}\n";
    std::fs::write(dir.path().join("top.yaml"), top).unwrap();
    let e =
        iamwarden_core::packs::load_rule_set(&[dir.path().join("top.yaml").display().to_string()])
            .unwrap_err()
            .to_string();
    assert!(
        e.contains("top.yaml:4:") && e.contains("invalid duration `3x`"),
        "{e}"
    );
}

#[test]
fn explain_shows_the_window_in_force_and_the_verdict() {
    let text = EDGE_PACK.replace(
        "    remediation: [{step: quarantine_user}]",
        "    in_use_window: 60d\n    remediation: [{step: quarantine_user}]",
    );
    let rules = load(&text).unwrap();
    let inv = edge_inventory();
    let show = |rule: &str, resource: &str| {
        let r = rules.rules.iter().find(|r| r.id == rule).unwrap();
        let i = iamwarden_core::eval::find_record(&inv, r.kind, resource).unwrap();
        let mut e = iamwarden_core::eval::explain_record(r, &inv, i, now()).unwrap();
        e.in_use = iamwarden_core::plan::in_use::verdict(r, &inv, i, now());
        iamwarden_core::eval::explain::render(&e, resource)
    };
    let k = show("key-idle", "AKIAK44");
    assert!(k.contains("in-use window: 45d (default)"), "{k}");
    assert!(k.contains("in-use guard: deactivate_access_key: not planned, in use: last used 2026-09-18, 44 days ago"), "{k}");
    let u = show("user-idle", "u46");
    assert!(u.contains("in-use window: 60d (rule)"), "{u}");
    assert!(
        u.contains("quarantine_user: not planned, in use: password last used"),
        "{u}"
    );
}
