//! The `iamwarden` binary end to end: golden diffs on the demo account, exit codes, and the
//! error messages a user sees. Golden files: `UPDATE_GOLDEN=1 cargo test --test cli` rewrites them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_test_support::golden;
use iamwarden_test_support::root;

use std::path::Path;
use std::process::{Command, Output};

const NOW: &str = "2026-11-01T00:00:00Z";

fn demo() -> String {
    root()
        .join("examples/demo-account.json")
        .display()
        .to_string()
}

fn iamwarden(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_iamwarden"))
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Writes the demo account's plan (at [`NOW`]) to `dir/plan.json` and returns its path.
fn demo_plan_in(dir: &std::path::Path) -> std::path::PathBuf {
    let file = dir.join("plan.json");
    let o = iamwarden(&[
        "plan",
        "--snapshot",
        &demo(),
        "--now",
        NOW,
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    file
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn golden(name: &str, actual: &str) {
    golden::check(&format!("tests/golden/{name}"), actual);
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn human_diff_of_the_demo_account_is_golden() {
    let o = iamwarden(&["plan", "--snapshot", &demo(), "--now", NOW]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        !out.contains('\u{1b}'),
        "no colour when stdout is not a terminal"
    );
    assert!(out.contains("Plan: "), "{out}");
    golden("demo-plan.txt", &out);
}

#[test]
fn markdown_diff_of_the_demo_account_is_golden() {
    let o = iamwarden(&[
        "plan",
        "--snapshot",
        &demo(),
        "--now",
        NOW,
        "--format",
        "markdown",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    golden("demo-plan.md", &stdout(&o));
}

#[test]
fn sarif_of_the_demo_account_is_golden_and_well_formed() {
    let o = iamwarden(&[
        "plan",
        "--snapshot",
        &demo(),
        "--now",
        NOW,
        "--format",
        "sarif",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    golden("demo-plan.sarif.json", &out);
    let log: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    let plan: serde_json::Value = serde_json::from_slice(
        &iamwarden(&[
            "plan",
            "--snapshot",
            &demo(),
            "--now",
            NOW,
            "--format",
            "json",
        ])
        .stdout,
    )
    .unwrap();
    assert_eq!(
        results.len(),
        plan["findings"].as_array().unwrap().len(),
        "one result per finding"
    );
    for r in results {
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[i]["id"], r["ruleId"], "ruleIndex points at the rule");
        // Built-in rules are not files of the user's repository: no physical location, the
        // IAM resource (its ARN) as the logical location.
        let loc = &r["locations"][0];
        assert!(loc.get("physicalLocation").is_none(), "{loc}");
        let logical = &loc["logicalLocations"][0];
        assert_eq!(logical["kind"], "resource");
        assert!(
            logical["fullyQualifiedName"]
                .as_str()
                .is_some_and(|n| !n.is_empty()),
            "{logical}"
        );
        assert!(["error", "warning", "note"].contains(&r["level"].as_str().unwrap()));
    }
    assert_sarif_schema(&log);
}

/// Validates a SARIF log against the OASIS SARIF 2.1.0 JSON schema (committed as
/// tests/support/sarif-schema-2.1.0.json: the `sarif-2.1.0.json` that npm's
/// `@microsoft/sarif-multitool-linux` 5.7.0 ships, MIT).
fn assert_sarif_schema(log: &serde_json::Value) {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/support/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = v
        .iter_errors(log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "SARIF 2.1.0 schema: {errors:?}");
}

/// Issue 17: a rule of the user's own pack keeps its physical location (its line in the pack
/// file, relative to the repository); a built-in rule points where that pack brings it in
/// (GitHub code scanning shows only results with a file); built-ins alone point nowhere.
#[test]
fn sarif_locates_user_pack_rules_in_their_file_and_validates() {
    let example = root().join("examples/policy-as-code");
    let o = Command::new(env!("CARGO_BIN_EXE_iamwarden"))
        .args([
            "plan",
            "--rules",
            "builtin",
            "--rules",
            "packs",
            "--snapshot",
            &demo(),
            "--now",
            NOW,
            "--format",
            "sarif",
        ])
        .current_dir(&example)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let log: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_sarif_schema(&log);
    let results = log["runs"][0]["results"].as_array().unwrap();
    let (mut user, mut builtin, mut included, mut overridden) = (0, 0, 0, 0);
    for r in results {
        let loc = &r["locations"][0];
        assert!(loc["logicalLocations"][0]["fullyQualifiedName"].is_string());
        if r["ruleId"] == "contractors-without-mfa" {
            user += 1;
            let phys = &loc["physicalLocation"];
            assert_eq!(phys["artifactLocation"]["uri"], "packs/acme.yaml", "{phys}");
            let line = phys["region"]["startLine"].as_u64().unwrap() as usize;
            let text = std::fs::read_to_string(example.join("packs/acme.yaml")).unwrap();
            let at = text.lines().nth(line - 1).unwrap();
            assert!(
                at.contains("id: contractors-without-mfa"),
                "line {line}: {at}"
            );
        } else {
            // A built-in rule: where packs/acme.yaml brings it in, its override or the include.
            builtin += 1;
            let phys = &loc["physicalLocation"];
            assert_eq!(phys["artifactLocation"]["uri"], "packs/acme.yaml", "{phys}");
            let line = phys["region"]["startLine"].as_u64().unwrap() as usize;
            let text = std::fs::read_to_string(example.join("packs/acme.yaml")).unwrap();
            let at = text.lines().nth(line - 1).unwrap();
            let rule = r["ruleId"].as_str().unwrap();
            if at.starts_with("include:") {
                included += 1;
                assert!(at.contains("builtin"), "{at}");
                assert!(
                    !text.contains(&format!("\n  {rule}:")),
                    "{rule} is overridden, so its override is the location"
                );
            } else {
                assert_eq!(at, format!("  {rule}:"), "line {line}");
                overridden += 1;
            }
        }
    }
    assert!(user > 0 && builtin > 0, "user {user}, builtin {builtin}");
    assert!(included > 0 && overridden > 0, "{included} {overridden}");
    // Built-in rules alone (no pack of the user's): no file to point at.
    let o = Command::new(env!("CARGO_BIN_EXE_iamwarden"))
        .args([
            "plan",
            "--rules",
            "builtin",
            "--snapshot",
            &demo(),
            "--now",
            NOW,
        ])
        .args(["--format", "sarif"])
        .current_dir(&example)
        .output()
        .unwrap();
    let alone: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(alone["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["locations"][0].get("physicalLocation").is_none()));
    // The schema does refuse a broken log (a result without its message).
    let mut broken = log.clone();
    broken["runs"][0]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("message");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/support/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    assert!(!jsonschema::validator_for(&schema)
        .unwrap()
        .is_valid(&broken));
}

/// `iamwarden --version`: the crate version and the git commit it was built from (issue 17).
#[test]
fn version_names_the_release_and_the_commit() {
    let o = iamwarden(&["--version"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let head = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(head.status.success(), "the tests run in the repository");
    let head = String::from_utf8(head.stdout).unwrap();
    assert_eq!(
        stdout(&o),
        format!(
            "iamwarden {} (commit {})\n",
            env!("CARGO_PKG_VERSION"),
            head.trim()
        )
    );
}

/// The build script outside the repository (a crates.io tarball: no .git), and where git
/// itself is missing: the commit is `unknown` and the build goes on.
#[test]
fn build_script_says_unknown_without_the_repository() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("build-script");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let o = Command::new(rustc)
        .args(["--edition", "2021", "-o"])
        .arg(&bin)
        .arg(root().join("engine/cli/build.rs"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    // The crate unpacked as cargo does a registry tarball: iamwarden-VERSION/ with build.rs.
    let krate = dir.path().join("iamwarden-0.1.0");
    std::fs::create_dir_all(&krate).unwrap();
    std::fs::copy(root().join("engine/cli/build.rs"), krate.join("build.rs")).unwrap();
    let outside = dir.path().parent().unwrap();
    let run = |path: Option<&str>| {
        let mut c = Command::new(&bin);
        c.env("CARGO_MANIFEST_DIR", &krate)
            .env("GIT_CEILING_DIRECTORIES", outside)
            .current_dir(&krate);
        if let Some(p) = path {
            c.env("PATH", p);
        }
        c.output().unwrap()
    };
    for o in [run(None), run(Some(""))] {
        assert!(o.status.success(), "{}", stderr(&o));
        let said = stdout(&o);
        assert!(
            said.lines()
                .any(|l| l == "cargo:rustc-env=IAMWARDEN_GIT_COMMIT=unknown"),
            "{said}"
        );
    }
    // A tarball unpacked inside some other repository does not take that repository's commit.
    let git = |args: &[&str]| {
        let o = Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(o.status.success(), "git {args:?}: {}", stderr(&o));
    };
    git(&["init", "-q"]);
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@localhost",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "x",
    ]);
    let o = run(None);
    assert!(
        stdout(&o).contains("IAMWARDEN_GIT_COMMIT=unknown"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn json_plan_is_reproducible_and_equals_the_saved_plan() {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("plan.json");
    let a = iamwarden(&[
        "plan",
        "--snapshot",
        &demo(),
        "--now",
        NOW,
        "--format",
        "json",
        "--out",
        &out_file.display().to_string(),
    ]);
    assert_eq!(a.status.code(), Some(0), "{}", stderr(&a));
    let b = iamwarden(&[
        "plan",
        "--snapshot",
        &demo(),
        "--now",
        NOW,
        "--format",
        "json",
    ]);
    let mut pa: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    let mut pb: serde_json::Value = serde_json::from_slice(&b.stdout).unwrap();
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    assert_eq!(pa, saved, "--out writes the plan that --format json prints");
    assert_eq!(pa["now"], NOW);
    assert_eq!(pa["account_id"], "123456789012");
    assert!(pa["inventory_fingerprint"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert_eq!(
        pa["packs"].as_array().unwrap().len(),
        iamwarden_core::packs::BUILTIN.len()
    );
    assert!(pa["content_sha256"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    // Only the wall clock (and so the content hash) differs between two runs.
    for p in [&mut pa, &mut pb] {
        p["created_at"] = serde_json::Value::Null;
        p["content_sha256"] = serde_json::Value::Null;
    }
    assert_eq!(pa, pb, "same inputs and clock, same plan");
    // The plan validates against the committed schema.
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schemas/plan.schema.json")).unwrap(),
    )
    .unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = v.iter_errors(&saved).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn detailed_exitcode_follows_terraform() {
    let o = iamwarden(&[
        "plan",
        "--snapshot",
        &demo(),
        "--now",
        NOW,
        "--detailed-exitcode",
    ]);
    assert_eq!(o.status.code(), Some(2), "changes present: {}", stderr(&o));
    let dir = tempfile::tempdir().unwrap();
    let pack = write(
        dir.path(),
        "quiet.yaml",
        "pack: {name: t/quiet, version: 0.1.0}\nrules:\n  - id: nobody-named-this\n    title: t\n    severity: low\n    select: $.users[?(@.name == 'no-such-user')]\n    remediation: [{step: quarantine_user}]\n",
    );
    let o = iamwarden(&[
        "plan",
        "--snapshot",
        &demo(),
        "--now",
        NOW,
        "--rules",
        &pack,
        "--detailed-exitcode",
    ]);
    assert_eq!(o.status.code(), Some(0), "no changes: {}", stderr(&o));
    assert!(stdout(&o).contains("No changes."), "{}", stdout(&o));
    let o = iamwarden(&["plan", "--snapshot", &demo(), "--now", NOW]);
    assert_eq!(o.status.code(), Some(0), "without the flag, success is 0");
}

#[test]
fn rules_builtin_plus_a_team_pack() {
    let dir = tempfile::tempdir().unwrap();
    let pack = write(
        dir.path(),
        "team.yaml",
        "pack: {name: acme/team, version: 1.2.0}\nrules:\n  - id: contractors-without-mfa\n    title: Contractor with console access and no MFA\n    severity: high\n    select: $.users\n    when:\n      all:\n        - {path: $.tags.team, eq: contractors}\n        - {path: $.password_enabled, eq: true}\n        - {path: $.mfa_enabled, eq: false}\n",
    );
    let o = iamwarden(&["rules", "list", "--rules", "builtin", "--rules", &pack]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("contractors-without-mfa") && out.contains("access-key-unused"),
        "{out}"
    );
    let o = iamwarden(&["validate", "builtin", &pack]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The built-in packs and rules, counted from what is loaded, and the one rule of team.yaml.
    let builtin_rules = iamwarden_core::packs::load_rule_set(&[])
        .unwrap()
        .rules
        .len();
    let want = format!(
        "{} packs, {} rules: valid",
        iamwarden_core::packs::BUILTIN.len() + 1,
        builtin_rules + 1
    );
    assert!(stdout(&o).contains(&want), "{}", stdout(&o));
    // --rules replaces the built-ins.
    let o = iamwarden(&[
        "plan",
        "--snapshot",
        &demo(),
        "--now",
        NOW,
        "--rules",
        &pack,
        "--format",
        "json",
    ]);
    let plan: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(plan["packs"].as_array().unwrap().len(), 1);
    assert!(plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["rule"] == "contractors-without-mfa"));
}

#[test]
fn broken_packs_report_every_error_with_file_line_col_and_fail() {
    let dir = tempfile::tempdir().unwrap();
    let pack = write(
        dir.path(),
        "broken.yaml",
        "pack:\n  name: t/broken\n  version: 1.0.0\nrules:\n  - id: first\n    title: t\n    severity: high\n    select: $.access_keys\n    when:\n      path: $.last_used_at\n      older_thn: 90d\n  - id: second\n    title: t\n    severity: high\n    select: $.userz\n",
    );
    let o = iamwarden(&["validate", &pack]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("broken.yaml:11:7: error in rule `first`, field `when.older_thn`: unknown field `older_thn` (did you mean `older_than`?)"), "{err}");
    // The schema pass stops before semantic checks; fix the field and the next error shows.
    let fixed = std::fs::read_to_string(&pack)
        .unwrap()
        .replace("older_thn", "older_than");
    std::fs::write(&pack, fixed).unwrap();
    let o = iamwarden(&["validate", &pack]);
    let err = stderr(&o);
    assert!(
        err.contains(
            "broken.yaml:15:13: error in rule `second`, field `select`: unknown collection `userz`"
        ),
        "{err}"
    );
    assert!(err.contains("did you mean `users`?"), "{err}");
    assert!(!err.contains("panicked"));
    // A plan with a broken pack yields no plan at all.
    let out_file = dir.path().join("plan.json");
    let o = iamwarden(&[
        "plan",
        "--snapshot",
        &demo(),
        "--rules",
        &pack,
        "--out",
        &out_file.display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        !out_file.exists(),
        "a broken pack never yields a partial plan"
    );
}

#[test]
fn bad_snapshot_and_bad_clock_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let snap = write(
        dir.path(),
        "snap.json",
        "{\n  \"account\": {\"id\": \"1\"},\n  \"users\": [ {\"name\": 3} ]\n}\n",
    );
    let o = iamwarden(&["plan", "--snapshot", &snap]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("snap.json:3:"), "{err}");
    assert!(err.contains("invalid inventory snapshot"), "{err}");
    let o = iamwarden(&["plan", "--snapshot", &demo(), "--now", "yesterday"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("--now `yesterday` is neither an RFC 3339 timestamp"),
        "{}",
        stderr(&o)
    );
    let o = iamwarden(&["plan", "--snapshot", "/nonexistent/snap.json"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("/nonexistent/snap.json: cannot read snapshot: No such file"),
        "{}",
        stderr(&o)
    );
    // The cause is printed once.
    assert_eq!(
        stderr(&o).matches("No such file").count(),
        1,
        "{}",
        stderr(&o)
    );
}

#[test]
fn schema_command_prints_the_committed_schemas() {
    for name in ["rule-pack", "inventory", "plan"] {
        let o = iamwarden(&["schema", name]);
        assert_eq!(o.status.code(), Some(0));
        let committed =
            std::fs::read_to_string(root().join(format!("schemas/{name}.schema.json"))).unwrap();
        assert_eq!(stdout(&o), committed, "{name}");
    }
}

/// Runs iamwarden with no AWS credentials anywhere and instance metadata disabled, so the
/// credential chain never leaves this machine.
fn iamwarden_isolated(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_iamwarden"));
    cmd.args(args)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/iamwarden-test/config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/iamwarden-test/credentials",
        );
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn live_read_without_credentials_says_how_to_provide_them() {
    let o = iamwarden_isolated(
        &[
            "snapshot",
            "--out",
            "/nonexistent/x.json",
            "--endpoint-url",
            "http://127.0.0.1:1",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("GetAccountAuthorizationDetails failed: no usable AWS credentials"),
        "{err}"
    );
    assert!(err.contains("--profile"), "{err}");
}

#[test]
fn live_read_of_an_unreachable_endpoint_names_the_call() {
    let o = iamwarden_isolated(
        &["plan", "--endpoint-url", "http://127.0.0.1:1"],
        &[
            ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "do-not-print-me"),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains(
            "GetAccountAuthorizationDetails failed: cannot reach the endpoint (connection refused)"
        ),
        "{err}"
    );
    assert!(
        !err.contains("do-not-print-me"),
        "a secret was printed: {err}"
    );
    assert!(stdout(&o).is_empty(), "no partial plan");
}

#[test]
fn now_as_a_date_is_midnight_utc() {
    let a = iamwarden(&[
        "plan",
        "--snapshot",
        &demo(),
        "--now",
        "2026-11-01",
        "--format",
        "json",
    ]);
    let b = iamwarden(&[
        "plan",
        "--snapshot",
        &demo(),
        "--now",
        "2026-11-01T00:00:00Z",
        "--format",
        "json",
    ]);
    assert_eq!(a.status.code(), Some(0), "{}", stderr(&a));
    let now = |o: &Output| {
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["now"].clone()
    };
    assert_eq!(now(&a), now(&b));
    assert_eq!(now(&a), "2026-11-01T00:00:00Z");
}

#[test]
fn explain_of_an_unknown_rule_points_at_the_packs_in_the_directory() {
    // The guide's `explain` failed as written: only the built-ins load without --rules.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("packs")).unwrap();
    write(
        &dir.path().join("packs"),
        "team.yaml",
        "pack: {name: acme/team, version: 1.0.0}\nrules:\n  - id: contractors-without-mfa\n    title: t\n    severity: high\n    select: $.users\n    when: {path: $.mfa_enabled, eq: false}\n",
    );
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_iamwarden"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let base = [
        "explain",
        "--rule",
        "contractors-without-mfa",
        "--resource",
        "alice.nguyen",
        "--snapshot",
    ];
    let mut args: Vec<&str> = base.to_vec();
    let snap = demo();
    args.push(&snap);
    let o = run(&args);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("no rule `contractors-without-mfa` in the built-in packs")
            && err.contains("try `--rules packs`"),
        "{err}"
    );
    args.extend(["--rules", "packs"]);
    let o = run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("contractors-without-mfa"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_file_of_the_wrong_kind_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let plan = demo_plan_in(dir.path());
    let plan = plan.display().to_string();
    let snapshot = demo();
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["apply", &snapshot, "--auto-approve"],
            "is an inventory snapshot (iamwarden snapshot --out), not what was asked for: apply and show take a plan".into(),
        ),
        (
            vec!["undo", &plan, "--auto-approve"],
            format!("is a plan (iamwarden plan --out), not what was asked for: undo takes the journal apply wrote; its journal is {plan}.journal.jsonl"),
        ),
        (
            vec!["plan", "--snapshot", &plan],
            "is a plan (iamwarden plan --out), not what was asked for: --snapshot takes an inventory snapshot".into(),
        ),
    ];
    for (args, want) in cases {
        let o = iamwarden(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(stderr(&o).contains(&want), "{args:?}: {}", stderr(&o));
    }
    let empty = write(dir.path(), "empty.json", "[]\n");
    let o = iamwarden(&["plan", "--snapshot", &empty]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("empty.json is a JSON array, not what was asked for: --snapshot takes an inventory snapshot"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_markdown_plan_of_a_large_account_fits_a_pull_request_comment() {
    // 1,000 users made a 627,651-character comment; GitHub refuses more than 65,536.
    let dir = tempfile::tempdir().unwrap();
    let inv = iamwarden_test_support::synth::generate(1_000, 7);
    let snap = dir.path().join("snap.json");
    std::fs::write(
        &snap,
        iamwarden_core::inventory::snapshot::to_json(&inv).unwrap(),
    )
    .unwrap();
    let snap = snap.display().to_string();
    for (max, args) in [(60_000, vec![]), (10_000, vec!["--max-chars", "10000"])] {
        let mut all = vec![
            "plan",
            "--snapshot",
            &snap,
            "--now",
            NOW,
            "--format",
            "markdown",
        ];
        all.extend(args);
        let o = iamwarden(&all);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let md = stdout(&o);
        assert!(md.chars().count() <= max, "{} > {max}", md.chars().count());
        assert!(md.contains("| Severity | Findings | Actions |"), "{md}");
        assert!(md.contains("more changes in the attached plan"), "{md}");
        // The most severe change comes first.
        let first_row = md
            .lines()
            .find(|l| l.starts_with("| `"))
            .unwrap_or_default()
            .to_string();
        assert!(
            first_row.contains("| critical |") || first_row.contains("| high |"),
            "{first_row}"
        );
    }
    let o = iamwarden(&[
        "plan",
        "--snapshot",
        &snap,
        "--now",
        NOW,
        "--format",
        "markdown",
        "--max-chars",
        "100",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("--max-chars 100 is too small"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn fail_on_gates_ci_on_the_severity_of_any_finding() {
    // The demo account has critical report-only findings (root without MFA) and no info ones.
    let run = |extra: &[&str]| {
        let mut args = vec!["plan", "--snapshot", demo_path(), "--now", NOW];
        args.extend_from_slice(extra);
        iamwarden(&args)
    };
    let o = run(&["--fail-on", "critical"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("finding(s) at or above severity critical (--fail-on): exit 4"),
        "{}",
        stderr(&o)
    );
    assert!(
        stdout(&o).contains("root-without-mfa"),
        "the plan is still shown"
    );
    // The gate wins over --detailed-exitcode's 2.
    let o = run(&["--fail-on", "high", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(4));
    let o = run(&["--fail-on", "sever"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a usage error is an error, never --detailed-exitcode's 2"
    );
    assert!(
        stderr(&o).contains("`sever` is not a severity"),
        "{}",
        stderr(&o)
    );
    // No finding reaches the bar: the usual codes.
    let dir = tempfile::tempdir().unwrap();
    let pack = write(
        dir.path(),
        "low.yaml",
        "pack: {name: t/low, version: 0.1.0}\nrules:\n  - id: every-user\n    title: t\n    severity: low\n    select: $.users\n",
    );
    let o = run(&["--rules", &pack, "--fail-on", "medium"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run(&["--rules", &pack, "--fail-on", "low"]);
    assert_eq!(o.status.code(), Some(4));
    // With --format json --out the findings wait in a file, not in memory: the gate counts
    // them all the same, and the file is all that is left in its directory.
    let out_dir = tempfile::tempdir().unwrap();
    let plan_file = out_dir.path().join("plan.json");
    let plan_path = plan_file.to_str().unwrap();
    let json_out = ["--format", "json", "--out", plan_path];
    let o = run(&[&json_out[..], &["--fail-on", "critical"]].concat());
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let on_stdout = stdout(&o);
    assert_eq!(on_stdout, std::fs::read_to_string(&plan_file).unwrap());
    assert!(on_stdout.contains("root-without-mfa"));
    let o = run(&[&json_out[..], &["--rules", &pack, "--fail-on", "medium"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run(&[&json_out[..], &["--rules", &pack, "--fail-on", "low"]].concat());
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    // A plan that cannot be written is an error naming it, whichever way it would be written.
    let nowhere = out_dir.path().join("no-such-dir/plan.json");
    let nowhere = nowhere.to_str().unwrap();
    for format in ["json", "human"] {
        let o = run(&["--format", format, "--out", nowhere]);
        assert_eq!(o.status.code(), Some(1), "{format}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("cannot write the plan to {nowhere}")),
            "{format}: {}",
            stderr(&o)
        );
    }
    let left: Vec<_> = std::fs::read_dir(out_dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["plan.json"]);
    // event has the same gate.
    let ev = root().join("examples/events/create-policy.json");
    let o = iamwarden(&[
        "event",
        ev.to_str().unwrap(),
        "--snapshot",
        demo_path(),
        "--now",
        NOW,
        "--fail-on",
        "info",
    ]);
    assert_eq!(o.status.code(), Some(4), "{}{}", stdout(&o), stderr(&o));
}

fn demo_path() -> &'static str {
    static DEMO: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DEMO.get_or_init(demo)
}

#[test]
fn show_renders_a_saved_plan_as_plan_did() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let plan_s = plan.to_str().unwrap();
    for format in ["human", "markdown", "json", "sarif"] {
        let made = iamwarden(&[
            "plan",
            "--snapshot",
            demo_path(),
            "--now",
            NOW,
            "--format",
            format,
            "--out",
            plan_s,
        ]);
        assert!(made.status.success(), "{}", stderr(&made));
        let shown = iamwarden(&["show", plan_s, "--format", format]);
        assert_eq!(shown.status.code(), Some(0), "{}", stderr(&shown));
        assert_eq!(stdout(&made), stdout(&shown), "{format}");
        assert!(stderr(&shown).is_empty(), "{}", stderr(&shown));
    }
    // An edited plan is shown with a warning (apply is what refuses it).
    let text = std::fs::read_to_string(&plan).unwrap();
    std::fs::write(
        &plan,
        text.replacen(
            "\"account_id\": \"123456789012\"",
            "\"account_id\": \"999999999999\"",
            1,
        ),
    )
    .unwrap();
    let shown = iamwarden(&["show", plan_s]);
    assert_eq!(shown.status.code(), Some(0));
    assert!(
        stderr(&shown).contains("was edited after it was made"),
        "{}",
        stderr(&shown)
    );
}

#[test]
fn completions_and_the_man_page_come_from_the_command_definitions() {
    for shell in ["bash", "zsh", "fish"] {
        let o = iamwarden(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}");
        let script = stdout(&o);
        for sub in ["plan", "apply", "undo", "show", "explain"] {
            assert!(script.contains(sub), "{shell} completion lacks {sub}");
        }
    }
    let o = iamwarden(&["man"]);
    assert_eq!(o.status.code(), Some(0));
    let man = stdout(&o);
    assert!(man.contains(".TH iamwarden 1"), "{man}");
    assert!(man.contains("show"), "{man}");
}

#[test]
fn a_reader_that_goes_away_is_not_an_error() {
    // `iamwarden plan --format json | head -c 0`: the pipe is closed before the plan is written
    // (closed right after the start, while the binary is still loading the packs).
    let mut child = Command::new(env!("CARGO_BIN_EXE_iamwarden"))
        .args([
            "plan",
            "--snapshot",
            &demo(),
            "--now",
            NOW,
            "--format",
            "json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?} {}", out.status, stderr(&out));
    assert!(!stderr(&out).contains("Broken pipe"), "{}", stderr(&out));
}

#[test]
fn plan_out_writes_the_same_json_as_stdout_and_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.json");
    let o = iamwarden(&[
        "plan",
        "--snapshot",
        &demo(),
        "--now",
        NOW,
        "--format",
        "json",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let saved = std::fs::read_to_string(&file).unwrap();
    let shown: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let kept: serde_json::Value = serde_json::from_str(&saved).unwrap();
    assert_eq!(shown["content_sha256"], kept["content_sha256"]);
    assert!(saved.ends_with("}\n"));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// A plan whose action part does not fit its step (hand-edited, or written by another tool) is
/// refused when it is read, by `show` and by `apply` alike, naming the action, the part and the
/// step; apply refuses before it looks for credentials.
#[test]
fn a_plan_part_that_does_not_fit_its_step_is_refused_naming_the_action() {
    let dir = tempfile::tempdir().unwrap();
    let file = demo_plan_in(dir.path());
    let mut plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let action = plan["actions"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|a| a["action"] == "deactivate_access_key")
        .expect("the demo plan deactivates a key");
    action["precondition"]
        .as_object_mut()
        .unwrap()
        .remove("last_used_at");
    let id = action["id"].as_str().unwrap().to_string();
    let edited = write(dir.path(), "edited.json", &plan.to_string());
    for args in [
        vec!["show", edited.as_str()],
        vec!["apply", "--auto-approve", edited.as_str()],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_iamwarden"))
            .args(&args)
            .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "not-used")
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains(&format!(
                "action {id}: `precondition` does not fit the deactivate_access_key step's type"
            )),
            "{args:?}: {err}"
        );
        assert!(err.contains("last_used_at"), "{args:?}: {err}");
    }
}

/// `org report A B --format sarif`: one run per account in id order, a planned account's run
/// the very run `plan --format sarif` writes for it, a failed account's run an unsuccessful
/// invocation saying why; golden.
#[test]
fn org_report_sarif_has_one_run_per_account() {
    use iamwarden_core::org::report::{FailedAccount, OrgReport, PlannedAccount};
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("shard-a"), dir.path().join("shard-b"));
    let plan_file = demo_plan_in(dir.path());
    let text = std::fs::read_to_string(&plan_file).unwrap();
    let plan = iamwarden_core::apply::load_plan(&text).unwrap();
    let id = plan.account_id.clone();
    std::fs::create_dir_all(a.join(&id)).unwrap();
    std::fs::write(a.join(&id).join("plan.json"), &text).unwrap();
    let planned = PlannedAccount::of(&plan, "demo", &format!("{id}/plan.json"));
    let report_a = OrgReport::new(vec![planned], vec![], vec![]);
    std::fs::write(
        a.join("report.json"),
        serde_json::to_string(&report_a).unwrap(),
    )
    .unwrap();
    // The failed account sorts first: its run comes first.
    let failed = FailedAccount {
        id: "000000000001".into(),
        name: "locked".into(),
        call: "sts:AssumeRole".into(),
        code: Some("AccessDenied".into()),
        message: "not authorized".into(),
        permission: Some("sts:AssumeRole on arn:aws:iam::000000000001:role/Audit".into()),
    };
    std::fs::create_dir_all(&b).unwrap();
    let report_b = OrgReport::new(vec![], vec![failed], vec![]);
    std::fs::write(
        b.join("report.json"),
        serde_json::to_string(&report_b).unwrap(),
    )
    .unwrap();
    let o = iamwarden(&[
        "org",
        "report",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--format",
        "sarif",
    ]);
    assert_eq!(o.status.code(), Some(1), "a failed account: {}", stderr(&o));
    let out = stdout(&o);
    golden("org-report.sarif.json", &out.replace(&id, "ACCOUNT"));
    let log: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_sarif_schema(&log);
    assert_eq!(log["version"], "2.1.0");
    let runs = log["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(
        runs[0]["automationDetails"]["id"],
        "iamwarden/000000000001/"
    );
    assert_eq!(runs[0]["invocations"][0]["executionSuccessful"], false);
    let note = runs[0]["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]
        .as_str()
        .unwrap();
    assert!(
        note.contains("sts:AssumeRole failed (AccessDenied)"),
        "{note}"
    );
    assert!(runs[0]["results"].as_array().unwrap().is_empty());
    let single = iamwarden(&[
        "plan",
        "--snapshot",
        &demo(),
        "--now",
        NOW,
        "--format",
        "sarif",
    ]);
    let single: serde_json::Value = serde_json::from_str(&stdout(&single)).unwrap();
    assert_eq!(
        runs[1], single["runs"][0],
        "the account's run is its plan's run"
    );
    assert!(!runs[1]["results"].as_array().unwrap().is_empty());
}

#[test]
fn an_unterminated_quote_is_reported_where_it_opened() {
    // Issue 18: the opening quote's line:col, not the end of the file.
    let dir = tempfile::tempdir().unwrap();
    let pack = write(
        dir.path(),
        "quote.yaml",
        "pack:\n  name: \"team/iam\n  version: 1.0.0\nrules: []\n",
    );
    let o = iamwarden(&["validate", &pack]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("quote.yaml:2:9: error: invalid YAML: unterminated quoted string"),
        "{err}"
    );
    // The caret is under the quote.
    assert!(
        err.contains("    |   name: \"team/iam\n    |         ^"),
        "{err}"
    );
    // The same in a rule-tests file, single-quoted.
    write(
        dir.path(),
        "team.yaml",
        "pack: {name: a/b, version: 1.0.0}\nrules: []\n",
    );
    write(
        dir.path(),
        "team.tests.yaml",
        "tests:\n  - name: 'x\n    expect: {}\n",
    );
    let o = iamwarden(&["test", dir.path().join("team.tests.yaml").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o)
            .contains("team.tests.yaml:2:11: error: invalid YAML: unterminated quoted string"),
        "{}",
        stderr(&o)
    );
}

const OPTIONAL_TEMPLATE_PACK: &str = "pack: {name: a/b, version: 1.0.0}
rules:
  - id: tag-stale-users
    title: Stale users
    severity: low
    select: $.users
    remediation:
      - step: tag
        params:
          tags:
            last-login: \"{{resource.password_last_used_at}}\"
            guarded: \"{{#if resource.permissions_boundary}}{{resource.permissions_boundary}}{{else}}none{{/if}}\"
            name: \"{{resource.name}}\"
";

#[test]
fn validate_warns_of_a_template_over_an_optional_field_and_strict_fails_on_it() {
    // Issue 18: `{{resource.password_last_used_at}}` is absent for a user who never signed in.
    let dir = tempfile::tempdir().unwrap();
    let pack = write(dir.path(), "tag.yaml", OPTIONAL_TEMPLATE_PACK);
    let o = iamwarden(&["validate", &pack]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(
            "tag.yaml:11:25: warning in rule `tag-stale-users`, field `remediation[0].params.tags.last-login`: \
             template reads optional field `password_last_used_at`"
        ),
        "{err}"
    );
    // Guarded with #if, and required fields: no warning.
    assert_eq!(err.matches("warning").count(), 1, "{err}");
    assert!(
        stdout(&o).contains("1 packs, 1 rules, 1 warning: valid"),
        "{}",
        stdout(&o)
    );

    let o = iamwarden(&["validate", "--strict", &pack]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning in rule `tag-stale-users`"),
        "{}",
        stderr(&o)
    );
    assert!(
        stdout(&o).contains("not valid with --strict"),
        "{}",
        stdout(&o)
    );

    let json = |args: &[&str]| {
        let o = iamwarden(args);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        (o.status.code(), v)
    };
    let (code, v) = json(&["validate", "--format", "json", &pack]);
    assert_eq!(code, Some(0));
    assert_eq!(v["valid"], true);
    assert_eq!(v["warnings"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["warnings"][0]["line"], 11);
    assert_eq!(v["warnings"][0]["rule"], "tag-stale-users");
    let (code, v) = json(&["validate", "--format", "json", "--strict", &pack]);
    assert_eq!(code, Some(1));
    assert_eq!(v["valid"], false);
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schemas/validation.schema.json")).unwrap(),
    )
    .unwrap();
    let errors: Vec<String> = jsonschema::validator_for(&schema)
        .unwrap()
        .iter_errors(&v)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    // The built-in packs have no warning.
    let o = iamwarden(&["validate", "--strict", "builtin"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn schema_write_writes_every_schema_with_a_versioned_id() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("new/schemas");
    let o = iamwarden(&["schema", "--write", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let version = env!("CARGO_PKG_VERSION");
    for name in iamwarden_core::schema::NAMES {
        let file = format!("{name}.schema.json");
        let written = std::fs::read_to_string(out.join(&file)).unwrap();
        // The committed copy, byte for byte.
        assert_eq!(
            written,
            std::fs::read_to_string(root().join("schemas").join(&file)).unwrap(),
            "{file}"
        );
        let v: serde_json::Value = serde_json::from_str(&written).unwrap();
        assert_eq!(
            v["$id"],
            format!(
                "https://raw.githubusercontent.com/iamwarden/iamwarden/v{version}/schemas/{file}"
            ),
            "{file}"
        );
        jsonschema::validator_for(&v).unwrap();
    }
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        iamwarden_core::schema::NAMES.len()
    );
    // A name and --write together, or neither, is a usage error (exit 1, as every usage error).
    assert_eq!(iamwarden(&["schema"]).status.code(), Some(1));
    assert_eq!(
        iamwarden(&["schema", "plan", "--write", out.to_str().unwrap()])
            .status
            .code(),
        Some(1)
    );
    // The repository URL the $id names is the workspace's.
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains(&format!(
            "repository = \"{}\"",
            iamwarden_core::schema::REPOSITORY
        )),
        "Cargo.toml [workspace.package] repository"
    );
}
