//! The pure parts of `iamwarden watch`: queue messages (EventBridge envelopes of CloudTrail
//! IAM events) sorted into new events, duplicates and malformed messages; the bounded set of
//! `eventID`s already planned, kept in a state file so that a restart does not plan (or apply)
//! a redelivered event again (SQS delivers at least once; an event is acted on at most once);
//! one structured log line per event; the metrics summary.
//!
//! No I/O: the CLI receives and deletes messages (iamwarden-aws `sqs`) and reads and writes
//! the state file with what [`Seen::to_json`] gives.

use crate::event::{IamEvent, SkippedRecord};
use crate::pipeline::EventReport;
use crate::plan::Plan;
use std::collections::{HashMap, HashSet, VecDeque};

/// The state file's format version.
pub const STATE_FORMAT_VERSION: u32 = 1;

/// How many `eventID`s the state keeps by default (the oldest are forgotten first).
pub const DEFAULT_SEEN_CAPACITY: usize = 100_000;

/// One message as the queue delivered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// SQS's message id.
    pub id: String,
    /// The receipt handle that deletes it.
    pub receipt: String,
    /// The body: an EventBridge envelope (or any shape `event::read` takes).
    pub body: String,
    /// When the queue received it (SQS's `SentTimestamp`, milliseconds since the epoch), from
    /// which a log line's `queue_ms` counts; `None` when the source does not say.
    pub sent_ms: Option<i64>,
}

/// The state file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// Not the state file's JSON.
    #[error("the watch state is not valid: {0}")]
    State(String),
    /// Written by a newer iamwarden.
    #[error("the watch state has format version {0}; this iamwarden reads version {STATE_FORMAT_VERSION}")]
    Version(u32),
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StateFile {
    format_version: u32,
    capacity: usize,
    /// Oldest first.
    seen: Vec<String>,
}

/// The `eventID`s already planned, bounded: past `capacity` the oldest is forgotten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    capacity: usize,
    order: VecDeque<String>,
    set: HashSet<String>,
}

impl Seen {
    /// An empty set keeping at most `capacity` ids (at least one).
    pub fn new(capacity: usize) -> Seen {
        Seen {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            set: HashSet::new(),
        }
    }

    /// Whether `id` was planned already.
    pub fn contains(&self, id: &str) -> bool {
        self.set.contains(id)
    }

    /// How many ids it holds.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Records `id`; forgets the oldest when full.
    pub fn insert(&mut self, id: &str) {
        if !self.set.insert(id.to_string()) {
            return;
        }
        self.order.push_back(id.to_string());
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
    }

    /// The state file's text.
    pub fn to_json(&self) -> String {
        let f = StateFile {
            format_version: STATE_FORMAT_VERSION,
            capacity: self.capacity,
            seen: self.order.iter().cloned().collect(),
        };
        serde_json::to_string(&f).unwrap_or_default()
    }

    /// Reads a state file's text; `capacity` (the current setting) wins over the file's and
    /// keeps the newest ids.
    pub fn from_json(text: &str, capacity: usize) -> Result<Seen, WatchError> {
        let f: StateFile =
            serde_json::from_str(text).map_err(|e| WatchError::State(e.to_string()))?;
        if f.format_version > STATE_FORMAT_VERSION {
            return Err(WatchError::Version(f.format_version));
        }
        let mut s = Seen::new(capacity);
        for id in &f.seen {
            s.insert(id);
        }
        Ok(s)
    }
}

/// A message that could not be read as events: left on the queue for its redrive policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// SQS's message id.
    pub message_id: String,
    /// Why.
    pub reason: String,
}

/// One batch of messages, sorted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sorted {
    /// The events to plan: new, each once, in event-time order.
    pub events: Vec<IamEvent>,
    /// Records read but not IAM events to act on (another service, a failed call).
    pub skipped: Vec<SkippedRecord>,
    /// `eventID`s planned before (or twice in this batch): not planned again.
    pub duplicates: Vec<String>,
    /// Messages left on the queue.
    pub malformed: Vec<Malformed>,
    /// The receipts to delete once the batch's plan (and journal) is durable: every message
    /// that was read, duplicates included.
    pub delete: Vec<String>,
    /// The `SentTimestamp` of the message each planned event came in (by `eventID`).
    pub sent_ms: HashMap<String, i64>,
}

