//! A snapshot's collections parsed side by side: the fast path of [`super::snapshot::parse`].
//!
//! A snapshot is one JSON object whose members are independent collections (users, access
//! keys, roles, ...). [`parse`] finds where each top-level member's value starts and ends with
//! one light pass over the bytes (strings, nesting and nothing else), then deserializes the
//! values on up to `threads` threads, the largest first, each onto the thread with the least
//! bytes so far. It gives up (`None`) on anything it does not recognize as the plain shape
//! (an unknown or repeated member, an escaped member name, nesting deeper than
//! [`MAX_DEPTH`], any member that does not deserialize, anything after the object): the caller
//! then parses the document serially, whose error names the line and column. So the fast path
//! never accepts a document the serial parser refuses, and gives the same inventory when both
//! accept it.

use super::Inventory;
use serde::de::DeserializeOwned;
use std::ops::Range;

/// Deeper than this, the serial parser decides (serde_json refuses past 128 levels; a member
/// parsed alone starts one level lower than it is in the file).
const MAX_DEPTH: usize = 100;

/// Below this many bytes, one thread parses it all: splitting would not pay.
const PARALLEL_MIN_BYTES: usize = 1 << 20;

/// A top-level member, where its value lies in the bytes, and for an array how many elements
/// it seems to hold (its commas at its own depth, plus one): what its vector is sized for.
type Span = (Member, Range<usize>, usize);

/// The top-level members of a snapshot, in the file's order.
#[derive(Debug, Default, PartialEq)]
struct Members {
    spans: Vec<Span>,
}

/// The members an inventory document may have (the fields of [`Inventory`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Member {
    FormatVersion,
    GeneratedAt,
    Account,
    Users,
    AccessKeys,
    MfaDevices,
    LoginProfiles,
    Groups,
    Roles,
    ManagedPolicies,
    InlinePolicies,
}

impl Member {
    fn of(name: &[u8]) -> Option<Member> {
        Some(match name {
            b"format_version" => Member::FormatVersion,
            b"generated_at" => Member::GeneratedAt,
            b"account" => Member::Account,
            b"users" => Member::Users,
            b"access_keys" => Member::AccessKeys,
            b"mfa_devices" => Member::MfaDevices,
            b"login_profiles" => Member::LoginProfiles,
            b"groups" => Member::Groups,
            b"roles" => Member::Roles,
            b"managed_policies" => Member::ManagedPolicies,
            b"inline_policies" => Member::InlinePolicies,
            _ => return None,
        })
    }
}

/// Parses `bytes` as a snapshot with up to `threads` threads, or `None` when the serial parser
/// must decide (see the module's documentation). Not normalized.
pub(super) fn parse(bytes: &[u8], threads: usize) -> Option<Inventory> {
    if bytes.len() < PARALLEL_MIN_BYTES || threads < 2 {
        return None;
    }
    let members = split(bytes)?;
    // The account is required, as the serial parser requires it.
    if !members.spans.iter().any(|(m, ..)| *m == Member::Account) {
        return None;
    }
    // Largest first, each to the least loaded worker.
    let mut order: Vec<&Span> = members.spans.iter().collect();
    order.sort_by_key(|(_, r, _)| std::cmp::Reverse(r.len()));
    let mut workers: Vec<(usize, Vec<&Span>)> = vec![(0, Vec::new()); threads];
    for span in order {
        let least = workers.iter_mut().min_by_key(|(load, _)| *load)?;
        least.0 += span.1.len();
        least.1.push(span);
    }
    // Every member must deserialize: one that does not sends the whole document to the serial
    // parser, never a part of it missing.
    let parts: Option<Vec<Vec<Part>>> = std::thread::scope(|s| {
        let handles: Vec<_> = workers
            .iter()
            .filter(|(_, spans)| !spans.is_empty())
            .map(|(_, spans)| {
                // A thread the system refuses to start leaves the document to the serial
                // parser, as a member that does not parse does.
                std::thread::Builder::new().spawn_scoped(s, move || {
                    spans
                        .iter()
                        .map(|(m, r, n)| Part::parse(*m, bytes.get(r.clone())?, *n))
                        .collect::<Option<Vec<Part>>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.ok()?
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e))
            })
            .collect()
    });
    let mut inv = Inventory {
        format_version: super::default_format_version(),
        ..Inventory::default()
    };
    for part in parts?.into_iter().flatten() {
        part.put(&mut inv);
    }
    Some(inv)
}

