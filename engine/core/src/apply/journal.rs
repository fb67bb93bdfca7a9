//! The apply journal: one JSON object per line, written and fsynced before and after every
//! call that changes AWS, so that after any crash (even `kill -9`) the journal tells exactly
//! which calls may have reached AWS and which certainly did.
//!
//! A journal belongs to one plan (its content hash is in every `run` record). Records:
//! - `run`: a run of apply or undo started (plan hash, account, caller, version).
//! - `begin`: an action passed its precondition check; carries the state read just before.
//! - `call`: intent, written before a mutating API call (never with secrets).
//! - `result`: what that call returned.
//! - `done`: the action's outcome, with what undo needs (or why it cannot be undone).
//! - `end`: the run's summary.
//!
//! A `call` without a `result` is a call that may or may not have reached AWS: the next run
//! re-reads the target and decides from its state, never by repeating the call blindly.
//!
//! Every line ends with `"seq":N,"chain":"sha256:..."`: its 1-based record number and a hash
//! chained over every record before it ([`chain_of`]), anchored on the plan's content hash. So
//! an edited, removed, inserted or reordered record is found with its line, and apply and undo
//! refuse such a journal. (The chain finds edits by hand and by tools that do not know it; it
//! is not a signature: someone who can write the file and recompute the chain can forge it.)
//! A last line cut short by a crash is ignored on read and cut off before the next append.

use super::{Outcome, Summary, UndoOp};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub use crate::plan::outcome::Mode;

/// One journal line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Record {
    /// A run started.
    Run {
        /// Apply or undo.
        mode: Mode,
        /// The plan's content hash.
        plan_sha256: String,
        /// The plan file as given.
        plan_file: String,
        /// The account.
        account_id: String,
        /// Who ran it (the caller's ARN).
        caller: String,
        /// The iamwarden version.
        iamwarden_version: String,
        /// `apply --only` / `--exclude`: which of the plan's actions this run was given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        selection: Option<super::select::SelectionRecord>,
        /// When.
        at: DateTime<Utc>,
    },
    /// An action passed its precondition check and is about to run.
    Begin {
        /// The action id.
        action: String,
        /// Apply or undo.
        mode: Mode,
        /// The step.
        step: String,
        /// The target, as the plan names it.
        resource: String,
        /// The state read just before acting.
        before: Value,
        /// When.
        at: DateTime<Utc>,
    },
    /// Intent: a mutating call is about to be sent.
    Call {
        /// The action id.
        action: String,
        /// Apply or undo.
        mode: Mode,
        /// The API operation, e.g. `UpdateAccessKey`.
        call: String,
        /// The request's parameters (no secrets: IAM apply never sends any).
        request: Value,
        /// When.
        at: DateTime<Utc>,
    },
    /// What a mutating call returned.
    Result {
        /// The action id.
        action: String,
        /// Apply or undo.
        mode: Mode,
        /// The API operation.
        call: String,
        /// Whether AWS accepted it.
        ok: bool,
        /// The error, when it failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// What the response said that matters later (e.g. the new policy version id).
        #[serde(default, skip_serializing_if = "Value::is_null")]
        response: Value,
        /// When.
        at: DateTime<Utc>,
    },
    /// An action's outcome.
    Done {
        /// The action id.
        action: String,
        /// Apply or undo.
        mode: Mode,
        /// What happened.
        outcome: Outcome,
        /// Why (for stale, failed, refused) or what (for applied).
        detail: String,
        /// The calls that reverse it (apply mode, applied actions).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        undo: Vec<UndoOp>,
        /// What cannot be reversed, when something cannot.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        irreversible: Option<String>,
        /// The cascade (a `delete_user` action) this action is a prerequisite of.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        part_of: Option<String>,
        /// When.
        at: DateTime<Utc>,
    },
    /// A run ended.
    End {
        /// Apply or undo.
        mode: Mode,
        /// Its counts.
        summary: Summary,
        /// When.
        at: DateTime<Utc>,
    },
}

/// The journal format this build writes: every line carries `seq` and `chain` (see
/// [`chain_of`]). Journals without them (format 1, before chaining) are refused.
pub const JOURNAL_FORMAT: &str = "iamwarden-journal/2";

impl From<JournalError> for crate::iam::StepError {
    fn from(e: JournalError) -> crate::iam::StepError {
        crate::iam::StepError::Journal(Box::new(e))
    }
}

