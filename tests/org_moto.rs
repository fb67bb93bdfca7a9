//! `iamwarden org plan` and `org report` end to end against moto (issue 15): an organization of
//! three seeded member accounts on one server (`sts:AssumeRole` into
//! `arn:aws:iam::<account>:role/<any>` acts in that account), each account's plan naming only
//! that account's resources; two shards run as separate processes merge into the report of the
//! unsharded run; one account whose AssumeRole is refused (a proxy answers AccessDenied) and one
//! whose reads are throttled past the retries, while the other completes; `org apply` changes
//! each account as its plan says and resumes from the journals. Also: the human report's golden file and the example policies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_test_support::{faultproxy, golden, keepalive, moto, runtime as rt};

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// The caller's (management) account in moto.
const MANAGEMENT: &str = "123456789012";

/// The caller (the management account) signs as this key.
fn caller_config(endpoint: &str) -> aws_config::SdkConfig {
    moto::sdk_config(endpoint, "AKIAIOSFODNN7EXAMPLE", "caller-secret")
}

/// An IAM client acting in `account` (through AssumeRole, as the product does).
async fn iam_in(endpoint: &str, account: &str) -> aws_sdk_iam::Client {
    moto::iam_in(endpoint, &caller_config(endpoint), account).await
}

/// Creates the organization and three member accounts (plus one closed account); seeds each
/// member with its own users, each holding an access key. Returns the member ids with the
/// user names of each, and the closed account's id.
async fn seed(endpoint: &str) -> (Vec<(String, Vec<String>)>, String) {
    let org = aws_sdk_organizations::Client::new(&caller_config(endpoint));
    org.create_organization().send().await.unwrap();
    let mut members = Vec::new();
    for (i, name) in ["alpha", "beta", "gamma", "closed"].iter().enumerate() {
        let id = moto::create_account(&org, name).await;
        members.push((i, name.to_string(), id));
    }
    let closed = members.pop().unwrap().2;
    org.close_account()
        .account_id(&closed)
        .send()
        .await
        .unwrap();
    let mut seeded = Vec::new();
    for (i, name, id) in members {
        let iam = iam_in(endpoint, &id).await;
        let mut users = Vec::new();
        for u in 0..=i {
            let user = format!("{name}-user-{u}");
            iam.create_user().user_name(&user).send().await.unwrap();
            iam.create_access_key()
                .user_name(&user)
                .send()
                .await
                .unwrap();
            users.push(user);
        }
        seeded.push((id, users));
    }
    (seeded, closed)
}

/// A clock 200 days on: every seeded key is old and never used.
const NOW: &str = "2030-01-01";

fn iamwarden(endpoint: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_iamwarden"))
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "caller-secret")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env_remove("AWS_PROFILE")
        .env_remove("IAMWARDEN_SHARD_INDEX")
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("AWS_BATCH_JOB_ARRAY_INDEX")
        .output()
        .unwrap()
}

fn org_plan(endpoint: &str, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "org",
        "plan",
        "--role-name",
        "OrganizationAccountAccessRole",
        "--out",
        out.to_str().unwrap(),
        "--now",
        NOW,
        "--exclude",
        "id:123456789012",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    iamwarden(endpoint, &args)
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every user name and ARN account a plan mentions (findings and actions).
fn mentioned(plan: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut names = BTreeSet::new();
    let mut accounts = BTreeSet::new();
    let refs = plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .chain(plan["actions"].as_array().unwrap())
        .map(|x| &x["resource"]);
    for r in refs {
        let text = r.to_string();
        if let Some(arn) = r["arn"].as_str() {
            accounts.insert(arn.split(':').nth(4).unwrap_or_default().to_string());
        }
        for key in ["name", "user"] {
            if let Some(n) = r[key].as_str() {
                names.insert(n.to_string());
            }
        }
        assert!(!text.contains("secret"), "no secret in a plan: {text}");
    }
    (names, accounts)
}

#[test]
fn org_plan_writes_one_plan_per_account_with_only_its_resources() {
    let server = moto::MotoServer::start();
    let endpoint = server.endpoint();
    let (members, closed) = rt().block_on(seed(&endpoint));
    let dir = tempfile::tempdir().unwrap();
    server.clear_requests();
    let out = org_plan(&endpoint, dir.path(), &["--detailed-exitcode"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "changes in the accounts: {stderr}"
    );
    assert!(
        !stderr.contains("caller-secret")
            && !String::from_utf8_lossy(&out.stdout).contains("caller-secret")
    );

    let report = read_json(&dir.path().join("report.json"));
    assert_eq!(report["totals"]["planned"], 3, "{report:#}");
    assert_eq!(report["totals"]["failed"], 0, "{report:#}");
    assert_eq!(report["totals"]["with_changes"], 3, "{report:#}");
    let skipped: Vec<&str> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        skipped,
        [closed.as_str()],
        "the closed account is skipped and listed"
    );
    let stdout: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stdout, report, "--format json prints report.json");

    let manifest = read_json(&dir.path().join("manifest.json"));
    assert_eq!(manifest["source"], "organizations");
    assert_eq!(
        manifest["shard"],
        serde_json::json!({"index": 0, "count": 1})
    );
    for (id, users) in &members {
        let plan = read_json(&dir.path().join(id).join("plan.json"));
        assert_eq!(plan["account_id"], id.as_str());
        let (_, accounts) = mentioned(&plan);
        let text = plan.to_string();
        for u in users {
            assert!(
                text.contains(&format!("\"{u}\"")),
                "{id}: its user {u} is planned"
            );
        }
        for (other, their_users) in members.iter().filter(|(o, _)| o != id) {
            assert!(
                !text.contains(other.as_str()),
                "{id}'s plan names account {other}"
            );
            for u in their_users {
                assert!(
                    !text.contains(u.as_str()),
                    "{id}'s plan names {other}'s user {u}"
                );
            }
        }
        assert!(
            accounts.iter().all(|a| a == id),
            "{id}: ARNs of {accounts:?}"
        );
        let entry = manifest["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["id"] == id.as_str())
            .unwrap();
        assert_eq!(entry["status"], "planned");
        assert_eq!(entry["plan_sha256"], plan["content_sha256"]);
        assert_eq!(
            entry["role_arn"],
            format!("arn:aws:iam::{id}:role/OrganizationAccountAccessRole")
        );
        // The same plan format `apply` takes: `show` reads it without a warning.
        let shown = iamwarden(
            &endpoint,
            &[
                "show",
                dir.path().join(id).join("plan.json").to_str().unwrap(),
            ],
        );
        assert!(shown.status.success());
        assert!(!String::from_utf8_lossy(&shown.stderr).contains("warning"));
    }
    assert!(
        !dir.path().join(MANAGEMENT).exists(),
        "--exclude kept the management account out"
    );
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.contains("3 accounts planned"), "{md}");

    // What each account's read cost is in the manifest, and it is what the server served:
    // summed over the accounts, the calls per operation are the server's IAM requests.
    let mut from_manifest: BTreeMap<String, u64> = BTreeMap::new();
    for e in manifest["accounts"].as_array().unwrap() {
        if e["status"] != "planned" {
            assert!(e.get("reads").is_none(), "{e}");
            continue;
        }
        let reads = &e["reads"];
        let calls = reads["calls"].as_object().unwrap();
        let sum: u64 = calls.values().map(|n| n.as_u64().unwrap()).sum();
        assert_eq!(reads["api_calls"].as_u64(), Some(sum), "{e}");
        assert!(calls.contains_key("GetAccountAuthorizationDetails"), "{e}");
        assert!(reads["read_ms"].as_u64().is_some(), "{e}");
        for (op, n) in calls {
            *from_manifest.entry(op.clone()).or_default() += n.as_u64().unwrap();
        }
    }
    let mut served: BTreeMap<String, u64> = BTreeMap::new();
    for r in server.requests() {
        let action = r["action"].as_str().unwrap_or("?");
        if from_manifest.contains_key(action) {
            *served.entry(action.to_string()).or_default() += 1;
        }
    }
    assert_eq!(
        from_manifest, served,
        "the manifest's calls are the server's"
    );
}

