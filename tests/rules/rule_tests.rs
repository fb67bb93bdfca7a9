//! `iamwarden test` and `explain`: the built-in packs' own tests (rules/*.tests.yaml) pass and
//! cover every built-in rule both ways; a failing case says what differed with the rule's
//! explanation; JUnit output for CI; `explain` shows every leaf.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_test_support::root;
use std::path::PathBuf;
use std::process::{Command, Output};

fn iamwarden(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_iamwarden"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// The one coverage gate of the built-in rules: every case of `rules/*.tests.yaml` passes, and
/// every rule of the loaded built-in packs has a case it must flag, a near miss it must not, and
/// a case that pins what it plans (`actions:`). Rules, files and cases are counted from what is
/// loaded, never from a list kept by hand.
#[test]
fn the_builtin_rule_tests_pass_and_cover_every_rule_both_ways() {
    // One tests file beside each built-in pack, and no other.
    let mut want: Vec<PathBuf> = iamwarden_core::packs::BUILTIN
        .iter()
        .map(|(file, _)| {
            let stem = file.strip_suffix(".yaml").unwrap();
            root().join("rules").join(format!("{stem}.tests.yaml"))
        })
        .collect();
    want.sort();
    let mut files = iamwarden_core::ruletest::discover(&[root().join("rules")]);
    files.sort();
    assert_eq!(files, want, "rules/ holds one tests file per built-in pack");
    let mut matched = std::collections::BTreeSet::new();
    let mut missed = std::collections::BTreeSet::new();
    let mut planned = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    let mut cases = 0;
    for f in &files {
        let pack_path = iamwarden_core::ruletest::pack_of(f).unwrap();
        let packs = iamwarden_core::packs::load_packs(&[pack_path.display().to_string()]).unwrap();
        let text = std::fs::read_to_string(f).unwrap();
        let results =
            iamwarden_core::ruletest::run_file(&f.display().to_string(), &text, &packs).unwrap();
        for r in results.iter().filter(|r| !r.passed()) {
            failures.push(format!("{}: {}\n{}", r.file, r.name, r.failures.join("\n")));
        }
        let file: iamwarden_core::ruletest::TestFile =
            iamwarden_core::ruletest::parse_file("t", &text).unwrap();
        assert_eq!(results.len(), file.tests.len(), "{}", f.display());
        cases += file.tests.len();
        for case in &file.tests {
            for (rule, e) in &case.expect {
                if !e.must_match.is_empty() {
                    matched.insert(rule.clone());
                }
                if !e.no_match.is_empty() {
                    missed.insert(rule.clone());
                }
                if e.actions.is_some() {
                    planned.insert(rule.clone());
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let rules = iamwarden_core::packs::load_rule_set(&[]).unwrap();
    assert!(!rules.rules.is_empty());
    let mut gaps = Vec::new();
    for r in &rules.rules {
        for (set, what) in [
            (&matched, "a case it must flag (`match:`)"),
            (&missed, "a near miss it must not flag (`no_match:`)"),
            (&planned, "a case pinning what it plans (`actions:`)"),
        ] {
            if !set.contains(&r.id) {
                gaps.push(format!("{}: no rules/*.tests.yaml case has {what}", r.id));
            }
        }
    }
    assert!(gaps.is_empty(), "{}", gaps.join("\n"));
    // The same through the command line.
    let o = iamwarden(&["test", "rules"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let out = String::from_utf8_lossy(&o.stdout);
    // The count is the cases the files hold, not a number to keep in step by hand.
    assert!(
        out.trim_end()
            .ends_with(&format!("{cases} passed, 0 failed")),
        "{out}"
    );
}

#[test]
fn a_failing_case_says_what_differed_and_why() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("team.yaml"),
        "pack: {name: acme/team, version: 1.0.0}\nrules:\n  - id: contractors-without-mfa\n    title: Contractor console user without MFA\n    severity: high\n    select: $.users\n    when:\n      all:\n        - {path: $.tags.team, eq: contractors}\n        - {path: $.password_enabled, eq: true}\n        - {path: $.mfa_enabled, eq: false}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("team.tests.yaml"),
        "tests:\n  - name: a contractor without MFA\n    inventory:\n      users: [{name: cat, tags: {team: contractors}}]\n      login_profiles: [{user: cat}]\n    expect:\n      contractors-without-mfa: {match: [cat]}\n  - name: wrongly expects an employee\n    inventory:\n      users: [{name: dan, tags: {team: platform}}]\n      login_profiles: [{user: dan}]\n    expect:\n      contractors-without-mfa: {match: [dan]}\n",
    )
    .unwrap();
    let o = iamwarden(&["test", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("ok    ") && out.contains("a contractor without MFA"),
        "{out}"
    );
    assert!(
        out.contains("FAIL  ") && out.contains("wrongly expects an employee"),
        "{out}"
    );
    assert!(
        out.contains("contractors-without-mfa must match dan, but did not"),
        "{out}"
    );
    assert!(
        out.contains("[not held] $.tags.team eq \"contractors\"   (found: \"platform\")"),
        "{out}"
    );
    assert!(out.trim_end().ends_with("1 passed, 1 failed"), "{out}");

    let o = iamwarden(&["test", "--format", "junit", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let xml = String::from_utf8_lossy(&o.stdout);
    assert!(
        xml.contains("<testsuites name=\"iamwarden\" tests=\"2\" failures=\"1\" errors=\"0\">"),
        "{xml}"
    );
    assert!(
        xml.contains("<failure message=\"contractors-without-mfa must match dan, but did not"),
        "{xml}"
    );

    // A case name with a control character and markup still makes well-formed XML.
    std::fs::write(
        dir.path().join("team.tests.yaml"),
        "tests:\n  - name: \"ctrl \\x01 & <b>\"\n    inventory:\n      users: [{name: dan, tags: {team: platform}}]\n      login_profiles: [{user: dan}]\n    expect:\n      contractors-without-mfa: {match: [dan]}\n",
    )
    .unwrap();
    let o = iamwarden(&["test", "--format", "junit", dir.path().to_str().unwrap()]);
    let xml = String::from_utf8_lossy(&o.stdout);
    assert!(
        xml.bytes()
            .all(|b| b >= 0x20 || b == b'\n' || b == b'\t' || b == b'\r'),
        "{xml:?}"
    );
    assert!(xml.contains("name=\"ctrl  &amp; &lt;b&gt;\""), "{xml}");

    // A broken pack under --format junit is an <error> in the report, not an empty file.
    let broken = tempfile::tempdir().unwrap();
    std::fs::write(broken.path().join("bad.yaml"), "pack: {name: x\n").unwrap();
    std::fs::write(broken.path().join("bad.tests.yaml"), "tests: []\n").unwrap();
    let o = iamwarden(&["test", "--format", "junit", broken.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let xml = String::from_utf8_lossy(&o.stdout);
    assert!(xml.contains("errors=\"1\""), "{xml}");
    assert!(
        // At the `{` that is never closed (as an unterminated quote is reported where it opened).
        xml.contains("<error message=\"")
            && xml.contains("bad.yaml:1:7: error: invalid YAML: unclosed bracket"),
        "{xml}"
    );

    // A broken tests file is an error with its position.
    std::fs::write(
        dir.path().join("team.tests.yaml"),
        "tests:\n  - name: x\n    expekt: {}\n",
    )
    .unwrap();
    let o = iamwarden(&["test", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("team.tests.yaml:3:") && err.contains("expekt"),
        "{err}"
    );
}

#[test]
fn a_case_naming_a_resource_that_is_not_in_its_inventory_fails() {
    // `no_match: [devz]` (a typo for `devs`) would otherwise pass while checking nothing.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("team.yaml"),
        "pack: {name: acme/team, version: 1.0.0}\nrules:\n  - id: console-without-mfa\n    title: Console user without MFA\n    severity: high\n    select: $.users\n    when:\n      all:\n        - {path: $.password_enabled, eq: true}\n        - {path: $.mfa_enabled, eq: false}\n    remediation:\n      - step: delete_login_profile\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("team.tests.yaml"),
        "tests:\n  - name: typos everywhere\n    inventory:\n      users: [{name: cat}, {name: devs}]\n      login_profiles: [{user: cat}]\n      mfa_devices: [{id: 'arn:aws:iam::123456789012:mfa/devs', user: devs}]\n    expect:\n      console-without-mfa:\n        match: [cat]\n        no_match: [devz]\n        actions: [delete_login_profile kat, delete_login_profile]\n  - name: the same case spelt right\n    inventory:\n      users: [{name: cat}, {name: devs}]\n      login_profiles: [{user: cat}]\n      mfa_devices: [{id: 'arn:aws:iam::123456789012:mfa/devs', user: devs}]\n    expect:\n      console-without-mfa:\n        match: [cat]\n        no_match: [devs]\n",
    )
    .unwrap();
    let o = iamwarden(&["test", dir.path().to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("`devz` is not in this case's inventory (did you mean `devs`?)"),
        "{out}"
    );
    assert!(
        out.contains("actions: `delete_login_profile kat` names `kat` is not in this case's inventory (did you mean `cat`?)"),
        "{out}"
    );
    assert!(
        out.contains("actions: `delete_login_profile` is not `step resource-name`"),
        "{out}"
    );
    assert!(out.trim_end().ends_with("1 passed, 1 failed"), "{out}");
}

#[test]
fn explain_shows_every_leaf_and_the_exemption() {
    let demo = root().join("examples/demo-account.json");
    let demo = demo.to_str().unwrap();
    let now = "2026-11-01T00:00:00Z";
    let o = iamwarden(&[
        "explain",
        "--rule",
        "access-key-unused",
        "--resource",
        "AKIAI4DKJLNXW7FZ5MWD",
        "--snapshot",
        demo,
        "--now",
        now,
    ]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("does not match"), "{out}");
    assert!(
        out.contains(
            "[not held] $.last_used_at older_than \"90d\"   (found: \"2026-10-01T21:44:25Z\")"
        ),
        "{out}"
    );
    let o = iamwarden(&[
        "explain",
        "--rule",
        "console-user-without-mfa",
        "--resource",
        "break-glass-admin",
        "--snapshot",
        demo,
        "--now",
        now,
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("exempt: tag iamwarden:exempt=true"), "{out}");
    let o = iamwarden(&[
        "explain",
        "--rule",
        "policy-unknown-actions",
        "--resource",
        "arn:aws:iam::123456789012:policy/report-reader",
        "--snapshot",
        demo,
        "--now",
        now,
        "--json",
    ]);
    let e: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(e["matched"], true);
    assert_eq!(
        e["condition"]["actual"],
        serde_json::json!(["s3:GetObjcet (did you mean s3:GetObject?)"])
    );
    let o = iamwarden(&[
        "explain",
        "--rule",
        "acces-key-unused",
        "--resource",
        "x",
        "--snapshot",
        demo,
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("did you mean `access-key-unused`?"));
}

#[test]
fn packs_include_others_and_override_their_rules() {
    let dir = tempfile::tempdir().unwrap();
    let team = dir.path().join("team.yaml");
    std::fs::write(
        &team,
        "pack: {name: acme/iam, version: 1.2.0, requires_iamwarden: 0.1.0}\ninclude: [builtin/credentials, builtin/account]\noverrides:\n  access-key-unused: {params: {days: 45}, severity: critical}\n  root-without-mfa: {disabled: true}\nrules: []\n",
    )
    .unwrap();
    let set = iamwarden_core::packs::load_rule_set(&[team.display().to_string()]).unwrap();
    let ids: Vec<&str> = set.rules.iter().map(|r| r.id.as_str()).collect();
    assert!(ids.contains(&"access-key-unused") && ids.contains(&"root-access-key"));
    assert!(!ids.contains(&"root-without-mfa"), "disabled");
    assert!(
        !ids.contains(&"user-inactive"),
        "builtin/users was not included"
    );
    let r = set
        .rules
        .iter()
        .find(|r| r.id == "access-key-unused")
        .unwrap();
    assert_eq!(&*r.title, "Active access key unused for 45 days");
    assert_eq!(r.severity, iamwarden_core::spec::Severity::Critical);
    // The plan records every pack with its digest.
    let names: Vec<&str> = set.packs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        ["builtin/credentials", "builtin/account", "acme/iam"]
    );
    assert!(set.packs.iter().all(|p| p.sha256.len() == 64));
    // Loading the built-ins as well does not load them twice.
    let both =
        iamwarden_core::packs::load_rule_set(&["builtin".into(), team.display().to_string()])
            .unwrap();
    assert_eq!(
        both.rules
            .iter()
            .filter(|r| r.id == "access-key-unused")
            .count(),
        1
    );

    let check = |text: &str, needles: &[&str]| {
        std::fs::write(&team, text).unwrap();
        let err = iamwarden_core::packs::load_rule_set(&[team.display().to_string()])
            .unwrap_err()
            .to_string();
        for n in needles {
            assert!(err.contains(n), "no `{n}` in:\n{err}");
        }
    };
    check(
        "pack: {name: a/b, version: 1.0.0}\ninclude: [builtin/credential]\n",
        &[
            "team.yaml:2:",
            "no built-in pack `builtin/credential`",
            "builtin/credentials",
        ],
    );
    check(
        "pack: {name: a/b, version: 1.0.0}\ninclude: [builtin]\noverrides:\n  access-key-unused: {params: {dayz: 45}}\n",
        &["team.yaml:4:", "has no parameter `dayz`", "did you mean `days`?"],
    );
    check(
        "pack: {name: a/b, version: 1.0.0, requires_iamwarden: 99.0.0}\n",
        &["team.yaml:1:", "requires iamwarden 99.0.0 or newer"],
    );
    check(
        "pack: {name: a/b, version: 1.0.0}\ninclude: [team.yaml]\n",
        &["include cycle"],
    );
}

#[test]
fn init_scaffolds_a_repository_whose_packs_validate_and_pass_their_tests() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("iam");
    let o = iamwarden(&["init", repo.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for f in [
        "packs/acme.yaml",
        "packs/acme.tests.yaml",
        ".github/workflows/iamwarden.yml",
        "README.md",
    ] {
        assert!(repo.join(f).exists(), "{f}");
    }
    // Every schema, as `schema --write` writes it (the committed copies), the modelines
    // pointing at them relatively, and a comment naming the versioned URL.
    for name in iamwarden_core::schema::NAMES {
        let file = format!("{name}.schema.json");
        assert_eq!(
            std::fs::read_to_string(repo.join("schemas").join(&file)).unwrap(),
            std::fs::read_to_string(root().join("schemas").join(&file)).unwrap(),
            "{file}"
        );
    }
    for (f, schema) in [
        ("packs/acme.yaml", "rule-pack"),
        ("packs/acme.tests.yaml", "rule-tests"),
    ] {
        let text = std::fs::read_to_string(repo.join(f)).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some(
                format!("# yaml-language-server: $schema=../schemas/{schema}.schema.json").as_str()
            )
        );
        assert!(
            lines
                .next()
                .unwrap()
                .contains(&iamwarden_core::schema::id(schema)),
            "{f}"
        );
        assert!(repo
            .join("packs")
            .join(format!("../schemas/{schema}.schema.json"))
            .exists());
    }
    let run_in = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_iamwarden"))
            .args(args)
            .current_dir(&repo)
            .output()
            .unwrap()
    };
    assert_eq!(run_in(&["validate", "packs"]).status.code(), Some(0));
    let t = run_in(&["test", "packs"]);
    assert_eq!(
        t.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&t.stdout)
    );
    // A second init writes nothing.
    std::fs::write(repo.join("packs/acme.yaml"), "mine").unwrap();
    let o = iamwarden(&["init", repo.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nothing was written"));
    assert_eq!(
        std::fs::read_to_string(repo.join("packs/acme.yaml")).unwrap(),
        "mine"
    );
}

#[test]
fn the_policy_as_code_example_is_what_init_writes_and_its_plan_is_golden() {
    let example = root().join("examples/policy-as-code");
    // What `iamwarden init` writes (also `cargo run -- init --force examples/policy-as-code`).
    for (path, text) in iamwarden_core::scaffold::files() {
        crate::golden::check(&format!("examples/policy-as-code/{path}"), &text);
    }
    for (name, text) in iamwarden_core::schema::files() {
        crate::golden::check(&format!("examples/policy-as-code/schemas/{name}"), &text);
    }
    let run_in = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_iamwarden"))
            .args(args)
            .current_dir(&example)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    assert_eq!(run_in(&["validate", "packs"]).status.code(), Some(0));
    assert_eq!(run_in(&["test", "packs"]).status.code(), Some(0));
    let demo = root().join("examples/demo-account.json");
    let o = run_in(&[
        "plan",
        "--rules",
        "packs",
        "--snapshot",
        demo.to_str().unwrap(),
        "--now",
        "2026-11-01T00:00:00Z",
        "--format",
        "markdown",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    crate::golden::check("tests/golden/policy-as-code-plan.md", &out);
    assert!(
        out.contains("contractors-without-mfa"),
        "the custom rule fires on the demo account"
    );
    // Used 60 days ago: not flagged by the built-in 90 days, flagged by the example's 45.
    assert!(
        out.contains("AKIA6QETAT4TFBVWPY6J"),
        "the override is in effect"
    );
}
