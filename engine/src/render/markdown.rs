//! The markdown diff, for a pull-request comment: summary, a table of actions, the full diff in
//! a collapsed block, findings and skipped resources.

use super::{attribute_diff, short, summary_line, symbol, verb};
use crate::plan::{Plan, Safety};
use std::io::{self, Write};

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Writes the markdown rendering of `plan`.
pub fn render_markdown(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "### iamwarden plan for account `{}`\n",
        plan.account_id
    )?;
    write!(out, "**{}**", summary_line(plan))?;
    if plan.summary.destructive > 0 {
        write!(out, " {} destructive.", plan.summary.destructive)?;
    }
    writeln!(
        out,
        " {} findings, {} skipped. Evaluated at `{}`.\n",
        plan.summary.findings,
        plan.summary.skipped,
        plan.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )?;
    let packs: Vec<String> = plan
        .packs
        .iter()
        .map(|p| format!("`{}@{}`", p.name, p.version))
        .collect();
    writeln!(out, "Rule packs: {}\n", packs.join(", "))?;
    if !plan.actions.is_empty() {
        writeln!(out, "| | Resource | Action | Rules | Safety |")?;
        writeln!(out, "|---|---|---|---|---|")?;
        for a in &plan.actions {
            let safety = match a.safety {
                Safety::Reversible => "reversible",
                Safety::Destructive => "**destructive**",
            };
            writeln!(
                out,
                "| `{}` | {} `{}` | {} ({}) | {} | {} |",
                symbol(a),
                a.resource.kind,
                cell(&a.resource.name),
                a.action,
                cell(&verb(a)),
                cell(&a.rules.join(", ")),
                safety
            )?;
        }
        writeln!(out, "\n<details><summary>Diff</summary>\n\n```diff")?;
        for a in &plan.actions {
            writeln!(
                out,
                "{} {} \"{}\"  # {}",
                symbol(a),
                a.resource.kind,
                a.resource.name,
                a.action
            )?;
            for (sym, key, old, new) in attribute_diff(a) {
                let text = match (old, new) {
                    (Some(o), Some(n)) => format!("{} -> {}", short(&o), short(&n)),
                    (Some(o), None) => short(&o),
                    (None, Some(n)) => short(&n),
                    (None, None) => String::new(),
                };
                writeln!(out, "{sym}     {key} = {text}")?;
            }
            if let Some(used) = &a.allowed_in_use {
                writeln!(out, "!     allowed while in use: {used}")?;
            }
        }
        writeln!(out, "```\n\n</details>\n")?;
    }
    if !plan.findings.is_empty() {
        writeln!(
            out,
            "<details><summary>Findings ({})</summary>\n",
            plan.findings.len()
        )?;
        writeln!(out, "| Severity | Rule | Resource | Evidence |")?;
        writeln!(out, "|---|---|---|---|")?;
        for f in &plan.findings {
            let ev: Vec<String> = f
                .evidence
                .iter()
                .filter(|e| e.held != e.negated)
                .map(|e| format!("`{}` = {}", e.path, short(&e.actual)))
                .collect();
            writeln!(
                out,
                "| {} | `{}` | {} `{}` | {} |",
                f.severity.as_str(),
                f.rule,
                f.resource.kind,
                cell(&f.resource.name),
                cell(&ev.join("; "))
            )?;
        }
        writeln!(out, "\n</details>\n")?;
    }
    if !plan.skipped.is_empty() {
        writeln!(
            out,
            "<details><summary>Skipped ({})</summary>\n",
            plan.skipped.len()
        )?;
        for s in &plan.skipped {
            writeln!(
                out,
                "- {} `{}` ({}): {}",
                s.resource.kind,
                cell(&s.resource.name),
                s.rule,
                cell(&s.reason)
            )?;
        }
        writeln!(out, "\n</details>")?;
    }
    Ok(())
}
