//! Flags that mean the same on every command (issue 18, "Consistent flags across commands"):
//! `--format json` on validate, rules list and explain (shapes checked against the committed
//! schemas), the global `--quiet` and `--no-color`, `--stats` on every command that takes it,
//! the one default pack directory of validate and test; and the README's command table kept
//! equal to the binary's subcommands.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_test_support::root;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

const NOW: &str = "2026-11-01T00:00:00Z";

fn demo() -> String {
    root()
        .join("examples/demo-account.json")
        .display()
        .to_string()
}

/// The binary in `dir` (offline: no AWS environment reaches it).
fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_iamwarden"))
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .env_remove("AWS_ENDPOINT_URL")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap()
}

fn run(args: &[&str]) -> Output {
    run_in(&root(), args)
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", out(o)))
}

/// Fails unless `value` is valid under the committed `schemas/NAME.schema.json`.
fn conforms(name: &str, value: &Value) {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join(format!("schemas/{name}.schema.json"))).unwrap(),
    )
    .unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = v.iter_errors(value).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{name}: {errors:#?}");
}

fn broken_pack(dir: &Path) -> String {
    let p = dir.join("broken.yaml");
    std::fs::write(
        &p,
        "pack: {name: t/broken, version: 1.0.0}\nrules:\n  - id: r1\n    title: t\n    severity: hihg\n    select: $.users\n",
    )
    .unwrap();
    p.display().to_string()
}