/// Sorts a batch against the ids already planned.
pub fn sort_batch(messages: &[Message], seen: &Seen) -> Sorted {
    let mut out = Sorted::default();
    let mut in_batch: HashSet<String> = HashSet::new();
    for m in messages {
        match crate::event::read(unwrap_sns(&m.body).as_bytes(), &format!("message {}", m.id)) {
            Err(e) => out.malformed.push(Malformed {
                message_id: m.id.clone(),
                reason: e.to_string(),
            }),
            Ok(read) => {
                for e in read.events {
                    if seen.contains(&e.id) || !in_batch.insert(e.id.clone()) {
                        out.duplicates.push(e.id);
                    } else {
                        if let Some(t) = m.sent_ms {
                            out.sent_ms.insert(e.id.clone(), t);
                        }
                        out.events.push(e);
                    }
                }
                out.skipped.extend(read.skipped);
                out.delete.push(m.receipt.clone());
            }
        }
    }
    out.events
        .sort_by(|a, b| a.time.cmp(&b.time).then(a.id.cmp(&b.id)));
    out
}

/// The body an SNS subscription delivers (`{"Type": "Notification", "Message": "..."}`, when
/// the queue is subscribed to a topic the EventBridge rule feeds, without raw message
/// delivery): the message inside; any other body as it is.
pub fn unwrap_sns(body: &str) -> std::borrow::Cow<'_, str> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        #[serde(rename = "Type")]
        kind: String,
        #[serde(rename = "Message")]
        message: String,
    }
    // Cheap test first: an EventBridge envelope never starts with SNS's field names.
    if !body.contains("\"Notification\"") {
        return std::borrow::Cow::Borrowed(body);
    }
    match serde_json::from_str::<Envelope>(body) {
        Ok(e) if e.kind == "Notification" => std::borrow::Cow::Owned(e.message),
        _ => std::borrow::Cow::Borrowed(body),
    }
}

/// The messages of an SQS-triggered Lambda invocation (`{"Records": [{"eventSource":
/// "aws:sqs", "messageId", "body", ...}]}`), each keyed by its message id (the handler reports
/// the ones to retry as `batchItemFailures`); `None` for any other payload (an EventBridge
/// event invoking the function directly).
pub fn sqs_event_messages(payload: &serde_json::Value) -> Option<Vec<Message>> {
    let records = payload.get("Records")?.as_array()?;
    if records.is_empty()
        || !records
            .iter()
            .all(|r| r.get("eventSource").and_then(serde_json::Value::as_str) == Some("aws:sqs"))
    {
        return None;
    }
    records
        .iter()
        .map(|r| {
            let id = r.get("messageId")?.as_str()?.to_string();
            Some(Message {
                receipt: id.clone(),
                id,
                body: r
                    .get("body")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                sent_ms: r
                    .pointer("/attributes/SentTimestamp")
                    .and_then(serde_json::Value::as_str)
                    .and_then(|t| t.parse().ok()),
            })
        })
        .collect()
}

/// At most this many changes are listed in a [`Notification`] (SNS takes 256 KB).
pub const NOTIFY_MAX_CHANGES: usize = 50;

/// What `watch --notify-topic` publishes per planned batch: counts and the changes, never a
/// secret (a plan holds none) and never a document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Notification {
    /// The batch's name (its plan file's stem).
    pub batch: String,
    /// The plan file.
    pub plan: String,
    /// The account.
    pub account: String,
    /// Events planned.
    pub events: usize,
    /// Findings, and per severity.
    pub findings: usize,
    /// Findings per severity (`critical`, `high`, ...).
    pub by_severity: std::collections::BTreeMap<String, usize>,
    /// Actions planned.
    pub actions: usize,
    /// `planned`, `reported`, `clean`, or what apply did.
    pub outcome: String,
    /// The first [`NOTIFY_MAX_CHANGES`] actions: id, step, resource and the rules behind it.
    pub changes: Vec<NotifiedChange>,
    /// Actions not listed.
    pub more_changes: usize,
}

/// One change in a [`Notification`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NotifiedChange {
    /// The action id.
    pub id: String,
    /// The step.
    pub step: String,
    /// The resource's name.
    pub resource: String,
    /// The rules that led to it.
    pub rules: Vec<String>,
    /// The eventIDs that led to it.
    pub triggered_by: Vec<String>,
}

