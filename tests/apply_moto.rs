//! `iamwarden apply` and `undo` against a real IAM endpoint (a moto server on 127.0.0.1):
//! every step applied and read back, idempotence, undo, stale actions, the plan-file checks,
//! the gates, the self-lockout guard, and a 200-action apply killed with SIGKILL and resumed.
//! The server's own request log (tests/support/moto_clock_server.py) counts the calls that
//! reached it, independently of iamwarden's journal.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_test_support::{
    cli::{self, text},
    moto, runtime as rt,
};

use aws_sdk_iam::types::{StatusType, Tag};
use aws_sdk_iam::Client;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SEED_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

use moto::iam_client as client;

fn pack(name: &str) -> PathBuf {
    Path::new(ROOT).join("../tests/fixtures/apply").join(name)
}

/// The CLI, pointed at the server, with static credentials and nothing from the machine.
fn iamwarden(server: &moto::MotoServer, key: &str, secret: &str) -> Command {
    cli::isolated(
        env!("CARGO_BIN_EXE_iamwarden"),
        &server.endpoint(),
        key,
        secret,
    )
}

fn run(cmd: &mut Command) -> Output {
    cli::run_hiding(cmd, &["seed-secret", "ci-secret"])
}

/// `plan --out` on the live server with the given pack.
fn make_plan(server: &moto::MotoServer, pack: &Path, out: &Path) -> Value {
    let o = run(iamwarden(server, SEED_KEY, "seed-secret")
        .args(["plan", "--format", "json", "--rules"])
        .arg(pack)
        .arg("--out")
        .arg(out));
    assert!(o.status.success(), "plan failed\n{}", text(&o));
    serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap()
}

fn apply_json(server: &moto::MotoServer, plan: &Path, extra: &[&str]) -> (i32, Value, String) {
    let o = run(iamwarden(server, SEED_KEY, "seed-secret")
        .args(["apply", "--auto-approve", "--format", "json"])
        .arg(plan)
        .args(extra));
    let report = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    (o.status.code().unwrap_or(-1), report, text(&o))
}

