//! What kind of iamwarden file a path holds, judged from its first bytes, so that a plan given
//! where a journal belongs (or a snapshot where a plan belongs) gets "this is a plan; its journal
//! is plan.json.journal.jsonl" instead of a parse error about a missing field.

use std::io::Read;
use std::path::Path;

/// The kinds of file users hand to iamwarden.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A plan (`plan --out`).
    Plan,
    /// An inventory snapshot (`snapshot --out`).
    Snapshot,
    /// An apply journal (JSON Lines of records).
    Journal,
    /// CloudTrail events (a record, a log file, an EventBridge envelope).
    Events,
    /// A JSON array (a snapshot or a plan is an object).
    Array,
    /// Gzip-compressed data.
    Gzip,
    /// Anything else.
    Unknown,
}

impl FileKind {
    /// How the kind is named in messages.
    pub fn describe(self) -> &'static str {
        match self {
            FileKind::Plan => "a plan (iamwarden plan --out)",
            FileKind::Snapshot => "an inventory snapshot (iamwarden snapshot --out)",
            FileKind::Journal => "an apply journal",
            FileKind::Events => "CloudTrail events (iamwarden event reads them)",
            FileKind::Array => "a JSON array",
            FileKind::Gzip => "gzip-compressed data",
            FileKind::Unknown => "not an iamwarden file",
        }
    }
}

/// How much of a file is read to judge it: the first record of a journal or the top-level keys
/// of a pretty-printed plan or snapshot come early.
const HEAD: u64 = 64 * 1024;

/// Judges a file from its head; `None` when it cannot be read.
pub fn kind_of(path: &Path) -> Option<FileKind> {
    let mut head = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(HEAD)
        .read_to_end(&mut head)
        .ok()?;
    Some(kind_of_bytes(&head))
}

/// Judges a file from its first bytes.
pub fn kind_of_bytes(head: &[u8]) -> FileKind {
    if head.starts_with(&[0x1f, 0x8b]) {
        return FileKind::Gzip;
    }
    let text = String::from_utf8_lossy(head);
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        return FileKind::Array;
    }
    if !trimmed.starts_with('{') {
        return FileKind::Unknown;
    }
    // A journal's first line is a whole record with a `record` tag.
    let first_line = trimmed.lines().next().unwrap_or("");
    if let Ok(serde_json::Value::Object(m)) = serde_json::from_str(first_line) {
        if m.contains_key("record") {
            return FileKind::Journal;
        }
        if m.contains_key("eventSource") || m.contains_key("Records") || m.contains_key("detail") {
            return FileKind::Events;
        }
    }
    let has = |key: &str| text.contains(&format!("\"{key}\""));
    if has("content_sha256") && has("actions") {
        FileKind::Plan
    } else if has("eventSource") || has("Records") {
        FileKind::Events
    } else if has("users") && has("account") {
        FileKind::Snapshot
    } else {
        FileKind::Unknown
    }
}

/// A hint for a file that is not of the `wanted` kind, or `None` when it is (or cannot be told).
pub fn mismatch(path: &Path, wanted: FileKind) -> Option<String> {
    let found = kind_of(path)?;
    if found == wanted || found == FileKind::Unknown {
        return None;
    }
    let shown = path.display();
    let what = match wanted {
        FileKind::Plan => "apply and show take a plan (iamwarden plan --out FILE)",
        FileKind::Journal => "undo takes the journal apply wrote",
        FileKind::Snapshot => {
            "--snapshot takes an inventory snapshot (iamwarden snapshot --out FILE)"
        }
        _ => "this command takes another kind of file",
    };
    let extra = match (found, wanted) {
        (FileKind::Plan, FileKind::Journal) => format!(
            "; its journal is {}.journal.jsonl (or the --journal apply was given)",
            shown
        ),
        (FileKind::Journal, FileKind::Plan) => {
            "; to reverse what it applied, run `iamwarden undo` on it".to_string()
        }
        (FileKind::Snapshot, FileKind::Plan) => {
            "; make a plan from it with `iamwarden plan --snapshot FILE --out plan.json`"
                .to_string()
        }
        (FileKind::Events, FileKind::Snapshot) => {
            "; judge events with `iamwarden event FILE --snapshot SNAPSHOT`".to_string()
        }
        (FileKind::Gzip, _) => "; decompress it first".to_string(),
        _ => String::new(),
    };
    Some(format!(
        "{shown} is {}, not what was asked for: {what}{extra}",
        found.describe()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_their_heads() {
        let cases: &[(&str, FileKind)] = &[
            (
                "{\n  \"format_version\": 2,\n  \"content_sha256\": \"sha256:1\",\n  \"actions\": []\n}",
                FileKind::Plan,
            ),
            (
                "{\n  \"format_version\": 1,\n  \"account\": {\"id\": \"1\"},\n  \"users\": []\n}",
                FileKind::Snapshot,
            ),
            (
                "{\"record\":\"run\",\"mode\":\"apply\"}\n{\"record\":\"end\"}\n",
                FileKind::Journal,
            ),
            ("{\"Records\": []}", FileKind::Events),
            (
                "{\n  \"eventSource\": \"iam.amazonaws.com\",\n  \"eventName\": \"CreatePolicy\"\n}",
                FileKind::Events,
            ),
            ("  []", FileKind::Array),
            ("pack: {name: x}", FileKind::Unknown),
            ("{\"something\": 1}", FileKind::Unknown),
        ];
        for (text, want) in cases {
            assert_eq!(kind_of_bytes(text.as_bytes()), *want, "{text}");
        }
        assert_eq!(kind_of_bytes(b"\x1f\x8b\x08\x00"), FileKind::Gzip);
    }
}
