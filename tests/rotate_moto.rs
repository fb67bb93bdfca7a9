//! `rotate_access_key` end to end against moto on 127.0.0.1, which serves IAM and Secrets
//! Manager: phase one writes the new key to the secret (read back with Secrets Manager: it
//! holds the new key's id and secret); a call signed with the new key marks it used; phase
//! two deactivates the old key; undo of both runs removes the new key and the secret and
//! reactivates the old key. Every output and file of the test (stdout, stderr, plans,
//! journals) is searched for the new key's secret: it must not appear anywhere.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_test_support::{cli, moto, runtime as rt};

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const SEED_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const USER: &str = "r-alice";
const SECRET: &str = "iamwarden/r-alice";

/// The CLI, pointed at the server, with static credentials and nothing from the machine.
fn iamwarden(server: &moto::MotoServer) -> Command {
    cli::isolated(
        env!("CARGO_BIN_EXE_iamwarden"),
        &server.endpoint(),
        SEED_KEY,
        "seed-secret",
    )
}

/// Every output of every command the test ran.
#[derive(Default)]
struct Outputs(Vec<String>);

impl Outputs {
    fn run(&mut self, cmd: &mut Command) -> (i32, String, String) {
        let o = cmd.output().expect("run iamwarden");
        let (out, err) = (
            String::from_utf8_lossy(&o.stdout).to_string(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        );
        self.0.push(out.clone());
        self.0.push(err.clone());
        (o.status.code().unwrap_or(-1), out, err)
    }
}

fn pack() -> PathBuf {
    Path::new(ROOT).join("../tests/fixtures/apply/rotate.yaml")
}

fn plan(server: &moto::MotoServer, outs: &mut Outputs, out: &Path) -> Value {
    let (code, stdout, stderr) = outs.run(
        iamwarden(server)
            .args(["plan", "--format", "json", "--rules"])
            .arg(pack())
            .arg("--out")
            .arg(out),
    );
    assert_eq!(code, 0, "plan failed\n{stdout}\n{stderr}");
    serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap()
}

fn apply(server: &moto::MotoServer, outs: &mut Outputs, plan: &Path) -> Value {
    let (code, stdout, stderr) = outs.run(
        iamwarden(server)
            .args(["apply", "--auto-approve", "--format", "json"])
            .arg(plan),
    );
    assert_eq!(code, 0, "apply failed\n{stdout}\n{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

fn undo(server: &moto::MotoServer, outs: &mut Outputs, journal: &Path) -> Value {
    let (code, stdout, stderr) = outs.run(
        iamwarden(server)
            .args(["undo", "--auto-approve", "--format", "json"])
            .arg(journal),
    );
    assert_eq!(code, 0, "undo failed\n{stdout}\n{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

fn outcomes(report: &Value) -> Vec<(String, String)> {
    report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["action"].as_str().unwrap().to_string(),
                a["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn secrets_client(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    let conf = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
        .region(aws_sdk_secretsmanager::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            SEED_KEY,
            "seed-secret",
            None,
            None,
            "test",
        ))
        .build();
    aws_sdk_secretsmanager::Client::from_conf(conf)
}

/// (id, status) of the user's keys, oldest first.
async fn keys(c: &aws_sdk_iam::Client) -> Vec<(String, String)> {
    let mut ks: Vec<_> = c
        .list_access_keys()
        .user_name(USER)
        .send()
        .await
        .unwrap()
        .access_key_metadata()
        .iter()
        .map(|k| {
            (
                k.create_date().map(|d| d.as_nanos()).unwrap_or_default(),
                k.access_key_id().unwrap_or_default().to_string(),
                k.status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect();
    ks.sort();
    ks.into_iter().map(|(_, id, s)| (id, s)).collect()
}

/// Every file under `dir`, as text.
fn files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push((
                p.clone(),
                String::from_utf8_lossy(&std::fs::read(&p).unwrap()).to_string(),
            ));
        }
    }
    out
}

#[test]
fn rotation_hands_the_new_key_off_through_secrets_manager_and_undo_removes_it() {
    let server = moto::MotoServer::start();
    let rt = rt();
    let iam = moto::iam_client(&server.endpoint(), SEED_KEY, "seed-secret");
    let sm = secrets_client(&server.endpoint());
    let old = rt.block_on(async {
        iam.create_user().user_name(USER).send().await.unwrap();
        iam.create_access_key()
            .user_name(USER)
            .send()
            .await
            .unwrap()
            .access_key()
            .unwrap()
            .access_key_id()
            .to_string()
    });
    let dir = tempfile::tempdir().unwrap();
    let mut outs = Outputs::default();

    // Phase one.
    let plan1 = dir.path().join("plan1.json");
    let p = plan(&server, &mut outs, &plan1);
    let acts = p["actions"].as_array().unwrap();
    assert_eq!(acts.len(), 1, "{p}");
    assert_eq!(acts[0]["action"], "rotate_access_key");
    assert_eq!(acts[0]["resource"]["id"], old.as_str());
    assert_eq!(acts[0]["params"]["phase"], "create_new_key");
    assert_eq!(acts[0]["params"]["secret_name"], SECRET);
    let r = apply(&server, &mut outs, &plan1);
    assert_eq!(
        outcomes(&r),
        [("rotate_access_key".into(), "applied".into())],
        "{r}"
    );
    let ks = rt.block_on(keys(&iam));
    assert_eq!(ks.len(), 2, "{ks:?}");
    assert_eq!(ks[0], (old.clone(), "Active".to_string()));
    let new = ks[1].0.clone();

    // The secret holds the new key, and only Secrets Manager has its secret.
    let (stored, tags) = rt.block_on(async {
        let v = sm
            .get_secret_value()
            .secret_id(SECRET)
            .send()
            .await
            .unwrap();
        let d = sm.describe_secret().secret_id(SECRET).send().await.unwrap();
        let tags: Vec<(String, String)> = d
            .tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect();
        (
            serde_json::from_str::<Value>(v.secret_string().unwrap()).unwrap(),
            tags,
        )
    });
    assert_eq!(stored["AccessKeyId"], new.as_str());
    let secret = stored["SecretAccessKey"].as_str().unwrap().to_string();
    assert!(secret.len() >= 20, "a real secret: {}", secret.len());
    assert!(
        tags.contains(&("iamwarden:user".into(), USER.into())),
        "{tags:?}"
    );
    assert!(
        tags.contains(&("iamwarden:old-key".into(), old.clone())),
        "{tags:?}"
    );
    let user_tags = rt.block_on(async {
        iam.list_user_tags()
            .user_name(USER)
            .send()
            .await
            .unwrap()
            .tags()
            .to_vec()
    });
    assert!(user_tags
        .iter()
        .any(|t| t.key() == "iamwarden:rotates" && t.value() == old));
    assert!(user_tags
        .iter()
        .any(|t| t.key() == "iamwarden:rotation-new-key" && t.value() == new));

    // Before the new key is used (grace 30d), the next plan waits.
    let waiting = plan(&server, &mut outs, &dir.path().join("plan-wait.json"));
    assert!(
        waiting["actions"].as_array().unwrap().is_empty(),
        "{waiting}"
    );

    // A consumer signs a call with the new key (moto records its last use).
    let (status, body) = server.post_form_as(&new, &[("Action", "GetUser"), ("UserName", USER)]);
    assert_eq!(status, 200, "{body}");

    // Phase two.
    let plan2 = dir.path().join("plan2.json");
    let p2 = plan(&server, &mut outs, &plan2);
    let acts = p2["actions"].as_array().unwrap();
    assert_eq!(acts.len(), 1, "{p2}");
    assert_eq!(acts[0]["params"]["phase"], "deactivate_old_key");
    assert_eq!(acts[0]["params"]["new_key"], new.as_str());
    let r2 = apply(&server, &mut outs, &plan2);
    assert_eq!(
        outcomes(&r2),
        [("rotate_access_key".into(), "applied".into())],
        "{r2}"
    );
    assert_eq!(
        rt.block_on(keys(&iam)),
        [
            (old.clone(), "Inactive".to_string()),
            (new.clone(), "Active".to_string())
        ]
    );

    // Undo, newest run first: the old key active again; then the new key and the secret gone.
    let u2 = undo(
        &server,
        &mut outs,
        &dir.path().join("plan2.json.journal.jsonl"),
    );
    assert_eq!(u2["summary"]["failed"], 0, "{u2}");
    assert_eq!(
        rt.block_on(keys(&iam))[0],
        (old.clone(), "Active".to_string())
    );
    let u1 = undo(
        &server,
        &mut outs,
        &dir.path().join("plan1.json.journal.jsonl"),
    );
    assert_eq!(u1["summary"]["failed"], 0, "{u1}");
    assert_eq!(
        rt.block_on(keys(&iam)),
        [(old.clone(), "Active".to_string())]
    );
    let gone = rt.block_on(async { sm.describe_secret().secret_id(SECRET).send().await });
    match gone {
        Err(e) => {
            let code = aws_sdk_secretsmanager::error::ProvideErrorMetadata::code(&e)
                .unwrap_or_default()
                .to_string();
            assert_eq!(code, "ResourceNotFoundException", "{e:?}");
        }
        Ok(d) => assert!(
            d.deleted_date().is_some(),
            "the secret is still there: {d:?}"
        ),
    }
    let user_tags = rt.block_on(async {
        iam.list_user_tags()
            .user_name(USER)
            .send()
            .await
            .unwrap()
            .tags()
            .to_vec()
    });
    assert!(!user_tags.iter().any(|t| t.key().starts_with("iamwarden:")));

    // The secret is nowhere but where it was written.
    let written = files(dir.path());
    assert!(
        written.len() >= 5,
        "{:?}",
        written.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for (path, text) in &written {
        assert!(
            !text.contains(&secret),
            "the secret is in {}",
            path.display()
        );
    }
    for (i, text) in outs.0.iter().enumerate() {
        assert!(
            !text.contains(&secret),
            "the secret is in output {i}:\n{text}"
        );
    }
    // The journal names the new key (so undo works), never its secret.
    let j1 = std::fs::read_to_string(dir.path().join("plan1.json.journal.jsonl")).unwrap();
    assert!(j1.contains(&new), "{j1}");
    assert!(j1.contains("<redacted>"), "{j1}");
}
