//! iamwarden's outputs and settings checked by the real clients our users run (issue 17), from
//! the pinned .venv-lint (scripts/lint-tools; a missing client fails with the install hint,
//! never skips):
//!
//! - the markdown plan (a pull-request comment, bounded by `--max-chars`) rendered by GitHub's
//!   cmark-gfm (`cmarkgfm`): no emphasis made of values such as `"Action":"*"`, no markup from a
//!   tag value, every table row with its header's cells, the "N more" line;
//! - `test --format junit` (control characters in case names, a failing case, a broken pack)
//!   validated by `xmlschema` against `tests/support/junit-10.xsd` (Jenkins xunit-plugin's JUnit
//!   schema, MIT, as the pytest 8.4.2 sdist ships it at `testing/example_scripts/junit-10.xsd`)
//!   and read by `junitparser`;
//! - the AWS settings compared with the AWS CLI (v1) on the same environment and files: through
//!   a logging proxy on 127.0.0.1 (`HTTPS_PROXY`; it records the CONNECT host, answers 502 and
//!   never forwards) both tools target the same IAM host for `AWS_REGION`/a profile's `region`
//!   (`cn-north-1`, `us-gov-west-1`) and with `AWS_CA_BUNDLE`; and against moto both reach the
//!   endpoint `AWS_ENDPOINT_URL_IAM` names over `AWS_ENDPOINT_URL`.
//!
//! Only 127.0.0.1 is ever called.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_test_support::moto;
use iamwarden_test_support::root;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

const NOW: &str = "2026-11-01T00:00:00Z";
const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "real-clients-secret-never-printed";

/// A client in .venv-lint, installing the venv first (idempotent, instant when installed).
fn client(name: &str) -> PathBuf {
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

/// Runs `script` in .venv-lint's python with `input` on stdin and `args`; its stdout as JSON.
fn python(script: &str, args: &[&str], input: &str) -> serde_json::Value {
    let mut child = Command::new(client("python"))
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "python said no JSON ({e}): {}",
            String::from_utf8_lossy(&o.stdout)
        )
    })
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

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

// ---- the markdown plan through cmark-gfm ------------------------------------------------------

/// Renders markdown (stdin) as GitHub does (cmark-gfm with its extensions, raw HTML kept so
/// `<details>` survives as on GitHub) and reports what a reader would see.
const RENDER: &str = r#"
import html, json, re, sys
import cmarkgfm
from cmarkgfm.cmark import Options
md = sys.stdin.read()
out = cmarkgfm.github_flavored_markdown_to_html(md, options=Options.CMARK_OPT_UNSAFE)
tables = []
for t in re.findall(r"<table>.*?</table>", out, re.S):
    rows = re.findall(r"<tr>(.*?)</tr>", t, re.S)
    tables.append([len(re.findall(r"<t[hd][ >]", r)) for r in rows])
