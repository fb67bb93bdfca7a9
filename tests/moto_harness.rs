//! The moto test harness itself (`iamwarden_test_support::moto` and
//! tests/support/moto_clock_server.py), over raw IAM query-API calls: servers start on their own
//! loopback ports, reset clears state, form values are URL-encoded, and the movable clock
//! backdates CreateDate, access-key last use and the credential report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_test_support::moto;

use chrono::{DateTime, Duration, Utc};
use moto::MotoServer;

const DAY: i64 = 86_400;

/// Every text of `<tag>...</tag>` in `xml`, in order.
fn all(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        rest = &rest[start + open.len()..];
        let end = rest
            .find(&close)
            .unwrap_or_else(|| panic!("no {close} in {xml}"));
        out.push(rest[..end].to_string());
        rest = &rest[end..];
    }
    out
}

/// The only text of `<tag>` in `xml`.
fn one(xml: &str, tag: &str) -> String {
    let found = all(xml, tag);
    assert_eq!(found.len(), 1, "expected one <{tag}> in {xml}");
    found[0].clone()
}

fn date(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text:?} is no RFC 3339 date: {e}"))
        .with_timezone(&Utc)
}

/// Asserts `text` is within two days of `days_ago` days before now.
fn assert_days_ago(text: &str, days_ago: i64, what: &str) {
    let expected = Utc::now() - Duration::days(days_ago);
    let off = (date(text) - expected).num_seconds().abs();
    assert!(
        off <= 2 * DAY,
        "{what} is {text}, expected about {days_ago} days ago ({expected})"
    );
}

fn call(server: &MotoServer, params: &[(&str, &str)]) -> String {
    let (status, body) = server.post_form(params);
    assert_eq!(status, 200, "{params:?} failed: {body}");
    body
}

fn create_user(server: &MotoServer, name: &str) -> String {
    call(server, &[("Action", "CreateUser"), ("UserName", name)])
}

fn user_names(server: &MotoServer) -> Vec<String> {
    all(&call(server, &[("Action", "ListUsers")]), "UserName")
}

#[test]
fn create_user_then_list_users_returns_it() {
    let server = MotoServer::start();
    assert!(server.endpoint().starts_with("http://127.0.0.1:"));
    let created = create_user(&server, "alice");
    assert_eq!(one(&created, "UserName"), "alice");
    assert_eq!(one(&created, "Arn"), "arn:aws:iam::123456789012:user/alice");
    assert_eq!(user_names(&server), ["alice"]);

    let (status, body) = server.post_form(&[("Action", "GetUser"), ("UserName", "nobody")]);
    assert_eq!(status, 404, "{body}");
    assert_eq!(one(&body, "Code"), "NoSuchEntity");
}

#[test]
fn reset_clears_all_state() {
    let server = MotoServer::start();
    create_user(&server, "alice");
    create_user(&server, "bob");
    assert_eq!(user_names(&server), ["alice", "bob"]);
    server.reset();
    assert!(user_names(&server).is_empty());
    create_user(&server, "alice"); // no EntityAlreadyExists after a reset
    assert_eq!(user_names(&server), ["alice"]);
}

#[test]
fn form_values_are_url_encoded() {
    let server = MotoServer::start();
    create_user(&server, "carol");
    let value = "a&b=c d+e/f%g?ü";
    call(
        &server,
        &[
            ("Action", "TagUser"),
            ("UserName", "carol"),
            ("Tags.member.1.Key", "note"),
            ("Tags.member.1.Value", value),
        ],
    );
    let tags = call(
        &server,
        &[("Action", "ListUserTags"), ("UserName", "carol")],
    );
    assert_eq!(one(&tags, "Key"), "note");
    assert_eq!(one(&tags, "Value").replace("&amp;", "&"), value);
}

#[test]
fn clock_offset_backdates_create_date_then_returns_to_now() {
    let server = MotoServer::start();
    server.set_clock_offset(-100 * DAY);
    let old = create_user(&server, "old");
    assert_days_ago(&one(&old, "CreateDate"), 100, "old's CreateDate");

    server.set_clock_offset(0);
    let new = create_user(&server, "new");
    assert_days_ago(&one(&new, "CreateDate"), 0, "new's CreateDate");
    // Dates already handed out stay where they were.
    let old = call(&server, &[("Action", "GetUser"), ("UserName", "old")]);
    assert_days_ago(
        &one(&old, "CreateDate"),
        100,
        "old's CreateDate read at offset 0",
    );
}

#[test]
fn clock_offset_backdates_key_last_use_and_the_credential_report() {
    let server = MotoServer::start();
    server.set_clock_offset(-100 * DAY);
    create_user(&server, "dave");
    let key = call(
        &server,
        &[("Action", "CreateAccessKey"), ("UserName", "dave")],
    );
    let key_id = one(&key, "AccessKeyId");
    assert_days_ago(&one(&key, "CreateDate"), 100, "the key's CreateDate");

    // Any request signed with the key id marks it used (moto checks no signature).
    server.set_clock_offset(-95 * DAY);
    let (status, body) = server.post_form_as(&key_id, &[("Action", "ListUsers")]);
    assert_eq!(status, 200, "{body}");

    server.set_clock_offset(0);
    let used = call(
        &server,
        &[("Action", "GetAccessKeyLastUsed"), ("AccessKeyId", &key_id)],
    );
    assert_days_ago(&one(&used, "LastUsedDate"), 95, "the key's LastUsedDate");

    call(&server, &[("Action", "GenerateCredentialReport")]);
    let report = call(&server, &[("Action", "GetCredentialReport")]);
    let csv = String::from_utf8(decode_base64(&one(&report, "Content"))).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines
        .find(|l| l.starts_with("dave,"))
        .unwrap_or_else(|| panic!("no row for dave in {csv}"))
        .split(',')
        .collect();
    let field = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert_days_ago(field("user_creation_time"), 100, "user_creation_time");
    assert_days_ago(
        field("access_key_1_last_rotated"),
        100,
        "access_key_1_last_rotated",
    );
    assert_days_ago(
        field("access_key_1_last_used_date"),
        95,
        "access_key_1_last_used_date",
    );
}

#[test]
fn two_servers_get_different_ports_and_separate_state() {
    let a = MotoServer::start();
    let b = MotoServer::start();
    assert_ne!(a.port(), b.port());
    assert_ne!(a.endpoint(), b.endpoint());
    create_user(&a, "only-in-a");
    assert_eq!(user_names(&a), ["only-in-a"]);
    assert!(user_names(&b).is_empty());
    // Each clock is its own.
    a.set_clock_offset(-100 * DAY);
    assert_days_ago(
        &one(&create_user(&b, "b-now"), "CreateDate"),
        0,
        "b's CreateDate",
    );
}

#[test]
fn dropping_a_server_stops_it() {
    let server = MotoServer::start();
    let port = server.port();
    drop(server);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "moto still answers on {port} after drop"
    );
}

/// Standard base64 (the credential report's Content), std only.
fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let clean: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    let mut out = Vec::new();
    for quad in clean.chunks(4) {
        let data: Vec<u8> = quad.iter().copied().filter(|c| *c != b'=').collect();
        let n = data.iter().fold(0u32, |acc, c| (acc << 6) | value(*c)) << (6 * (4 - data.len()));
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..data.len()]);
    }
    out
}
