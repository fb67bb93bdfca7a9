//! Apply and undo through a fault-injecting proxy (`iamwarden_test_support::faultproxy`) in front of a
//! moto server on 127.0.0.1: 410 actions of mixed steps (key deactivation, password reset,
//! detach, group removal, quarantine, replace_policy_document) under 20% and 50% of requests
//! throttled, failed with 5xx, cut before or after the response headers, or stalled. Apply is
//! re-run until nothing failed (three runs through the faults, then through the proxy with the
//! faults off), then undo likewise. Asserted through the server's own request
//! log (what reached IAM, independently of iamwarden's journal): no action's effect applied
//! twice (at most one accepted CreatePolicyVersion per replaced policy), the final state equal
//! to the plan, every action applied with its undo recorded, and undo restoring every
//! before-state.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_test_support::{faultproxy, moto, runtime as rt};

use aws_sdk_iam::Client;
use iamwarden_core::apply::{self, journal, Caller, Outcome};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SEED_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const USERS: usize = 70;
const POLICIES: usize = 60;
/// 5 actions per user, 1 per policy.
const ACTIONS: usize = USERS * 5 + POLICIES;
/// Runs of apply (or undo) before the test gives up on convergence.
const PASSES: usize = 10;
/// Runs made through the faults; later ones go through the proxy with the faults off (at 50%,
/// the SDK's retry quota for reads runs dry, and convergence would take many more runs).
const FAULTY_PASSES: usize = 3;

const S3_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;

/// A client with low timeouts (a stall costs little) and the SDK's standard retries for reads
/// (10 attempts: at 50% faults, 5 fail together often enough to slow the test down); apply
/// turns retries off for its mutating calls itself.
fn client(endpoint: &str) -> Client {
    use aws_sdk_iam::config::retry::RetryConfig;
    use aws_sdk_iam::config::timeout::TimeoutConfig;
    let conf = aws_sdk_iam::Config::builder()
        .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
        .region(aws_sdk_iam::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_iam::config::Credentials::new(
            SEED_KEY,
            "seed-secret",
            None,
            None,
            "test",
        ))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(10)
                .with_initial_backoff(Duration::from_millis(20)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_attempt_timeout(Duration::from_millis(1000))
                .build(),
        )
        .build();
    Client::from_conf(conf)
}

fn user_name(i: usize) -> String {
    format!("f-{i:03}")
}

fn policy_name(i: usize) -> String {
    format!("fp-{i:02}")
}

struct Seeded {
    s3: String,
    keys: BTreeMap<String, String>,
    policies: Vec<String>,
    original: Value,
}

async fn seed(c: &Client) -> Seeded {
    let s3 = c
        .create_policy()
        .policy_name("f-s3")
        .policy_document(S3_ALL)
        .send()
        .await
        .unwrap()
        .policy()
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    c.create_group().group_name("fgroup").send().await.unwrap();
    let mut keys = BTreeMap::new();
    for i in 0..USERS {
        let u = user_name(i);
        c.create_user().user_name(&u).send().await.unwrap();
        let k = c.create_access_key().user_name(&u).send().await.unwrap();
        keys.insert(
            u.clone(),
            k.access_key().unwrap().access_key_id().to_string(),
        );
        c.create_login_profile()
            .user_name(&u)
            .password("Initial-Pa55word!")
            .send()
            .await
            .unwrap();
        c.attach_user_policy()
            .user_name(&u)
            .policy_arn(&s3)
            .send()
            .await
            .unwrap();
        c.add_user_to_group()
            .user_name(&u)
            .group_name("fgroup")
            .send()
            .await
            .unwrap();
    }
    let mut policies = Vec::new();
    for i in 0..POLICIES {
        let arn = c
            .create_policy()
            .policy_name(policy_name(i))
            .policy_document(S3_ALL)
            .send()
            .await
            .unwrap()
            .policy()
            .unwrap()
            .arn()
            .unwrap()
            .to_string();
        policies.push(arn);
    }
    Seeded {
        s3,
        keys,
        policies,
        original: serde_json::from_str(S3_ALL).unwrap(),
    }
}

