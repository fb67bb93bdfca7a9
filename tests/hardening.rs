//! Issue 11 (second part), end to end through the CLI: a journal torn by a crash is cut back
//! and resumed, then undone; an edited or cut journal is refused by apply and undo with its
//! line; an endpoint that accepts and never answers (and a closed port) fails in seconds with
//! the call and the endpoint named; hostile YAML and JSON are rejected fast; and signed plans
//! (a local Ed25519 key, and a KMS key on moto) gate apply before any change.
//! Every server here is on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_test_support::{
    cli::{self, text},
    moto, runtime as rt,
};

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const SEED_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn fixture(name: &str) -> PathBuf {
    Path::new(ROOT).join("../tests/fixtures/apply").join(name)
}

/// The CLI with static credentials, pointed at `endpoint`, nothing from the machine.
fn iamwarden_at(endpoint: &str) -> Command {
    cli::isolated(
        env!("CARGO_BIN_EXE_iamwarden"),
        endpoint,
        SEED_KEY,
        "seed-secret",
    )
}

fn iamwarden(server: &moto::MotoServer) -> Command {
    iamwarden_at(&server.endpoint())
}

/// Runs `cmd`; fails when it printed the seed secret or a private key.
fn run(cmd: &mut Command) -> Output {
    cli::run_hiding(cmd, &["seed-secret", "PRIVATE KEY"])
}

/// Requests that change something, as the server logged them.
fn mutating(server: &moto::MotoServer) -> Vec<Value> {
    server
        .requests()
        .into_iter()
        .filter(|r| {
            let a = r["action"].as_str().unwrap_or_default();
            !(a.starts_with("Get")
                || a.starts_with("List")
                || a == "GenerateCredentialReport"
                || a.is_empty())
        })
        .collect()
}

/// `n` users `bulk-NNN` with one access key each; returns the key ids.
fn seed_bulk(server: &moto::MotoServer, n: usize) -> Vec<String> {
    let c = moto::iam_client(&server.endpoint(), SEED_KEY, "seed-secret");
    rt().block_on(async {
        let mut keys = Vec::new();
        for i in 0..n {
            let name = format!("bulk-{i:03}");
            c.create_user().user_name(&name).send().await.unwrap();
            let k = c.create_access_key().user_name(&name).send().await.unwrap();
            keys.push(k.access_key().unwrap().access_key_id().to_string());
        }
        keys
    })
}

/// The status of every bulk user's key.
fn bulk_statuses(server: &moto::MotoServer, n: usize) -> Vec<String> {
    let c = moto::iam_client(&server.endpoint(), SEED_KEY, "seed-secret");
    rt().block_on(async {
        let mut out = Vec::new();
        for i in 0..n {
            let keys = c
                .list_access_keys()
                .user_name(format!("bulk-{i:03}"))
                .send()
                .await
                .unwrap();
            for k in keys.access_key_metadata() {
                out.push(k.status().unwrap().as_str().to_string());
            }
        }
        out
    })
}

fn make_plan(server: &moto::MotoServer, out: &Path, extra: &[&str]) {
    let o = run(iamwarden(server)
        .args(["plan", "--format", "json", "--rules"])
        .arg(fixture("bulk.yaml"))
        .arg("--out")
        .arg(out)
        .args(extra));
    assert!(o.status.success(), "plan failed\n{}", text(&o));
}

fn apply(server: &moto::MotoServer, plan: &Path, extra: &[&str]) -> (Output, Value) {
    let o = run(iamwarden(server)
        .args(["apply", "--auto-approve", "--format", "json"])
        .arg(plan)
        .args(extra));
    let report = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    (o, report)
}

fn undo(server: &moto::MotoServer, journal: &Path) -> Output {
    run(iamwarden(server)
        .args(["undo", "--auto-approve", "--format", "json"])
        .arg(journal))
}

