//! The built-in rules on the demo account at its fixed clock, for what a hit/miss list cannot
//! show: evidence, merged actions, exemptions with their reason, safety, and the password-policy
//! merge. Which resources each rule flags there (and the near misses it must not) are rule tests
//! in `rules/*.tests.yaml`, run by the gate in `rule_tests.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_core::plan::Plan;
use std::sync::OnceLock;

fn demo_plan() -> &'static Plan {
    static PLAN: OnceLock<Plan> = OnceLock::new();
    PLAN.get_or_init(|| {
        let path = concat!(
            concat!(env!("CARGO_MANIFEST_DIR"), "/.."),
            "/../examples/demo-account.json"
        );
        let inv = iamwarden_core::inventory::snapshot::load(std::path::Path::new(path)).unwrap();
        let rules = iamwarden_core::packs::load_rule_set(&[]).unwrap();
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        iamwarden_core::pipeline::make_plan(&rules, &inv, now, now)
    })
}

#[test]
fn unknown_actions_say_what_was_meant() {
    let f = demo_plan()
        .findings
        .iter()
        .find(|f| &*f.rule == "policy-unknown-actions" && f.resource.name == "report-reader")
        .unwrap();
    assert_eq!(
        f.evidence[0].actual,
        serde_json::json!(["s3:GetObjcet (did you mean s3:GetObject?)"])
    );
}

#[test]
fn inline_admin_policies_are_found() {
    let found: Vec<&str> = demo_plan()
        .findings
        .iter()
        .filter(|f| &*f.rule == "inline-policy-admin")
        .map(|f| f.resource.id.as_str())
        .collect();
    assert!(!found.is_empty());
    assert!(found
        .iter()
        .all(|id| id.starts_with("user/") || id.starts_with("role/") || id.starts_with("group/")));
}

#[test]
fn the_fresh_key_of_a_user_with_a_stale_one_is_never_touched() {
    let plan = demo_plan();
    let on = |id: &str| plan.actions.iter().filter(|a| a.resource.id == id).count();
    assert!(
        on("AKIAFCH2OSXNG6TIT2JB") > 0,
        "grace.kim's stale key is deactivated"
    );
    assert_eq!(
        on("AKIAD3DO3F765RKUEWCO"),
        0,
        "grace.kim's fresh key is left alone"
    );
    let stale = plan
        .actions
        .iter()
        .find(|a| a.resource.id == "AKIAFCH2OSXNG6TIT2JB")
        .unwrap();
    assert_eq!(stale.step().as_str(), "deactivate_access_key");
    assert_eq!(
        stale.rules,
        ["access-key-unused", "access-key-second-active"],
        "merged, both rules kept"
    );
}

#[test]
fn exempt_resources_are_skipped_with_the_reason_and_never_acted_on() {
    let plan = demo_plan();
    let skipped: Vec<_> = plan
        .skipped
        .iter()
        .filter(|s| s.resource.name == "break-glass-admin")
        .collect();
    assert!(!skipped.is_empty());
    assert!(
        skipped
            .iter()
            .all(|s| s.reason.contains("iamwarden:exempt=true")),
        "{skipped:?}"
    );
    assert!(!plan
        .findings
        .iter()
        .any(|f| f.resource.name == "break-glass-admin"));
    assert!(!plan
        .actions
        .iter()
        .any(|a| a.resource.name == "break-glass-admin"));
}

#[test]
fn default_remediations_are_reversible_and_aws_managed_policies_are_untouched() {
    let plan = demo_plan();
    assert!(!plan.actions.is_empty());
    assert!(plan
        .actions
        .iter()
        .all(|a| a.safety == iamwarden_core::plan::Safety::Reversible));
    assert!(!plan.actions.iter().any(|a| a
        .resource
        .arn
        .as_deref()
        .is_some_and(|arn| arn.starts_with("arn:aws:iam::aws:policy/"))
        && a.resource.kind == iamwarden_core::inventory::ResourceKind::ManagedPolicy));
    let pd = plan
        .actions
        .iter()
        .find(|a| a.resource.name == "platform-deployer")
        .expect("platform-deployer goes back to its previous version");
    assert_eq!(pd.params_json()["version_id"], "v2");
    // The password policy is tightened, never weakened.
    let pp = plan
        .actions
        .iter()
        .find(|a| a.step().as_str() == "update_password_policy")
        .unwrap();
    assert_eq!(pp.after_json()["minimum_password_length"], 14);
    assert_eq!(pp.after_json()["password_reuse_prevention"], 24);
}

#[test]
fn account_rules_negative_case_a_strong_policy_and_a_protected_root() {
    let inv = iamwarden_core::inventory::snapshot::parse(
        serde_json::json!({
            "account": {
                "id": "111122223333",
                "root": {"mfa_enabled": true, "access_keys_present": false},
                "password_policy": {
                    "minimum_password_length": 20, "require_symbols": true, "require_numbers": true,
                    "require_uppercase_characters": true, "require_lowercase_characters": true,
                    "max_password_age": 60, "password_reuse_prevention": 24
                }
            }
        })
        .to_string()
        .as_bytes(),
        "strong",
    )
    .unwrap();
    let rules = iamwarden_core::packs::load_rule_set(&[]).unwrap();
    let now = chrono::Utc::now();
    let plan = iamwarden_core::pipeline::make_plan(&rules, &inv, now, now);
    assert!(plan.findings.is_empty(), "{:?}", plan.findings);
    // One weak setting is enough, and the merge keeps the stronger current length.
    let mut weak = inv.clone();
    weak.account
        .password_policy
        .as_mut()
        .unwrap()
        .password_reuse_prevention = Some(5);
    let plan = iamwarden_core::pipeline::make_plan(&rules, &weak, now, now);
    let a = plan
        .actions
        .iter()
        .find(|a| a.step().as_str() == "update_password_policy")
        .unwrap();
    assert_eq!(
        a.after_json()["minimum_password_length"],
        20,
        "never weakened"
    );
    assert_eq!(a.after_json()["password_reuse_prevention"], 24);
    assert_eq!(
        a.after_json()["max_password_age"],
        60,
        "60 is stricter than 90 and stays"
    );
}
