//! AWS settings as the AWS CLI reads them (issue 17) and endpoint mistakes (issue 18), through
//! the `iamwarden` binary with a clean environment and config files of the test's own:
//!
//! - the region (flag, AWS_REGION, AWS_DEFAULT_REGION, the profile) picks the partition's IAM and
//!   STS endpoints: asserted on the endpoint the error names when no credentials exist, so the
//!   SDK stops before signing and nothing is sent anywhere;
//! - `AWS_ENDPOINT_URL_IAM` wins over `AWS_ENDPOINT_URL`, `--endpoint-url` over both, the
//!   profile's `endpoint_url` is read: one moto server and one dead port, and which of them got
//!   the calls;
//! - `AWS_MAX_ATTEMPTS` / `max_attempts` / `AWS_RETRY_MODE`: attempts counted at a proxy that
//!   throttles every `GetAccountAuthorizationDetails` (default 6);
//! - `AWS_CA_BUNDLE` / `ca_bundle`: a TLS proxy on 127.0.0.1 with a certificate of a CA made
//!   here by the `openssl` command; refused without the bundle, trusted with it;
//! - endpoint mistakes: no scheme, a query, a refused port (fails in seconds, names the URL),
//!   a path that is not IAM (names the HTTP status), a timeout and a cut connection (each says
//!   which), `--profile nope` (lists the profiles).
//!
//! Only 127.0.0.1 is ever called.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_test_support::{faultproxy, moto};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "settings-secret-never-printed";
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// A folder with the test's own AWS config and credentials files (empty unless written).
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn config(&self, text: &str) -> &Home {
        std::fs::write(self.path("config"), text).unwrap();
        self
    }
    fn credentials(&self, text: &str) -> &Home {
        std::fs::write(self.path("credentials"), text).unwrap();
        self
    }

    /// Runs iamwarden with only these variables set (and PATH, HOME, the files, instance
    /// metadata off).
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> (Output, Duration) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_iamwarden"));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", self.path("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", self.path("credentials"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let started = Instant::now();
        let out = cmd.output().unwrap();
        (out, started.elapsed())
    }

    /// [`Home::run`] with static credentials.
    fn run_signed(&self, args: &[&str], env: &[(&str, &str)]) -> (Output, Duration) {
        let mut all = vec![
            ("AWS_ACCESS_KEY_ID", KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
        ];
        all.extend_from_slice(env);
        self.run(args, &all)
    }

    /// `snapshot --out` into this folder.
    fn snapshot(&self, extra: &[&str], env: &[(&str, &str)]) -> (Output, Duration) {
        let out = self.path("snap.json");
        let mut args = vec!["snapshot", "--out", out.to_str().unwrap()];
        args.extend_from_slice(extra);
        self.run_signed(&args, env)
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        stderr(o)
    );
    assert!(!stderr(o).contains(SECRET) && !String::from_utf8_lossy(&o.stdout).contains(SECRET));
}

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A moto server with one user (the reader takes the account id from an ARN).
fn moto_with_a_user() -> moto::MotoServer {
    let server = moto::MotoServer::start();
    let (status, body) = server.post_form(&[("Action", "CreateUser"), ("UserName", "alice")]);
    assert_eq!(status, 200, "{body}");
    server.clear_requests();
    server
}

fn iam_requests(server: &moto::MotoServer) -> usize {
    server.requests().len()
}

// ---- the region picks the partition (no traffic) ---------------------------------------

/// The IAM endpoint `snapshot` names when no credentials exist (the SDK resolves the endpoint,
/// then fails to find credentials before anything is signed or sent).
fn iam_endpoint_named(home: &Home, extra: &[&str], env: &[(&str, &str)]) -> String {
    let out = home.path("never.json");
    let mut args = vec!["snapshot", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let (o, _) = home.run(&args, env);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("no usable AWS credentials"), "{err}");
    let at = err
        .split("reading the account at ")
        .nth(1)
        .unwrap_or_else(|| panic!("no endpoint named: {err}"));
    at.split(':').take(2).collect::<Vec<_>>().join(":")
}

/// Flags, environment, the IAM endpoint wanted.
type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);

