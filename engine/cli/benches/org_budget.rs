//! `iamwarden org plan`'s budget against one moto server (issue 15; run with `cargo bench
//! --bench org_budget -- --bench`; needs ./scripts/moto-venv). Seeds an organization of
//! 50 accounts x 200 users and one of 200 accounts x 50 users (every user has exactly one
//! access key, never used, and nothing else: no password, group, policy or MFA, so seeding
//! stays at two calls a user), then runs the real binary at 1, 4 and 16 accounts in flight and
//! prints per run: the wall time, the API calls per account (counted by the server's request
//! log, so independent of what iamwarden says of itself), the child's peak RSS (GNU time's
//! `%M`, else the child's `VmHWM` polled from /proc), and checks that every account planned.
//! From the two shapes it fits calls per account = fixed + per-user x users and projects an
//! organization of 1,000 accounts x 1,000 users at IAM's rate limit (see [`IAM_RATE`]).
//!
//! Without `--bench` (as `cargo test --all-targets` runs it) it seeds 3 accounts x 5 users and
//! runs the same checks at the three concurrencies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_test_support::{moto, runtime as rt};

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// moto's management (caller) account, left out of the plans with `--exclude`.
const MANAGEMENT: &str = "123456789012";
const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "bench-secret";
/// Every seeded key is old and never used at this clock, so each user has findings.
const NOW: &str = "2030-01-01";
/// Accounts in flight (`--concurrency`).
const IN_FLIGHT: [usize; 3] = [1, 4, 16];

/// The IAM request rate assumed for one account in the projection, in requests per second.
///
/// AWS publishes no number for IAM's API rate. What it documents: IAM and STS throttle each
/// account with token buckets whose size and refill "depend on the API" (AWS Security Blog,
/// "How to monitor and query IAM resources at scale – Part 2",
/// <https://aws.amazon.com/blogs/security/how-to-monitor-and-query-iam-resources-at-scale-part-2/>),
/// and the limit is per account and cannot be increased (AWS Knowledge Center, "How do I
/// resolve API throttling or 'Rate exceeded' errors for IAM and AWS STS?",
/// <https://repost.aws/knowledge-center/iam-sts-throttling-error>). So the budget assumes a
/// conservative sustained 10 requests/s per member account for the read APIs we call (a
/// figure seen in practice, not a documented one), and prints 20/s beside it. Each member
/// account has its own bucket, so accounts in flight do not share it; only the caller's STS
/// AssumeRole (one per account) and Organizations ListAccounts run in the management account.
const IAM_RATE: f64 = 10.0;
const IAM_RATE_HIGH: f64 = 20.0;

fn caller_config(endpoint: &str) -> aws_config::SdkConfig {
    moto::sdk_config(endpoint, KEY, SECRET)
}

