//! `iamwarden watch` against moto's SQS: a queue of EventBridge-shaped CloudTrail messages
//! (a burst of 500, a duplicate eventID, a malformed body) planned once each against the demo
//! snapshot, the good messages deleted and the malformed one left for redrive; a restart with
//! the state file plans a redelivered event no more; with `--apply` a seeded moto account ends
//! in the planned state with one journal record per action, and the redelivered event is not
//! applied again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_test_support::root;
use iamwarden_test_support::{
    cli::{self, text},
    keepalive, lambda_api, moto, runtime as rt,
};

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SEED_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const NOW: &str = "2026-11-21T00:00:00Z";
const ADMIN: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const S3_READ: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;

fn sqs(endpoint: &str) -> aws_sdk_sqs::Client {
    let creds = aws_sdk_sqs::config::Credentials::new(SEED_KEY, "seed-secret", None, None, "test");
    let conf = aws_sdk_sqs::Config::builder()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(aws_sdk_sqs::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(creds)
        .build();
    aws_sdk_sqs::Client::from_conf(conf)
}

async fn queue(c: &aws_sdk_sqs::Client) -> String {
    c.create_queue()
        .queue_name("iam-events")
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "2",
        )
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap()
}

async fn put(c: &aws_sdk_sqs::Client, url: &str, body: &str) {
    c.send_message()
        .queue_url(url)
        .message_body(body)
        .send()
        .await
        .unwrap();
}

/// Every body on the queue now (waits for invisible ones to come back).
async fn drain(c: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let mut out = Vec::new();
    loop {
        let r = c
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        let msgs = r.messages.unwrap_or_default();
        if msgs.is_empty() {
            return out;
        }
        out.extend(msgs.into_iter().map(|m| m.body.unwrap_or_default()));
    }
}

/// An EventBridge envelope of the example CreatePolicy record, with its own id and policy.
fn create_policy(id: &str, name: &str) -> String {
    let text = std::fs::read_to_string(root().join("examples/events/create-policy.json")).unwrap();
    let mut record: Value = serde_json::from_str(&text).unwrap();
    record["eventID"] = json!(id);
    record["requestParameters"]["policyName"] = json!(name);
    record["responseElements"]["policy"]["policyName"] = json!(name);
    record["responseElements"]["policy"]["arn"] =
        json!(format!("arn:aws:iam::123456789012:policy/{name}"));
    json!({"version": "0", "detail-type": "AWS API Call via CloudTrail", "source": "aws.iam",
           "account": "123456789012", "detail": record})
    .to_string()
}

fn iamwarden(server: &moto::MotoServer) -> Command {
    cli::isolated(
        env!("CARGO_BIN_EXE_iamwarden"),
        &server.endpoint(),
        SEED_KEY,
        "seed-secret",
    )
}