/// `plan --out` straight against the server (no proxy).
fn make_plan(server: &moto::MotoServer, out: &Path) -> iamwarden_core::plan::Plan {
    let o = Command::new(env!("CARGO_BIN_EXE_iamwarden"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", SEED_KEY)
        .env("AWS_SECRET_ACCESS_KEY", "seed-secret")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", server.endpoint())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/iamwarden-test")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/iamwarden-test")
        .args(["plan", "--format", "json", "--rules"])
        .arg(Path::new(ROOT).join("../tests/fixtures/apply/faults.yaml"))
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "plan failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    apply::load_plan(&std::fs::read_to_string(out).unwrap()).unwrap()
}

fn caller(plan: &iamwarden_core::plan::Plan) -> Caller {
    Caller {
        arn: format!("arn:aws:iam::{}:user/apply-runner", plan.account_id),
        account_id: plan.account_id.clone(),
        access_key_id: Some(SEED_KEY.to_string()),
    }
}

/// Mutating requests that reached the server and were accepted, by (call, target), for the
/// requests logged from index `from` on.
fn accepted(server: &moto::MotoServer, from: usize) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in server.requests().into_iter().skip(from) {
        let a = r["action"].as_str().unwrap_or_default().to_string();
        if a.starts_with("Get") || a.starts_with("List") || r["status"] != 200 {
            continue;
        }
        let target: Vec<String> = [
            "UserName",
            "GroupName",
            "PolicyArn",
            "PolicyName",
            "AccessKeyId",
            "VersionId",
        ]
        .iter()
        .filter_map(|k| r[*k].as_str().map(|v| format!("{k}={v}")))
        .collect();
        *out.entry(format!("{a} {}", target.join(" "))).or_insert(0) += 1;
    }
    out
}

/// What one fault level showed (printed, then asserted).
#[derive(Debug, Default)]
struct Findings {
    apply_passes: Vec<String>,
    undo_passes: Vec<String>,
    lost_undo: Vec<String>,
    duplicates: Vec<String>,
    wrong_state: Vec<String>,
    not_restored: Vec<String>,
    unknown_messages: usize,
    bad_messages: Vec<String>,
    last_failures: Vec<String>,
}

async fn state_after_apply(c: &Client, s: &Seeded, doc: &Value, f: &mut Findings) {
    for i in 0..USERS {
        let u = user_name(i);
        let keys = c.list_access_keys().user_name(&u).send().await.unwrap();
        let k = &keys.access_key_metadata()[0];
        if k.status() != Some(&aws_sdk_iam::types::StatusType::Inactive) {
            f.wrong_state.push(format!("{u}: key {:?}", k.status()));
        }
        let lp = c.get_login_profile().user_name(&u).send().await.unwrap();
        if !lp.login_profile().unwrap().password_reset_required() {
            f.wrong_state.push(format!("{u}: no password reset"));
        }
        let att = c
            .list_attached_user_policies()
            .user_name(&u)
            .send()
            .await
            .unwrap();
        if !att.attached_policies().is_empty() {
            f.wrong_state
                .push(format!("{u}: still has a policy attached"));
        }
        let g = c.list_groups_for_user().user_name(&u).send().await.unwrap();
        if !g.groups().is_empty() {
            f.wrong_state.push(format!("{u}: still in a group"));
        }
        let inl = c.list_user_policies().user_name(&u).send().await.unwrap();
        if inl.policy_names() != ["iamwarden-quarantine"] {
            f.wrong_state
                .push(format!("{u}: inline policies {:?}", inl.policy_names()));
        }
    }
    for arn in &s.policies {
        let vs = c
            .list_policy_versions()
            .policy_arn(arn)
            .send()
            .await
            .unwrap();
        if vs.versions().len() != 2 {
            f.wrong_state
                .push(format!("{arn}: {} versions (want 2)", vs.versions().len()));
        }
        if default_doc(c, arn).await != *doc {
            f.wrong_state
                .push(format!("{arn}: the default is not the planned document"));
        }
    }
}

async fn default_doc(c: &Client, arn: &str) -> Value {
    let p = c.get_policy().policy_arn(arn).send().await.unwrap();
    let v = p
        .policy()
        .unwrap()
        .default_version_id()
        .unwrap()
        .to_string();
    let pv = c
        .get_policy_version()
        .policy_arn(arn)
        .version_id(v)
        .send()
        .await
        .unwrap();
    let text = pv.policy_version().unwrap().document().unwrap();
    iamwarden_core::policy::parse_document_text(text).unwrap()
}

