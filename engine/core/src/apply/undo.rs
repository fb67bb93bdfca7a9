//! Undo: reverse what an apply journal says was applied, newest first, and say clearly what
//! cannot be reversed. Undo's own calls are journaled in the same file (mode `undo`), so
//! running undo twice does not reverse anything twice.

use super::journal::{self, History, Mode, Record};
use super::{ActionReport, Caller, Executor, Outcome, Report, Summary};
use crate::iam::Iam;
use crate::spec::StepName;
use chrono::Utc;
use std::path::Path;

/// The undo plan model lives with the plan, where render reads it too.
pub use crate::plan::outcome::{UndoEntry as Entry, UndoPlan};

/// Reads a journal into what undo would do.
pub fn plan_undo(path: &Path) -> Result<UndoPlan, journal::JournalError> {
    let records = journal::read(path)?;
    let h: History = journal::history(path, &records, None)?;
    let (plan_sha256, account_id) = records
        .iter()
        .find_map(|r| match r {
            Record::Run {
                plan_sha256,
                account_id,
                ..
            } => Some((plan_sha256.clone(), account_id.clone())),
            _ => None,
        })
        .unwrap_or_default();
    let mut steps: std::collections::HashMap<&str, (&str, &str)> = Default::default();
    for r in &records {
        if let Record::Begin {
            action,
            step,
            resource,
            ..
        } = r
        {
            steps.insert(action.as_str(), (step.as_str(), resource.as_str()));
        }
    }
    let entries = h
        .order
        .iter()
        .rev()
        .filter_map(|id| {
            let d = h.done.get(id)?;
            if d.outcome != Outcome::Applied {
                return None;
            }
            let (step, target) = steps.get(id.as_str()).copied().unwrap_or(("?", "?"));
            // A prerequisite of a user deletion that went through goes with the user.
            let deleted_with = d.part_of.as_ref().filter(|p| {
                h.done
                    .get(*p)
                    .is_some_and(|pd| pd.outcome == Outcome::Applied)
            });
            let (ops, irreversible) = match deleted_with {
                Some(p) => (
                    Vec::new(),
                    Some(format!(
                        "removed as part of deleting the user ({p}), which cannot be undone"
                    )),
                ),
                None => (d.undo.clone(), d.irreversible.clone()),
            };
            Some(Entry {
                action: id.clone(),
                step: step.to_string(),
                target: target.to_string(),
                ops,
                irreversible,
                already_undone: h.undone.get(id) == Some(&Outcome::Applied),
            })
        })
        .collect();
    Ok(UndoPlan {
        plan_sha256,
        account_id,
        entries,
    })
}

/// Runs the undo calls, newest action first. Actions that cannot be undone are reported as
/// refused with the reason; ones with a partial note run what they can.
pub async fn run<I: Iam>(
    undo: &UndoPlan,
    aws: &Executor<I>,
    caller: &Caller,
    journal_file: &str,
    on_action: Option<super::OnAction>,
) -> Result<Report, journal::JournalError> {
    let j = aws.journal();
    j.append(&Record::Run {
        mode: Mode::Undo,
        plan_sha256: undo.plan_sha256.clone(),
        plan_file: journal_file.to_string(),
        account_id: caller.account_id.clone(),
        caller: caller.arn.clone(),
        iamwarden_version: env!("CARGO_PKG_VERSION").to_string(),
        selection: None,
        at: Utc::now(),
    })?;
    let mut reports = Vec::new();
    let mut summary = Summary::default();
    for e in &undo.entries {
        let step = serde_json::from_value::<StepName>(serde_json::Value::String(e.step.clone()))
            .unwrap_or(StepName::Tag);
        let mk = |outcome: Outcome, detail: String| ActionReport {
            id: e.action.clone(),
            action: step,
            target: format!("{} {}", e.step, e.target),
            outcome,
            detail,
        };
        let report = if e.already_undone {
            mk(
                Outcome::AlreadyApplied,
                "undone by an earlier undo run".into(),
            )
        } else if e.ops.is_empty() {
            let why = e
                .irreversible
                .clone()
                .unwrap_or_else(|| "nothing recorded to reverse it".into());
            let r = mk(Outcome::Refused, format!("cannot be undone: {why}"));
            j.append(&done(&e.action, Outcome::Refused, &r.detail))?;
            r
        } else {
            j.append(&Record::Begin {
                action: e.action.clone(),
                mode: Mode::Undo,
                step: e.step.clone(),
                resource: e.target.clone(),
                before: serde_json::Value::Null,
                at: Utc::now(),
            })?;
            let mut failure = None;
            for op in &e.ops {
                match crate::steps::live::undo_op(aws, &e.action, op).await {
                    Ok(()) => {}
                    Err(super::StepError::Journal(err)) => {
                        return Err(journal::JournalError::from_step(err, j.path()))
                    }
                    Err(err) => {
                        failure = Some(err.to_string());
                        break;
                    }
                }
            }
            let r = match failure {
                Some(f) => mk(Outcome::Failed, f),
                None => mk(
                    Outcome::Applied,
                    e.irreversible.clone().map_or_else(
                        || "restored".to_string(),
                        |n| format!("restored; note: {n}"),
                    ),
                ),
            };
            j.append(&done(&e.action, r.outcome, &r.detail))?;
            r
        };
        summary.add(report.outcome);
        if let Some(cb) = &on_action {
            cb(&report);
        }
        reports.push(report);
    }
    j.append(&Record::End {
        mode: Mode::Undo,
        summary,
        at: Utc::now(),
    })?;
    Ok(Report {
        mode: Mode::Undo,
        plan_sha256: undo.plan_sha256.clone(),
        journal: j.path().display().to_string(),
        actions: reports,
        summary,
    })
}

fn done(action: &str, outcome: Outcome, detail: &str) -> Record {
    Record::Done {
        action: action.to_string(),
        mode: Mode::Undo,
        outcome,
        detail: detail.to_string(),
        undo: Vec::new(),
        irreversible: None,
        part_of: None,
        at: Utc::now(),
    }
}
