//! Test support: a fault-injecting HTTP proxy on 127.0.0.1 in front of a moto server. Each
//! request is, with probability `rate` (seeded RNG), given one fault instead of a clean answer:
//!
//! - `Throttle`: a `400 Throttling` error response; the request is NOT forwarded.
//! - `ServerError`: a 5xx error response: `503 ServiceUnavailable` (not forwarded), or
//!   `500 InternalFailure`, which half the time is sent AFTER forwarding the request (the change
//!   was made, and the answer does not say so).
//! - `CutBeforeHeaders`: the request is forwarded (it reached IAM), then the connection is closed
//!   before any byte of the response.
//! - `CutAfterHeaders`: forwarded; the status line, the headers and half the body are sent, then
//!   the connection is closed (a truncated body).
//! - `Stall`: forwarded; then no answer at all until the client gives up (its timeout).
//!
//! Besides the random faults, [`FaultProxy::deny`] refuses chosen requests with `403 AccessDenied`
//! and [`FaultProxy::throttle`] with `400 Throttling`, every time; [`FaultProxy::hold`] forwards
//! chosen requests at once but holds their answers back for a while (a slow endpoint: the change
//! is made, the caller does not know yet).
//!
//! The server's own request log ([`crate::moto::MotoServer::requests`]) counts what reached IAM;
//! [`FaultProxy::stats`] counts what the proxy did.
// Test code: a proxy that cannot bind, or a poisoned lock (a panicked test), panics.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use crate::synth::Rng;
use crate::wire::{find, header};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// `400 Throttling`, not forwarded.
    Throttle,
    /// `503` (not forwarded) or `500` (forwarded half the time).
    ServerError,
    /// Forwarded, connection closed before the response.
    CutBeforeHeaders,
    /// Forwarded, connection closed in the middle of the body.
    CutAfterHeaders,
    /// Forwarded, never answered.
    Stall,
}

/// What the proxy injects.
#[derive(Debug, Clone)]
pub struct Faults {
    /// The share of requests given a fault (0.0 to 1.0).
    pub rate: f64,
    /// The RNG seed.
    pub seed: u64,
    /// The faults, with their relative weights.
    pub mix: Vec<(Fault, u32)>,
    /// The longest a stalled connection is held open.
    pub stall_max: Duration,
}

impl Faults {
    /// Every kind of fault, `rate` of all requests, stalls the rarest (each costs a timeout).
    pub fn mixed(rate: f64, seed: u64) -> Faults {
        Faults {
            rate,
            seed,
            mix: vec![
                (Fault::Throttle, 25),
                (Fault::ServerError, 20),
                (Fault::CutBeforeHeaders, 25),
                (Fault::CutAfterHeaders, 25),
                (Fault::Stall, 5),
            ],
            stall_max: Duration::from_secs(20),
        }
    }
}

/// What the proxy did, by kind ("clean" = forwarded and answered in full).
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Requests by what was done with them.
    pub by_kind: BTreeMap<String, u64>,
    /// Requests forwarded to the server (whatever the client got back).
    pub forwarded: u64,
}

impl Stats {
    /// All requests seen.
    pub fn total(&self) -> u64 {
        self.by_kind.values().sum()
    }
    /// Requests given a fault.
    pub fn faults(&self) -> u64 {
        self.total() - self.by_kind.get("clean").copied().unwrap_or(0)
    }
}

struct Shared {
    upstream: u16,
    faults: Mutex<Faults>,
    rng: Mutex<Rng>,
    stats: Mutex<Stats>,
    /// Requests containing all of one entry's needles are refused (`deny`).
    deny: Mutex<Vec<(Vec<String>, bool)>>,
    /// Requests containing all of one entry's needles are answered only after its delay.
    hold: Mutex<Vec<(Vec<String>, Duration)>>,
}

