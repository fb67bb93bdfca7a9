//! Committed generated files match what the code generates, one test binary: `schemas`
//! (schemas/*.json from the Rust types, and the files that must validate against them), `docs`
//! (docs/rules.md from the built-in packs) and `perf_table` (README.md's performance table from
//! docs/perf-figures.json). `UPDATE_GOLDEN=1 cargo test` rewrites the first two,
//! `scripts/perf-table` the table.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_test_support::golden;

mod docs;
mod perf_table;
mod schemas;