impl JournalError {
    /// The journal error a step carried back in [`crate::iam::StepError::Journal`]. Only a
    /// [`JournalError`] is ever put there; anything else is reported as an I/O error of `path`.
    pub fn from_step(
        e: Box<dyn std::error::Error + Send + Sync + 'static>,
        path: &Path,
    ) -> JournalError {
        match e.downcast::<JournalError>() {
            Ok(j) => *j,
            Err(other) => JournalError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::other(other.to_string()),
            },
        }
    }
}

/// A journal file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Opening, writing or syncing failed.
    #[error("journal {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A line is not a journal record.
    #[error("journal {path}:{line}: not a journal record: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What serde said.
        message: String,
    },
    /// The hash chain does not hold: a record was edited, removed or inserted.
    #[error(
        "journal {path}:{line}: {message}. The journal was edited or cut after it was written; \
         refusing to apply or undo from it (restore the original file, or start over with a new \
         --journal after checking the account by hand)"
    )]
    Tampered {
        /// The file.
        path: PathBuf,
        /// 1-based line where the chain breaks.
        line: usize,
        /// What does not hold.
        message: String,
    },
    /// A journal written before records were chained (format 1).
    #[error(
        "journal {path}:{line}: this record has no hash chain (`seq`, `chain`): the journal was \
         written before journals were chained (format iamwarden-journal/1), and this iamwarden \
         ({}) reads only {JOURNAL_FORMAT} journals. Finish or undo it with the build that wrote it",
        env!("CARGO_PKG_VERSION")
    )]
    Unchained {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
    },
    /// The first record of a new journal must be a `run` (the chain is anchored on its plan hash).
    #[error("journal {path}: the first record must be a `run` record (it anchors the hash chain)")]
    NotAnchored {
        /// The file.
        path: PathBuf,
    },
    /// The journal belongs to another plan.
    #[error(
        "journal {path} belongs to another plan ({found}; this plan is {expected}); \
         pass a new --journal file for this plan"
    )]
    OtherPlan {
        /// The file.
        path: PathBuf,
        /// The hash in the journal.
        found: String,
        /// The plan's hash.
        expected: String,
    },
}

/// A torn last line that [`Journal::open`] cut off before appending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// Its 1-based line.
    pub line: usize,
    /// How many bytes were cut.
    pub bytes: usize,
}

impl std::fmt::Display for TornTail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {} was a torn record ({} bytes, written when a run was stopped mid-write; the \
             call it announced was never sent): cut it off before appending",
            self.line, self.bytes
        )
    }
}

/// Where the chain stands: the next record's number and the previous record's chain value
/// (`None` before the first record, whose anchor is its own plan hash).
#[derive(Debug, Default)]
struct Head {
    seq: u64,
    chain: Option<String>,
}

/// An open journal: appends are serialized, flushed and fsynced one record at a time.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Mutex<(File, Head)>,
    torn: Option<TornTail>,
}

/// `sha256:<hex>` of `prev`, a newline and the record's bytes: the value line N stores in
/// `chain`. `prev` is line N-1's `chain`, and for the first line the plan's content hash (so a
/// journal cannot be moved under another plan, nor a record moved between journals).
pub fn chain_of(prev: &str, record: &[u8]) -> String {
    crate::digest::sha256_tagged_parts(&[prev.as_bytes(), b"\n", record])
}

/// The suffix every line ends with: `,"seq":N,"chain":"sha256:..."}`.
const SEQ_KEY: &[u8] = b",\"seq\":";

/// One line's parts: the record's own bytes (as serialized, with its closing brace), its
/// number and its chain value. `None` when the line has no chain suffix.
fn split_line(line: &[u8]) -> Option<(Vec<u8>, u64, &str)> {
    let at = line.windows(SEQ_KEY.len()).rposition(|w| w == SEQ_KEY)?;
    let (body, tail) = line.split_at(at);
    let tail = std::str::from_utf8(tail.get(SEQ_KEY.len()..)?).ok()?;
    let (seq, rest) = tail.split_once(",\"chain\":\"")?;
    let chain = rest.strip_suffix("\"}")?;
    let seq = seq.parse().ok()?;
    let mut record = body.to_vec();
    record.push(b'}');
    Some((record, seq, chain))
}

fn anchor_of(record: &Record) -> Option<&str> {
    match record {
        Record::Run { plan_sha256, .. } => Some(plan_sha256.as_str()),
        _ => None,
    }
}

