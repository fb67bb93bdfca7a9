//! Policy-document semantics, one test binary: `cases` (every legal shape and analysis check,
//! table-driven, with the traps) and `corpus` (the rules of rules/policies.yaml on the policy
//! corpus, tests/fixtures/policy-corpus.yaml, with false positive/negative counts).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cases;
mod corpus;
