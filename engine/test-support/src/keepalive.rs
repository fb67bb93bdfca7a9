//! Test support: a keep-alive HTTP/1.1 relay on 127.0.0.1 in front of a moto server (issue 13).
//!
//! moto (werkzeug) answers every request with `Connection: close`, so against it a client opens
//! one TCP connection per request whatever it pools, and a test cannot tell whether the client
//! reuses connections. This relay keeps the client's side open the way AWS does: it reads each
//! request (head and `Content-Length` body) from a client connection, sends it to moto on a
//! fresh upstream connection, reads moto's whole answer, and writes it back with moto's
//! `Connection: close` (and any chunked framing) replaced by `Content-Length` and
//! `Connection: keep-alive`, then waits for the next request on the same connection.
//!
//! [`KeepAlive::connections`] counts the client connections accepted, [`KeepAlive::requests`]
//! the requests relayed, [`KeepAlive::ended_early`] the connections the client closed while it
//! still had requests to make. [`KeepAlive::start_closing`] makes a relay that closes after every
//! answer instead (moto's behaviour): the control that shows a connection count can tell
//! reuse from none.
//!
//! The relay runs on its own runtime (no `block_on`), so it can be started from a plain test or
//! from inside a tokio runtime (a `#[tokio::test]`, a bench's `main`). Requests with a chunked
//! body are not supported (the SDK sends `Content-Length` on the query protocols).
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use crate::wire::{find, header};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

struct Shared {
    upstream: u16,
    /// Close the client connection after every answer (moto's behaviour).
    close: AtomicBool,
    connections: AtomicU64,
    requests: AtomicU64,
    /// Client connections open right now, and the most open at once.
    open: AtomicU64,
    peak: AtomicU64,
    /// For each client connection that ended: the requests relayed (on all connections) by
    /// then.
    ended_at: Mutex<Vec<u64>>,
}

