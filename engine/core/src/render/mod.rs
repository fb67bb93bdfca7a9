//! Diff renderers: the plan shown to people (human, Terraform-like), to pull requests
//! (markdown) and to programs (json). Each writes to an injected `io::Write`.

mod human;
pub mod listing;
mod markdown;
pub mod report;
pub mod rules_doc;
pub mod sarif;
pub mod undo;

pub use human::render_human;
pub use markdown::{render_markdown, render_markdown_bounded, DEFAULT_MAX_CHARS, MIN_MAX_CHARS};

use crate::plan::{Action, ChangeKind, Plan};
use serde_json::Value;
use std::io::{self, Write};

/// The output formats of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A Terraform-like diff.
    Human,
    /// The plan file itself.
    Json,
    /// A pull-request comment.
    Markdown,
    /// SARIF 2.1.0 (GitHub code scanning): one result per finding.
    Sarif,
}

/// Renders `plan` in `format`.
pub fn render(plan: &Plan, format: Format, color: bool, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Human => render_human(plan, color, out),
        Format::Markdown => render_markdown(plan, out),
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, plan)?;
            writeln!(out)
        }
        // The rule metadata SARIF carries comes from the packs, not the plan.
        Format::Sarif => Err(io::Error::other(
            "SARIF is rendered with the rule set: call render::sarif::render_sarif",
        )),
    }
}

/// The diff symbol of an action.
pub fn symbol(a: &Action) -> char {
    match a.change {
        ChangeKind::Change => '~',
        ChangeKind::Delete => '-',
        ChangeKind::Add => '+',
    }
}

/// What the action does, in words: "will be deactivated" (each step's file says it).
pub fn verb(a: &Action) -> String {
    (a.step().info().verb)(&a.body)
}

/// A value on one line, for diffs and tables.
pub fn short(v: &Value) -> String {
    match v {
        Value::Null => "(none)".to_string(),
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// `s` cut to its first `max` characters, with `...` when anything was cut (a value shown in a
/// one-line finding or a table cell; a policy document is thousands of characters).
pub(crate) fn clip(s: String, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s,
        Some((cut, _)) => format!("{}...", s.get(..cut).unwrap_or(&s)),
    }
}

/// One attribute line of a diff: (symbol, key, old, new).
pub type DiffLine = (char, String, Option<Value>, Option<Value>);

/// The attribute-level diff of an action's `before` and `after`.
pub fn attribute_diff(a: &Action) -> Vec<DiffLine> {
    let mut out = Vec::new();
    let empty = serde_json::Map::new();
    let (before, after) = (a.before_json(), a.after_json());
    let before = before.as_object().unwrap_or(&empty);
    match after.as_object() {
        None => {
            for (k, v) in before {
                out.push(('-', k.clone(), Some(v.clone()), None));
            }
        }
        Some(after) => {
            for (k, v) in before {
                match after.get(k) {
                    Some(n) if n == v => {}
                    Some(n) => out.push(('~', k.clone(), Some(v.clone()), Some(n.clone()))),
                    None => out.push(('-', k.clone(), Some(v.clone()), None)),
                }
            }
            for (k, n) in after {
                if !before.contains_key(k) {
                    out.push(('+', k.clone(), None, Some(n.clone())));
                }
            }
        }
    }
    out
}

/// The summary line: `Plan: A to add, C to change, D to delete.`
pub fn summary_line(plan: &Plan) -> String {
    if plan.actions.is_empty() {
        return "No changes. The account matches every rule that has a remediation.".to_string();
    }
    // The counts follow the diff's signs: `+` add, `~` change, `-` delete.
    format!(
        "Plan: {} to add, {} to change, {} to delete.",
        plan.summary.to_add, plan.summary.to_change, plan.summary.to_delete
    )
}