#[test]
fn a_torn_journal_tail_is_cut_the_apply_resumes_and_undo_restores_every_key() {
    let server = moto::MotoServer::start();
    let n = 12;
    seed_bulk(&server, n);
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    make_plan(&server, &plan, &[]);
    let journal = dir.path().join("plan.json.journal.jsonl");
    let (o, report) = apply(&server, &plan, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(report["summary"]["applied"], n, "{report}");

    // A crash while writing the 6th `done` record: everything after it never reached the disk.
    let bytes = std::fs::read(&journal).unwrap();
    let text_j = String::from_utf8(bytes.clone()).unwrap();
    let sixth = text_j
        .match_indices("{\"record\":\"done\"")
        .nth(5)
        .map(|(i, _)| i)
        .unwrap();
    std::fs::write(&journal, &bytes[..sixth + 40]).unwrap();
    // In that crash, the actions with no `begin` left never ran: their keys are still active.
    let kept = String::from_utf8_lossy(&bytes[..sixth]).to_string();
    let plan_json: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let c = moto::iam_client(&server.endpoint(), SEED_KEY, "seed-secret");
    let mut never_ran = 0;
    rt().block_on(async {
        for a in plan_json["actions"].as_array().unwrap() {
            let id = a["id"].as_str().unwrap();
            let begun = kept.lines().any(|l| {
                l.contains("\"record\":\"begin\"") && l.contains(&format!("\"action\":\"{id}\""))
            });
            if !begun {
                never_ran += 1;
                c.update_access_key()
                    .user_name(a["params"]["user"].as_str().unwrap())
                    .access_key_id(a["resource"]["id"].as_str().unwrap())
                    .status(aws_sdk_iam::types::StatusType::Active)
                    .send()
                    .await
                    .unwrap();
            }
        }
    });
    assert!(
        never_ran > 0 && never_ran < n,
        "{never_ran} of {n} never ran"
    );

    // Resume: the torn line is cut (and said), the run appends on a clean line.
    let (o, report) = apply(&server, &plan, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("torn record") && stderr.contains("cut it off"),
        "{}",
        text(&o)
    );
    let s = &report["summary"];
    assert_eq!(
        s["applied"].as_u64().unwrap() + s["already_applied"].as_u64().unwrap(),
        n as u64,
        "{s}"
    );
    // Every line of the journal is a whole record now.
    for l in std::fs::read_to_string(&journal).unwrap().lines() {
        serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}"));
    }
    assert!(bulk_statuses(&server, n).iter().all(|s| s == "Inactive"));

    // Undo reads the whole (repaired) journal and restores every key, the ones whose `done`
    // was lost in the tear included (their `begin` carried the before-state).
    let o = undo(&server, &journal);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let statuses = bulk_statuses(&server, n);
    assert_eq!(statuses.len(), n);
    assert!(statuses.iter().all(|s| s == "Active"), "{statuses:?}");
}

#[test]
fn an_edited_or_cut_journal_is_refused_by_apply_and_undo_with_its_line() {
    let server = moto::MotoServer::start();
    let n = 4;
    seed_bulk(&server, n);
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    make_plan(&server, &plan, &[]);
    let journal = dir.path().join("plan.json.journal.jsonl");
    let (o, _) = apply(&server, &plan, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let original = std::fs::read_to_string(&journal).unwrap();
    let lines: Vec<&str> = original.lines().collect();

    // An undo op edited to re-activate another key than the one apply deactivated.
    let (at, line) = lines
        .iter()
        .enumerate()
        .find(|(_, l)| l.contains("\"op\":\"update_access_key\""))
        .unwrap();
    let edited = line.replace("\"user\":\"bulk-", "\"user\":\"evil-");
    assert_ne!(&edited, line);
    let mut tampered: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    tampered[at] = edited;
    std::fs::write(&journal, tampered.join("\n") + "\n").unwrap();
    let needle = format!("plan.json.journal.jsonl:{}:", at + 1);

    server.clear_requests();
    let o = undo(&server, &journal);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&needle) && err.contains("edited or cut"),
        "{}",
        text(&o)
    );
    let (o, _) = apply(&server, &plan, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(&needle),
        "{}",
        text(&o)
    );
    assert!(mutating(&server).is_empty(), "{:?}", mutating(&server));
    assert!(bulk_statuses(&server, n).iter().all(|s| s == "Inactive"));

    // A record removed from the middle: refused at the line after the gap.
    let mut cut: Vec<&str> = lines.clone();
    cut.remove(3);
    std::fs::write(&journal, cut.join("\n") + "\n").unwrap();
    let o = undo(&server, &journal);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("plan.json.journal.jsonl:4:") && err.contains("missing"),
        "{}",
        text(&o)
    );
    assert!(mutating(&server).is_empty());

    // The original, untouched, undoes.
    std::fs::write(&journal, &original).unwrap();
    let o = undo(&server, &journal);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(bulk_statuses(&server, n).iter().all(|s| s == "Active"));
}

