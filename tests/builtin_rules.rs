//! Every built-in rule, table-driven on the demo account at its fixed clock: resources each rule
//! must flag and near misses it must not (the cases are documented in examples/README.md).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden::plan::Plan;
use std::sync::OnceLock;

fn demo_plan() -> &'static Plan {
    static PLAN: OnceLock<Plan> = OnceLock::new();
    PLAN.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/demo-account.json");
        let inv = iamwarden::inventory::snapshot::load(std::path::Path::new(path)).unwrap();
        let rules = iamwarden::packs::load_rule_set(&[]).unwrap();
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        iamwarden::pipeline::make_plan(&rules, &inv, now, now)
    })
}

fn flagged(rule: &str, who: &str) -> bool {
    demo_plan()
        .findings
        .iter()
        .any(|f| &*f.rule == rule && (f.resource.name == who || f.resource.id == who))
}

/// (rule, resource name or id, must it be flagged)
const CASES: &[(&str, &str, bool)] = &[
    ("access-key-unused", "AKIAZ25FUXJR34RTFVGP", true),
    ("access-key-unused", "AKIAYOLA4PRSZEMHS2UK", true),
    ("access-key-unused", "AKIASMQ5BB2HQ732SIF5", true),
    ("access-key-unused", "AKIAI4DKJLNXW7FZ5MWD", false),
    ("access-key-unused", "AKIA6QETAT4TFBVWPY6J", false),
    ("access-key-unused", "AKIARUQIBAQ67FOPF4F4", false),
    ("access-key-unused", "AKIAHSSQNQ4NYQTD5U4W", false),
    ("access-key-not-rotated", "AKIAI4DKJLNXW7FZ5MWD", true),
    ("access-key-not-rotated", "AKIAIRNMTYNOF5EVTTFN", true),
    ("access-key-not-rotated", "AKIALKBYGILEXRELYFQ5", false),
    ("access-key-not-rotated", "AKIAGNYSELMSOERNMXK5", false),
    ("access-key-not-rotated", "AKIAHSSQNQ4NYQTD5U4W", false),
    ("access-key-second-active", "AKIAGZEOU6LFWOH2YAM6", true),
    ("access-key-second-active", "AKIAFCH2OSXNG6TIT2JB", true),
    ("access-key-second-active", "AKIAXKKIJBBD2RA6DRNH", false),
    ("access-key-second-active", "AKIAD3DO3F765RKUEWCO", false),
    ("access-key-from-setup-unused", "AKIASMQ5BB2HQ732SIF5", true),
    (
        "access-key-from-setup-unused",
        "AKIAZX2CFHR2YOVBRMAR",
        false,
    ),
    (
        "access-key-from-setup-unused",
        "AKIARUQIBAQ67FOPF4F4",
        false,
    ),
    (
        "access-key-from-setup-unused",
        "AKIATIBCXVEUGBO3LQIZ",
        false,
    ),
    ("console-user-without-mfa", "dave.wilson", true),
    ("console-user-without-mfa", "contractor.jmorales", true),
    ("console-user-without-mfa", "pat.lee", true),
    ("console-user-without-mfa", "contractor.akhan", false),
    ("console-user-without-mfa", "quinn.harris", false),
    ("console-password-unused", "kate.murphy", true),
    ("console-password-unused", "liam.oconnor", true),
    ("console-password-unused", "mia.johnson", false),
    ("console-password-unused", "noah.williams", false),
    ("user-inactive", "olivia.brown", true),
    ("user-inactive", "liam.oconnor", true),
    ("user-inactive", "svc-metrics-legacy", true),
    ("user-inactive", "quinn.harris", false),
    ("user-inactive", "peter.schmidt", false),
    ("user-inactive", "kate.murphy", false),
    ("user-direct-policies", "sam.patel", true),
    ("user-direct-policies", "rachel.green", false),
    ("user-admin-policy", "sam.patel", true),
    ("user-admin-policy", "tom.baker", true),
    ("user-admin-policy", "xavier.moreau", true),
    ("user-admin-policy", "mia.johnson", false),
    ("user-admin-policy", "victor.huang", false),
    ("user-admin-policy", "wendy.clark", false),
    ("group-admin-policy", "admins", true),
    ("group-admin-policy", "platform", true),
    ("group-admin-policy", "developers", false),
    ("role-admin-policy", "OrganizationAccountAccessRole", true),
    ("role-admin-policy", "terraform-apply", true),
    ("role-admin-policy", "sandbox-poweruser", false),
    ("role-admin-policy", "ci-deploy", false),
    ("customer-policy-admin", "acme-admin", true),
    ("customer-policy-admin", "s3-read-helpers", true),
    (
        "customer-policy-admin",
        "legacy-everything-but-billing",
        true,
    ),
    ("customer-policy-admin", "ops-admin-safe", true),
    ("customer-policy-admin", "platform-deployer", true),
    // A conditioned admin counts (issue 10): it grants whenever MFA is present.
    ("customer-policy-admin", "mfa-gated-admin", true),
    ("customer-policy-admin", "legacy-ops-frozen", false),
    ("customer-policy-admin", "s3-full-access", false),
    ("customer-policy-admin", "AdministratorAccess", false),
    (
        "inline-policy-admin",
        "user/uma.reyes/temp-full-access",
        true,
    ),
    (
        "inline-policy-admin",
        "role/legacy-jenkins/jenkins-god-mode",
        true,
    ),
    (
        "inline-policy-admin",
        "user/ben.carter/office-ip-admin",
        true,
    ),
    (
        "inline-policy-admin",
        "user/yusuf.ali/iamwarden-quarantine",
        false,
    ),
    (
        "inline-policy-admin",
        "role/lambda-exec/read-config-table",
        false,
    ),
    (
        "policy-not-action-allow",
        "support-everything-but-iam",
        true,
    ),
    (
        "policy-not-action-allow",
        "legacy-everything-but-billing",
        false,
    ),
    ("policy-passrole-any-resource", "ml-notebook-runner", true),
    (
        "policy-passrole-any-resource",
        "ci-deploy-permissions",
        false,
    ),
    ("policy-passrole-any-resource", "acme-admin", false),
    ("policy-privilege-escalation", "ml-notebook-runner", true),
    ("policy-privilege-escalation", "developer-base", true),
    (
        "policy-privilege-escalation",
        "support-everything-but-iam",
        true,
    ),
    ("policy-privilege-escalation", "data-lake-full", false),
    ("policy-privilege-escalation", "contractor-scoped", false),
    ("policy-sensitive-service-wildcard", "kms-operators", true),
    ("policy-sensitive-service-wildcard", "s3-full-access", false),
    ("policy-sensitive-service-wildcard", "developer-base", false),
    ("policy-unknown-actions", "report-reader", true),
    ("policy-unknown-actions", "s3-read-helpers", false),
    (
        "inline-policy-risky",
        "role/cfn-stack-exec/nested-stacks",
        true,
    ),
    (
        "inline-policy-risky",
        "role/legacy-jenkins/jenkins-god-mode",
        false,
    ),
    (
        "inline-policy-risky",
        "role/ecs-task-api/api-secrets-read",
        false,
    ),
    (
        "inline-policy-unknown-actions",
        "role/ecs-task-api/queue-worker",
        true,
    ),
    (
        "inline-policy-unknown-actions",
        "role/ecs-task-api/api-secrets-read",
        false,
    ),
    ("policy-document-invalid", "imported-billing-export", true),
    ("policy-document-invalid", "report-reader", false),
    (
        "inline-policy-document-invalid",
        "role/ecs-task-api/legacy-cache-access",
        true,
    ),
    (
        "inline-policy-document-invalid",
        "role/ecs-task-api/queue-worker",
        false,
    ),
    ("role-trust-any-principal", "partner-data-exchange", true),
    ("role-trust-any-principal", "vendor-audit", false),
    (
        "role-trust-any-principal",
        "OrganizationAccountAccessRole",
        false,
    ),
    ("user-admin-via-group", "alice.nguyen", true),
    ("user-admin-via-group", "svc-terraform", true),
    ("user-admin-via-group", "carlos.diaz", false),
    ("password-policy-weak", "123456789012", true),
    ("root-access-key", "123456789012", true),
    ("root-without-mfa", "123456789012", true),
];

