//! What running a plan did: each action's outcome, the counts, and the report of an apply or
//! undo run. Apply produces these and render shows them, so they live here, below both
//! (`apply` re-exports them under their old names).

use crate::spec::StepName;
use serde::{Deserialize, Serialize};

/// Whether a run applied a plan or undid one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// `iamwarden apply`.
    Apply,
    /// `iamwarden undo`.
    Undo,
}

/// What happened to one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The calls were made and AWS accepted them.
    Applied,
    /// The target was already in the wanted state (or an earlier run applied it).
    AlreadyApplied,
    /// The target changed since the plan was made; nothing was done.
    Stale,
    /// A call failed.
    Failed,
    /// iamwarden refused to run it (self-lockout, AWS-managed policy).
    Refused,
}

impl Outcome {
    /// How the summary names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::AlreadyApplied => "already applied",
            Outcome::Stale => "skipped as stale",
            Outcome::Failed => "failed",
            Outcome::Refused => "refused",
        }
    }
}

/// Counts of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Actions applied by this run.
    pub applied: usize,
    /// Actions found already applied (by an earlier run or by someone else).
    pub already_applied: usize,
    /// Actions skipped because their target changed.
    pub stale: usize,
    /// Actions whose calls failed.
    pub failed: usize,
    /// Actions refused by a guard.
    pub refused: usize,
}

impl Summary {
    /// Counts one outcome.
    pub fn add(&mut self, o: Outcome) {
        match o {
            Outcome::Applied => self.applied += 1,
            Outcome::AlreadyApplied => self.already_applied += 1,
            Outcome::Stale => self.stale += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Refused => self.refused += 1,
        }
    }

    /// `3 applied, 1 already applied, 0 skipped as stale, 0 failed, 0 refused`.
    pub fn line(&self) -> String {
        format!(
            "{} applied, {} already applied, {} skipped as stale, {} failed, {} refused",
            self.applied, self.already_applied, self.stale, self.failed, self.refused
        )
    }
}

/// One action's result, as the report shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionReport {
    /// The action id.
    pub id: String,
    /// The step.
    pub action: StepName,
    /// The target, named for people.
    pub target: String,
    /// What happened.
    pub outcome: Outcome,
    /// Why, or what.
    pub detail: String,
}

/// The report of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Apply or undo.
    pub mode: Mode,
    /// The plan's content hash.
    pub plan_sha256: String,
    /// The journal written.
    pub journal: String,
    /// Every action, in plan order.
    pub actions: Vec<ActionReport>,
    /// Counts.
    pub summary: Summary,
}

/// One applied action as undo sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UndoEntry {
    /// The action id.
    pub action: String,
    /// The step, as the journal names it.
    pub step: String,
    /// The target, as the journal names it.
    pub target: String,
    /// The calls that reverse it.
    pub ops: Vec<crate::steps::UndoOp>,
    /// What cannot be reversed.
    pub irreversible: Option<String>,
    /// Undone by an earlier undo run.
    pub already_undone: bool,
}

/// What a journal allows to undo, newest first (apply's `undo` builds it from the journal;
/// render shows it before undo runs, and alone with `undo --dry-run`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UndoPlan {
    /// The plan the journal belongs to.
    pub plan_sha256: String,
    /// The account.
    pub account_id: String,
    /// Every applied action, newest first.
    pub entries: Vec<UndoEntry>,
}