/// A running relay; stopped when dropped.
pub struct KeepAlive {
    port: u16,
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl KeepAlive {
    /// Starts a keep-alive relay on 127.0.0.1 (a free port) in front of `127.0.0.1:upstream`.
    pub fn start(upstream: u16) -> KeepAlive {
        KeepAlive::start_with(upstream, false)
    }

    /// Starts a relay that answers every request with `Connection: close` and closes, as moto
    /// does: the control of a reuse test.
    pub fn start_closing(upstream: u16) -> KeepAlive {
        KeepAlive::start_with(upstream, true)
    }

    fn start_with(upstream: u16, close: bool) -> KeepAlive {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("keepalive-relay")
            .enable_all()
            .build()
            .expect("a runtime for the keep-alive relay");
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind the relay on 127.0.0.1");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let port = listener.local_addr().expect("the relay's port").port();
        let shared = Arc::new(Shared {
            upstream,
            close: AtomicBool::new(close),
            connections: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            open: AtomicU64::new(0),
            peak: AtomicU64::new(0),
            ended_at: Mutex::new(Vec::new()),
        });
        let s = shared.clone();
        runtime.spawn(async move {
            let listener = TcpListener::from_std(listener).expect("a tokio listener");
            loop {
                let Ok((conn, _)) = listener.accept().await else {
                    continue;
                };
                s.connections.fetch_add(1, Ordering::SeqCst);
                let now = s.open.fetch_add(1, Ordering::SeqCst) + 1;
                s.peak.fetch_max(now, Ordering::SeqCst);
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = serve(conn, &s).await;
                    s.open.fetch_sub(1, Ordering::SeqCst);
                    let by_then = s.requests.load(Ordering::SeqCst);
                    s.ended_at.lock().unwrap().push(by_then);
                });
            }
        });
        KeepAlive {
            port,
            shared,
            runtime: Some(runtime),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The relay's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Client connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Requests relayed to the server so far (answered or not).
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// The most client connections that were open at once.
    pub fn peak_open(&self) -> u64 {
        self.shared.peak.load(Ordering::SeqCst)
    }

    /// Client connections that ended while requests were still to come: closed before the
    /// last request so far was relayed (a client that drops its pool, or its runtime, in the
    /// middle of a run). Ask after the client is done: its connections close when it exits,
    /// after its last request, and are not counted.
    pub fn ended_early(&self) -> u64 {
        let total = self.requests();
        let ended = self.shared.ended_at.lock().unwrap();
        ended.iter().filter(|n| **n < total).count() as u64
    }

    /// Sets both counts back to zero (after seeding through the relay, say).
    pub fn reset_counts(&self) {
        self.shared.connections.store(0, Ordering::SeqCst);
        self.shared.requests.store(0, Ordering::SeqCst);
        self.shared.ended_at.lock().unwrap().clear();
        self.shared
            .peak
            .store(self.shared.open.load(Ordering::SeqCst), Ordering::SeqCst);
    }
}

impl Drop for KeepAlive {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// One request from the client: its head (up to and without the blank line) and its body.
/// `None` when the client closed the connection between requests.
async fn read_request(
    conn: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut chunk = [0u8; 16384];
    let head_end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i;
        }
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    if header(&head, "transfer-encoding").is_some() {
        return Err(std::io::Error::other(
            "the keep-alive relay does not take chunked request bodies",
        ));
    }
    let len: usize = header(&head, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let body_start = head_end + 4;
    while buf.len() < body_start + len {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf[body_start..body_start + len].to_vec();
    // Whatever follows is the start of the next request (a pipelining client).
    buf.drain(..body_start + len);
    Ok(Some((head, body)))
}

/// A chunked body decoded (the trailers dropped).
fn dechunk(mut raw: &[u8]) -> std::io::Result<Vec<u8>> {
    let bad = || std::io::Error::other("a bad chunked body from the server");
    let mut out = Vec::new();
    loop {
        let line_end = find(raw, b"\r\n").ok_or_else(bad)?;
        let size = String::from_utf8_lossy(&raw[..line_end]);
        let size = size.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size, 16).map_err(|_| bad())?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if raw.len() < size + 2 {
            return Err(bad());
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

/// Sends one request to the server on a fresh connection (`Connection: close`) and reads the
/// whole answer: its status line, its headers (without the framing and connection ones) and
/// its body.
async fn forward(
    upstream: u16,
    head: &str,
    body: &[u8],
) -> std::io::Result<(String, Vec<String>, Vec<u8>)> {
    let mut out = String::new();
    for line in head.split("\r\n") {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("connection:") || lower.starts_with("keep-alive:") {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut up = TcpStream::connect(("127.0.0.1", upstream)).await?;
    up.write_all(out.as_bytes()).await?;
    up.write_all(body).await?;
    let mut resp = Vec::new();
    up.read_to_end(&mut resp).await?;
    let head_end = find(&resp, b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("the server closed before a whole head"))?;
    let head = String::from_utf8_lossy(&resp[..head_end]).into_owned();
    let raw = &resp[head_end + 4..];
    let body = match header(&head, "transfer-encoding") {
        Some(te) if te.to_ascii_lowercase().contains("chunked") => dechunk(raw)?,
        _ => match header(&head, "content-length").and_then(|v| v.parse::<usize>().ok()) {
            Some(n) => raw.get(..n).unwrap_or(raw).to_vec(),
            None => raw.to_vec(),
        },
    };
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or("HTTP/1.1 502 Bad Gateway");
    // The client's side is HTTP/1.1 whatever the server spoke (an HTTP/1.0 answer would not
    // be kept alive).
    let status = match status.split_once(' ') {
        Some((_, rest)) => format!("HTTP/1.1 {rest}"),
        None => "HTTP/1.1 502 Bad Gateway".to_string(),
    };
    let headers = lines
        .filter(|l| {
            let lower = l.to_ascii_lowercase();
            !(lower.starts_with("connection:")
                || lower.starts_with("keep-alive:")
                || lower.starts_with("transfer-encoding:")
                || lower.starts_with("content-length:"))
        })
        .map(str::to_string)
        .collect();
    Ok((status, headers, body))
}

async fn serve(mut conn: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut buf = Vec::new();
    while let Some((head, body)) = read_request(&mut conn, &mut buf).await? {
        shared.requests.fetch_add(1, Ordering::SeqCst);
        let close = shared.close.load(Ordering::SeqCst)
            || header(&head, "connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let (status, headers, body) = forward(shared.upstream, &head, &body).await?;
        let mut out = status;
        out.push_str("\r\n");
        for h in headers {
            out.push_str(&h);
            out.push_str("\r\n");
        }
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
        out.push_str(if close {
            "Connection: close\r\n\r\n"
        } else {
            "Connection: keep-alive\r\n\r\n"
        });
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&body);
        conn.write_all(&bytes).await?;
        conn.flush().await?;
        if close {
            return Ok(());
        }
    }
    Ok(())
}
