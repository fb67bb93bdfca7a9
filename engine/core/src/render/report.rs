//! Apply and undo reports: one line per action and the closing summary (human), or JSON.

use crate::plan::outcome::{ActionReport, Mode, Outcome, Report};
use std::io::{self, Write};

/// The progress line of one action, as apply prints it on stderr.
pub fn progress_line(r: &ActionReport) -> String {
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
    } else if s.failed > 0 || s.refused > 0 {
        // "complete" only when nothing failed: a run that left work undone says so first.
        writeln!(
            out,
            "{what} finished with {} failed and {} refused action(s): {}.",
            s.failed,
            s.refused,
            s.line()
        )?;
    } else if s.stale > 0 {
        writeln!(
            out,
            "{what} finished; {} action(s) skipped as stale (make a new plan): {}.",
            s.stale,
            s.line()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::outcome::Summary;

    fn closing(summary: Summary) -> String {
        let report = Report {
            mode: Mode::Undo,
            plan_sha256: String::new(),
            journal: "j.jsonl".into(),
            actions: Vec::new(),
            summary,
        };
        let mut out = Vec::new();
        human(&report, &mut out).unwrap_or_default();
        String::from_utf8_lossy(&out)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    }

    #[test]
    fn complete_only_when_nothing_failed() {
        let ok = closing(Summary {
            applied: 2,
            ..Summary::default()
        });
        assert!(ok.starts_with("Undo complete: "), "{ok}");
        let failed = closing(Summary {
            applied: 1,
            failed: 1,
            ..Summary::default()
        });
        assert!(
            failed.starts_with("Undo finished with 1 failed and 0 refused"),
            "{failed}"
        );
        let stale = closing(Summary {
            applied: 1,
            stale: 2,
            ..Summary::default()
        });
        assert!(
            stale.starts_with("Undo finished; 2 action(s) skipped as stale"),
            "{stale}"
        );
    }
}
