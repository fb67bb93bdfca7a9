//! Apply and undo as a user meets them, against a real IAM endpoint (a moto server on
//! 127.0.0.1): one run per journal (a second apply of the same plan is refused naming the
//! holder, exit 5), `undo --dry-run` showing the undo diff without a single request,
//! `apply --only` / `--exclude` running exactly the selected actions, `[n/m]` progress lines on
//! stderr, refusing without a terminal before printing the diff, and `--stats` (issues 17, 18).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_test_support::{
    cli::{self, text},
    golden, moto, runtime as rt,
};

use aws_sdk_iam::Client;
use iamwarden_core::apply::journal::{self, Record};
use iamwarden_core::apply::lock::{Holder, JournalLock};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const SEED_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const S3_READ: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"*"}]}"#;

fn pack() -> PathBuf {
    Path::new(ROOT).join("../tests/fixtures/apply/ux.yaml")
}

/// The CLI, pointed at the server, with static credentials and nothing from the machine.
fn iamwarden(server: &moto::MotoServer) -> Command {
    let mut c = cli::isolated(
        env!("CARGO_BIN_EXE_iamwarden"),
        &server.endpoint(),
        SEED_KEY,
        "seed-secret",
    );
    c.stdin(Stdio::null());
    c
}

fn run(cmd: &mut Command) -> Output {
    cli::run_hiding(cmd, &["seed-secret"])
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `n` users `ux-000`.. with one key each, and `ux-detach` with s3-read attached. Returns the
/// key ids by user.
async fn seed(c: &Client, n: usize) -> Vec<(String, String)> {
    let mut keys = Vec::new();
    for i in 0..n {
        let name = format!("ux-{i:03}");
        c.create_user().user_name(&name).send().await.unwrap();
        let k = c.create_access_key().user_name(&name).send().await.unwrap();
        keys.push((name, k.access_key().unwrap().access_key_id().to_string()));
    }
    let arn = c
        .create_policy()
        .policy_name("s3-read")
        .policy_document(S3_READ)
        .send()
        .await
        .unwrap()
        .policy()
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    c.create_user().user_name("ux-detach").send().await.unwrap();
    c.attach_user_policy()
        .user_name("ux-detach")
        .policy_arn(arn)
        .send()
        .await
        .unwrap();
    keys
}

fn make_plan(server: &moto::MotoServer, out: &Path) -> Value {
    let o = run(iamwarden(server)
        .args(["plan", "--format", "json", "--rules"])
        .arg(pack())
        .arg("--out")
        .arg(out));
    assert!(o.status.success(), "plan failed\n{}", text(&o));
    serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap()
}

/// Requests that change something (everything but Get*/List*/GenerateCredentialReport).
fn mutating(server: &moto::MotoServer) -> Vec<Value> {
    server
        .requests()
        .into_iter()
        .filter(|r| {
            let a = r["action"].as_str().unwrap_or_default();
            !(a.starts_with("Get") || a.starts_with("List") || a == "GenerateCredentialReport")
        })
        .collect()
}

fn key_updates(server: &moto::MotoServer) -> Vec<String> {
    let mut v: Vec<String> = mutating(server)
        .iter()
        .filter(|r| r["action"] == "UpdateAccessKey")
        .map(|r| r["AccessKeyId"].as_str().unwrap_or_default().to_string())
        .collect();
    v.sort();
    v
}

fn setup(
    n: usize,
) -> (
    moto::MotoServer,
    Vec<(String, String)>,
    tempfile::TempDir,
    PathBuf,
    Value,
) {
    let server = moto::MotoServer::start();
    let c = moto::iam_client(&server.endpoint(), SEED_KEY, "seed-secret");
    let keys = rt().block_on(seed(&c, n));
    let dir = tempfile::tempdir().unwrap();
    let plan_path = dir.path().join("plan.json");
    let plan = make_plan(&server, &plan_path);
    server.clear_requests();
    (server, keys, dir, plan_path, plan)
}

#[test]
fn a_second_apply_of_one_plan_is_refused_naming_the_holder_and_each_action_runs_once() {
    let (server, keys, dir, plan_path, plan) = setup(40);
    assert_eq!(plan["actions"].as_array().unwrap().len(), 41);
    let journal_path = dir.path().join("plan.json.journal.jsonl");

    // A holder this test controls: the refusal is certain, and names it.
    let held = JournalLock::acquire(&journal_path, &Holder::here("iamwarden apply")).unwrap();
    let o = run(iamwarden(&server)
        .args(["apply", "--auto-approve"])
        .arg(&plan_path));
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    let msg = stderr(&o);
    assert!(
        msg.contains(&format!(
            "journal {} is locked by pid {} on host ",
            journal_path.display(),
            std::process::id()
        )) && msg.contains("(iamwarden apply, since "),
        "{msg}"
    );
    assert!(server.requests().is_empty(), "a locked apply made calls");
    assert!(!journal_path.exists(), "a locked apply wrote the journal");
    drop(held);

    // Two applies started together: one runs, the other is refused naming the first (or,
    // should the first be done before the second starts, finds everything applied).
    let spawn = || {
        iamwarden(&server)
            .args(["apply", "--auto-approve", "--concurrency", "1"])
            .arg(&plan_path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (pa, pb) = (a.id(), b.id());
    let (oa, ob) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let codes = (oa.status.code(), ob.status.code());
    eprintln!("exit codes of the two applies: {codes:?}");
    match codes {
        (Some(0), Some(5)) | (Some(5), Some(0)) => {
            let (refused, holder) = if codes.0 == Some(5) {
                (&oa, pb)
            } else {
                (&ob, pa)
            };
            let msg = stderr(refused);
            assert!(
                msg.contains(&format!("is locked by pid {holder} on host ")),
                "the refusal does not name the running apply (pid {holder}):\n{msg}"
            );
        }
        (Some(0), Some(0)) => {}
        other => panic!(
            "unexpected exit codes {other:?}\n{}\n{}",
            text(&oa),
            text(&ob)
        ),
    }
    // Every key deactivated exactly once, the policy detached once, and the journal reads
    // (its hash chain holds) with one `done` per action.
    let mut want: Vec<String> = keys.iter().map(|(_, k)| k.clone()).collect();
    want.sort();
    assert_eq!(key_updates(&server), want);
    let detaches = mutating(&server)
        .iter()
        .filter(|r| r["action"] == "DetachUserPolicy")
        .count();
    assert_eq!(detaches, 1);
    let records = journal::read(&journal_path).unwrap();
    let applied = records
        .iter()
        .filter(|r| {
            matches!(
                r,
                Record::Done {
                    outcome: iamwarden_core::apply::Outcome::Applied,
                    ..
                }
            )
        })
        .count();
    assert_eq!(applied, 41);
    // The lock went with the process: a third apply runs (and finds it all done).
    server.clear_requests();
    let o = run(iamwarden(&server)
        .args(["apply", "--auto-approve"])
        .arg(&plan_path));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(mutating(&server).is_empty());
    // Undo of a locked journal is refused the same way, before any call.
    let held = JournalLock::acquire(&journal_path, &Holder::here("iamwarden apply")).unwrap();
    server.clear_requests();
    let o = run(iamwarden(&server)
        .args(["undo", "--auto-approve"])
        .arg(&journal_path));
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(stderr(&o).contains("is locked by pid "), "{}", text(&o));
    assert!(server.requests().is_empty());
    drop(held);
}

/// The undo diff with what differs per run (key ids, action ids, hash, paths) named.
fn normalize(out: &str, keys: &[(String, String)], plan_sha: &str, journal: &Path) -> String {
    let mut s = out
        .replace(&journal.display().to_string(), "JOURNAL")
        .replace(plan_sha, "sha256:PLAN");
    for (user, key) in keys {
        s = s.replace(key, &format!("KEY-OF-{user}"));
    }
    s.lines()
        .map(|l| match (l.find("  ["), l.rfind(']')) {
            (Some(a), Some(b)) if b > a => format!("{}  [ID]{}", &l[..a], &l[b + 1..]),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
fn undo_dry_run_prints_the_diff_without_a_request_and_undo_refuses_first_without_a_terminal() {
    // One key and one policy: the plan's (and so the journal's) order is fixed.
    let (server, keys, dir, plan_path, plan) = setup(1);
    let journal_path = dir.path().join("plan.json.journal.jsonl");
    let o = run(iamwarden(&server)
        .args(["apply", "--auto-approve", "--concurrency", "1"])
        .arg(&plan_path));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let before = std::fs::read(&journal_path).unwrap();
    server.clear_requests();

    let o = run(iamwarden(&server)
        .args(["undo", "--dry-run"])
        .arg(&journal_path));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        server.requests().is_empty(),
        "undo --dry-run sent {:?}",
        server.requests()
    );
    assert_eq!(
        std::fs::read(&journal_path).unwrap(),
        before,
        "the journal was written"
    );
    let diff = normalize(
        &String::from_utf8_lossy(&o.stdout),
        &keys,
        plan["content_sha256"].as_str().unwrap(),
        &journal_path,
    );
    golden::check("tests/golden/undo-dry-run-moto.txt", &diff);

    let o = run(iamwarden(&server)
        .args(["undo", "--dry-run", "--format", "json"])
        .arg(&journal_path));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["summary"]["calls"], 2);
    assert_eq!(v["summary"]["reversed"], 2);
    assert!(server.requests().is_empty());

    // No terminal, no --auto-approve: the refusal first, then the diff; nothing sent.
    let o = run(iamwarden(&server).arg("undo").arg(&journal_path));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = stderr(&o);
    assert!(
        err.starts_with("refusing to undo without confirmation: stdin is not a terminal"),
        "{err}"
    );
    assert!(err.contains("AttachUserPolicy: re-attach policy"), "{err}");
    assert!(mutating(&server).is_empty());

    // The real undo: progress N/M, the stats, every call made.
    let o = run(iamwarden(&server)
        .args(["undo", "--auto-approve", "--stats"])
        .arg(&journal_path));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let err = stderr(&o);
    assert!(err.contains("[1/2] "), "{err}");
    assert!(err.contains("[2/2] "), "{err}");
    assert!(err.contains("Mutating API calls (2 in "), "{err}");
    for call in ["UpdateAccessKey", "AttachUserPolicy"] {
        assert!(
            err.lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>() == [call, "1"]),
            "no `{call} 1` in the stats:\n{err}"
        );
    }
    let calls: Vec<String> = mutating(&server)
        .iter()
        .map(|r| r["action"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(calls.len(), 2, "{calls:?}");
}

#[test]
fn only_and_exclude_run_exactly_the_selected_actions_with_progress() {
    let (server, keys, dir, plan_path, plan) = setup(3);
    let journal_path = dir.path().join("plan.json.journal.jsonl");
    let id_of = |key: &str| {
        plan["actions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["resource"]["id"] == key)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // An unknown term: an error with did-you-mean, nothing sent, no journal.
    let o = run(iamwarden(&server)
        .args(["apply", "--auto-approve", "--only", "ux-00"])
        .arg(&plan_path));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        stderr(&o).contains("--only ux-00: no action, rule or resource of the plan is called that (did you mean `ux-000`?)"),
        "{}",
        text(&o)
    );
    assert!(server.requests().is_empty());

    // --only by action id and by user name: exactly those keys.
    let o = run(iamwarden(&server)
        .args(["apply", "--auto-approve", "--format", "json", "--only"])
        .arg(id_of(&keys[0].1))
        .args(["--only", "ux-001"])
        .arg(&plan_path));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let report: Value = serde_json::from_slice(&o.stdout).expect("stdout is the JSON report");
    assert_eq!(report["actions"].as_array().unwrap().len(), 2);
    let err = stderr(&o);
    assert!(
        err.contains("Selected 2 of the plan's 4 action(s)"),
        "{err}"
    );
    assert!(err.contains("[1/2] deactivate_access_key "), "{err}");
    assert!(err.contains("[2/2] deactivate_access_key "), "{err}");
    let mut want = vec![keys[0].1.clone(), keys[1].1.clone()];
    want.sort();
    assert_eq!(key_updates(&server), want);
    assert_eq!(mutating(&server).len(), 2);
    let records = journal::read(&journal_path).unwrap();
    let Some(Record::Run {
        selection: Some(sel),
        ..
    }) = records.first()
    else {
        panic!("the journal does not record the selection: {records:?}")
    };
    assert_eq!(sel.only.len(), 2);
    assert_eq!(sel.left_out, 2);

    // --exclude by rule: the last key alone runs; the done ones are already applied.
    server.clear_requests();
    let o = run(iamwarden(&server)
        .args(["apply", "--auto-approve", "--exclude", "detach-s3-read"])
        .arg(&plan_path));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(key_updates(&server), vec![keys[2].1.clone()]);
    assert_eq!(mutating(&server).len(), 1);

    // No terminal and no --auto-approve: refused first, the diff after, nothing sent.
    server.clear_requests();
    let o = run(iamwarden(&server).arg("apply").arg(&plan_path));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = stderr(&o);
    assert!(
        err.starts_with("refusing to apply without confirmation: stdin is not a terminal"),
        "{err}"
    );
    assert!(err.contains("detach_user_policy"), "{err}");
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[test]
fn undo_says_complete_only_when_every_reversal_went_through() {
    // Issue 18: "Undo complete" was printed over failures.
    let (server, keys, dir, plan_path, plan) = setup(2);
    let journal_path = dir.path().join("plan.json.journal.jsonl");
    // `--only` still checks the whole plan's content hash: an edited action elsewhere in the
    // file refuses the run before any call. (The edit keeps the action well-typed: a part that
    // does not fit its step is refused earlier, when the plan is read.)
    let mut edited = plan.clone();
    edited["actions"][0]["rules"]
        .as_array_mut()
        .unwrap()
        .push(Value::from("edited-in"));
    let edited_path = dir.path().join("edited.json");
    std::fs::write(&edited_path, serde_json::to_string(&edited).unwrap()).unwrap();
    let o = run(iamwarden(&server)
        .args(["apply", "--auto-approve", "--only", "detach-s3-read"])
        .arg(&edited_path));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        stderr(&o).contains("does not match its content hash"),
        "{}",
        text(&o)
    );
    assert!(mutating(&server).is_empty(), "{:?}", mutating(&server));
    // Apply's --stats prints the mutating calls per API.
    let o = run(iamwarden(&server)
        .args(["apply", "--auto-approve", "--stats"])
        .arg(&plan_path));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let err = stderr(&o);
    assert!(err.contains("Mutating API calls (3 in "), "{err}");
    for (call, n) in [("UpdateAccessKey", "2"), ("DetachUserPolicy", "1")] {
        assert!(
            err.lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>() == [call, n]),
            "no `{call} {n}` in the stats:\n{err}"
        );
    }
    // One deactivated key is deleted behind iamwarden's back: its reactivation cannot succeed.
    let c = moto::iam_client(&server.endpoint(), SEED_KEY, "seed-secret");
    rt().block_on(async {
        c.delete_access_key()
            .user_name(&keys[0].0)
            .access_key_id(&keys[0].1)
            .send()
            .await
            .unwrap();
    });
    let o = run(iamwarden(&server)
        .args(["undo", "--auto-approve"])
        .arg(&journal_path));
    let all = text(&o);
    assert_eq!(o.status.code(), Some(1), "{all}");
    assert!(!all.contains("Undo complete"), "{all}");
    let closing = String::from_utf8_lossy(&o.stdout)
        .lines()
        .find(|l| l.starts_with("Undo "))
        .unwrap_or_default()
        .to_string();
    assert!(
        closing.starts_with("Undo finished with 1 failed and 0 refused action(s)"),
        "{all}"
    );
    assert!(
        all.contains(&keys[0].1),
        "the failed reversal is named: {all}"
    );
    // The others were reversed all the same.
    let active = rt().block_on(async {
        c.list_access_keys()
            .user_name(&keys[1].0)
            .send()
            .await
            .unwrap()
            .access_key_metadata()
            .iter()
            .filter(|k| k.status() == Some(&aws_sdk_iam::types::StatusType::Active))
            .count()
    });
    assert_eq!(active, 1, "{all}");

    // Nothing failing: complete.
    let (server, _, dir, plan_path, _) = setup(1);
    let journal_path = dir.path().join("plan.json.journal.jsonl");
    let o = run(iamwarden(&server)
        .args(["apply", "--auto-approve"])
        .arg(&plan_path));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run(iamwarden(&server)
        .args(["undo", "--auto-approve"])
        .arg(&journal_path));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .any(|l| l.starts_with("Undo complete: ")),
        "{}",
        text(&o)
    );
}

/// `cmd` on a pseudo-terminal (util-linux `script`), `input` typed into it; the terminal's
/// output (stdout and stderr of `cmd` together) and the exit code.
fn on_a_terminal(cmd: &Command, input: &str) -> (Option<i32>, String) {
    use std::io::Write;
    let line = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| format!("'{}'", a.to_string_lossy().replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut script = Command::new("script");
    script.args(["-qec", &line, "/dev/null"]).env_clear();
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            script.env(k, v);
        }
    }
    let mut child = script
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` gives the test a terminal");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    let o = child.wait_with_output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

#[test]
fn the_prompt_on_a_terminal_states_what_it_will_run_and_no_means_no() {
    let (server, _, _dir, plan_path, plan) = setup(3);
    let n = plan["actions"].as_array().unwrap().len();
    let destructive = plan["summary"]["destructive"].as_u64().unwrap();
    let mut cmd = iamwarden(&server);
    cmd.arg("apply").arg(&plan_path);
    let (code, screen) = on_a_terminal(&cmd, "no\n");
    assert_eq!(code, Some(1), "{screen}");
    assert!(
        screen.contains(&format!(
            "Apply {n} action(s) ({destructive} destructive) to account 123456789012 as "
        )),
        "{screen}"
    );
    assert!(screen.contains("Only 'yes' will be accepted"), "{screen}");
    assert!(screen.contains("Apply cancelled."), "{screen}");
    assert!(mutating(&server).is_empty(), "{:?}", mutating(&server));
    // With --only the count is of the selection, out of the plan's.
    let mut cmd = iamwarden(&server);
    cmd.args(["apply", "--only", "detach-s3-read"])
        .arg(&plan_path);
    let (code, screen) = on_a_terminal(&cmd, "no\n");
    assert_eq!(code, Some(1), "{screen}");
    assert!(
        screen.contains(&format!("Apply 1 action(s) of the plan's {n} (")),
        "{screen}"
    );
    assert!(mutating(&server).is_empty());
}