async fn state_after_undo(c: &Client, s: &Seeded, f: &mut Findings) {
    for i in 0..USERS {
        let u = user_name(i);
        let keys = c.list_access_keys().user_name(&u).send().await.unwrap();
        let k = &keys.access_key_metadata()[0];
        if k.access_key_id() != s.keys.get(&u).map(String::as_str)
            || k.status() != Some(&aws_sdk_iam::types::StatusType::Active)
        {
            f.not_restored.push(format!("{u}: key {:?}", k.status()));
        }
        let lp = c.get_login_profile().user_name(&u).send().await.unwrap();
        if lp.login_profile().unwrap().password_reset_required() {
            f.not_restored
                .push(format!("{u}: password reset still required"));
        }
        let att = c
            .list_attached_user_policies()
            .user_name(&u)
            .send()
            .await
            .unwrap();
        let arns: Vec<&str> = att
            .attached_policies()
            .iter()
            .filter_map(|p| p.policy_arn())
            .collect();
        if arns != [s.s3.as_str()] {
            f.not_restored.push(format!("{u}: attached {arns:?}"));
        }
        let g = c.list_groups_for_user().user_name(&u).send().await.unwrap();
        if g.groups().len() != 1 {
            f.not_restored.push(format!("{u}: not back in fgroup"));
        }
        let inl = c.list_user_policies().user_name(&u).send().await.unwrap();
        if !inl.policy_names().is_empty() {
            f.not_restored
                .push(format!("{u}: inline policies {:?}", inl.policy_names()));
        }
    }
    for arn in &s.policies {
        let vs = c
            .list_policy_versions()
            .policy_arn(arn)
            .send()
            .await
            .unwrap();
        if vs.versions().len() != 1 {
            f.not_restored
                .push(format!("{arn}: {} versions (want 1)", vs.versions().len()));
        }
        if default_doc(c, arn).await != s.original {
            f.not_restored
                .push(format!("{arn}: the default is not the original document"));
        }
    }
}

fn check_messages(report: &apply::Report, f: &mut Findings) {
    for a in &report.actions {
        // Every request reached the proxy, so none failed to reach the endpoint.
        if a.detail.contains("cannot reach") {
            f.bad_messages.push(format!("{}: {}", a.id, a.detail));
        }
        // A mutating call without an answer, resolved (or not) by re-reading the target.
        if a.detail.contains("no answer came") && a.detail.contains("re-read") {
            f.unknown_messages += 1;
        }
    }
}

