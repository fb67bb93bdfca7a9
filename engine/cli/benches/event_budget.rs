//! Event mode's budget against a moto server (run with `cargo bench --bench event_budget`;
//! needs ./scripts/moto-venv). For accounts of 100 and 10,000 users:
//! - the targeted read and plan of CreatePolicy, CreatePolicyVersion, AttachUserPolicy and
//!   CreateAccessKey events: API calls per event and events per second, one event per batch
//!   and ten per batch (the size of one SQS receive);
//! - `iamwarden watch --apply` on a live queue: the time from a message's `SentTimestamp` to
//!   its action journaled (`queue_ms` of the structured log), for messages arriving one at a
//!   time and for a burst.
//!
//! Without `--bench` (as `cargo test --all-targets` runs it) it runs one small account and
//! checks the budget: at most 10 calls per event, the same for each kind on both sizes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_test_support::moto;

use aws_sdk_iam::Client;
use iamwarden_aws::live::scoped::read_scoped;
use iamwarden_aws::live::LiveOptions;
use iamwarden_core::event::scope::scope;
use serde_json::{json, Value};
use std::io::BufRead;
use std::time::{Duration, Instant};

const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "bench-secret";
const ADMIN: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const S3_READ: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
const KINDS: [&str; 4] = [
    "CreatePolicy",
    "CreatePolicyVersion",
    "AttachUserPolicy",
    "CreateAccessKey",
];

/// A CloudTrail record of an IAM call.
fn record(name: &str, id: &str, request: Value, response: Value) -> Value {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/admin"},
        "eventTime": "2026-11-20T10:15:30Z",
        "eventSource": "iam.amazonaws.com",
        "eventName": name,
        "requestParameters": request,
        "responseElements": response,
        "eventID": id,
        "recipientAccountId": "123456789012",
    })
}

/// `users` filler users (each with a key, every tenth with a customer policy attached), made
/// eight calls at a time.
async fn seed_fillers(c: &Client, users: usize) -> usize {
    let filler = c
        .create_policy()
        .policy_name("filler")
        .policy_document(S3_READ)
        .send()
        .await
        .unwrap();
    let filler = filler.policy().unwrap().arn().unwrap().to_string();
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(8));
    let mut set = tokio::task::JoinSet::new();
    for i in 0..users {
        let (c, sem, filler) = (c.clone(), sem.clone(), filler.clone());
        set.spawn(async move {
            let _p = sem.acquire_owned().await;
            let name = format!("user-{i:05}");
            c.create_user().user_name(&name).send().await.unwrap();
            c.create_access_key().user_name(&name).send().await.unwrap();
            if i % 10 == 0 {
                c.attach_user_policy()
                    .user_name(&name)
                    .policy_arn(&filler)
                    .send()
                    .await
                    .unwrap();
                return 3;
            }
            2
        });
    }
    let mut calls = 1;
    while let Some(n) = set.join_next().await {
        calls += n.unwrap();
    }
    calls
}

async fn admin_policy(c: &Client, name: &str, admin_first: bool) -> String {
    let out = c
        .create_policy()
        .policy_name(name)
        .policy_document(if admin_first { ADMIN } else { S3_READ })
        .send()
        .await
        .unwrap();
    out.policy().unwrap().arn().unwrap().to_string()
}

