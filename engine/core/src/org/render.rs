//! The organization report as human text, markdown within a character budget (a pull-request
//! comment or a job summary), JSON and SARIF (one run per account), each written to any
//! `io::Write`.

use super::report::{FailedAccount, OrgReport};
use std::fmt::Write as _;
use std::io::{self, Write};

const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];

fn severity_line(by: &std::collections::BTreeMap<String, usize>) -> String {
    let parts: Vec<String> = SEVERITIES
        .iter()
        .filter_map(|s| by.get(*s).filter(|n| **n > 0).map(|n| format!("{s} {n}")))
        .collect();
    if parts.is_empty() {
        "none".to_string()
    } else {
        parts.join(", ")
    }
}

fn severity_rank(s: &str) -> usize {
    SEVERITIES
        .iter()
        .position(|x| *x == s)
        .unwrap_or(SEVERITIES.len())
}

/// Rules, most severe first, then most findings, then id.
fn rules_in_order(r: &OrgReport) -> Vec<(&String, &super::report::RuleCount)> {
    let mut rules: Vec<_> = r.totals.by_rule.iter().collect();
    rules.sort_by(|a, b| {
        severity_rank(&a.1.severity)
            .cmp(&severity_rank(&b.1.severity))
            .then(b.1.findings.cmp(&a.1.findings))
            .then(a.0.cmp(b.0))
    });
    rules
}

fn failure_text(f: &FailedAccount) -> String {
    let mut s = format!("{} failed", f.call);
    if let Some(c) = &f.code {
        let _ = write!(s, " ({c})");
    }
    let _ = write!(s, ": {}", f.message);
    if let Some(p) = &f.permission {
        let _ = write!(s, " [needs {p}]");
    }
    s
}

fn headline(r: &OrgReport) -> String {
    let t = &r.totals;
    format!(
        "{} account{} planned, {} failed, {} skipped; {} finding{}, {} action{} ({} destructive) in {} account{} with changes",
        t.planned,
        if t.planned == 1 { "" } else { "s" },
        t.failed,
        t.skipped,
        t.findings,
        if t.findings == 1 { "" } else { "s" },
        t.actions,
        if t.actions == 1 { "" } else { "s" },
        t.destructive,
        t.with_changes,
        if t.with_changes == 1 { "" } else { "s" },
    )
}

/// Plain text for a terminal or a log.
pub fn human(r: &OrgReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "Organization report: {}", headline(r))?;
    writeln!(
        out,
        "Findings by severity: {}",
        severity_line(&r.totals.by_severity)
    )?;
    if !r.totals.by_rule.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "  {:<36} {:<9} {:>8} {:>8} {:>8}",
            "RULE", "SEVERITY", "ACCOUNTS", "FINDINGS", "ACTIONS"
        )?;
        for (rule, c) in rules_in_order(r) {
            writeln!(
                out,
                "  {:<36} {:<9} {:>8} {:>8} {:>8}",
                rule, c.severity, c.accounts, c.findings, c.actions
            )?;
        }
    }
    if !r.planned.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "  {:<12}  {:<24} {:>8} {:>8} {:>11}  PLAN",
            "ACCOUNT", "NAME", "FINDINGS", "ACTIONS", "DESTRUCTIVE"
        )?;
        for a in &r.planned {
            writeln!(
                out,
                "  {:<12}  {:<24} {:>8} {:>8} {:>11}  {}",
                a.id, a.name, a.findings, a.actions, a.destructive, a.plan
            )?;
        }
    }
    if !r.failed.is_empty() {
        writeln!(out)?;
        writeln!(out, "Failed accounts (not planned):")?;
        for f in &r.failed {
            writeln!(out, "  {}  {}: {}", f.id, f.name, failure_text(f))?;
        }
    }
    if !r.skipped.is_empty() {
        writeln!(out)?;
        writeln!(out, "Skipped accounts:")?;
        for s in &r.skipped {
            writeln!(out, "  {}  {}: {}", s.id, s.name, s.status)?;
        }
    }
    Ok(())
}

/// The report as JSON (what `report.json` holds).
pub fn json(r: &OrgReport, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, r)?;
    writeln!(out)
}

/// The smallest budget [`markdown`] accepts: the headline and the severity line fit in it.
pub const MIN_MARKDOWN_CHARS: usize = 600;

