//! Apply and undo reports: one line per action and the closing summary (human), or JSON.

use crate::apply::{journal::Mode, Outcome, Report};
use std::io::{self, Write};

/// The progress line of one action, as apply prints it on stderr.
pub fn progress_line(r: &crate::apply::ActionReport) -> String {
    let mark = match r.outcome {
        Outcome::Applied => "ok     ",
        Outcome::AlreadyApplied => "noop   ",
        Outcome::Stale => "STALE  ",
        Outcome::Failed => "FAILED ",
        Outcome::Refused => "REFUSED",
    };
    format!("{mark} {}  [{}]: {}", r.target, r.id, r.detail)
}

/// The closing summary: counts, then every action that did not apply and why.
pub fn human(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let what = match report.mode {
        Mode::Apply => "Apply",
        Mode::Undo => "Undo",
    };
    let s = &report.summary;
    if s.applied == 0 && s.stale == 0 && s.failed == 0 && s.refused == 0 {
        writeln!(
            out,
            "{what} complete: nothing to do, all {} action(s) were already applied.",
            s.already_applied
        )?;
    } else {
        writeln!(out, "{what} complete: {}.", s.line())?;
    }
    for r in report.actions.iter().filter(|r| {
        matches!(
            r.outcome,
            Outcome::Stale | Outcome::Failed | Outcome::Refused
        )
    }) {
        writeln!(
            out,
            "  {}: {} [{}]: {}",
            r.outcome.as_str(),
            r.target,
            r.id,
            r.detail
        )?;
    }
    writeln!(out, "Journal: {}", report.journal)
}

/// The report as JSON.
pub fn json(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}
