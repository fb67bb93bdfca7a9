//! docs/rules.md is generated from the built-in packs and kept in sync by this test
//! (`UPDATE_GOLDEN=1 cargo test --test generated` rewrites it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[test]
fn rules_md_matches_the_builtin_packs() {
    let packs = iamwarden::packs::load_packs(&[]).unwrap();
    let generated = iamwarden::render::rules_doc::render(&packs);
    crate::golden::check("docs/rules.md", &generated);
    for p in &packs {
        for r in &p.spec.rules {
            assert!(generated.contains(&format!("### `{}`", r.id)), "{}", r.id);
        }
    }
}