fn outcomes(report: &Value) -> Vec<(String, String, String)> {
    report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["action"].as_str().unwrap().to_string(),
                a["target"].as_str().unwrap().to_string(),
                a["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Requests that change something (everything but Get*/List*/GenerateCredentialReport and STS).
fn mutating(server: &moto::MotoServer) -> Vec<Value> {
    server
        .requests()
        .into_iter()
        .filter(|r| {
            let a = r["action"].as_str().unwrap_or_default();
            !(a.starts_with("Get") || a.starts_with("List") || a == "GenerateCredentialReport")
        })
        .collect()
}

const ADMIN: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const S3_READ: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":"*"}]}"#;
const S3_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;

struct Seeded {
    deact_key: String,
    del_key: String,
    mfa_serial: String,
    s3_read: String,
    replace_me: String,
    rollback_me: String,
    detach_everywhere: String,
    delete_policy: String,
}

async fn user(c: &Client, name: &str) {
    c.create_user().user_name(name).send().await.unwrap();
}

async fn policy(c: &Client, name: &str, doc: &str) -> String {
    c.create_policy()
        .policy_name(name)
        .policy_document(doc)
        .send()
        .await
        .unwrap()
        .policy()
        .unwrap()
        .arn()
        .unwrap()
        .to_string()
}

async fn virtual_mfa(c: &Client, user: &str, name: &str) -> String {
    let d = c
        .create_virtual_mfa_device()
        .virtual_mfa_device_name(name)
        .send()
        .await
        .unwrap();
    let serial = d.virtual_mfa_device().unwrap().serial_number().to_string();
    c.enable_mfa_device()
        .user_name(user)
        .serial_number(&serial)
        .authentication_code1("123456")
        .authentication_code2("654321")
        .send()
        .await
        .unwrap();
    serial
}

/// One resource per step of `every-step.yaml`.
async fn seed_every_step(c: &Client) -> Seeded {
    let s3_read = policy(c, "s3-read", S3_READ).await;
    for u in [
        "k-deact",
        "k-del",
        "lp-reset",
        "lp-del",
        "mfa-user",
        "detach-me",
        "quarantine-me",
        "delete-me",
        "tag-me",
        "plain",
    ] {
        user(c, u).await;
    }
    let key = |u: &'static str| async move {
        c.create_access_key()
            .user_name(u)
            .send()
            .await
            .unwrap()
            .access_key()
            .unwrap()
            .access_key_id()
            .to_string()
    };
    let deact_key = key("k-deact").await;
    let del_key = key("k-del").await;
    for u in ["lp-reset", "lp-del", "delete-me"] {
        c.create_login_profile()
            .user_name(u)
            .password("Correct-Horse-9!")
            .send()
            .await
            .unwrap();
    }
    let mfa_serial = virtual_mfa(c, "mfa-user", "mfa-user").await;
    c.create_group().group_name("devs").send().await.unwrap();
    c.add_user_to_group()
        .user_name("detach-me")
        .group_name("devs")
        .send()
        .await
        .unwrap();
    c.attach_user_policy()
        .user_name("detach-me")
        .policy_arn(&s3_read)
        .send()
        .await
        .unwrap();
    c.attach_group_policy()
        .group_name("devs")
        .policy_arn(&s3_read)
        .send()
        .await
        .unwrap();
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    c.create_role()
        .role_name("app-role")
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    c.attach_role_policy()
        .role_name("app-role")
        .policy_arn(&s3_read)
        .send()
        .await
        .unwrap();
    c.put_user_policy()
        .user_name("plain")
        .policy_name("inline-admin")
        .policy_document(ADMIN)
        .send()
        .await
        .unwrap();
    // delete-me: everything AWS wants removed before DeleteUser.
    key("delete-me").await;
    virtual_mfa(c, "delete-me", "delete-me").await;
    c.add_user_to_group()
        .user_name("delete-me")
        .group_name("devs")
        .send()
        .await
        .unwrap();
    c.attach_user_policy()
        .user_name("delete-me")
        .policy_arn(&s3_read)
        .send()
        .await
        .unwrap();
    c.put_user_policy()
        .user_name("delete-me")
        .policy_name("own")
        .policy_document(S3_READ)
        .send()
        .await
        .unwrap();
    c.upload_ssh_public_key()
        .user_name("delete-me")
        .ssh_public_key_body("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 test@example")
        .send()
        .await
        .unwrap();
    let cert = std::fs::read_to_string(Path::new(ROOT).join("../tests/fixtures/signing-cert.pem"))
        .unwrap();
    c.upload_signing_certificate()
        .user_name("delete-me")
        .certificate_body(cert)
        .send()
        .await
        .unwrap();
    c.tag_user()
        .user_name("tag-me")
        .tags(Tag::builder().key("temp").value("x").build().unwrap())
        .send()
        .await
        .unwrap();
    let replace_me = policy(c, "replace-me", S3_ALL).await;
    let rollback_me = policy(c, "rollback-me", S3_READ).await;
    c.create_policy_version()
        .policy_arn(&rollback_me)
        .policy_document(ADMIN)
        .set_as_default(true)
        .send()
        .await
        .unwrap();
    let detach_everywhere = policy(c, "detach-everywhere", S3_READ).await;
    c.attach_user_policy()
        .user_name("plain")
        .policy_arn(&detach_everywhere)
        .send()
        .await
        .unwrap();
    c.attach_role_policy()
        .role_name("app-role")
        .policy_arn(&detach_everywhere)
        .send()
        .await
        .unwrap();
    let delete_policy = policy(c, "delete-policy", S3_READ).await;
    c.create_policy_version()
        .policy_arn(&delete_policy)
        .policy_document(S3_ALL)
        .set_as_default(true)
        .send()
        .await
        .unwrap();
    c.attach_group_policy()
        .group_name("devs")
        .policy_arn(&delete_policy)
        .send()
        .await
        .unwrap();
    Seeded {
        deact_key,
        del_key,
        mfa_serial,
        s3_read,
        replace_me,
        rollback_me,
        detach_everywhere,
        delete_policy,
    }
}

async fn key_status(c: &Client, user: &str) -> Vec<(String, String)> {
    c.list_access_keys()
        .user_name(user)
        .send()
        .await
        .map(|o| {
            o.access_key_metadata()
                .iter()
                .map(|k| {
                    (
                        k.access_key_id().unwrap().to_string(),
                        k.status().unwrap().as_str().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn attached(c: &Client, kind: &str, name: &str) -> Vec<String> {
    let arns = |v: &[aws_sdk_iam::types::AttachedPolicy]| {
        v.iter()
            .map(|p| p.policy_arn().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    match kind {
        "user" => arns(
            c.list_attached_user_policies()
                .user_name(name)
                .send()
                .await
                .unwrap()
                .attached_policies(),
        ),
        "group" => arns(
            c.list_attached_group_policies()
                .group_name(name)
                .send()
                .await
                .unwrap()
                .attached_policies(),
        ),
        _ => arns(
            c.list_attached_role_policies()
                .role_name(name)
                .send()
                .await
                .unwrap()
                .attached_policies(),
        ),
    }
}

async fn default_version(c: &Client, arn: &str) -> Option<String> {
    c.get_policy()
        .policy_arn(arn)
        .send()
        .await
        .ok()
        .and_then(|o| {
            o.policy()
                .and_then(|p| p.default_version_id().map(str::to_string))
        })
}

async fn groups_of(c: &Client, user: &str) -> Vec<String> {
    c.list_groups_for_user()
        .user_name(user)
        .send()
        .await
        .unwrap()
        .groups()
        .iter()
        .map(|g| g.group_name().to_string())
        .collect()
}

async fn user_tags(c: &Client, user: &str) -> Vec<(String, String)> {
    c.list_user_tags()
        .user_name(user)
        .send()
        .await
        .unwrap()
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

#[test]
fn every_step_applies_reads_back_is_idempotent_and_undoes() {
    let server = moto::MotoServer::start();
    let rt = rt();
    let c = client(&server.endpoint(), SEED_KEY, "seed-secret");
    let s = rt.block_on(seed_every_step(&c));
    let dir = tempfile::tempdir().unwrap();
    let plan_path = dir.path().join("plan.json");
    let plan = make_plan(&server, &pack("every-step.yaml"), &plan_path);
    let planned: Vec<&str> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    for step in [
        "deactivate_access_key",
        "delete_access_key",
        "require_password_reset",
        "delete_login_profile",
        "deactivate_mfa_device",
        "detach_user_policy",
        "detach_group_policy",
        "detach_role_policy",
        "delete_inline_policy",
        "remove_user_from_group",
        "quarantine_user",
        "delete_user",
        "replace_policy_document",
        "set_default_policy_version",
        "detach_policy_everywhere",
        "delete_policy",
        "update_password_policy",
        "tag",
        "untag",
    ] {
        assert!(planned.contains(&step), "{step} not planned: {planned:?}");
    }

    server.clear_requests();
    let (code, report, out) = apply_json(&server, &plan_path, &["--allow-destructive"]);
    assert_eq!(code, 0, "{out}");
    let not_applied: Vec<_> = outcomes(&report)
        .into_iter()
        .filter(|(_, _, o)| o != "applied")
        .collect();
    assert!(not_applied.is_empty(), "{not_applied:?}\n{out}");
    assert_eq!(report["summary"]["applied"], json!(planned.len()));
    let first_run_calls = mutating(&server);

    // Read everything back.
    rt.block_on(async {
        assert_eq!(
            key_status(&c, "k-deact").await,
            vec![(s.deact_key.clone(), "Inactive".into())]
        );
        assert!(
            key_status(&c, "k-del").await.is_empty(),
            "k-del's key survived"
        );
        let lp = c
            .get_login_profile()
            .user_name("lp-reset")
            .send()
            .await
            .unwrap();
        assert!(
            lp.login_profile().unwrap().password_reset_required(),
            "reset flag not set"
        );
        assert!(c
            .get_login_profile()
            .user_name("lp-del")
            .send()
            .await
            .is_err());
        let mfa = c
            .list_mfa_devices()
            .user_name("mfa-user")
            .send()
            .await
            .unwrap();
        assert!(mfa.mfa_devices().is_empty());
        let virt = c.list_virtual_mfa_devices().send().await.unwrap();
        assert!(
            !virt
                .virtual_mfa_devices()
                .iter()
                .any(|d| d.serial_number() == s.mfa_serial),
            "the virtual device was not deleted"
        );
        assert!(attached(&c, "user", "detach-me").await.is_empty());
        assert!(groups_of(&c, "detach-me").await.is_empty());
        assert!(!attached(&c, "group", "devs").await.contains(&s.s3_read));
        assert!(attached(&c, "role", "app-role").await.is_empty());
        assert!(c
            .get_user_policy()
            .user_name("plain")
            .policy_name("inline-admin")
            .send()
            .await
            .is_err());
        let q = c
            .get_user_policy()
            .user_name("quarantine-me")
            .policy_name("iamwarden-quarantine")
            .send()
            .await
            .unwrap();
        assert!(
            q.policy_document().contains("Deny"),
            "{}",
            q.policy_document()
        );
        assert!(
            c.get_user().user_name("delete-me").send().await.is_err(),
            "delete-me survived"
        );
        assert_eq!(
            default_version(&c, &s.replace_me).await.as_deref(),
            Some("v2")
        );
        let doc = c
            .get_policy_version()
            .policy_arn(&s.replace_me)
            .version_id("v2")
            .send()
            .await
            .unwrap();
        assert!(doc
            .policy_version()
            .unwrap()
            .document()
            .unwrap()
            .contains("reports"));
        assert_eq!(
            default_version(&c, &s.rollback_me).await.as_deref(),
            Some("v1")
        );
        let ents = c
            .list_entities_for_policy()
            .policy_arn(&s.detach_everywhere)
            .send()
            .await
            .unwrap();
        assert!(ents.policy_users().is_empty() && ents.policy_roles().is_empty());
        assert!(
            default_version(&c, &s.delete_policy).await.is_none(),
            "delete-policy survived"
        );
        let pp = c.get_account_password_policy().send().await.unwrap();
        let pp = pp.password_policy().unwrap();
        assert_eq!(pp.minimum_password_length(), Some(14));
        assert!(pp.require_symbols());
        assert_eq!(
            user_tags(&c, "tag-me").await,
            vec![("owner".to_string(), "security".to_string())]
        );
    });

    // The delete_user cascade, in the order AWS requires: every call that removes something
    // from delete-me comes before DeleteUser, login profile first.
    let cascade: Vec<String> = first_run_calls
        .iter()
        .filter(|r| {
            r["UserName"] == "delete-me"
                || r["SerialNumber"]
                    .as_str()
                    .is_some_and(|s| s.ends_with("/delete-me"))
        })
        .map(|r| r["action"].as_str().unwrap().to_string())
        .collect();
    for needed in [
        "DeleteLoginProfile",
        "DeleteAccessKey",
        "DeleteSigningCertificate",
        "DeleteSSHPublicKey",
        "DeactivateMFADevice",
        "DeleteVirtualMFADevice",
        "RemoveUserFromGroup",
        "DetachUserPolicy",
        "DeleteUserPolicy",
    ] {
        assert!(
            cascade.contains(&needed.to_string()),
            "{needed} missing from {cascade:?}"
        );
    }
    assert_eq!(
        cascade.first().map(String::as_str),
        Some("DeleteLoginProfile"),
        "{cascade:?}"
    );
    assert_eq!(
        cascade.last().map(String::as_str),
        Some("DeleteUser"),
        "{cascade:?}"
    );
    let pos = |a: &str| cascade.iter().position(|x| x == a).unwrap();
    assert!(pos("DeleteAccessKey") < pos("DeactivateMFADevice"));
    assert!(pos("DeactivateMFADevice") < pos("DeleteVirtualMFADevice"));
    assert!(pos("DeactivateMFADevice") < pos("RemoveUserFromGroup"));
    assert!(pos("RemoveUserFromGroup") < pos("DetachUserPolicy"));
    assert!(pos("DetachUserPolicy") < pos("DeleteUserPolicy"));
    // delete_policy: detach everywhere, delete the non-default version, then the policy.
    let pol: Vec<&str> = first_run_calls
        .iter()
        .filter(|r| r["PolicyArn"] == json!(s.delete_policy))
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        pol,
        vec!["DetachGroupPolicy", "DeletePolicyVersion", "DeletePolicy"]
    );

    // Idempotent: the same plan again changes nothing, with or without the journal.
    server.clear_requests();
    let (code, report, out) = apply_json(&server, &plan_path, &["--allow-destructive"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        report["summary"]["already_applied"],
        json!(planned.len()),
        "{out}"
    );
    let o = run(iamwarden(&server, SEED_KEY, "seed-secret")
        .args(["apply", "--auto-approve", "--allow-destructive"])
        .arg(&plan_path)
        .arg("--journal")
        .arg(dir.path().join("fresh.jsonl")));
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("nothing to do"),
        "{}",
        text(&o)
    );
    assert!(
        mutating(&server).is_empty(),
        "a second apply changed something: {:?}",
        mutating(&server)
    );

    // Undo: what can be reversed is, and the rest is named.
    let journal = dir.path().join("plan.json.journal.jsonl");
    let o = run(iamwarden(&server, SEED_KEY, "seed-secret")
        .args(["undo", "--auto-approve", "--format", "json"])
        .arg(&journal));
    assert!(o.status.success(), "{}", text(&o));
    let undo: Value = serde_json::from_slice(&o.stdout).unwrap();
    let refused: Vec<String> = outcomes(&undo)
        .into_iter()
        .filter(|(_, _, o)| o == "refused")
        .map(|(a, _, _)| a)
        .collect();
    for irreversible in [
        "delete_access_key",
        "delete_login_profile",
        "deactivate_mfa_device",
        "delete_user",
        "delete_policy",
    ] {
        assert!(
            refused.iter().any(|r| r == irreversible),
            "{irreversible} not reported as irreversible: {undo:#}"
        );
    }
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("cannot be restored"),
        "{}",
        text(&o)
    );
    rt.block_on(async {
        assert_eq!(
            key_status(&c, "k-deact").await,
            vec![(s.deact_key.clone(), "Active".into())]
        );
        let lp = c
            .get_login_profile()
            .user_name("lp-reset")
            .send()
            .await
            .unwrap();
        assert!(
            !lp.login_profile().unwrap().password_reset_required(),
            "the reset flag stayed"
        );
        assert_eq!(
            attached(&c, "user", "detach-me").await,
            vec![s.s3_read.clone()]
        );
        assert_eq!(groups_of(&c, "detach-me").await, vec!["devs".to_string()]);
        assert!(attached(&c, "group", "devs").await.contains(&s.s3_read));
        assert!(attached(&c, "role", "app-role").await.contains(&s.s3_read));
        let doc = c
            .get_user_policy()
            .user_name("plain")
            .policy_name("inline-admin")
            .send()
            .await
            .unwrap();
        assert!(
            doc.policy_document().contains("\"*\"") || doc.policy_document().contains("%2A"),
            "{}",
            doc.policy_document()
        );
        assert!(c
            .get_user_policy()
            .user_name("quarantine-me")
            .policy_name("iamwarden-quarantine")
            .send()
            .await
            .is_err());
        assert_eq!(
            default_version(&c, &s.replace_me).await.as_deref(),
            Some("v1")
        );
        let versions = c
            .list_policy_versions()
            .policy_arn(&s.replace_me)
            .send()
            .await
            .unwrap();
        assert_eq!(
            versions.versions().len(),
            1,
            "the version apply created was not deleted"
        );
        assert_eq!(
            default_version(&c, &s.rollback_me).await.as_deref(),
            Some("v2")
        );
        let ents = c
            .list_entities_for_policy()
            .policy_arn(&s.detach_everywhere)
            .send()
            .await
            .unwrap();
        assert_eq!(ents.policy_users().len(), 1);
        assert_eq!(ents.policy_roles().len(), 1);
        assert!(
            c.get_account_password_policy().send().await.is_err(),
            "the password policy apply set survived undo"
        );
        assert_eq!(
            user_tags(&c, "tag-me").await,
            vec![("temp".to_string(), "x".to_string())]
        );
        assert_eq!(key_status(&c, "k-del").await, vec![], "{}", s.del_key);
    });
    // Undo twice undoes nothing twice.
    server.clear_requests();
    let o = run(iamwarden(&server, SEED_KEY, "seed-secret")
        .args(["undo", "--auto-approve"])
        .arg(&journal));
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("Nothing to undo"),
        "{}",
        text(&o)
    );
    assert!(mutating(&server).is_empty());
}

/// A small account for the stale and gate cases: three users with one key each, a policy.
async fn seed_small(c: &Client) -> (Vec<(String, String)>, String) {
    let mut keys = Vec::new();
    for u in ["s-1", "s-2", "s-3"] {
        user(c, u).await;
        let k = c.create_access_key().user_name(u).send().await.unwrap();
        let k = k.access_key().unwrap();
        keys.push((
            k.access_key_id().to_string(),
            k.secret_access_key().to_string(),
        ));
    }
    let p = policy(c, "replace-me", S3_ALL).await;
    (keys, p)
}

#[test]
fn stale_actions_are_skipped_with_the_reason_and_the_rest_go_on() {
    let server = moto::MotoServer::start();
    let rt = rt();
    let c = client(&server.endpoint(), SEED_KEY, "seed-secret");
    let (keys, policy_arn) = rt.block_on(seed_small(&c));
    rt.block_on(user(&c, "gone-user"));
    let dir = tempfile::tempdir().unwrap();
    let plan_path = dir.path().join("plan.json");
    make_plan(&server, &pack("stale.yaml"), &plan_path);

    rt.block_on(async {
        // s-1's key is deleted by someone else; s-2's key signs a request (used since the
        // plan); the policy gets a new default version; gone-user is deleted and re-created
        // (same name, another user).
        c.delete_access_key()
            .user_name("s-1")
            .access_key_id(&keys[0].0)
            .send()
            .await
            .unwrap();
        let _ = client(&server.endpoint(), &keys[1].0, &keys[1].1)
            .get_user()
            .send()
            .await;
        c.create_policy_version()
            .policy_arn(&policy_arn)
            .policy_document(S3_READ)
            .set_as_default(true)
            .send()
            .await
            .unwrap();
        c.delete_user().user_name("gone-user").send().await.unwrap();
        user(&c, "gone-user").await;
    });
    server.clear_requests();
    let (code, report, out) = apply_json(&server, &plan_path, &["--allow-destructive"]);
    assert_eq!(code, 3, "stale actions must exit 3\n{out}");
    let o = outcomes(&report);
    let find = |needle: &str| {
        o.iter()
            .find(|(a, t, _)| format!("{a} {t}").contains(needle))
            .unwrap_or_else(|| panic!("{needle} not in {o:?}"))
            .2
            .clone()
    };
    assert_eq!(find(&keys[0].0), "stale");
    assert_eq!(find(&keys[1].0), "stale");
    assert_eq!(find(&keys[2].0), "applied");
    assert_eq!(find("replace_policy_document"), "stale");
    assert_eq!(find("delete_user gone-user"), "stale");
    let details: Vec<&str> = report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["detail"].as_str().unwrap())
        .collect();
    for reason in [
        "no longer exists",
        "was used at",
        "default version is v2",
        "another user now",
    ] {
        assert!(
            details.iter().any(|d| d.contains(reason)),
            "no `{reason}` in {details:?}"
        );
    }
    // Only s-3's key changed.
    let calls = mutating(&server);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["action"], "UpdateAccessKey");
    assert_eq!(calls[0]["AccessKeyId"], json!(keys[2].0));
    assert!(
        rt.block_on(c.get_user().user_name("gone-user").send())
            .is_ok(),
        "the re-created user was deleted"
    );
}

#[test]
fn plan_file_checks_and_gates_refuse_before_any_change() {
    let server = moto::MotoServer::start();
    let rt = rt();
    let c = client(&server.endpoint(), SEED_KEY, "seed-secret");
    rt.block_on(seed_small(&c));
    rt.block_on(user(&c, "gone-user"));
    let dir = tempfile::tempdir().unwrap();
    let plan_path = dir.path().join("plan.json");
    let plan = make_plan(&server, &pack("stale.yaml"), &plan_path);
    server.clear_requests();
    let refuse = |args: &[&str], plan: &Path, needle: &str| {
        let o = run(iamwarden(&server, SEED_KEY, "seed-secret")
            .arg("apply")
            .arg(plan)
            .args(args));
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(needle),
            "no `{needle}` in\n{}",
            text(&o)
        );
    };
    // Destructive actions need the flag.
    refuse(&["--auto-approve"], &plan_path, "--allow-destructive");
    // --max-actions caps the whole plan.
    refuse(
        &[
            "--auto-approve",
            "--allow-destructive",
            "--max-actions",
            "2",
        ],
        &plan_path,
        "more than --max-actions 2",
    );
    // Too old.
    refuse(
        &[
            "--auto-approve",
            "--allow-destructive",
            "--max-plan-age",
            "0s",
        ],
        &plan_path,
        "--max-plan-age",
    );
    // Without a terminal and without --auto-approve: refused.
    refuse(&["--allow-destructive"], &plan_path, "not a terminal");
    // An edited plan.
    let mut edited = plan.clone();
    edited["actions"][0]["resource"]["name"] = json!("someone-else");
    let edited_path = dir.path().join("edited.json");
    std::fs::write(&edited_path, serde_json::to_string_pretty(&edited).unwrap()).unwrap();
    refuse(
        &["--auto-approve", "--allow-destructive"],
        &edited_path,
        "content hash",
    );
    // Another format.
    let mut old = plan.clone();
    old["format_version"] = json!(1);
    let old_path = dir.path().join("old.json");
    std::fs::write(&old_path, serde_json::to_string(&old).unwrap()).unwrap();
    refuse(
        &["--auto-approve", "--allow-destructive"],
        &old_path,
        "plan format 1",
    );
    // Another account: the same plan, made (and sealed) for account 210987654321.
    let mut other: iamwarden_core::plan::Plan = serde_json::from_value(plan.clone()).unwrap();
    other.account_id = "210987654321".into();
    other.seal();
    let other_path = dir.path().join("other.json");
    std::fs::write(&other_path, serde_json::to_string(&other).unwrap()).unwrap();
    refuse(
        &["--auto-approve", "--allow-destructive"],
        &other_path,
        "made for account 210987654321, but the credentials belong to account 123456789012",
    );
    // A rule's own cap.
    let capped = make_plan(
        &server,
        &pack("capped.yaml"),
        &dir.path().join("capped.json"),
    );
    assert_eq!(capped["rule_caps"]["deactivate-every-key"], json!(2));
    server.clear_requests();
    refuse(
        &["--auto-approve"],
        &dir.path().join("capped.json"),
        "rule deactivate-every-key planned 3 actions, its max_actions is 2",
    );
    assert!(
        mutating(&server).is_empty(),
        "a refused plan changed something: {:?}",
        mutating(&server)
    );
}

#[test]
fn the_identity_running_apply_is_never_locked_out() {
    let server = moto::MotoServer::start();
    let rt = rt();
    let c = client(&server.endpoint(), SEED_KEY, "seed-secret");
    let (ci_key, ci_secret) = rt.block_on(async {
        user(&c, "ci-bot").await;
        let k = c
            .create_access_key()
            .user_name("ci-bot")
            .send()
            .await
            .unwrap();
        let k = k.access_key().unwrap();
        user(&c, "other").await;
        c.create_access_key()
            .user_name("other")
            .send()
            .await
            .unwrap();
        (
            k.access_key_id().to_string(),
            k.secret_access_key().to_string(),
        )
    });
    let _ = ci_secret;
    let dir = tempfile::tempdir().unwrap();
    let plan_path = dir.path().join("plan.json");
    make_plan(&server, &pack("lockout.yaml"), &plan_path);
    // moto's STS names the user owning the signing key: apply runs as ci-bot.
    let o = run(iamwarden(&server, &ci_key, "ci-secret")
        .args(["apply", "--auto-approve", "--format", "json"])
        .arg(&plan_path));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    let oc = outcomes(&report);
    assert!(
        oc.iter()
            .any(|(a, t, o)| a == "deactivate_access_key" && t.contains(&ci_key) && o == "refused"),
        "{oc:?}"
    );
    assert!(
        oc.iter()
            .any(|(a, t, o)| a == "quarantine_user" && t.contains("ci-bot") && o == "refused"),
        "{oc:?}"
    );
    assert!(
        oc.iter()
            .any(|(a, t, o)| a == "deactivate_access_key" && t.contains("other") && o == "applied"),
        "{oc:?}"
    );
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("self-lockout"),
        "{}",
        text(&o)
    );
    rt.block_on(async {
        assert_eq!(key_status(&c, "ci-bot").await[0].1, "Active");
        assert!(c
            .get_user_policy()
            .user_name("ci-bot")
            .policy_name("iamwarden-quarantine")
            .send()
            .await
            .is_err());
        assert_eq!(key_status(&c, "other").await[0].1, "Inactive");
    });
}

#[cfg(unix)]
#[test]
fn a_200_action_apply_killed_with_sigkill_resumes_and_runs_every_action_exactly_once() {
    let server = moto::MotoServer::start();
    let rt = rt();
    let c = client(&server.endpoint(), SEED_KEY, "seed-secret");
    rt.block_on(async {
        for i in 0..200 {
            let name = format!("bulk-{i:03}");
            user(&c, &name).await;
            c.create_access_key().user_name(&name).send().await.unwrap();
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let plan_path = dir.path().join("plan.json");
    let plan = make_plan(&server, &pack("bulk.yaml"), &plan_path);
    assert_eq!(plan["actions"].as_array().unwrap().len(), 200);
    let journal = dir.path().join("journal.jsonl");
    server.clear_requests();

    let mut child = iamwarden(&server, SEED_KEY, "seed-secret")
        .args(["apply", "--auto-approve", "--concurrency", "4", "--journal"])
        .arg(&journal)
        .arg(&plan_path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let done = std::fs::read_to_string(&journal)
            .unwrap_or_default()
            .matches("\"record\":\"done\"")
            .count();
        if done >= 60 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "apply ended before it could be killed"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "apply made no progress"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let first = std::fs::read_to_string(&journal).unwrap();
    let done_before = first.matches("\"record\":\"done\"").count();
    assert!(
        done_before < 200,
        "the kill came too late to test anything ({done_before} done)"
    );
    let calls_before = mutating(&server).len();

    // Resume with the same journal.
    let o = run(iamwarden(&server, SEED_KEY, "seed-secret")
        .args(["apply", "--auto-approve", "--format", "json", "--journal"])
        .arg(&journal)
        .arg(&plan_path));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    let s = &report["summary"];
    assert_eq!(
        s["applied"].as_u64().unwrap() + s["already_applied"].as_u64().unwrap(),
        200,
        "{s}"
    );
    assert!(
        s["already_applied"].as_u64().unwrap() >= done_before as u64,
        "{s}"
    );

    // Every key got exactly one UpdateAccessKey across both runs, seen by the server.
    let calls = mutating(&server);
    let mut per_key: std::collections::BTreeMap<String, usize> = Default::default();
    for r in &calls {
        assert_eq!(r["action"], "UpdateAccessKey", "{r}");
        *per_key
            .entry(r["AccessKeyId"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(per_key.len(), 200, "{} keys updated", per_key.len());
    assert!(
        per_key.values().all(|n| *n == 1),
        "a key was updated twice: {:?}",
        per_key.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );
    assert!(calls_before > 0 && calls_before < 200);

    // The journal agrees: one applied outcome per action, and every intent has a result
    // except at most the calls in flight when the process was killed.
    let records: Vec<Value> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let mut applied: std::collections::BTreeMap<String, usize> = Default::default();
    for r in records
        .iter()
        .filter(|r| r["record"] == "done" && r["outcome"] == "applied")
    {
        *applied
            .entry(r["action"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(applied.len(), 200);
    assert!(applied.values().all(|n| *n == 1));
    let intents = records.iter().filter(|r| r["record"] == "call").count();
    let results = records.iter().filter(|r| r["record"] == "result").count();
    assert!(
        intents - results <= 4,
        "{intents} intents, {results} results"
    );
    rt.block_on(async {
        for i in [0, 99, 199] {
            assert_eq!(
                key_status(&c, &format!("bulk-{i:03}")).await[0].1,
                "Inactive"
            );
        }
    });
    let _ = StatusType::Active;
}

#[test]
fn replace_policy_document_makes_room_in_a_full_policy_and_undo_restores_it() {
    let server = moto::MotoServer::start();
    let rt = rt();
    let c = client(&server.endpoint(), SEED_KEY, "seed-secret");
    let arn = rt.block_on(async {
        let arn = policy(&c, "full", S3_READ).await;
        for doc in [S3_ALL, ADMIN, S3_READ, S3_ALL] {
            c.create_policy_version()
                .policy_arn(&arn)
                .policy_document(doc)
                .set_as_default(true)
                .send()
                .await
                .unwrap();
        }
        arn
    });
    let versions = |c: &Client| {
        let c = c.clone();
        let arn = arn.clone();
        rt.block_on(async move {
            let mut v: Vec<(String, bool)> = c
                .list_policy_versions()
                .policy_arn(&arn)
                .send()
                .await
                .unwrap()
                .versions()
                .iter()
                .map(|v| (v.version_id().unwrap().to_string(), v.is_default_version()))
                .collect();
            v.sort();
            v
        })
    };
    let dir = tempfile::tempdir().unwrap();
    let plan_path = dir.path().join("plan.json");
    let plan = make_plan(&server, &pack("replace-full.yaml"), &plan_path);
    assert_eq!(plan["actions"][0]["params"]["delete_version_first"], "v1");
    let (code, report, out) = apply_json(&server, &plan_path, &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(report["summary"]["applied"], 1, "{out}");
    let after = versions(&c);
    assert_eq!(after.len(), 5, "{after:?}");
    assert!(
        !after.iter().any(|(v, _)| v == "v1"),
        "v1 was not deleted: {after:?}"
    );
    assert_eq!(after.iter().find(|(_, d)| *d).unwrap().0, "v6");

    let o = run(iamwarden(&server, SEED_KEY, "seed-secret")
        .args(["undo", "--auto-approve"])
        .arg(dir.path().join("plan.json.journal.jsonl")));
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("v1 was deleted to make room"),
        "{}",
        text(&o)
    );
    let restored = versions(&c);
    assert_eq!(
        restored.iter().find(|(_, d)| *d).unwrap().0,
        "v5",
        "{restored:?}"
    );
    assert!(!restored.iter().any(|(v, _)| v == "v6"), "{restored:?}");
    assert_eq!(
        restored.len(),
        5,
        "v1's document is back under a new id: {restored:?}"
    );
    let v1_doc = rt.block_on(async {
        let newest = restored
            .iter()
            .map(|(v, _)| v.clone())
            .max_by_key(|v| v[1..].parse::<u32>().unwrap())
            .unwrap();
        c.get_policy_version()
            .policy_arn(&arn)
            .version_id(newest)
            .send()
            .await
            .unwrap()
            .policy_version()
            .unwrap()
            .document()
            .unwrap()
            .to_string()
    });
    assert!(v1_doc.contains("s3:ListBucket"), "{v1_doc}");
}

#[test]
fn event_apply_rolls_back_the_policy_version_that_made_a_policy_admin() {
    let server = moto::MotoServer::start();
    let rt = rt();
    let c = client(&server.endpoint(), SEED_KEY, "seed-secret");
    let (arn, record) = rt.block_on(moto::admin_policy_version(
        &c,
        "deployer",
        S3_READ,
        ADMIN,
        "ev-admin-version",
    ));
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    // As EventBridge delivers it to automation.
    let envelope = moto::eventbridge(&record);
    std::fs::write(&event, envelope.to_string()).unwrap();
    let journal = dir.path().join("event.journal.jsonl");
    let out = dir.path().join("event-plan.json");
    let o = run(iamwarden(&server, SEED_KEY, "seed-secret")
        .arg("event")
        .arg(&event)
        .args(["--apply", "--auto-approve", "--journal"])
        .arg(&journal)
        .arg("--out")
        .arg(&out));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("1 applied"), "{}", text(&o));
    assert_eq!(
        rt.block_on(default_version(&c, &arn)).as_deref(),
        Some("v1")
    );
    let plan: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(plan["actions"][0]["action"], "set_default_policy_version");
    assert_eq!(
        plan["actions"][0]["triggered_by"],
        json!(["ev-admin-version"])
    );
    assert!(std::fs::read_to_string(&journal)
        .unwrap()
        .contains("\"call\":\"SetDefaultPolicyVersion\""));
}

/// Issue 14: `enforce_mfa` attaches AWS's self-service MFA policy (a user with an active key is
/// skipped), `quarantine_role` its deny-all (never on the service-linked role), read back from
/// IAM; a second apply changes nothing; undo deletes both policies.
#[test]
fn enforce_mfa_and_quarantine_role_apply_read_back_and_undo() {
    let server = moto::MotoServer::start();
    let rt = rt();
    let c = client(&server.endpoint(), SEED_KEY, "seed-secret");
    let service_linked = rt.block_on(async {
        for u in ["no-mfa", "keyed"] {
            user(&c, u).await;
            c.create_login_profile()
                .user_name(u)
                .password("Initial-Passw0rd!")
                .send()
                .await
                .unwrap();
        }
        c.create_access_key().user_name("keyed").send().await.unwrap();
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        c.create_role()
            .role_name("idle-role")
            .assume_role_policy_document(trust)
            .send()
            .await
            .unwrap();
        c.create_service_linked_role()
            .aws_service_name("support.amazonaws.com")
            .send()
            .await
            .unwrap()
            .role()
            .unwrap()
            .role_name()
            .to_string()
    });
    let dir = tempfile::tempdir().unwrap();
    let plan_path = dir.path().join("plan.json");
    let plan = make_plan(&server, &pack("enforce-mfa.yaml"), &plan_path);
    let planned: Vec<String> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            format!(
                "{} {}",
                a["action"].as_str().unwrap(),
                a["resource"]["name"]
            )
        })
        .collect();
    assert_eq!(
        planned,
        [r#"enforce_mfa "no-mfa""#, r#"quarantine_role "idle-role""#],
        "{plan:#}"
    );
    let skipped: Vec<(String, String)> = plan["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["resource"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                s["reason"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let reason = |name: &str| {
        skipped
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| panic!("{name} not skipped: {skipped:?}"))
    };
    assert!(reason("keyed").contains("active access key"));
    assert!(reason(&service_linked).contains("service-linked"));

    server.clear_requests();
    let (code, report, out) = apply_json(&server, &plan_path, &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(report["summary"]["applied"], json!(2), "{out}");
    // Two subjects, run concurrently: compare as a set.
    let mut calls: Vec<String> = mutating(&server)
        .iter()
        .map(|r| r["action"].as_str().unwrap().to_string())
        .collect();
    calls.sort();
    assert_eq!(calls, ["PutRolePolicy", "PutUserPolicy"], "{out}");
    rt.block_on(async {
        let doc = c
            .get_user_policy()
            .user_name("no-mfa")
            .policy_name("iamwarden-enforce-mfa")
            .send()
            .await
            .unwrap()
            .policy_document()
            .to_string();
        // Raw or URL-encoded (moto answers either way): these names have no character to encode.
        for part in [
            "BlockMostAccessUnlessSignedInWithMFA",
            "BoolIfExists",
            "MultiFactorAuthPresent",
            "CreateVirtualMFADevice",
        ] {
            assert!(doc.contains(part), "{part} not in {doc}");
        }
        assert!(c
            .get_role_policy()
            .role_name("idle-role")
            .policy_name("iamwarden-quarantine")
            .send()
            .await
            .is_ok());
        for u in ["keyed"] {
            let names = c.list_user_policies().user_name(u).send().await.unwrap();
            assert!(names.policy_names().is_empty(), "{u} got a policy");
        }
        let names = c
            .list_role_policies()
            .role_name(&service_linked)
            .send()
            .await
            .unwrap();
        assert!(
            names.policy_names().is_empty(),
            "the service-linked role was touched"
        );
    });

    // The same plan again: already applied, nothing sent.
    server.clear_requests();
    let (code, report, out) = apply_json(&server, &plan_path, &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(report["summary"]["already_applied"], json!(2), "{out}");
    assert!(mutating(&server).is_empty(), "{:?}", mutating(&server));

    // Undo deletes both policies.
    let journal = dir.path().join("plan.json.journal.jsonl");
    server.clear_requests();
    let o = run(iamwarden(&server, SEED_KEY, "seed-secret")
        .args(["undo", "--auto-approve", "--format", "json"])
        .arg(&journal));
    assert!(o.status.success(), "{}", text(&o));
    let mut calls: Vec<String> = mutating(&server)
        .iter()
        .map(|r| r["action"].as_str().unwrap().to_string())
        .collect();
    calls.sort();
    assert_eq!(calls, ["DeleteRolePolicy", "DeleteUserPolicy"]);
    rt.block_on(async {
        assert!(c
            .get_user_policy()
            .user_name("no-mfa")
            .policy_name("iamwarden-enforce-mfa")
            .send()
            .await
            .is_err());
        assert!(c
            .get_role_policy()
            .role_name("idle-role")
            .policy_name("iamwarden-quarantine")
            .send()
            .await
            .is_err());
    });
}

/// `rightsize_policy` end to end: moto serves canned last-accessed data (the harness patch);
/// a pack that plans the step makes the reader read it; apply narrows the managed policy (a
/// new default version) and the inline one; undo restores both.
#[test]
fn rightsize_narrows_from_last_accessed_data_and_undo_restores() {
    const BROAD: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","sqs:*"],"Resource":"*"}]}"#;
    let narrowed = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}]});
    let server = moto::MotoServer::start();
    let rt = rt();
    let c = client(&server.endpoint(), SEED_KEY, "seed-secret");
    // carol exists for 200 days: a service she never used is idle that long.
    server.set_clock_offset(-200 * 86_400);
    let arn = rt.block_on(async {
        user(&c, "carol").await;
        let arn = policy(&c, "broad", BROAD).await;
        c.attach_user_policy()
            .user_name("carol")
            .policy_arn(&arn)
            .send()
            .await
            .unwrap();
        c.put_user_policy()
            .user_name("carol")
            .policy_name("own")
            .policy_document(BROAD)
            .send()
            .await
            .unwrap();
        arn
    });
    server.set_clock_offset(0);
    let day = |n: i64| {
        (chrono::Utc::now() - chrono::Duration::days(n))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    server.set_service_access(&json!({
        "arn:aws:iam::123456789012:user/carol": {
            "status": "COMPLETED",
            "polls": 1,
            "services": [
                {"ServiceNamespace": "s3", "ServiceName": "Amazon S3", "LastAuthenticated": day(2),
                 "TrackedActionsLastAccessed": [
                     {"ActionName": "GetObject", "LastAccessedTime": day(2)},
                     {"ActionName": "PutObject", "LastAccessedTime": day(150)}
                 ]},
                {"ServiceNamespace": "sqs", "ServiceName": "Amazon SQS"}
            ]
        }
    }));
    let dir = tempfile::tempdir().unwrap();
    let plan_path = dir.path().join("plan.json");
    let plan = make_plan(&server, &pack("rightsize.yaml"), &plan_path);
    let reads = server
        .requests()
        .iter()
        .filter(|r| r["action"] == "GetServiceLastAccessedDetails")
        .count();
    assert!(
        reads >= 2,
        "IN_PROGRESS once, then COMPLETED: {reads} reads"
    );
    let actions = plan["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 2, "{plan:#}");
    for a in actions {
        assert_eq!(a["action"], "rightsize_policy");
        assert_eq!(a["params"]["document"], narrowed, "{a:#}");
        assert_eq!(
            a["before"]["unused_actions"],
            json!(["s3:PutObject", "sqs:*"])
        );
    }
    server.clear_requests();

    let (code, report, out) = apply_json(&server, &plan_path, &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(report["summary"]["applied"], 2, "{report:#}");
    let mut calls: Vec<String> = mutating(&server)
        .iter()
        .map(|r| r["action"].as_str().unwrap().to_string())
        .collect();
    calls.sort(); // the policy and the user are separate subjects, applied concurrently
    assert_eq!(calls, ["CreatePolicyVersion", "PutUserPolicy"], "{calls:?}");
    let read_back = |rt: &tokio::runtime::Runtime| {
        rt.block_on(async {
            let p = c.get_policy().policy_arn(&arn).send().await.unwrap();
            let v = p
                .policy()
                .unwrap()
                .default_version_id()
                .unwrap()
                .to_string();
            let d = c
                .get_policy_version()
                .policy_arn(&arn)
                .version_id(&v)
                .send()
                .await
                .unwrap();
            let managed = iamwarden_core::policy::parse_document_text(
                d.policy_version().unwrap().document().unwrap(),
            )
            .unwrap();
            let i = c
                .get_user_policy()
                .user_name("carol")
                .policy_name("own")
                .send()
                .await
                .unwrap();
            let inline = iamwarden_core::policy::parse_document_text(i.policy_document()).unwrap();
            let versions = c
                .list_policy_versions()
                .policy_arn(&arn)
                .send()
                .await
                .unwrap()
                .versions()
                .len();
            (v, managed, inline, versions)
        })
    };
    let (v, managed, inline, versions) = read_back(&rt);
    assert_eq!(v, "v2");
    assert_eq!(managed, narrowed);
    assert_eq!(inline, narrowed);
    assert_eq!(versions, 2);

    let journal = dir.path().join("plan.json.journal.jsonl");
    let o = run(iamwarden(&server, SEED_KEY, "seed-secret")
        .args(["undo", "--auto-approve", "--format", "json"])
        .arg(&journal));
    assert!(o.status.success(), "{}", text(&o));
    let broad: Value = serde_json::from_str(BROAD).unwrap();
    let (v, managed, inline, versions) = read_back(&rt);
    assert_eq!(v, "v1");
    assert_eq!(managed, broad);
    assert_eq!(inline, broad);
    assert_eq!(versions, 1, "the narrowed version is deleted");
}