/// One member's value, deserialized.
enum Part {
    FormatVersion(u32),
    GeneratedAt(Option<chrono::DateTime<chrono::Utc>>),
    Account(Box<super::Account>),
    Users(Vec<super::User>),
    AccessKeys(Vec<super::AccessKey>),
    MfaDevices(Vec<super::MfaDevice>),
    LoginProfiles(Vec<super::LoginProfile>),
    Groups(Vec<super::Group>),
    Roles(Vec<super::Role>),
    ManagedPolicies(Vec<super::ManagedPolicy>),
    InlinePolicies(Vec<super::InlinePolicy>),
}

fn value<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    serde_json::from_slice(bytes).ok()
}

/// An array of records, deserialized into a vector sized for `hint` of them up front: grown
/// by doubling, the users' vector of a 100k-user snapshot would be copied a dozen times and
/// held twice (71 MB and half that) at the last copy. The reservation never exceeds the
/// member's own bytes, so a hint from a malformed document costs no more than its text.
fn records<T: DeserializeOwned>(bytes: &[u8], hint: usize) -> Option<Vec<T>> {
    let most = bytes.len() / std::mem::size_of::<T>().max(1);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let presized = Presized::<T>(hint.min(most), std::marker::PhantomData);
    let out = serde::de::DeserializeSeed::deserialize(presized, &mut de);
    de.end().ok()?;
    out.ok()
}

/// Deserializes a sequence into a vector with this capacity.
struct Presized<T>(usize, std::marker::PhantomData<T>);

impl<'de, T: serde::Deserialize<'de>> serde::de::DeserializeSeed<'de> for Presized<T> {
    type Value = Vec<T>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Vec<T>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for Presized<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut out = Vec::with_capacity(self.0);
        while let Some(x) = seq.next_element()? {
            out.push(x);
        }
        Ok(out)
    }
}

impl Part {
    fn parse(member: Member, bytes: &[u8], hint: usize) -> Option<Part> {
        Some(match member {
            Member::FormatVersion => Part::FormatVersion(value(bytes)?),
            Member::GeneratedAt => Part::GeneratedAt(value(bytes)?),
            Member::Account => Part::Account(value(bytes)?),
            Member::Users => Part::Users(records(bytes, hint)?),
            Member::AccessKeys => Part::AccessKeys(records(bytes, hint)?),
            Member::MfaDevices => Part::MfaDevices(records(bytes, hint)?),
            Member::LoginProfiles => Part::LoginProfiles(records(bytes, hint)?),
            Member::Groups => Part::Groups(records(bytes, hint)?),
            Member::Roles => Part::Roles(records(bytes, hint)?),
            Member::ManagedPolicies => Part::ManagedPolicies(records(bytes, hint)?),
            Member::InlinePolicies => Part::InlinePolicies(records(bytes, hint)?),
        })
    }

    fn put(self, inv: &mut Inventory) {
        match self {
            Part::FormatVersion(v) => inv.format_version = v,
            Part::GeneratedAt(v) => inv.generated_at = v,
            Part::Account(v) => inv.account = *v,
            Part::Users(v) => inv.users = v,
            Part::AccessKeys(v) => inv.access_keys = v,
            Part::MfaDevices(v) => inv.mfa_devices = v,
            Part::LoginProfiles(v) => inv.login_profiles = v,
            Part::Groups(v) => inv.groups = v,
            Part::Roles(v) => inv.roles = v,
            Part::ManagedPolicies(v) => inv.managed_policies = v,
            Part::InlinePolicies(v) => inv.inline_policies = v,
        }
    }
}