/// A journal's lines, checked: the records, where the chain stands, and a torn tail if any.
struct Scan {
    records: Vec<Record>,
    head: Head,
    /// Byte length of the complete, checked records.
    good_len: u64,
    torn: Option<TornTail>,
}

/// Reads and checks every line. Only the last line may be torn (no newline, or not a record):
/// it was never fsynced whole, so the call it announced was never sent.
fn scan(path: &Path, bytes: &[u8]) -> Result<Scan, JournalError> {
    let mut records = Vec::new();
    let mut head = Head::default();
    let mut offset = 0usize;
    let mut line_no = 0usize;
    let mut torn = None;
    while offset < bytes.len() {
        line_no += 1;
        let rest = bytes.get(offset..).unwrap_or_default();
        let (line, complete) = match rest.iter().position(|b| *b == b'\n') {
            Some(n) => (rest.get(..n).unwrap_or_default(), true),
            None => (rest, false),
        };
        let is_last = offset + line.len() + usize::from(complete) >= bytes.len();
        let torn_here = TornTail {
            line: line_no,
            bytes: rest.len(),
        };
        // A line without its newline is always the last one, and always torn.
        if !complete {
            torn = Some(torn_here);
            break;
        }
        let record = match serde_json::from_slice::<Record>(line) {
            Ok(r) => r,
            Err(_) if is_last => {
                torn = Some(torn_here);
                break;
            }
            Err(e) => {
                return Err(JournalError::Parse {
                    path: path.to_path_buf(),
                    line: line_no,
                    message: e.to_string(),
                })
            }
        };
        let tampered = |message: String| JournalError::Tampered {
            path: path.to_path_buf(),
            line: line_no,
            message,
        };
        let Some((body, seq, chain)) = split_line(line) else {
            return Err(JournalError::Unchained {
                path: path.to_path_buf(),
                line: line_no,
            });
        };
        let expected_seq = head.seq + 1;
        if seq != expected_seq {
            return Err(tampered(if seq > expected_seq {
                format!(
                    "this is record {seq}, but record(s) {expected_seq}..{} before it are missing",
                    seq - 1
                )
            } else {
                format!("this is record {seq} again (expected record {expected_seq})")
            }));
        }
        let prev = match &head.chain {
            Some(c) => c.clone(),
            None => anchor_of(&record)
                .ok_or_else(|| tampered("the first record is not a `run` record".into()))?
                .to_string(),
        };
        if chain_of(&prev, &body) != chain {
            return Err(tampered(format!(
                "record {seq} does not match its chain hash (it, or the record before it, was changed)"
            )));
        }
        head = Head {
            seq,
            chain: Some(chain.to_string()),
        };
        records.push(record);
        offset += line.len() + 1;
    }
    Ok(Scan {
        records,
        head,
        good_len: offset as u64,
        torn,
    })
}

