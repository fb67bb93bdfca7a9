//! Apply and undo reports: one line per action and the closing summary (human), or JSON.

use crate::plan::outcome::{ActionReport, Mode, Outcome, Report};
use std::io::{self, Write};

/// The progress line of the `n`th of `total` actions, as apply and undo print it on stderr:
/// `[12/40] deactivate_access_key AKIA... (user alice) ok [act-1]`, with the detail when
/// it says more than that the calls were made.
pub fn progress_line(r: &ActionReport, n: usize, total: usize) -> String {
    let mark = match r.outcome {
        Outcome::Applied => "ok",
        Outcome::AlreadyApplied => "noop",
        Outcome::Stale => "STALE",
        Outcome::Failed => "FAILED",
        Outcome::Refused => "REFUSED",
    };
    let width = total.to_string().len();
    let detail = match r.detail.as_str() {
        "done" | "restored" | "" => String::new(),
        d => format!(": {d}"),
    };
    format!(
        "[{n:>width$}/{total}] {} {mark} [{}]{detail}",
        r.target, r.id
    )
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
    fn progress_lines_count_n_of_m() {
        let r = ActionReport {
            id: "act-1".into(),
            action: crate::spec::StepName::DeactivateAccessKey,
            target: "deactivate_access_key AKIA1 (user alice)".into(),
            outcome: Outcome::Applied,
            detail: "done".into(),
        };
        assert_eq!(
            progress_line(&r, 3, 40),
            "[ 3/40] deactivate_access_key AKIA1 (user alice) ok [act-1]"
        );
        let stale = ActionReport {
            outcome: Outcome::Stale,
            detail: "the key is gone".into(),
            ..r
        };
        assert_eq!(
            progress_line(&stale, 12, 40),
            "[12/40] deactivate_access_key AKIA1 (user alice) STALE [act-1]: the key is gone"
        );
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