/// The notification of a planned batch.
pub fn notification(batch: &str, plan_file: &str, plan: &Plan, outcome: &str) -> Notification {
    let mut by_severity = std::collections::BTreeMap::new();
    for f in &plan.findings {
        *by_severity
            .entry(f.severity.as_str().to_string())
            .or_insert(0) += 1;
    }
    let events: HashSet<&str> = plan
        .actions
        .iter()
        .flat_map(|a| a.triggered_by.iter().map(String::as_str))
        .collect();
    Notification {
        batch: batch.to_string(),
        plan: plan_file.to_string(),
        account: plan.account_id.clone(),
        events: events.len(),
        findings: plan.findings.len(),
        by_severity,
        actions: plan.actions.len(),
        outcome: outcome.to_string(),
        changes: plan
            .actions
            .iter()
            .take(NOTIFY_MAX_CHANGES)
            .map(|a| NotifiedChange {
                id: a.id.clone(),
                step: a.step().as_str().to_string(),
                resource: a.resource.name.clone(),
                rules: a.rules.clone(),
                triggered_by: a.triggered_by.clone(),
            })
            .collect(),
        more_changes: plan.actions.len().saturating_sub(NOTIFY_MAX_CHANGES),
    }
}

/// One structured log line: what one event led to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EventLine {
    /// `eventID`.
    pub id: String,
    /// `eventName`.
    pub name: String,
    /// Resources judged.
    pub resources: usize,
    /// Findings on the resources it touched or with an action it triggered.
    pub findings: usize,
    /// Actions it triggered.
    pub actions: usize,
    /// `planned` (actions), `reported` (findings only), `clean`, `skipped: WHY`; the CLI sets `applied` / `apply failed` after apply.
    pub outcome: String,
    /// From receiving the batch to its plan on disk (or its journal, with apply).
    pub latency_ms: u64,
    /// From the queue receiving the event's message (its `SentTimestamp`) to the same point:
    /// the whole delay a deployment sees, queue wait included; absent when the source gave no
    /// time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_ms: Option<u64>,
}

/// The log lines of a planned batch (latency left 0 for the caller to set).
pub fn event_lines(plan: &Plan, reports: &[EventReport]) -> Vec<EventLine> {
    let mut actions_of: HashMap<&str, HashSet<&str>> = HashMap::new();
    for a in &plan.actions {
        for e in &a.triggered_by {
            actions_of
                .entry(e.as_str())
                .or_default()
                .insert(a.id.as_str());
        }
    }
    reports
        .iter()
        .map(|r| {
            let mine = actions_of.get(r.id.as_str());
            let actions = mine.map_or(0, HashSet::len);
            let findings = plan
                .findings
                .iter()
                .filter(|f| {
                    mine.is_some_and(|m| f.actions.iter().any(|a| m.contains(a.as_str())))
                        || r.touched
                            .iter()
                            .any(|(k, id)| *k == f.resource.kind && *id == f.resource.id)
                })
                .count();
            let outcome = match &r.skipped {
                Some(why) => format!("skipped: {why}"),
                None if actions > 0 => "planned".to_string(),
                None if findings > 0 => "reported".to_string(),
                None => "clean".to_string(),
            };
            EventLine {
                id: r.id.clone(),
                name: r.name.clone(),
                resources: r.touched.len(),
                findings,
                actions,
                outcome,
                latency_ms: 0,
                queue_ms: None,
            }
        })
        .collect()
}

/// Sets each line's `latency_ms` (the batch's, receive to durable) and `queue_ms` (from its
/// message's `SentTimestamp` to `now_ms`), and folds both into `metrics`' maxima.
pub fn stamp(
    lines: &mut [EventLine],
    sorted: &Sorted,
    latency_ms: u64,
    now_ms: i64,
    metrics: &mut Metrics,
) {
    metrics.max_latency_ms = metrics.max_latency_ms.max(latency_ms);
    for l in lines {
        l.latency_ms = latency_ms;
        l.queue_ms = sorted
            .sent_ms
            .get(&l.id)
            .map(|sent| u64::try_from(now_ms.saturating_sub(*sent)).unwrap_or(0));
        if let Some(q) = l.queue_ms {
            metrics.max_queue_ms = metrics.max_queue_ms.max(q);
        }
    }
}

