//! Test support for iamwarden, shared by the engine's benches, examples and integration tests;
//! never published and never linked into the shipped binary.
//!
//! [`synth`]: deterministic synthetic inventories of any size, for benchmarks and scale tests.

pub mod synth;
