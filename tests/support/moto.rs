//! Test support: a moto IAM server on 127.0.0.1, one per test binary or test, with a clock
//! that can be moved (see `moto_clock_server.py`). Missing moto is a test failure that says how
//! to install it, never a silent skip.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether moto loads the AWS-managed policies (1,582 of them; slower first request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManagedPolicies {
    /// Only what the test creates.
    Skip,
    /// `MOTO_IAM_LOAD_MANAGED_POLICIES=true`.
    Load,
}

/// A running moto server; stopped when dropped.
pub struct MotoServer {
    child: Child,
    port: u16,
    clock: tempfile::NamedTempFile,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port on 127.0.0.1")
}

impl MotoServer {
    /// Starts a server without the AWS-managed policies.
    pub fn start() -> MotoServer {
        MotoServer::start_with(ManagedPolicies::Skip)
    }

    /// Starts a server.
    pub fn start_with(managed: ManagedPolicies) -> MotoServer {
        let python = root().join(".venv-moto/bin/python");
        assert!(
            python.exists(),
            "moto is not installed: run ./scripts/moto-venv (installs moto[server]==5.2.5 into .venv-moto)"
        );
        let script = root().join("tests/support/moto_clock_server.py");
        for _attempt in 0..5 {
            let port = free_port();
            let clock = tempfile::NamedTempFile::new().expect("temp file for the moto clock");
            let child = Command::new(&python)
                .arg(&script)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .arg("--clock-file")
                .arg(clock.path())
                .env(
                    "MOTO_IAM_LOAD_MANAGED_POLICIES",
                    if managed == ManagedPolicies::Load {
                        "true"
                    } else {
                        "false"
                    },
                )
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("cannot start the moto server (run ./scripts/moto-venv)");
            let mut server = MotoServer { child, port, clock };
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = server.child.try_wait() {
                    break; // exited: most likely the port was taken; try another
                }
                if server.get("/moto-api/").is_some() {
                    return server;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        panic!("the moto server did not start on 127.0.0.1 (run ./scripts/moto-venv and retry)");
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Clears all state.
    pub fn reset(&self) {
        let (status, _) = self.request("POST", "/moto-api/reset", "", "");
        assert_eq!(status, 200, "moto reset failed");
    }

    /// Moves the server's clock by `secs` from real time (negative: the past).
    pub fn set_clock_offset(&self, secs: i64) {
        std::fs::write(self.clock.path(), secs.to_string()).expect("write the moto clock file");
    }

    /// A raw IAM query-API call (moto does not check signatures).
    pub fn post_form(&self, params: &[(&str, &str)]) -> (u16, String) {
        let mut body: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        if !params.iter().any(|(k, _)| *k == "Version") {
            body.push("Version=2010-05-08".into());
        }
        self.request(
            "POST",
            "/",
            &body.join("&"),
            "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Type: application/x-www-form-urlencoded\r\n",
        )
    }

    fn get(&self, path: &str) -> Option<u16> {
        let (status, _) = self.try_request("GET", path, "", "")?;
        Some(status)
    }

    fn request(&self, method: &str, path: &str, body: &str, headers: &str) -> (u16, String) {
        self.try_request(method, path, body, headers)
            .unwrap_or_else(|| panic!("no answer from moto at {}", self.endpoint()))
    }

    fn try_request(
        &self,
        method: &str,
        path: &str,
        body: &str,
        headers: &str,
    ) -> Option<(u16, String)> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        );
        s.write_all(req.as_bytes()).ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        let status = out.split_whitespace().nth(1)?.parse().ok()?;
        let body = out
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        Some((status, body))
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
