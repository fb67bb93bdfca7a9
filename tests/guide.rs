//! docs/guide.md walked through end to end (issue 18's acceptance): every fenced ```sh block is
//! run in order, one command after another in one temporary directory (a `cd` carries over),
//! with the built binary first on PATH, against a moto server on 127.0.0.1 seeded with what the
//! guide's account holds (the contractor carol, an admin user, a KMS signing key, an
//! organization with a member account). Each command must exit as the guide says: 0, or the
//! status its comment names (`... (exit 1)`). A block fenced ```sh norun is not run; the test
//! pins which ones those are (long-running services), so a new block cannot slip past. The
//! README's quick-start plan runs the same way.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_test_support::root;
use iamwarden_test_support::{moto, runtime as rt};

use std::path::{Path, PathBuf};
use std::process::Command;

const SEED_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "guide-secret";
const ADMIN: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// One command of the guide: where it is, the text as the shell gets it, the exit it expects.
#[derive(Debug)]
struct Step {
    line: usize,
    command: String,
    exit: i32,
}

/// The ```sh blocks of a markdown text: the commands of the runnable ones (continuation lines
/// joined, comments kept for the shell to drop) and the first line of each `norun` one.
fn blocks(markdown: &str) -> (Vec<Step>, Vec<String>) {
    let exit_re = regex::Regex::new(r"\(exit (\d+)").unwrap();
    let mut steps = Vec::new();
    let mut norun = Vec::new();
    let mut fence: Option<(bool, Vec<(usize, String)>)> = None;
    for (i, line) in markdown.lines().enumerate() {
        let t = line.trim_start();
        match &mut fence {
            None if t.starts_with("```sh") => {
                let info = t.trim_start_matches("```sh").trim();
                fence = Some((info == "norun", Vec::new()));
            }
            None => {}
            Some((skip, lines)) if t.starts_with("```") => {
                if *skip {
                    norun.push(lines.first().map(|l| l.1.clone()).unwrap_or_default());
                } else {
                    let mut pending: Option<(usize, String)> = None;
                    for (n, l) in lines.drain(..) {
                        let (start, mut text) = pending.take().unwrap_or((n, String::new()));
                        match l.trim_end().strip_suffix('\\') {
                            Some(head) => {
                                text.push_str(head);
                                pending = Some((start, text));
                            }
                            None => {
                                text.push_str(&l);
                                if !text.trim().is_empty() && !text.trim_start().starts_with('#') {
                                    let exit = exit_re
                                        .captures(&text)
                                        .map_or(0, |c| c[1].parse().unwrap());
                                    steps.push(Step {
                                        line: start,
                                        command: text,
                                        exit,
                                    });
                                }
                            }
                        }
                    }
                }
                fence = None;
            }
            Some((_, lines)) => lines.push((i + 1, line.to_string())),
        }
    }
    (steps, norun)
}

