//! The live reader against a real IAM endpoint: a moto server on 127.0.0.1, seeded through
//! aws-sdk-iam, with backdated dates from the test-only moto clock. Asserts the inventory, the
//! plan on it, that a live plan equals the plan on its saved snapshot, and the API calls made.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/moto.rs"]
mod moto;

use iamwarden_aws::live::{read, LiveOptions};
use iamwarden_core::inventory::KeyStatus;

const DAY: i64 = 86_400;

use moto::iam_client as client;

const ADMIN: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const S3_READ: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":"*"}]}"#;

/// Seeds a small account whose dates matter; returns (stale key id, fresh key id).
async fn seed(server: &moto::MotoServer) -> (String, String) {
    let admin = client(&server.endpoint(), "AKIAIOSFODNN7EXAMPLE", "seed-secret");
    // 200 days ago: alice and her first key; the key is last used 150 days ago.
    server.set_clock_offset(-200 * DAY);
    admin.create_user().user_name("alice").send().await.unwrap();
    let stale = admin
        .create_access_key()
        .user_name("alice")
        .send()
        .await
        .unwrap();
    let stale = stale.access_key().unwrap().clone();
    server.set_clock_offset(-150 * DAY);
    client(
        &server.endpoint(),
        stale.access_key_id(),
        stale.secret_access_key(),
    )
    .get_user()
    .send()
    .await
    .ok();
    // Now: a fresh key, used today.
    server.set_clock_offset(0);
    let fresh = admin
        .create_access_key()
        .user_name("alice")
        .send()
        .await
        .unwrap();
    let fresh = fresh.access_key().unwrap().clone();
    client(
        &server.endpoint(),
        fresh.access_key_id(),
        fresh.secret_access_key(),
    )
    .get_user()
    .send()
    .await
    .ok();

    // bob: a contractor with a console password and no MFA, and an inline admin policy.
    admin
        .create_user()
        .user_name("bob")
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("team")
                .value("contractors")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    admin
        .create_login_profile()
        .user_name("bob")
        .password("Sup3r-Secret-Pw!")
        .send()
        .await
        .unwrap();
    admin
        .put_user_policy()
        .user_name("bob")
        .policy_name("inline-admin")
        .policy_document(ADMIN)
        .send()
        .await
        .unwrap();

    // carol: console password with a virtual MFA device.
    admin.create_user().user_name("carol").send().await.unwrap();
    admin
        .create_login_profile()
        .user_name("carol")
        .password("An0ther-Secret!")
        .send()
        .await
        .unwrap();
    let dev = admin
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("carol")
        .send()
        .await
        .unwrap();
    let serial = dev
        .virtual_mfa_device()
        .unwrap()
        .serial_number()
        .to_string();
    admin
        .enable_mfa_device()
        .user_name("carol")
        .serial_number(&serial)
        .authentication_code1("123456")
        .authentication_code2("654321")
        .send()
        .await
        .unwrap();

    // A customer policy with an innocent name: v1 benign, v2 (default) admin.
    let p = admin
        .create_policy()
        .policy_name("s3-read-helpers")
        .policy_document(S3_READ)
        .send()
        .await
        .unwrap();
    let arn = p.policy().unwrap().arn().unwrap().to_string();
    admin
        .create_policy_version()
        .policy_arn(&arn)
        .policy_document(ADMIN)
        .set_as_default(true)
        .send()
        .await
        .unwrap();
    admin
        .create_group()
        .group_name("devs")
        .send()
        .await
        .unwrap();
    admin
        .attach_group_policy()
        .group_name("devs")
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    admin
        .add_user_to_group()
        .group_name("devs")
        .user_name("carol")
        .send()
        .await
        .unwrap();

    // A role anyone may assume, and a weak password policy.
    admin
        .create_role()
        .role_name("ci-deploy")
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#)
        .send()
        .await
        .unwrap();
    admin
        .update_account_password_policy()
        .minimum_password_length(8)
        .send()
        .await
        .unwrap();
    (
        stale.access_key_id().to_string(),
        fresh.access_key_id().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn live_inventory_plan_and_snapshot_agree() {
    let server = moto::MotoServer::start();
    let (stale, fresh) = seed(&server).await;
    let reader = client(&server.endpoint(), "AKIAIOSFODNN7EXAMPLE", "reader-secret");
    let (inv, stats) = read(
        &reader,
        &LiveOptions {
            concurrency: 4,
            ..LiveOptions::default()
        },
    )
    .await
    .unwrap();
    let now = chrono::Utc::now();

    assert_eq!(inv.account.id, "123456789012");
    let names: Vec<&str> = inv.users.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["alice", "bob", "carol"]);
    // Keys: both of alice's, with the backdated dates; each its own resource.
    assert_eq!(inv.access_keys.len(), 2);
    let key = |id: &str| inv.access_keys.iter().find(|k| k.id == id).unwrap();
    let stale_key = key(&stale);
    assert_eq!(stale_key.status, KeyStatus::Active);
    let age = (now - stale_key.created_at).num_days();
    assert!(
        (198..=202).contains(&age),
        "stale key created {age} days ago"
    );
    let used = (now - stale_key.last_used_at.expect("the stale key was used once")).num_days();
    assert!(
        (148..=152).contains(&used),
        "stale key last used {used} days ago"
    );
    assert!(key(&fresh).newest_active_key_of_user);
    // Console users and MFA.
    let lp: Vec<&str> = inv.login_profiles.iter().map(|l| l.user.as_str()).collect();
    assert_eq!(lp, ["bob", "carol"]);
    let carol = inv.users.iter().find(|u| u.name == "carol").unwrap();
    assert!(carol.mfa_enabled && carol.groups == ["devs"]);
    assert!(inv
        .mfa_devices
        .iter()
        .any(|d| d.user.as_deref() == Some("carol") && d.r#virtual));
    // Documents decoded whichever way the endpoint encoded them.
    let policy = inv
        .managed_policies
        .iter()
        .find(|p| p.name == "s3-read-helpers")
        .unwrap();
    assert_eq!(policy.versions.len(), 2);
    assert!(policy.admin_access && policy.default_version_id == "v2");
    let inline = inv
        .inline_policies
        .iter()
        .find(|p| p.id == "user/bob/inline-admin")
        .unwrap();
    assert!(inline.admin_access, "{:?}", inline.document);
    let role = inv.roles.iter().find(|r| r.name == "ci-deploy").unwrap();
    assert_eq!(role.trust_policy["Statement"][0]["Principal"]["AWS"], "*");
    assert_eq!(
        inv.account
            .password_policy
            .as_ref()
            .unwrap()
            .minimum_password_length,
        Some(8)
    );

    // Calls: bulk reads once, ListAccessKeys only for the one user holding keys.
    assert_eq!(stats.calls.get("GetAccountAuthorizationDetails"), Some(&1));
    assert_eq!(stats.calls.get("ListAccessKeys"), Some(&1));
    assert!(
        !stats.calls.contains_key("ListMFADevices"),
        "carol's MFA is explained by her virtual device"
    );
    for op in stats.calls.keys() {
        assert!(iamwarden_aws::live::OPERATIONS.contains(op), "{op}");
    }

    // The plan: only the stale key is deactivated, never alice's other key.
    let rules = iamwarden_core::packs::load_rule_set(&[]).unwrap();
    let plan = iamwarden_core::pipeline::make_plan(&rules, &inv, now, now);
    let acted: Vec<(String, String)> = plan
        .actions
        .iter()
        .map(|a| (a.action.as_str().to_string(), a.resource.id.clone()))
        .collect();
    assert!(
        acted.contains(&("deactivate_access_key".into(), stale.clone())),
        "{acted:?}"
    );
    assert!(
        !acted.iter().any(|(_, id)| id == &fresh),
        "the fresh key is never touched: {acted:?}"
    );
    assert!(
        acted.contains(&("set_default_policy_version".into(), policy.arn.clone())),
        "{acted:?}"
    );
    assert!(
        acted.iter().any(|(a, _)| a == "update_password_policy"),
        "{acted:?}"
    );
    assert!(plan
        .findings
        .iter()
        .any(|f| &*f.rule == "console-user-without-mfa" && f.resource.name == "bob"));
    assert!(plan
        .findings
        .iter()
        .any(|f| &*f.rule == "inline-policy-admin"));

    // The snapshot of the live inventory gives the identical plan.
    let text = iamwarden_core::inventory::snapshot::to_json(&inv).unwrap();
    let back = iamwarden_core::inventory::snapshot::parse(text.as_bytes(), "snapshot").unwrap();
    let replan = iamwarden_core::pipeline::make_plan(&rules, &back, now, now);
    assert_eq!(
        serde_json::to_value(&plan).unwrap(),
        serde_json::to_value(&replan).unwrap()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_snapshot_and_live_plan_agree() {
    let server = moto::MotoServer::start();
    seed(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap.json");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_iamwarden"))
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "cli-secret-never-printed")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .output()
            .unwrap()
    };
    let endpoint = server.endpoint();
    let o = run(&[
        "snapshot",
        "--out",
        snap.to_str().unwrap(),
        "--endpoint-url",
        &endpoint,
        "--stats",
    ]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{err}");
    assert!(String::from_utf8_lossy(&o.stdout)
        .contains("Saved the inventory of account 123456789012 (3 users"));
    assert!(
        err.contains("GetAccountAuthorizationDetails") && err.contains("API calls ("),
        "{err}"
    );
    assert!(!err.contains("cli-secret-never-printed"));
    let now = "2026-11-01T00:00:00Z";
    let live = run(&[
        "plan",
        "--endpoint-url",
        &endpoint,
        "--now",
        now,
        "--format",
        "json",
    ]);
    let offline = run(&[
        "plan",
        "--snapshot",
        snap.to_str().unwrap(),
        "--now",
        now,
        "--format",
        "json",
    ]);
    let mut a: serde_json::Value = serde_json::from_slice(&live.stdout).unwrap();
    let mut b: serde_json::Value = serde_json::from_slice(&offline.stdout).unwrap();
    // The wall clock, and so the content hash, is all that differs.
    for p in [&mut a, &mut b] {
        p["created_at"] = serde_json::Value::Null;
        p["content_sha256"] = serde_json::Value::Null;
    }
    assert_eq!(a, b, "a live plan and a plan on its snapshot are identical");
}

/// Service last-accessed data through the harness's patch of moto: a completed job (after an
/// IN_PROGRESS poll) per user, a failed one, an entity the file does not name, a snapshot that
/// carries it, and no such call at all without the option.
#[tokio::test(flavor = "multi_thread")]
async fn last_accessed_data_is_read_when_asked_with_gaps_per_entity() {
    let server = moto::MotoServer::start();
    let admin = client(&server.endpoint(), "AKIAIOSFODNN7EXAMPLE", "seed-secret");
    server.set_clock_offset(-300 * DAY);
    for u in ["ann", "ben"] {
        admin.create_user().user_name(u).send().await.unwrap();
    }
    admin
        .create_role()
        .role_name("app")
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#)
        .send()
        .await
        .unwrap();
    server.set_clock_offset(0);
    let recent = (chrono::Utc::now() - chrono::Duration::days(3))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    server.set_service_access(&serde_json::json!({
        "arn:aws:iam::123456789012:user/ann": {"status": "COMPLETED", "polls": 2, "services": [
            {"ServiceNamespace": "s3", "LastAuthenticated": recent,
             "TrackedActionsLastAccessed": [{"ActionName": "GetObject", "LastAccessedTime": recent}, {"ActionName": "PutObject"}]},
            {"ServiceNamespace": "sqs"}
        ]},
        "arn:aws:iam::123456789012:user/ben": {"status": "FAILED", "error": "canned failure"}
    }));
    let reader = client(&server.endpoint(), "AKIAIOSFODNN7EXAMPLE", "reader-secret");
    let without = read(&reader, &LiveOptions::default()).await.unwrap();
    assert!(without.0.users.iter().all(|u| u.service_access.is_none()));
    assert!(!server
        .requests()
        .iter()
        .any(|r| r["action"] == "GenerateServiceLastAccessedDetails"));

    let (inv, stats) = read(
        &reader,
        &LiveOptions {
            concurrency: 2,
            service_access: Some(std::time::Duration::from_secs(30)),
            ..LiveOptions::default()
        },
    )
    .await
    .unwrap();
    use iamwarden_core::inventory::AccessDataStatus as S;
    let ann = inv.users.iter().find(|u| u.name == "ann").unwrap();
    let a = ann.service_access.as_ref().unwrap();
    assert_eq!(a.status, S::Complete, "{a:?}");
    assert_eq!(ann.unused_services, ["sqs"]);
    assert_eq!(a.services[0].actions.len(), 2);
    // Never used: idle since ann's creation (300 days ago), so "not used for 90 days".
    let idle = a.services[1].idle_since.unwrap();
    assert!(
        chrono::Utc::now() - idle > chrono::Duration::days(299),
        "{idle}"
    );
    let ben = inv.users.iter().find(|u| u.name == "ben").unwrap();
    let b = ben.service_access.as_ref().unwrap();
    assert_eq!(b.status, S::Failed);
    assert!(
        b.error.as_deref().unwrap().contains("canned failure"),
        "{b:?}"
    );
    let app = inv.roles.iter().find(|r| r.name == "app").unwrap();
    let r = app.service_access.as_ref().unwrap();
    assert_eq!((r.status, r.services.len()), (S::Complete, 0));
    assert_eq!(
        stats.calls.get("GenerateServiceLastAccessedDetails"),
        Some(&3)
    );
    // ann polled IN_PROGRESS twice, then COMPLETED; ben and app once each.
    assert_eq!(stats.calls.get("GetServiceLastAccessedDetails"), Some(&5));

    // A snapshot carries it and reads back the same.
    let text = iamwarden_core::inventory::snapshot::to_json(&inv).unwrap();
    let back = iamwarden_core::inventory::snapshot::parse(text.as_bytes(), "snap.json").unwrap();
    assert_eq!(back.users, inv.users);
    assert_eq!(back.roles, inv.roles);
}
