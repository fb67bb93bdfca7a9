//! Test support: a moto IAM server (pinned moto 5.2.5, installed by `./scripts/moto-venv`) on
//! 127.0.0.1 with a clock that tests can move (see `moto_clock_server.py`). One server per
//! test or per test binary, each on its own free port; dropped = stopped. Missing moto is a
//! test failure that says how to install it, never a silent skip.
//!
//!
//! Besides the server: SDK clients and configs that sign with a static key ([`iam_client`],
//! [`sdk_config`]), [`iam_in`], an IAM client acting in another account of the server, and
//! [`create_account`], a member account of its organization, and [`admin_policy_version`], the
//! CloudTrail record of a policy made admin (with [`eventbridge`], as automation receives it).
//! The server script is the workspace's `tests/support/moto_clock_server.py`, the venv its
//! `.venv-moto` (both found from [`crate::root`]).
// Test code: a harness that cannot start or reach its server panics with the reason, as the
// test it serves would.
#![allow(clippy::expect_used, clippy::panic)]

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What to run when moto is missing.
pub const INSTALL_HINT: &str =
    "run ./scripts/moto-venv (installs moto[server]==5.2.5 into .venv-moto)";

/// How long a server may take to answer after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Ports tried before giving up (another process may take a port between our probe and
/// moto's bind).
const PORT_ATTEMPTS: usize = 5;

/// The access key id [`MotoServer::post_form`] signs with (no such key exists in moto).
pub const TEST_ACCESS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";

/// An `Authorization` header moto accepts for IAM: it reads the key id from it (and so marks
/// that access key used, at the server's clock) but checks no signature.
pub fn authorization(access_key_id: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential={access_key_id}/20260101/us-east-1/iam/aws4_request, \
         SignedHeaders=host, Signature=0"
    )
}

/// Whether moto loads the AWS-managed policies (1,582 of them; the first request is slower).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManagedPolicies {
    /// Only what the test creates.
    Skip,
    /// `MOTO_IAM_LOAD_MANAGED_POLICIES=true`: `arn:aws:iam::aws:policy/...` exist.
    Load,
}

/// A running moto server; stopped (killed and reaped) when dropped.
pub struct MotoServer {
    child: Child,
    port: u16,
    /// Holds `clock` (the offset file the server reads on every call) and `server.log`.
    dir: tempfile::TempDir,
}

/// A port that was free a moment ago (bind 127.0.0.1:0, read the port, release it).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port on 127.0.0.1")
}

/// The last lines of the server's log, for failure messages.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

impl MotoServer {
    /// Starts a server without the AWS-managed policies.
    pub fn start() -> MotoServer {
        MotoServer::start_with(ManagedPolicies::Skip)
    }