/// `n` events of `kind`, each on resources of its own (named after `tag`), made against the
/// server.
async fn events_of_kind(c: &Client, kind: &str, n: usize, tag: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for n_ in 0..n {
        let i = format!("{tag}-{n_}");
        let id = format!("ev-{kind}-{i}");
        let r = match kind {
            "CreatePolicy" => {
                let name = format!("cp-{i}");
                let arn = admin_policy(c, &name, true).await;
                record(
                    kind,
                    &id,
                    json!({"policyName": name, "policyDocument": ADMIN}),
                    json!({"policy": {"arn": arn, "policyName": name, "defaultVersionId": "v1"}}),
                )
            }
            "CreatePolicyVersion" => {
                let arn = admin_policy(c, &format!("cpv-{i}"), false).await;
                let v = c
                    .create_policy_version()
                    .policy_arn(&arn)
                    .policy_document(ADMIN)
                    .set_as_default(true)
                    .send()
                    .await
                    .unwrap();
                let vid = v
                    .policy_version()
                    .unwrap()
                    .version_id()
                    .unwrap()
                    .to_string();
                record(
                    kind,
                    &id,
                    json!({"policyArn": arn, "policyDocument": ADMIN, "setAsDefault": true}),
                    json!({"policyVersion": {"versionId": vid, "isDefaultVersion": true}}),
                )
            }
            "AttachUserPolicy" => {
                let arn = admin_policy(c, &format!("aup-{i}"), true).await;
                let user = format!("attach-{i}");
                c.create_user().user_name(&user).send().await.unwrap();
                c.attach_user_policy()
                    .user_name(&user)
                    .policy_arn(&arn)
                    .send()
                    .await
                    .unwrap();
                record(
                    kind,
                    &id,
                    json!({"userName": user, "policyArn": arn}),
                    Value::Null,
                )
            }
            _ => {
                let user = format!("key-{i}");
                c.create_user().user_name(&user).send().await.unwrap();
                let key = c.create_access_key().user_name(&user).send().await.unwrap();
                let key_id = key.access_key().unwrap().access_key_id().to_string();
                record(
                    kind,
                    &id,
                    json!({"userName": user}),
                    json!({"accessKey": {"userName": user, "accessKeyId": key_id, "status": "Active"}}),
                )
            }
        };
        out.push(r);
    }
    out
}

fn parse(records: &[Value]) -> Vec<iamwarden_core::event::IamEvent> {
    let bytes = serde_json::to_vec(&json!({ "Records": records })).unwrap();
    iamwarden_core::event::read(&bytes, "bench").unwrap().events
}

/// Reads and plans `records` in batches of `batch`: (calls per event, events per second,
/// findings).
async fn judge(
    c: &Client,
    rules: &iamwarden_core::compile::RuleSet,
    records: &[Value],
    batch: usize,
) -> (f64, f64, usize) {
    let opts = LiveOptions {
        concurrency: 8,
        ..LiveOptions::default()
    };
    let mut calls = 0;
    let mut findings = 0;
    let mut resources = 0;
    let t = Instant::now();
    for chunk in records.chunks(batch) {
        let events = parse(chunk);
        let read = read_scoped(c, &scope(&events), &opts).await.unwrap();
        assert!(read.gone.is_empty(), "{:?}", read.gone);
        calls += read.stats.total();
        resources += read.inventory.users.len() + read.inventory.managed_policies.len();
        let now = chrono::Utc::now();
        let (plan, _) =
            iamwarden_core::pipeline::make_event_plan(rules, read.inventory, &events, now, now);
        findings += plan.findings.len();
    }
    let n = records.len() as f64;
    // Every event's resource was read (a fresh key alone makes no finding, so findings are
    // only counted).
    assert!(resources >= records.len(), "the events' resources are read");
    (calls as f64 / n, n / t.elapsed().as_secs_f64(), findings)
}

