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

use super::{Outcome, Summary, UndoOp};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Whether a run applied a plan or undid one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// `iamwarden apply`.
    Apply,
    /// `iamwarden undo`.
    Undo,
}

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

/// An open journal: appends are serialized, flushed and fsynced one record at a time.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
}

impl Journal {
    /// Opens (creating or appending to) a journal.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        let io = |source| JournalError::Io {
            path: path.to_path_buf(),
            source,
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
            file: Mutex::new(file),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record and waits until it is on disk.
    pub fn append(&self, record: &Record) -> Result<(), JournalError> {
        let io = |source| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        let mut line = serde_json::to_vec(record).map_err(|e| io(std::io::Error::other(e)))?;
        line.push(b'\n');
        let mut f = self
            .file
            .lock()
            .map_err(|_| io(std::io::Error::other("journal lock poisoned")))?;
        f.write_all(&line).map_err(io)?;
        f.flush().map_err(io)?;
        f.sync_data().map_err(io)
    }
}

/// Reads every record of a journal. A last line cut short by a crash is ignored (it was
/// never fsynced as a whole record, so the call it announced was never sent).
pub fn read(path: &Path) -> Result<Vec<Record>, JournalError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(JournalError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let lines: Vec<String> = BufReader::new(file)
        .lines()
        .collect::<Result<_, _>>()
        .map_err(|source| JournalError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    let last = lines.len();
    let mut out = Vec::with_capacity(last);
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(line) {
            Ok(r) => out.push(r),
            Err(_) if i + 1 == last => break,
            Err(e) => {
                return Err(JournalError::Parse {
                    path: path.to_path_buf(),
                    line: i + 1,
                    message: e.to_string(),
                })
            }
        }
    }
    Ok(out)
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

    #[test]
    fn records_round_trip_and_a_torn_last_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let j = Journal::open(&path).unwrap();
        j.append(&run("sha256:a")).unwrap();
        j.append(&done("act-1", Outcome::Applied)).unwrap();
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"record\":\"done\",\"act").unwrap();
        let records = read(&path).unwrap();
        assert_eq!(records.len(), 2);
        assert!(matches!(&records[1], Record::Done { action, .. } if action == "act-1"));
        let h = history(&path, &records, Some("sha256:a")).unwrap();
        assert_eq!(h.done["act-1"].outcome, Outcome::Applied);
    }

    #[test]
    fn a_corrupt_line_in_the_middle_is_an_error_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        std::fs::write(
            &path,
            format!(
                "{}\nnot json\n{}\n",
                serde_json::to_string(&run("sha256:a")).unwrap(),
                serde_json::to_string(&done("act-1", Outcome::Applied)).unwrap()
            ),
        )
        .unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("j.jsonl:2"), "{err}");
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