    /// Starts a server and waits until it answers; panics (with [`INSTALL_HINT`]) when moto
    /// is not installed or does not come up.
    pub fn start_with(managed: ManagedPolicies) -> MotoServer {
        let root = crate::root();
        let python = root.join(".venv-moto/bin/python");
        let stamp = root.join(".venv-moto/.stamp");
        if !python.exists() || !stamp.exists() {
            panic!(
                "moto is not installed ({} or {} is missing): {INSTALL_HINT}",
                python.display(),
                stamp.display()
            );
        }
        let script = root.join("tests/support/moto_clock_server.py");
        let mut collisions = Vec::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port();
            let dir = tempfile::Builder::new()
                .prefix("moto-")
                .tempdir()
                .expect("temp dir for the moto clock and log");
            let log_path = dir.path().join("server.log");
            let log = File::create(&log_path).expect("create the moto log");
            let child = Command::new(&python)
                .arg(&script)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .arg("--clock-file")
                .arg(dir.path().join("clock"))
                .arg("--exit-with-parent")
                .arg("--request-log")
                .arg(dir.path().join("requests.jsonl"))
                .arg("--access-file")
                .arg(dir.path().join("access.json"))
                .env(
                    "MOTO_IAM_LOAD_MANAGED_POLICIES",
                    if managed == ManagedPolicies::Load {
                        "true"
                    } else {
                        "false"
                    },
                )
                .env_remove("MOTO_PORT")
                .env("PYTHONUNBUFFERED", "1")
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("clone the moto log handle"))
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}; {INSTALL_HINT}", python.display()));
            let mut server = MotoServer { child, port, dir };
            // Ours only once werkzeug logged its bind: until then a server another process
            // started on the same port could be the one answering.
            let bound = format!("Running on http://127.0.0.1:{port}");
            let deadline = Instant::now() + START_TIMEOUT;
            loop {
                if let Ok(Some(status)) = server.child.try_wait() {
                    let tail = log_tail(&log_path);
                    if tail.contains("Address already in use") {
                        collisions.push(port);
                        break; // dropping `server` cleans up; try another port
                    }
                    panic!(
                        "the moto server exited ({status}) before answering; {INSTALL_HINT}\n\
                         --- {} ---\n{tail}",
                        log_path.display()
                    );
                }
                if std::fs::read_to_string(&log_path).is_ok_and(|l| l.contains(&bound))
                    && server.get("/moto-api/") == Some(200)
                {
                    return server;
                }
                if Instant::now() >= deadline {
                    panic!(
                        "the moto server on 127.0.0.1:{port} did not answer within {}s\n\
                         --- {} ---\n{}",
                        START_TIMEOUT.as_secs(),
                        log_path.display(),
                        log_tail(&log_path)
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("every port tried for moto was taken by another process: {collisions:?}");
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's stdout and stderr so far (one line per request), for diagnostics.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Every IAM/STS request the server answered so far, oldest first: `{"action": ...,
    /// "UserName": ..., "status": 200}` (see `moto_clock_server.py`).
    pub fn requests(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.dir.path().join("requests.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Forgets the requests logged so far.
    pub fn clear_requests(&self) {
        let _ = std::fs::remove_file(self.dir.path().join("requests.jsonl"));
    }

    /// Clears all state (`POST /moto-api/reset`). The clock offset stays as it is.
    pub fn reset(&self) {
        let (status, body) = self.request("POST", "/moto-api/reset", &[], "");
        assert_eq!(status, 200, "moto reset failed: {body}");
    }

    /// Moves the server's clock `secs` seconds from real time (negative: the past) for every
    /// date it hands out from now on. Atomic: a request in flight sees the old or the new
    /// offset, never an empty file.
    pub fn set_clock_offset(&self, secs: i64) {
        let tmp = self.dir.path().join("clock.tmp");
        std::fs::write(&tmp, secs.to_string()).expect("write the moto clock file");
        std::fs::rename(&tmp, self.dir.path().join("clock")).expect("move the moto clock file");
    }

    /// Sets the canned service last-accessed data the server answers with (see
    /// `moto_clock_server.py`: entity ARN -> status, polls, services), read on every call.
    pub fn set_service_access(&self, data: &serde_json::Value) {
        let tmp = self.dir.path().join("access.tmp");
        std::fs::write(&tmp, data.to_string()).expect("write the moto access file");
        std::fs::rename(&tmp, self.dir.path().join("access.json"))
            .expect("move the moto access file");
    }

    /// A raw IAM query-API call (`POST /`, form-encoded; `Version=2010-05-08` is added unless
    /// given), signed as [`TEST_ACCESS_KEY_ID`]. Returns the status and the body (XML).
    pub fn post_form(&self, params: &[(&str, &str)]) -> (u16, String) {
        self.post_form_as(TEST_ACCESS_KEY_ID, params)
    }

    /// [`MotoServer::post_form`] signed with `access_key_id`: moto records that key's last use
    /// (at the server's clock, see [`MotoServer::set_clock_offset`]).
    pub fn post_form_as(&self, access_key_id: &str, params: &[(&str, &str)]) -> (u16, String) {
        let mut fields: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{}={}", url_encode(k), url_encode(v)))
            .collect();
        if !params.iter().any(|(k, _)| *k == "Version") {
            fields.push("Version=2010-05-08".into());
        }
        self.request(
            "POST",
            "/",
            &[
                ("Authorization", &authorization(access_key_id)),
                (
                    "Content-Type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                ),
            ],
            &fields.join("&"),
        )
    }

    fn get(&self, path: &str) -> Option<u16> {
        self.try_request("GET", path, &[], "")
            .map(|(status, _)| status)
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String) {
        self.try_request(method, path, headers, body)
            .unwrap_or_else(|| {
                panic!(
                    "no HTTP answer from moto at {} to {method} {path}\n--- server log ---\n{}",
                    self.endpoint(),
                    log_tail(&self.dir.path().join("server.log"))
                )
            })
    }

    /// One HTTP/1.1 exchange on a fresh connection (`Connection: close`).
    fn try_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Option<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .ok()?;
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n",
            self.port
        );
        for (name, value) in headers {
            req.push_str(&format!("{name}: {value}\r\n"));
        }
        req.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ));
        stream.write_all(req.as_bytes()).ok()?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).ok()?;
        parse_response(&raw)
    }
}

