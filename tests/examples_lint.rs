//! The shipped CI examples, linted for real: the workflows `iamwarden init --ci github-org`
//! writes and the release workflow with actionlint (and shellcheck on their `run:` scripts),
//! examples/org/k8s-indexed-job.yaml against the Kubernetes schema with kubernetes-validate
//! (offline, schemas bundled), the Dockerfile through Docker's own parser with our checks
//! (tests/support/dockerfile_lint.py), and scripts/* and .ci/run with shellcheck. All come
//! from scripts/lint-tools (pinned, in .venv-lint); a missing tool fails the test with the
//! install hint, never skips.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_test_support::root;
use std::path::{Path, PathBuf};
use std::process::Command;

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
    // .venv-lint/bin first on PATH: actionlint runs the pinned shellcheck on `run:` scripts.
    let path = std::env::join_paths(std::iter::once(root().join(".venv-lint/bin")).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let o = Command::new(tool)
        .args(args)
        .current_dir(cwd)
        .env("PATH", path)
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
    for name in ["iamwarden-org.yml", "iamwarden.yml"] {
        let text =
            std::fs::read_to_string(dir.path().join(".github/workflows").join(name)).unwrap();
        assert_release_install(&text);
        assert_pinned(&text);
        assert_reports_upload_always(&text);
    }
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

/// Every `uses:` is pinned by a full commit SHA, with the version in a comment.
fn assert_pinned(workflow: &str) {
    let re = regex::Regex::new(r"^[a-z0-9-]+/[a-z0-9_./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$").unwrap();
    let mut n = 0;
    for line in workflow.lines() {
        let Some(at) = line.find("uses: ") else {
            continue;
        };
        n += 1;
        let action = &line[at + "uses: ".len()..];
        assert!(re.is_match(action), "not pinned by commit: {line}");
    }
    assert!(n > 0, "no actions in:\n{workflow}");
}

/// iamwarden comes from the release of the version that wrote the workflow, checksum checked,
/// never built from git.
fn assert_release_install(workflow: &str) {
    assert!(!workflow.contains("cargo install"), "{workflow}");
    assert!(!workflow.contains("--git"), "{workflow}");
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        workflow.contains(&format!("IAMWARDEN_VERSION: \"{version}\"")),
        "{workflow}"
    );
    assert!(
        workflow.contains("releases/download/v$IAMWARDEN_VERSION"),
        "{workflow}"
    );
    assert!(workflow.contains("SHA256SUMS"), "{workflow}");
    assert!(workflow.contains("sha256sum -c"), "{workflow}");
}

/// The SARIF and JUnit uploads run even when an earlier step (the rule tests, the plan) failed.
fn assert_reports_upload_always(workflow: &str) {
    let lines: Vec<&str> = workflow.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let upload = line.contains("upload-sarif@")
            || (line.contains("upload-artifact@")
                && lines[i..]
                    .iter()
                    .take(6)
                    .any(|l| l.contains("iamwarden-plan")));
        if upload {
            assert!(
                lines[i + 1].trim_start().starts_with("if: always()"),
                "{line} runs only on success:\n{workflow}"
            );
        }
    }
}