#[test]
fn the_region_picks_the_partitions_iam_endpoint() {
    let home = Home::new();
    let cases: &[Case] = &[
        (&[], &[], "https://iam.amazonaws.com"),
        (
            &[],
            &[("AWS_REGION", "cn-north-1")],
            "https://iam.cn-north-1.amazonaws.com.cn",
        ),
        (
            &[],
            &[("AWS_DEFAULT_REGION", "us-gov-west-1")],
            "https://iam.us-gov.amazonaws.com",
        ),
        (
            &[],
            &[
                ("AWS_REGION", "us-gov-east-1"),
                ("AWS_DEFAULT_REGION", "cn-north-1"),
            ],
            "https://iam.us-gov.amazonaws.com",
        ),
        (
            &["--region", "eu-west-1"],
            &[("AWS_REGION", "cn-north-1")],
            "https://iam.amazonaws.com",
        ),
        (
            &["--region", "cn-northwest-1"],
            &[],
            "https://iam.cn-north-1.amazonaws.com.cn",
        ),
    ];
    for (args, env, want) in cases {
        assert_eq!(
            &iam_endpoint_named(&home, args, env),
            want,
            "{args:?} {env:?}"
        );
    }
    // The profile's region, for the selected profile; the environment beats it.
    home.config("[default]\nregion = cn-north-1\n\n[profile gov]\nregion = us-gov-west-1\n");
    assert_eq!(
        iam_endpoint_named(&home, &[], &[]),
        "https://iam.cn-north-1.amazonaws.com.cn"
    );
    assert_eq!(
        iam_endpoint_named(&home, &["--profile", "gov"], &[]),
        "https://iam.us-gov.amazonaws.com"
    );
    assert_eq!(
        iam_endpoint_named(&home, &[], &[("AWS_PROFILE", "gov")]),
        "https://iam.us-gov.amazonaws.com"
    );
    assert_eq!(
        iam_endpoint_named(&home, &[], &[("AWS_REGION", "us-east-1")]),
        "https://iam.amazonaws.com"
    );
}

#[test]
fn sts_is_called_at_the_configured_region() {
    let home = Home::new();
    let plan = home.path("plan.json");
    let demo = format!("{ROOT}/examples/demo-account.json");
    let (o, _) = home.run(
        &["plan", "--snapshot", &demo, "--out", plan.to_str().unwrap()],
        &[],
    );
    assert!(
        o.status.code() == Some(0) || o.status.code() == Some(2),
        "{}",
        stderr(&o)
    );
    for (region, want) in [
        ("cn-north-1", "sts.cn-north-1.amazonaws.com.cn"),
        ("us-gov-west-1", "sts.us-gov-west-1.amazonaws.com"),
        ("eu-west-1", "sts.eu-west-1.amazonaws.com"),
    ] {
        let (o, _) = home.run(
            &[
                "apply",
                plan.to_str().unwrap(),
                "--auto-approve",
                "--allow-destructive",
            ],
            &[("AWS_REGION", region)],
        );
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(
            err.contains(&format!("sts:GetCallerIdentity at https://{want}")),
            "{region}: {err}"
        );
    }
}

// ---- endpoint precedence (moto and a dead port) ------------------------------------------

