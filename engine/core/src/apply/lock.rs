//! One run per journal: apply, `event --apply`, `watch --apply`, undo, and `org apply`/`org undo`
//! (for each account's journal) hold an exclusive OS lock on a sidecar file (`JOURNAL.lock`,
//! beside the journal) from before they read the journal until they are done, so two runs of one
//! plan cannot both act and interleave their records. A second run fails fast with who holds the lock ([`LockError::Held`]).
//!
//! The lock is the operating system's (`File::try_lock`): it goes with the process, so a killed
//! apply never leaves a stale lock behind. The sidecar's content (`{pid, host, command,
//! started_at}`) is only there to name the holder; a leftover file with nobody holding its
//! lock is simply taken over. The file is never deleted (removing a lock file while another
//! process waits on it would let two runs lock two different files).
//!
//! There is no account-wide lock: IAM has nothing to lock with that does not itself change the
//! account. Two applies of *different* plans on one account are kept apart only by apply's
//! per-action check (a target changed since its plan was made is skipped as stale).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Who holds a journal's lock, as its sidecar says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// The process id.
    pub pid: u32,
    /// The machine.
    pub host: String,
    /// What it runs (`iamwarden apply`, `iamwarden undo`, ...).
    pub command: String,
    /// Since when.
    pub started_at: DateTime<Utc>,
}

impl Holder {
    /// This process, running `command`, now.
    pub fn here(command: &str) -> Holder {
        Holder {
            pid: std::process::id(),
            host: hostname(),
            command: command.to_string(),
            started_at: Utc::now(),
        }
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} on host {} ({}, since {})",
            self.pid,
            self.host,
            self.command,
            self.started_at.to_rfc3339_opts(SecondsFormat::Secs, true)
        )
    }
}

/// The machine's name, for the sidecar (best effort: `unknown` when it cannot be read).
fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| {
            std::fs::read_to_string(p)
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        })
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".to_string())
}

/// The journal could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another run holds it.
    #[error(
        "journal {journal} is locked by {holder}: another run of this plan is under way. Wait \
         for it to finish (the lock goes with its process)"
    )]
    Held {
        /// The journal.
        journal: String,
        /// Who holds it, as its sidecar says (or why that is not known).
        holder: HolderText,
    },
    /// The sidecar could not be opened or locked.
    #[error("journal lock {path}: {source}")]
    Io {
        /// The sidecar.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// The holder as the sidecar names it, or a note when the sidecar says nothing readable (the
/// holder may have locked it a moment ago and not written it yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HolderText {
    /// Read from the sidecar.
    Known(Holder),
    /// Not readable.
    Unknown,
}

impl std::fmt::Display for HolderText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HolderText::Known(h) => h.fmt(f),
            HolderText::Unknown => {
                f.write_str("another process (its lock file names no holder yet)")
            }
        }
    }
}

/// The sidecar of a journal: `plan.json.journal.jsonl` -> `plan.json.journal.jsonl.lock`.
pub fn sidecar(journal: &Path) -> PathBuf {
    let mut name = journal.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    journal.with_file_name(name)
}

/// How long a refused run waits for a locked sidecar's holder to write its name (it locks first
/// and writes a moment later).
const NAME_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// A held journal lock; dropping it releases the lock (and clears the sidecar's holder).
#[derive(Debug)]
pub struct JournalLock {
    file: File,
    path: PathBuf,
}

impl JournalLock {
    /// Takes the lock of `journal` for `holder`, or fails at once naming who holds it.
    pub fn acquire(journal: &Path, holder: &Holder) -> Result<JournalLock, LockError> {
        let path = sidecar(journal);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        // A holder locks its sidecar and then writes its name, and clears the name before it
        // unlocks: a sidecar that is locked but empty is a holder in one of those two moments.
        // Look again for a short while, so the refusal names the holder (or the lock is had
        // once the leaving holder lets go) rather than saying nobody is known.
        let deadline = std::time::Instant::now() + NAME_WAIT;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    let mut text = String::new();
                    let _ = file.seek(SeekFrom::Start(0));
                    let _ = file.read_to_string(&mut text);
                    let known = serde_json::from_str::<Holder>(text.trim()).ok();
                    if known.is_some() || std::time::Instant::now() >= deadline {
                        return Err(LockError::Held {
                            journal: journal.display().to_string(),
                            holder: known.map_or(HolderText::Unknown, HolderText::Known),
                        });
                    }
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        let body = serde_json::to_string(holder).map_err(|e| io(std::io::Error::other(e)))?;
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(format!("{body}\n").as_bytes()).map_err(io)?;
        file.sync_data().map_err(io)?;
        Ok(JournalLock { file, path })
    }

