//! The in-use guard against a real IAM endpoint (a moto server on 127.0.0.1, with its clock
//! moved to backdate creation and last use; see `iamwarden_test_support::moto`). Issue 10.
//!
//! - apply re-checks user-level steps: a user whose key signs a request after the plan is not
//!   quarantined or deleted (stale), unless the plan says the rule allowed credentials in use;
//! - acceptance: a seeded 1,000-user account where a share of the keys were used in the last 45
//!   days gets no disabling action on any of those keys from the default packs (the live plan),
//!   while the same account planned the way main did (the old `access-key-second-active`, no
//!   guard) reproduces the bug.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_test_support::{
    cli::{self, text},
    moto, runtime as rt,
};

use aws_sdk_iam::Client;
use iamwarden_core::plan::Plan;
use iamwarden_core::spec::StepName;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Instant;

const SEED_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const DAY: i64 = 86_400;

fn client(server: &moto::MotoServer) -> Client {
    moto::iam_client(&server.endpoint(), SEED_KEY, "seed-secret")
}

/// The CLI, pointed at the server, with static credentials and nothing from the machine.
fn iamwarden(server: &moto::MotoServer) -> Command {
    cli::isolated(
        env!("CARGO_BIN_EXE_iamwarden"),
        &server.endpoint(),
        SEED_KEY,
        "seed-secret",
    )
}

fn run(cmd: &mut Command) -> Output {
    cli::run_hiding(cmd, &["seed-secret"])
}

/// Signs one request with `key` at the server's clock (moto records it as the key's last use).
fn use_key(server: &moto::MotoServer, key: &str) {
    let (status, body) = server.post_form_as(key, &[("Action", "GetUser")]);
    assert!(status < 500, "{status} {body}");
}

async fn new_user(c: &Client, name: &str) {
    c.create_user().user_name(name).send().await.unwrap();
}

async fn new_key(c: &Client, user: &str) -> String {
    let k = c.create_access_key().user_name(user).send().await.unwrap();
    k.access_key().unwrap().access_key_id().to_string()
}

const IDLE_PACK: &str = "\
pack: {name: test/idle-users, version: 1.0.0}
rules:
  - id: idle-quarantine
    title: idle user
    severity: low
    select: $.users[?(@.name == 'q-user' || @.name == 'q-allowed')]
    when: {path: $.last_activity_at, fallback: $.created_at, older_than: 30d}
    remediation: [{step: quarantine_user}]
  - id: idle-delete
    title: idle user
    severity: low
    select: $.users[?(@.name == 'd-user')]
    when: {path: $.last_activity_at, fallback: $.created_at, older_than: 30d}
    remediation: [{step: delete_user}]
  - id: idle-quarantine-anyway
    title: idle or not
    severity: low
    allow_in_use: true
    select: $.users[?(@.name == 'a-user')]
    remediation: [{step: quarantine_user}]
";