#[test]
fn service_endpoint_wins_over_the_global_one_and_the_flag_over_both() {
    let server = moto_with_a_user();
    let live = server.endpoint();
    let dead = format!("http://127.0.0.1:{}", dead_port());
    let home = Home::new();

    // AWS_ENDPOINT_URL_IAM (moto) over AWS_ENDPOINT_URL (dead).
    server.clear_requests();
    let (o, _) = home.snapshot(
        &[],
        &[("AWS_ENDPOINT_URL", &dead), ("AWS_ENDPOINT_URL_IAM", &live)],
    );
    ok(&o);
    assert!(iam_requests(&server) > 0, "moto got no call");

    // The other way round: the dead IAM endpoint is the one called, and named.
    server.clear_requests();
    let (o, took) = home.snapshot(
        &[],
        &[("AWS_ENDPOINT_URL", &live), ("AWS_ENDPOINT_URL_IAM", &dead)],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(&dead) && err.contains("cannot reach"), "{err}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(iam_requests(&server), 0);

    // --endpoint-url (moto) over both (dead).
    let (o, _) = home.snapshot(
        &["--endpoint-url", &live],
        &[("AWS_ENDPOINT_URL", &dead), ("AWS_ENDPOINT_URL_IAM", &dead)],
    );
    ok(&o);
    assert!(iam_requests(&server) > 0);

    // The profile's endpoint_url, and its services section over it.
    server.clear_requests();
    home.config(&format!("[default]\nendpoint_url = {live}\n"));
    let (o, _) = home.snapshot(&[], &[]);
    ok(&o);
    assert!(iam_requests(&server) > 0);
    server.clear_requests();
    home.config(&format!(
        "[default]\nendpoint_url = {dead}\nservices = local\n\n[services local]\niam =\n  endpoint_url = {live}\n"
    ));
    let (o, _) = home.snapshot(&[], &[]);
    ok(&o);
    assert!(iam_requests(&server) > 0);
    // The environment beats the profile.
    let (o, _) = home.snapshot(&[], &[("AWS_ENDPOINT_URL_IAM", &dead)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains(&dead), "{}", stderr(&o));
}

// ---- retries ------------------------------------------------------------------------------

/// Attempts of the throttled call under these settings.
fn attempts(home: &Home, proxy: &faultproxy::FaultProxy, env: &[(&str, &str)]) -> (u64, Output) {
    let before = proxy.stats().by_kind.get("throttle").copied().unwrap_or(0);
    let (o, _) = home.snapshot(&["--endpoint-url", &proxy.endpoint()], env);
    let after = proxy.stats().by_kind.get("throttle").copied().unwrap_or(0);
    (after - before, o)
}

#[test]
fn max_attempts_and_retry_mode_are_honoured_for_reads() {
    let server = moto::MotoServer::start();
    let proxy = faultproxy::FaultProxy::start(
        server.port(),
        faultproxy::Faults {
            rate: 0.0,
            seed: 17,
            mix: vec![],
            stall_max: Duration::from_secs(1),
        },
    );
    proxy.throttle(&["Action=GetAccountAuthorizationDetails"]);
    let home = Home::new();

    let (n, o) = attempts(&home, &proxy, &[("AWS_MAX_ATTEMPTS", "2")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("Rate exceeded"), "{}", stderr(&o));
    assert_eq!(n, 2, "AWS_MAX_ATTEMPTS=2");

    let (n, _) = attempts(
        &home,
        &proxy,
        &[("AWS_MAX_ATTEMPTS", "3"), ("AWS_RETRY_MODE", "adaptive")],
    );
    assert_eq!(n, 3, "AWS_MAX_ATTEMPTS=3, adaptive");

    home.config("[default]\nmax_attempts = 1\nretry_mode = standard\n");
    let (n, _) = attempts(&home, &proxy, &[]);
    assert_eq!(n, 1, "profile max_attempts = 1");
    // The environment beats the profile.
    let (n, _) = attempts(&home, &proxy, &[("AWS_MAX_ATTEMPTS", "2")]);
    assert_eq!(n, 2, "AWS_MAX_ATTEMPTS over max_attempts");

    home.config("");
    let (n, _) = attempts(&home, &proxy, &[]);
    assert_eq!(n, 6, "the default");

    for (var, value, says) in [
        ("AWS_MAX_ATTEMPTS", "0", "1 or more"),
        ("AWS_MAX_ATTEMPTS", "lots", "1 or more"),
        ("AWS_RETRY_MODE", "eager", "standard or adaptive"),
    ] {
        let (n, o) = attempts(&home, &proxy, &[(var, value)]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(
            err.contains(&format!("{var} `{value}`")) && err.contains(says),
            "{err}"
        );
        assert_eq!(n, 0, "nothing is sent with a bad setting");
    }
}

// ---- CA bundle ------------------------------------------------------------------------------

/// A CA and a server certificate for 127.0.0.1 signed by it, made with the `openssl` command.
fn make_certs(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let o = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("the openssl command (Debian package openssl)");
        assert!(o.status.success(), "openssl {args:?}: {}", stderr(&o));
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend_from_slice(&ec);
    ca.extend_from_slice(&[
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=iamwarden test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    run(&ca);
    let mut csr = vec!["req"];
    csr.extend_from_slice(&ec);
    csr.extend_from_slice(&[
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    run(&csr);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

/// A TLS proxy on 127.0.0.1 in front of the moto server (plain HTTP behind it).
struct TlsProxy {
    port: u16,
    _rt: tokio::runtime::Runtime,
}

impl TlsProxy {
    fn start(upstream: u16, cert: &Path, key: &Path) -> TlsProxy {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs = CertificateDer::pem_file_iter(cert)
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_file(key).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        rt.spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Ok(mut up) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                    else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
                });
            }
        });
        TlsProxy { port, _rt: rt }
    }

    fn endpoint(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }
}

#[test]
fn ca_bundle_makes_a_private_tls_endpoint_trusted() {
    let server = moto_with_a_user();
    let home = Home::new();
    let (ca, cert, key) = make_certs(home.dir.path());
    let proxy = TlsProxy::start(server.port(), &cert, &key);
    let url = proxy.endpoint();

    // Not trusted by the system's roots.
    let (o, took) = home.snapshot(&["--endpoint-url", &url], &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(&url), "{err}");
    assert!(
        err.contains("TLS") && err.contains("AWS_CA_BUNDLE"),
        "{err}"
    );
    assert!(!err.contains("cannot reach"), "{err}");
    assert!(took < Duration::from_secs(15), "{took:?}");
    assert_eq!(iam_requests(&server), 0);

    // AWS_CA_BUNDLE.
    let (o, _) = home.snapshot(
        &["--endpoint-url", &url],
        &[("AWS_CA_BUNDLE", ca.to_str().unwrap())],
    );
    ok(&o);
    assert!(iam_requests(&server) > 0);

    // The profile's ca_bundle (and its endpoint_url).
    server.clear_requests();
    home.config(&format!(
        "[default]\nca_bundle = {}\nendpoint_url = {url}\n",
        ca.display()
    ));
    let (o, _) = home.snapshot(&[], &[]);
    ok(&o);
    assert!(iam_requests(&server) > 0);

    // A bundle that is not one: said before any call.
    home.config("");
    let bogus = home.path("bogus.pem");
    std::fs::write(&bogus, "not a certificate\n").unwrap();
    for (path, says) in [
        (bogus.to_str().unwrap(), "no PEM certificate"),
        ("/nonexistent/ca.pem", "cannot read it"),
    ] {
        let (o, _) = home.snapshot(&["--endpoint-url", &url], &[("AWS_CA_BUNDLE", path)]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(
            err.contains(&format!("the CA bundle {path} (AWS_CA_BUNDLE)")) && err.contains(says),
            "{err}"
        );
    }
}

// ---- endpoint mistakes ------------------------------------------------------------------------

#[test]
fn an_endpoint_url_without_a_scheme_or_with_a_query_is_refused_when_parsed() {
    let home = Home::new();
    for (url, says) in [
        ("example.com:5000", "add http:// or https://"),
        ("127.0.0.1:5000", "add http:// or https://"),
        ("ftp://127.0.0.1:5000", "starts with http:// or https://"),
        ("http://127.0.0.1:5000/?x=1", "query"),
        ("http://:5000", "no host"),
    ] {
        let (o, took) = home.snapshot(&["--endpoint-url", url], &[]);
        let err = stderr(&o);
        // A usage error exits 1, as the same URL from AWS_ENDPOINT_URL does (below).
        assert_eq!(o.status.code(), Some(1), "{url}: {err}");
        assert!(
            err.contains("--endpoint-url") && err.contains(says),
            "{url}: {err}"
        );
        assert!(!err.contains("Request {") && !err.contains("Uri"), "{err}");
        assert!(took < Duration::from_secs(5));
    }
    // The same check for the environment's endpoint URLs, named by variable.
    let (o, _) = home.snapshot(&[], &[("AWS_ENDPOINT_URL", "example.com:5000")]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("AWS_ENDPOINT_URL `example.com:5000`") && err.contains("add http://"),
        "{err}"
    );
    let (o, _) = home.snapshot(&[], &[("AWS_ENDPOINT_URL_IAM", "localhost:1")]);
    assert!(
        stderr(&o).contains("AWS_ENDPOINT_URL_IAM `localhost:1`"),
        "{}",
        stderr(&o)
    );
    // Another service's variable is not iamwarden's to judge (the read goes on, and fails for
    // want of credentials in this empty environment, before any call).
    let (o, _) = home.run(
        &["snapshot", "--out", "/nonexistent/x"],
        &[("AWS_ENDPOINT_URL_DYNAMODB", "localhost:1")],
    );
    assert!(
        stderr(&o).contains("no usable AWS credentials"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_refused_connection_fails_in_seconds_and_names_the_url() {
    let home = Home::new();
    let url = format!("http://127.0.0.1:{}", dead_port());
    for args in [
        vec![
            "snapshot",
            "--out",
            "/nonexistent/x.json",
            "--endpoint-url",
            &url,
        ],
        vec!["plan", "--endpoint-url", &url],
    ] {
        let (o, took) = home.run_signed(&args, &[]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(
            err.contains(&format!("reading the account at {url}")),
            "{err}"
        );
        assert!(err.contains("connection refused"), "{err}");
        assert!(
            err.contains("is the server running? check --endpoint-url"),
            "{err}"
        );
        assert!(took < Duration::from_secs(5), "{took:?}: {err}");
        assert!(!err.contains(SECRET));
    }
}

/// A one-shot-per-connection HTTP server on 127.0.0.1 that answers every request with
/// `status` and an HTML body (not an AWS answer).
fn html_server(status: &'static str) -> u16 {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in l.incoming().take(50) {
            let Ok(mut c) = conn else { continue };
            let mut buf = [0u8; 65536];
            let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = c.read(&mut buf);
            let body = "<html><body>Not Found</body></html>";
            let _ = write!(
                c,
                "HTTP/1.1 {status}\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

#[test]
fn a_path_that_is_not_iam_names_the_url_and_the_http_status() {
    let home = Home::new();
    // moto under a wrong path.
    let server = moto::MotoServer::start();
    let url = format!("{}/foo", server.endpoint());
    let (o, took) = home.snapshot(&["--endpoint-url", &url], &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("reading the account at {url}")),
        "{err}"
    );
    assert!(
        err.contains("GetAccountAuthorizationDetails failed: HTTP 404"),
        "{err}"
    );
    assert!(err.contains("not an AWS answer"), "{err}");
    assert!(!err.contains("no message"), "{err}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    // Another server's HTML error page.
    let url = format!("http://127.0.0.1:{}", html_server("404 Not Found"));
    let (o, _) = home.snapshot(&["--endpoint-url", &url], &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("HTTP 404, not an AWS answer"), "{err}");
}

#[test]
fn a_profile_that_is_not_in_the_files_lists_the_profiles() {
    let home = Home::new();
    home.config("[default]\nregion = eu-west-1\n\n[profile a]\nregion = eu-west-1\n")
        .credentials("[b]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = x\n");
    let dead = format!("http://127.0.0.1:{}", dead_port());
    let (o, took) = home.snapshot(&["--profile", "nope", "--endpoint-url", &dead], &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let config = home.path("config");
    let credentials = home.path("credentials");
    assert!(
        err.contains(&format!(
            "profile `nope` is not in {} or {} (profiles: a, b, default)",
            config.display(),
            credentials.display()
        )),
        "{err}"
    );
    assert!(!err.contains("cannot reach"), "no call was made: {err}");
    assert!(took < Duration::from_secs(5));
    // AWS_PROFILE is checked too, and says so.
    let (o, _) = home.snapshot(&["--endpoint-url", &dead], &[("AWS_PROFILE", "nope")]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("profile `nope` is not in") && err.contains("AWS_PROFILE"),
        "{err}"
    );
    // Without the files, the default locations are named.
    let (o, _) = home.run(
        &["snapshot", "--out", "/nonexistent/x", "--profile", "nope"],
        &[
            ("AWS_CONFIG_FILE", "/nonexistent/c"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/k"),
        ],
    );
    assert!(
        stderr(&o)
            .contains("profile `nope` is not in /nonexistent/c or /nonexistent/k (profiles: none)"),
        "{}",
        stderr(&o)
    );
}

/// A fault proxy in front of `server` that gives every request `fault`.
fn always(server: &moto::MotoServer, fault: faultproxy::Fault) -> faultproxy::FaultProxy {
    faultproxy::FaultProxy::start(
        server.port(),
        faultproxy::Faults {
            rate: 1.0,
            seed: 18,
            mix: vec![(fault, 1)],
            stall_max: Duration::from_secs(5),
        },
    )
}

#[test]
fn a_timeout_and_a_cut_connection_say_which_they_are() {
    let server = moto_with_a_user();
    let home = Home::new();
    let one = [("AWS_MAX_ATTEMPTS", "1")];

    let stall = always(&server, faultproxy::Fault::Stall);
    let (o, took) = home.snapshot(
        &[
            "--endpoint-url",
            &stall.endpoint(),
            "--attempt-timeout",
            "1s",
            "--call-timeout",
            "2s",
        ],
        &one,
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("no answer in time"), "{err}");
    assert!(err.contains("1s"), "the limit is named: {err}");
    assert!(!err.contains("cannot reach"), "{err}");
    assert!(took < Duration::from_secs(5), "{took:?}");

    let cut = always(&server, faultproxy::Fault::CutBeforeHeaders);
    let (o, _) = home.snapshot(&["--endpoint-url", &cut.endpoint()], &one);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("the connection was cut"), "{err}");
    assert!(!err.contains("cannot reach"), "{err}");
}
