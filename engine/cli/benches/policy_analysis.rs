//! Cost of the policy analysis checks and of event mode (run with `cargo bench --bench
//! policy_analysis`; release build). Prints the catalog's first-use parse time, the time per
//! document of each check on three documents (admin, a 20-statement least-privilege policy, a
//! NotAction allow), and event mode on the demo account's sample log file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_core::policy::analysis::PolicyCheck;
use iamwarden_core::policy::catalog::{catalog, AccessLevel};
use iamwarden_core::policy::Document;
use serde_json::json;
use std::time::Instant;

fn main() {
    let t = Instant::now();
    let c = catalog();
    println!(
        "catalog: {} services, {} actions, parsed in {:.1} ms",
        c.service_count(),
        c.action_count(),
        t.elapsed().as_secs_f64() * 1e3
    );
    let statements: Vec<_> = (0..20)
        .map(|i| {
            json!({"Sid": format!("S{i}"), "Effect": "Allow",
                   "Action": ["s3:GetObject", "s3:PutObject", "s3:List*", "dynamodb:Query", "sqs:SendMessage"],
                   "Resource": format!("arn:aws:s3:::bucket-{i}/*")})
        })
        .collect();
    let docs = [
        (
            "admin",
            json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
        ),
        ("20 statements", json!({"Statement": statements})),
        (
            "NotAction",
            json!({"Statement": [{"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}]}),
        ),
    ];
    let checks = [
        (
            "privilege_escalation",
            PolicyCheck::PrivilegeEscalation(None),
        ),
        ("unknown_actions", PolicyCheck::UnknownActions),
        ("service_wildcards", PolicyCheck::ServiceWildcards(None)),
        ("invalid_arns", PolicyCheck::InvalidArns),
        (
            "grants_access_level",
            PolicyCheck::AccessLevel(vec![AccessLevel::PermissionsManagement]),
        ),
    ];
    for (name, doc) in &docs {
        let d = Document::parse(doc).unwrap();
        let n = 2000;
        let t = Instant::now();
        for _ in 0..n {
            std::hint::black_box(Document::parse(doc).unwrap());
        }
        let mut line = format!(
            "{name:<14} parse {:>7.1} µs",
            t.elapsed().as_secs_f64() * 1e6 / f64::from(n)
        );
        for (cname, check) in &checks {
            let n = if matches!(check, PolicyCheck::AccessLevel(_)) {
                20
            } else {
                2000
            };
            let t = Instant::now();
            for _ in 0..n {
                std::hint::black_box(d.check(check, false));
            }
            line.push_str(&format!(
                "  {cname} {:.1} µs",
                t.elapsed().as_secs_f64() * 1e6 / f64::from(n)
            ));
        }
        println!("{line}");
    }

    let root = concat!(concat!(env!("CARGO_MANIFEST_DIR"), "/.."), "/..");
    let inv = iamwarden_core::inventory::snapshot::load(std::path::Path::new(&format!(
        "{root}/examples/demo-account.json"
    )))
    .unwrap();
    let rules = iamwarden_core::packs::load_rule_set(&[]).unwrap();
    let bytes = std::fs::read(format!("{root}/examples/events/log-file.json.gz")).unwrap();
    let now = chrono::Utc::now();
    let n = 50;
    let t = Instant::now();
    for _ in 0..n {
        let events = iamwarden_core::event::read(&bytes, "log").unwrap();
        let (plan, _) = iamwarden_core::pipeline::make_event_plan(
            &rules,
            inv.clone(),
            &events.events,
            now,
            now,
        );
        std::hint::black_box(plan);
    }
    println!(
        "event mode, demo account, gzipped log file (5 records): {:.1} ms per run",
        t.elapsed().as_secs_f64() * 1e3 / f64::from(n)
    );
}