/// A TCP listener on 127.0.0.1 that accepts every connection and never answers.
fn black_hole() -> (u16, std::thread::JoinHandle<()>) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let h = std::thread::spawn(move || {
        let mut held = Vec::new();
        l.set_nonblocking(true).unwrap();
        let until = Instant::now() + Duration::from_secs(90);
        while Instant::now() < until {
            match l.accept() {
                Ok((s, _)) => held.push(s),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    (port, h)
}

fn timed(cmd: &mut Command) -> (Output, Duration) {
    let t = Instant::now();
    let o = run(cmd);
    (o, t.elapsed())
}

const SMALL_TIMEOUTS: [&str; 6] = [
    "--connect-timeout",
    "1s",
    "--attempt-timeout",
    "1s",
    "--call-timeout",
    "3s",
];

#[test]
fn an_endpoint_that_never_answers_fails_plan_and_apply_in_seconds_naming_call_and_endpoint() {
    let (port, _hole) = black_hole();
    let endpoint = format!("http://127.0.0.1:{port}");
    let (o, took) = timed(iamwarden_at(&endpoint).args(["plan"]).args(SMALL_TIMEOUTS));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(took < Duration::from_secs(20), "plan took {took:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("GetAccountAuthorizationDetails") && err.contains(&endpoint),
        "{}",
        text(&o)
    );
    eprintln!("plan against a black hole failed in {took:?}");

    // apply: a plan made offline, then the first call (sts:GetCallerIdentity) never answers.
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let o = run(iamwarden_at(&endpoint)
        .args(["plan", "--format", "json", "--snapshot"])
        .arg(Path::new(ROOT).join("../examples/demo-account.json"))
        .arg("--out")
        .arg(&plan));
    assert!(o.status.success(), "{}", text(&o));
    // The env fallbacks set the limits here.
    let (o, took) = timed(
        iamwarden_at(&endpoint)
            .env("IAMWARDEN_CONNECT_TIMEOUT", "1s")
            .env("IAMWARDEN_ATTEMPT_TIMEOUT", "1s")
            .env("IAMWARDEN_CALL_TIMEOUT", "3s")
            .args(["apply", "--auto-approve", "--allow-destructive"])
            .arg(&plan),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(took < Duration::from_secs(20), "apply took {took:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("GetCallerIdentity") && err.contains(&endpoint),
        "{}",
        text(&o)
    );
    assert!(
        !plan.with_file_name("plan.json.journal.jsonl").exists(),
        "no journal before the caller is known"
    );
    eprintln!("apply against a black hole failed in {took:?}");
}

#[test]
fn a_closed_port_fails_fast_with_the_default_timeouts() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let (o, took) = timed(iamwarden_at(&endpoint).args(["plan"]));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(took < Duration::from_secs(25), "plan took {took:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&endpoint), "{}", text(&o));
    eprintln!("plan against a closed port failed in {took:?}");
}

#[test]
fn bad_timeout_flags_are_refused() {
    let o = run(iamwarden_at("http://127.0.0.1:9").args(["plan", "--call-timeout", "0s"]));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("must be positive"));
}

#[test]
fn hostile_yaml_and_json_are_rejected_fast_with_the_file_named() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "nested-500k.yaml",
            format!("{}1{}", "{a: ".repeat(100_000), "}".repeat(100_000)),
            "nested more than 64 levels",
        ),
        (
            "nested-250k.yaml",
            format!("{}1{}", "{a: ".repeat(50_000), "}".repeat(50_000)),
            "nested more than 64 levels",
        ),
        (
            "block-nested.yaml",
            (0..200)
                .map(|d| format!("{}a:\n", "  ".repeat(d)))
                .collect(),
            "nested more than 64 levels",
        ),
        (
            "laughs.yaml",
            {
                let mut t = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
                for i in 0..9 {
                    let prev = if i == 0 {
                        "a".to_string()
                    } else {
                        format!("l{}", i - 1)
                    };
                    t.push_str(&format!(
                        "l{i}: &l{i} [{}]\n",
                        vec![format!("*{prev}"); 9].join(", ")
                    ));
                }
                t
            },
            "aliases expand the document past 1000000 nodes", // within the alias-count limit
        ),
        (
            "long-string.yaml",
            format!("pack: {{name: \"{}\"}}\n", "x".repeat(200_000)),
            "quoted string",
        ),
    ];
    for (name, body, expect) in &cases {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        let (o, took) = timed(
            iamwarden_at("http://127.0.0.1:9")
                .arg("validate")
                .arg(&path),
        );
        assert_eq!(o.status.code(), Some(1), "{name}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(name), "{name}: {}", text(&o));
        assert!(err.contains(expect), "{name}: {}", text(&o));
        // Generous for a debug build on a busy machine; release measures in milliseconds.
        assert!(took < Duration::from_secs(5), "{name} took {took:?}");
        eprintln!("{name}: rejected in {took:?}");
    }
    let nested = dir.path().join("nested-500k.yaml");
    let o = run(iamwarden_at("http://127.0.0.1:9")
        .arg("validate")
        .arg(&nested));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("nested-500k.yaml:1:253"),
        "{}",
        text(&o)
    );

    // Deep JSON: a snapshot and a plan, refused by serde_json's depth limit, fast.
    let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    let snap = dir.path().join("deep-snapshot.json");
    std::fs::write(&snap, &deep).unwrap();
    let (o, took) = timed(
        iamwarden_at("http://127.0.0.1:9")
            .args(["plan", "--snapshot"])
            .arg(&snap),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("deep-snapshot.json"),
        "{}",
        text(&o)
    );
    assert!(took < Duration::from_secs(5), "deep snapshot took {took:?}");
    let plan = dir.path().join("deep-plan.json");
    std::fs::write(&plan, format!("{{\"format_version\": {deep}}}")).unwrap();
    let (o, took) = timed(
        iamwarden_at("http://127.0.0.1:9")
            .args(["apply", "--auto-approve"])
            .arg(&plan),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("deep-plan.json"),
        "{}",
        text(&o)
    );
    assert!(took < Duration::from_secs(5), "deep plan took {took:?}");
}