/// Markdown within `max_chars` characters: the headline and severity counts always; then
/// failed accounts, rules and accounts (accounts with changes first) as long as they fit, each
/// list ending with "… and N more" when cut.
pub fn markdown(r: &OrgReport, max_chars: usize, out: &mut dyn Write) -> io::Result<()> {
    let max = max_chars.max(MIN_MARKDOWN_CHARS);
    let mut text = String::new();
    let _ = writeln!(text, "## iamwarden organization report\n");
    let _ = writeln!(text, "**{}**\n", headline(r));
    let _ = writeln!(
        text,
        "Findings by severity: {}\n",
        severity_line(&r.totals.by_severity)
    );
    // Room kept for the longest "… and N more" line of a section.
    const TAIL: usize = 40;
    let section = |text: &mut String, title: &str, header: &str, rows: Vec<String>| {
        if rows.is_empty() {
            return;
        }
        let head = format!("### {title}\n\n{header}");
        if text.chars().count() + head.chars().count() + TAIL > max {
            let _ = writeln!(text, "_{title}: {} not shown (size limit)._\n", rows.len());
            return;
        }
        text.push_str(&head);
        let total = rows.len();
        for (i, row) in rows.into_iter().enumerate() {
            if text.chars().count() + row.chars().count() + TAIL > max {
                let _ = writeln!(text, "\n_… and {} more._", total - i);
                break;
            }
            text.push_str(&row);
        }
        text.push('\n');
    };
    let failed: Vec<String> = r
        .failed
        .iter()
        .map(|f| {
            format!(
                "| `{}` | {} | {} |\n",
                f.id,
                md_cell(&f.name),
                md_cell(&failure_text(f))
            )
        })
        .collect();
    section(
        &mut text,
        "Failed accounts",
        "| Account | Name | Why |\n|---|---|---|\n",
        failed,
    );
    let rules: Vec<String> = rules_in_order(r)
        .into_iter()
        .map(|(rule, c)| {
            format!(
                "| `{rule}` | {} | {} | {} | {} |\n",
                c.severity, c.accounts, c.findings, c.actions
            )
        })
        .collect();
    section(
        &mut text,
        "Rules",
        "| Rule | Severity | Accounts | Findings | Actions |\n|---|---|---:|---:|---:|\n",
        rules,
    );
    let mut accounts: Vec<_> = r.planned.iter().collect();
    accounts.sort_by(|a, b| b.actions.cmp(&a.actions).then(a.id.cmp(&b.id)));
    let accounts: Vec<String> = accounts
        .into_iter()
        .map(|a| {
            format!(
                "| `{}` | {} | {} | {} | {} |\n",
                a.id,
                md_cell(&a.name),
                a.findings,
                a.actions,
                a.destructive
            )
        })
        .collect();
    section(
        &mut text,
        "Accounts",
        "| Account | Name | Findings | Actions | Destructive |\n|---|---|---:|---:|---:|\n",
        accounts,
    );
    let skipped: Vec<String> = r
        .skipped
        .iter()
        .map(|s| format!("| `{}` | {} | {} |\n", s.id, md_cell(&s.name), s.status))
        .collect();
    section(
        &mut text,
        "Skipped accounts",
        "| Account | Name | Status |\n|---|---|---|\n",
        skipped,
    );
    out.write_all(text.as_bytes())
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// SARIF 2.1.0 with one run per account, in id order: a planned account's run holds its plan's
/// findings (`automationDetails.id` `iamwarden/<account-id>/`, as `plan --format sarif` writes
/// for one account); a failed account's run has no results and an unsuccessful invocation
/// saying the call, code and permission. `load` reads one account's plan when its run is
/// written, so only one plan is in memory at a time.
pub fn sarif<E: From<io::Error>>(
    r: &OrgReport,
    rules: &crate::compile::RuleSet,
    locate: crate::render::sarif::Locate<'_>,
    load: &mut dyn FnMut(&super::report::PlannedAccount) -> Result<crate::plan::Plan, E>,
    out: &mut dyn Write,
) -> Result<(), E> {
    enum Item<'a> {
        Planned(&'a super::report::PlannedAccount),
        Failed(&'a FailedAccount),
    }
    let mut items: Vec<(&str, Item<'_>)> = r
        .planned
        .iter()
        .map(|a| (a.id.as_str(), Item::Planned(a)))
        .chain(r.failed.iter().map(|f| (f.id.as_str(), Item::Failed(f))))
        .collect();
    items.sort_by(|a, b| a.0.cmp(b.0));
    let runs = items.into_iter().map(|(_, item)| match item {
        Item::Planned(a) => load(a).map(|plan| crate::render::sarif::run(&plan, rules, locate)),
        Item::Failed(f) => Ok(serde_json::json!({
            "tool": {"driver": {
                "name": "iamwarden",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/iamwarden/iamwarden",
                "rules": [],
            }},
            "automationDetails": {"id": format!("iamwarden/{}/", f.id)},
            "invocations": [{
                "executionSuccessful": false,
                "toolExecutionNotifications": [{
                    "level": "error",
                    "message": {"text": format!("account {} ({}): {}", f.id, f.name, failure_text(f))},
                }],
            }],
            "results": [],
        })),
    });
    crate::render::sarif::write_log(runs, out)
}
