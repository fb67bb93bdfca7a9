//! A local implementation of the AWS Lambda Runtime API (2018-06-01) on 127.0.0.1 for tests:
//! `GET /2018-06-01/runtime/invocation/next` hands out the queued invocations (with the
//! request id, deadline and function ARN headers Lambda sends), `POST .../{id}/response` and
//! `.../{id}/error` are recorded, `POST .../init/error` too; once the queue is empty, `next`
//! is held open, as Lambda freezes an idle environment. HTTP/1.1 with keep-alive,
//! Content-Length and chunked request bodies.
// Test code: a broken connection or a poisoned lock ends the serving thread with a panic; the
// test then fails on what it did not get back.
#![allow(clippy::unwrap_used)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct State {
    pending: VecDeque<(String, String)>,
    responses: Vec<(String, String)>,
    errors: Vec<(String, String)>,
    init_errors: Vec<String>,
}

/// (request id, body) pairs.
pub type Answers = Vec<(String, String)>;

/// A running Runtime API; its threads end with the test process.
pub struct RuntimeApi {
    port: u16,
    state: Arc<(Mutex<State>, Condvar)>,
}

impl RuntimeApi {
    /// Serves `events` (JSON payloads), one invocation each, ids `req-1`, `req-2`, ...
    pub fn start(events: Vec<String>) -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new((Mutex::new(State::default()), Condvar::new()));
        {
            let mut s = state.0.lock().unwrap();
            for (i, e) in events.into_iter().enumerate() {
                s.pending.push_back((format!("req-{}", i + 1), e));
            }
        }
        let shared = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || serve(conn, &shared));
            }
        });
        RuntimeApi { port, state }
    }

    /// `AWS_LAMBDA_RUNTIME_API`: host:port.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Waits until `n` invocations were answered (response or error), at most `timeout`;
    /// returns (responses, errors, init errors) as (request id, body).
    pub fn wait_for(&self, n: usize, timeout: Duration) -> (Answers, Answers, Vec<String>) {
        let deadline = Instant::now() + timeout;
        let (lock, cv) = &*self.state;
        let mut s = lock.lock().unwrap();
        while s.responses.len() + s.errors.len() < n && s.init_errors.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            s = cv.wait_timeout(s, left).unwrap().0;
        }
        (s.responses.clone(), s.errors.clone(), s.init_errors.clone())
    }
}

fn serve(conn: TcpStream, state: &(Mutex<State>, Condvar)) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("").to_string(),
            parts.next().unwrap_or("").to_string(),
        );
        let mut length = 0usize;
        let mut chunked = false;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let lower = h.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
                chunked = true;
            }
        }
        let body = if chunked {
            let mut body = Vec::new();
            loop {
                let mut size = String::new();
                reader.read_line(&mut size).unwrap();
                let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                    .unwrap_or(0);
                let mut chunk = vec![0u8; n + 2];
                reader.read_exact(&mut chunk).unwrap();
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
            body
        } else {
            let mut body = vec![0u8; length];
            reader.read_exact(&mut body).unwrap();
            body
        };
        let body = String::from_utf8_lossy(&body).to_string();
        let (lock, cv) = state;
        if method == "GET" && path.ends_with("/runtime/invocation/next") {
            let next = {
                let mut s = lock.lock().unwrap();
                s.pending.pop_front()
            };
            let Some((id, event)) = next else {
                // Idle: hold the request, as a frozen environment would.
                std::thread::sleep(Duration::from_secs(3600));
                return;
            };
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 300_000;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                 Lambda-Runtime-Aws-Request-Id: {id}\r\nLambda-Runtime-Deadline-Ms: {deadline}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:iamwarden\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\n\
                 Content-Length: {}\r\n\r\n",
                event.len()
            );
            conn.write_all(head.as_bytes()).unwrap();
            conn.write_all(event.as_bytes()).unwrap();
        } else if method == "POST" {
            {
                let mut s = lock.lock().unwrap();
                let segs: Vec<&str> = path.split('/').collect();
                let id = segs.iter().rev().nth(1).unwrap_or(&"").to_string();
                if path.ends_with("/init/error") {
                    s.init_errors.push(body);
                } else if path.ends_with("/response") {
                    s.responses.push((id, body));
                } else if path.ends_with("/error") {
                    s.errors.push((id, body));
                }
            }
            cv.notify_all();
            let ok = r#"{"status":"OK"}"#;
            conn.write_all(
                format!(
                    "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{ok}",
                    ok.len()
                )
                .as_bytes(),
            )
            .unwrap();
        } else {
            conn.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                .unwrap();
        }
        conn.flush().unwrap();
    }
}
