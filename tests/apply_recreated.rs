//! A user deleted and re-created under the same name after the plan was made is another user
//! (another UserId): every user-level step must skip it as stale and change nothing. Against a
//! moto server on 127.0.0.1; the server's request log shows that no mutating call was made.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_test_support::{cli, moto};

use aws_sdk_iam::Client;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const SEED_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const S3_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;

const USERS: &[&str] = &[
    "r-deact", "r-delkey", "r-reset", "r-dellp", "r-mfa", "r-detach", "r-inline", "r-group",
    "r-quar", "r-del", "r-tag",
];

fn iamwarden(server: &moto::MotoServer) -> Command {
    cli::isolated(
        env!("CARGO_BIN_EXE_iamwarden"),
        &server.endpoint(),
        SEED_KEY,
        "seed-secret",
    )
}

/// The user and everything the step of its rule works on.
async fn make_user(c: &Client, name: &str, s3: &str, mfa_name: &str) {
    c.create_user().user_name(name).send().await.unwrap();
    c.tag_user()
        .user_name(name)
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("temp")
                .value("1")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    c.create_access_key().user_name(name).send().await.unwrap();
    c.create_login_profile()
        .user_name(name)
        .password("Initial-Pa55word!")
        .send()
        .await
        .unwrap();
    c.attach_user_policy()
        .user_name(name)
        .policy_arn(s3)
        .send()
        .await
        .unwrap();
    c.put_user_policy()
        .user_name(name)
        .policy_name("r-inline-admin")
        .policy_document(S3_ALL)
        .send()
        .await
        .unwrap();
    c.add_user_to_group()
        .user_name(name)
        .group_name("r-devs")
        .send()
        .await
        .unwrap();
    if name == "r-mfa" {
        let d = c
            .create_virtual_mfa_device()
            .virtual_mfa_device_name(mfa_name)
            .send()
            .await
            .unwrap();
        let serial = d.virtual_mfa_device().unwrap().serial_number().to_string();
        c.enable_mfa_device()
            .user_name(name)
            .serial_number(&serial)
            .authentication_code1("123456")
            .authentication_code2("654321")
            .send()
            .await
            .unwrap();
    }
}

/// Deletes the user and everything it holds (what IAM requires gone first).
async fn wipe_user(c: &Client, name: &str) {
    for k in c
        .list_access_keys()
        .user_name(name)
        .send()
        .await
        .unwrap()
        .access_key_metadata()
    {
        c.delete_access_key()
            .user_name(name)
            .access_key_id(k.access_key_id().unwrap())
            .send()
            .await
            .unwrap();
    }
    let _ = c.delete_login_profile().user_name(name).send().await;
    for d in c
        .list_mfa_devices()
        .user_name(name)
        .send()
        .await
        .unwrap()
        .mfa_devices()
    {
        c.deactivate_mfa_device()
            .user_name(name)
            .serial_number(d.serial_number())
            .send()
            .await
            .unwrap();
        c.delete_virtual_mfa_device()
            .serial_number(d.serial_number())
            .send()
            .await
            .unwrap();
    }
    for p in c
        .list_attached_user_policies()
        .user_name(name)
        .send()
        .await
        .unwrap()
        .attached_policies()
    {
        c.detach_user_policy()
            .user_name(name)
            .policy_arn(p.policy_arn().unwrap())
            .send()
            .await
            .unwrap();
    }
    for p in c
        .list_user_policies()
        .user_name(name)
        .send()
        .await
        .unwrap()
        .policy_names()
    {
        c.delete_user_policy()
            .user_name(name)
            .policy_name(p)
            .send()
            .await
            .unwrap();
    }
    for g in c
        .list_groups_for_user()
        .user_name(name)
        .send()
        .await
        .unwrap()
        .groups()
    {
        c.remove_user_from_group()
            .user_name(name)
            .group_name(g.group_name())
            .send()
            .await
            .unwrap();
    }
    c.delete_user().user_name(name).send().await.unwrap();
}

#[test]
fn every_user_level_step_skips_a_user_re_created_under_the_same_name() {
    let server = moto::MotoServer::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let c = moto::iam_client(&server.endpoint(), SEED_KEY, "seed-secret");
    let s3 = rt.block_on(async {
        let s3 = c
            .create_policy()
            .policy_name("r-s3")
            .policy_document(S3_ALL)
            .send()
            .await
            .unwrap()
            .policy()
            .unwrap()
            .arn()
            .unwrap()
            .to_string();
        c.create_group().group_name("r-devs").send().await.unwrap();
        for u in USERS {
            make_user(&c, u, &s3, "r-mfa-1").await;
        }
        s3
    });
    let dir = tempfile::tempdir().unwrap();
    let plan_path = dir.path().join("plan.json");
    let o = iamwarden(&server)
        .args(["plan", "--format", "json", "--rules"])
        .arg(Path::new(ROOT).join("../tests/fixtures/apply/recreated.yaml"))
        .arg("--out")
        .arg(&plan_path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let plan: Value = serde_json::from_str(&std::fs::read_to_string(&plan_path).unwrap()).unwrap();
    let actions = plan["actions"].as_array().unwrap();
    let steps: std::collections::BTreeSet<&str> = actions
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
        "delete_inline_policy",
        "remove_user_from_group",
        "quarantine_user",
        "delete_user",
        "tag",
        "untag",
    ] {
        assert!(steps.contains(step), "the plan has no {step}: {steps:?}");
    }
    // Every action's precondition names the user's id.
    for a in actions {
        let pre = &a["precondition"];
        assert!(
            pre["user_id"].is_string() || pre["owner_id"].is_string(),
            "{} has no user id in its precondition: {pre}",
            a["action"]
        );
    }

    // Same names, same contents, other users.
    rt.block_on(async {
        for u in USERS {
            wipe_user(&c, u).await;
            make_user(&c, u, &s3, "r-mfa-2").await;
        }
    });
    server.clear_requests();

    let o = iamwarden(&server)
        .args([
            "apply",
            "--auto-approve",
            "--allow-destructive",
            "--format",
            "json",
        ])
        .arg("--journal")
        .arg(dir.path().join("journal.jsonl"))
        .arg(&plan_path)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    let report: Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("{e}: {out}\n{}", String::from_utf8_lossy(&o.stderr)));
    assert_eq!(o.status.code(), Some(3), "exit 3 = stale: {report:#}");
    for a in report["actions"].as_array().unwrap() {
        assert_eq!(a["outcome"], "stale", "{a:#}");
        let detail = a["detail"].as_str().unwrap();
        // delete_user waits for its (stale) prerequisites; they name the re-created user.
        assert!(
            detail.contains("re-created")
                || detail.contains("another user")
                || (a["action"] == "delete_user" && detail.contains("prerequisite")),
            "{a:#}"
        );
    }
    let mutating: Vec<Value> = server
        .requests()
        .into_iter()
        .filter(|r| {
            let a = r["action"].as_str().unwrap_or_default();
            !(a.starts_with("Get") || a.starts_with("List"))
        })
        .collect();
    assert!(mutating.is_empty(), "calls made: {mutating:#?}");
}