text = html.unescape(re.sub(r"<[^>]+>", "", out))
print(json.dumps({
    "tags": sorted(set(re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", out))),
    "em": out.count("<em>"),
    "strong": re.findall(r"<strong>(.*?)</strong>", out, re.S),
    "del": out.count("<del>"),
    "tables": tables,
    "md_table_rows": sum(1 for l in md.splitlines() if l.startswith("|") and not re.match(r"^\|(\s*:?-+:?\s*\|)+\s*$", l)),
    "text": text,
}))
"#;

/// The demo account with values a renderer would take for markup (emphasis, a pipe, a
/// backtick, an HTML tag, a strikethrough, `"Action":"*"`) in every user's `owner` tag, and a
/// pack whose rule shows that value as its evidence. Returns (snapshot, pack).
fn hostile_demo(dir: &Path) -> (String, String) {
    let text = std::fs::read_to_string(root().join("examples/demo-account.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    for u in v["users"].as_array_mut().unwrap() {
        u["tags"]["owner"] = serde_json::json!(HOSTILE);
    }
    let snap = dir.join("hostile.json");
    std::fs::write(&snap, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    let pack = dir.join("hostile.yaml");
    std::fs::write(
        &pack,
        "pack: {name: acme/hostile, version: 1.0.0}\nrules:\n  - id: owner-tag-set\n    title: \"Owner *tag* _set_ | <b>x</b>\"\n    severity: high\n    select: $.users\n    when: {path: $.tags.owner, glob: \"*\"}\n",
    )
    .unwrap();
    (snap.display().to_string(), pack.display().to_string())
}

const HOSTILE: &str = "*ops* _team_ | `x` <b>bold</b> ~~gone~~ \"Action\":\"*\"";

fn check_rendered(name: &str, md: &str, want_more: bool) {
    let r = python(RENDER, &[], md);
    let tags: Vec<&str> = r["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    let allowed = [
        "code", "details", "h3", "h4", "li", "p", "pre", "strong", "summary", "table", "tbody",
        "td", "th", "thead", "tr", "ul",
    ];
    let stray: Vec<&&str> = tags.iter().filter(|t| !allowed.contains(t)).collect();
    assert!(stray.is_empty(), "{name}: markup from values: {stray:?}");
    assert_eq!(r["em"], 0, "{name}: emphasis made of values");
    assert_eq!(r["del"], 0, "{name}: strikethrough made of values");
    // The one bold span is the plan line.
    let strong = r["strong"].as_array().unwrap();
    assert!(
        strong.len() == 1 && strong[0].as_str().unwrap().starts_with("Plan: "),
        "{name}: {strong:?}"
    );
    // Every markdown table row became a row with its header's cells (a `|` in a value would
    // add a cell or end the table).
    let tables = r["tables"].as_array().unwrap();
    assert!(!tables.is_empty(), "{name}: no table rendered");
    let mut rows = 0;
    for t in tables {
        let cells: Vec<u64> = t
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_u64().unwrap())
            .collect();
        assert!(cells.iter().all(|c| *c == cells[0]), "{name}: {cells:?}");
        rows += cells.len();
    }
    assert_eq!(
        rows as u64,
        r["md_table_rows"].as_u64().unwrap(),
        "{name}: a table row was lost"
    );
    let text = r["text"].as_str().unwrap();
    if want_more {
        // "... and N more changes (findings, skipped resources) in the attached plan".
        assert!(
            text.lines().any(|l| l.starts_with("... and ")
                && l.contains(" more ")
                && l.contains("in the attached plan")),
            "{name}: no `N more` line in the rendered comment"
        );
    }
    // The values are shown as written, not eaten by the renderer.
    if name == "hostile" {
        assert!(
            text.contains(HOSTILE) || text.contains(&HOSTILE.replace('"', "\\\"")),
            "{name}: the tag value is not shown as written: {:?}",
            text.find("*ops")
                .map(|i| text[i..].chars().take(90).collect::<String>())
        );
    }
}

#[test]
fn the_markdown_plan_renders_on_github_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let (hostile, pack) = hostile_demo(dir.path());
    let inv = iamwarden_test_support::synth::generate(1_000, 7);
    let large = dir.path().join("large.json");
    std::fs::write(
        &large,
        iamwarden_core::inventory::snapshot::to_json(&inv).unwrap(),
    )
    .unwrap();
    let large = large.display().to_string();
    let demo = root()
        .join("examples/demo-account.json")
        .display()
        .to_string();
    let cases: Vec<(&str, &str, Vec<&str>, bool)> = vec![
        ("demo", &demo, vec![], false),
        (
            "hostile",
            &hostile,
            vec!["--rules", "builtin", "--rules", &pack],
            false,
        ),
        (
            "hostile, bounded",
            &hostile,
            vec![
                "--rules",
                "builtin",
                "--rules",
                &pack,
                "--max-chars",
                "6000",
            ],
            true,
        ),
        ("large", &large, vec![], true),
        ("large, bounded", &large, vec!["--max-chars", "10000"], true),
    ];
    for (name, snap, extra, want_more) in cases {
        let mut args = vec![
            "plan",
            "--snapshot",
            snap,
            "--now",
            NOW,
            "--format",
            "markdown",
        ];
        args.extend(extra);
        let o = iamwarden(&args);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        check_rendered(name, &stdout(&o), want_more);
    }
}

// ---- JUnit through the XSD and junitparser --------------------------------------------------

/// Validates the XML (stdin) against the XSD (argv[1]) and reads it with junitparser.
const JUNIT: &str = r#"
import json, sys, io
import xmlschema, junitparser
xml = sys.stdin.read()
schema = xmlschema.XMLSchema(sys.argv[1])
errors = [str(e.reason) for e in schema.iter_errors(io.StringIO(xml))]
cases = []
x = junitparser.JUnitXml.fromstring(xml.encode())
suites = [x] if isinstance(x, junitparser.TestSuite) else list(x)
for s in suites:
    for c in s:
        cases.append({"suite": s.name, "name": c.name,
                      "result": [type(r).__name__ for r in c.result]})
print(json.dumps({"errors": errors, "cases": cases}))
"#;

const PACK: &str = "pack: {name: acme/team, version: 1.0.0}\nrules:\n  - id: contractors-without-mfa\n    title: Contractor console user without MFA\n    severity: high\n    select: $.users\n    when:\n      all:\n        - {path: $.tags.team, eq: contractors}\n        - {path: $.password_enabled, eq: true}\n        - {path: $.mfa_enabled, eq: false}\n";

fn junit_of(dir: &Path) -> (Output, serde_json::Value) {
    let o = iamwarden(&["test", "--format", "junit", dir.to_str().unwrap()]);
    let xsd = root().join("tests/support/junit-10.xsd");
    let r = python(JUNIT, &[xsd.to_str().unwrap()], &stdout(&o));
    (o, r)
}

#[test]
fn junit_output_is_valid_against_the_xsd_and_reads_in_junitparser() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("team.yaml"), PACK).unwrap();
    std::fs::write(
        dir.path().join("team.tests.yaml"),
        "tests:\n  - name: \"ctrl \\x01\\x1b[31m & <b> \\\"q\\\"\"\n    inventory:\n      users: [{name: cat, tags: {team: contractors}}]\n      login_profiles: [{user: cat}]\n    expect:\n      contractors-without-mfa: {match: [cat]}\n  - name: \"wrongly expects \\x07 an employee\"\n    inventory:\n      users: [{name: dan, tags: {team: platform}}]\n      login_profiles: [{user: dan}]\n    expect:\n      contractors-without-mfa: {match: [dan]}\n",
    )
    .unwrap();
    let (o, r) = junit_of(dir.path());
    assert_eq!(o.status.code(), Some(1), "a failing case fails the run");
    assert_eq!(r["errors"], serde_json::json!([]), "{}", stdout(&o));
    let cases = r["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2, "{r}");
    assert!(
        cases[0]["name"].as_str().unwrap().starts_with("ctrl ")
            && cases[0]["name"].as_str().unwrap().contains("& <b> \"q\""),
        "{r}"
    );
    assert_eq!(cases[0]["result"], serde_json::json!([]), "{r}");
    assert_eq!(cases[1]["result"], serde_json::json!(["Failure"]), "{r}");

    // A broken pack: an <error> the schema accepts, not an empty file.
    let broken = tempfile::tempdir().unwrap();
    std::fs::write(broken.path().join("bad.yaml"), "pack: {name: x\n").unwrap();
    std::fs::write(broken.path().join("bad.tests.yaml"), "tests: []\n").unwrap();
    let (o, r) = junit_of(broken.path());
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(r["errors"], serde_json::json!([]), "{}", stdout(&o));
    let cases = r["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 1, "{r}");
    assert_eq!(cases[0]["result"], serde_json::json!(["Error"]), "{r}");

    // Every case passing.
    std::fs::write(
        dir.path().join("team.tests.yaml"),
        "tests:\n  - name: a contractor\n    inventory:\n      users: [{name: cat, tags: {team: contractors}}]\n      login_profiles: [{user: cat}]\n    expect:\n      contractors-without-mfa: {match: [cat]}\n",
    )
    .unwrap();
    let (o, r) = junit_of(dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(r["errors"], serde_json::json!([]), "{}", stdout(&o));
    assert_eq!(r["cases"].as_array().unwrap().len(), 1);
}

// ---- AWS settings: the AWS CLI and iamwarden on the same settings -----------------------------

/// A proxy on 127.0.0.1 that records each request line (`CONNECT host:443 HTTP/1.1`, or an
/// absolute-URI request for plain HTTP), answers 502 and never forwards anything.
struct LoggingProxy {
    port: u16,
    lines: Arc<Mutex<Vec<String>>>,
}

impl LoggingProxy {
    fn start() -> LoggingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let seen = lines.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                let seen = seen.clone();
                std::thread::spawn(move || {
                    let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(5)));
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match s.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let text = String::from_utf8_lossy(&head);
                    if let Some(first) = text.lines().next().filter(|l| !l.is_empty()) {
                        seen.lock().unwrap().push(first.to_string());
                    }
                    let _ = s.write_all(
                        b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                });
            }
        });
        LoggingProxy { port, lines }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The hosts asked for since the last call (`CONNECT iam.amazonaws.com:443` ->
    /// `iam.amazonaws.com`), in order.
    fn take_hosts(&self) -> Vec<String> {
        std::mem::take(&mut *self.lines.lock().unwrap())
            .iter()
            .filter_map(|l| {
                let target = l.split_whitespace().nth(1)?;
                let host = target
                    .trim_start_matches("http://")
                    .trim_start_matches("https://")
                    .split(['/', ':'])
                    .next()?;
                Some(host.to_string())
            })
            .collect()
    }
}

