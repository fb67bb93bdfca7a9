//! The live reader against a real IAM endpoint: a moto server on 127.0.0.1, seeded through
//! aws-sdk-iam, with backdated dates from the test-only moto clock. Asserts the inventory, the
//! plan on it, that a live plan equals the plan on its saved snapshot, and the API calls made.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_test_support::{keepalive, moto};

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
        .map(|a| (a.step().as_str().to_string(), a.resource.id.clone()))
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

// ---- event mode's targeted read ---------------------------------------------------------

/// A CloudTrail record of an IAM call made against the test server.
fn record(
    name: &str,
    request: serde_json::Value,
    response: serde_json::Value,
) -> serde_json::Value {
    serde_json::json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/admin"},
        "eventTime": "2026-11-20T10:15:30Z",
        "eventSource": "iam.amazonaws.com",
        "eventName": name,
        "requestParameters": request,
        "responseElements": response,
        "eventID": format!("ev-{name}"),
        "recipientAccountId": "123456789012",
    })
}

/// Seeds `users` filler users (each with a key and a customer policy attached), then makes
/// the four calls the benchmark names on `target` and returns their CloudTrail records.
async fn seed_events(server: &moto::MotoServer, users: usize) -> Vec<serde_json::Value> {
    let admin = client(&server.endpoint(), "AKIAIOSFODNN7EXAMPLE", "seed-secret");
    let filler = admin
        .create_policy()
        .policy_name("filler")
        .policy_document(S3_READ)
        .send()
        .await
        .unwrap();
    let filler = filler.policy().unwrap().arn().unwrap().to_string();
    for i in 0..users {
        let name = format!("user-{i:05}");
        admin.create_user().user_name(&name).send().await.unwrap();
        admin
            .create_access_key()
            .user_name(&name)
            .send()
            .await
            .unwrap();
        admin
            .attach_user_policy()
            .user_name(&name)
            .policy_arn(&filler)
            .send()
            .await
            .unwrap();
    }
    admin
        .create_user()
        .user_name("target")
        .send()
        .await
        .unwrap();
    let policy = admin
        .create_policy()
        .policy_name("too-broad")
        .policy_document(S3_READ)
        .send()
        .await
        .unwrap();
    let arn = policy.policy().unwrap().arn().unwrap().to_string();
    let version = admin
        .create_policy_version()
        .policy_arn(&arn)
        .policy_document(ADMIN)
        .set_as_default(true)
        .send()
        .await
        .unwrap();
    let version_id = version
        .policy_version()
        .unwrap()
        .version_id()
        .unwrap()
        .to_string();
    admin
        .attach_user_policy()
        .user_name("target")
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    let key = admin
        .create_access_key()
        .user_name("target")
        .send()
        .await
        .unwrap();
    let key_id = key.access_key().unwrap().access_key_id().to_string();
    vec![
        record(
            "CreatePolicy",
            serde_json::json!({"policyName": "too-broad", "policyDocument": S3_READ}),
            serde_json::json!({"policy": {"arn": arn, "policyName": "too-broad", "defaultVersionId": "v1"}}),
        ),
        record(
            "CreatePolicyVersion",
            serde_json::json!({"policyArn": arn, "policyDocument": ADMIN, "setAsDefault": true}),
            serde_json::json!({"policyVersion": {"versionId": version_id, "isDefaultVersion": true}}),
        ),
        record(
            "AttachUserPolicy",
            serde_json::json!({"userName": "target", "policyArn": arn}),
            serde_json::Value::Null,
        ),
        record(
            "CreateAccessKey",
            serde_json::json!({"userName": "target"}),
            serde_json::json!({"accessKey": {"userName": "target", "accessKeyId": key_id, "status": "Active"}}),
        ),
    ]
}

fn events_of(records: &[serde_json::Value]) -> Vec<iamwarden_core::event::IamEvent> {
    let bytes = serde_json::to_vec(&serde_json::json!({ "Records": records })).unwrap();
    iamwarden_core::event::read(&bytes, "test").unwrap().events
}