/// A running proxy; stopped when dropped.
pub struct FaultProxy {
    port: u16,
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl FaultProxy {
    /// Starts a proxy on 127.0.0.1 (a free port) in front of `127.0.0.1:upstream`.
    pub fn start(upstream: u16, faults: Faults) -> FaultProxy {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime for the fault proxy");
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind the fault proxy on 127.0.0.1");
        let port = listener.local_addr().expect("the proxy's port").port();
        let shared = Arc::new(Shared {
            upstream,
            rng: Mutex::new(Rng::from_state(faults.seed)),
            faults: Mutex::new(faults),
            stats: Mutex::new(Stats::default()),
            deny: Mutex::new(Vec::new()),
            hold: Mutex::new(Vec::new()),
        });
        let s = shared.clone();
        runtime.spawn(async move {
            loop {
                let Ok((conn, _)) = listener.accept().await else {
                    continue;
                };
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = serve(conn, s).await;
                });
            }
        });
        FaultProxy {
            port,
            shared,
            runtime: Some(runtime),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Changes the faults from now on (the RNG goes on with the same sequence).
    pub fn set_rate(&self, rate: f64) {
        self.shared.faults.lock().unwrap().rate = rate;
    }

    /// From now on, answers every request whose text (head and form body) contains all of
    /// `needles` with `403 AccessDenied`, without forwarding it: a refused call for one
    /// account (`&["Action=AssumeRole", "111111111111"]`) while the others go through.
    pub fn deny(&self, needles: &[&str]) {
        self.refuse(needles, false);
    }

    /// Like [`FaultProxy::deny`], with `400 Throttling` every time: throttled past the
    /// client's retries.
    pub fn throttle(&self, needles: &[&str]) {
        self.refuse(needles, true);
    }

    fn refuse(&self, needles: &[&str], throttle: bool) {
        self.shared
            .deny
            .lock()
            .unwrap()
            .push((needles.iter().map(|n| n.to_string()).collect(), throttle));
    }

    /// From now on, forwards every request whose text contains all of `needles` at once and
    /// sends its answer `delay` later: the call is made in IAM, the client waits.
    pub fn hold(&self, needles: &[&str], delay: Duration) {
        self.shared
            .hold
            .lock()
            .unwrap()
            .push((needles.iter().map(|n| n.to_string()).collect(), delay));
    }

    /// What the proxy did so far.
    pub fn stats(&self) -> Stats {
        self.shared.stats.lock().unwrap().clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// One request: the bytes as received (head and body).
async fn read_request(conn: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let len = content_length(&buf[..head_end]).unwrap_or(0);
    while buf.len() < head_end + len {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(Some(buf))
}

fn content_length(head: &[u8]) -> Option<usize> {
    header(&String::from_utf8_lossy(head), "content-length")?
        .parse()
        .ok()
}

/// Sends the request to the server on a fresh connection (`Connection: close`) and reads the
/// whole response.
async fn forward(upstream: u16, request: &[u8]) -> std::io::Result<Vec<u8>> {
    let head_end = find(request, b"\r\n\r\n").map_or(request.len(), |i| i + 4);
    let head = String::from_utf8_lossy(&request[..head_end]);
    let mut rewritten = String::new();
    for line in head.split("\r\n") {
        if line.is_empty() {
            continue;
        }
        if line.to_ascii_lowercase().starts_with("connection:") {
            continue;
        }
        rewritten.push_str(line);
        rewritten.push_str("\r\n");
    }
    rewritten.push_str("Connection: close\r\n\r\n");
    let mut up = TcpStream::connect(("127.0.0.1", upstream)).await?;
    up.write_all(rewritten.as_bytes()).await?;
    up.write_all(&request[head_end..]).await?;
    let mut resp = Vec::new();
    up.read_to_end(&mut resp).await?;
    // The proxy closes after a forwarded answer: say so, so the client does not reuse it.
    let head_end = find(&resp, b"\r\n\r\n").map_or(resp.len(), |i| i + 4);
    let head = String::from_utf8_lossy(&resp[..head_end]);
    let mut out = String::new();
    for line in head.split("\r\n") {
        if line.is_empty() || line.to_ascii_lowercase().starts_with("connection:") {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut full = out.into_bytes();
    full.extend_from_slice(&resp[head_end..]);
    Ok(full)
}

/// What IAM answers a caller past its rate: `400 Throttling`.
fn throttling_response() -> Vec<u8> {
    error_response("400 Bad Request", "Sender", "Throttling", "Rate exceeded")
}

fn error_response(status: &str, kind: &str, code: &str, message: &str) -> Vec<u8> {
    let body = format!(
        "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>{kind}</Type>\
         <Code>{code}</Code><Message>{message}</Message></Error>\
         <RequestId>00000000-0000-0000-0000-faultproxy00</RequestId></ErrorResponse>"
    );
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn pick(shared: &Shared) -> (Option<Fault>, bool, Duration) {
    let faults = shared.faults.lock().unwrap().clone();
    let mut rng = shared.rng.lock().unwrap();
    let coin = rng.unit();
    let second = rng.next_u64();
    let extra = rng.unit() < 0.5;
    if coin >= faults.rate {
        return (None, extra, faults.stall_max);
    }
    let total: u64 = faults.mix.iter().map(|(_, w)| u64::from(*w)).sum();
    let mut n = second % total.max(1);
    for (f, w) in &faults.mix {
        if n < u64::from(*w) {
            return (Some(*f), extra, faults.stall_max);
        }
        n -= u64::from(*w);
    }
    (None, extra, faults.stall_max)
}

fn count(shared: &Shared, kind: &str, forwarded: bool) {
    let mut s = shared.stats.lock().unwrap();
    *s.by_kind.entry(kind.to_string()).or_insert(0) += 1;
    if forwarded {
        s.forwarded += 1;
    }
}

async fn serve(mut conn: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    while let Some(request) = read_request(&mut conn).await? {
        let text = String::from_utf8_lossy(&request).into_owned();
        let refused = shared
            .deny
            .lock()
            .unwrap()
            .iter()
            .find(|(all, _)| all.iter().all(|n| text.contains(n.as_str())))
            .map(|(_, throttle)| *throttle);
        match refused {
            Some(false) => {
                count(&shared, "denied", false);
                conn.write_all(&error_response(
                    "403 Forbidden",
                    "Sender",
                    "AccessDenied",
                    "User is not authorized to perform this action (test proxy)",
                ))
                .await?;
                continue;
            }
            Some(true) => {
                count(&shared, "throttle", false);
                conn.write_all(&throttling_response()).await?;
                continue;
            }
            None => {}
        }
        let held = shared
            .hold
            .lock()
            .unwrap()
            .iter()
            .find(|(all, _)| all.iter().all(|n| text.contains(n.as_str())))
            .map(|(_, d)| *d);
        let (fault, extra, stall_max) = pick(&shared);
        match fault {
            None => {
                let resp = forward(shared.upstream, &request).await?;
                count(&shared, "clean", true);
                if let Some(d) = held {
                    count(&shared, "held", false);
                    tokio::time::sleep(d).await;
                }
                conn.write_all(&resp).await?;
                // The server closes after each response; so does the proxy (the client
                // opens a new connection for the next request).
                return Ok(());
            }
            Some(Fault::Throttle) => {
                count(&shared, "throttle", false);
                conn.write_all(&throttling_response()).await?;
            }
            Some(Fault::ServerError) if extra => {
                let _ = forward(shared.upstream, &request).await?;
                count(&shared, "500 after forwarding", true);
                conn.write_all(&error_response(
                    "500 Internal Server Error",
                    "Receiver",
                    "InternalFailure",
                    "We encountered an internal error. Please try again.",
                ))
                .await?;
            }
            Some(Fault::ServerError) => {
                count(&shared, "503", false);
                conn.write_all(&error_response(
                    "503 Service Unavailable",
                    "Receiver",
                    "ServiceUnavailable",
                    "Service is unavailable. Please try again.",
                ))
                .await?;
            }
            Some(Fault::CutBeforeHeaders) => {
                let _ = forward(shared.upstream, &request).await?;
                count(&shared, "cut before headers", true);
                return Ok(()); // dropped: closed without a byte of the response
            }
            Some(Fault::CutAfterHeaders) => {
                let resp = forward(shared.upstream, &request).await?;
                count(&shared, "cut after headers", true);
                let head_end = find(&resp, b"\r\n\r\n").map_or(resp.len(), |i| i + 4);
                let body = resp.len() - head_end;
                conn.write_all(&resp[..head_end + body / 2]).await?;
                conn.flush().await?;
                return Ok(());
            }
            Some(Fault::Stall) => {
                let _ = forward(shared.upstream, &request).await?;
                count(&shared, "stall", true);
                // Hold the connection until the client gives up (or stall_max).
                let mut sink = [0u8; 1024];
                let _ = tokio::time::timeout(stall_max, async {
                    loop {
                        match conn.read(&mut sink).await {
                            Ok(0) | Err(_) => break,
                            Ok(_) => {}
                        }
                    }
                })
                .await;
                return Ok(());
            }
        }
    }
    Ok(())
}