/// The release workflow: actionlint (with shellcheck on its scripts), actions pinned by commit,
/// both musl targets on native runners, tarballs with SHA256SUMS on a GitHub release, and the
/// image pushed to ghcr.io; the tarball names are the ones `init`'s install step downloads.
#[test]
fn release_workflow_passes_actionlint_and_builds_what_init_installs() {
    let actionlint = tool("actionlint");
    let (ok, said) = run(
        &actionlint,
        &["-no-color", ".github/workflows/release.yml"],
        &root(),
    );
    assert!(ok, "actionlint: {said}");
    let text = std::fs::read_to_string(root().join(".github/workflows/release.yml")).unwrap();
    assert_pinned(&text);
    assert!(text.contains("tags: [\"v*\"]"), "{text}");
    for (target, runner) in [
        ("x86_64-unknown-linux-musl", "ubuntu-24.04"),
        ("aarch64-unknown-linux-musl", "ubuntu-24.04-arm"),
    ] {
        assert!(
            text.contains(&format!(
                "- target: {target}\n            runner: {runner}\n"
            )),
            "{target}"
        );
    }
    // `init`'s install step fetches iamwarden-VERSION-$(uname -m)-unknown-linux-musl.tar.gz,
    // and the release names its tarballs iamwarden-$VERSION-$TARGET.tar.gz.
    assert!(
        text.contains(r#"name="iamwarden-$VERSION-$TARGET""#),
        "{text}"
    );
    assert!(
        text.contains(r#"tar -C stage -czf "dist/$name.tar.gz" "$name""#),
        "{text}"
    );
    assert!(iamwarden_core::scaffold::workflow().contains(
        r#"tarball="iamwarden-$IAMWARDEN_VERSION-$(uname -m)-unknown-linux-musl.tar.gz""#
    ));
    assert!(
        text.contains("sha256sum -- *.tar.gz > SHA256SUMS"),
        "{text}"
    );
    assert!(text.contains("gh release create"), "{text}");
    assert!(
        text.contains("--platform linux/amd64,linux/arm64"),
        "{text}"
    );
    assert!(text.contains("image=\"ghcr.io/"), "{text}");
    // actionlint does find a mistake here (an undefined matrix key).
    let dir = tempfile::tempdir().unwrap();
    let wf = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&wf).unwrap();
    std::fs::write(
        wf.join("release.yml"),
        text.replace("${{ matrix.runner }}", "${{ matrix.runnr }}"),
    )
    .unwrap();
    let (ok, said) = run(
        &actionlint,
        &["-no-color", ".github/workflows/release.yml"],
        dir.path(),
    );
    assert!(!ok && said.contains("runnr"), "actionlint accepted: {said}");
}

/// The Dockerfile, parsed by Docker's own parser (PyPI `dockerfile`): base pinned by digest
/// (or scratch), a non-root USER, no ADD of a URL, exec-form ENTRYPOINT; and it copies the musl
/// binary the release workflow lays out. (It cannot be built here: there is no Docker.)
#[test]
fn dockerfile_passes_its_checks() {
    let python = tool("python");
    let lint = root().join("tests/support/dockerfile_lint.py");
    let (ok, said) = run(&python, &[lint.to_str().unwrap(), "Dockerfile"], &root());
    assert!(ok, "Dockerfile: {said}");
    let text = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    assert!(text.contains("COPY dist/${TARGETPLATFORM}/iamwarden /usr/local/bin/iamwarden"));
    let release = std::fs::read_to_string(root().join(".github/workflows/release.yml")).unwrap();
    assert!(release.contains(
        r#"install -m 0755 "target/$TARGET/release/iamwarden" "dist/$PLATFORM/iamwarden""#
    ));
    // The checks do refuse a bad Dockerfile: an unpinned base, root, ADD of a URL.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("Dockerfile");
    std::fs::write(
        &bad,
        text.replace(
            "FROM scratch",
            "FROM debian:12\nADD https://example.com/x /x",
        )
        .replace("USER 65532:65532", "USER root"),
    )
    .unwrap();
    let (ok, said) = run(
        &python,
        &[lint.to_str().unwrap(), bad.to_str().unwrap()],
        &root(),
    );
    assert!(!ok, "accepted: {said}");
    for problem in ["not pinned by digest", "ADD of a URL", "runs as root"] {
        assert!(said.contains(problem), "{problem}: {said}");
    }
}

/// scripts/* (the shell ones) and .ci/run pass shellcheck.
#[test]
fn shell_scripts_pass_shellcheck() {
    let shellcheck = tool("shellcheck");
    let mut files = vec![".ci/run".to_string()];
    for e in std::fs::read_dir(root().join("scripts")).unwrap() {
        let path = e.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let first = text.lines().next().unwrap_or_default();
        if first.starts_with("#!") && (first.ends_with("bash") || first.ends_with("/sh")) {
            files.push(format!(
                "scripts/{}",
                path.file_name().unwrap().to_str().unwrap()
            ));
        }
    }
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    let args: Vec<&str> = files.iter().map(String::as_str).collect();
    let (ok, said) = run(&shellcheck, &args, &root());
    assert!(ok, "shellcheck {files:?}: {said}");
    // shellcheck is really checking: an unquoted variable is flagged.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad");
    std::fs::write(&bad, "#!/usr/bin/env bash\nrm -rf $1/tmp\n").unwrap();
    let (ok, said) = run(&shellcheck, &[bad.to_str().unwrap()], &root());
    assert!(!ok && said.contains("SC2086"), "{said}");
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

/// The policy document of a role's inline policy `name`, looked up through `Fn::If` (a policy
/// that only some parameters add).
fn role_policy<'a>(role: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    role["Properties"]["Policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.get("Fn::If").map_or(p, |branches| &branches[1]))
        .find(|p| p["PolicyName"] == name)
        .map(|p| &p["PolicyDocument"])
        .unwrap_or_else(|| panic!("no policy {name} in {role}"))
}

/// A value of the templates with `Fn::If` decided by `conditions`, `Ref`s of parameters and
/// resources replaced by their names in capitals, `Fn::Sub` of one parameter, `Fn::Join` and
/// `Fn::Split` evaluated: what CloudFormation would pass for those parameters.
fn evaluate(v: &serde_json::Value, conditions: &[&str]) -> serde_json::Value {
    use serde_json::Value;
    let Some(obj) = v.as_object().filter(|o| o.len() == 1) else {
        return match v {
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| evaluate(i, conditions))
                    .filter(|i| i != "AWS::NoValue")
                    .collect(),
            ),
            other => other.clone(),
        };
    };
    let (f, arg) = obj.iter().next().unwrap();
    let arg = |i: usize| evaluate(&arg[i], conditions);
    match f.as_str() {
        "Fn::If" => {
            let chosen = conditions.contains(&obj[f][0].as_str().unwrap());
            arg(if chosen { 1 } else { 2 })
        }
        "Ref" => {
            let name = obj[f].as_str().unwrap();
            Value::String(if name.starts_with("AWS::") {
                name.to_string()
            } else {
                name.to_uppercase()
            })
        }
        "Fn::Sub" => {
            let text = obj[f].as_str().unwrap();
            let (before, rest) = text.split_once("${").unwrap();
            let (name, after) = rest.split_once('}').unwrap();
            Value::String(format!("{before}{}{after}", name.to_uppercase()))
        }
        "Fn::Join" => {
            let sep = obj[f][0].as_str().unwrap().to_string();
            let parts: Vec<String> = arg(1)
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap().to_string())
                .collect();
            Value::String(parts.join(&sep))
        }
        "Fn::Split" => {
            let sep = obj[f][0].as_str().unwrap();
            let text = arg(1);
            serde_json::json!(text.as_str().unwrap().split(sep).collect::<Vec<_>>())
        }
        _ => v.clone(),
    }
}