/// A folder with the test's own AWS config and credentials files.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn config(&self, text: &str) {
        std::fs::write(self.path("config"), text).unwrap();
    }

    /// `program args` with only these variables (and PATH, HOME, the files, static
    /// credentials, instance metadata off, one attempt).
    fn run(&self, program: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", self.path("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", self.path("credentials"))
            .env("AWS_ACCESS_KEY_ID", KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env("AWS_MAX_ATTEMPTS", "1")
            .env("AWS_PAGER", "");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let o = cmd.output().unwrap();
        assert!(
            !stderr(&o).contains(SECRET) && !stdout(&o).contains(SECRET),
            "a secret was printed"
        );
        o
    }

    fn aws(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.run(&client("aws"), args, env)
    }

    fn iamwarden(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.run(Path::new(env!("CARGO_BIN_EXE_iamwarden")), args, env)
    }

    /// The IAM hosts each tool asked the proxy for under `env`: (the AWS CLI's, iamwarden's).
    fn iam_hosts(&self, proxy: &LoggingProxy, env: &[(&str, &str)]) -> (Vec<String>, Vec<String>) {
        let mut all = vec![("HTTPS_PROXY", proxy.url()), ("HTTP_PROXY", proxy.url())];
        all.extend(env.iter().map(|(k, v)| (*k, v.to_string())));
        let all: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let iam = |hosts: Vec<String>| -> Vec<String> {
            hosts.into_iter().filter(|h| h.starts_with("iam")).collect()
        };
        proxy.take_hosts();
        let o = self.aws(&["iam", "list-users"], &all);
        assert_ne!(o.status.code(), Some(0), "the proxy answers 502");
        let cli = iam(proxy.take_hosts());
        let out = self.path("snap.json");
        let o = self.iamwarden(&["snapshot", "--out", out.to_str().unwrap()], &all);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let ours = iam(proxy.take_hosts());
        (cli, ours)
    }
}

