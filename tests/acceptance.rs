//! Issue 18's acceptance items that no other suite checks through the binary (the sweep's
//! table is in the issue; each test names its bullet):
//!
//! - a usage error exits 1 wherever the bad value came from (a flag, the environment, a
//!   profile), never 2, which `--detailed-exitcode` means as changes;
//! - the summary line's counts follow the diff's signs (`+` add, `~` change, `-` delete);
//! - the human plan shows report-only findings most severe first, bounded on a large account;
//! - `./scripts/test` closes with one `N passed, M failed` line (`scripts/test-total`);
//! - README's Status section names every command the binary has.
//!
//! No network: the endpoint checks stop before any call.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_test_support::root;
use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Output, Stdio};

const NOW: &str = "2026-11-01T00:00:00Z";

fn demo() -> String {
    root()
        .join("examples/demo-account.json")
        .display()
        .to_string()
}

/// iamwarden with a clean environment: no credentials, no files, `env` on top.
fn iamwarden(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_iamwarden"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env(
            "AWS_CONFIG_FILE",
            "/nonexistent/iamwarden-acceptance/config",
        )
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/iamwarden-acceptance/credentials",
        )
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn large_snapshot(dir: &std::path::Path) -> String {
    let inv = iamwarden_test_support::synth::generate(1_000, 7);
    let snap = dir.join("large.json");
    std::fs::write(
        &snap,
        iamwarden_core::inventory::snapshot::to_json(&inv).unwrap(),
    )
    .unwrap();
    snap.display().to_string()
}