fn read_bytes(path: &Path) -> Result<Option<Vec<u8>>, JournalError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(JournalError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

impl Journal {
    /// Opens (creating or appending to) a journal. An existing journal's chain is checked
    /// (an edited or cut journal is refused), and a torn last line is cut off first, so the
    /// next record starts on a line of its own ([`Journal::torn_tail`] says so).
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        let io = |source| JournalError::Io {
            path: path.to_path_buf(),
            source,
        };
        let (head, torn) = match read_bytes(path)? {
            Some(bytes) => {
                let s = scan(path, &bytes)?;
                if s.torn.is_some() {
                    let f = OpenOptions::new().write(true).open(path).map_err(io)?;
                    f.set_len(s.good_len).map_err(io)?;
                    f.sync_all().map_err(io)?;
                }
                (s.head, s.torn)
            }
            None => (Head::default(), None),
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        // A new file's directory entry must survive a crash too.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(Journal {
            path: path.to_path_buf(),
            file: Mutex::new((file, head)),
            torn,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The torn last line [`Journal::open`] cut off, if there was one.
    pub fn torn_tail(&self) -> Option<&TornTail> {
        self.torn.as_ref()
    }

    /// Appends one record, chained to the previous one, and waits until it is on disk.
    pub fn append(&self, record: &Record) -> Result<(), JournalError> {
        let io = |source| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        let body = serde_json::to_vec(record).map_err(|e| io(std::io::Error::other(e)))?;
        let mut guard = self
            .file
            .lock()
            .map_err(|_| io(std::io::Error::other("journal lock poisoned")))?;
        let (f, head) = &mut *guard;
        let prev = match &head.chain {
            Some(c) => c.clone(),
            None => anchor_of(record)
                .ok_or_else(|| JournalError::NotAnchored {
                    path: self.path.clone(),
                })?
                .to_string(),
        };
        let seq = head.seq + 1;
        let chain = chain_of(&prev, &body);
        let mut line = body;
        line.pop(); // the record's closing brace; the suffix closes the line's object
        line.extend_from_slice(format!(",\"seq\":{seq},\"chain\":\"{chain}\"}}\n").as_bytes());
        f.write_all(&line).map_err(io)?;
        f.flush().map_err(io)?;
        f.sync_data().map_err(io)?;
        *head = Head {
            seq,
            chain: Some(chain),
        };
        Ok(())
    }
}

/// Reads every record of a journal, checking its hash chain: an edited, removed or inserted
/// record is an error naming its line. A last line cut short by a crash is ignored (it was
/// never fsynced as a whole record, so the call it announced was never sent).
pub fn read(path: &Path) -> Result<Vec<Record>, JournalError> {
    match read_bytes(path)? {
        Some(bytes) => Ok(scan(path, &bytes)?.records),
        None => Ok(Vec::new()),
    }
}

/// The torn last line of a journal, if it has one (what [`Journal::open`] will cut off).
pub fn torn_tail(path: &Path) -> Result<Option<TornTail>, JournalError> {
    match read_bytes(path)? {
        Some(bytes) => Ok(scan(path, &bytes)?.torn),
        None => Ok(None),
    }
}

/// What earlier runs recorded about each action.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// The last outcome of each action (apply mode), with its undo data.
    pub done: HashMap<String, DoneEntry>,
    /// Actions that began (apply mode) and never finished: their recorded before-state.
    pub interrupted: HashMap<String, Value>,
    /// Actions undone (undo mode), by outcome.
    pub undone: HashMap<String, Outcome>,
    /// Action ids in the order their apply finished.
    pub order: Vec<String>,
}

/// One finished action, as the journal has it.
#[derive(Debug, Clone)]
pub struct DoneEntry {
    /// The outcome.
    pub outcome: Outcome,
    /// The detail.
    pub detail: String,
    /// How to reverse it.
    pub undo: Vec<UndoOp>,
    /// What cannot be reversed.
    pub irreversible: Option<String>,
    /// The cascade it belongs to.
    pub part_of: Option<String>,
}

/// Summarizes a journal's records, checking they belong to the plan `plan_sha256` (when given).
pub fn history(
    path: &Path,
    records: &[Record],
    plan_sha256: Option<&str>,
) -> Result<History, JournalError> {
    let mut h = History::default();
    let mut begun: HashMap<String, Value> = HashMap::new();
    for r in records {
        match r {
            Record::Run {
                plan_sha256: found, ..
            } => {
                if let Some(expected) = plan_sha256 {
                    if found != expected {
                        return Err(JournalError::OtherPlan {
                            path: path.to_path_buf(),
                            found: found.clone(),
                            expected: expected.to_string(),
                        });
                    }
                }
            }
            Record::Begin {
                action,
                mode: Mode::Apply,
                before,
                ..
            } => {
                begun.insert(action.clone(), before.clone());
            }
            Record::Done {
                action,
                mode: Mode::Apply,
                outcome,
                detail,
                undo,
                irreversible,
                part_of,
                ..
            } => {
                begun.remove(action);
                h.order.retain(|a| a != action);
                h.order.push(action.clone());
                h.done.insert(
                    action.clone(),
                    DoneEntry {
                        outcome: *outcome,
                        detail: detail.clone(),
                        undo: undo.clone(),
                        irreversible: irreversible.clone(),
                        part_of: part_of.clone(),
                    },
                );
            }
            Record::Done {
                action,
                mode: Mode::Undo,
                outcome,
                ..
            } => {
                h.undone.insert(action.clone(), *outcome);
            }
            _ => {}
        }
    }
    h.interrupted = begun;
    Ok(h)
}

/// The plan hash a journal was written for, if it has any run.
pub fn plan_of(records: &[Record]) -> Option<&str> {
    records.iter().find_map(|r| match r {
        Record::Run { plan_sha256, .. } => Some(plan_sha256.as_str()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(hash: &str) -> Record {
        Record::Run {
            mode: Mode::Apply,
            plan_sha256: hash.into(),
            plan_file: "plan.json".into(),
            account_id: "123456789012".into(),
            caller: "arn:aws:iam::123456789012:user/ci".into(),
            iamwarden_version: "0".into(),
            selection: None,
            at: Utc::now(),
        }
    }

    fn done(action: &str, outcome: Outcome) -> Record {
        Record::Done {
            action: action.into(),
            mode: Mode::Apply,
            outcome,
            detail: String::new(),
            undo: Vec::new(),
            irreversible: None,
            part_of: None,
            at: Utc::now(),
        }
    }

    /// A journal of `n` done records after a run record, and its lines.
    fn journal_of(n: usize) -> (tempfile::TempDir, PathBuf, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let j = Journal::open(&path).unwrap();
        j.append(&run("sha256:a")).unwrap();
        for i in 0..n {
            j.append(&done(&format!("act-{i}"), Outcome::Applied))
                .unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines = text.lines().map(str::to_string).collect();
        (dir, path, lines)
    }

    fn write_lines(path: &Path, lines: &[String]) {
        std::fs::write(
            path,
            lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
        )
        .unwrap();
    }

    #[test]
    fn records_round_trip_and_every_line_is_chained() {
        let (_d, path, lines) = journal_of(2);
        assert_eq!(lines.len(), 3);
        for (i, l) in lines.iter().enumerate() {
            assert!(
                l.contains(&format!(",\"seq\":{},\"chain\":\"sha256:", i + 1)),
                "{l}"
            );
            assert!(l.starts_with("{\"record\":"), "{l}");
        }
        let records = read(&path).unwrap();
        assert_eq!(records.len(), 3);
        let h = history(&path, &records, Some("sha256:a")).unwrap();
        assert_eq!(h.done["act-1"].outcome, Outcome::Applied);
        // Re-opened, the chain continues where it stopped.
        Journal::open(&path)
            .unwrap()
            .append(&done("act-9", Outcome::Applied))
            .unwrap();
        assert_eq!(read(&path).unwrap().len(), 4);
    }

    #[test]
    fn the_chain_is_anchored_on_the_plan_hash() {
        let (_d, path, mut lines) = journal_of(1);
        // The same records under another plan hash: the first line's chain no longer holds.
        lines[0] = lines[0].replace("sha256:a", "sha256:b");
        write_lines(&path, &lines);
        let err = read(&path).unwrap_err().to_string();
        assert!(
            err.contains("j.jsonl:1:") && err.contains("edited or cut"),
            "{err}"
        );
        // A new journal must start with a run record.
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("new.jsonl");
        let err = Journal::open(&fresh)
            .unwrap()
            .append(&done("act-1", Outcome::Applied))
            .unwrap_err();
        assert!(matches!(err, JournalError::NotAnchored { .. }), "{err}");
    }

    #[test]
    fn a_torn_last_line_is_ignored_on_read_and_cut_on_open() {
        let (_d, path, _) = journal_of(1);
        let whole = std::fs::read(&path).unwrap();
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"record\":\"done\",\"act").unwrap();
        drop(f);
        assert_eq!(read(&path).unwrap().len(), 2);
        assert_eq!(
            torn_tail(&path).unwrap(),
            Some(TornTail { line: 3, bytes: 21 })
        );
        let j = Journal::open(&path).unwrap();
        assert_eq!(j.torn_tail().map(|t| t.line), Some(3));
        assert_eq!(
            std::fs::read(&path).unwrap(),
            whole,
            "cut back to the last record"
        );
        j.append(&done("act-2", Outcome::Applied)).unwrap();
        let records = read(&path).unwrap();
        assert_eq!(records.len(), 3);
        assert!(matches!(&records[2], Record::Done { action, .. } if action == "act-2"));
        assert!(torn_tail(&path).unwrap().is_none());
    }

    #[test]
    fn a_complete_record_without_its_newline_is_torn_too() {
        let (_d, path, lines) = journal_of(2);
        let text = format!("{}\n{}\n{}", lines[0], lines[1], lines[2]);
        std::fs::write(&path, text).unwrap();
        assert_eq!(read(&path).unwrap().len(), 2);
        let j = Journal::open(&path).unwrap();
        assert_eq!(j.torn_tail().map(|t| t.line), Some(3));
        j.append(&done("act-1", Outcome::Applied)).unwrap();
        assert_eq!(read(&path).unwrap().len(), 3);
    }

    #[test]
    fn an_edited_record_is_found_at_its_line() {
        let (_d, path, mut lines) = journal_of(3);
        lines[2] = lines[2].replace("\"applied\"", "\"failed\"");
        write_lines(&path, &lines);
        let err = read(&path).unwrap_err();
        assert!(
            matches!(err, JournalError::Tampered { line: 3, .. }),
            "{err}"
        );
        let text = err.to_string();
        assert!(
            text.contains("j.jsonl:3:") && text.contains("refusing"),
            "{text}"
        );
        // Opening for append refuses it too: nothing is chained onto an edited journal.
        assert!(matches!(
            Journal::open(&path).unwrap_err(),
            JournalError::Tampered { line: 3, .. }
        ));
    }

    #[test]
    fn an_edited_last_record_is_found() {
        let (_d, path, mut lines) = journal_of(2);
        let last = lines.len() - 1;
        lines[last] = lines[last].replace("act-1", "act-7");
        write_lines(&path, &lines);
        let err = read(&path).unwrap_err();
        assert!(
            matches!(err, JournalError::Tampered { line: 3, .. }),
            "{err}"
        );
    }

    #[test]
    fn an_edited_undo_op_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let j = Journal::open(&path).unwrap();
        j.append(&run("sha256:a")).unwrap();
        j.append(&Record::Done {
            action: "act-1".into(),
            mode: Mode::Apply,
            outcome: Outcome::Applied,
            detail: "done".into(),
            undo: vec![UndoOp::UpdateAccessKey {
                user: "alice".into(),
                access_key_id: "AKIAEXAMPLE".into(),
                status: "Active".into(),
            }],
            irreversible: None,
            part_of: None,
            at: Utc::now(),
        })
        .unwrap();
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("\"user\":\"alice\"", "\"user\":\"mallory\"");
        std::fs::write(&path, text).unwrap();
        let err = read(&path).unwrap_err();
        assert!(
            matches!(err, JournalError::Tampered { line: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn a_removed_record_is_found_at_the_line_after_it() {
        let (_d, path, mut lines) = journal_of(3);
        lines.remove(2);
        write_lines(&path, &lines);
        let err = read(&path).unwrap_err();
        assert!(
            matches!(err, JournalError::Tampered { line: 3, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("missing"), "{err}");
    }

    #[test]
    fn a_cut_journal_missing_its_middle_is_found() {
        let (_d, path, lines) = journal_of(5);
        let cut: Vec<String> = [&lines[..2], &lines[4..]].concat();
        write_lines(&path, &cut);
        let err = read(&path).unwrap_err();
        assert!(
            matches!(err, JournalError::Tampered { line: 3, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("record(s) 3..4"), "{err}");
    }

    #[test]
    fn a_duplicated_or_reordered_record_is_found() {
        let (_d, path, mut lines) = journal_of(3);
        lines.swap(2, 3);
        write_lines(&path, &lines);
        assert!(matches!(
            read(&path).unwrap_err(),
            JournalError::Tampered { line: 3, .. }
        ));
    }

    #[test]
    fn a_corrupt_line_in_the_middle_is_an_error_with_its_line() {
        let (_d, path, mut lines) = journal_of(2);
        lines.insert(1, "not json".into());
        write_lines(&path, &lines);
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("j.jsonl:2"), "{err}");
    }

    #[test]
    fn an_unchained_journal_of_the_old_format_is_refused_with_the_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.jsonl");
        std::fs::write(
            &path,
            format!(
                "{}\n{}\n",
                serde_json::to_string(&run("sha256:a")).unwrap(),
                serde_json::to_string(&done("act-1", Outcome::Applied)).unwrap()
            ),
        )
        .unwrap();
        let err = read(&path).unwrap_err();
        assert!(
            matches!(err, JournalError::Unchained { line: 1, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("iamwarden-journal/1"), "{err}");
    }

    #[test]
    fn a_journal_of_another_plan_is_refused() {
        let path = Path::new("j.jsonl");
        let err = history(path, &[run("sha256:a")], Some("sha256:b"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("belongs to another plan"), "{err}");
    }

    #[test]
    fn begun_but_not_done_is_interrupted() {
        let path = Path::new("j.jsonl");
        let begin = Record::Begin {
            action: "act-2".into(),
            mode: Mode::Apply,
            step: "deactivate_access_key".into(),
            resource: "k".into(),
            before: serde_json::json!({"status": "Active"}),
            at: Utc::now(),
        };
        let h = history(
            path,
            &[run("sha256:a"), done("act-1", Outcome::Applied), begin],
            None,
        )
        .unwrap();
        assert!(h.interrupted.contains_key("act-2"));
        assert!(!h.interrupted.contains_key("act-1"));
        assert_eq!(h.order, vec!["act-1".to_string()]);
    }
}
