//! docs/rules.md is generated from the built-in packs, the operator table of
//! docs/rule-language.md from the operator registry (`iamwarden_core::ops`) and its step table from
//! the step registry (`iamwarden_core::steps`); these tests keep them in sync (`UPDATE_GOLDEN=1 cargo test --test generated` rewrites them).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[test]
fn rules_md_matches_the_builtin_packs() {
    let packs = iamwarden_core::packs::load_packs(&[]).unwrap();
    let generated = iamwarden_core::render::rules_doc::render(&packs);
    crate::golden::check("docs/rules.md", &generated);
    for p in &packs {
        for r in &p.spec.rules {
            assert!(generated.contains(&format!("### `{}`", r.id)), "{}", r.id);
        }
    }
}

#[test]
fn the_operator_table_of_rule_language_md_matches_the_registry() {
    let generated = rule_language_md();
    crate::golden::check("docs/rule-language.md", &generated);
    for key in iamwarden_core::ops::keys() {
        assert!(generated.contains(&format!("| `{key}` |")), "{key}");
    }
}

#[test]
fn the_step_table_of_rule_language_md_matches_the_registry() {
    let generated = rule_language_md();
    crate::golden::check("docs/rule-language.md", &generated);
    let steps = iamwarden_core::steps::ALL_STEPS;
    assert!(
        generated.contains(&format!("### 8.1 The {} steps", steps.len())),
        "the heading of 8.1 counts the steps"
    );
    for step in steps {
        assert!(generated.contains(&format!("| `{step}` |")), "{step}");
    }
}

/// docs/rule-language.md with both generated tables refreshed (both tests check, and with
/// `UPDATE_GOLDEN=1` write, the whole file: neither may undo the other's refresh).
fn rule_language_md() -> String {
    let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .join("../docs/rule-language.md");
    let committed = std::fs::read_to_string(&path).unwrap();
    let ops = iamwarden_core::ops::splice_doc(&committed)
        .expect("docs/rule-language.md lost the generated-operators markers");
    iamwarden_core::steps::splice_doc(&ops)
        .expect("docs/rule-language.md lost the generated-steps markers")
}