/// The top-level members of the object `bytes` holds, or `None` when it is not a plain object
/// of known, distinct, unescaped member names followed by nothing but whitespace. The values'
/// spans are found, not validated: each is deserialized on its own afterwards.
fn split(bytes: &[u8]) -> Option<Members> {
    let mut members = Members::default();
    let mut i = skip_ws(bytes, 0);
    if bytes.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(bytes, i + 1);
    if bytes.get(i) == Some(&b'}') {
        return (skip_ws(bytes, i + 1) == bytes.len()).then_some(members);
    }
    loop {
        // The member's name: a string without escapes.
        if bytes.get(i) != Some(&b'"') {
            return None;
        }
        let name_end = i + 1 + memchr::memchr2(b'"', b'\\', bytes.get(i + 1..)?)?;
        if bytes.get(name_end) != Some(&b'"') {
            return None;
        }
        let member = Member::of(bytes.get(i + 1..name_end)?)?;
        if members.spans.iter().any(|(m, ..)| *m == member) {
            return None;
        }
        i = skip_ws(bytes, name_end + 1);
        if bytes.get(i) != Some(&b':') {
            return None;
        }
        let start = skip_ws(bytes, i + 1);
        let (end, commas) = skip_value(bytes, start)?;
        members.spans.push((member, start..end, commas + 1));
        i = skip_ws(bytes, end);
        match bytes.get(i) {
            Some(b',') => i = skip_ws(bytes, i + 1),
            Some(b'}') => break,
            _ => return None,
        }
    }
    (skip_ws(bytes, i + 1) == bytes.len()).then_some(members)
}

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while matches!(bytes.get(i), Some(b' ' | b'\n' | b'\r' | b'\t')) {
        i += 1;
    }
    i
}

/// The end of the JSON value starting at `start` (past its closing bracket or quote, or at
/// the first byte after a scalar) and the commas directly inside it (for an array, one fewer
/// than its elements). `None` past [`MAX_DEPTH`] or at the end of the bytes. Only strings and
/// nesting are followed (a `{` closed by `]` is left to the deserializer).
fn skip_value(bytes: &[u8], start: usize) -> Option<(usize, usize)> {
    match *bytes.get(start)? {
        b'"' => Some((skip_string(bytes, start)?, 0)),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut commas = 0usize;
            let mut i = start;
            loop {
                match *bytes.get(i)? {
                    b'"' => {
                        i = skip_string(bytes, i)?;
                        continue;
                    }
                    b'{' | b'[' => {
                        depth += 1;
                        if depth > MAX_DEPTH {
                            return None;
                        }
                    }
                    b'}' | b']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some((i + 1, commas));
                        }
                    }
                    b',' if depth == 1 => commas += 1,
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            let mut i = start;
            while is_scalar_byte(bytes.get(i)) {
                i += 1;
            }
            (i > start).then_some((i, 0))
        }
    }
}

