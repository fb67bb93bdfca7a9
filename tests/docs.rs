//! docs/rules.md is generated from the built-in packs, and the operator table of
//! docs/rule-language.md from the operator registry (`iamwarden::ops`); this test keeps both
//! in sync (`UPDATE_DOCS=1 cargo test --test docs` rewrites them).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[test]
fn rules_md_matches_the_builtin_packs() {
    let packs = iamwarden::packs::load_packs(&[]).unwrap();
    let generated = iamwarden::render::rules_doc::render(&packs);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/rules.md");
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/rules.md is out of date: run `UPDATE_DOCS=1 cargo test --test docs` and commit it"
    );
    for p in &packs {
        for r in &p.spec.rules {
            assert!(generated.contains(&format!("### `{}`", r.id)), "{}", r.id);
        }
    }
}

#[test]
fn the_operator_table_of_rule_language_md_matches_the_registry() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/rule-language.md");
    let committed = std::fs::read_to_string(&path).unwrap();
    let generated = iamwarden::ops::splice_doc(&committed)
        .expect("docs/rule-language.md lost the generated-operators markers");
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    assert!(
        committed == generated,
        "the operator table of docs/rule-language.md is out of date: run `UPDATE_DOCS=1 cargo test --test docs` and commit it"
    );
    for key in iamwarden::ops::keys() {
        assert!(generated.contains(&format!("| `{key}` |")), "{key}");
    }
}
