//! How long loading the built-in packs takes: YAML parse with positions, schema check and typed
//! read of each pack (`parse_pack`), then the whole load with compile (`load_rule_set`).
//! `cargo bench -p iamwarden-core --bench pack_load` prints the median of many runs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn main() {
    let packs = iamwarden_core::packs::BUILTIN;
    let bytes: usize = packs.iter().map(|(_, t)| t.len()).sum();
    // Warm up once (the schema validator is built on first use).
    iamwarden_core::packs::load_rule_set(&[]).unwrap();
    let parse: Vec<Duration> = (0..200)
        .map(|_| {
            let t = Instant::now();
            for (file, text) in packs {
                iamwarden_core::spec::load::parse_pack(text, file).unwrap();
            }
            t.elapsed()
        })
        .collect();
    let load: Vec<Duration> = (0..200)
        .map(|_| {
            let t = Instant::now();
            iamwarden_core::packs::load_rule_set(&[]).unwrap();
            t.elapsed()
        })
        .collect();
    println!(
        "built-in packs: {} files, {} bytes; parse_pack (all) median {:?}; load_rule_set median {:?}",
        packs.len(),
        bytes,
        median(parse),
        median(load)
    );
}
