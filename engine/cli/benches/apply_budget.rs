//! Apply throughput and API budget against a moto IAM server (run with `cargo bench --bench
//! apply_budget`; needs ./scripts/moto-venv). Seeds 500 users with one access key each, plans
//! the deactivation of every key, and applies it with concurrency 1 and 8; prints the wall
//! time, actions per second, the requests per action the server saw (reads for the
//! precondition, the change itself), and the journal's size. Then times the journal's fsynced
//! append alone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_test_support::moto;

use iamwarden_aws::live::{read, LiveOptions};
use iamwarden_core::apply::{self, journal, Caller};
use std::sync::Arc;
use std::time::Instant;

const USERS: usize = 500;

async fn seed(c: &aws_sdk_iam::Client) {
    let sem = Arc::new(tokio::sync::Semaphore::new(8));
    let mut set = tokio::task::JoinSet::new();
    for u in 0..USERS {
        let c = c.clone();
        let sem = sem.clone();
        set.spawn(async move {
            let _p = sem.acquire_owned().await.unwrap();
            let name = format!("bulk-{u:04}");
            c.create_user().user_name(&name).send().await.unwrap();
            c.create_access_key().user_name(&name).send().await.unwrap();
        });
    }
    while set.join_next().await.is_some() {}
}

#[tokio::main]
async fn main() {
    let server = moto::MotoServer::start();
    let endpoint = server.endpoint();
    let c = moto::iam_client(&endpoint, "AKIAIOSFODNN7EXAMPLE", "bench");
    let rules = iamwarden_core::packs::load_rule_set(&[concat!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/.."),
        "/../tests/fixtures/apply/bulk.yaml"
    )
    .to_string()])
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    println!("apply of {USERS} deactivate_access_key actions against moto 5.2.5:");
    for concurrency in [1, 8] {
        server.reset();
        seed(&c).await;
        let opts = LiveOptions {
            concurrency: 8,
            ..LiveOptions::default()
        };
        let (inv, _) = read(&c, &opts).await.unwrap();
        let now = chrono::Utc::now();
        let plan = iamwarden_core::pipeline::make_plan(&rules, &inv, now, now);
        assert_eq!(plan.actions.len(), USERS);
        let path = dir.path().join(format!("journal-{concurrency}.jsonl"));
        let j = Arc::new(journal::Journal::open(&path).unwrap());
        let aws = iamwarden_aws::iam::executor(c.clone(), j, journal::Mode::Apply);
        let caller = Caller {
            arn: "arn:aws:iam::123456789012:user/bench".into(),
            account_id: "123456789012".into(),
            access_key_id: Some("AKIAIOSFODNN7EXAMPLE".into()),
        };
        let o = apply::Options {
            allow_destructive: false,
            max_actions: None,
            max_plan_age: chrono::Duration::hours(1),
            concurrency,
            plan_file: "bench".into(),
        };
        server.clear_requests();
        let started = Instant::now();
        let report = apply::run(&plan, &o, &aws, &caller, &journal::History::default(), None)
            .await
            .unwrap();
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(report.summary.applied, USERS, "{:?}", report.summary);
        let requests = server.requests();
        let changes = requests
            .iter()
            .filter(|r| r["action"] == "UpdateAccessKey")
            .count();
        let bytes = std::fs::metadata(&path).unwrap().len();
        println!(
            "  concurrency {concurrency}: {secs:.2} s, {:.0} actions/s, {:.2} requests per action ({} changes), journal {:.0} bytes per action",
            USERS as f64 / secs,
            requests.len() as f64 / USERS as f64,
            changes,
            bytes as f64 / USERS as f64
        );
    }

    // The journal alone: one fsynced append per record.
    let path = dir.path().join("append.jsonl");
    let j = journal::Journal::open(&path).unwrap();
    let record = journal::Record::Call {
        action: "act-000000000000".into(),
        mode: journal::Mode::Apply,
        call: "UpdateAccessKey".into(),
        request: serde_json::json!({"UserName": "bulk-0001", "AccessKeyId": "AKIAEXAMPLE0000000001", "Status": "Inactive"}),
        at: chrono::Utc::now(),
    };
    let n = 2000;
    let started = Instant::now();
    for _ in 0..n {
        j.append(&record).unwrap();
    }
    let per = started.elapsed().as_secs_f64() / f64::from(n) * 1e6;
    println!("journal append + fsync: {per:.0} µs per record ({n} records)");
}