#[test]
fn every_builtin_rule_has_positive_and_negative_cases() {
    let mut failures = Vec::new();
    for &(rule, who, want) in CASES {
        if flagged(rule, who) != want {
            failures.push(format!(
                "{rule} on {who}: expected {}",
                if want { "a finding" } else { "no finding" }
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    let rules = iamwarden::packs::load_rule_set(&[]).unwrap();
    for r in &rules.rules {
        let pos = CASES.iter().any(|(id, _, w)| *id == r.id && *w);
        assert!(pos, "rule {} has no positive case", r.id);
        let neg = CASES.iter().any(|(id, _, w)| *id == r.id && !*w)
            || matches!(r.kind, iamwarden::inventory::ResourceKind::Account);
        assert!(neg, "rule {} has no negative case", r.id);
    }
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
    assert_eq!(stale.action.as_str(), "deactivate_access_key");
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
        .all(|a| a.safety == iamwarden::plan::Safety::Reversible));
    assert!(!plan.actions.iter().any(|a| a
        .resource
        .arn
        .as_deref()
        .is_some_and(|arn| arn.starts_with("arn:aws:iam::aws:policy/"))
        && a.resource.kind == iamwarden::inventory::ResourceKind::ManagedPolicy));
    let pd = plan
        .actions
        .iter()
        .find(|a| a.resource.name == "platform-deployer")
        .expect("platform-deployer goes back to its previous version");
    assert_eq!(pd.params["version_id"], "v2");
    // The password policy is tightened, never weakened.
    let pp = plan
        .actions
        .iter()
        .find(|a| a.action.as_str() == "update_password_policy")
        .unwrap();
    assert_eq!(pp.after["minimum_password_length"], 14);
    assert_eq!(pp.after["password_reuse_prevention"], 24);
}

#[test]
fn account_rules_negative_case_a_strong_policy_and_a_protected_root() {
    let inv = iamwarden::inventory::snapshot::parse(
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
    let rules = iamwarden::packs::load_rule_set(&[]).unwrap();
    let now = chrono::Utc::now();
    let plan = iamwarden::pipeline::make_plan(&rules, &inv, now, now);
    assert!(plan.findings.is_empty(), "{:?}", plan.findings);
    // One weak setting is enough, and the merge keeps the stronger current length.
    let mut weak = inv.clone();
    weak.account
        .password_policy
        .as_mut()
        .unwrap()
        .password_reuse_prevention = Some(5);
    let plan = iamwarden::pipeline::make_plan(&rules, &weak, now, now);
    let a = plan
        .actions
        .iter()
        .find(|a| a.action.as_str() == "update_password_policy")
        .unwrap();
    assert_eq!(a.after["minimum_password_length"], 20, "never weakened");
    assert_eq!(a.after["password_reuse_prevention"], 24);
    assert_eq!(
        a.after["max_password_age"], 60,
        "60 is stricter than 90 and stays"
    );
}