/// A name, the environment, the IAM host wanted.
type HostCase<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);

/// Both tools' IAM hosts are `want` and not empty.
fn same_host(name: &str, (cli, ours): (Vec<String>, Vec<String>), want: &str) {
    assert!(
        !cli.is_empty() && cli.iter().all(|h| h == want),
        "{name}: the AWS CLI asked the proxy for {cli:?}, not {want}"
    );
    assert!(
        !ours.is_empty() && ours.iter().all(|h| h == want),
        "{name}: iamwarden asked the proxy for {ours:?}, not {want}"
    );
}

#[test]
fn the_aws_cli_and_iamwarden_target_the_same_iam_host() {
    let proxy = LoggingProxy::start();
    let home = Home::new();
    // A CA bundle both tools can read (the system's; the proxy answers before any TLS).
    let system_ca = "/etc/ssl/certs/ca-certificates.crt";
    assert!(
        Path::new(system_ca).exists(),
        "no {system_ca} on this machine"
    );
    let cases: Vec<HostCase> = vec![
        ("no region", vec![], "iam.amazonaws.com"),
        (
            "AWS_DEFAULT_REGION cn-north-1",
            vec![("AWS_DEFAULT_REGION", "cn-north-1")],
            "iam.cn-north-1.amazonaws.com.cn",
        ),
        (
            "AWS_DEFAULT_REGION us-gov-west-1",
            vec![("AWS_DEFAULT_REGION", "us-gov-west-1")],
            "iam.us-gov.amazonaws.com",
        ),
        (
            "AWS_DEFAULT_REGION cn-northwest-1",
            vec![("AWS_DEFAULT_REGION", "cn-northwest-1")],
            "iam.cn-north-1.amazonaws.com.cn",
        ),
        (
            "AWS_DEFAULT_REGION eu-west-1",
            vec![("AWS_DEFAULT_REGION", "eu-west-1")],
            "iam.amazonaws.com",
        ),
        (
            "AWS_CA_BUNDLE",
            vec![
                ("AWS_CA_BUNDLE", system_ca),
                ("AWS_DEFAULT_REGION", "us-gov-west-1"),
            ],
            "iam.us-gov.amazonaws.com",
        ),
    ];
    for (name, env, want) in &cases {
        same_host(name, home.iam_hosts(&proxy, env), want);
    }
    // AWS_REGION: the AWS SDKs and AWS CLI v2 read it before AWS_DEFAULT_REGION, and so does
    // iamwarden (README, AWS settings); AWS CLI v1 reads only AWS_DEFAULT_REGION and stays in
    // the global partition. Measured here so a change on either side is seen.
    let (cli, ours) = home.iam_hosts(&proxy, &[("AWS_REGION", "cn-north-1")]);
    assert_eq!(cli, vec!["iam.amazonaws.com"], "AWS CLI v1 and AWS_REGION");
    assert!(
        !ours.is_empty() && ours.iter().all(|h| h == "iam.cn-north-1.amazonaws.com.cn"),
        "iamwarden and AWS_REGION: {ours:?}"
    );

    // A profile's region, for the selected profile; the environment over it.
    home.config("[default]\nregion = cn-north-1\n\n[profile gov]\nregion = us-gov-west-1\n");
    let cases: Vec<HostCase> = vec![
        ("default profile", vec![], "iam.cn-north-1.amazonaws.com.cn"),
        (
            "AWS_PROFILE gov",
            vec![("AWS_PROFILE", "gov")],
            "iam.us-gov.amazonaws.com",
        ),
        (
            "AWS_DEFAULT_REGION over the profile",
            vec![("AWS_DEFAULT_REGION", "us-east-1")],
            "iam.amazonaws.com",
        ),
    ];
    for (name, env, want) in &cases {
        same_host(name, home.iam_hosts(&proxy, env), want);
    }
}