fn sqs(endpoint: &str) -> aws_sdk_sqs::Client {
    let creds = aws_sdk_sqs::config::Credentials::new(KEY, SECRET, None, None, "bench");
    let conf = aws_sdk_sqs::Config::builder()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(aws_sdk_sqs::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(creds)
        .build();
    aws_sdk_sqs::Client::from_conf(conf)
}

fn envelope(record: &Value) -> String {
    json!({"version": "0", "detail-type": "AWS API Call via CloudTrail", "source": "aws.iam",
           "account": "123456789012", "detail": record})
    .to_string()
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Runs `iamwarden watch --apply` while `send` puts messages on the queue; returns each
/// journaled event's `queue_ms`, sorted, and the wall time until the last was logged.
async fn watch_latency(
    server: &moto::MotoServer,
    queue: &aws_sdk_sqs::Client,
    url: &str,
    bodies: Vec<String>,
    spacing: Duration,
) -> (Vec<u64>, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_iamwarden"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", server.endpoint())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/iamwarden-bench")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/iamwarden-bench",
        )
        .args(["watch", "--queue-url", url, "--wait-seconds", "20"])
        .args(["--apply", "--auto-approve"])
        .arg("--out-dir")
        .arg(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let expected = bodies.len();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                if let Some(q) = v.get("queue_ms").and_then(Value::as_u64) {
                    assert_eq!(v["outcome"], "applied", "{v}");
                    let _ = tx.send(q);
                }
            } else if line.contains("seed") || line.contains("secret") {
                panic!("a secret was printed: {line}");
            }
        }
    });
    let t = Instant::now();
    for b in bodies {
        queue
            .send_message()
            .queue_url(url)
            .message_body(b)
            .send()
            .await
            .unwrap();
        tokio::time::sleep(spacing).await;
    }
    let mut got = Vec::new();
    while got.len() < expected {
        let q = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("watch journaled every event");
        got.push(q);
    }
    let wall = t.elapsed();
    // SIGTERM: the watcher finishes its batch and exits.
    let _ = std::process::Command::new("kill")
        .arg(child.id().to_string())
        .status();
    let status = child.wait().unwrap();
    assert!(status.success(), "watch exited with {status}");
    reader.join().unwrap();
    got.sort_unstable();
    (got, wall)
}

#[tokio::main]
async fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let (sizes, per_kind): (Vec<usize>, usize) = if bench {
        (vec![100, 10_000], 20)
    } else {
        (vec![5, 50], 2)
    };
    let rules = iamwarden_core::packs::load_rule_set(&["builtin".to_string()]).unwrap();
    let mut budgets: Vec<Vec<f64>> = Vec::new();
    for users in sizes {
        let server = moto::MotoServer::start();
        let c = moto::iam_client(&server.endpoint(), KEY, SECRET);
        let t = Instant::now();
        let seeded = seed_fillers(&c, users).await;
        eprintln!(
            "users={users}: seeded with {seeded} calls in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let mut per_size = Vec::new();
        for kind in KINDS {
            let records = events_of_kind(&c, kind, per_kind, "judge").await;
            let (calls, single, findings) = judge(&c, &rules, &records, 1).await;
            let (batched_calls, batched, _) = judge(&c, &rules, &records, 10).await;
            assert!(calls <= 10.0, "{kind}: {calls} calls per event");
            println!(
                "users={users} {kind:<20} calls/event={calls:.1} events/s={single:.1} findings={findings} | batches of 10: calls/event={batched_calls:.1} events/s={batched:.1}"
            );
            per_size.push(calls);
        }
        budgets.push(per_size);

        // Message sent -> action journaled, through a real queue and `watch --apply`.
        let queue = sqs(&server.endpoint());
        let url = queue
            .create_queue()
            .queue_name("iam-events")
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let (one_by_one, burst) = if bench { (20, 200) } else { (2, 10) };
        for (label, n, spacing) in [
            ("one at a time", one_by_one, Duration::from_millis(1_500)),
            ("burst", burst, Duration::ZERO),
        ] {
            let tag = label.replace(' ', "-");
            let records = events_of_kind(&c, "CreatePolicyVersion", n, &tag).await;
            let bodies: Vec<String> = records.iter().map(envelope).collect();
            let (q, wall) = watch_latency(&server, &queue, &url, bodies, spacing).await;
            println!(
                "users={users} watch --apply, {n} messages {label}: sent->journaled p50={} ms p95={} ms max={} ms, {:.1} events/s",
                percentile(&q, 0.5),
                percentile(&q, 0.95),
                q.last().copied().unwrap_or(0),
                n as f64 / wall.as_secs_f64()
            );
        }
    }
    assert_eq!(
        budgets.first(),
        budgets.last(),
        "calls per event do not change with the account's size"
    );
}
