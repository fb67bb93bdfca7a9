//! API budget of the live reader against a moto IAM server (run with `cargo bench --bench
//! live_budget`; needs ./scripts/moto-venv). Seeds accounts of 1,000 and 10,000 users (about
//! 40% with console passwords, 0-2 keys each, groups, roles, customer policies; sizes from
//! `IAMWARDEN_BENCH_USERS`, e.g. `100,1000`), then reads each with every built-in rule
//! planned, and prints the API calls per operation, the requests, the wall time and the TCP
//! connections the reader opened.
//!
//! The reader's client is built as the product builds it ([`iamwarden_aws::live::client`]:
//! the shared HTTP client of `live::settings`), pointed at the keep-alive relay of
//! `iamwarden_test_support::keepalive` in front of moto, so `connections` is what the product opened,
//! not what the seeding client did. moto (werkzeug) answers every request with
//! `Connection: close`; the relay keeps the client's connections open as AWS does, so the
//! figure shows whether the client pools (issue 13): about as many connections as calls in
//! flight, not one per request.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_test_support::{keepalive, moto};

use aws_sdk_iam::Client;
use std::time::Instant;

fn client(endpoint: &str) -> Client {
    moto::iam_client(endpoint, "AKIAIOSFODNN7EXAMPLE", "bench")
}

const DOC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"*"}]}"#;
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

async fn seed(c: &Client, users: usize) -> usize {
    let groups = (users / 50).max(3);
    for g in 0..groups {
        c.create_group()
            .group_name(format!("g{g}"))
            .send()
            .await
            .unwrap();
    }
    for p in 0..(users / 50).max(3) {
        c.create_policy()
            .policy_name(format!("p{p}"))
            .policy_document(DOC)
            .send()
            .await
            .unwrap();
    }
    for r in 0..(users / 10).max(1) {
        c.create_role()
            .role_name(format!("r{r}"))
            .assume_role_policy_document(TRUST)
            .send()
            .await
            .unwrap();
    }
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(8));
    let mut set = tokio::task::JoinSet::new();
    for u in 0..users {
        let c = c.clone();
        let sem = sem.clone();
        set.spawn(async move {
            let _p = sem.acquire_owned().await;
            let name = format!("user{u:05}");
            c.create_user().user_name(&name).send().await.unwrap();
            let mut calls = 1;
            if u % 5 < 2 {
                c.create_login_profile()
                    .user_name(&name)
                    .password("Bench-Passw0rd!")
                    .send()
                    .await
                    .unwrap();
                calls += 1;
            }
            for _ in 0..(u % 3) {
                c.create_access_key().user_name(&name).send().await.unwrap();
                calls += 1;
            }
            c.add_user_to_group()
                .user_name(&name)
                .group_name(format!("g{}", u % groups))
                .send()
                .await
                .unwrap();
            calls + 1
        });
    }
    let mut calls = 0;
    while let Some(r) = set.join_next().await {
        calls += r.unwrap();
    }
    calls
}

#[tokio::main]
async fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let sizes: Vec<usize> = std::env::var("IAMWARDEN_BENCH_USERS")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| if bench { vec![1_000, 10_000] } else { vec![20] });
    // The product's credential chain reads these (and no profile files).
    for (k, v) in [
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_CONFIG_FILE", "/nonexistent/iamwarden-bench"),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/iamwarden-bench",
        ),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ] {
        std::env::set_var(k, v);
    }
    let rules = iamwarden_core::packs::load_rule_set(&[]).unwrap();
    for users in sizes {
        let server = moto::MotoServer::start();
        let c = client(&server.endpoint());
        let t = Instant::now();
        let seeded = seed(&c, users).await;
        eprintln!(
            "seeded {users} users with {seeded} calls in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let relay = keepalive::KeepAlive::start(server.port());
        let t = Instant::now();
        let opts = iamwarden_aws::live::LiveOptions {
            concurrency: 8,
            endpoint_url: Some(relay.endpoint()),
            ..Default::default()
        };
        let reader = iamwarden_aws::live::client(&opts).await.unwrap();
        let (inv, stats) = iamwarden_aws::live::read(&reader, &opts).await.unwrap();
        let now = chrono::Utc::now();
        let plan = iamwarden_core::pipeline::make_plan(&rules, &inv, now, now);
        let wall = t.elapsed();
        let keys = inv.access_keys.len();
        let holders = inv
            .users
            .iter()
            .filter(|u| !u.access_key_ids.is_empty())
            .count();
        let opened = relay.connections();
        let requests = relay.requests();
        println!(
            "users={users} keys={keys} key_holders={holders} api_calls={} requests={requests} connections={opened} read_s={:.2} read_and_plan_s={:.2} findings={} actions={}",
            stats.total(),
            stats.elapsed.as_secs_f64(),
            wall.as_secs_f64(),
            plan.findings.len(),
            plan.actions.len()
        );
        // One JSON line per size, for scripts/perf-table.
        println!(
            "{{\"bench\": \"live_budget\", \"users\": {users}, \"api_calls\": {}, \"requests\": {requests}, \"connections\": {opened}, \"read_s\": {:.2}, \"read_and_plan_s\": {:.2}, \"relay\": \"keep-alive\"}}",
            stats.total(),
            stats.elapsed.as_secs_f64(),
            wall.as_secs_f64(),
        );
        // The relay keeps connections open, so a client that pools opens about as many as it
        // has calls in flight (8), whatever the number of requests (issue 13).
        assert!(
            requests >= stats.total() && opened <= 8 + 4,
            "{opened} connections for {requests} requests ({} calls) with 8 in flight",
            stats.total()
        );
        for (op, n) in &stats.calls {
            println!("  {op:<32} {n}");
        }
    }
}
