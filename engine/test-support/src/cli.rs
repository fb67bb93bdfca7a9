//! Running the `iamwarden` binary against a test endpoint: a command with nothing of the
//! machine's AWS setup in its environment, its output as one text for failure messages, and the
//! check that no secret was printed.
//!
//! The binary's path is the caller's `env!("CARGO_BIN_EXE_iamwarden")`: Cargo sets it only for
//! the CLI crate's own tests and benches.
// Test code: a binary that cannot run fails the test that ran it.
#![allow(clippy::expect_used, clippy::panic)]

use std::ffi::OsStr;
use std::process::{Command, Output};

/// `bin` with a cleared environment: only `PATH`, the static credentials `key`/`secret`, region
/// us-east-1, `endpoint` as `AWS_ENDPOINT_URL`, instance metadata off, no AWS config or
/// credentials file, and `NO_COLOR`.
pub fn isolated(bin: impl AsRef<OsStr>, endpoint: &str, key: &str, secret: &str) -> Command {
    let mut c = Command::new(bin);
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/iamwarden-test")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/iamwarden-test")
        .env("NO_COLOR", "1");
    c
}

/// A run's stdout and stderr, each under a header, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "--- stdout\n{}--- stderr\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs `cmd` to its end; fails the test when its output holds any of `secrets`.
pub fn run_hiding(cmd: &mut Command, secrets: &[&str]) -> Output {
    let out = cmd.output().expect("run iamwarden");
    let all = text(&out);
    for secret in secrets {
        assert!(!all.contains(secret), "a secret was printed:\n{all}");
    }
    out
}