/// Edits a plan file (drops its last action) and re-seals it: the content hash matches again,
/// as anyone could make it.
fn edit_and_reseal(plan: &Path) {
    let mut p: iamwarden_core::plan::Plan =
        serde_json::from_str(&std::fs::read_to_string(plan).unwrap()).unwrap();
    p.actions.pop();
    p.seal();
    std::fs::write(plan, serde_json::to_string_pretty(&p).unwrap()).unwrap();
}

#[test]
fn signed_plans_with_a_local_key_gate_apply_before_any_change() {
    let server = moto::MotoServer::start();
    let n = 3;
    seed_bulk(&server, n);
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("plans.pem");
    let public = dir.path().join("plans.pem.pub");
    let other = dir.path().join("other.pem");
    for k in [&key, &other] {
        let o = run(iamwarden(&server).arg("keygen").arg(k));
        assert!(o.status.success(), "{}", text(&o));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o077,
            0,
            "the private key is readable by others: {mode:o}"
        );
    }
    let plan = dir.path().join("plan.json");
    make_plan(&server, &plan, &["--sign", key.to_str().unwrap()]);
    let sig_path = dir.path().join("plan.json.sig");
    let sig: Value = serde_json::from_str(&std::fs::read_to_string(&sig_path).unwrap()).unwrap();
    assert_eq!(sig["format"], "iamwarden-plan-signature/1");
    assert_eq!(sig["algorithm"], "ED25519");
    let plan_json: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    assert_eq!(sig["plan_sha256"], plan_json["content_sha256"]);
    let signed_plan = std::fs::read(&plan).unwrap();
    let require = |k: &Path| vec!["--require-signature".to_string(), k.display().to_string()];

    server.clear_requests();
    // Another key: refused.
    let (o, _) = apply(
        &server,
        &plan,
        &require(&other.with_file_name("other.pem.pub"))
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("does not verify with the required key"),
        "{}",
        text(&o)
    );
    // Unsigned: refused.
    std::fs::rename(&sig_path, dir.path().join("saved.sig")).unwrap();
    let (o, _) = apply(
        &server,
        &plan,
        &require(&public)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("the plan is not signed"),
        "{}",
        text(&o)
    );
    std::fs::rename(dir.path().join("saved.sig"), &sig_path).unwrap();
    // Edited after signing and re-sealed (its content hash matches again): refused.
    edit_and_reseal(&plan);
    let (o, _) = apply(
        &server,
        &plan,
        &require(&public)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("changed after it was signed"),
        "{}",
        text(&o)
    );
    // ... and with the signature file's hash edited to match: the signature does not verify.
    let mut forged = sig.clone();
    let new_hash: Value = serde_json::from_str::<Value>(&std::fs::read_to_string(&plan).unwrap())
        .unwrap()["content_sha256"]
        .clone();
    forged["plan_sha256"] = new_hash;
    std::fs::write(&sig_path, serde_json::to_string(&forged).unwrap()).unwrap();
    let (o, _) = apply(
        &server,
        &plan,
        &require(&public)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("does not verify"),
        "{}",
        text(&o)
    );
    // None of these reached IAM, not even a read: the journal was never created.
    assert!(mutating(&server).is_empty());
    assert!(!dir.path().join("plan.json.journal.jsonl").exists());
    assert!(bulk_statuses(&server, n).iter().all(|s| s == "Active"));

    // The signed plan, as it was signed: applied.
    std::fs::write(&plan, &signed_plan).unwrap();
    std::fs::write(&sig_path, serde_json::to_string(&sig).unwrap()).unwrap();
    let (o, report) = apply(
        &server,
        &plan,
        &require(&public)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(report["summary"]["applied"], n, "{report}");
    assert!(bulk_statuses(&server, n).iter().all(|s| s == "Inactive"));
}

