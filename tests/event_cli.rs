//! `iamwarden event` on the sample events in examples/events/ against the demo account: what
//! each event leads to (table-driven), the records that are skipped and why, every input shape
//! (stdin, EventBridge, log file, gzip), the triggering event id on each action, and clear
//! errors for bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_test_support::root;
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Output, Stdio};

const NOW: &str = "2026-11-21T00:00:00Z";

fn event(file: &str, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_iamwarden"))
        .arg("event")
        .arg(root().join("examples/events").join(file))
        .arg("--snapshot")
        .arg(root().join("examples/demo-account.json"))
        .args(["--now", NOW, "--format", "json"])
        .args(extra)
        .env("NO_COLOR", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap()
}

fn plan(o: &Output) -> Value {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

fn findings(p: &Value) -> Vec<(String, String)> {
    p["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["resource"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// (file, the findings it must produce, exactly)
const CASES: &[(&str, &[(&str, &str)])] = &[
    (
        "create-policy.json",
        &[("customer-policy-admin", "ci-deployer")],
    ),
    (
        "create-policy-version.json",
        &[
            ("policy-passrole-any-resource", "developer-base"),
            ("policy-privilege-escalation", "developer-base"),
        ],
    ),
    // A policy the snapshot lacks: judged on the document the record carries.
    (
        "create-policy-version-unknown-policy.json",
        &[("customer-policy-admin", "release-pipeline")],
    ),
    (
        "set-default-policy-version.json",
        &[("customer-policy-admin", "platform-deployer")],
    ),
    (
        "put-user-policy.json",
        &[("inline-policy-unknown-actions", "reports-access")],
    ),
    // Keys for oneself only: not an escalation.
    ("put-group-policy.json", &[]),
    (
        "put-role-policy.json",
        &[("inline-policy-risky", "everything-but-iam")],
    ),
    (
        "attach-user-policy.json",
        &[("user-admin-policy", "carlos.diaz")],
    ),
    (
        "attach-group-policy.json",
        &[("group-admin-policy", "developers")],
    ),
    (
        "attach-role-policy.json",
        &[("role-admin-policy", "lambda-exec")],
    ),
    (
        "add-user-to-group.json",
        &[("user-admin-via-group", "carlos.diaz")],
    ),
    // carlos.diaz's two keys are in use; the new, never-used key is the least recently used
    // of three (issue 10: the key to keep is the most recently used one).
    (
        "create-access-key.json",
        &[("access-key-second-active", "AKIAEXAMPLENEWKEY001")],
    ),
    (
        "create-login-profile.json",
        &[("console-user-without-mfa", "svc-report-export")],
    ),
    (
        "update-assume-role-policy.json",
        &[("role-trust-any-principal", "vendor-audit")],
    ),
    (
        "update-account-password-policy.json",
        &[("password-policy-weak", "acme-prod")],
    ),
    (
        "delete-account-password-policy.json",
        &[("password-policy-weak", "acme-prod")],
    ),
    (
        "deactivate-mfa-device.json",
        &[
            ("console-user-mfa-deactivated", "alice.nguyen"),
            ("console-user-without-mfa", "alice.nguyen"),
        ],
    ),
    ("eventbridge-create-policy.json", &[]),
    (
        "escaped-newlines-create-policy.json",
        &[
            ("policy-passrole-any-resource", "console-iam-helper"),
            ("policy-privilege-escalation", "console-iam-helper"),
            ("policy-sensitive-service-wildcard", "console-iam-helper"),
        ],
    ),
    ("organizations-create-policy.json", &[]),
    ("failed-create-policy.json", &[]),
    (
        "log-file.json",
        &[
            ("customer-policy-admin", "ci-deployer"),
            ("inline-policy-unknown-actions", "reports-access"),
            ("role-trust-any-principal", "vendor-audit"),
        ],
    ),
];

#[test]
fn every_sample_event_leads_to_exactly_its_findings() {
    let mut failures = Vec::new();
    for (file, want) in CASES {
        let mut got = findings(&plan(&event(file, &[])));
        got.sort();
        let mut want: Vec<(String, String)> = want
            .iter()
            .map(|(r, n)| (r.to_string(), n.to_string()))
            .collect();
        want.sort();
        if got != want {
            failures.push(format!("{file}: got {got:?}, want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every sample file is in the table (a new sample needs its expectation).
    let files: Vec<String> = std::fs::read_dir(root().join("examples/events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".json"))
        .collect();
    for f in files {
        assert!(CASES.iter().any(|(c, _)| *c == f), "{f} has no case");
    }
}

#[test]
fn a_version_of_a_policy_the_snapshot_lacks_is_judged_and_the_unknown_state_named() {
    let o = event("create-policy-version-unknown-policy.json", &[]);
    let p = plan(&o);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains(
            "CreatePolicyVersion 8f6a5d2e-0023-4c1a-9b1e-5a0c1e2f3a23: 1 resource(s) judged"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("not applied"), "{stderr}");
    assert!(
        stderr.contains("unknown: policy arn:aws:iam::123456789012:policy/build/release-pipeline is not in the inventory: built from the event; its other versions, attachments, tags"),
        "{stderr}"
    );
    let f = &p["findings"][0];
    assert_eq!(f["rule"], "customer-policy-admin");
    let evidence = f["evidence"].to_string();
    assert!(evidence.contains("conditioned: aws:SourceIp"), "{evidence}");
    // What can be planned is planned: going back needs a previous version nobody knows.
    assert!(p["actions"].as_array().unwrap().is_empty(), "{p}");
    let skipped = p["skipped"].to_string();
    assert!(skipped.contains("release-pipeline"), "{skipped}");
}

#[test]
fn actions_record_their_triggering_event() {
    let p = plan(&event("attach-user-policy.json", &[]));
    let a = &p["actions"][0];
    assert_eq!(a["action"], "detach_user_policy");
    assert_eq!(
        a["params"]["policy_arn"],
        "arn:aws:iam::aws:policy/AdministratorAccess"
    );
    assert_eq!(
        a["triggered_by"],
        serde_json::json!(["8f6a5d2e-0007-4c1a-9b1e-5a0c1e2f3a07"])
    );
    // Only the event's resource is judged: the demo's other admin users are not in this plan.
    assert_eq!(p["findings"].as_array().unwrap().len(), 1);
}

#[test]
fn skipped_records_are_reported_with_the_reason() {
    let o = event("log-file.json", &[]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(err.contains("3 IAM event(s), 2 record(s) skipped"), "{err}");
    assert!(
        err.contains("not an IAM event (eventSource s3.amazonaws.com)"),
        "{err}"
    );
    assert!(
        err.contains("the call failed (AccessDenied): it changed nothing"),
        "{err}"
    );
    let o = event("organizations-create-policy.json", &[]);
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("not an IAM event (eventSource organizations.amazonaws.com)"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn gzip_and_stdin_give_the_same_plan_as_the_plain_file() {
    let strip = |mut p: Value| {
        p["created_at"] = Value::Null;
        p["content_sha256"] = Value::Null;
        p
    };
    let plain = strip(plan(&event("log-file.json", &[])));
    let gz = strip(plan(&event("log-file.json.gz", &[])));
    assert_eq!(plain, gz);
    let mut child = Command::new(env!("CARGO_BIN_EXE_iamwarden"))
        .args(["event", "-", "--snapshot"])
        .arg(root().join("examples/demo-account.json"))
        .args(["--now", NOW, "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(root().join("examples/events/log-file.json.gz")).unwrap())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(strip(plan(&o)), plain);
}

#[test]
fn the_event_plan_is_a_sealed_plan_apply_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plan.json");
    let o = event("attach-user-policy.json", &["--out", out.to_str().unwrap()]);
    assert!(o.status.success());
    let text = std::fs::read_to_string(&out).unwrap();
    let p = iamwarden_core::apply::load_plan(&text).unwrap();
    assert_eq!(p.actions.len(), 1);
}

#[test]
fn bad_input_names_the_place_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"Records\": [\n  {\"eventName\": }\n]}").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_iamwarden"))
        .arg("event")
        .arg(&bad)
        .arg("--snapshot")
        .arg(root().join("examples/demo-account.json"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.json:2:17: not JSON"), "{err}");
    std::fs::write(&bad, "{\"hello\": 1}").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_iamwarden"))
        .arg("event")
        .arg(&bad)
        .arg("--snapshot")
        .arg(root().join("examples/demo-account.json"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no CloudTrail record"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn on_events_names_are_checked_when_the_pack_loads() {
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("p.yaml");
    std::fs::write(
        &pack,
        "pack: {name: t/p, version: 1.0.0}\nrules:\n  - id: r\n    title: t\n    severity: low\n    on_events: [CreatePolicyVerison]\n    select: $.managed_policies\n",
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_iamwarden"))
        .args(["validate"])
        .arg(&pack)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("p.yaml:6:")
            && err.contains("`CreatePolicyVerison` is not an event iamwarden reacts to")
            && err.contains("CreatePolicyVersion"),
        "{err}"
    );
}
