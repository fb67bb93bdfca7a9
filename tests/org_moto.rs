//! `iamwarden org plan` and `org report` end to end against moto (issue 15): an organization of
//! three seeded member accounts on one server (`sts:AssumeRole` into
//! `arn:aws:iam::<account>:role/<any>` acts in that account), each account's plan naming only
//! that account's resources; two shards run as separate processes merge into the report of the
//! unsharded run; one account whose AssumeRole is refused (a proxy answers AccessDenied) and one
//! whose reads are throttled past the retries, while the other completes; `org apply` changes
//! each account as its plan says and resumes from the journals. Also: the human report's golden file and the example policies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/faultproxy.rs"]
mod faultproxy;
#[path = "support/golden.rs"]
mod golden;
#[path = "support/moto.rs"]
mod moto;

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// The caller's (management) account in moto.
const MANAGEMENT: &str = "123456789012";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn caller_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new(
                    "AKIAIOSFODNN7EXAMPLE",
                    "caller-secret",
                    None,
                    None,
                    "test",
                ),
            ),
        )
        .build()
}

/// An IAM client acting in `account` (through AssumeRole, as the product does).
async fn iam_in(endpoint: &str, account: &str) -> aws_sdk_iam::Client {
    let sts = aws_sdk_sts::Client::new(&caller_config(endpoint));
    let out = sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/seed"))
        .role_session_name("seed")
        .send()
        .await
        .unwrap();
    let c = out.credentials().unwrap();
    moto::iam_client(endpoint, c.access_key_id(), c.secret_access_key())
}

/// Creates the organization and three member accounts (plus one closed account); seeds each
/// member with its own users, each holding an access key. Returns the member ids with the
/// user names of each, and the closed account's id.
async fn seed(endpoint: &str) -> (Vec<(String, Vec<String>)>, String) {
    let org = aws_sdk_organizations::Client::new(&caller_config(endpoint));
    org.create_organization().send().await.unwrap();
    let mut members = Vec::new();
    for (i, name) in ["alpha", "beta", "gamma", "closed"].iter().enumerate() {
        let out = org
            .create_account()
            .account_name(*name)
            .email(format!("{name}@example.com"))
            .send()
            .await
            .unwrap();
        let id = out
            .create_account_status()
            .and_then(|s| s.account_id())
            .unwrap()
            .to_string();
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