    /// The sidecar.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for JournalLock {
    fn drop(&mut self) {
        // Clear the holder before the lock goes (the OS releases it when the file closes).
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn a_second_lock_of_one_journal_is_refused_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("plan.json.journal.jsonl");
        let first = JournalLock::acquire(&journal, &Holder::here("iamwarden apply")).unwrap();
        assert_eq!(
            first.path(),
            dir.path().join("plan.json.journal.jsonl.lock")
        );
        let err = JournalLock::acquire(&journal, &Holder::here("iamwarden undo")).unwrap_err();
        let msg = err.to_string();
        let pid = std::process::id();
        assert!(
            msg.contains(&format!(
                "plan.json.journal.jsonl is locked by pid {pid} on host "
            )),
            "{msg}"
        );
        assert!(msg.contains("(iamwarden apply, since "), "{msg}");
        assert!(matches!(
            err,
            LockError::Held {
                holder: HolderText::Known(_),
                ..
            }
        ));
        // Released with the guard: the next run takes it (and the old holder is gone).
        drop(first);
        assert_eq!(
            std::fs::read_to_string(sidecar(&journal)).unwrap(),
            "",
            "the sidecar keeps no holder once released"
        );
        let again = JournalLock::acquire(&journal, &Holder::here("iamwarden undo")).unwrap();
        let held: Holder =
            serde_json::from_str(std::fs::read_to_string(again.path()).unwrap().trim()).unwrap();
        assert_eq!(held.command, "iamwarden undo");
        assert_eq!(held.pid, pid);
    }

    #[test]
    fn a_leftover_sidecar_without_a_holder_process_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("j.jsonl");
        // As a killed apply leaves it: content, but no OS lock.
        let stale = Holder {
            pid: 999_999,
            host: "gone".into(),
            command: "iamwarden apply".into(),
            started_at: Utc::now(),
        };
        std::fs::write(sidecar(&journal), serde_json::to_string(&stale).unwrap()).unwrap();
        let lock = JournalLock::acquire(&journal, &Holder::here("iamwarden apply")).unwrap();
        let held: Holder =
            serde_json::from_str(std::fs::read_to_string(lock.path()).unwrap().trim()).unwrap();
        assert_eq!(held.pid, std::process::id());
    }

    #[test]
    fn an_unreadable_sidecar_still_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("j.jsonl");
        let path = sidecar(&journal);
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        f.lock().unwrap();
        let err = JournalLock::acquire(&journal, &Holder::here("iamwarden apply")).unwrap_err();
        assert!(
            err.to_string()
                .contains("locked by another process (its lock file names no holder yet)"),
            "{err}"
        );
    }

    #[test]
    fn a_holder_that_writes_its_name_a_moment_after_locking_is_named() {
        // The race CI once lost: the second run read the sidecar between the first run's lock
        // and its write, and said nobody was known.
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("j.jsonl");
        let path = sidecar(&journal);
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        f.lock().unwrap();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(60));
            let me = serde_json::to_string(&Holder::here("iamwarden apply")).unwrap();
            f.write_all(format!("{me}\n").as_bytes()).unwrap();
            f.sync_data().unwrap();
            f
        });
        let err = JournalLock::acquire(&journal, &Holder::here("iamwarden undo")).unwrap_err();
        let _f = writer.join().unwrap();
        assert!(
            matches!(
                err,
                LockError::Held {
                    holder: HolderText::Known(ref h),
                    ..
                } if h.command == "iamwarden apply"
            ),
            "{err}"
        );
    }
}