/// Creates the organization and `accounts` member accounts of `users` users each (one access
/// key per user), eight calls in flight. Returns the member ids and the calls made.
async fn seed(endpoint: &str, accounts: usize, users: usize) -> (Vec<String>, usize) {
    let org = aws_sdk_organizations::Client::new(&caller_config(endpoint));
    org.create_organization().send().await.unwrap();
    let mut ids = Vec::new();
    for a in 0..accounts {
        let id = moto::create_account(&org, &format!("acct-{a:04}")).await;
        ids.push(id);
    }
    let sem = Arc::new(tokio::sync::Semaphore::new(8));
    let mut set = tokio::task::JoinSet::new();
    for (a, id) in ids.iter().enumerate() {
        let iam = moto::iam_in(endpoint, &caller_config(endpoint), id).await;
        for u in 0..users {
            let (iam, sem) = (iam.clone(), sem.clone());
            set.spawn(async move {
                let _p = sem.acquire_owned().await;
                let name = format!("a{a:04}-user-{u:04}");
                iam.create_user().user_name(&name).send().await.unwrap();
                iam.create_access_key()
                    .user_name(&name)
                    .send()
                    .await
                    .unwrap();
            });
        }
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    (ids, 1 + 2 * accounts + 2 * accounts * users)
}

/// One `org plan` run's figures.
struct Run {
    accounts: usize,
    users: usize,
    in_flight: usize,
    wall: Duration,
    /// IAM calls the server answered, divided by the accounts.
    calls_per_account: f64,
    /// STS and Organizations calls (the caller's side).
    caller_calls: usize,
    peak_rss_kb: u64,
    cpu_s: f64,
    by_action: BTreeMap<String, usize>,
}

/// The peak RSS (KiB) of a child polled from /proc: `VmHWM` is a high-water mark, so the last
/// value read before it exits is its peak up to then.
fn poll_hwm(child: &mut std::process::Child) -> (std::process::ExitStatus, u64) {
    let path = format!("/proc/{}/status", child.id());
    let mut hwm = 0;
    loop {
        if let Ok(text) = std::fs::read_to_string(&path) {
            for line in text.lines() {
                if let Some(v) = line.strip_prefix("VmHWM:") {
                    let kb = v.trim().trim_end_matches("kB").trim();
                    hwm = hwm.max(kb.parse().unwrap_or(0));
                }
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            return (status, hwm);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One `org plan` of the organization on `server`; `ids` are the accounts it must plan (all
/// members, or with `only` those named by `--include id:...`).
fn plan_once(
    server: &moto::MotoServer,
    ids: &[String],
    only: bool,
    users: usize,
    in_flight: usize,
    out: &Path,
) -> Run {
    let gnu_time = Path::new("/usr/bin/time");
    let rusage = out.with_extension("time");
    let bin = env!("CARGO_BIN_EXE_iamwarden");
    let concurrency = in_flight.to_string();
    let endpoint = server.endpoint();
    let mut args: Vec<String> = [
        "org",
        "plan",
        "--role-name",
        "OrganizationAccountAccessRole",
        "--out",
        out.to_str().unwrap(),
        "--endpoint-url",
        &endpoint,
        "--exclude",
        &format!("id:{MANAGEMENT}"),
        "--concurrency",
        &concurrency,
        "--now",
        NOW,
        "--quiet",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    if only {
        for id in ids {
            args.push("--include".into());
            args.push(format!("id:{id}"));
        }
    }
    let mut cmd = if gnu_time.exists() {
        let mut c = Command::new(gnu_time);
        c.arg("-f").arg("%M %U %S").arg("-o").arg(&rusage).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    cmd.args(args)
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("IAMWARDEN_SHARD_INDEX")
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("AWS_BATCH_JOB_ARRAY_INDEX")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    server.clear_requests();
    let t = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let drain = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let (status, polled) = if gnu_time.exists() {
        (child.wait().unwrap(), 0)
    } else {
        poll_hwm(&mut child)
    };
    let wall = t.elapsed();
    let stderr = drain.join().unwrap();
    assert!(status.success(), "org plan failed: {status}\n{stderr}");
    assert!(!stderr.contains(SECRET), "no secret on stderr");
    let (peak_rss_kb, cpu_s) = if gnu_time.exists() {
        let text = std::fs::read_to_string(&rusage).unwrap();
        let f: Vec<&str> = text.split_whitespace().collect();
        assert!(f.len() >= 3, "GNU time wrote {text:?}");
        let cpu = f[1].parse::<f64>().unwrap() + f[2].parse::<f64>().unwrap();
        (f[0].parse().unwrap(), cpu)
    } else {
        (polled, f64::NAN)
    };

    // Every account planned, none failed, each with its plan.
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(
        report["totals"]["planned"].as_u64(),
        Some(ids.len() as u64),
        "{}",
        report["totals"]
    );
    assert_eq!(report["totals"]["failed"].as_u64(), Some(0));
    for id in ids {
        assert!(out.join(id).join("plan.json").is_file(), "{id} has a plan");
    }

    let mut by_action = BTreeMap::new();
    for r in server.requests() {
        // NoSuchEntity for the password policy none of the accounts has; nothing else fails.
        let expected =
            r["status"] == 200 || (r["action"] == "GetAccountPasswordPolicy" && r["status"] == 404);
        assert!(expected, "{r}");
        *by_action
            .entry(r["action"].as_str().unwrap_or("?").to_string())
            .or_insert(0) += 1;
    }
    let caller_actions = [
        "AssumeRole",
        "ListAccounts",
        "DescribeOrganization",
        "ListParents",
    ];
    let caller_calls: usize = by_action
        .iter()
        .filter(|(a, _)| caller_actions.contains(&a.as_str()) || a.starts_with("ListTags"))
        .map(|(_, n)| n)
        .sum();
    let total: usize = by_action.values().sum();
    assert_eq!(
        by_action.get("AssumeRole"),
        Some(&ids.len()),
        "one AssumeRole per account"
    );
    // The per-user budget: one ListAccessKeys per key holder, nothing else per user.
    assert_eq!(
        by_action.get("ListAccessKeys"),
        Some(&(ids.len() * users)),
        "{by_action:?}"
    );
    Run {
        accounts: ids.len(),
        users,
        in_flight,
        wall,
        calls_per_account: (total - caller_calls) as f64 / ids.len() as f64,
        caller_calls,
        peak_rss_kb,
        cpu_s,
        by_action,
    }
}

fn hms(secs: f64) -> String {
    let s = secs.round() as u64;
    format!("{}h{:02}m{:02}s", s / 3600, (s / 60) % 60, s % 60)
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let shapes: &[(usize, usize)] = if bench {
        &[(50, 200), (200, 50)]
    } else {
        &[(3, 5)]
    };
    let mut runs = Vec::new();
    let mut notes = Vec::new();
    for (si, &(accounts, users)) in shapes.iter().enumerate() {
        let server = moto::MotoServer::start();
        let t = Instant::now();
        let (ids, seeded) = rt().block_on(seed(&server.endpoint(), accounts, users));
        eprintln!(
            "seeded {accounts} accounts x {users} users (one key each) with {seeded} calls in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        for in_flight in IN_FLIGHT {
            let dir = tempfile::tempdir().unwrap();
            let run = plan_once(
                &server,
                &ids,
                false,
                users,
                in_flight,
                &dir.path().join("out"),
            );
            eprintln!(
                "  {accounts}x{users} in_flight={in_flight}: {:.1} s, {:.1} calls/account, {:.1} MB",
                run.wall.as_secs_f64(),
                run.calls_per_account,
                run.peak_rss_kb as f64 / 1024.0
            );
            runs.push(run);
        }
        // Memory against the number of accounts alone: the same accounts' size, a quarter of
        // them (`--include`), at the most accounts in flight.
        if si + 1 == shapes.len() {
            let k = *IN_FLIGHT.last().unwrap();
            let dir = tempfile::tempdir().unwrap();
            let quarter = &ids[..(accounts / 4).max(1)];
            let part = plan_once(&server, quarter, true, users, k, &dir.path().join("out"));
            let whole = runs.last().unwrap();
            notes.push(format!(
                "peak RSS at {k} in flight, {users} users per account: {:.1} MB with {} accounts, {:.1} MB with {} accounts",
                part.peak_rss_kb as f64 / 1024.0,
                part.accounts,
                whole.peak_rss_kb as f64 / 1024.0,
                whole.accounts
            ));
            assert!(
                whole.peak_rss_kb as f64 <= part.peak_rss_kb as f64 * 1.2,
                "peak memory grows with the number of accounts"
            );
        }
    }

    println!("accounts x users | in flight | wall s | calls/account | caller calls | peak RSS MB | CPU s");
    for r in &runs {
        println!(
            "{:>5} x {:<5}    | {:>9} | {:>6.1} | {:>13.1} | {:>12} | {:>11.1} | {:>5.1}",
            r.accounts,
            r.users,
            r.in_flight,
            r.wall.as_secs_f64(),
            r.calls_per_account,
            r.caller_calls,
            r.peak_rss_kb as f64 / 1024.0,
            r.cpu_s
        );
    }
    for n in &notes {
        println!("{n}");
    }
    if let Some(r) = runs.first() {
        println!(
            "calls by action ({} x {}, in flight {}):",
            r.accounts, r.users, r.in_flight
        );
        for (a, n) in &r.by_action {
            println!("  {a:<32} {n}");
        }
    }
    // Calls per account do not depend on the accounts in flight, except that the first run on
    // a server generates the credential report (GenerateCredentialReport answers STARTED, then
    // COMPLETE) and later runs find it fresh (one call): at most one call an account apart.
    // The fit below takes each shape's first run, the cold case.
    for shape in runs.chunks(IN_FLIGHT.len()) {
        let c = shape[0].calls_per_account;
        assert!(
            shape.iter().all(|r| (r.calls_per_account - c).abs() <= 1.0),
            "calls per account do not depend on the accounts in flight"
        );
    }
    if runs.len() < 2 * IN_FLIGHT.len() {
        return;
    }
    let (a, b) = (&runs[0], &runs[IN_FLIGHT.len()]);
    let per_user = (a.calls_per_account - b.calls_per_account) / (a.users as f64 - b.users as f64);
    let fixed = a.calls_per_account - per_user * a.users as f64;
    // Memory against accounts: the same users in total, 4x the accounts, same in flight.
    for (i, k) in IN_FLIGHT.iter().enumerate() {
        let (m1, m2) = (runs[i].peak_rss_kb, runs[IN_FLIGHT.len() + i].peak_rss_kb);
        println!(
            "peak RSS at {k} in flight: {:.1} MB with {} accounts, {:.1} MB with {} accounts ({:+.0}%)",
            m1 as f64 / 1024.0,
            runs[i].accounts,
            m2 as f64 / 1024.0,
            runs[IN_FLIGHT.len() + i].accounts,
            (m2 as f64 / m1 as f64 - 1.0) * 100.0
        );
    }
    let cpu_per_user = runs
        .iter()
        .map(|r| r.cpu_s / (r.accounts * r.users) as f64)
        .fold(f64::NAN, f64::max);
    let (accounts, users) = (1_000.0_f64, 1_000.0_f64);
    let calls = fixed + per_user * users;
    println!(
        "fit: calls/account = {fixed:.1} + {per_user:.3} x users; at {users} users: {calls:.0} calls/account"
    );
    println!(
        "projection, {accounts} accounts x {users} users ({:.0} IAM calls, {:.1} CPU s here at {:.2} ms/user):",
        calls * accounts,
        cpu_per_user * accounts * users,
        cpu_per_user * 1e3
    );
    for rate in [IAM_RATE, IAM_RATE_HIGH] {
        let per_account = calls / rate;
        for shards in [1.0_f64, 4.0, 16.0] {
            let waves = (accounts / (16.0 * shards)).ceil();
            let cpu_floor = cpu_per_user * users * accounts / shards / 2.0;
            println!(
                "  {rate:>4} req/s per account, 16 in flight, {shards:>2} shard(s): {} (one account {:.0} s; CPU floor on 2 cores {})",
                hms(waves * per_account),
                per_account,
                hms(cpu_floor)
            );
        }
    }
}