#[test]
fn a_key_used_after_the_plan_makes_quarantine_and_delete_user_stale() {
    let server = moto::MotoServer::start();
    let rt = rt();
    let c = client(&server);
    // Created and last used 100 days ago: idle by the plan's judgement. a-user's key was used
    // yesterday, and its rule says allow_in_use.
    server.set_clock_offset(-100 * DAY);
    let keys: BTreeMap<&str, String> = rt.block_on(async {
        let mut keys = BTreeMap::new();
        for u in ["q-user", "q-allowed", "d-user", "a-user"] {
            new_user(&c, u).await;
            keys.insert(u, new_key(&c, u).await);
        }
        keys
    });
    for k in keys.values() {
        use_key(&server, k);
    }
    server.set_clock_offset(-DAY);
    use_key(&server, &keys["a-user"]);
    server.set_clock_offset(0);

    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("idle.yaml");
    std::fs::write(&pack, IDLE_PACK).unwrap();
    let plan_path = dir.path().join("plan.json");
    let o = run(iamwarden(&server)
        .args(["plan", "--format", "json", "--rules"])
        .arg(&pack)
        .arg("--out")
        .arg(&plan_path));
    assert!(o.status.success(), "{}", text(&o));
    let plan: Plan = serde_json::from_str(&std::fs::read_to_string(&plan_path).unwrap()).unwrap();
    let top: Vec<(StepName, &str)> = plan
        .actions
        .iter()
        .filter(|a| a.part_of.is_none())
        .map(|a| (a.step(), a.resource.name.as_str()))
        .collect();
    assert_eq!(
        top,
        vec![
            (StepName::QuarantineUser, "a-user"),
            (StepName::DeleteUser, "d-user"),
            (StepName::QuarantineUser, "q-allowed"),
            (StepName::QuarantineUser, "q-user"),
        ],
        "{plan:#?}"
    );
    let allowed = plan
        .actions
        .iter()
        .find(|a| a.resource.name == "a-user")
        .unwrap();
    assert!(allowed
        .allowed_in_use
        .as_deref()
        .is_some_and(|u| u.starts_with(&format!("access key {} last used ", keys["a-user"]))));
    assert!(allowed.precondition_json().get("in_use_since").is_none());

    // After the plan: q-user's and d-user's keys sign requests; q-allowed stays idle; a-user's
    // key is used again (its rule allows that).
    use_key(&server, &keys["q-user"]);
    use_key(&server, &keys["d-user"]);
    use_key(&server, &keys["a-user"]);
    server.clear_requests();
    let o = run(iamwarden(&server)
        .args([
            "apply",
            "--auto-approve",
            "--allow-destructive",
            "--format",
            "json",
        ])
        .arg(&plan_path));
    assert_eq!(
        o.status.code(),
        Some(3),
        "stale actions exit 3\n{}",
        text(&o)
    );
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    let outcome: HashMap<String, (String, String)> = report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["target"].as_str().unwrap().to_string(),
                (
                    a["outcome"].as_str().unwrap().to_string(),
                    a["detail"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect();
    let get = |needle: &str| {
        outcome
            .iter()
            .find(|(k, _)| k.starts_with(needle))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {needle} in {outcome:#?}"))
    };
    let (o_q, why_q) = get("quarantine_user q-user");
    assert_eq!(o_q, "stale", "{why_q}");
    assert!(
        why_q.contains(&format!(
            "user q-user is in use: access key {} was used at",
            keys["q-user"]
        )),
        "{why_q}"
    );
    let (o_d, why_d) = get("delete_user d-user");
    assert_eq!(o_d, "stale", "{why_d}");
    // The cascade's parts check the user first: nothing of d-user was removed.
    for (k, (o, why)) in &outcome {
        if k.contains("d-user") || k.contains(&keys["d-user"]) {
            assert_eq!(o, "stale", "{k}: {why}");
        }
    }
    assert_eq!(get("quarantine_user q-allowed").0, "applied");
    assert_eq!(get("quarantine_user a-user").0, "applied");
    let changed: Vec<String> = server
        .requests()
        .into_iter()
        .filter_map(|r| r["action"].as_str().map(str::to_string))
        .filter(|a| {
            !(a.starts_with("Get") || a.starts_with("List") || a == "GenerateCredentialReport")
        })
        .collect();
    assert_eq!(
        changed,
        vec!["PutUserPolicy", "PutUserPolicy"],
        "only the two quarantines ran"
    );
    let kept = rt
        .block_on(c.list_user_policies().user_name("q-user").send())
        .unwrap();
    assert!(kept.policy_names().is_empty());
    assert!(rt.block_on(c.get_user().user_name("d-user").send()).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Acceptance: 1,000 users
// ---------------------------------------------------------------------------------------------

/// One cohort of seeded users: how many, and their keys as (created, last used) in days ago.
struct Cohort {
    name: &'static str,
    users: usize,
    keys: &'static [(i64, Option<i64>)],
}

/// 1,000 users, 1,350 keys; 850 of the keys were used within 45 days.
const COHORTS: [Cohort; 6] = [
    // One key in daily use, created long ago (reported as not rotated, never disabled).
    Cohort {
        name: "daily",
        users: 400,
        keys: &[(400, Some(2))],
    },
    // The case: the old key is used every day, a 5-day-old key was never used.
    Cohort {
        name: "fresh-unused",
        users: 150,
        keys: &[(300, Some(1)), (5, None)],
    },
    // A rotation in progress: both keys in use.
    Cohort {
        name: "rotating",
        users: 100,
        keys: &[(200, Some(3)), (20, Some(1))],
    },
    // The older key is the busy one; the newer one has been idle for 60 days.
    Cohort {
        name: "newer-idle",
        users: 100,
        keys: &[(300, Some(1)), (100, Some(60))],
    },
    // Idle keys: unused for 120 and 200 days (the second cohort's users are idle too).
    Cohort {
        name: "idle-key",
        users: 150,
        keys: &[(200, Some(120))],
    },
    Cohort {
        name: "idle-user",
        users: 100,
        keys: &[(400, Some(200))],
    },
];

/// Runs `f` over `items` with 16 requests in flight (moto serves about 150 requests/s).
async fn each<T, F, Fut>(items: Vec<T>, f: F)
where
    T: Send + 'static,
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(16));
    let mut set = tokio::task::JoinSet::new();
    for item in items {
        let permit = sem.clone().acquire_owned().await.unwrap();
        let fut = f(item);
        set.spawn(async move {
            fut.await;
            drop(permit);
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
}

/// Seeds the cohorts with the clock moved for every creation and last use. Returns each key's
/// last use in days ago (`None`: never used), by key id.
fn seed(server: &moto::MotoServer, rt: &tokio::runtime::Runtime) -> BTreeMap<String, Option<i64>> {
    let c = client(server);
    // (user, key slot) -> key id, filled phase by phase.
    let ids = std::sync::Arc::new(std::sync::Mutex::new(
        BTreeMap::<(String, usize), String>::new(),
    ));
    // Every event that needs the clock, oldest first: (days ago, what).
    enum Ev {
        User(String),
        Key(String, usize),
        Use(String, usize),
    }
    let mut events: Vec<(i64, u8, Ev)> = Vec::new();
    for co in &COHORTS {
        let created = co.keys.iter().map(|k| k.0).max().unwrap_or(0);
        for u in 0..co.users {
            let name = format!("{}-{u:04}", co.name);
            events.push((created, 0, Ev::User(name.clone())));
            for (slot, (made, used)) in co.keys.iter().enumerate() {
                events.push((*made, 1, Ev::Key(name.clone(), slot)));
                if let Some(d) = used {
                    events.push((*d, 2, Ev::Use(name.clone(), slot)));
                }
            }
        }
    }
    events.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut by_phase: Vec<(i64, u8, Vec<Ev>)> = Vec::new();
    for (d, kind, e) in events {
        match by_phase.last_mut() {
            Some((pd, pk, v)) if *pd == d && *pk == kind => v.push(e),
            _ => by_phase.push((d, kind, vec![e])),
        }
    }
    for (days, _, evs) in by_phase {
        server.set_clock_offset(-days * DAY);
        let users: Vec<String> = evs
            .iter()
            .filter_map(|e| match e {
                Ev::User(n) => Some(n.clone()),
                _ => None,
            })
            .collect();
        let keys: Vec<(String, usize)> = evs
            .iter()
            .filter_map(|e| match e {
                Ev::Key(n, s) => Some((n.clone(), *s)),
                _ => None,
            })
            .collect();
        let uses: Vec<(String, usize)> = evs
            .iter()
            .filter_map(|e| match e {
                Ev::Use(n, s) => Some((n.clone(), *s)),
                _ => None,
            })
            .collect();
        rt.block_on(async {
            let c1 = c.clone();
            each(users, move |n| {
                let c = c1.clone();
                async move { new_user(&c, &n).await }
            })
            .await;
            let c2 = c.clone();
            let ids2 = ids.clone();
            each(keys, move |(n, slot)| {
                let c = c2.clone();
                let ids = ids2.clone();
                async move {
                    let id = new_key(&c, &n).await;
                    ids.lock().unwrap().insert((n, slot), id);
                }
            })
            .await;
        });
        for (n, slot) in uses {
            let id = ids
                .lock()
                .unwrap()
                .get(&(n.clone(), slot))
                .cloned()
                .unwrap();
            use_key(server, &id);
        }
    }
    server.set_clock_offset(0);
    let ids = ids.lock().unwrap();
    let mut last_use = BTreeMap::new();
    for co in &COHORTS {
        for u in 0..co.users {
            for (slot, (_, used)) in co.keys.iter().enumerate() {
                let id = ids
                    .get(&(format!("{}-{u:04}", co.name), slot))
                    .cloned()
                    .unwrap();
                last_use.insert(id, *used);
            }
        }
    }
    last_use
}

/// Keys that `plan` stops: deactivated or deleted, or their owner quarantined or deleted.
fn disabled_keys(plan: &Plan, owner: &HashMap<String, String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for a in &plan.actions {
        match a.step().disables_credential() {
            Some(iamwarden_core::steps::Disables::AccessKey) => {
                out.insert(a.resource.id.clone());
            }
            Some(iamwarden_core::steps::Disables::User) => {
                out.extend(
                    owner
                        .iter()
                        .filter(|(_, u)| **u == a.resource.name)
                        .map(|(k, _)| k.clone()),
                );
            }
            _ => {}
        }
    }
    out
}

/// The default packs as main planned them: the old `access-key-second-active` (keep the newest
/// key, whatever its use) and no in-use guard (every rule with `allow_in_use: true`).
fn as_on_main(dir: &Path) -> iamwarden_core::compile::RuleSet {
    let packs = iamwarden_core::packs::load_packs(&[]).unwrap();
    let mut overrides = String::new();
    for r in packs.iter().flat_map(|p| p.spec.rules.iter()) {
        if r.id == "access-key-second-active" {
            overrides.push_str(&format!("  {}: {{disabled: true}}\n", r.id));
        } else if r
            .remediation
            .iter()
            .any(|s| s.step.disables_credential().is_some())
        {
            overrides.push_str(&format!("  {}: {{allow_in_use: true}}\n", r.id));
        }
    }
    let text = format!(
        "pack: {{name: test/main, version: 1.0.0}}\ninclude: [builtin]\noverrides:\n{overrides}\
rules:
  - id: access-key-second-active-main
    title: User has more than one active access key
    severity: medium
    allow_in_use: true
    select: $.access_keys[?(@.status == 'Active')]
    when:
      all:
        - {{path: $.user_active_key_count, ge: 2}}
        - {{path: $.newest_active_key_of_user, eq: false}}
    remediation: [{{step: deactivate_access_key}}]
"
    );
    let path = dir.join("main.yaml");
    std::fs::write(&path, text).unwrap();
    iamwarden_core::packs::load_rule_set(&[path.display().to_string()]).unwrap()
}

#[test]
fn a_1000_user_account_gets_no_disabling_action_on_a_key_used_in_the_last_45_days() {
    let server = moto::MotoServer::start();
    let rt = rt();
    let t = Instant::now();
    let last_use = seed(&server, &rt);
    let seeded = t.elapsed();
    let in_use: BTreeSet<String> = last_use
        .iter()
        .filter(|(_, d)| d.is_some_and(|d| d < 45))
        .map(|(k, _)| k.clone())
        .collect();
    assert_eq!(last_use.len(), 1_350);
    assert_eq!(in_use.len(), 850);

    let t = Instant::now();
    let c = client(&server);
    let opts = iamwarden_aws::live::LiveOptions {
        concurrency: 8,
        ..Default::default()
    };
    let (inv, _) = rt.block_on(iamwarden_aws::live::read(&c, &opts)).unwrap();
    let read = t.elapsed();
    assert_eq!(inv.users.len(), 1_000);
    // The live reader saw the backdated uses.
    let seen_in_use = inv
        .access_keys
        .iter()
        .filter(|k| {
            k.last_used_at
                .is_some_and(|t| chrono::Utc::now() - t < chrono::Duration::days(45))
        })
        .count();
    if seen_in_use != 850 {
        let missed: BTreeMap<String, usize> = inv
            .access_keys
            .iter()
            .filter(|k| in_use.contains(&k.id))
            .filter(|k| {
                k.last_used_at
                    .is_none_or(|t| chrono::Utc::now() - t >= chrono::Duration::days(45))
            })
            .fold(BTreeMap::new(), |mut m, k| {
                let cohort = k
                    .user
                    .rsplit_once('-')
                    .map(|(c, _)| c.to_string())
                    .unwrap_or_default();
                *m.entry(format!(
                    "{cohort} {:?}",
                    k.last_used_at.map(|t| (chrono::Utc::now() - t).num_days())
                ))
                .or_default() += 1;
                m
            });
        panic!("the live read saw {seen_in_use} keys in use, not 850: {missed:?}");
    }
    // For comparing with another build (e.g. main's binary on `plan --snapshot`).
    if let Some(path) = std::env::var_os("IN_USE_ACCEPTANCE_SNAPSHOT") {
        std::fs::write(path, serde_json::to_vec(&inv).unwrap()).unwrap();
    }
    let owner: HashMap<String, String> = inv
        .access_keys
        .iter()
        .map(|k| (k.id.clone(), k.user.clone()))
        .collect();

    let now = chrono::Utc::now();
    println!(
        "evaluated at {}",
        now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let rules = iamwarden_core::packs::load_rule_set(&[]).unwrap();
    let after = iamwarden_core::pipeline::make_plan(&rules, &inv, now, now);
    let dir = tempfile::tempdir().unwrap();
    let before = iamwarden_core::pipeline::make_plan(&as_on_main(dir.path()), &inv, now, now);

    let hit = |p: &Plan| -> BTreeSet<String> {
        disabled_keys(p, &owner)
            .intersection(&in_use)
            .cloned()
            .collect()
    };
    let (hit_before, hit_after) = (hit(&before), hit(&after));
    let all_after = disabled_keys(&after, &owner);
    let guard_skips = after
        .skipped
        .iter()
        .filter(|s| s.reason.starts_with("in use: "))
        .count();
    println!(
        "seeded 1,000 users / 1,350 keys in {:.1} s; live read {:.1} s; keys in use: {}; \
         in-use keys given a disabling action: before (main) {}, after {}; keys disabled after: {}; \
         guard skips: {guard_skips}",
        seeded.as_secs_f64(),
        read.as_secs_f64(),
        in_use.len(),
        hit_before.len(),
        hit_after.len(),
        all_after.len()
    );
    assert!(hit_after.is_empty(), "in-use keys disabled: {hit_after:?}");
    // What main did: the busy older key of every user with a fresher second key.
    assert_eq!(
        hit_before.len(),
        350,
        "main's count changed: {}",
        hit_before.len()
    );
    // What is still disabled is exactly the unused keys: the 150 never-used fresh keys, the
    // 100 keys idle for 60 days, the 150 + 100 idle keys (the last through their idle owner too).
    let unused: BTreeSet<String> = last_use
        .iter()
        .filter(|(_, d)| d.is_none_or(|d| d >= 45))
        .map(|(k, _)| k.clone())
        .collect();
    assert_eq!(all_after, unused);
    // Rotations in progress are findings with no action.
    let rotating = after
        .findings
        .iter()
        .filter(|f| &*f.rule == "access-key-second-active" && f.actions.is_empty())
        .count();
    assert_eq!(rotating, 100);
}
