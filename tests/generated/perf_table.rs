//! README.md's performance table is rendered by scripts/perf-table from docs/perf-figures.json;
//! its `--check` mode (no benches) fails when the two differ, so a hand edit of either is caught
//! (issue 13). Release benches never run here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_test_support::root;
use std::path::Path;
use std::process::Command;

fn check(root: &Path) -> std::process::Output {
    Command::new("python3")
        .arg(self::root().join("scripts/perf-table"))
        .arg("--check")
        .arg("--root")
        .arg(root)
        .output()
        .expect("python3 runs scripts/perf-table")
}

#[test]
fn the_readme_performance_table_matches_its_figures() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert_eq!(readme.matches("<!-- perf-table:begin -->").count(), 1);
    assert_eq!(readme.matches("<!-- perf-table:end -->").count(), 1);
    for row in [
        "Offline plan, 10,000 users",
        "Offline plan, 100,000 users",
        "on a 100,000-user snapshot, after load",
        "Live plan, 1,000 users (moto)",
        "Apply, concurrency",
        "Org plan,",
        "0.055 of its time, 0.109 of its requests",
    ] {
        assert!(readme.contains(row), "the table has no row `{row}`");
    }
    let out = check(&root());
    assert!(
        out.status.success(),
        "scripts/perf-table --check: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The check is not vacuous: a figure edited in the README alone, or a missing marker, fails it.
#[test]
fn a_table_edited_by_hand_or_without_its_markers_fails_the_check() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("docs")).unwrap();
    std::fs::copy(
        root().join("docs/perf-figures.json"),
        dir.path().join("docs/perf-figures.json"),
    )
    .unwrap();
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let write = |text: &str| std::fs::write(dir.path().join("README.md"), text).unwrap();

    write(&readme);
    assert!(check(dir.path()).status.success());

    let edited = readme.replacen("0.055 of its time", "0.05 of its time", 1);
    assert_ne!(edited, readme);
    write(&edited);
    let out = check(dir.path());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("differs"));

    write(&readme.replace("<!-- perf-table:end -->", ""));
    let out = check(dir.path());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("once each"));
}
