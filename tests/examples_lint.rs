//! The shipped CI examples, linted for real: the workflows `iamwarden init --ci github-org`
//! writes with actionlint, and examples/org/k8s-indexed-job.yaml against the Kubernetes schema
//! with kubernetes-validate (offline, schemas bundled). Both come from scripts/lint-tools
//! (pinned, in .venv-lint); a missing tool fails the test with the install hint, never skips.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).join("..")
}

/// The tool's path in .venv-lint, installing it first (idempotent, instant when installed).
fn tool(name: &str) -> PathBuf {
    let out = Command::new(root().join("scripts/lint-tools")).output();
    let ok = out.as_ref().is_ok_and(|o| o.status.success());
    let path = root().join(".venv-lint/bin").join(name);
    assert!(
        ok && path.exists(),
        "{name} is missing: run scripts/lint-tools (pip install -r tests/support/requirements-lint.txt \
         into .venv-lint); it said: {}",
        out.map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
            .unwrap_or_else(|e| e.to_string())
    );
    path
}

fn run(tool: &Path, args: &[&str], cwd: &Path) -> (bool, String) {
    let o = Command::new(tool)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

#[test]
fn init_github_org_workflows_pass_actionlint() {
    let actionlint = tool("actionlint");
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_iamwarden"))
        .args([
            "init",
            dir.path().to_str().unwrap(),
            "--ci",
            "github-org",
            "--shards",
            "3",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let org = dir.path().join(".github/workflows/iamwarden-org.yml");
    let text = std::fs::read_to_string(&org).unwrap();
    assert!(text.contains("shard: [0, 1, 2]"), "{text}");
    assert!(
        text.contains(r#"--shard "${{ matrix.shard }}/3""#),
        "{text}"
    );
    assert!(text.contains("iamwarden org report shards/*"), "{text}");
    let (ok, said) = run(
        &actionlint,
        &[
            "-no-color",
            ".github/workflows/iamwarden-org.yml",
            ".github/workflows/iamwarden.yml",
        ],
        dir.path(),
    );
    assert!(ok, "actionlint: {said}");
    // The shipped copies: examples/org/iamwarden-org.yml is what `init --ci github-org` writes
    // with the default 4 shards; both example workflows pass too.
    let shipped = std::fs::read_to_string(root().join("examples/org/iamwarden-org.yml")).unwrap();
    assert_eq!(
        shipped,
        iamwarden_core::scaffold::org_workflow(4),
        "examples/org/iamwarden-org.yml is stale: copy `iamwarden init DIR --ci github-org`'s"
    );
    let (ok, said) = run(
        &actionlint,
        &[
            "-no-color",
            "examples/org/iamwarden-org.yml",
            "examples/policy-as-code/.github/workflows/iamwarden.yml",
        ],
        &root(),
    );
    assert!(ok, "actionlint: {said}");
    // The linter does find a broken workflow (a job needing one that does not exist).
    std::fs::write(&org, text.replace("needs: plan", "needs: plann")).unwrap();
    let (ok, said) = run(
        &actionlint,
        &["-no-color", ".github/workflows/iamwarden-org.yml"],
        dir.path(),
    );
    assert!(
        !ok && said.contains("plann"),
        "actionlint accepted a broken workflow: {said}"
    );
}

#[test]
fn k8s_indexed_job_is_a_valid_kubernetes_job() {
    let validate = tool("kubernetes-validate");
    let file = root().join("examples/org/k8s-indexed-job.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("completionMode: Indexed"));
    assert!(text.contains("JOB_COMPLETION_INDEX"));
    let (ok, said) = run(&validate, &["--strict", file.to_str().unwrap()], &root());
    assert!(ok, "kubernetes-validate: {said}");
    // The validator does refuse a broken manifest (a field the Job schema has not).
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        text.replace("completions: 4", "completions: 4\n  completionz: 4"),
    )
    .unwrap();
    let (ok, said) = run(&validate, &["--strict", bad.to_str().unwrap()], &root());
    assert!(
        !ok,
        "kubernetes-validate accepted a broken manifest: {said}"
    );
}

/// The template as JSON (its intrinsic functions are written in long form, so plain YAML reads
/// it), through the PyYAML that cfn-lint installs with itself.
fn template_json(path: &Path) -> serde_json::Value {
    let python = tool("python");
    let (ok, said) = run(
        &python,
        &[
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
            path.to_str().unwrap(),
        ],
        &root(),
    );
    assert!(ok, "{said}");
    serde_json::from_str(&said).unwrap()
}

fn strings(v: &serde_json::Value) -> std::collections::BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn watch_deployment_template_passes_cfn_lint_and_grants_exactly_what_watch_calls() {
    let cfn_lint = tool("cfn-lint");
    let template = root().join("examples/deploy/iamwarden-watch.yaml");
    let (ok, said) = run(&cfn_lint, &[template.to_str().unwrap()], &root());
    assert!(ok, "cfn-lint: {said}");
    // The linter is really checking: a wrong property type fails.
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yaml");
    let text = std::fs::read_to_string(&template).unwrap();
    assert!(text.contains("VisibilityTimeout: 300"));
    std::fs::write(
        &broken,
        text.replace("VisibilityTimeout: 300", "VisibilityTimeout: lots"),
    )
    .unwrap();
    let (ok, said) = run(&cfn_lint, &[broken.to_str().unwrap()], &root());
    assert!(!ok, "cfn-lint accepted a broken template: {said}");

    let t = template_json(&template);
    let r = &t["Resources"];
    // The EventBridge rule forwards exactly the events the rules can react to.
    let names: std::collections::BTreeSet<String> = iamwarden_core::event::EventName::ALL
        .iter()
        .map(|e| e.as_str().to_string())
        .collect();
    assert_eq!(
        strings(&r["IamEventsRule"]["Properties"]["EventPattern"]["detail"]["eventName"]),
        names
    );
    // Report mode: the targeted read's operations and the queue's, nothing more.
    let statements = r["TaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap();
    let read: std::collections::BTreeSet<String> = iamwarden_aws::live::scoped::OPERATIONS
        .iter()
        .chain(&[
            "GetAccountPasswordPolicy",
            "ListAccessKeys",
            "ListMFADevices",
        ])
        .map(|op| format!("iam:{op}"))
        .collect();
    assert_eq!(strings(&statements[0]["Action"]), read);
    let sqs: std::collections::BTreeSet<String> = iamwarden_aws::sqs::OPERATIONS
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(strings(&statements[1]["Action"]), sqs);
    assert_eq!(statements.len(), 2);
    // Apply mode adds what apply calls: the same actions as examples/iam-apply-policy.json.
    let apply: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("examples/iam-apply-policy.json")).unwrap(),
    )
    .unwrap();
    let added =
        &r["TaskRole"]["Properties"]["Policies"][1]["Fn::If"][1]["PolicyDocument"]["Statement"];
    for i in 0..2 {
        assert_eq!(
            strings(&added[i]["Action"]),
            strings(&apply["Statement"][i]["Action"]),
            "statement {i}"
        );
    }
}
