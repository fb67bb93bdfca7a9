//! The human diff: a block per resource, `~` change, `-` delete, `+` add, the reasons, and a
//! summary line. Colour only when asked (the CLI asks on a TTY without `NO_COLOR`).

use super::{attribute_diff, short, summary_line, verb};
use crate::plan::{Action, Finding, Plan, Safety};
use serde_json::Value;
use std::collections::HashMap;
use std::io::{self, Write};

struct Paint(bool);

impl Paint {
    fn sym(&self, c: char) -> String {
        if !self.0 {
            return c.to_string();
        }
        let code = match c {
            '-' => "31",
            '+' => "32",
            _ => "33",
        };
        format!("\x1b[{code}m{c}\x1b[0m")
    }
    fn bold(&self, s: &str) -> String {
        if self.0 {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn dim(&self, s: &str) -> String {
        if self.0 {
            format!("\x1b[2m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

fn write_value(out: &mut dyn Write, indent: &str, v: &Value) -> io::Result<()> {
    match v {
        Value::Object(_) | Value::Array(_) if v.to_string().len() > 60 => {
            let pretty = serde_json::to_string_pretty(v).unwrap_or_default();
            let mut lines = pretty.lines();
            if let Some(first) = lines.next() {
                write!(out, "{first}")?;
            }
            for l in lines {
                write!(out, "\n{indent}{l}")?;
            }
            Ok(())
        }
        other => write!(out, "{}", short(other)),
    }
}

/// Writes the human diff of `plan`.
pub fn render_human(plan: &Plan, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let paint = Paint(color);
    writeln!(
        out,
        "iamwarden plan for account {} (evaluated at {})",
        plan.account_id,
        plan.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )?;
    let packs: Vec<String> = plan
        .packs
        .iter()
        .map(|p| format!("{}@{}", p.name, p.version))
        .collect();
    writeln!(out, "Rule packs: {}", packs.join(", "))?;
    writeln!(
        out,
        "Findings: {} ({} skipped)\n",
        plan.summary.findings, plan.summary.skipped
    )?;
    if !plan.actions.is_empty() {
        writeln!(out, "iamwarden will perform the following actions:\n")?;
    }
    // Why: the evidence of the findings that asked for each action.
    let mut why: HashMap<&str, Vec<String>> = HashMap::new();
    for f in &plan.findings {
        let line = finding_line(f, None);
        for a in &f.actions {
            why.entry(a.as_str()).or_default().push(line.clone());
        }
    }
    for a in &plan.actions {
        write_action(out, &paint, a, why.get(a.id.as_str()))?;
    }
    write_report_only(out, &paint, plan)?;
    if !plan.skipped.is_empty() {
        writeln!(out, "{}", paint.bold("Skipped:"))?;
        for s in &plan.skipped {
            let step = s.action.map(|a| format!(" {a}")).unwrap_or_default();
            let id = if s.resource.id != s.resource.name {
                format!(" ({})", s.resource.id)
            } else {
                String::new()
            };
            writeln!(
                out,
                "  {} {}{id}{step}: {}: {}",
                s.resource.kind, s.resource.name, s.rule, s.reason
            )?;
        }
        writeln!(out)?;
    }
    write!(out, "{}", paint.bold(&summary_line(plan)))?;
    if plan.summary.destructive > 0 {
        write!(
            out,
            " {} destructive (apply needs --allow-destructive).",
            plan.summary.destructive
        )?;
    }
    writeln!(out)
}

/// At most this many report-only findings are listed; the rest are counted (a large account
/// has thousands, and the JSON, markdown and SARIF outputs list them all).
const MAX_REPORT_ONLY: usize = 40;

/// At most this many characters of a value are shown in a report-only finding's line (a policy
/// document is thousands).
const MAX_VALUE_CHARS: usize = 80;

/// `rule: title [evidence]`: the leaves that decided, each with the value it saw; values are
/// clipped to `clip` characters when given.
fn finding_line(f: &Finding, clip: Option<usize>) -> String {
    let shown = |v: &Value| match clip {
        Some(n) => super::clip(short(v), n),
        None => short(v),
    };
    let decided: Vec<&crate::plan::Evidence> =
        f.evidence.iter().filter(|e| e.held != e.negated).collect();
    // In a one-line finding a whole policy document (or an empty witness list of a gate such as
    // `not admin_access`) says less than the witnesses the other leaves found: leave them out
    // when another leaf remains.
    let brief: Vec<&crate::plan::Evidence> = if clip.is_some() {
        decided
            .iter()
            .copied()
            .filter(|e| !e.actual.is_object() && e.actual.as_array().is_none_or(|a| !a.is_empty()))
            .collect()
    } else {
        Vec::new()
    };
    let leaves = if brief.is_empty() { decided } else { brief };
    let ev: Vec<String> = leaves
        .iter()
        .map(|e| {
            format!(
                "{} = {} ({}{} {})",
                e.path,
                shown(&e.actual),
                if e.negated { "not " } else { "" },
                e.op,
                shown(&e.expected)
            )
        })
        .collect();
    if ev.is_empty() {
        format!("{}: {}", f.rule, f.title)
    } else {
        format!("{}: {} [{}]", f.rule, f.title, ev.join("; "))
    }
}

/// The findings no action answers (report-only rules, root, rules whose `action` is `report`),
/// most severe first, one line each, bounded.
fn write_report_only(out: &mut dyn Write, paint: &Paint, plan: &Plan) -> io::Result<()> {
    let mut report_only: Vec<&Finding> = plan
        .findings
        .iter()
        .filter(|f| f.actions.is_empty())
        .collect();
    if report_only.is_empty() {
        return Ok(());
    }
    // Stable: plan order within a severity.
    report_only.sort_by_key(|f| std::cmp::Reverse(f.severity));
    writeln!(
        out,
        "{}",
        paint.bold(&format!(
            "Findings without actions ({}), most severe first:",
            report_only.len()
        ))
    )?;
    for f in report_only.iter().take(MAX_REPORT_ONLY) {
        let r = &f.resource;
        let id = if r.id != r.name && !r.id.starts_with("arn:") {
            format!(" ({})", r.id)
        } else {
            String::new()
        };
        writeln!(
            out,
            "  [{}] {} {}{id}: {}",
            f.severity.as_str(),
            r.kind,
            r.name,
            finding_line(f, Some(MAX_VALUE_CHARS))
        )?;
    }
    if report_only.len() > MAX_REPORT_ONLY {
        writeln!(
            out,
            "  ... and {} more (`--format json`, `markdown` or `sarif` list every finding)",
            report_only.len() - MAX_REPORT_ONLY
        )?;
    }
    writeln!(out)
}

fn write_action(
    out: &mut dyn Write,
    paint: &Paint,
    a: &Action,
    why: Option<&Vec<String>>,
) -> io::Result<()> {
    let r = &a.resource;
    let mut label = if r.name != r.id {
        format!("{} {} ({})", r.kind, r.name, r.id)
    } else {
        format!("{} {}", r.kind, r.name)
    };
    if let Some(user) = a.names().user {
        if r.kind != crate::inventory::ResourceKind::User
            && r.kind != crate::inventory::ResourceKind::LoginProfile
        {
            label.push_str(&format!(" of user {user}"));
        }
    }
    writeln!(out, "  {}", paint.dim(&format!("# {label} {}", verb(a))))?;
    let mut meta = format!("# {} · {}", a.step(), a.id);
    if a.safety == Safety::Destructive {
        meta.push_str(" · DESTRUCTIVE");
    }
    if let Some(p) = &a.part_of {
        meta.push_str(&format!(" · part of {p}"));
    }
    writeln!(out, "  {}", paint.dim(&meta))?;
    writeln!(
        out,
        "  {} {} \"{}\" {{",
        paint.sym(super::symbol(a)),
        r.kind,
        r.name
    )?;
    for (sym, key, old, new) in attribute_diff(a) {
        write!(out, "      {} {key} = ", paint.sym(sym))?;
        let indent = "        ";
        match (old, new) {
            (Some(o), Some(n)) => {
                write_value(out, indent, &o)?;
                write!(out, " -> ")?;
                write_value(out, indent, &n)?;
            }
            (Some(o), None) => write_value(out, indent, &o)?,
            (None, Some(n)) => write_value(out, indent, &n)?,
            (None, None) => {}
        }
        writeln!(out)?;
    }
    writeln!(out, "    }}")?;
    if let Some(used) = &a.allowed_in_use {
        writeln!(
            out,
            "    {}",
            paint.bold(&format!(
                "allowed while in use: {used} (the rule says allow_in_use: true)"
            ))
        )?;
    }
    for s in &a.supersedes {
        writeln!(
            out,
            "    {}",
            paint.dim(&format!(
                "supersedes {} (rules: {})",
                s.action,
                s.rules.join(", ")
            ))
        )?;
    }
    match why {
        Some(lines) => {
            for l in lines {
                writeln!(out, "    because {l}")?;
            }
        }
        None => writeln!(out, "    because {}", a.rules.join(", "))?,
    }
    writeln!(out)
}