/// Whether `b` may continue a number, `true`, `false` or `null`.
fn is_scalar_byte(b: Option<&u8>) -> bool {
    matches!(
        b,
        Some(b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' | b'-' | b'+' | b'.')
    )
}

/// Past the closing quote of the string whose opening quote is at `i`.
fn skip_string(bytes: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        j += memchr::memchr2(b'"', b'\\', bytes.get(j..)?)?;
        match bytes.get(j)? {
            b'\\' => j += 2,
            _ => return Some(j + 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Option<Vec<(Member, String)>> {
        split(text.as_bytes()).map(|m| {
            m.spans
                .into_iter()
                .map(|(k, r, _)| (k, text[r].to_string()))
                .collect()
        })
    }

    /// A field added to the inventory must be added here too, or every snapshot with it would
    /// silently take the serial parser: each property of the inventory's schema is a member.
    #[test]
    fn every_field_of_the_inventory_is_a_member() {
        let schema = schemars::schema_for!(Inventory);
        let fields = schema
            .get("properties")
            .and_then(serde_json::Value::as_object)
            .expect("the inventory's schema lists its properties");
        assert!(fields.len() >= 11, "{fields:?}");
        for name in fields.keys() {
            assert!(
                Member::of(name.as_bytes()).is_some(),
                "`{name}` is not a member"
            );
        }
    }

    #[test]
    fn finds_each_members_value() {
        let text = r#" { "format_version" : 1, "account": {"id": "1", "x": [1, {"y": "}\"]"}]},
            "users":[ ], "generated_at": null ,"groups" :[{"a":"\\"}] } "#;
        assert_eq!(
            names(text),
            Some(vec![
                (Member::FormatVersion, "1".to_string()),
                (
                    Member::Account,
                    r#"{"id": "1", "x": [1, {"y": "}\"]"}]}"#.to_string()
                ),
                (Member::Users, "[ ]".to_string()),
                (Member::GeneratedAt, "null".to_string()),
                (Member::Groups, r#"[{"a":"\\"}]"#.to_string()),
            ])
        );
        assert_eq!(names("{}"), Some(vec![]));
    }

    #[test]
    fn leaves_anything_unusual_to_the_serial_parser() {
        for text in [
            r#"{"userz": []}"#,              // unknown member
            r#"{"users": [], "users": []}"#, // repeated member
            r#"{"us\u0065rs": []}"#,         // escaped name
            r#"{"users": []} x"#,            // trailing bytes
            r#"{"users": [}"#,               // unbalanced
            r#"{"users": ["open}"#,          // unterminated string
            r#"{"users" []}"#,               // no colon
            r#"{"users": [] "roles": []}"#,  // no comma
            r#"["users"]"#,                  // not an object
            r#"{"users": []"#,               // cut
        ] {
            assert_eq!(names(text), None, "{text}");
        }
        let deep = format!(
            r#"{{"account": {}{}}}"#,
            "[".repeat(MAX_DEPTH + 1),
            "]".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(names(&deep), None);
    }

    #[test]
    fn same_inventory_as_the_serial_parser() {
        // Large enough to take the parallel path, with every collection present.
        let n = 6000;
        let users: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    r#"{{"id": "AIDA{i:017}", "arn": "arn:aws:iam::123456789012:user/u{i}", "name": "u{i}", "created_at": "2020-01-01T00:00:00Z", "groups": ["g"], "tags": {{"team": "t{}"}}}}"#,
                    i % 7
                )
            })
            .collect();
        let keys: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    r#"{{"id": "AKIA{i:016}", "user": "u{i}", "status": "Active", "created_at": "2021-01-01T00:00:00Z"}}"#
                )
            })
            .collect();
        let text = format!(
            r#"{{"format_version": 1, "generated_at": "2026-11-01T00:00:00Z", "account": {{"id": "123456789012"}}, "users": [{}], "access_keys": [{}], "groups": [{{"id": "AGPA1", "arn": "arn:aws:iam::123456789012:group/g", "name": "g", "created_at": "2020-01-01T00:00:00Z"}}],
            "roles": [], "managed_policies": [], "inline_policies": [], "mfa_devices": [], "login_profiles": []}}"#,
            users.join(","),
            keys.join(",")
        );
        assert!(text.len() > PARALLEL_MIN_BYTES);
        let fast = parse(text.as_bytes(), 2).expect("the plain shape takes the fast path");
        let serial: Inventory = serde_json::from_str(&text).expect("valid");
        assert_eq!(fast, serial);
        assert_eq!(fast.users.len(), n);
        // A member that does not deserialize sends it to the serial parser.
        let bad = text.replacen(r#""status": "Active""#, r#""status": "Enabled""#, 1);
        assert!(parse(bad.as_bytes(), 2).is_none());
        // Small documents stay on one thread.
        assert!(parse(br#"{"account": {"id": "1"}}"#, 2).is_none());
    }

    #[test]
    fn arrays_are_sized_by_their_own_commas_within_their_text() {
        let text = br#"[1,[2,3],{"a":1,"b":2},"x,y"]"#;
        assert_eq!(skip_value(text, 0), Some((text.len(), 3)));
        assert_eq!(skip_value(b"[]", 0), Some((2, 0)));
        let v: Vec<u64> = records(b"[100000, 200000, 300000]", 3).unwrap();
        assert_eq!(
            (v.as_slice(), v.capacity()),
            (&[100000, 200000, 300000][..], 3)
        );
        // A hint from a malformed count reserves no more than the text's own size.
        let v: Vec<u64> = records(b"[7]", usize::MAX).unwrap();
        assert_eq!(v, [7]);
        assert!(
            v.capacity() <= 4,
            "no reservation, a vector's first growth: {}",
            v.capacity()
        );
        assert!(records::<u64>(b"[1] x", 1).is_none(), "trailing text");
        assert!(records::<u64>(b"[1,]", 2).is_none());
    }
}