#[test]
fn a_usage_error_exits_1_wherever_the_value_came_from() {
    // The same bad URL on the command line and from the environment: one code, each named.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap.json");
    let out = out.to_str().unwrap();
    let flag = iamwarden(
        &[
            "snapshot",
            "--out",
            out,
            "--endpoint-url",
            "example.com:5000",
        ],
        &[],
    );
    let env = iamwarden(
        &["snapshot", "--out", out],
        &[("AWS_ENDPOINT_URL", "example.com:5000")],
    );
    assert_eq!(flag.status.code(), Some(1), "{}", stderr(&flag));
    assert_eq!(env.status.code(), Some(1), "{}", stderr(&env));
    assert!(
        stderr(&flag).contains("--endpoint-url")
            && stderr(&flag).contains("add http:// or https://"),
        "{}",
        stderr(&flag)
    );
    assert!(
        stderr(&env).contains("AWS_ENDPOINT_URL `example.com:5000`")
            && stderr(&env).contains("add http:// or https://"),
        "{}",
        stderr(&env)
    );
    // A profile's endpoint_url and a bad number of attempts: the same code.
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config");
    std::fs::write(&config, "[default]\nendpoint_url = localhost:4566\n").unwrap();
    let prof = iamwarden(
        &["snapshot", "--out", out],
        &[("AWS_CONFIG_FILE", config.to_str().unwrap())],
    );
    assert_eq!(prof.status.code(), Some(1), "{}", stderr(&prof));
    assert!(
        stderr(&prof).contains("localhost:4566") && stderr(&prof).contains("add http://"),
        "{}",
        stderr(&prof)
    );
    let attempts = iamwarden(&["snapshot", "--out", out], &[("AWS_MAX_ATTEMPTS", "0")]);
    assert_eq!(attempts.status.code(), Some(1), "{}", stderr(&attempts));
    assert!(
        stderr(&attempts).contains("AWS_MAX_ATTEMPTS `0`"),
        "{}",
        stderr(&attempts)
    );
    assert!(!out_exists(out), "nothing was written");

    // A typo in a CI gate is an error, not "changes" (2 under --detailed-exitcode).
    let snap = demo();
    for args in [
        vec![
            "plan",
            "--snapshot",
            &snap,
            "--detailed-exitcode",
            "--fail-on",
            "hgh",
        ],
        vec![
            "plan",
            "--snapshot",
            &snap,
            "--detailed-exitcode",
            "--format",
            "yaml",
        ],
        vec![
            "plan",
            "--snapshot",
            &snap,
            "--detailed-exitcode",
            "--no-such-flag",
        ],
        vec!["plan", "--snapshot", &snap, "--call-timeout", "0s"],
        vec!["nosuchcommand"],
        vec![],
    ] {
        let o = iamwarden(&args, &[]);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("error:") || stderr(&o).contains("Usage:"),
            "{args:?}: {}",
            stderr(&o)
        );
        assert!(stdout(&o).is_empty(), "{args:?}");
    }
    // Help and the version are not errors.
    for args in [["--help"], ["--version"]] {
        let o = iamwarden(&args, &[]);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert!(!stdout(&o).is_empty(), "{args:?}");
    }
    let o = iamwarden(&["plan", "--help"], &[]);
    assert_eq!(o.status.code(), Some(0));
    // And the code the flag's own docs give for changes is still 2.
    let o = iamwarden(
        &[
            "plan",
            "--snapshot",
            &snap,
            "--now",
            NOW,
            "--detailed-exitcode",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

fn out_exists(p: &str) -> bool {
    std::path::Path::new(p).exists()
}

/// (`+`, `~`, `-`) resource headers in a human diff (`  + user "x" {`).
fn signs(diff: &str) -> (usize, usize, usize) {
    let mut n = (0, 0, 0);
    for l in diff.lines() {
        let t = l.strip_prefix("  ").unwrap_or("");
        if !t.ends_with(" {") || t.matches('"').count() < 2 {
            continue;
        }
        match t.chars().next() {
            Some('+') if t.starts_with("+ ") => n.0 += 1,
            Some('~') if t.starts_with("~ ") => n.1 += 1,
            Some('-') if t.starts_with("- ") => n.2 += 1,
            _ => {}
        }
    }
    n
}

#[test]
fn the_summary_counts_follow_the_diffs_signs() {
    let dir = tempfile::tempdir().unwrap();
    let large = large_snapshot(dir.path());
    for snap in [demo(), large] {
        let o = iamwarden(&["plan", "--snapshot", &snap, "--now", NOW], &[]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let out = stdout(&o);
        let (add, change, delete) = signs(&out);
        assert!(add + change + delete > 0, "{out}");
        let want = format!("Plan: {add} to add, {change} to change, {delete} to delete.");
        assert!(
            out.lines().any(|l| l == want),
            "{snap}: the diff's signs say `{want}`; the plan says {:?}",
            out.lines().find(|l| l.starts_with("Plan: "))
        );
        // The JSON plan's summary agrees, and the markdown's bold line.
        let j = iamwarden(
            &[
                "plan",
                "--snapshot",
                &snap,
                "--now",
                NOW,
                "--format",
                "json",
            ],
            &[],
        );
        let v: serde_json::Value = serde_json::from_slice(&j.stdout).unwrap();
        assert_eq!(
            (
                v["summary"]["to_add"].as_u64(),
                v["summary"]["to_change"].as_u64(),
                v["summary"]["to_delete"].as_u64()
            ),
            (Some(add as u64), Some(change as u64), Some(delete as u64))
        );
        let md = iamwarden(
            &[
                "plan",
                "--snapshot",
                &snap,
                "--now",
                NOW,
                "--format",
                "markdown",
            ],
            &[],
        );
        assert!(stdout(&md).contains(&format!("**{want}**")), "{snap}");
    }
}

const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];

#[test]
fn the_human_plan_shows_report_only_findings_most_severe_first_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let large = large_snapshot(dir.path());
    for (snap, is_demo) in [(demo(), true), (large, false)] {
        let o = iamwarden(&["plan", "--snapshot", &snap, "--now", NOW], &[]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let out = stdout(&o);
        let head = out
            .lines()
            .find(|l| l.starts_with("Findings without actions ("))
            .unwrap_or_else(|| panic!("{snap}: no report-only section:\n{out}"));
        let total: usize = head
            .trim_start_matches("Findings without actions (")
            .split(')')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let section: Vec<&str> = out
            .lines()
            .skip_while(|l| !l.starts_with("Findings without actions ("))
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .collect();
        let shown: Vec<&str> = section
            .iter()
            .copied()
            .filter(|l| l.starts_with("  ["))
            .collect();
        // One line each, with the severity first, most severe first.
        let ranks: Vec<usize> = shown
            .iter()
            .map(|l| {
                let sev = l.trim_start_matches("  [").split(']').next().unwrap();
                SEVERITIES
                    .iter()
                    .position(|s| *s == sev)
                    .unwrap_or_else(|| panic!("{l}"))
            })
            .collect();
        assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{section:#?}");
        // Bounded: at most 40 lines, then how many more and where they are.
        if total > 40 {
            assert_eq!(shown.len(), 40, "{head}");
            let more = format!("  ... and {} more", total - shown.len());
            assert!(
                section.last().is_some_and(|l| l.starts_with(&more)),
                "{:?}",
                section.last()
            );
        } else {
            assert_eq!(total, shown.len(), "{section:#?}");
        }
        if is_demo {
            // The critical findings no action answers are visible in the default output.
            assert!(
                shown.iter().any(|l| l.contains("root-without-mfa"))
                    && shown.iter().any(|l| l.contains("role-trust-any-principal")),
                "{section:#?}"
            );
        } else {
            assert!(
                total > 40,
                "the large account's report-only findings: {total}"
            );
        }
    }
}

#[test]
fn scripts_test_closes_with_one_total_line() {
    // A recorded `cargo test` log: two test binaries (one failing), one that crashed before
    // its result line (counted as one failure), and a doc-test run.
    let log = "\
     Running unittests src/lib.rs (target/debug/deps/core-1)\n\
running 3 tests\n\
test a ... ok\n\
test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s\n\
\n\
running 5 tests\n\
test b ... FAILED\n\
test result: FAILED. 3 passed; 2 failed; 1 ignored; 0 measured; 0 filtered out; finished in 1.2s\n\
     Running ../../tests/crash.rs (target/debug/deps/crash-3)\n\
running 2 tests\n\
test c ... ok\n\
error: test failed, to rerun pass `-p iamwarden --test crash`\n\
   Doc-tests iamwarden_core\n\
test result: ok. 4 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.3s\n\
error: test failed, to rerun pass `-p iamwarden --test x`\n";
    let mut child = Command::new(root().join("scripts/test-total"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(log.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    assert_eq!(stdout(&o), "10 passed, 3 failed\n");
    // scripts/test ends with it, after cargo's own output, and keeps cargo's exit status.
    let script = std::fs::read_to_string(root().join("scripts/test")).unwrap();
    let tail: Vec<&str> = script
        .lines()
        .rev()
        .filter(|l| !l.trim().is_empty())
        .take(2)
        .collect();
    assert_eq!(
        tail,
        vec!["exit \"$status\"", "./scripts/test-total <\"$log\""],
        "{script}"
    );
}

/// The top-level commands in `iamwarden --help` (without `help`), and `org`'s subcommands.
fn commands() -> BTreeSet<String> {
    let list = |args: &[&str]| -> Vec<String> {
        let o = iamwarden(args, &[]);
        stdout(&o)
            .lines()
            .skip_while(|l| !l.starts_with("Commands:"))
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .filter_map(|l| l.split_whitespace().next())
            .filter(|c| *c != "help")
            .map(str::to_string)
            .collect()
    };
    let mut all = BTreeSet::new();
    for c in list(&["--help"]) {
        let subs = list(&[&c, "--help"]);
        if subs.is_empty() {
            all.insert(c);
        } else {
            for s in subs {
                all.insert(format!("{c} {s}"));
            }
        }
    }
    all
}

#[test]
fn the_readme_status_names_every_command_the_binary_has() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let status: String = readme
        .lines()
        .skip_while(|l| *l != "## Status")
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(!status.trim().is_empty(), "README.md has no `## Status`");
    let named: BTreeSet<String> = status
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    let commands = commands();
    assert!(commands.len() > 10, "{commands:?}");
    let missing: Vec<&String> = commands.iter().filter(|c| !named.contains(*c)).collect();
    assert!(
        missing.is_empty(),
        "README.md's Status section does not name {missing:?}"
    );
    // A command it names that the binary lacks is as wrong.
    let single: BTreeSet<String> = commands
        .iter()
        .map(|c| c.split(' ').next().unwrap().to_string())
        .collect();
    for n in &named {
        let word = n.split(' ').next().unwrap();
        let looks_like_command =
            n.chars().all(|c| c.is_ascii_lowercase() || c == ' ') && !n.contains("  ");
        if looks_like_command && !single.contains(word) {
            panic!("README.md's Status names `{n}`, which the binary lacks ({commands:?})");
        }
    }
}

#[test]
fn the_explain_line_of_the_readme_init_writes_runs_as_written() {
    // The guide's `explain` failed as written (only the built-ins load); so would the one in
    // the README `init` writes, unless it loads the repository's packs.
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let o = iamwarden(&["init", repo.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();
    let line = readme
        .split('`')
        .skip(1)
        .step_by(2)
        .find(|s| s.starts_with("iamwarden explain "))
        .unwrap_or_else(|| panic!("no `iamwarden explain` in init's README:\n{readme}"))
        .to_string();
    // The repository's own rule (not a built-in) and a user of the demo account.
    let run_in = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_iamwarden"))
            .args(args)
            .current_dir(&repo)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let list = run_in(&["rules", "list", "--rules", "packs", "--format", "json"]);
    assert_eq!(list.status.code(), Some(0), "{}", stderr(&list));
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let own = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            !r["pack"]
                .as_str()
                .unwrap_or("builtin")
                .starts_with("builtin/")
        })
        .unwrap_or_else(|| panic!("init's pack has no rule of its own: {v}"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let snap = demo();
    let args: Vec<String> = line
        .split_whitespace()
        .skip(1)
        .map(|w| match w {
            "ID" => own.clone(),
            "NAME" => "alice.nguyen".to_string(),
            "FILE" => snap.clone(),
            other => other.to_string(),
        })
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run_in(&args);
    assert_eq!(o.status.code(), Some(0), "{line}: {}", stderr(&o));
    assert!(stdout(&o).contains(&own), "{}", stdout(&o));
}

#[test]
fn the_readme_says_what_the_tests_need_as_scripts_test_installs_it() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let needs: String = readme
        .lines()
        .skip_while(|l| !l.starts_with("What the tests need"))
        .take_while(|l| !l.starts_with("## "))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        needs.contains("**Network**") && needs.contains("127.0.0.1"),
        "{needs}"
    );
    // Every venv script ./scripts/test runs, and its requirements file, is named.
    let script = std::fs::read_to_string(root().join("scripts/test")).unwrap();
    for tool in ["scripts/moto-venv", "scripts/lint-tools"] {
        assert!(script.contains(&format!("./{tool}")), "{tool}");
        assert!(needs.contains(tool), "README's test needs lack {tool}");
    }
    for req in ["requirements-moto.txt", "requirements-lint.txt"] {
        assert!(needs.contains(req), "README's test needs lack {req}");
    }
}