#[test]
fn validate_speaks_json_with_every_problem_located() {
    let o = run(&["validate", "--format", "json", "builtin"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let v = json(&o);
    conforms("validation", &v);
    assert_eq!(v["valid"], true);
    let packs = v["packs"].as_array().unwrap();
    assert_eq!(packs.len(), 4, "{v}");
    let per_pack: u64 = packs.iter().map(|p| p["rules"].as_u64().unwrap()).sum();
    assert_eq!(v["rules"].as_u64(), Some(per_pack));
    assert!(v["errors"].as_array().unwrap().is_empty());

    let dir = tempfile::tempdir().unwrap();
    let bad = broken_pack(dir.path());
    let o = run(&["validate", "--format", "json", &bad]);
    assert_eq!(o.status.code(), Some(1), "a broken pack fails in JSON too");
    let v = json(&o);
    conforms("validation", &v);
    assert_eq!(v["valid"], false);
    let e = &v["errors"][0];
    assert_eq!(e["file"], bad.as_str(), "{v}");
    assert_eq!(e["line"], 5, "{v}");
    assert_eq!(e["rule"], "r1", "{v}");
    assert!(e["message"].as_str().unwrap().contains("hihg"), "{v}");
    // Human form: the same problem, on stderr, same exit status.
    let o = run(&["validate", &bad]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains(&format!("{bad}:5:")), "{}", err(&o));
}

#[test]
fn rules_list_speaks_json_with_the_table_rows() {
    let human = run(&["rules", "list"]);
    assert_eq!(human.status.code(), Some(0), "{}", err(&human));
    let rows = out(&human).lines().count() - 1; // the header
    let o = run(&["rules", "list", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let v = json(&o);
    conforms("rule-list", &v);
    let rules = v["rules"].as_array().unwrap();
    assert_eq!(rules.len(), rows);
    let r = rules
        .iter()
        .find(|r| r["id"] == "access-key-unused")
        .unwrap();
    assert_eq!(r["severity"], "high");
    assert_eq!(r["selects"], "access_keys");
    assert_eq!(r["pack"], "builtin/credentials");
    assert_eq!(
        r["remediation"],
        serde_json::json!(["deactivate_access_key"])
    );
    assert_eq!(r["params"]["days"], 90);
    let root_mfa = rules
        .iter()
        .find(|r| r["id"] == "root-without-mfa")
        .unwrap();
    assert_eq!(
        root_mfa["remediation"],
        serde_json::json!([]),
        "report only"
    );
}

#[test]
fn explain_takes_format_json_and_keeps_the_old_json_switch() {
    let base = [
        "explain",
        "--rule",
        "access-key-unused",
        "--resource",
        "AKIAI4DKJLNXW7FZ5MWD",
        "--snapshot",
    ];
    let with = |extra: &[&str]| {
        let d = demo();
        let mut a: Vec<&str> = base.to_vec();
        a.push(&d);
        a.extend(["--now", NOW]);
        a.extend(extra);
        run(&a)
    };
    let human = with(&[]);
    assert_eq!(human.status.code(), Some(0), "{}", err(&human));
    let o = with(&["--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let v = json(&o);
    conforms("explanation", &v);
    assert_eq!(v["rule"], "access-key-unused");
    assert!(v["condition"]["node"].is_string(), "{v}");
    let old = with(&["--json"]);
    assert_eq!(old.status.code(), Some(0));
    assert_eq!(json(&old), v, "--json is --format json");
    assert!(
        !out(&human).trim_start().starts_with('{'),
        "human by default"
    );
    let bad = with(&["--format", "yaml"]);
    assert_eq!(bad.status.code(), Some(1), "clap refuses an unknown format");
}

#[test]
fn quiet_silences_notices_but_never_errors_or_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json").display().to_string();
    let d = demo();
    let args = ["plan", "--snapshot", &d, "--now", NOW, "--out", &plan];
    let loud = run(&args);
    assert_eq!(loud.status.code(), Some(0), "{}", err(&loud));
    assert!(err(&loud).contains("Saved the plan to"), "{}", err(&loud));
    // Global: before the subcommand or after it.
    let mut before = vec!["--quiet"];
    before.extend(args);
    let mut after = args.to_vec();
    after.push("-q");
    for a in [before, after] {
        let q = run(&a);
        assert_eq!(q.status.code(), Some(0), "{}", err(&q));
        assert_eq!(err(&q), "", "nothing on stderr with --quiet");
        assert_eq!(out(&q), out(&loud), "the requested output is the same");
    }
    // Errors are never silenced.
    let q = run(&["--quiet", "plan", "--snapshot", "/nonexistent/snap.json"]);
    assert_eq!(q.status.code(), Some(1));
    assert!(err(&q).contains("error:"), "{}", err(&q));
    // Warnings neither: show on an edited plan.
    let mut p: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    p["account_id"] = "999999999999".into();
    std::fs::write(&plan, serde_json::to_string(&p).unwrap()).unwrap();
    let q = run(&["show", &plan, "--quiet"]);
    assert_eq!(q.status.code(), Some(0));
    assert!(err(&q).contains("warning:"), "{}", err(&q));
    // --stats is asked for: --quiet keeps it.
    let q = run(&["plan", "--snapshot", &d, "--now", NOW, "--stats", "-q"]);
    assert!(err(&q).contains("Evaluation and planning:"), "{}", err(&q));
    // event's per-record notices go too.
    let ev = root()
        .join("examples/events/log-file.json")
        .display()
        .to_string();
    let loud = run(&["event", &ev, "--snapshot", &d, "--now", NOW]);
    assert!(err(&loud).contains("record(s) skipped"), "{}", err(&loud));
    let q = run(&["event", &ev, "--snapshot", &d, "--now", NOW, "--quiet"]);
    assert_eq!(q.status.code(), loud.status.code());
    assert_eq!(err(&q), "", "{}", err(&q));
}

#[test]
fn no_color_is_global_and_the_old_per_command_switch_still_parses() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json").display().to_string();
    let d = demo();
    let plain = run(&["plan", "--snapshot", &d, "--now", NOW, "--out", &plan]);
    for args in [
        vec!["--no-color", "plan", "--snapshot", &d, "--now", NOW],
        vec!["plan", "--no-color", "--snapshot", &d, "--now", NOW],
        vec!["plan", "--snapshot", &d, "--now", NOW, "--no-color"],
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", err(&o));
        assert_eq!(out(&o), out(&plain), "{args:?}");
        assert!(!out(&o).contains('\u{1b}'));
    }
    for args in [
        vec!["show", &plan, "--no-color"],
        vec!["--no-color", "show", &plan],
        vec!["rules", "list", "--no-color"],
        vec!["validate", "--no-color", "builtin"],
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", err(&o));
    }
}

#[test]
fn stats_prints_on_every_command_that_takes_it() {
    let d = demo();
    let o = run(&["plan", "--snapshot", &d, "--now", NOW, "--stats"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let e = err(&o);
    assert!(e.contains("Rules: 31 from 4 pack(s)"), "{e}");
    assert!(
        e.contains("API calls (0): the inventory is the snapshot"),
        "{e}"
    );
    assert!(e.contains("Evaluation and planning: "), "{e}");
    let o = run(&[
        "explain",
        "--rule",
        "root-without-mfa",
        "--resource",
        "123456789012",
        "--snapshot",
        &d,
        "--stats",
    ]);
    let e = err(&o);
    assert!(e.contains("API calls (0)"), "{e}");
    let ev = root()
        .join("examples/events/attach-user-policy.json")
        .display()
        .to_string();
    let o = run(&["event", &ev, "--snapshot", &d, "--now", NOW, "--stats"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let e = err(&o);
    assert!(
        e.contains("API calls (0)") && e.contains("Evaluation and planning: 1 finding"),
        "{e}"
    );
    // Without --stats: none of it.
    let o = run(&["plan", "--snapshot", &d, "--now", NOW]);
    assert!(!err(&o).contains("Evaluation and planning"), "{}", err(&o));
}

#[test]
fn validate_and_test_default_to_the_same_pack_directory() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(dir.path(), &["init", "repo"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let repo = dir.path().join("repo");
    let v = run_in(&repo, &["validate"]);
    assert_eq!(v.status.code(), Some(0), "{}", err(&v));
    assert!(out(&v).contains("ok  acme/iam@1.0.0"), "{}", out(&v));
    assert!(
        err(&v).contains("validating the packs in packs"),
        "{}",
        err(&v)
    );
    assert_eq!(out(&v), out(&run_in(&repo, &["validate", "packs"])));
    let t = run_in(&repo, &["test"]);
    assert_eq!(t.status.code(), Some(0), "{}", err(&t));
    assert!(out(&t).contains("packs/acme.tests.yaml"), "{}", out(&t));
    assert!(
        err(&t).contains("running the tests under packs"),
        "{}",
        err(&t)
    );
    assert!(out(&t).contains("3 passed, 0 failed"), "{}", out(&t));
    // Packs in the directory itself: both read `.`.
    let flat = repo.join("packs");
    let v = run_in(&flat, &["validate"]);
    assert!(err(&v).contains("validating the packs in ."), "{}", err(&v));
    assert!(out(&v).contains("acme/iam"), "{}", out(&v));
    let t = run_in(&flat, &["test"]);
    assert!(out(&t).contains("3 passed, 0 failed"), "{}", out(&t));
    // No packs anywhere: validate checks the built-ins, test finds nothing to run.
    let nothing = tempfile::tempdir().unwrap();
    let empty = nothing.path();
    let v = run_in(empty, &["validate"]);
    assert_eq!(v.status.code(), Some(0), "{}", err(&v));
    assert!(out(&v).contains("ok  builtin/credentials"), "{}", out(&v));
    let t = run_in(empty, &["test"]);
    assert_eq!(t.status.code(), Some(1));
    assert!(
        err(&t).contains("no rule tests (*.tests.yaml) under ."),
        "{}",
        err(&t)
    );
}

/// The subcommands in `iamwarden [SUB] --help`'s "Commands:" list (without `help`).
fn subcommands(path: &[&str]) -> BTreeSet<String> {
    let mut args = path.to_vec();
    args.push("--help");
    let help = out(&run(&args));
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn the_readme_command_table_has_every_command_the_binary_has() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let table: Vec<&str> = readme
        .lines()
        .skip_while(|l| !l.starts_with("| command |"))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .collect();
    assert!(!table.is_empty(), "README.md has no `| command |` table");
    // Every `iamwarden WORD [WORD]` that opens a backtick span in a row's first cell.
    let mut named = BTreeSet::new();
    for row in &table {
        let first = row
            .trim_start_matches('|')
            .split(" | ")
            .next()
            .unwrap_or("");
        for span in first.split('`').skip(1).step_by(2) {
            let words: Vec<&str> = span.split_whitespace().collect();
            if words.first() == Some(&"iamwarden") {
                if let Some(c) = words.get(1) {
                    named.insert(c.to_string());
                    if let Some(sub) = words
                        .get(2)
                        .filter(|s| s.chars().all(|c| c.is_ascii_lowercase()))
                    {
                        named.insert(format!("{c} {sub}"));
                    }
                }
            }
        }
    }
    let mut commands = subcommands(&[]);
    for parent in commands.clone() {
        for sub in subcommands(&[&parent]) {
            commands.insert(format!("{parent} {sub}"));
        }
    }
    let missing: Vec<&String> = commands.difference(&named).collect();
    assert!(
        missing.is_empty(),
        "README.md's command table lacks {missing:?}"
    );
    // A row for a command the binary does not have is as wrong (a row's first word after
    // `iamwarden` is a command; its second only when it is one of that command's subcommands).
    let top: BTreeSet<&String> = named.iter().filter(|n| !n.contains(' ')).collect();
    let unknown: Vec<&&String> = top.iter().filter(|n| !commands.contains(**n)).collect();
    assert!(
        unknown.is_empty(),
        "README.md names commands the binary lacks: {unknown:?}"
    );
    assert!(
        commands.contains("init") && commands.contains("org plan"),
        "{commands:?}"
    );
}
