//! Test support: the one compare-or-rewrite of committed generated files (golden outputs in
//! tests/golden/, schemas/*.json, docs/rules.md, the policy-as-code example). A test hands over
//! what the code generates now; it must equal the committed file. With `UPDATE_GOLDEN=1` set,
//! `cargo test` first rewrites every such file, and `git diff` shows what changed.
// Test code: a mismatch is a test failure, reported by panicking.
#![allow(clippy::panic)]

/// The variable that makes every generated-file test rewrite its file before comparing.
pub const UPDATE: &str = "UPDATE_GOLDEN";

/// Fails unless the committed file `rel` (relative to the workspace root) holds exactly
/// `generated`; with `UPDATE_GOLDEN` set it writes `generated` there first. The failure names the
/// first differing line and how to refresh.
pub fn check(rel: &str, generated: &str) {
    let path = crate::root().join(rel);
    if std::env::var_os(UPDATE).is_some() {
        if let Err(e) = std::fs::write(&path, generated) {
            panic!("cannot write {rel}: {e}");
        }
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(committed.lines().count().min(generated.lines().count()));
        panic!(
            "{rel} is not what the code generates, from line {}:\n  committed: {:?}\n  generated: {:?}\n\
             (`{UPDATE}=1 cargo test` rewrites every generated file; review `git diff` before committing)",
            line + 1,
            committed.lines().nth(line),
            generated.lines().nth(line)
        );
    }
}
