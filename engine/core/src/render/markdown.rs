//! The markdown diff, for a pull-request comment, always under a character bound (GitHub refuses
//! comments over 65,536 characters; a 1,000-user plan in full is ten times that): the summary
//! line, counts per severity, rule and step, then the changes most severe first, the full diff
//! in a collapsed block, the findings and the skipped resources, each cut where the bound is
//! reached with "N more in the attached plan". Every value from the account is escaped, so a
//! policy's `"Action":"*"` never turns into italics and a `|` never breaks a table.

use super::{attribute_diff, short, summary_line, symbol, verb};
use crate::plan::{Action, Finding, Plan, Safety};
use crate::spec::Severity;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{self, Write};

/// The default bound: under GitHub's 65,536-character limit for a comment, with room for what
/// a CI step adds around the plan.
pub const DEFAULT_MAX_CHARS: usize = 60_000;

/// The smallest bound accepted: the summary and the counts must fit.
pub const MIN_MAX_CHARS: usize = 2_000;

/// Escapes text for a markdown table cell outside code: markdown's punctuation is backslashed,
/// newlines become spaces.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '<' | '>' | '(' | ')' | '#' | '+'
            | '!' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A code span for a table cell: markdown inside it is literal; a backtick in the value gets a
/// longer fence, and `|` stays escaped (GitHub splits cells on it even inside code).
fn code(s: &str) -> String {
    let body = s.replace(['\n', '\r'], " ").replace('|', "\\|");
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    if longest > 0 || body.starts_with(' ') || body.ends_with(' ') {
        format!("{fence} {body} {fence}")
    } else {
        format!("{fence}{body}{fence}")
    }
}

/// At most this many characters of one value are shown in a cell.
const MAX_CELL_VALUE: usize = 200;

fn clip(s: String) -> String {
    super::clip(s, MAX_CELL_VALUE)
}

/// Text written under a budget: a part is added whole or not at all.
struct Budget {
    out: String,
    left: usize,
}

impl Budget {
    fn fits(&self, s: &str) -> bool {
        s.chars().count() <= self.left
    }
    /// Adds `s` if it fits with `reserve` characters left over for what must follow (a
    /// section's closing lines and its "N more" note), and says whether it did.
    fn add_leaving(&mut self, s: &str, reserve: usize) -> bool {
        if s.chars().count() + reserve > self.left {
            return false;
        }
        self.add(s)
    }
    /// Adds `s` if it fits, and says whether it did.
    fn add(&mut self, s: &str) -> bool {
        let n = s.chars().count();
        if n > self.left {
            return false;
        }
        self.left -= n;
        self.out.push_str(s);
        true
    }
}

/// Room kept at the end of every section for its closing lines and the "N more" note.
const RESERVE: usize = 400;

/// Writes the markdown rendering of `plan` under the default bound.
pub fn render_markdown(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    render_markdown_bounded(plan, DEFAULT_MAX_CHARS, out)
}