/// Issue 16's budget: at most 10 calls per event, the same on a small and a ten times larger
/// account; the read has what the plan needs (the admin policy is judged on its live default
/// version, the new key is found with its user).
#[tokio::test(flavor = "multi_thread")]
async fn targeted_reads_cost_the_same_calls_per_event_on_any_account_size() {
    use iamwarden_aws::live::scoped::read_scoped;
    use iamwarden_core::event::scope::scope;
    let mut per_size = Vec::new();
    for users in [10, 100] {
        let server = moto::MotoServer::start();
        let records = seed_events(&server, users).await;
        let opts = LiveOptions {
            concurrency: 8,
            ..LiveOptions::default()
        };
        let c = client(&server.endpoint(), "AKIAIOSFODNN7EXAMPLE", "reader-secret");
        let mut calls = Vec::new();
        for r in &records {
            let events = events_of(std::slice::from_ref(r));
            let read = read_scoped(&c, &scope(&events), &opts).await.unwrap();
            let n = read.stats.total();
            assert!(
                n <= 10,
                "{}: {n} calls ({:?})",
                events[0].name,
                read.stats.calls
            );
            assert!(read.gone.is_empty(), "{:?}", read.gone);
            calls.push((events[0].name.to_string(), n, read.stats.calls.clone()));
        }
        // The batch: each resource read once however many events touched it.
        let events = events_of(&records);
        let read = read_scoped(&c, &scope(&events), &opts).await.unwrap();
        let sum: u64 = calls.iter().map(|(_, n, _)| n).sum();
        assert!(read.stats.total() < sum, "{} vs {sum}", read.stats.total());
        let inv = &read.inventory;
        assert_eq!(inv.account.id, "123456789012");
        let policy = inv
            .managed_policies
            .iter()
            .find(|p| p.name == "too-broad")
            .unwrap();
        assert_eq!(policy.versions.len(), 2, "a full read has every version");
        assert_eq!(policy.default_version_id, "v2");
        assert!(policy.attached_users.contains(&"target".to_string()));
        let target = inv.users.iter().find(|u| u.name == "target").unwrap();
        assert!(!target.id.is_empty(), "the id apply checks against");
        assert_eq!(target.active_access_key_count, 1);
        assert!(
            inv.users.iter().all(|u| !u.name.starts_with("user-")),
            "no filler user is read"
        );
        let rules = iamwarden_core::packs::load_rule_set(&["builtin".to_string()]).unwrap();
        let now = chrono::Utc::now();
        let (plan, reports) =
            iamwarden_core::pipeline::make_event_plan(&rules, read.inventory, &events, now, now);
        assert!(reports.iter().all(|r| r.skipped.is_none()), "{:?}", reports);
        assert!(
            plan.actions
                .iter()
                .any(|a| a.rules.iter().any(|r| r == "customer-policy-admin")),
            "{:?}",
            plan.actions.iter().map(|a| &a.id).collect::<Vec<_>>()
        );
        per_size.push(calls);
    }
    let counts =
        |v: &Vec<(String, u64, std::collections::BTreeMap<&'static str, u64>)>| -> Vec<(String, u64)> {
            v.iter().map(|(n, c, _)| (n.clone(), *c)).collect()
        };
    assert_eq!(
        counts(&per_size[0]),
        counts(&per_size[1]),
        "calls per event do not grow with the account"
    );
    eprintln!("calls per event: {:?}", counts(&per_size[1]));
}

