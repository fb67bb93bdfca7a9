//! docs/rules.md is generated from the built-in packs and kept in sync by this test
//! (`UPDATE_DOCS=1 cargo test --test docs` rewrites it).
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
