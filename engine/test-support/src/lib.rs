//! Test support for iamwarden, shared by the engine's benches, examples and integration tests;
//! never published and never linked into the shipped binary.
//!
//! - [`synth`]: deterministic synthetic inventories of any size, for benchmarks and scale tests.
//! - [`moto`]: a moto server on 127.0.0.1 with a clock tests can move, and SDK clients for it.
//! - [`faultproxy`]: a fault-injecting HTTP proxy in front of a moto server.
//! - [`keepalive`]: a keep-alive relay in front of a moto server that counts the connections a
//!   client opens (moto closes each one after one answer).
//! - [`replay`]: recorded IAM responses for what moto cannot show (pagination, throttling).
//! - [`lambda_api`]: a local AWS Lambda Runtime API, for `iamwarden lambda`.
//! - [`golden`]: the one compare-or-rewrite of committed generated files (`UPDATE_GOLDEN=1`).
//! - [`cli`]: the `iamwarden` binary run against a test endpoint, isolated from the machine.
//!
//! The harness modules are test code: they panic with the reason when a server does not start
//! or a check fails, as the test they serve would, so each allows `unwrap`, `expect` and
//! `panic` for itself; [`synth`] keeps the workspace's lints. Every path the harness needs (the
//! moto venv, `tests/support/*.py`, golden files) is found from [`root`].

pub mod cli;
pub mod faultproxy;
pub mod golden;
pub mod keepalive;
pub mod lambda_api;
pub mod moto;
pub mod replay;
pub mod synth;
mod wire;

use std::path::PathBuf;

/// The workspace root: this crate is `engine/test-support`, two folders down.
pub fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// A multi-threaded tokio runtime with its timers and I/O, for a test's SDK calls.
#[allow(clippy::expect_used)] // test code: without a runtime the test cannot run
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime for the test")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    /// The harness finds its files from `root()`: the workspace manifest, the moto server
    /// script and pins (scripts/moto-venv reads the same file), the golden folder.
    #[test]
    fn root_is_the_workspace_the_harness_files_are_in() {
        let root = super::root();
        let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        assert!(manifest.contains("[workspace]"), "{}", root.display());
        for file in [
            "engine/test-support/Cargo.toml",
            "tests/support/moto_clock_server.py",
            "tests/support/requirements-moto.txt",
            "scripts/moto-venv",
            "tests/golden",
        ] {
            assert!(
                root.join(file).exists(),
                "{file} not under {}",
                root.display()
            );
        }
    }
}