#[test]
fn two_shards_as_separate_processes_merge_to_the_unsharded_report() {
    let server = moto::MotoServer::start();
    let endpoint = server.endpoint();
    rt().block_on(seed(&endpoint));
    let whole = tempfile::tempdir().unwrap();
    assert_eq!(
        org_plan(&endpoint, whole.path(), &[]).status.code(),
        Some(0)
    );

    let shards = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let children: Vec<_> = shards
        .iter()
        .enumerate()
        .map(|(i, d)| {
            // Shard 0 by `--shard 0/2`, shard 1 by a Kubernetes Indexed Job's variable.
            let mut c = Command::new(env!("CARGO_BIN_EXE_iamwarden"));
            c.args([
                "org",
                "plan",
                "--role-name",
                "OrganizationAccountAccessRole",
                "--out",
                d.path().to_str().unwrap(),
                "--now",
                NOW,
                "--exclude",
                "id:123456789012",
                "--shard",
            ])
            .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "caller-secret")
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env_remove("IAMWARDEN_SHARD_INDEX")
            .env_remove("AWS_BATCH_JOB_ARRAY_INDEX");
            if i == 0 {
                c.arg("0/2").env_remove("JOB_COMPLETION_INDEX");
            } else {
                c.arg("2").env("JOB_COMPLETION_INDEX", "1");
            }
            c.stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let planned = |d: &Path| {
        read_json(&d.join("report.json"))["totals"]["planned"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(planned(shards[0].path()) + planned(shards[1].path()), 3);
    assert_eq!(
        read_json(&shards[1].path().join("manifest.json"))["shard"]["index"],
        1
    );

    let merged = iamwarden(
        &endpoint,
        &[
            "org",
            "report",
            shards[0].path().to_str().unwrap(),
            shards[1].path().to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert!(
        merged.status.success(),
        "{}",
        String::from_utf8_lossy(&merged.stderr)
    );
    let unsharded = std::fs::read_to_string(whole.path().join("report.json")).unwrap();
    assert_eq!(String::from_utf8(merged.stdout).unwrap(), unsharded);
    // And in human form, the same text as the unsharded folder's.
    let human = |dirs: &[&Path]| {
        let mut args = vec!["org", "report"];
        args.extend(dirs.iter().map(|d| d.to_str().unwrap()));
        String::from_utf8(iamwarden(&endpoint, &args).stdout).unwrap()
    };
    assert_eq!(
        human(&[shards[0].path(), shards[1].path()]),
        human(&[whole.path()])
    );
    // The same folder twice is refused: the shards would overlap.
    let twice = iamwarden(
        &endpoint,
        &[
            "org",
            "report",
            whole.path().to_str().unwrap(),
            whole.path().to_str().unwrap(),
        ],
    );
    assert_eq!(twice.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&twice.stderr).contains("two of the reports"));
}

#[test]
fn a_refused_and_a_throttled_account_fail_alone() {
    let server = moto::MotoServer::start();
    let (members, _) = rt().block_on(seed(&server.endpoint()));
    let proxy = faultproxy::FaultProxy::start(server.port(), faultproxy::Faults::mixed(0.0, 1));
    let refused = &members[1].0;
    // Refused by its external id (as a trust policy refuses a wrong one): this also shows
    // each account's own external id reaches STS.
    proxy.deny(&["Action=AssumeRole", "ExternalId=ext-1"]);
    // And the third account's reads throttled past the retries.
    let throttled = &members[2].0;
    proxy.throttle(&["Action=ListAccessKeys", "UserName=gamma-user-0"]);
    // The accounts come from a file this time, with a role and external id per account.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("accounts.yaml");
    let mut text = String::from("accounts:\n");
    for (i, (id, _)) in members.iter().enumerate() {
        text.push_str(&format!(
            "  - id: \"{id}\"\n    name: member-{i}\n    external_id: ext-{i}\n    tags: {{env: test}}\n"
        ));
    }
    std::fs::write(&file, text).unwrap();
    let out_dir = dir.path().join("out");
    let out = org_plan(
        &proxy.endpoint(),
        &out_dir,
        &[
            "--accounts",
            file.to_str().unwrap(),
            "--include",
            "tag:env=test",
            "--concurrency",
            "2",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed account is an error once the others are done"
    );
    let report = read_json(&out_dir.join("report.json"));
    assert_eq!(report["totals"]["planned"], 1, "{report:#}");
    assert_eq!(report["totals"]["failed"], 2, "{report:#}");
    let failed = report["failed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == refused.as_str())
        .unwrap();
    assert_eq!(failed["id"], refused.as_str());
    assert_eq!(failed["call"], "sts:AssumeRole");
    assert_eq!(failed["code"], "AccessDenied");
    assert_eq!(
        failed["permission"],
        format!("sts:AssumeRole on arn:aws:iam::{refused}:role/OrganizationAccountAccessRole")
    );
    let slow = report["failed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == throttled.as_str())
        .unwrap();
    assert_eq!(slow["call"], "iam:ListAccessKeys", "{slow:#}");
    assert_eq!(slow["code"], "Throttling", "{slow:#}");
    assert!(
        slow.get("permission").is_none(),
        "throttling is no missing permission"
    );
    assert!(
        !out_dir.join(refused).exists(),
        "no plan for the refused account"
    );
    assert!(
        !out_dir.join(throttled).exists(),
        "no plan for the throttled account"
    );
    for (id, _) in members
        .iter()
        .filter(|(id, _)| id != refused && id != throttled)
    {
        assert!(
            out_dir.join(id).join("plan.json").exists(),
            "{id} was planned"
        );
    }
    let manifest = read_json(&out_dir.join("manifest.json"));
    assert_eq!(manifest["source"], file.to_str().unwrap());
    let human = iamwarden(
        &proxy.endpoint(),
        &["org", "report", out_dir.to_str().unwrap()],
    );
    let text = String::from_utf8(human.stdout).unwrap();
    assert!(
        text.contains(&format!(
            "{refused}  member-1: sts:AssumeRole failed (AccessDenied)"
        )),
        "{text}"
    );
}

/// The rules of `plan` counted per rule id.
fn rules_in(plan: &Value) -> BTreeSet<String> {
    plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

/// An accounts file's per-account `params` apply to that account's rules only: alpha with
/// `access-key-unused: {days: 20000}` has no unused-key finding where beta (no params), and
/// alpha itself without the params, have them. A parameter no rule has stops the run.
#[test]
fn per_account_params_change_only_that_accounts_plan() {
    let server = moto::MotoServer::start();
    let endpoint = server.endpoint();
    let (members, _closed) = rt().block_on(seed(&endpoint));
    let (alpha, beta) = (&members[0].0, &members[1].0);
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, alpha_params: &str| {
        let file = dir.path().join(format!("{name}.yaml"));
        std::fs::write(
            &file,
            format!(
                "accounts:\n  - id: \"{alpha}\"\n    name: alpha\n{alpha_params}  - id: \"{beta}\"\n    name: beta\n"
            ),
        )
        .unwrap();
        let out_dir = dir.path().join(name);
        let out = org_plan(&endpoint, &out_dir, &["--accounts", file.to_str().unwrap()]);
        (out, out_dir)
    };
    let (out, with) = run(
        "with",
        "    params:\n      access-key-unused: {days: 20000}\n",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (out, without) = run("without", "");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan_of = |d: &Path, id: &str| read_json(&d.join(id).join("plan.json"));
    assert!(
        !rules_in(&plan_of(&with, alpha)).contains("access-key-unused"),
        "alpha's own days: {:#}",
        plan_of(&with, alpha)["findings"]
    );
    assert!(rules_in(&plan_of(&with, beta)).contains("access-key-unused"));
    assert!(rules_in(&plan_of(&without, alpha)).contains("access-key-unused"));
    assert_ne!(
        plan_of(&with, alpha)["actions"],
        plan_of(&without, alpha)["actions"],
        "the params change alpha's plan"
    );
    // (Findings differ by the role's last use: the first run assumed it.)
    assert_eq!(
        plan_of(&with, beta)["actions"],
        plan_of(&without, beta)["actions"],
        "beta's plan does not change"
    );

    let (out, _) = run("typo", "    params:\n      access-key-unused: {dayz: 3}\n");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("rule access-key-unused has no parameter `dayz`"),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("account {alpha}")), "{stderr}");
    assert!(
        !dir.path().join("typo").join(alpha).exists(),
        "nothing planned"
    );
}

/// Without an accounts file: `--ou` plans only the accounts under that OU (nested OUs
/// included), and `--include tag:K=V` matches the tags Organizations holds.
#[test]
fn ou_and_organizations_tags_select_accounts() {
    let server = moto::MotoServer::start();
    let endpoint = server.endpoint();
    let (members, _closed) = rt().block_on(seed(&endpoint));
    let (alpha, beta, gamma) = (&members[0].0, &members[1].0, &members[2].0);
    let (ou, nested) = rt().block_on(async {
        let org = aws_sdk_organizations::Client::new(&caller_config(&endpoint));
        let root = org.list_roots().send().await.unwrap().roots()[0]
            .id()
            .unwrap()
            .to_string();
        let ou = org
            .create_organizational_unit()
            .parent_id(&root)
            .name("workloads")
            .send()
            .await
            .unwrap()
            .organizational_unit()
            .unwrap()
            .id()
            .unwrap()
            .to_string();
        let nested = org
            .create_organizational_unit()
            .parent_id(&ou)
            .name("prod")
            .send()
            .await
            .unwrap()
            .organizational_unit()
            .unwrap()
            .id()
            .unwrap()
            .to_string();
        for (account, to) in [(alpha, &ou), (beta, &nested)] {
            org.move_account()
                .account_id(account)
                .source_parent_id(&root)
                .destination_parent_id(to)
                .send()
                .await
                .unwrap();
        }
        org.tag_resource()
            .resource_id(gamma)
            .tags(
                aws_sdk_organizations::types::Tag::builder()
                    .key("env")
                    .value("prod")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        (ou, nested)
    });
    let dir = tempfile::tempdir().unwrap();
    let planned = |name: &str, extra: &[&str]| -> BTreeSet<String> {
        let out_dir = dir.path().join(name);
        let out = org_plan(&endpoint, &out_dir, extra);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        read_json(&out_dir.join("report.json"))["planned"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect()
    };
    let set = |ids: &[&String]| ids.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        planned("ou", &["--ou", &ou]),
        set(&[alpha, beta]),
        "nested OU included"
    );
    assert_eq!(planned("nested", &["--ou", &nested]), set(&[beta]));
    assert_eq!(
        planned("tag", &["--include", "tag:env=prod"]),
        set(&[gamma])
    );
    assert_eq!(
        planned("tag-out", &["--exclude", "tag:env"]),
        set(&[alpha, beta]),
        "exclude by an Organizations tag"
    );
}

#[test]
fn an_accounts_file_error_points_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("accounts.yaml");
    std::fs::write(
        &file,
        "accounts:\n  - id: \"111111111111\"\n    extrnal_id: x\n",
    )
    .unwrap();
    let out = iamwarden(
        "http://127.0.0.1:9",
        &[
            "org",
            "plan",
            "--role-name",
            "Audit",
            "--out",
            dir.path().join("out").to_str().unwrap(),
            "--accounts",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("accounts.yaml:3:5: error: unknown key `extrnal_id`"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `external_id`"), "{stderr}");
}

#[test]
fn human_org_report_golden() {
    use iamwarden_core::org::report::{
        FailedAccount, OrgReport, PlannedAccount, RuleCount, SkippedAccount,
    };
    let planned = |id: &str, name: &str, rules: &[(&str, &str, usize, usize)]| PlannedAccount {
        id: id.into(),
        name: name.into(),
        plan: format!("{id}/plan.json"),
        findings: rules.iter().map(|r| r.2).sum(),
        actions: rules.iter().map(|r| r.3).sum(),
        destructive: 0,
        by_severity: rules.iter().fold(Default::default(), |mut m, r| {
            *m.entry(r.1.to_string()).or_default() += r.2;
            m
        }),
        by_rule: rules
            .iter()
            .map(|r| {
                (
                    r.0.to_string(),
                    RuleCount {
                        severity: r.1.into(),
                        findings: r.2,
                        actions: r.3,
                        accounts: 0,
                    },
                )
            })
            .collect(),
    };
    let report = OrgReport::new(
        vec![
            planned(
                "111111111111",
                "prod",
                &[
                    ("access-key-unused", "high", 3, 3),
                    ("user-without-mfa", "medium", 2, 0),
                ],
            ),
            planned(
                "333333333333",
                "dev",
                &[("access-key-unused", "high", 1, 1)],
            ),
            planned("444444444444", "sandbox", &[]),
        ],
        vec![FailedAccount {
            id: "222222222222".into(),
            name: "locked".into(),
            call: "sts:AssumeRole".into(),
            code: Some("AccessDenied".into()),
            message: "User is not authorized to perform sts:AssumeRole".into(),
            permission: Some("sts:AssumeRole on arn:aws:iam::222222222222:role/Audit".into()),
        }],
        vec![SkippedAccount {
            id: "555555555555".into(),
            name: "old".into(),
            status: "SUSPENDED".into(),
        }],
    );
    let mut out = Vec::new();
    iamwarden_core::org::render::human(&report, &mut out).unwrap();
    golden::check(
        "tests/golden/org-report.txt",
        &String::from_utf8(out).unwrap(),
    );
    let mut md = Vec::new();
    iamwarden_core::org::render::markdown(&report, 65_536, &mut md).unwrap();
    golden::check(
        "tests/golden/org-report.md",
        &String::from_utf8(md).unwrap(),
    );
}

fn actions_of(path: &str) -> BTreeSet<String> {
    let doc = read_json(&Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join(path));
    doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| match &s["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
            _ => vec![],
        })
        .collect()
}

#[test]
fn example_policies_grant_exactly_what_an_org_run_calls() {
    let caller: BTreeSet<String> = iamwarden_aws::org::CALLER_OPERATIONS
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(actions_of("examples/iam-org-caller-policy.json"), caller);
    let member: BTreeSet<String> = iamwarden_aws::live::OPERATIONS
        .iter()
        .map(|s| format!("iam:{s}"))
        .collect();
    assert_eq!(
        actions_of("examples/iam-org-member-read-policy.json"),
        member
    );
}

#[test]
fn org_apply_changes_each_account_only_as_its_plan_says_and_resumes() {
    let server = moto::MotoServer::start();
    let endpoint = server.endpoint();
    let runtime = rt();
    let (members, _) = runtime.block_on(seed(&endpoint));
    // A key in the management account that no plan covers (it is excluded from the run).
    let mgmt = moto::iam_client(&endpoint, "AKIAIOSFODNN7EXAMPLE", "caller-secret");
    runtime.block_on(async {
        mgmt.create_user()
            .user_name("mgmt-user")
            .send()
            .await
            .unwrap();
        mgmt.create_access_key()
            .user_name("mgmt-user")
            .send()
            .await
            .unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(org_plan(&endpoint, dir.path(), &[]).status.code(), Some(0));
    let refused = iamwarden(&endpoint, &["org", "apply", dir.path().to_str().unwrap()]);
    assert_eq!(
        refused.status.code(),
        Some(1),
        "no --auto-approve: nothing runs"
    );

    let apply = |dir: &Path| {
        iamwarden(
            &endpoint,
            &["org", "apply", dir.to_str().unwrap(), "--auto-approve"],
        )
    };
    let out = apply(dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("3 account(s) applied"),
        "{stderr}"
    );

    // Read every account back: each key its plan deactivates is inactive, in that account.
    runtime.block_on(async {
        for (id, users) in &members {
            let plan = read_json(&dir.path().join(id).join("plan.json"));
            let planned_keys: BTreeSet<String> = plan["actions"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|a| {
                    a["resource"]["kind"] == "access_key"
                        || a["resource"]["id"]
                            .as_str()
                            .is_some_and(|k| k.starts_with("AKIA"))
                })
                .filter_map(|a| a["resource"]["id"].as_str().map(str::to_string))
                .collect();
            assert!(!planned_keys.is_empty(), "{id}: {plan:#}");
            let iam = iam_in(&endpoint, id).await;
            let mut checked = 0;
            for u in users {
                let keys = iam.list_access_keys().user_name(u).send().await.unwrap();
                for k in keys.access_key_metadata() {
                    let key = k.access_key_id().unwrap();
                    let status = k.status().unwrap().as_str();
                    if planned_keys.contains(key) {
                        assert_ne!(status, "Active", "{id}/{u}/{key} was applied");
                        checked += 1;
                    }
                }
            }
            assert_eq!(
                checked,
                users.len(),
                "{id}: every seeded key was planned and checked"
            );
            assert!(dir.path().join(id).join("plan.json.journal.jsonl").exists());
        }
        let keys = mgmt
            .list_access_keys()
            .user_name("mgmt-user")
            .send()
            .await
            .unwrap();
        assert_eq!(
            keys.access_key_metadata()[0].status().unwrap().as_str(),
            "Active",
            "the management account was not in the run and is untouched"
        );
    });

    // A second run resumes from the journals: nothing new is applied.
    let again = apply(dir.path());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains(" 0 applied,"), "{stderr}");
    assert!(!stderr.contains("caller-secret"));
}

/// An organization of `n` member accounts (`acct-0` …), each with `users` users holding one
/// access key; returns the member ids in creation order.
async fn seed_many(endpoint: &str, n: usize, users: usize) -> Vec<String> {
    let org = aws_sdk_organizations::Client::new(&caller_config(endpoint));
    org.create_organization().send().await.unwrap();
    let mut ids = Vec::new();
    for i in 0..n {
        let name = format!("acct-{i}");
        let id = moto::create_account(&org, &name).await;
        let iam = iam_in(endpoint, &id).await;
        for u in 0..users {
            let user = format!("{name}-user-{u}");
            iam.create_user().user_name(&user).send().await.unwrap();
            iam.create_access_key()
                .user_name(&user)
                .send()
                .await
                .unwrap();
        }
        ids.push(id);
    }
    ids
}

/// The records of a journal (missing: none).
fn journal_of(dir: &Path, id: &str) -> Vec<Value> {
    std::fs::read_to_string(dir.join(id).join("plan.json.journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn kind(r: &Value) -> &str {
    r["record"]
        .as_str()
        .or_else(|| r["kind"].as_str())
        .or_else(|| r["type"].as_str())
        .unwrap_or_default()
}

/// The keys of `users` in `account` that are still active.
async fn active_keys(endpoint: &str, account: &str, users: &[String]) -> usize {
    let iam = iam_in(endpoint, account).await;
    let mut n = 0;
    for u in users {
        let keys = iam.list_access_keys().user_name(u).send().await.unwrap();
        n += keys
            .access_key_metadata()
            .iter()
            .filter(|k| k.status().map(|s| s.as_str()) == Some("Active"))
            .count();
    }
    n
}

/// The mutating calls a journal holds, of `mode` (apply or undo).
fn journal_calls(dir: &Path, id: &str, mode: &str) -> usize {
    journal_of(dir, id)
        .iter()
        .filter(|r| kind(r) == "call" && r["mode"] == mode)
        .count()
}

fn apply_report(dir: &Path) -> Value {
    read_json(&dir.join("apply-report.json"))
}

fn account_in<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id)
        .unwrap_or_else(|| panic!("{id} in {report:#}"))
}

/// `org apply` takes each account's journal lock (the lock single-account `apply` takes): an
/// account whose journal another run holds is reported as locked, with the holder, and is not
/// touched, while the others are applied, several at once (their runs overlap in time); the
/// exit code is 5. Once the lock is free, a re-run applies that account and resumes the others
/// without a call.
/// `org plan` as the caller's own organization run, without the usual `--exclude` of the
/// management account.
fn org_plan_with_management(endpoint: &str, out: &Path, how: &str) -> std::process::Output {
    iamwarden(
        endpoint,
        &[
            "org",
            "plan",
            "--role-name",
            "OrganizationAccountAccessRole",
            "--out",
            out.to_str().unwrap(),
            "--now",
            NOW,
            "--management-account",
            how,
        ],
    )
}

fn assume_roles(server: &moto::MotoServer) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r["action"] == "AssumeRole")
        .count()
}

#[test]
fn the_management_account_is_read_as_the_caller_or_left_out_as_asked() {
    let server = moto::MotoServer::start();
    let endpoint = server.endpoint();
    let runtime = rt();
    let (members, _) = runtime.block_on(seed(&endpoint));
    let mgmt = moto::iam_client(&endpoint, "AKIAIOSFODNN7EXAMPLE", "caller-secret");
    let mgmt_key = runtime.block_on(async {
        mgmt.create_user()
            .user_name("mgmt-user")
            .send()
            .await
            .unwrap();
        let k = mgmt
            .create_access_key()
            .user_name("mgmt-user")
            .send()
            .await
            .unwrap();
        k.access_key().unwrap().access_key_id().to_string()
    });

    // caller: the management account is planned with the caller's own credentials (no role
    // is assumed into it), and the manifest says so.
    let dir = tempfile::tempdir().unwrap();
    server.clear_requests();
    let out = org_plan_with_management(&endpoint, dir.path(), "caller");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        assume_roles(&server),
        members.len(),
        "a role is assumed in each member only"
    );
    let manifest = read_json(&dir.path().join("manifest.json"));
    let entry = |id: &str| {
        manifest["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} is not in the manifest: {manifest:#}"))
    };
    let m = entry(MANAGEMENT);
    assert_eq!(m["status"], "planned", "{m}");
    assert_eq!(m["as_caller"], true, "{m}");
    assert!(m.get("role_arn").is_none(), "{m}");
    for (id, _) in &members {
        let e = entry(id);
        assert!(e.get("as_caller").is_none(), "{e}");
        assert!(e["role_arn"]
            .as_str()
            .unwrap()
            .ends_with(":role/OrganizationAccountAccessRole"));
    }
    let plan = read_json(&dir.path().join(MANAGEMENT).join("plan.json"));
    assert_eq!(plan["account_id"], MANAGEMENT);
    assert!(plan.to_string().contains(&mgmt_key), "{plan:#}");

    // org apply reaches it the same way: the management key is deactivated with the caller's
    // credentials, and still no role is assumed into it.
    server.clear_requests();
    let applied = iamwarden(
        &endpoint,
        &[
            "org",
            "apply",
            dir.path().to_str().unwrap(),
            "--auto-approve",
        ],
    );
    let stderr = String::from_utf8_lossy(&applied.stderr);
    assert_eq!(applied.status.code(), Some(0), "{stderr}");
    assert!(
        String::from_utf8_lossy(&applied.stdout).contains("4 account(s) applied"),
        "{stderr}"
    );
    assert_eq!(assume_roles(&server), members.len());
    let status = runtime.block_on(async {
        let keys = mgmt
            .list_access_keys()
            .user_name("mgmt-user")
            .send()
            .await
            .unwrap();
        keys.access_key_metadata()[0]
            .status()
            .unwrap()
            .as_str()
            .to_string()
    });
    assert_eq!(status, "Inactive", "applied in the management account");

    // skip: the management account is not in the run at all.
    let skipped = tempfile::tempdir().unwrap();
    server.clear_requests();
    let out = org_plan_with_management(&endpoint, skipped.path(), "skip");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!skipped.path().join(MANAGEMENT).exists());
    let manifest = read_json(&skipped.path().join("manifest.json"));
    let ids: Vec<&str> = manifest["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&MANAGEMENT), "{ids:?}");
    assert_eq!(assume_roles(&server), members.len());

    // An accounts file names its accounts itself: the flag is refused, before any call.
    let file = skipped.path().join("accounts.yaml");
    std::fs::write(
        &file,
        format!("accounts:\n  - id: \"{MANAGEMENT}\"\n    name: mgmt\n"),
    )
    .unwrap();
    server.clear_requests();
    let refused = iamwarden(
        &endpoint,
        &[
            "org",
            "plan",
            "--role-name",
            "OrganizationAccountAccessRole",
            "--out",
            skipped.path().join("f").to_str().unwrap(),
            "--accounts",
            file.to_str().unwrap(),
            "--management-account",
            "caller",
        ],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("--management-account applies to accounts listed from Organizations"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(server.requests().is_empty(), "refused before any call");
}

#[test]
fn org_apply_skips_a_locked_account_and_runs_the_others_at_once() {
    let server = moto::MotoServer::start();
    let endpoint = server.endpoint();
    let runtime = rt();
    let members = runtime.block_on(seed_many(&endpoint, 3, 2));
    let users =
        |i: usize| -> Vec<String> { (0..2).map(|u| format!("acct-{i}-user-{u}")).collect() };
    let dir = tempfile::tempdir().unwrap();
    let out = org_plan(&endpoint, dir.path(), &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Each deactivation answered 400 ms late, so accounts run at once overlap for certain.
    let proxy = faultproxy::FaultProxy::start(server.port(), faultproxy::Faults::mixed(0.0, 1));
    proxy.hold(
        &["Action=UpdateAccessKey"],
        std::time::Duration::from_millis(400),
    );

    let locked = &members[0];
    let journal = dir.path().join(locked).join("plan.json.journal.jsonl");
    let held = iamwarden_core::apply::lock::JournalLock::acquire(
        &journal,
        &iamwarden_core::apply::lock::Holder::here("iamwarden apply"),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let out = iamwarden(
        &proxy.endpoint(),
        &[
            "org",
            "apply",
            dir.path().to_str().unwrap(),
            "--auto-approve",
            "--accounts-in-flight",
            "3",
        ],
    );
    let wall = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(5),
        "a locked account: exit 5\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("2 account(s) applied"), "{stdout}");
    assert!(stdout.contains("1 locked"), "{stdout}");
    let pid = std::process::id();
    assert!(
        stdout.contains(&format!("locked: {locked} acct-0: journal "))
            && stdout.contains(&format!("is locked by pid {pid} on host ")),
        "the holder is named: {stdout}"
    );
    let report = apply_report(dir.path());
    assert_eq!(
        account_in(&report, locked)["status"],
        "locked",
        "{report:#}"
    );
    assert!(
        journal_of(dir.path(), locked).is_empty(),
        "nothing written to a locked journal"
    );
    runtime.block_on(async {
        assert_eq!(
            active_keys(&endpoint, locked, &users(0)).await,
            2,
            "the locked account is untouched"
        );
        for (i, id) in members.iter().enumerate().skip(1) {
            assert_eq!(
                active_keys(&endpoint, id, &users(i)).await,
                0,
                "{id} applied"
            );
        }
    });
    // The two applied accounts ran at once: each one's run began before the other's ended.
    let span = |id: &str| {
        let j = journal_of(dir.path(), id);
        let at = |k: &str| {
            j.iter()
                .find(|r| kind(r) == k)
                .and_then(|r| r["at"].as_str())
                .map(|s| chrono::DateTime::parse_from_rfc3339(s).unwrap())
                .unwrap_or_else(|| panic!("{id}: no {k} record in {j:#?}"))
        };
        (at("run"), at("end"))
    };
    let (a, b) = (span(&members[1]), span(&members[2]));
    assert!(
        a.0 < b.1 && b.0 < a.1,
        "the accounts' runs overlap: {a:?} {b:?}"
    );
    for id in &members[1..] {
        let acc = account_in(&report, id);
        assert_eq!(acc["status"], "done", "{acc:#}");
        assert_eq!(acc["resumed"], false, "{acc:#}");
        let calls = journal_calls(dir.path(), id, "apply");
        assert!(calls >= 2, "{id}: {calls}");
        assert_eq!(acc["calls"], calls, "{acc:#}");
    }
    eprintln!(
        "org apply, 3 accounts x 2 users, 2 applied at once, 1 locked: {:.2} s, {} calls per applied account",
        wall.as_secs_f64(),
        journal_calls(dir.path(), &members[1], "apply")
    );

    drop(held);
    let again = iamwarden(
        &endpoint,
        &[
            "org",
            "apply",
            dir.path().to_str().unwrap(),
            "--auto-approve",
        ],
    );
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(
        stdout.contains("3 account(s) applied") && stdout.contains("0 locked"),
        "{stdout}"
    );
    let report = apply_report(dir.path());
    let first = account_in(&report, locked);
    assert_eq!(
        (
            first["status"].as_str(),
            first["resumed"].as_bool(),
            first["calls"].as_u64()
        ),
        (
            Some("done"),
            Some(false),
            Some(journal_calls(dir.path(), locked, "apply") as u64)
        ),
        "{first:#}"
    );
    for id in &members[1..] {
        let acc = account_in(&report, id);
        assert_eq!(acc["resumed"], true, "{acc:#}");
        assert_eq!(
            acc["calls"], 0,
            "resumed from the journal, nothing sent again: {acc:#}"
        );
    }
    runtime.block_on(async {
        assert_eq!(active_keys(&endpoint, locked, &users(0)).await, 0);
    });
}

/// `org apply` killed (SIGKILL) while calls are in flight, then run again: every account ends
/// applied exactly once. A call whose answer the killed run never saw (it landed in IAM) is
/// re-read, not sent again; IAM received one call per planned action in all; the journals hold
/// every call; apply-report.json says which accounts resumed and how many actions were open.
#[test]
fn a_killed_org_apply_resumes_and_applies_every_account_exactly_once() {
    let server = moto::MotoServer::start();
    let endpoint = server.endpoint();
    let runtime = rt();
    let (n, per) = (6usize, 3usize);
    let members = runtime.block_on(seed_many(&endpoint, n, per));
    let dir = tempfile::tempdir().unwrap();
    let out = org_plan(&endpoint, dir.path(), &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let planned: usize = members
        .iter()
        .map(|id| {
            read_json(&dir.path().join(id).join("plan.json"))["actions"]
                .as_array()
                .unwrap()
                .len()
        })
        .sum();
    assert!(
        planned >= n * per,
        "at least one deactivation per key: {planned}"
    );
    // A slow endpoint: every deactivation lands at once, its answer 1.5 s later.
    let proxy = faultproxy::FaultProxy::start(server.port(), faultproxy::Faults::mixed(0.0, 1));
    proxy.hold(
        &["Action=UpdateAccessKey"],
        std::time::Duration::from_millis(1500),
    );
    server.clear_requests();
    let started = std::time::Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_iamwarden"))
        .args([
            "org",
            "apply",
            dir.path().to_str().unwrap(),
            "--auto-approve",
            "--accounts-in-flight",
            "2",
            "--calls-per-account",
            "1",
        ])
        .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "caller-secret")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", proxy.endpoint())
        .env_remove("AWS_PROFILE")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once a few actions have finished and a call is out, unanswered.
    // The actions whose call (of `only`, or any) is journaled and unanswered.
    let open_of = |id: &str, only: Option<&str>| -> Vec<String> {
        let j = journal_of(dir.path(), id);
        let answered: BTreeSet<String> = j
            .iter()
            .filter(|r| kind(r) == "result")
            .map(|r| r["action"].as_str().unwrap().to_string())
            .collect();
        j.iter()
            .filter(|r| kind(r) == "call" && only.is_none_or(|c| r["call"] == c))
            .map(|r| r["action"].as_str().unwrap().to_string())
            .filter(|a| !answered.contains(a))
            .collect()
    };
    let open_calls = |id: &str| open_of(id, None);
    let done_count = |id: &str| {
        journal_of(dir.path(), id)
            .iter()
            .filter(|r| kind(r) == "done")
            .count()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        let done: usize = members.iter().map(|id| done_count(id)).sum();
        // A held deactivation: its answer is 1.5 s away, so the kill lands while it is out.
        let open: usize = members
            .iter()
            .map(|id| open_of(id, Some("UpdateAccessKey")).len())
            .sum();
        if done >= 4 && open >= 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the apply never got under way"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the apply ended before it could be killed"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // 300 ms on, that request is in IAM and its answer still 1.2 s away.
    std::thread::sleep(std::time::Duration::from_millis(300));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let killed_after = started.elapsed();
    let open: Vec<(String, String)> = members
        .iter()
        .flat_map(|id| open_calls(id).into_iter().map(move |a| (id.clone(), a)))
        .collect();
    let done_before: usize = members.iter().map(|id| done_count(id)).sum();
    assert!(done_before < n * per, "killed mid-run");
    assert!(!open.is_empty());
    // Let the held answers drain (the calls already landed in IAM).
    std::thread::sleep(std::time::Duration::from_millis(1600));

    let started = std::time::Instant::now();
    let again = iamwarden(
        &endpoint,
        &[
            "org",
            "apply",
            dir.path().to_str().unwrap(),
            "--auto-approve",
            "--accounts-in-flight",
            "4",
        ],
    );
    let resume_wall = started.elapsed();
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(
        stdout.contains(&format!("{n} account(s) applied")),
        "{stdout}"
    );

    // IAM got each call once over both runs. A call the killed run journaled but never heard
    // back about was re-read: when it had landed it was not sent again; when it had not
    // (killed before its request left), the re-read proved nothing changed and it was sent once.
    let journaled: Vec<(String, String, String)> = members
        .iter()
        .flat_map(|id| {
            journal_of(dir.path(), id)
                .into_iter()
                .filter(|r| kind(r) == "call")
                .map(move |r| {
                    (
                        id.clone(),
                        r["call"].as_str().unwrap().to_string(),
                        r["request"].to_string(),
                    )
                })
        })
        .collect();
    let unique: BTreeSet<&(String, String, String)> = journaled.iter().collect();
    let mutating: BTreeSet<&str> = journaled.iter().map(|(_, c, _)| c.as_str()).collect();
    let sent: Vec<Value> = server
        .requests()
        .into_iter()
        .filter(|r| r["action"].as_str().is_some_and(|a| mutating.contains(a)))
        .collect();
    assert_eq!(
        sent.len(),
        unique.len(),
        "IAM received each call once: {sent:#?}"
    );
    let mut per_key: std::collections::BTreeMap<String, usize> = Default::default();
    for r in sent.iter().filter(|r| r["action"] == "UpdateAccessKey") {
        *per_key
            .entry(r["AccessKeyId"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(per_key.len(), n * per, "every key deactivated: {per_key:?}");
    assert!(
        per_key.values().all(|c| *c == 1),
        "no key deactivated twice: {per_key:?}"
    );
    let report = apply_report(dir.path());
    let (mut reread, mut resent) = (0usize, 0usize);
    let mut calls_per_account = Vec::new();
    for id in &members {
        let j = journal_of(dir.path(), id);
        let plan = read_json(&dir.path().join(id).join("plan.json"));
        let acc = account_in(&report, id);
        for a in plan["actions"].as_array().unwrap() {
            let aid = a["id"].as_str().unwrap();
            let of = |k: &str| {
                j.iter()
                    .filter(|r| kind(r) == k && r["action"] == aid)
                    .count()
            };
            let done: Vec<&Value> = j
                .iter()
                .filter(|r| kind(r) == "done" && r["action"] == aid)
                .collect();
            assert_eq!(done.len(), 1, "{id}/{aid}: done once: {done:#?}");
            assert_eq!(done[0]["outcome"], "applied", "{id}/{aid}: {done:#?}");
            if open.iter().any(|(i, x)| i == id && x == aid) {
                assert_eq!(acc["resumed"], true, "{acc:#}");
                assert!(acc["interrupted"].as_u64().unwrap() >= 1, "{acc:#}");
                // Landed before the kill: re-read and closed without a call. Not landed
                // (killed before its request left): re-read, then sent once (IAM's count
                // above proves it reached IAM once in all).
                match of("call") {
                    1 => {
                        assert_eq!(
                            done[0]["detail"], "completed by an interrupted earlier run",
                            "{id}/{aid}: the unanswered call had landed: re-read, not resent"
                        );
                        reread += 1;
                    }
                    2 => resent += 1,
                    c => panic!("{id}/{aid}: {c} calls journaled"),
                }
            } else {
                assert_eq!(of("call"), of("result"), "{id}/{aid}: every call answered");
            }
        }
        let touched_before = !j.is_empty() && acc["resumed"] == true;
        calls_per_account.push(j.iter().filter(|r| kind(r) == "call").count());
        if !touched_before {
            assert_eq!(
                acc["calls"],
                journal_calls(dir.path(), id, "apply"),
                "{acc:#}"
            );
        }
    }
    assert!(
        reread >= 1,
        "a call that landed unanswered was re-read, not resent"
    );
    runtime.block_on(async {
        for (i, id) in members.iter().enumerate() {
            let users: Vec<String> = (0..per).map(|u| format!("acct-{i}-user-{u}")).collect();
            assert_eq!(
                active_keys(&endpoint, id, &users).await,
                0,
                "{id}: every key deactivated"
            );
        }
    });
    let resumed = report["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["resumed"] == true)
        .count();
    eprintln!(
        "kill-resume: {n} accounts x {per} users; killed after {:.2} s with {done_before} action(s) done and {} call(s) open; \
         resume {:.2} s, {resumed} account(s) resumed, {reread} open call(s) re-read as landed, {resent} re-read and sent; \
         calls per account (both runs) {calls_per_account:?}",
        killed_after.as_secs_f64(),
        open.len(),
        resume_wall.as_secs_f64()
    );
}

/// Per-account exemptions in the accounts file: two accounts with a user of the same name;
/// exempted by name in one account only, its key is listed there as exempt (with the reason
/// naming the accounts file and account), not planned, while the other account plans it; a
/// rule exempted in one account lists its findings there as exempt. An exempt rule id that no
/// pack has stops the run.
#[test]
fn per_account_exemptions_reach_only_that_accounts_plan() {
    let server = moto::MotoServer::start();
    let endpoint = server.endpoint();
    let runtime = rt();
    let members = runtime.block_on(async {
        let ids = seed_many(&endpoint, 2, 1).await;
        for id in &ids {
            let iam = iam_in(&endpoint, id).await;
            iam.create_user()
                .user_name("shared-ci")
                .send()
                .await
                .unwrap();
            iam.create_access_key()
                .user_name("shared-ci")
                .send()
                .await
                .unwrap();
        }
        ids
    });
    let (a, b) = (&members[0], &members[1]);
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, a_extra: &str, b_extra: &str| {
        let file = dir.path().join(format!("{name}.yaml"));
        std::fs::write(
            &file,
            format!(
                "accounts:\n  - id: \"{a}\"\n    name: acct-0\n{a_extra}  - id: \"{b}\"\n    name: acct-1\n{b_extra}"
            ),
        )
        .unwrap();
        let out_dir = dir.path().join(name);
        let out = org_plan(&endpoint, &out_dir, &["--accounts", file.to_str().unwrap()]);
        (out, out_dir)
    };
    let (out, plans) = run(
        "exempt",
        "    exempt:\n      names: [shared-ci]\n",
        "    exempt:\n      rules: [access-key-unused]\n",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan_a = read_json(&plans.join(a).join("plan.json"));
    let plan_b = read_json(&plans.join(b).join("plan.json"));
    let (names_a, _) = mentioned(&plan_a);
    assert!(!names_a.contains("shared-ci"), "exempt in {a}: {names_a:?}");
    assert!(
        names_a.contains("acct-0-user-0"),
        "the other user of {a} is planned: {names_a:?}"
    );
    let skipped_a: Vec<&Value> = plan_a["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s.to_string().contains("shared-ci"))
        .collect();
    assert!(
        !skipped_a.is_empty(),
        "listed as exempt, not dropped: {:#}",
        plan_a["skipped"]
    );
    for s in &skipped_a {
        let why = s["reason"].as_str().unwrap_or_default();
        assert!(
            why.starts_with("exempt: name shared-ci matches `shared-ci` (accounts file, account ")
                && why.contains(a.as_str()),
            "{s:#}"
        );
    }
    // In b the same user name is not exempt by name; its rule access-key-unused is exempt.
    let (names_b, _) = mentioned(&plan_b);
    assert!(names_b.contains("shared-ci"), "{names_b:?}");
    assert!(
        !rules_in(&plan_b).contains("access-key-unused"),
        "{:#}",
        plan_b["findings"]
    );
    assert!(
        rules_in(&plan_a).contains("access-key-unused"),
        "{:#}",
        plan_a["findings"]
    );
    let rule_exempt: Vec<&Value> = plan_b["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["rule"] == "access-key-unused")
        .collect();
    assert_eq!(
        rule_exempt.len(),
        2,
        "both keys of {b} listed: {:#}",
        plan_b["skipped"]
    );
    for s in rule_exempt {
        assert_eq!(
            s["reason"],
            format!("exempt: the rule is exempt (accounts file, account {b})"),
            "{s:#}"
        );
    }

    let (out, _) = run("typo", "    exempt:\n      rules: [access-key-unusd]\n", "");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("exempt.rules: no loaded rule `access-key-unusd`"),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("account {a}")), "{stderr}");
    let (out, _) = run("badkey", "    exempt:\n      userz: [x]\n", "");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("badkey.yaml:") && stderr.contains("unknown field `userz`"),
        "{stderr}"
    );
}

/// `org snapshot` saves one inventory per account (each of its own account, readable by
/// `plan --snapshot`) and a manifest; `org undo` replays each account's journal as that
/// account's role, under its lock (a locked account is reported and left alone, exit 5), and a
/// second undo has nothing left to do.
#[test]
fn org_snapshot_and_org_undo_cover_every_account() {
    let server = moto::MotoServer::start();
    let endpoint = server.endpoint();
    let runtime = rt();
    let (n, per) = (3usize, 2usize);
    let members = runtime.block_on(seed_many(&endpoint, n, per));
    let users =
        |i: usize| -> Vec<String> { (0..per).map(|u| format!("acct-{i}-user-{u}")).collect() };
    let tmp = tempfile::tempdir().unwrap();

    let snaps = tmp.path().join("snaps");
    server.clear_requests();
    let started = std::time::Instant::now();
    let out = iamwarden(
        &endpoint,
        &[
            "org",
            "snapshot",
            "--role-name",
            "OrganizationAccountAccessRole",
            "--out",
            snaps.to_str().unwrap(),
            "--exclude",
            "id:123456789012",
            "--accounts-in-flight",
            "2",
        ],
    );
    let snap_wall = started.elapsed();
    let snap_calls = server.requests().len();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "Organization snapshot: {n} account(s) saved, 0 failed"
        )),
        "{stdout}"
    );
    let manifest = read_json(&snaps.join("manifest.json"));
    for (i, id) in members.iter().enumerate() {
        let e = manifest["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["id"] == id.as_str())
            .unwrap();
        assert_eq!(e["status"], "snapshot", "{e:#}");
        assert_eq!(e["name"], format!("acct-{i}"), "{e:#}");
        assert_eq!(e["snapshot"], format!("{id}/snapshot.json"));
        let inv = read_json(&snaps.join(id).join("snapshot.json"));
        assert_eq!(inv["account"]["id"], id.as_str());
        let names: BTreeSet<String> = inv["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            names,
            users(i).into_iter().collect::<BTreeSet<_>>(),
            "only {id}'s users"
        );
        let plan = iamwarden(
            &endpoint,
            &[
                "plan",
                "--snapshot",
                snaps.join(id).join("snapshot.json").to_str().unwrap(),
                "--now",
                NOW,
                "--format",
                "json",
            ],
        );
        assert_eq!(
            plan.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&plan.stderr)
        );
        let plan: Value = serde_json::from_slice(&plan.stdout).unwrap();
        assert_eq!(plan["account_id"], id.as_str());
    }

    let dir = tmp.path().join("plans");
    assert_eq!(org_plan(&endpoint, &dir, &[]).status.code(), Some(0));
    let out = iamwarden(
        &endpoint,
        &["org", "apply", dir.to_str().unwrap(), "--auto-approve"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    runtime.block_on(async {
        for (i, id) in members.iter().enumerate() {
            assert_eq!(active_keys(&endpoint, id, &users(i)).await, 0);
        }
    });

    // One account's journal held by another run: undo leaves it alone.
    let locked = &members[2];
    let held = iamwarden_core::apply::lock::JournalLock::acquire(
        &dir.join(locked).join("plan.json.journal.jsonl"),
        &iamwarden_core::apply::lock::Holder::here("iamwarden apply"),
    )
    .unwrap();
    let refused = iamwarden(&endpoint, &["org", "undo", dir.to_str().unwrap()]);
    assert_eq!(
        refused.status.code(),
        Some(1),
        "no --auto-approve: nothing runs"
    );
    server.clear_requests();
    let started = std::time::Instant::now();
    let out = iamwarden(
        &endpoint,
        &[
            "org",
            "undo",
            dir.to_str().unwrap(),
            "--auto-approve",
            "--accounts-in-flight",
            "3",
        ],
    );
    let undo_wall = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(5),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "Organization undo: {} account(s) undone, 0 failed, 1 locked",
            n - 1
        )),
        "{stdout}"
    );
    let undo_sent = server
        .requests()
        .iter()
        .filter(|r| r["action"] == "UpdateAccessKey")
        .count();
    assert_eq!(
        undo_sent,
        (n - 1) * per,
        "one reactivation per key of the unlocked accounts"
    );
    let report = read_json(&dir.join("undo-report.json"));
    assert_eq!(report["command"], "undo");
    assert_eq!(
        account_in(&report, locked)["status"],
        "locked",
        "{report:#}"
    );
    runtime.block_on(async {
        for (i, id) in members.iter().enumerate() {
            let want = if id == locked { 0 } else { per };
            assert_eq!(active_keys(&endpoint, id, &users(i)).await, want, "{id}");
        }
    });
    drop(held);
    let out = iamwarden(
        &endpoint,
        &["org", "undo", dir.to_str().unwrap(), "--auto-approve"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("{n} account(s) undone, 0 failed, 0 locked")),
        "{stdout}"
    );
    let report = read_json(&dir.join("undo-report.json"));
    assert_eq!(
        account_in(&report, locked)["calls"],
        journal_calls(&dir, locked, "undo"),
        "{report:#}"
    );
    for id in &members[..2] {
        let acc = account_in(&report, id);
        assert_eq!(acc["calls"], 0, "already undone: {acc:#}");
        assert_eq!(acc["resumed"], true, "{acc:#}");
    }
    runtime.block_on(async {
        for (i, id) in members.iter().enumerate() {
            assert_eq!(
                active_keys(&endpoint, id, &users(i)).await,
                per,
                "{id} restored"
            );
        }
    });
    eprintln!(
        "org snapshot: {n} accounts x {per} users in {:.2} s, {snap_calls} requests ({:.1} per account); \
         org undo of {} accounts: {:.2} s, {} calls per account",
        snap_wall.as_secs_f64(),
        snap_calls as f64 / n as f64,
        n - 1,
        undo_wall.as_secs_f64(),
        journal_calls(&dir, &members[0], "undo")
    );
}

/// `org snapshot --service-access` reads each account's service last-accessed data into its
/// snapshot (what `plan --snapshot` needs to plan `rightsize_policy`); without the flag the
/// snapshots carry none and no last-accessed job is started.
#[test]
fn org_snapshot_with_service_access_saves_each_accounts_last_accessed_data() {
    let server = moto::MotoServer::start();
    let endpoint = server.endpoint();
    let members = rt().block_on(seed_many(&endpoint, 2, 1));
    let recent = (chrono::Utc::now() - chrono::Duration::days(3))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let arn = |i: usize| format!("arn:aws:iam::{}:user/acct-{i}-user-0", members[i]);
    server.set_service_access(&serde_json::json!({
        arn(0): {"status": "COMPLETED", "services": [
            {"ServiceNamespace": "s3", "LastAuthenticated": recent}, {"ServiceNamespace": "sqs"}
        ]},
        arn(1): {"status": "FAILED", "error": "canned failure"}
    }));
    let tmp = tempfile::tempdir().unwrap();
    let snapshot = |dir: &Path, extra: &[&str]| {
        let mut args = vec![
            "org",
            "snapshot",
            "--role-name",
            "OrganizationAccountAccessRole",
            "--out",
            dir.to_str().unwrap(),
            "--exclude",
            "id:123456789012",
        ];
        args.extend_from_slice(extra);
        let out = iamwarden(&endpoint, &args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let user = |dir: &Path, i: usize| -> Value {
        let inv = read_json(&dir.join(&members[i]).join("snapshot.json"));
        inv["users"][0].clone()
    };

    let plain = tmp.path().join("plain");
    server.clear_requests();
    snapshot(&plain, &[]);
    assert!(!server
        .requests()
        .iter()
        .any(|r| r["action"] == "GenerateServiceLastAccessedDetails"));
    for i in 0..2 {
        assert!(
            user(&plain, i).get("service_access").is_none(),
            "{}",
            user(&plain, i)
        );
    }

    let with = tmp.path().join("with");
    snapshot(&with, &["--service-access"]);
    let ann = user(&with, 0);
    assert_eq!(ann["service_access"]["status"], "complete", "{ann:#}");
    let services = ann["service_access"]["services"].as_array().unwrap();
    let namespaces: Vec<&str> = services
        .iter()
        .map(|s| s["namespace"].as_str().unwrap())
        .collect();
    assert_eq!(namespaces, ["s3", "sqs"], "{ann:#}");
    assert!(services[0]["last_authenticated_at"].is_string(), "{ann:#}");
    let ben = user(&with, 1);
    assert_eq!(ben["service_access"]["status"], "failed", "{ben:#}");
    let manifest = read_json(&with.join("manifest.json"));
    for e in manifest["accounts"].as_array().unwrap() {
        if e["status"] == "snapshot" {
            assert!(
                e["reads"]["calls"]["GenerateServiceLastAccessedDetails"]
                    .as_u64()
                    .is_some_and(|n| n >= 1),
                "{e:#}"
            );
        }
    }
}

/// Issue 13: an org run reads every member account through one HTTP client (each account's
/// session is the caller's configuration with the role's credentials, not a client of its
/// own). Through a keep-alive relay, one account and one call at a time, the whole run
/// (ListAccounts, each AssumeRole, each account's read) goes over one connection; a client
/// per account would open at least one per account.
#[test]
fn an_org_run_reuses_one_connection_across_accounts() {
    let server = moto::MotoServer::start();
    let (members, _) = rt().block_on(seed(&server.endpoint()));
    let relay = keepalive::KeepAlive::start(server.port());
    let dir = tempfile::tempdir().unwrap();
    let out = org_plan(
        &relay.endpoint(),
        dir.path(),
        &["--concurrency", "1", "--calls-per-account", "1"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code().is_some_and(|c| c == 0 || c == 2),
        "{stderr}"
    );
    let report = read_json(&dir.path().join("report.json"));
    assert_eq!(report["totals"]["planned"], members.len(), "{report:#}");
    let (requests, connections) = (relay.requests(), relay.connections());
    let dropped = relay.ended_early();
    eprintln!(
        "org plan of {} accounts: {requests} requests, {connections} connection(s), {dropped} dropped before the end",
        members.len()
    );
    assert!(requests > 5 * members.len() as u64, "{requests} requests");
    // One call at a time needs one connection; a second can open when a call starts before
    // the previous answer's connection is back in the pool.
    assert!(
        connections <= 2,
        "{connections} connections for {requests} requests one at a time across {} accounts",
        members.len()
    );
    assert_eq!(
        dropped, 0,
        "a connection was closed before the run's last request"
    );
}