/// Writes the markdown rendering of `plan` in at most `max_chars` characters (at least
/// [`MIN_MAX_CHARS`]).
pub fn render_markdown_bounded(
    plan: &Plan,
    max_chars: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut b = Budget {
        out: String::new(),
        left: max_chars.max(MIN_MAX_CHARS),
    };
    // Each action's severity: the highest of the findings that asked for it.
    let mut severity: HashMap<&str, Severity> = HashMap::new();
    for f in &plan.findings {
        for a in &f.actions {
            let s = severity.entry(a.as_str()).or_insert(f.severity);
            *s = (*s).max(f.severity);
        }
    }
    let sev = |a: &Action| {
        severity
            .get(a.id.as_str())
            .copied()
            .unwrap_or(Severity::Info)
    };

    let mut head = format!(
        "### iamwarden plan for account `{}`\n\n**{}**",
        text(&plan.account_id),
        summary_line(plan)
    );
    if plan.summary.destructive > 0 {
        let _ = write!(head, " {} destructive.", plan.summary.destructive);
    }
    let _ = writeln!(
        head,
        " {} findings, {} skipped. Evaluated at `{}`.\n",
        plan.summary.findings,
        plan.summary.skipped,
        plan.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let packs: Vec<String> = plan
        .packs
        .iter()
        .map(|p| code(&format!("{}@{}", p.name, p.version)))
        .collect();
    let _ = writeln!(head, "Rule packs: {}\n", packs.join(", "));
    b.add(&head);

    write_counts(&mut b, plan, &sev);

    // The changes, most severe first (plan order within a severity).
    let mut actions: Vec<&Action> = plan.actions.iter().collect();
    actions.sort_by_key(|a| std::cmp::Reverse(sev(a)));
    if !actions.is_empty() {
        let header =
            "| | Severity | Resource | Action | Rules | Safety |\n|---|---|---|---|---|---|\n";
        b.add(header);
        let mut shown = 0;
        for a in &actions {
            let safety = match a.safety {
                Safety::Reversible => "reversible",
                Safety::Destructive => "**destructive**",
            };
            let row = format!(
                "| `{}` | {} | {} {} | {} ({}) | {} | {} |\n",
                symbol(a),
                sev(a).as_str(),
                a.resource.kind,
                code(&a.resource.name),
                a.step(),
                text(&verb(a)),
                text(&a.rules.join(", ")),
                safety
            );
            if !b.add_leaving(&row, RESERVE) {
                break;
            }
            shown += 1;
        }
        more(&mut b, actions.len() - shown, "changes");
        write_diff(&mut b, &actions);
    }
    write_findings(&mut b, plan);
    if !plan.skipped.is_empty() {
        b.add(&format!(
            "<details><summary>Skipped ({})</summary>\n\n",
            plan.skipped.len()
        ));
        let mut shown = 0;
        for s in &plan.skipped {
            let line = format!(
                "- {} {} ({}): {}\n",
                s.resource.kind,
                code(&s.resource.name),
                text(&s.rule),
                text(&s.reason)
            );
            if !b.add_leaving(&line, RESERVE / 2) {
                break;
            }
            shown += 1;
        }
        more(&mut b, plan.skipped.len() - shown, "skipped resources");
        b.add("\n</details>\n");
    }
    out.write_all(b.out.as_bytes())
}

/// "_N more changes in the attached plan._" when a section was cut.
fn more(b: &mut Budget, n: usize, what: &str) {
    if n > 0 {
        b.add(&format!(
            "\n... and {n} more {what} in the attached plan (`iamwarden plan --out plan.json`).\n"
        ));
    }
}

/// Counts per severity, per rule and per step: the part of the comment that is never cut.
fn write_counts(b: &mut Budget, plan: &Plan, sev: &dyn Fn(&Action) -> Severity) {
    if plan.findings.is_empty() {
        return;
    }
    let mut by_severity: BTreeMap<std::cmp::Reverse<Severity>, (usize, usize)> = BTreeMap::new();
    for f in &plan.findings {
        by_severity
            .entry(std::cmp::Reverse(f.severity))
            .or_default()
            .0 += 1;
    }
    for a in &plan.actions {
        by_severity.entry(std::cmp::Reverse(sev(a))).or_default().1 += 1;
    }
    let mut s = String::from("| Severity | Findings | Actions |\n|---|---|---|\n");
    for (k, (f, a)) in &by_severity {
        let _ = writeln!(s, "| {} | {f} | {a} |", k.0.as_str());
    }
    s.push('\n');
    // Per rule: findings and actions, most severe rule first.
    let mut by_rule: BTreeMap<(std::cmp::Reverse<Severity>, &str), (usize, usize)> =
        BTreeMap::new();
    let rule_severity: HashMap<&str, Severity> = plan
        .findings
        .iter()
        .map(|f| (&*f.rule, f.severity))
        .collect();
    for f in &plan.findings {
        by_rule
            .entry((std::cmp::Reverse(f.severity), &*f.rule))
            .or_default()
            .0 += 1;
    }
    for a in &plan.actions {
        for r in &a.rules {
            let sv = rule_severity
                .get(r.as_str())
                .copied()
                .unwrap_or(Severity::Info);
            by_rule
                .entry((std::cmp::Reverse(sv), r.as_str()))
                .or_default()
                .1 += 1;
        }
    }
    s.push_str("<details><summary>Per rule and step</summary>\n\n| Rule | Severity | Findings | Actions |\n|---|---|---|---|\n");
    for ((sv, rule), (f, a)) in &by_rule {
        let _ = writeln!(s, "| {} | {} | {f} | {a} |", code(rule), sv.0.as_str());
    }
    let mut by_step: BTreeMap<&str, usize> = BTreeMap::new();
    for a in &plan.actions {
        *by_step.entry(a.step().as_str()).or_default() += 1;
    }
    if !by_step.is_empty() {
        s.push_str("\n| Step | Actions |\n|---|---|\n");
        for (step, n) in &by_step {
            let _ = writeln!(s, "| {} | {n} |", code(step));
        }
    }
    s.push_str("\n</details>\n\n");
    if !b.add(&s) {
        // A pack with thousands of rules: keep the severity table only.
        let table_end = s.find("<details>").unwrap_or(s.len());
        b.add(s.get(..table_end).unwrap_or(""));
    }
}

/// The attribute-level diff of the changes shown, in a collapsed block, as far as it fits.
fn write_diff(b: &mut Budget, actions: &[&Action]) {
    let open = "\n<details><summary>Diff</summary>\n\n```diff\n";
    let close = "```\n\n</details>\n\n";
    if !b.fits(&format!("{open}{close}")) || b.left < RESERVE * 2 {
        return;
    }
    b.add(open);
    let mut shown = 0;
    for a in actions {
        let mut block = format!(
            "{} {} \"{}\"  # {}\n",
            symbol(a),
            a.resource.kind,
            a.resource.name.replace("```", "'''"),
            a.step()
        );
        for (sym, key, old, new) in attribute_diff(a) {
            let val = match (old, new) {
                (Some(o), Some(n)) => format!("{} -> {}", short(&o), short(&n)),
                (Some(o), None) => short(&o),
                (None, Some(n)) => short(&n),
                (None, None) => String::new(),
            };
            // Inside the fence nothing is markdown, but a fence in a value would close it.
            let _ = writeln!(
                block,
                "{sym}     {key} = {}",
                clip(val).replace("```", "'''")
            );
        }
        if let Some(used) = &a.allowed_in_use {
            let _ = writeln!(
                block,
                "!     allowed while in use: {}",
                clip(used.clone()).replace("```", "'''")
            );
        }
        if !b.add_leaving(&block, close.len() + RESERVE) {
            break;
        }
        shown += 1;
    }
    if shown < actions.len() {
        b.add(&format!(
            "# ... and {} more in the attached plan\n",
            actions.len() - shown
        ));
    }
    b.add(close);
}

/// The findings, most severe first, in a collapsed table, as far as they fit.
fn write_findings(b: &mut Budget, plan: &Plan) {
    if plan.findings.is_empty() {
        return;
    }
    let mut findings: Vec<&Finding> = plan.findings.iter().collect();
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    b.add(&format!(
        "<details><summary>Findings ({})</summary>\n\n| Severity | Rule | Resource | Evidence |\n|---|---|---|---|\n",
        plan.findings.len()
    ));
    let mut shown = 0;
    for f in &findings {
        let ev: Vec<String> = f
            .evidence
            .iter()
            .filter(|e| e.held != e.negated)
            .map(|e| format!("{} = {}", code(&e.path), code(&clip(short(&e.actual)))))
            .collect();
        let row = format!(
            "| {} | {} | {} {} | {} |\n",
            f.severity.as_str(),
            code(&f.rule),
            f.resource.kind,
            code(&f.resource.name),
            ev.join("; ")
        );
        if !b.add_leaving(&row, RESERVE) {
            break;
        }
        shown += 1;
    }
    more(b, findings.len() - shown, "findings");
    b.add("\n</details>\n\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        assert_eq!(text("\"Action\":\"*\""), "\"Action\":\"\\*\"");
        assert_eq!(text("a|b_c"), "a\\|b\\_c");
        assert_eq!(code("{\"Action\":\"*\"}"), "`{\"Action\":\"*\"}`");
        assert_eq!(code("a`b"), "`` a`b ``");
        assert_eq!(code("x|y"), "`x\\|y`");
    }
}