fn watch(server: &moto::MotoServer, url: &str, out_dir: &Path, extra: &[&str]) -> Output {
    let mut cmd = iamwarden(server);
    cmd.args([
        "watch",
        "--queue-url",
        url,
        "--until-empty",
        "--wait-seconds",
        "1",
    ])
    .arg("--out-dir")
    .arg(out_dir)
    .args(extra);
    let o = cli::run_hiding(&mut cmd, &["seed-secret"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    o
}

/// The JSON lines on stderr.
fn lines(o: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(Value::is_object)
        .collect()
}

fn summary(o: &Output) -> Value {
    lines(o)
        .into_iter()
        .find_map(|l| l.get("summary").cloned())
        .unwrap_or_else(|| panic!("no summary: {}", text(o)))
}

fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    v.sort();
    v
}

#[test]
fn a_burst_is_planned_once_each_duplicates_skipped_and_the_malformed_message_left() {
    let server = moto::MotoServer::start();
    let rt = rt();
    let c = sqs(&server.endpoint());
    let sending = std::time::Instant::now();
    let url = rt.block_on(async {
        let url = queue(&c).await;
        put(&c, &url, &create_policy("ev-first", "ci-deployer")).await;
        put(&c, &url, &create_policy("ev-first", "ci-deployer")).await;
        put(&c, &url, "{ this is not an event").await;
        for i in 0..500 {
            put(
                &c,
                &url,
                &create_policy(&format!("ev-burst-{i:03}"), &format!("burst-{i:03}")),
            )
            .await;
        }
        url
    });
    let dir = tempfile::tempdir().unwrap();
    let snapshot = root().join("examples/demo-account.json");
    let snap = snapshot.to_str().unwrap();
    let o = watch(
        &server,
        &url,
        dir.path(),
        &["--snapshot", snap, "--now", NOW],
    );
    let since_sending = u64::try_from(sending.elapsed().as_millis()).unwrap();
    let s = summary(&o);
    // The malformed message may come back within the run (visibility timeout 2 s): each time
    // it is received it is counted and left again.
    let malformed = s["malformed"].as_u64().unwrap();
    assert!(malformed >= 1, "{}", text(&o));
    assert_eq!(
        s["messages"].as_u64(),
        Some(502 + malformed),
        "{}",
        text(&o)
    );
    assert_eq!(s["events"], 501, "{}", text(&o));
    assert_eq!(s["duplicates"], 1, "{}", text(&o));
    assert_eq!(s["deleted"], 502, "{}", text(&o));
    // Each event judged once: one log line per event id, each with its admin finding planned.
    let judged: Vec<Value> = lines(&o)
        .into_iter()
        .filter(|l| l.get("latency_ms").is_some())
        .collect();
    let mut ids: Vec<&str> = judged.iter().map(|l| l["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    let before = ids.len();
    ids.dedup();
    assert_eq!((before, ids.len()), (501, 501), "{}", text(&o));
    for l in &judged {
        assert_eq!(l["name"], "CreatePolicy");
        // The built-in CreatePolicy rule reports an admin policy (no action of its own).
        assert_eq!(l["outcome"], "reported", "{l}");
        assert_eq!(l["resources"], 1, "{l}");
        assert_eq!(l["findings"], 1, "{l}");
        // Queue time (from SQS's SentTimestamp) covers at least the batch's own time, and no
        // more than since the first message was sent (a second of clock rounding allowed).
        let (queue, batch) = (l["queue_ms"].as_u64(), l["latency_ms"].as_u64().unwrap());
        assert!(
            queue.is_some_and(|q| q + 1_000 >= batch && q <= since_sending + 1_000),
            "{l} (sent {since_sending} ms ago)"
        );
    }
    assert!(s["max_queue_ms"].as_u64().unwrap() + 1_000 >= s["max_latency_ms"].as_u64().unwrap());
    // The plans on disk hold one finding per event, each policy once.
    let mut judged_policies = Vec::new();
    for p in files(dir.path(), ".plan.json") {
        let plan: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        for f in plan["findings"].as_array().unwrap() {
            judged_policies.push(f["resource"]["id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(judged_policies.len(), 501);
    judged_policies.sort();
    judged_policies.dedup();
    assert_eq!(judged_policies.len(), 501);
    // Only the malformed message is left, visible again after its visibility timeout.
    let left = rt.block_on(drain(&c, &url));
    assert_eq!(left, ["{ this is not an event"]);

    // Redelivery after a restart: the state file says ev-first was planned.
    rt.block_on(put(&c, &url, &create_policy("ev-first", "ci-deployer")));
    let o = watch(
        &server,
        &url,
        dir.path(),
        &["--snapshot", snap, "--now", NOW],
    );
    let s = summary(&o);
    assert_eq!(
        (s["events"].as_u64(), s["duplicates"].as_u64()),
        (Some(0), Some(1)),
        "{}",
        text(&o)
    );
    assert_eq!(rt.block_on(drain(&c, &url)), ["{ this is not an event"]);
}

/// A customer policy whose default version was just made admin, and the EventBridge message of
/// that CreatePolicyVersion call: returns (policy ARN, message body).
fn admin_version_event(
    rt: &tokio::runtime::Runtime,
    iam: &aws_sdk_iam::Client,
) -> (String, String) {
    rt.block_on(seed_admin_version(iam, "deployer", "ev-admin-version"))
}

/// [`admin_version_event`] for a policy called `name`, its event's id `event_id`.
async fn seed_admin_version(
    iam: &aws_sdk_iam::Client,
    name: &str,
    event_id: &str,
) -> (String, String) {
    let (arn, record) = moto::admin_policy_version(iam, name, S3_READ, ADMIN, event_id).await;
    (arn, moto::eventbridge(&record).to_string())
}

/// The policy's default version id.
fn default_version(rt: &tokio::runtime::Runtime, iam: &aws_sdk_iam::Client, arn: &str) -> String {
    rt.block_on(async {
        iam.get_policy()
            .policy_arn(arn)
            .send()
            .await
            .unwrap()
            .policy
            .unwrap()
            .default_version_id
            .unwrap()
    })
}

#[test]
fn apply_reaches_the_planned_state_once_and_a_redelivered_event_is_not_applied_again() {
    let server = moto::MotoServer::start();
    let rt = rt();
    let iam = moto::iam_client(&server.endpoint(), SEED_KEY, "seed-secret");
    let c = sqs(&server.endpoint());
    let (arn, body) = admin_version_event(&rt, &iam);
    let url = rt.block_on(async {
        let url = queue(&c).await;
        put(&c, &url, &body).await;
        put(&c, &url, "[]").await;
        url
    });
    let dir = tempfile::tempdir().unwrap();
    let o = watch(&server, &url, dir.path(), &["--apply", "--auto-approve"]);
    let s = summary(&o);
    assert_eq!(
        (s["events"].as_u64(), s["applied"].as_u64()),
        (Some(1), Some(1)),
        "{}",
        text(&o)
    );
    assert_eq!(default_version(&rt, &iam, &arn), "v1");
    let journals = files(dir.path(), ".journal.jsonl");
    assert_eq!(journals.len(), 1, "{journals:?}");
    let journal = std::fs::read_to_string(&journals[0]).unwrap();
    assert_eq!(
        (
            journal.matches("\"record\":\"done\"").count(),
            journal.matches("\"record\":\"call\"").count()
        ),
        (1, 1),
        "{journal}"
    );
    assert_eq!(rt.block_on(drain(&c, &url)), ["[]"]);

    // Someone makes v2 the default again and the event is delivered again: not applied twice.
    rt.block_on(async {
        iam.set_default_policy_version()
            .policy_arn(&arn)
            .version_id("v2")
            .send()
            .await
            .unwrap();
        put(&c, &url, &body).await;
    });
    let o = watch(&server, &url, dir.path(), &["--apply", "--auto-approve"]);
    let s = summary(&o);
    assert_eq!(
        (s["duplicates"].as_u64(), s["applied"].as_u64()),
        (Some(1), Some(0)),
        "{}",
        text(&o)
    );
    assert_eq!(default_version(&rt, &iam, &arn), "v2");
    assert_eq!(files(dir.path(), ".journal.jsonl").len(), 1);
}

/// A watcher that dies after its apply and before its state and the queue record it leaves
/// what this test sets up after a clean run: the journal on disk, a state without the event,
/// the message on the queue again. The event is planned again and apply re-reads IAM first:
/// the fix is there, so no call is made twice.
#[test]
fn a_watcher_stopped_between_apply_and_state_save_does_not_apply_the_redelivered_event_twice() {
    let server = moto::MotoServer::start();
    let rt = rt();
    let iam = moto::iam_client(&server.endpoint(), SEED_KEY, "seed-secret");
    let c = sqs(&server.endpoint());
    let (arn, body) = admin_version_event(&rt, &iam);
    let url = rt.block_on(async {
        let url = queue(&c).await;
        put(&c, &url, &body).await;
        url
    });
    let dir = tempfile::tempdir().unwrap();
    let o = watch(&server, &url, dir.path(), &["--apply", "--auto-approve"]);
    assert_eq!(summary(&o)["applied"], 1, "{}", text(&o));
    assert_eq!(default_version(&rt, &iam, &arn), "v1", "the apply ran");
    let journals = files(dir.path(), ".journal.jsonl");
    assert_eq!(journals.len(), 1, "{journals:?}");
    let first = std::fs::read_to_string(&journals[0]).unwrap();
    assert_eq!(first.matches("\"record\":\"call\"").count(), 1, "{first}");

    // The crash: the state never recorded the event, and the message was never deleted.
    std::fs::remove_file(dir.path().join("state.json")).unwrap();
    rt.block_on(put(&c, &url, &body));
    let o = watch(&server, &url, dir.path(), &["--apply", "--auto-approve"]);
    let s = summary(&o);
    // Judged again: the event still says v2 became the default, so the plan proposes the fix
    // again; apply's check re-reads the policy, finds v1 the default and calls nothing.
    assert_eq!(
        (
            s["events"].as_u64(),
            s["duplicates"].as_u64(),
            s["applied"].as_u64(),
            s["already_applied"].as_u64()
        ),
        (Some(1), Some(0), Some(0), Some(1)),
        "{}",
        text(&o)
    );
    let line = lines(&o)
        .into_iter()
        .find(|l| l["id"] == "ev-admin-version")
        .unwrap();
    assert_eq!(line["outcome"], "already applied", "{line}");
    assert_eq!(default_version(&rt, &iam, &arn), "v1");
    assert_eq!(std::fs::read_to_string(&journals[0]).unwrap(), first);
    let all = files(dir.path(), ".journal.jsonl");
    let second = std::fs::read_to_string(all.iter().find(|j| **j != journals[0]).unwrap()).unwrap();
    assert_eq!(
        second.matches("\"record\":\"call\"").count(),
        0,
        "no mutating call the second time: {second}"
    );
    assert!(second.contains("already_applied"), "{second}");
    assert!(
        rt.block_on(drain(&c, &url)).is_empty(),
        "the message is deleted now"
    );
}

/// A state file that cannot be written stops `watch` before it receives anything, not after a
/// batch it cannot record.
#[test]
fn an_unwritable_state_path_fails_before_the_first_poll() {
    let server = moto::MotoServer::start();
    let rt = rt();
    let c = sqs(&server.endpoint());
    let url = rt.block_on(async {
        let url = queue(&c).await;
        put(&c, &url, &create_policy("ev-one", "one")).await;
        url
    });
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("no-such-dir/state.json");
    let o = iamwarden(&server)
        .args([
            "watch",
            "--queue-url",
            &url,
            "--until-empty",
            "--wait-seconds",
            "1",
        ])
        .arg("--out-dir")
        .arg(dir.path())
        .arg("--state")
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("cannot write the watch state to") && text(&o).contains("no-such-dir"),
        "{}",
        text(&o)
    );
    assert!(
        files(dir.path(), ".plan.json").is_empty(),
        "nothing was planned"
    );
    assert_eq!(rt.block_on(drain(&c, &url)).len(), 1, "the message stays");
}

fn sns(endpoint: &str) -> aws_sdk_sns::Client {
    let creds = aws_sdk_sns::config::Credentials::new(SEED_KEY, "seed-secret", None, None, "test");
    let conf = aws_sdk_sns::Config::builder()
        .behavior_version(aws_sdk_sns::config::BehaviorVersion::latest())
        .region(aws_sdk_sns::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(creds)
        .build();
    aws_sdk_sns::Client::from_conf(conf)
}

/// A queue subscribed to a new topic (SNS's envelope kept unless `raw`); returns (topic ARN,
/// queue URL).
async fn subscribed_queue(
    sqs: &aws_sdk_sqs::Client,
    sns: &aws_sdk_sns::Client,
    name: &str,
    raw: bool,
) -> (String, String) {
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let queue_arn = attrs
        .attributes
        .unwrap()
        .get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .unwrap()
        .clone();
    let topic = sns
        .create_topic()
        .name(format!("{name}-topic"))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let mut sub = sns
        .subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(queue_arn);
    if raw {
        sub = sub.attributes("RawMessageDelivery", "true");
    }
    sub.send().await.unwrap();
    (topic, url)
}

/// Issue 16's SNS parts: events that reach the queue through an SNS topic (SNS's envelope
/// around EventBridge's) are planned like direct ones, and `--notify-topic` publishes one
/// summary per planned batch, with the counts and the changes and no secret.
#[test]
fn sns_delivered_events_are_planned_and_each_batch_summary_is_published() {
    let server = moto::MotoServer::start();
    let rt = rt();
    let q = sqs(&server.endpoint());
    let n = sns(&server.endpoint());
    let (events_topic, events_url, notes_topic, notes_url) = rt.block_on(async {
        let (events_topic, events_url) = subscribed_queue(&q, &n, "iam-events", false).await;
        let (notes_topic, notes_url) = subscribed_queue(&q, &n, "notes", true).await;
        (events_topic, events_url, notes_topic, notes_url)
    });
    rt.block_on(async {
        n.publish()
            .topic_arn(&events_topic)
            .message(create_policy("ev-via-sns", "ci-deployer"))
            .send()
            .await
            .unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    let snapshot = root().join("examples/demo-account.json");
    let o = watch(
        &server,
        &events_url,
        dir.path(),
        &[
            "--snapshot",
            snapshot.to_str().unwrap(),
            "--now",
            NOW,
            "--notify-topic",
            &notes_topic,
        ],
    );
    let s = summary(&o);
    assert_eq!(s["events"], 1, "{}", text(&o));
    assert_eq!(s["malformed"], 0, "the SNS envelope is read: {}", text(&o));
    assert_eq!(s["deleted"], 1, "{}", text(&o));
    assert_eq!(s["notified"], 1, "{}", text(&o));
    assert_eq!(s["notify_failures"], 0, "{}", text(&o));
    let notes = rt.block_on(drain(&q, &notes_url));
    assert_eq!(notes.len(), 1, "{notes:?}");
    let note: Value = serde_json::from_str(&notes[0]).unwrap();
    assert_eq!(note["account"], "123456789012", "{note}");
    assert_eq!(note["findings"], 1, "{note}");
    assert_eq!(note["by_severity"]["critical"], 1, "{note}");
    assert_eq!(note["outcome"], "reported", "{note}");
    let plan = PathBuf::from(note["plan"].as_str().unwrap());
    assert!(plan.exists(), "{note}");
    assert!(!notes[0].contains("seed-secret"));
    assert!(
        !notes[0].contains("\"Statement\""),
        "no policy document in a notification: {note}"
    );
    assert!(rt.block_on(drain(&q, &events_url)).is_empty());
}

/// The Lambda handler against a local Runtime API: a direct EventBridge invocation answers
/// with the batch's counts, the same event again is a duplicate, an SQS batch reports its
/// malformed message in `batchItemFailures` (left for redrive, as watch leaves it), an
/// unreadable direct event is an invocation error; plans and the seen state are on disk.
#[test]
fn lambda_handler_answers_eventbridge_and_sqs_invocations_on_the_watch_path() {
    let sqs_payload = json!({"Records": [
        {"eventSource": "aws:sqs", "messageId": "m-good", "receiptHandle": "r1",
         "body": create_policy("ev-l2", "lambda-two")},
        {"eventSource": "aws:sqs", "messageId": "m-bad", "receiptHandle": "r2",
         "body": "{ not an event"},
    ]});
    let api = lambda_api::RuntimeApi::start(vec![
        create_policy("ev-l1", "lambda-one"),
        create_policy("ev-l1", "lambda-one"),
        sqs_payload.to_string(),
        r#"{"hello": "world"}"#.to_string(),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let snapshot = root().join("examples/demo-account.json");
    let lambda = |env: &[(&str, &str)]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_iamwarden"));
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_ACCESS_KEY_ID", SEED_KEY)
            .env("AWS_SECRET_ACCESS_KEY", "seed-secret")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .args(["lambda", "--now", NOW, "--out-dir"])
            .arg(dir.path())
            .arg("--snapshot")
            .arg(&snapshot);
        c
    };
    // Outside Lambda: a clear error, no panic.
    let o = lambda(&[]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("runs inside AWS Lambda"),
        "{}",
        text(&o)
    );
    let address = api.address();
    let mut child = lambda(&[
        ("AWS_LAMBDA_RUNTIME_API", address.as_str()),
        ("AWS_LAMBDA_FUNCTION_NAME", "iamwarden"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"),
    ])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let (responses, errors, init) = api.wait_for(4, std::time::Duration::from_secs(120));
    child.kill().unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(init.is_empty(), "init error: {init:?}\n{}", text(&o));
    assert!(!text(&o).contains("seed-secret"));
    let answer = |id: &str| -> Value {
        let body = &responses
            .iter()
            .find(|(r, _)| r == id)
            .unwrap_or_else(|| {
                panic!(
                    "no response to {id}: {responses:?} {errors:?}\n{}",
                    text(&o)
                )
            })
            .1;
        serde_json::from_str(body).unwrap()
    };
    assert_eq!(answer("req-1")["events"], 1, "{}", text(&o));
    assert_eq!(
        (
            answer("req-2")["events"].as_u64(),
            answer("req-2")["duplicates"].as_u64()
        ),
        (Some(0), Some(1))
    );
    assert_eq!(
        answer("req-3"),
        json!({"batchItemFailures": [{"itemIdentifier": "m-bad"}]})
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "req-4");
    assert!(
        errors[0].1.contains("not a CloudTrail IAM event"),
        "{errors:?}"
    );
    // Two batches planned (the duplicate and the error plan nothing), the state kept.
    assert_eq!(files(dir.path(), ".plan.json").len(), 2);
    let state = std::fs::read_to_string(dir.path().join("state.json")).unwrap();
    assert!(
        state.contains("ev-l1") && state.contains("ev-l2"),
        "{state}"
    );
}

/// The Lambda zip's entry point (examples/deploy/lambda-bootstrap) starts the handler from
/// LAMBDA_TASK_ROOT with the flags the template sets in IAMWARDEN_FLAGS, writing to
/// IAMWARDEN_OUT_DIR.
#[test]
fn the_lambda_bootstrap_starts_the_handler_with_the_template_s_flags() {
    let api = lambda_api::RuntimeApi::start(vec![create_policy("ev-boot", "boot-one")]);
    let task_root = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("examples/deploy/lambda-bootstrap"),
        task_root.path().join("bootstrap"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_iamwarden"),
        task_root.path().join("iamwarden"),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let snapshot = root().join("examples/demo-account.json");
    let flags = format!("--snapshot {} --now {NOW}", snapshot.display());
    assert!(
        !snapshot.display().to_string().contains(' '),
        "the flags split on spaces"
    );
    let address = api.address();
    let mut child = Command::new("/bin/sh")
        .arg(task_root.path().join("bootstrap"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", SEED_KEY)
        .env("AWS_SECRET_ACCESS_KEY", "seed-secret")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("LAMBDA_TASK_ROOT", task_root.path())
        .env("IAMWARDEN_OUT_DIR", out.path())
        .env("IAMWARDEN_FLAGS", &flags)
        .env("AWS_LAMBDA_RUNTIME_API", &address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "iamwarden")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (responses, errors, init) = api.wait_for(1, std::time::Duration::from_secs(120));
    child.kill().unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(
        init.is_empty() && errors.is_empty(),
        "{init:?} {errors:?}\n{}",
        text(&o)
    );
    let answer: Value = serde_json::from_str(&responses[0].1).unwrap();
    assert_eq!(answer["events"], 1, "{answer}\n{}", text(&o));
    assert_eq!(
        files(out.path(), ".plan.json").len(),
        1,
        "the plan is in IAMWARDEN_OUT_DIR"
    );
}

/// A long poll waits as long as it was told to: an attempt timeout no longer than the wait
/// (20 s both by default) no longer cuts SQS's empty answer off (which retried the poll and
/// lost what it held for a visibility timeout); the poll gets its wait plus a margin.
#[test]
fn a_long_poll_is_not_cut_off_by_an_attempt_timeout_as_long_as_its_wait() {
    let server = moto::MotoServer::start();
    let rt = rt();
    let c = sqs(&server.endpoint());
    let url = rt.block_on(queue(&c));
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let o = iamwarden(&server)
        .env("IAMWARDEN_ATTEMPT_TIMEOUT", "2s")
        .args([
            "watch",
            "--queue-url",
            &url,
            "--until-empty",
            "--wait-seconds",
            "3",
        ])
        .arg("--out-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(summary(&o)["batches"], 0, "{}", text(&o));
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(3),
        "the poll waited its 3 s"
    );
}

/// Issue 13: `watch --apply` reads and applies every batch through the one session it opened
/// (one HTTP client for the queue and IAM, kept for the whole run). 12 admin-version events
/// come in two batches or more (SQS hands out at most 10 a receive); through a keep-alive
/// relay, one call at a time, the whole run (the polls, each batch's read and apply, the
/// deletes: 115 requests) goes over one connection, open until the watcher exits, whatever
/// the number of batches. A session per batch (as before) opened two more per batch (5 for
/// 2 batches) and closed them when the batch was done.
#[test]
fn watch_reuses_its_connections_batch_after_batch() {
    let server = moto::MotoServer::start();
    let rt = rt();
    let iam = moto::iam_client(&server.endpoint(), SEED_KEY, "seed-secret");
    let c = sqs(&server.endpoint());
    let url = rt.block_on(async {
        let url = queue(&c).await;
        for i in 0..12 {
            let (_, body) = seed_admin_version(
                &iam,
                &format!("deployer-{i:02}"),
                &format!("ev-admin-version-{i:02}"),
            )
            .await;
            put(&c, &url, &body).await;
        }
        url
    });
    let relay = keepalive::KeepAlive::start(server.port());
    let dir = tempfile::tempdir().unwrap();
    let o = watch(
        &server,
        &url,
        dir.path(),
        &[
            "--apply",
            "--auto-approve",
            "--concurrency",
            "1",
            "--endpoint-url",
            &relay.endpoint(),
        ],
    );
    let s = summary(&o);
    assert_eq!(s["applied"], 12, "{}", text(&o));
    let batches = s["batches"].as_u64().unwrap();
    assert!(batches >= 2, "{batches} batches: {}", text(&o));
    let (requests, connections) = (relay.requests(), relay.connections());
    let dropped = relay.ended_early();
    eprintln!(
        "watch: {batches} batches, {requests} requests, {connections} connections, {dropped} dropped before the end"
    );
    assert!(requests > 12 * 3, "{requests} requests");
    // One call at a time needs one connection; a second can open when a call starts before
    // the previous answer's connection is back in the pool.
    assert!(
        connections <= 2,
        "{connections} connections for {requests} requests one at a time over {batches} batches"
    );
    assert_eq!(
        dropped, 0,
        "a connection was closed before the run's last request: a batch had a client of its own"
    );
}