#[test]
fn the_aws_cli_and_iamwarden_reach_the_endpoint_aws_endpoint_url_iam_names() {
    let server = moto::MotoServer::start();
    let (status, body) = server.post_form(&[("Action", "CreateUser"), ("UserName", "both")]);
    assert_eq!(status, 200, "{body}");
    let live = server.endpoint();
    let dead = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}", l.local_addr().unwrap().port())
    };
    let home = Home::new();
    let calls = |server: &moto::MotoServer| server.requests().len();

    // AWS_ENDPOINT_URL_IAM (moto) over AWS_ENDPOINT_URL (a closed port): both reach moto.
    // AWS CLI v1 wants a region once an endpoint URL is set ("You must specify a region").
    let env = [
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL", dead.as_str()),
        ("AWS_ENDPOINT_URL_IAM", live.as_str()),
    ];
    server.clear_requests();
    let o = home.aws(&["iam", "list-users"], &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("\"both\""), "{}", stdout(&o));
    assert!(calls(&server) > 0, "the AWS CLI did not reach moto");
    server.clear_requests();
    let snap = home.path("snap.json");
    let o = home.iamwarden(&["snapshot", "--out", snap.to_str().unwrap()], &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(calls(&server) > 0, "iamwarden did not reach moto");
    assert!(std::fs::read_to_string(&snap).unwrap().contains("\"both\""));
    let o = home.iamwarden(&["plan", "--now", NOW], &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // The other way round: both call the closed port and name it; moto hears nothing.
    let env = [
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL", live.as_str()),
        ("AWS_ENDPOINT_URL_IAM", dead.as_str()),
    ];
    server.clear_requests();
    let o = home.aws(&["iam", "list-users"], &env);
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains(&dead), "the AWS CLI: {}", stderr(&o));
    let o = home.iamwarden(&["snapshot", "--out", snap.to_str().unwrap()], &env);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(&dead), "iamwarden: {}", stderr(&o));
    assert_eq!(calls(&server), 0, "{:?}", server.requests());
}
