//! Committed generated files match what the code generates, one test binary: `schemas`
//! (schemas/*.json from the Rust types, and the files that must validate against them) and
//! `docs` (docs/rules.md from the built-in packs). `UPDATE_GOLDEN=1 cargo test` rewrites them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../support/golden.rs"]
mod golden;

mod docs;
mod schemas;
