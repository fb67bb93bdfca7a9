//! The built-in rules and rule tests, one test binary: `rule_tests` runs every case of
//! `rules/*.tests.yaml` (what each rule flags, its near misses and what it plans; the one
//! coverage gate) and `iamwarden test`/`explain`; `traps` asserts plan details on small
//! hand-made inventories; `demo` the same on the demo account.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_test_support::golden;

mod demo;
mod rule_tests;
mod traps;