/// Status and body of a whole HTTP/1.1 response (`Content-Length`, chunked or until close).
fn parse_response(raw: &[u8]) -> Option<(u16, String)> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut rest = &raw[split + 4..];
    let mut lines = head.lines();
    let status: u16 = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let mut length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        }
    }
    let body = if chunked {
        let mut out = Vec::new();
        loop {
            let eol = rest.windows(2).position(|w| w == b"\r\n")?;
            let size_text = String::from_utf8_lossy(&rest[..eol]);
            let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
            rest = &rest[eol + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(rest.get(..size)?);
            rest = rest.get(size + 2..)?;
        }
        out
    } else if let Some(n) = length {
        rest.get(..n)?.to_vec()
    } else {
        rest.to_vec()
    };
    Some((status, String::from_utf8_lossy(&body).into_owned()))
}

/// Percent-encoding of a form field (RFC 3986 unreserved characters kept).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An IAM client for `endpoint` signing with the given static key (tests seed and read back
/// through it; moto does not check signatures, but it records which key signed).
pub fn iam_client(endpoint: &str, key: &str, secret: &str) -> aws_sdk_iam::Client {
    let conf = aws_sdk_iam::Config::builder()
        .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
        .region(aws_sdk_iam::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_iam::config::Credentials::new(
            key, secret, None, None, "test",
        ))
        .build();
    aws_sdk_iam::Client::from_conf(conf)
}

/// An `SdkConfig` for `endpoint` (region us-east-1) signing with the static key `key`/`secret`:
/// the config any service client (STS, Organizations, KMS, ...) of a test is built from.
pub fn sdk_config(endpoint: &str, key: &str, secret: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new(key, secret, None, None, "test"),
            ),
        )
        .build()
}

/// An IAM client acting in `account` of the server at `endpoint`: the `caller` assumes
/// `arn:aws:iam::{account}:role/seed` (moto answers for any role), as the product does for
/// each member account of an organization.
pub async fn iam_in(
    endpoint: &str,
    caller: &aws_config::SdkConfig,
    account: &str,
) -> aws_sdk_iam::Client {
    let out = aws_sdk_sts::Client::new(caller)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/seed"))
        .role_session_name("seed")
        .send()
        .await
        .unwrap_or_else(|e| panic!("AssumeRole into {account} at {endpoint}: {e:?}"));
    let c = out
        .credentials()
        .unwrap_or_else(|| panic!("AssumeRole into {account} returned no credentials"));
    iam_client(endpoint, c.access_key_id(), c.secret_access_key())
}

/// Creates the member account `name` (email `{name}@example.com`) in the server's organization
/// (moto creates it at once) and returns its id.
pub async fn create_account(org: &aws_sdk_organizations::Client, name: &str) -> String {
    let out = org
        .create_account()
        .account_name(name)
        .email(format!("{name}@example.com"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateAccount {name}: {e:?}"));
    out.create_account_status()
        .and_then(|s| s.account_id())
        .unwrap_or_else(|| panic!("CreateAccount {name} returned no account id"))
        .to_string()
}

/// Someone makes customer policy `name` (document `first`), then a version `admin` its
/// default, as in the console: returns the policy's ARN and the CloudTrail record of that
/// CreatePolicyVersion call (event id `event_id`), what `iamwarden event` reacts to. Wrap it
/// with [`eventbridge`] for the message automation receives.
pub async fn admin_policy_version(
    iam: &aws_sdk_iam::Client,
    name: &str,
    first: &str,
    admin: &str,
    event_id: &str,
) -> (String, serde_json::Value) {
    let arn = iam
        .create_policy()
        .policy_name(name)
        .policy_document(first)
        .send()
        .await
        .expect("CreatePolicy")
        .policy
        .and_then(|p| p.arn)
        .expect("the new policy's ARN");
    iam.create_policy_version()
        .policy_arn(&arn)
        .policy_document(admin)
        .set_as_default(true)
        .send()
        .await
        .expect("CreatePolicyVersion");
    let record = serde_json::json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/someone", "accountId": "123456789012"},
        "eventTime": "2026-11-20T10:15:30Z",
        "eventSource": "iam.amazonaws.com",
        "eventName": "CreatePolicyVersion",
        "awsRegion": "us-east-1",
        "requestParameters": {"policyArn": arn, "policyDocument": admin, "setAsDefault": true},
        "responseElements": {"policyVersion": {"versionId": "v2", "isDefaultVersion": true, "createDate": "Nov 20, 2026 10:15:30 AM"}},
        "eventID": event_id,
        "recipientAccountId": "123456789012",
    });
    (arn, record)
}

/// A CloudTrail `record` as EventBridge delivers it to automation (SQS, Lambda).
pub fn eventbridge(record: &serde_json::Value) -> serde_json::Value {
    serde_json::json!({"version": "0", "detail-type": "AWS API Call via CloudTrail", "source": "aws.iam", "account": "123456789012", "detail": record})
}