/// What a watch run did, printed on exit.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Metrics {
    /// Non-empty batches received.
    pub batches: usize,
    /// Messages received.
    pub messages: usize,
    /// Events planned.
    pub events: usize,
    /// Events not planned again (already seen).
    pub duplicates: usize,
    /// Messages left on the queue (not readable as events).
    pub malformed: usize,
    /// Records read but not acted on.
    pub skipped_records: usize,
    /// Findings across the batches' plans.
    pub findings: usize,
    /// Actions across the batches' plans.
    pub actions: usize,
    /// Actions applied (with `--apply`): their calls made and accepted.
    pub applied: usize,
    /// Actions apply found already in the planned state (nothing called).
    pub already_applied: usize,
    /// Batches whose apply did not end cleanly.
    pub apply_failures: usize,
    /// Messages deleted from the queue.
    pub deleted: usize,
    /// Slowest batch, receive to durable (ms).
    pub max_latency_ms: u64,
    /// Slowest event, queue receipt (`SentTimestamp`) to durable (ms).
    pub max_queue_ms: u64,
    /// Batch summaries published (`--notify-topic`).
    pub notified: usize,
    /// Batch summaries that could not be published.
    pub notify_failures: usize,
}

impl Metrics {
    /// Counts a sorted batch.
    pub fn count(&mut self, messages: usize, s: &Sorted) {
        self.batches += 1;
        self.messages += messages;
        self.events += s.events.len();
        self.duplicates += s.duplicates.len();
        self.malformed += s.malformed.len();
        self.skipped_records += s.skipped.len();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn envelope(id: &str, name: &str) -> String {
        serde_json::json!({
            "version": "0",
            "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.iam",
            "account": "123456789012",
            "detail": {
                "eventTime": "2026-11-20T10:15:30Z",
                "eventSource": "iam.amazonaws.com",
                "eventName": "CreatePolicy",
                "requestParameters": {"policyName": name, "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"},
                "responseElements": {"policy": {"policyName": name, "arn": format!("arn:aws:iam::123456789012:policy/{name}"), "defaultVersionId": "v1", "createDate": "Nov 20, 2026 10:15:30 AM"}},
                "eventID": id,
                "recipientAccountId": "123456789012"
            }
        })
        .to_string()
    }

    fn msg(n: usize, body: String) -> Message {
        Message {
            id: format!("m{n}"),
            receipt: format!("r{n}"),
            body,
            sent_ms: Some(1_000 + n as i64),
        }
    }

    #[test]
    fn an_sns_delivered_envelope_is_read_like_a_direct_one() {
        let inner = envelope("e9", "p9");
        let sns = serde_json::json!({
            "Type": "Notification",
            "MessageId": "x",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:iam-events",
            "Message": inner,
        })
        .to_string();
        let s = sort_batch(&[msg(1, sns)], &Seen::new(10));
        assert_eq!(s.events.len(), 1, "{:?}", s.malformed);
        assert_eq!(s.events[0].id, "e9");
        // Anything else is left as it is.
        assert_eq!(
            unwrap_sns(r#"{"Type":"Notification"}"#),
            r#"{"Type":"Notification"}"#
        );
        assert_eq!(unwrap_sns(&inner), inner);
    }

    #[test]
    fn lines_count_queue_time_from_the_message_s_sent_timestamp() {
        let s = sort_batch(
            &[msg(1, envelope("e1", "p1")), msg(2, envelope("e2", "p2"))],
            &Seen::new(10),
        );
        let mut lines: Vec<EventLine> = ["e1", "e2", "e3"]
            .iter()
            .map(|id| EventLine {
                id: id.to_string(),
                name: "CreatePolicy".into(),
                resources: 1,
                findings: 0,
                actions: 0,
                outcome: "clean".into(),
                latency_ms: 0,
                queue_ms: None,
            })
            .collect();
        let mut m = Metrics::default();
        stamp(&mut lines, &s, 40, 1_500, &mut m);
        let got: Vec<_> = lines.iter().map(|l| (l.latency_ms, l.queue_ms)).collect();
        // msg(n) was sent at 1000 + n; e3 came in no message of this batch.
        assert_eq!(got, [(40, Some(499)), (40, Some(498)), (40, None)]);
        assert_eq!((m.max_latency_ms, m.max_queue_ms), (40, 499));
        // A clock behind the queue's never makes a negative delay.
        stamp(&mut lines, &s, 1, 0, &mut m);
        assert_eq!(lines[0].queue_ms, Some(0));
    }

    #[test]
    fn an_sqs_lambda_payload_is_its_messages_and_nothing_else_is() {
        let payload = serde_json::json!({"Records": [
            {"eventSource": "aws:sqs", "messageId": "m1", "body": envelope("e1", "p1"),
             "attributes": {"SentTimestamp": "1764670000123"}},
            {"eventSource": "aws:sqs", "messageId": "m2", "body": "{bad"},
        ]});
        let msgs = sqs_event_messages(&payload).unwrap();
        assert_eq!(msgs.len(), 2);
        assert_eq!(
            (msgs[1].id.as_str(), msgs[1].receipt.as_str()),
            ("m2", "m2")
        );
        assert_eq!(
            (msgs[0].sent_ms, msgs[1].sent_ms),
            (Some(1_764_670_000_123), None)
        );
        let s = sort_batch(&msgs, &Seen::new(10));
        assert_eq!(s.events.len(), 1);
        assert_eq!(s.malformed[0].message_id, "m2");
        assert_eq!(s.sent_ms.get("e1"), Some(&1_764_670_000_123));
        // A CloudTrail log file also has Records, and is not an SQS payload.
        let trail = serde_json::json!({"Records": [{"eventSource": "iam.amazonaws.com"}]});
        assert!(sqs_event_messages(&trail).is_none());
        assert!(sqs_event_messages(&serde_json::json!({"detail": {}})).is_none());
    }

    #[test]
    fn a_batch_sorts_into_new_duplicate_and_malformed() {
        let mut seen = Seen::new(10);
        seen.insert("old");
        let msgs = vec![
            msg(1, envelope("e1", "p1")),
            msg(2, envelope("e1", "p1")),
            msg(3, "{not json".to_string()),
            msg(4, envelope("old", "p0")),
            msg(5, r#"{"hello": "world"}"#.to_string()),
            msg(6, envelope("e2", "p2")),
        ];
        let s = sort_batch(&msgs, &seen);
        let ids: Vec<_> = s.events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["e1", "e2"]);
        assert_eq!(s.duplicates, ["e1", "old"]);
        let bad: Vec<_> = s.malformed.iter().map(|m| m.message_id.as_str()).collect();
        assert_eq!(bad, ["m3", "m5"]);
        assert!(
            s.malformed[0].reason.contains("not JSON"),
            "{:?}",
            s.malformed
        );
        assert!(s.malformed[1].reason.contains("no CloudTrail record"));
        // Malformed messages stay on the queue; duplicates are deleted.
        assert_eq!(s.delete, ["r1", "r2", "r4", "r6"]);
    }

    #[test]
    fn a_failed_call_is_read_skipped_and_deleted() {
        let body = envelope("e9", "p9")
            .replace("\"eventID\"", "\"errorCode\":\"AccessDenied\",\"eventID\"");
        let s = sort_batch(&[msg(1, body)], &Seen::new(4));
        assert!(s.events.is_empty());
        assert_eq!(s.skipped.len(), 1);
        assert_eq!(s.delete, ["r1"]);
    }

    #[test]
    fn seen_is_bounded_and_forgets_the_oldest() {
        let mut s = Seen::new(3);
        for id in ["a", "b", "c", "a", "d"] {
            s.insert(id);
        }
        assert_eq!(s.len(), 3);
        assert!(!s.contains("a"));
        assert!(s.contains("b") && s.contains("c") && s.contains("d"));
    }

    #[test]
    fn seen_round_trips_through_the_state_file_and_shrinks_to_the_capacity() {
        let mut s = Seen::new(5);
        for id in ["a", "b", "c", "d"] {
            s.insert(id);
        }
        let text = s.to_json();
        assert_eq!(Seen::from_json(&text, 5).unwrap(), s);
        let small = Seen::from_json(&text, 2).unwrap();
        assert!(small.contains("c") && small.contains("d") && !small.contains("b"));
        assert!(matches!(
            Seen::from_json("{}", 5),
            Err(WatchError::State(_))
        ));
        let newer = text.replace("\"format_version\":1", "\"format_version\":9");
        assert!(matches!(
            Seen::from_json(&newer, 5),
            Err(WatchError::Version(9))
        ));
    }

    #[test]
    fn metrics_count_a_batch() {
        let s = sort_batch(
            &[msg(1, envelope("e1", "p1")), msg(2, "x".to_string())],
            &Seen::new(4),
        );
        let mut m = Metrics::default();
        m.count(2, &s);
        assert_eq!((m.batches, m.messages, m.events, m.malformed), (1, 2, 1, 1));
    }
}
