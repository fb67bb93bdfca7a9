//! No input makes iamwarden panic: every prefix of a valid pack and of a valid snapshot, and a
//! set of hostile inputs, either load or fail with a diagnostic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_core::spec::load::parse_pack;

#[test]
fn every_prefix_of_every_builtin_pack_loads_or_fails_cleanly() {
    for (file, text) in iamwarden_core::packs::BUILTIN {
        let mut cut = 0;
        while cut < text.len() {
            if let Some(prefix) = text.get(..cut) {
                match parse_pack(prefix, file) {
                    Ok(p) => {
                        let _ = iamwarden_core::compile::compile(&[p]);
                    }
                    Err(diags) => assert!(!diags.is_empty()),
                }
            }
            cut += 13;
        }
    }
}

#[test]
fn hostile_packs_fail_with_a_diagnostic() {
    let cases = [
        "",
        "~",
        "[]",
        "42",
        "pack: !!binary aGVsbG8=",
        "pack: &a [*a]",
        "pack:\n  name: x\n  version: 1.0.0\nrules:\n  - {id: r, title: t, severity: low, select: '$..*'}",
        "pack:\n  name: x\n  version: 1.0.0\nrules:\n  - {id: r, title: t, severity: low, select: '$.users[0]'}",
        "pack:\n  name: x\n  version: 1.0.0\nrules:\n  - {id: r, title: '{{#if}}', severity: low, select: '$.users'}",
        "pack:\n  name: x\n  version: 1.0.0\nrules:\n  - {id: r, title: t, severity: low, select: '$.users', when: {}}",
        "pack:\n  name: x\n  version: 1.0.0\nrules:\n  - {id: r, title: t, severity: low, select: '$.users', when: {not: {not: {path: '$.a'}}}}",
        "pack:\n  name: x\n  version: 1.0.0\nrules:\n  - {id: r, title: t, severity: low, select: '$.users', when: {path: '$.name', regex: '('}}",
        "pack:\n  name: x\n  version: 1.0.0\nrules:\n  - {id: r, title: t, severity: low, select: '$.users', when: {path: '$.created_at', older_than: '99999999999999999999d'}}",
        "\u{feff}pack: {name: x, version: 1.0.0}\nrules: [{id: R, title: t, severity: low, select: '$.users'}]",
    ];
    for text in cases {
        let r = parse_pack(text, "hostile.yaml")
            .map_err(|d| d.len())
            .and_then(|p| {
                iamwarden_core::compile::compile(&[p])
                    .map(|_| ())
                    .map_err(|d| d.len())
            });
        assert!(r.is_err(), "accepted: {text:?}");
    }
}

#[test]
fn every_prefix_of_the_demo_snapshot_loads_or_fails_cleanly() {
    let path = concat!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/.."),
        "/../examples/demo-account.json"
    );
    let text = std::fs::read(path).unwrap();
    let step = (text.len() / 400).max(1);
    let mut cut = 0;
    while cut < text.len() {
        let r = iamwarden_core::inventory::snapshot::parse(&text[..cut], "demo");
        if let Err(e) = r {
            assert!(e.to_string().starts_with("demo:"), "{e}");
        }
        cut += step;
    }
}

#[test]
fn parallel_evaluation_gives_the_same_plan_as_sequential() {
    let inv = iamwarden_test_support::synth::generate(6_000, 7);
    let rules = iamwarden_core::packs::load_rule_set(&[]).unwrap();
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let plan = |threads| {
        let m = iamwarden_core::eval::evaluate_with_threads(&rules, &inv, now, threads);
        serde_json::to_value(iamwarden_core::plan::build::build(
            &rules, &inv, m, now, now,
        ))
        .unwrap()
    };
    let one = plan(1);
    assert!(
        one["actions"].as_array().unwrap().len() > 100,
        "the synthetic account has work to do"
    );
    assert_eq!(one, plan(2));
    assert_eq!(one, plan(5));
}
