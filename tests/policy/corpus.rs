//! The policy corpus (tests/fixtures/policy-corpus.yaml): about a hundred policy documents with
//! the verdict of every built-in policy rule worked out from AWS's documented evaluation logic.
//! Every rule of rules/policies.yaml runs on every document, as a customer-managed policy and as
//! a user's inline policy, and every difference is a false positive or a false negative. The
//! test prints the counts (the issue 10 closing note reports them) and fails on any error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_test_support::root;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Short verdict name -> (managed-policy rule, inline-policy rule).
const VERDICTS: [(&str, &str, &str); 7] = [
    ("admin", "customer-policy-admin", "inline-policy-admin"),
    (
        "notaction",
        "policy-not-action-allow",
        "inline-policy-risky",
    ),
    (
        "passrole",
        "policy-passrole-any-resource",
        "inline-policy-risky",
    ),
    (
        "escalation",
        "policy-privilege-escalation",
        "inline-policy-risky",
    ),
    ("wildcard", "policy-sensitive-service-wildcard", ""),
    (
        "unknown",
        "policy-unknown-actions",
        "inline-policy-unknown-actions",
    ),
    (
        "invalid",
        "policy-document-invalid",
        "inline-policy-document-invalid",
    ),
];

#[derive(serde::Deserialize)]
struct Corpus {
    documents: Vec<Entry>,
}

#[derive(serde::Deserialize)]
struct Entry {
    name: String,
    fires: Vec<String>,
    doc: Value,
}

#[test]
fn every_policy_rule_reaches_the_corpus_verdict_on_every_document() {
    let text = std::fs::read_to_string(root().join("tests/fixtures/policy-corpus.yaml")).unwrap();
    let corpus: Corpus =
        serde_json::from_value(iamwarden_core::spec::yaml::parse(&text).unwrap().value).unwrap();
    assert!(corpus.documents.len() >= 90, "{}", corpus.documents.len());
    let mut names = std::collections::BTreeSet::new();
    for e in &corpus.documents {
        assert!(names.insert(e.name.clone()), "{} twice", e.name);
        for f in &e.fires {
            assert!(
                VERDICTS.iter().any(|(v, _, _)| v == f),
                "{}: unknown verdict {f}",
                e.name
            );
        }
    }
    let pack = root().join("rules/policies.yaml");
    let packs = iamwarden_core::packs::load_packs(&[pack.display().to_string()]).unwrap();
    let known: std::collections::BTreeSet<String> = iamwarden_core::packs::load_rule_set(&[])
        .unwrap()
        .rules
        .iter()
        .map(|r| r.id.clone())
        .collect();

    // rule -> (expected matches, expected non-matches), as rule-test keys.
    let mut expect: BTreeMap<&str, (Vec<String>, Vec<String>)> = BTreeMap::new();
    let mut managed = Vec::new();
    let mut inline = Vec::new();
    for e in &corpus.documents {
        managed.push(json!({"name": e.name, "document": e.doc}));
        inline.push(json!({"owner": "corpus", "name": e.name, "document": e.doc}));
        let mut inline_fires: BTreeMap<&str, bool> = BTreeMap::new();
        for (verdict, m, i) in VERDICTS {
            let fires = e.fires.iter().any(|f| f == verdict);
            let slot = expect.entry(m).or_default();
            if fires { &mut slot.0 } else { &mut slot.1 }.push(e.name.clone());
            if !i.is_empty() {
                *inline_fires.entry(i).or_default() |= fires;
            }
        }
        for (rule, fires) in inline_fires {
            let slot = expect.entry(rule).or_default();
            let key = format!("user/corpus/{}", e.name);
            if fires { &mut slot.0 } else { &mut slot.1 }.push(key);
        }
    }
    // Rules the pack does not have (yet): every expected match is a false negative.
    let mut missing_rule_fn = 0usize;
    let mut expectations = serde_json::Map::new();
    for (rule, (yes, no)) in &expect {
        if known.contains(*rule) {
            expectations.insert(rule.to_string(), json!({"match": yes, "no_match": no}));
        } else {
            eprintln!("rule {rule} does not exist: {} false negatives", yes.len());
            missing_rule_fn += yes.len();
        }
    }
    let names: Vec<&String> = corpus.documents.iter().map(|e| &e.name).collect();
    let tests = json!({"tests": [{
        "name": "the policy corpus",
        "inventory": {
            "users": [{"name": "corpus", "inline_policies": names}],
            "managed_policies": managed,
            "inline_policies": inline,
        },
        "expect": expectations,
    }]});
    let results = iamwarden_core::ruletest::run_file(
        "policy-corpus",
        &serde_json::to_string(&tests).unwrap(),
        &packs,
    )
    .unwrap();
    let failures: Vec<&String> = results.iter().flat_map(|r| r.failures.iter()).collect();
    let fp: Vec<&&String> = failures
        .iter()
        .filter(|f| f.contains(" must not match "))
        .collect();
    let fneg: Vec<&&String> = failures
        .iter()
        .filter(|f| f.contains(" must match "))
        .collect();
    let other: Vec<&&String> = failures
        .iter()
        .filter(|f| !f.contains(" must not match ") && !f.contains(" must match "))
        .collect();
    let managed_only = |v: &[&&String]| v.iter().filter(|f| !f.contains("user/corpus/")).count();
    let questions: usize = expect.values().map(|(y, n)| y.len() + n.len()).sum();
    eprintln!(
        "policy corpus: {} documents, {questions} verdicts; false positives {} ({} on managed \
         policies), false negatives {} ({} on managed policies)",
        corpus.documents.len(),
        fp.len(),
        managed_only(&fp),
        fneg.len() + missing_rule_fn,
        managed_only(&fneg) + missing_rule_fn / 2,
    );
    for f in fp.iter().chain(fneg.iter()) {
        let line = f.lines().next().unwrap_or_default();
        eprintln!("  {}", line.split(" (it matched").next().unwrap_or(line));
    }
    assert!(other.is_empty(), "{other:#?}");
    assert!(
        fp.is_empty() && fneg.is_empty() && missing_rule_fn == 0,
        "{} false positives, {} false negatives (listed above)",
        fp.len(),
        fneg.len() + missing_rule_fn
    );
}