/// The guide's account: carol (a contractor with a console password and no MFA), an admin
/// user holding a customer admin policy (the plan detaches it: something to apply and undo),
/// the KMS key `alias/iamwarden-plans`, and an organization with one member account.
fn seed(server: &moto::MotoServer) {
    use aws_sdk_iam::types::Tag;
    use aws_sdk_kms::types::{KeySpec, KeyUsageType};
    let endpoint = server.endpoint();
    let iam = moto::iam_client(&endpoint, SEED_KEY, SECRET);
    let conf = moto::sdk_config(&endpoint, SEED_KEY, SECRET);
    rt().block_on(async {
        iam.create_user()
            .user_name("carol")
            .tags(
                Tag::builder()
                    .key("team")
                    .value("contractors")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        iam.create_login_profile()
            .user_name("carol")
            .password("Carol-guide-pw-1!")
            .send()
            .await
            .unwrap();
        iam.create_user()
            .user_name("ops-admin")
            .send()
            .await
            .unwrap();
        let arn = iam
            .create_policy()
            .policy_name("ops-admin-all")
            .policy_document(ADMIN)
            .send()
            .await
            .unwrap()
            .policy()
            .unwrap()
            .arn()
            .unwrap()
            .to_string();
        iam.attach_user_policy()
            .user_name("ops-admin")
            .policy_arn(&arn)
            .send()
            .await
            .unwrap();
        let kms = aws_sdk_kms::Client::new(&conf);
        let key = kms
            .create_key()
            .key_usage(KeyUsageType::SignVerify)
            .key_spec(KeySpec::EccNistP256)
            .send()
            .await
            .unwrap();
        kms.create_alias()
            .alias_name("alias/iamwarden-plans")
            .target_key_id(key.key_metadata().unwrap().key_id())
            .send()
            .await
            .unwrap();
        let org = aws_sdk_organizations::Client::new(&conf);
        org.create_organization().send().await.unwrap();
        org.create_account()
            .account_name("prod")
            .email("prod@example.com")
            .send()
            .await
            .unwrap();
    });
}

/// Runs `command` with `sh` in `cwd`; returns its exit status, output and the directory it
/// ended in.
fn sh(
    server: &moto::MotoServer,
    bin: &Path,
    home: &Path,
    cwd: &Path,
    command: &str,
) -> (i32, String, PathBuf) {
    let cwd_file = home.join(".guide-cwd");
    let script = format!(
        "{command}\nrc=$?\npwd > '{}'\nexit $rc\n",
        cwd_file.display()
    );
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", path)
        .env("HOME", home)
        .env("AWS_ACCESS_KEY_ID", SEED_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", server.endpoint())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", home.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.join("no-aws-credentials"),
        )
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = format!(
        "--- stdout\n{}--- stderr\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!text.contains(SECRET), "a secret was printed:\n{text}");
    let next = std::fs::read_to_string(&cwd_file)
        .map(|t| PathBuf::from(t.trim()))
        .unwrap_or_else(|_| cwd.to_path_buf());
    (o.status.code().unwrap_or(-1), text, next)
}

/// Why a command the guide marks `(exit N)` fails: (command prefix, text it must print).
const REASONS: &[(&str, &str)] = &[(
    "iamwarden apply plan.json ",
    "refusing to apply without confirmation: stdin is not a terminal",
)];

fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_iamwarden"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn the_guide_runs_as_written() {
    let guide = std::fs::read_to_string(root().join("docs/guide.md")).unwrap();
    let (steps, norun) = blocks(&guide);
    assert_eq!(
        norun,
        vec![
            "iamwarden watch --queue-url https://sqs.us-east-1.amazonaws.com/123456789012/iam-events \\"
                .to_string(),
            // A deploy to a real AWS account; tests/examples_lint.rs lints its template with
            // cfn-lint and checks its events and permissions against the binary instead.
            "aws cloudformation deploy --region us-east-1 --stack-name iamwarden-watch \\"
                .to_string(),
        ],
        "only the long-running `watch` service and its deploy to AWS are not run"
    );
    let commands: Vec<&str> = steps.iter().map(|s| s.command.as_str()).collect();
    for needed in [
        "iamwarden init",
        "iamwarden snapshot",
        "iamwarden apply",
        "iamwarden undo",
        "--sign",
        "iamwarden org apply",
    ] {
        assert!(
            commands.iter().any(|c| c.contains(needed)),
            "the guide has no `{needed}` command any more: {commands:#?}"
        );
    }
    let server = moto::MotoServer::start();
    seed(&server);
    let home = tempfile::tempdir().unwrap();
    let mut cwd = home.path().to_path_buf();
    let mut transcript = String::new();
    for s in &steps {
        let (code, text, next) = sh(&server, &bin_dir(), home.path(), &cwd, &s.command);
        transcript.push_str(&format!("$ {}  (exit {code})\n", s.command.trim()));
        assert_eq!(
            code, s.exit,
            "docs/guide.md:{}: `{}` exited {code}, the guide says {}\n{text}\n--- so far\n{transcript}",
            s.line,
            s.command.trim(),
            s.exit
        );
        // A command the guide says fails must fail for the reason it gives.
        for (cmd, why) in REASONS {
            if s.exit != 0 && s.command.trim_start().starts_with(cmd) {
                assert!(
                    text.contains(why),
                    "docs/guide.md:{}: not `{why}`:\n{text}",
                    s.line
                );
            }
        }
        assert!(
            s.exit == 0
                || REASONS
                    .iter()
                    .any(|(c, _)| s.command.trim_start().starts_with(c)),
            "docs/guide.md:{}: a failing command needs its reason in REASONS",
            s.line
        );
        cwd = next;
    }
    eprintln!("{transcript}");
    // What the walk did, read back: the reviewed plan was applied and signed, undo ran.
    let repo = home.path().join("iam-rules");
    for f in [
        "packs/acme.yaml",
        "snapshot.json",
        "plan.json",
        "plan.json.journal.jsonl",
        "reviewed.json.sig",
    ] {
        assert!(repo.join(f).exists(), "{f} was not written\n{transcript}");
    }
    let journal = std::fs::read_to_string(repo.join("plan.json.journal.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = journal
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let runs: Vec<&str> = records
        .iter()
        .filter(|r| r["record"] == "run")
        .map(|r| r["mode"].as_str().unwrap())
        .collect();
    assert_eq!(
        runs,
        ["apply", "undo", "apply", "apply"],
        "one apply, its undo, then the two partial runs (`--only`, `--exclude`)\n{journal}"
    );
    let begun = |mode: &str| {
        records
            .iter()
            .filter(|r| r["record"] == "begin" && r["mode"] == mode)
            .map(|r| r["step"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert!(
        begun("apply").iter().any(|s| s == "detach_user_policy"),
        "{journal}"
    );
    assert!(!begun("undo").is_empty(), "undo ran nothing\n{journal}");
    // The signed plan's apply left the admin policy detached again.
    let iam = moto::iam_client(&server.endpoint(), SEED_KEY, SECRET);
    let attached = rt().block_on(async {
        iam.list_attached_user_policies()
            .user_name("ops-admin")
            .send()
            .await
            .unwrap()
            .attached_policies()
            .len()
    });
    assert_eq!(attached, 0, "{transcript}");
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo.join("org-plans/manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        manifest["accounts"].as_array().map(Vec::len),
        Some(2),
        "the management and the member account: {manifest}"
    );
}

#[test]
fn the_readme_quick_start_plan_runs_as_written() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let (steps, _) = blocks(&readme);
    let quick: Vec<&Step> = steps
        .iter()
        .filter(|s| s.command.starts_with("cargo run --release -- "))
        .collect();
    assert_eq!(quick.len(), 1, "{steps:#?}");
    let args = quick[0]
        .command
        .trim_start_matches("cargo run --release -- ")
        .split('#')
        .next()
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>();
    let o = Command::new(env!("CARGO_BIN_EXE_iamwarden"))
        .args(&args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("Plan: "));
}

#[test]
fn blocks_are_read_with_their_exits_and_continuations() {
    let md = "text\n```sh\niamwarden a   # ok\niamwarden b \\\n  --c   # refuses (exit 1)\n\n# a comment\n```\n```sh norun\niamwarden serve\n```\n```yaml\nx: 1\n```\n";
    let (steps, norun) = blocks(md);
    assert_eq!(steps.len(), 2, "{steps:?}");
    assert_eq!((steps[0].line, steps[0].exit), (3, 0));
    assert_eq!((steps[1].line, steps[1].exit), (4, 1));
    assert!(steps[1].command.contains("iamwarden b   --c"), "{steps:?}");
    assert_eq!(norun, vec!["iamwarden serve".to_string()]);
}