/// Both deployment templates pass cfn-lint, forward exactly the events the rules react to, and
/// grant exactly what iamwarden calls in each mode: the targeted read always, sns:Publish on
/// the topic given, apply's calls in mode apply; the queue to the task (watch's two calls) or
/// to Lambda's poller. The commands they run are the flags each mode needs.
#[test]
fn watch_deployment_templates_pass_cfn_lint_and_grant_exactly_what_watch_calls() {
    let cfn_lint = tool("cfn-lint");
    let fargate = root().join("examples/deploy/iamwarden-watch.yaml");
    let lambda = root().join("examples/deploy/iamwarden-watch-lambda.yaml");
    let (ok, said) = run(
        &cfn_lint,
        &[fargate.to_str().unwrap(), lambda.to_str().unwrap()],
        &root(),
    );
    assert!(ok, "cfn-lint: {said}");
    // The linter is really checking: a wrong property type fails.
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yaml");
    let text = std::fs::read_to_string(&fargate).unwrap();
    assert!(text.contains("VisibilityTimeout: 300"));
    std::fs::write(
        &broken,
        text.replace("VisibilityTimeout: 300", "VisibilityTimeout: lots"),
    )
    .unwrap();
    let (ok, said) = run(&cfn_lint, &[broken.to_str().unwrap()], &root());
    assert!(!ok, "cfn-lint accepted a broken template: {said}");

    let set = |items: &[&str]| -> std::collections::BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    };
    let names: std::collections::BTreeSet<String> = iamwarden_core::event::EventName::ALL
        .iter()
        .map(|e| e.as_str().to_string())
        .collect();
    let read: std::collections::BTreeSet<String> = iamwarden_aws::live::scoped::OPERATIONS
        .iter()
        .chain(&[
            "GetAccountPasswordPolicy",
            "ListAccessKeys",
            "ListMFADevices",
        ])
        .map(|op| format!("iam:{op}"))
        .collect();
    let apply: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("examples/iam-apply-policy.json")).unwrap(),
    )
    .unwrap();
    for (path, role, queue_calls) in [
        (&fargate, "TaskRole", set(&iamwarden_aws::sqs::OPERATIONS)),
        // Lambda's event source mapping polls the queue with the function's role.
        (
            &lambda,
            "FunctionRole",
            set(&[
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ReceiveMessage",
            ]),
        ),
    ] {
        let t = template_json(path);
        let r = &t["Resources"];
        let at = path.display();
        assert_eq!(
            strings(&r["IamEventsRule"]["Properties"]["EventPattern"]["detail"]["eventName"]),
            names,
            "{at}"
        );
        let statements = role_policy(&r[role], "iamwarden-watch")["Statement"]
            .as_array()
            .unwrap();
        assert_eq!(strings(&statements[0]["Action"]), read, "{at}");
        assert_eq!(strings(&statements[1]["Action"]), queue_calls, "{at}");
        assert_eq!(
            statements[1]["Resource"],
            serde_json::json!({"Fn::GetAtt": ["EventsQueue", "Arn"]}),
            "{at}"
        );
        let extra = statements.len() - 2;
        assert_eq!(
            extra,
            usize::from(role == "FunctionRole"),
            "{at}: only logs beyond"
        );
        let notify = &role_policy(&r[role], "iamwarden-notify")["Statement"][0];
        assert_eq!(
            strings(&notify["Action"]),
            set(&iamwarden_aws::sns::OPERATIONS),
            "{at}"
        );
        assert_eq!(
            notify["Resource"],
            serde_json::json!({"Ref": "NotifyTopicArn"}),
            "{at}"
        );
        let added = &role_policy(&r[role], "iamwarden-apply")["Statement"];
        for i in 0..2 {
            assert_eq!(
                strings(&added[i]["Action"]),
                strings(&apply["Statement"][i]["Action"]),
                "{at}: statement {i}"
            );
        }
    }

    // The flags each mode runs with.
    let fargate_t = template_json(&fargate);
    let command = &fargate_t["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
        [0]["Command"];
    let base = [
        "watch",
        "--queue-url",
        "EVENTSQUEUE",
        "--out-dir",
        "/var/lib/iamwarden",
    ];
    let with = |more: &[&str]| serde_json::json!(base.iter().chain(more).collect::<Vec<_>>());
    assert_eq!(evaluate(command, &[]), with(&[]));
    assert_eq!(
        evaluate(command, &["ApplyMode"]),
        with(&["--apply", "--auto-approve"])
    );
    assert_eq!(
        evaluate(command, &["ApplyMode", "Notify"]),
        with(&[
            "--apply",
            "--auto-approve",
            "--notify-topic",
            "NOTIFYTOPICARN"
        ])
    );
    let lambda_t = template_json(&lambda);
    let flags = &lambda_t["Resources"]["Function"]["Properties"]["Environment"]["Variables"]
        ["IAMWARDEN_FLAGS"];
    assert_eq!(evaluate(flags, &[]), "");
    assert_eq!(
        evaluate(flags, &["ApplyMode", "Notify"]),
        "--apply --auto-approve --notify-topic NOTIFYTOPICARN"
    );
    assert_eq!(
        evaluate(flags, &["Notify"]),
        "--notify-topic NOTIFYTOPICARN"
    );
}
