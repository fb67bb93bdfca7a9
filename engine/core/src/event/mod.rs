//! CloudTrail events of IAM changes: reading them in every shape they arrive in, and folding
//! them into an inventory so that rules judge the changed resources as they are after the event.
//!
//! Input shapes: a single CloudTrail record, an EventBridge envelope (`detail-type: "AWS API
//! Call via CloudTrail"`), a CloudTrail log file (`{"Records": [...]}`), a JSON array of
//! records, or JSON Lines; any of them gzip-compressed. Only IAM records count
//! (`eventSource: iam.amazonaws.com`: Organizations emits `CreatePolicy` too), failed calls
//! (`errorCode`) are skipped, and every skip is reported with its reason.
//!
//! Pure: bytes in, events out; [`fold()`] changes an in-memory inventory.

pub mod fold;
mod kinds;
pub mod scope;

pub use fold::{fold, fold_with, Lookup};

use chrono::{DateTime, Utc};
use serde_json::Value;
use std::io::Read;

pub use crate::event_name::EventName;

/// One IAM API call, as CloudTrail recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct IamEvent {
    /// `eventID`.
    pub id: String,
    /// `eventName`, e.g. `CreatePolicy`.
    pub name: EventName,
    /// `eventTime`.
    pub time: DateTime<Utc>,
    /// `recipientAccountId` (or the envelope's `account`).
    pub account: Option<String>,
    /// Who made the call (`userIdentity.arn`).
    pub actor: Option<String>,
    /// `requestParameters`.
    pub request: Value,
    /// `responseElements`.
    pub response: Value,
}

/// A record that was read but not used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRecord {
    /// `eventID`, when it has one.
    pub id: String,
    /// `eventSource:eventName`.
    pub what: String,
    /// Why it was skipped.
    pub reason: String,
}

/// The input could not be read as events.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Not gzip-decodable.
    #[error("{source_name}: not a valid gzip file: {message}")]
    Gzip {
        /// The input's name.
        source_name: String,
        /// What the decoder said.
        message: String,
    },
    /// Not JSON.
    #[error("{source_name}:{line}:{column}: not JSON: {message}")]
    Json {
        /// The input's name.
        source_name: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What serde said.
        message: String,
    },
    /// JSON, but no CloudTrail record in it.
    #[error("{0}: no CloudTrail record (expected a record, an EventBridge envelope, or {{\"Records\": [...]}})")]
    NoRecords(String),
}

/// Everything read from one input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Events {
    /// The IAM events to act on, in event-time order.
    pub events: Vec<IamEvent>,
    /// The records not acted on.
    pub skipped: Vec<SkippedRecord>,
}

/// Reads events from `bytes` (named `source_name` in errors).
pub fn read(bytes: &[u8], source_name: &str) -> Result<Events, EventError> {
    let text: Vec<u8> = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map_err(|e| EventError::Gzip {
                source_name: source_name.to_string(),
                message: e.to_string(),
            })?;
        out
    } else {
        bytes.to_vec()
    };
    let values = parse_json_values(&text, source_name)?;
    let mut records: Vec<Value> = Vec::new();
    for v in values {
        collect_records(v, &mut records);
    }
    if records.is_empty() {
        return Err(EventError::NoRecords(source_name.to_string()));
    }
    let mut out = Events::default();
    for r in records {
        match to_event(&r) {
            Ok(e) => out.events.push(e),
            Err(s) => out.skipped.push(s),
        }
    }
    out.events
        .sort_by(|a, b| a.time.cmp(&b.time).then(a.id.cmp(&b.id)));
    Ok(out)
}

/// One JSON document, or JSON Lines.
fn parse_json_values(text: &[u8], source_name: &str) -> Result<Vec<Value>, EventError> {
    let json_err = |e: serde_json::Error| EventError::Json {
        source_name: source_name.to_string(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    };
    let mut out = Vec::new();
    let mut stream = serde_json::Deserializer::from_slice(text).into_iter::<Value>();
    loop {
        match stream.next() {
            Some(Ok(v)) => out.push(v),
            Some(Err(e)) => return Err(json_err(e)),
            None => break,
        }
    }
    Ok(out)
}

fn collect_records(v: Value, out: &mut Vec<Value>) {
    match v {
        Value::Array(items) => items.into_iter().for_each(|i| collect_records(i, out)),
        Value::Object(mut m) => {
            if let Some(Value::Array(records)) = m.remove("Records") {
                records.into_iter().for_each(|r| collect_records(r, out));
            } else if m.get("detail-type").and_then(Value::as_str)
                == Some("AWS API Call via CloudTrail")
            {
                let account = m.get("account").cloned();
                if let Some(Value::Object(mut detail)) = m.remove("detail") {
                    if let Some(a) = account {
                        detail.entry("recipientAccountId").or_insert(a);
                    }
                    out.push(Value::Object(detail));
                }
            } else if m.contains_key("eventName") {
                out.push(Value::Object(m));
            }
        }
        _ => {}
    }
}

/// CloudTrail's dates: RFC 3339 in `eventTime`, `"Nov 20, 2026 10:15:30 AM"` in
/// responseElements.
pub fn parse_cloudtrail_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    chrono::NaiveDateTime::parse_from_str(text, "%b %e, %Y %l:%M:%S %p")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%b %d, %Y %I:%M:%S %p"))
        .ok()
        .map(|n| n.and_utc())
}

fn to_event(r: &Value) -> Result<IamEvent, SkippedRecord> {
    let s = |k: &str| {
        r.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let id = s("eventID");
    let source = s("eventSource");
    let name = s("eventName");
    let skip = |reason: String| SkippedRecord {
        id: id.clone(),
        what: format!("{source}:{name}"),
        reason,
    };
    if source != "iam.amazonaws.com" {
        return Err(skip(format!("not an IAM event (eventSource {source})")));
    }
    if let Some(code) = r.get("errorCode").and_then(Value::as_str) {
        return Err(skip(format!(
            "the call failed ({code}): it changed nothing"
        )));
    }
    let Some(kind) = EventName::parse(&name) else {
        return Err(skip(format!("{name} is not an event iamwarden reacts to")));
    };
    let time = parse_cloudtrail_time(&s("eventTime"))
        .ok_or_else(|| skip(format!("eventTime `{}` is not a date", s("eventTime"))))?;
    Ok(IamEvent {
        id: id.clone(),
        name: kind,
        time,
        account: r
            .get("recipientAccountId")
            .or_else(|| r.get("userIdentity").and_then(|u| u.get("accountId")))
            .and_then(Value::as_str)
            .map(str::to_string),
        actor: r
            .get("userIdentity")
            .and_then(|u| u.get("arn"))
            .and_then(Value::as_str)
            .map(str::to_string),
        request: r.get("requestParameters").cloned().unwrap_or(Value::Null),
        response: r.get("responseElements").cloned().unwrap_or(Value::Null),
    })
}

#[cfg(test)]
mod tests;