fn faults_at(rate: f64, rng_seed: u64) -> Findings {
    let server = moto::MotoServer::start();
    let rt = rt();
    let direct = client(&server.endpoint());
    let seeded = rt.block_on(seed(&direct));
    let dir = tempfile::tempdir().unwrap();
    let plan = make_plan(&server, &dir.path().join("plan.json"));
    assert_eq!(plan.actions.len(), ACTIONS, "the fixture plans 410 actions");
    let planned_doc: Value = plan
        .actions
        .iter()
        .find(|a| a.step() == iamwarden_core::spec::StepName::ReplacePolicyDocument)
        .and_then(|a| a.params_json().get("document").cloned())
        .unwrap();
    let proxy =
        faultproxy::FaultProxy::start(server.port(), faultproxy::Faults::mixed(rate, rng_seed));
    let via_proxy = client(&proxy.endpoint());
    let journal_path: PathBuf = dir.path().join("journal.jsonl");
    let opts = apply::Options {
        allow_destructive: false,
        max_actions: None,
        max_plan_age: chrono::Duration::hours(1),
        concurrency: 8,
        plan_file: "plan.json".into(),
    };
    let who = caller(&plan);
    let mut f = Findings::default();
    let started = Instant::now();
    let log_start = server.requests().len();

    // Apply, and again while anything failed.
    let mut converged = false;
    for pass in 0..PASSES {
        if pass == FAULTY_PASSES {
            proxy.set_rate(0.0);
        }
        let records = journal::read(&journal_path).unwrap();
        let history =
            journal::history(&journal_path, &records, Some(&plan.content_sha256)).unwrap();
        let j = Arc::new(journal::Journal::open(&journal_path).unwrap());
        let aws = iamwarden_aws::iam::executor(via_proxy.clone(), j, journal::Mode::Apply)
            .with_endpoint(Some(&proxy.endpoint()));
        let report = rt
            .block_on(apply::run(&plan, &opts, &aws, &who, &history, None))
            .unwrap();
        check_messages(&report, &mut f);
        f.apply_passes.push(report.summary.line());
        f.last_failures = report
            .actions
            .iter()
            .filter(|a| a.outcome != Outcome::AlreadyApplied && a.outcome != Outcome::Applied)
            .map(|a| format!("{} {} {:?}: {}", a.id, a.target, a.outcome, a.detail))
            .collect();
        if report.summary.failed == 0 {
            converged = true;
            break;
        }
    }
    assert!(
        converged,
        "apply did not converge: {:?}\nlast failures: {:#?}",
        f.apply_passes, f.last_failures
    );

    // Every action applied with its undo recorded.
    let records = journal::read(&journal_path).unwrap();
    let history = journal::history(&journal_path, &records, Some(&plan.content_sha256)).unwrap();
    for a in &plan.actions {
        match history.done.get(&a.id) {
            Some(d) if d.outcome == Outcome::Applied && !d.undo.is_empty() => {}
            Some(d) => f.lost_undo.push(format!(
                "{} {}: {:?} ({}), {} undo op(s)",
                a.id,
                a.step(),
                d.outcome,
                d.detail,
                d.undo.len()
            )),
            None => f
                .lost_undo
                .push(format!("{} {}: no outcome", a.id, a.step())),
        }
    }
    for (call, n) in accepted(&server, log_start) {
        if n > 1 {
            f.duplicates.push(format!("{call}: accepted {n} times"));
        }
    }
    rt.block_on(state_after_apply(&direct, &seeded, &planned_doc, &mut f));

    // Undo, through the same faults, again while anything failed.
    let undo_plan = apply::undo::plan_undo(&journal_path).unwrap();
    let reversible = undo_plan
        .entries
        .iter()
        .filter(|e| !e.ops.is_empty())
        .count();
    if reversible != ACTIONS {
        f.lost_undo.push(format!(
            "undo has {reversible} reversible actions of {ACTIONS}"
        ));
    }
    let undo_log_start = server.requests().len();
    let mut undone = false;
    proxy.set_rate(rate);
    for pass in 0..PASSES {
        if pass == FAULTY_PASSES {
            proxy.set_rate(0.0);
        }
        let up = apply::undo::plan_undo(&journal_path).unwrap();
        let j = Arc::new(journal::Journal::open(&journal_path).unwrap());
        let aws = iamwarden_aws::iam::executor(via_proxy.clone(), j, journal::Mode::Undo)
            .with_endpoint(Some(&proxy.endpoint()));
        let report = rt
            .block_on(apply::undo::run(&up, &aws, &who, "journal.jsonl", None))
            .unwrap();
        f.undo_passes.push(report.summary.line());
        f.last_failures = report
            .actions
            .iter()
            .filter(|a| a.outcome == Outcome::Failed)
            .map(|a| format!("{} {}: {}", a.id, a.target, a.detail))
            .collect();
        if report.summary.failed == 0 {
            undone = true;
            break;
        }
    }
    assert!(
        undone,
        "undo did not converge: {:?}\nlast failures: {:#?}",
        f.undo_passes, f.last_failures
    );
    for (call, n) in accepted(&server, undo_log_start) {
        if n > 1 && call.starts_with("CreatePolicyVersion") {
            f.duplicates
                .push(format!("undo {call}: accepted {n} times"));
        }
    }
    rt.block_on(state_after_undo(&direct, &seeded, &mut f));
    let stats = proxy.stats();
    eprintln!(
        "faults {:.0}%: {} requests through the proxy, {} faults {:?}; {} s\n  apply passes: {:?}\n  \
         undo passes: {:?}\n  unanswered calls resolved by re-read: {}\n  lost undo: {}, duplicate \
         effects: {}, wrong state: {}, not restored: {}",
        rate * 100.0,
        stats.total(),
        stats.faults(),
        stats.by_kind,
        started.elapsed().as_secs(),
        f.apply_passes,
        f.undo_passes,
        f.unknown_messages,
        f.lost_undo.len(),
        f.duplicates.len(),
        f.wrong_state.len(),
        f.not_restored.len(),
    );
    assert!(
        stats.faults() as f64 > stats.total() as f64 * rate * 0.5,
        "the proxy injected too few faults to test anything: {stats:?}"
    );
    f
}

fn assert_clean(f: &Findings) {
    assert!(
        f.lost_undo.is_empty(),
        "actions lost their undo: {:#?}",
        f.lost_undo
    );
    assert!(
        f.duplicates.is_empty(),
        "effects applied twice: {:#?}",
        f.duplicates
    );
    assert!(
        f.wrong_state.is_empty(),
        "not the planned state: {:#?}",
        f.wrong_state
    );
    assert!(
        f.not_restored.is_empty(),
        "undo left: {:#?}",
        f.not_restored
    );
    assert!(
        f.bad_messages.is_empty(),
        "misleading messages: {:#?}",
        f.bad_messages
    );
    assert!(
        f.unknown_messages > 0,
        "no call went unanswered: the test did not exercise the resolution"
    );
}

#[test]
fn apply_and_undo_through_20_percent_faults_lose_nothing_and_repeat_nothing() {
    let f = faults_at(0.2, 20);
    assert_clean(&f);
}

#[test]
fn apply_and_undo_through_50_percent_faults_lose_nothing_and_repeat_nothing() {
    let f = faults_at(0.5, 50);
    assert_clean(&f);
}