/// `iamwarden event` without a snapshot reads only the events' resources (no
/// GetAccountAuthorizationDetails, no credential report), says so with --stats, and plans the
/// same changes for them as a full read does.
#[tokio::test(flavor = "multi_thread")]
async fn cli_event_reads_only_what_the_events_touched() {
    let server = moto::MotoServer::start();
    let records = seed_events(&server, 30).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.json");
    std::fs::write(
        &file,
        serde_json::to_vec(&serde_json::json!({ "Records": records })).unwrap(),
    )
    .unwrap();
    let endpoint = server.endpoint();
    let run = |read: &str| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_iamwarden"))
            .args([
                "event",
                file.to_str().unwrap(),
                "--endpoint-url",
                &endpoint,
                "--stats",
                "--read",
                read,
                "--format",
                "json",
            ])
            .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "cli-secret-never-printed")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert!(o.status.code().is_some_and(|c| c == 0 || c == 2), "{err}");
        let plan: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        (plan, err)
    };
    let (targeted, err) = run("targeted");
    assert!(err.contains("targeted read of 4 event(s)"), "{err}");
    assert!(!err.contains("GetAccountAuthorizationDetails"), "{err}");
    assert!(!err.contains("GetCredentialReport"), "{err}");
    let calls = api_calls(&err);
    assert!(calls <= 40, "{calls} calls for 4 events: {err}");
    let (full, full_err) = run("full");
    assert!(
        full_err.contains("GetAccountAuthorizationDetails"),
        "{full_err}"
    );
    let ids = |p: &serde_json::Value| -> Vec<String> {
        let mut v: Vec<String> = p["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert!(!ids(&targeted).is_empty());
    assert_eq!(
        ids(&targeted),
        ids(&full),
        "the same changes as a full read"
    );
}

/// Seeds `users` users with one access key each (GetAccessKeyLastUsed is then one call a
/// key: a read of some hundreds of requests).
async fn seed_users_with_keys(server: &moto::MotoServer, users: usize) {
    let c = client(&server.endpoint(), "AKIAIOSFODNN7EXAMPLE", "seed-secret");
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(8));
    let mut set = tokio::task::JoinSet::new();
    for u in 0..users {
        let c = c.clone();
        let sem = sem.clone();
        set.spawn(async move {
            let _p = sem.acquire_owned().await.unwrap();
            let name = format!("user{u:04}");
            c.create_user().user_name(&name).send().await.unwrap();
            c.create_access_key().user_name(&name).send().await.unwrap();
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
}

/// `iamwarden plan` on a live account through `relay`, 8 calls in flight: the API calls it
/// counted (`--stats`).
fn plan_through(relay: &keepalive::KeepAlive) -> u64 {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_iamwarden"))
        .args([
            "plan",
            "--endpoint-url",
            &relay.endpoint(),
            "--concurrency",
            "8",
            "--stats",
            "--format",
            "json",
        ])
        .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "cli-secret-never-printed")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.code().is_some_and(|c| c == 0 || c == 2), "{err}");
    api_calls(&err)
}

/// The API calls a `--stats` run counted, from its `API calls (N ...)` line.
fn api_calls(stderr: &str) -> u64 {
    stderr
        .split("API calls (")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no `API calls (N` in: {stderr}"))
}

/// Issue 13: a live read reuses its TCP connections. Through a relay that keeps connections
/// open (as AWS does; moto closes after every answer), a read of 300 users (some hundreds of
/// requests, 8 in flight) opens about as many connections as it has calls in flight, not one
/// per request. The control: the same read through a relay that closes after every answer
/// opens one connection per request, so the count does tell reuse from none.
#[tokio::test(flavor = "multi_thread")]
async fn live_reads_reuse_connections() {
    let server = moto::MotoServer::start();
    seed_users_with_keys(&server, 300).await;

    let relay = keepalive::KeepAlive::start(server.port());
    let calls = plan_through(&relay);
    let (requests, connections) = (relay.requests(), relay.connections());
    eprintln!(
        "keep-alive relay: {calls} API calls, {requests} requests, {connections} connections"
    );
    assert!(requests > 100, "{requests} requests");
    assert!(requests >= calls, "{requests} requests for {calls} calls");
    assert!(
        connections <= 8 + 4,
        "{connections} connections for {requests} requests with 8 calls in flight: \
         the client does not reuse its connections"
    );

    let closing = keepalive::KeepAlive::start_closing(server.port());
    let calls = plan_through(&closing);
    let (requests, connections) = (closing.requests(), closing.connections());
    eprintln!("closing relay: {calls} API calls, {requests} requests, {connections} connections");
    assert!(requests > 100, "{requests} requests");
    assert_eq!(
        connections, requests,
        "a server that closes after every answer costs a connection a request"
    );
}

/// Issue 13: `event --apply` reads and applies through one SDK configuration: one HTTP client,
/// so with one call at a time the whole run (the targeted read, GetCallerIdentity, apply's
/// checks and its call) goes over one kept-alive connection (10 requests), which stays open
/// until the process exits. A second configuration for apply (as before) dropped the read's
/// runtime and pool: its connection closed before apply's first call, and apply opened another.
#[tokio::test(flavor = "multi_thread")]
async fn event_apply_reads_and_applies_over_one_connection() {
    let server = moto::MotoServer::start();
    let c = client(&server.endpoint(), "AKIAIOSFODNN7EXAMPLE", "seed-secret");
    let (_, record) =
        moto::admin_policy_version(&c, "deployer", S3_READ, ADMIN, "ev-admin-version").await;
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(&event, record.to_string()).unwrap();
    let relay = keepalive::KeepAlive::start(server.port());
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_iamwarden"))
        .arg("event")
        .arg(&event)
        .args([
            "--apply",
            "--auto-approve",
            "--concurrency",
            "1",
            "--journal",
        ])
        .arg(dir.path().join("event.journal.jsonl"))
        .args(["--endpoint-url", &relay.endpoint()])
        .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "cli-secret-never-printed")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/iamwarden-test")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/iamwarden-test")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("1 applied"), "{text}");
    let (requests, connections) = (relay.requests(), relay.connections());
    let dropped = relay.ended_early();
    eprintln!(
        "event --apply: {requests} requests, {connections} connection(s), {dropped} dropped before the end"
    );
    assert!(requests >= 4, "{requests} requests: {text}");
    // One call at a time needs one connection; a second can open when a call starts before
    // the previous answer's connection is back in the pool.
    assert!(
        connections <= 2,
        "{connections} connections for {requests} requests one at a time"
    );
    assert_eq!(
        dropped, 0,
        "a connection was closed before the run's last request: read and apply do not share \
         one HTTP client ({connections} connections, {requests} requests)"
    );
}