#[test]
fn signed_plans_with_a_kms_key_on_moto_gate_apply() {
    use aws_sdk_kms::types::{KeySpec, KeyUsageType};
    let server = moto::MotoServer::start();
    let n = 2;
    seed_bulk(&server, n);
    let kms = {
        let conf = aws_sdk_kms::Config::builder()
            .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
            .region(aws_sdk_kms::config::Region::new("us-east-1"))
            .endpoint_url(server.endpoint())
            .credentials_provider(aws_sdk_kms::config::Credentials::new(
                SEED_KEY,
                "seed-secret",
                None,
                None,
                "test",
            ))
            .build();
        aws_sdk_kms::Client::from_conf(conf)
    };
    let (signer, other) = rt().block_on(async {
        let mut ids = Vec::new();
        for _ in 0..2 {
            let k = kms
                .create_key()
                .key_usage(KeyUsageType::SignVerify)
                .key_spec(KeySpec::EccNistP256)
                .send()
                .await
                .unwrap();
            ids.push(k.key_metadata().unwrap().key_id().to_string());
        }
        kms.create_alias()
            .alias_name("alias/iamwarden-plans")
            .target_key_id(&ids[0])
            .send()
            .await
            .unwrap();
        (ids[0].clone(), ids[1].clone())
    });
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    make_plan(&server, &plan, &["--sign", "alias/iamwarden-plans"]);
    let sig: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("plan.json.sig")).unwrap())
            .unwrap();
    assert_eq!(sig["algorithm"], "ECDSA_SHA_256", "{sig}");
    assert_eq!(sig["key"]["kind"], "kms", "{sig}");
    assert!(
        sig["key"]["key_id"].as_str().unwrap().contains(&signer),
        "{sig}"
    );

    server.clear_requests();
    let (o, _) = apply(&server, &plan, &["--require-signature", &other]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("does not verify with the required key"),
        "{}",
        text(&o)
    );
    // A plan signed with a local key is not signed by the KMS key.
    let local = dir.path().join("local.pem");
    assert!(run(iamwarden(&server).arg("keygen").arg(&local))
        .status
        .success());
    let local_plan = dir.path().join("local-plan.json");
    make_plan(&server, &local_plan, &["--sign", local.to_str().unwrap()]);
    let (o, _) = apply(&server, &local_plan, &["--require-signature", &signer]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not with a KMS key"),
        "{}",
        text(&o)
    );
    // Edited and re-sealed after signing.
    let saved = std::fs::read(&plan).unwrap();
    edit_and_reseal(&plan);
    let (o, _) = apply(
        &server,
        &plan,
        &["--require-signature", "alias/iamwarden-plans"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("changed after it was signed"),
        "{}",
        text(&o)
    );
    std::fs::write(&plan, saved).unwrap();
    assert!(mutating(&server)
        .iter()
        .all(|r| r["action"].as_str().unwrap_or_default() != "UpdateAccessKey"));
    assert!(bulk_statuses(&server, n).iter().all(|s| s == "Active"));

    // The signed plan under its own key (by alias and by id): applied.
    let (o, report) = apply(
        &server,
        &plan,
        &["--require-signature", "alias/iamwarden-plans"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(report["summary"]["applied"], n, "{report}");
    let (o, report) = apply(&server, &plan, &["--require-signature", &signer]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(report["summary"]["already_applied"], n, "{report}");
}
