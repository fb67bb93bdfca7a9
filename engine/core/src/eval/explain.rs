//! `explain`: why a rule did or did not match one resource. The rule's condition tree, every
//! node evaluated in full (no short-circuit), each leaf with its path, operator, operand, the
//! value found and whether it held; and the exemption that applies, if any. Pure.

use super::{exempt_reason, leaf_holds};
use crate::compile::{Condition, Rule};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use std::fmt::Write as _;

/// One node of an explained condition.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "node", rename_all = "snake_case")]
pub enum Node {
    /// Every child must hold.
    All {
        /// Whether it held.
        held: bool,
        /// The children.
        children: Vec<Node>,
    },
    /// Some child must hold.
    Any {
        /// Whether it held.
        held: bool,
        /// The children.
        children: Vec<Node>,
    },
    /// The child must not hold.
    Not {
        /// Whether it held.
        held: bool,
        /// The child.
        child: Box<Node>,
    },
    /// A comparison.
    Leaf {
        /// Whether it held.
        held: bool,
        /// The path read (the fallback's when it supplied the value).
        path: String,
        /// The operator.
        op: String,
        /// The operand.
        expected: Value,
        /// The value found (`null`: missing).
        actual: Value,
    },
}

impl Node {
    /// Whether the node held.
    pub fn held(&self) -> bool {
        match self {
            Node::All { held, .. }
            | Node::Any { held, .. }
            | Node::Not { held, .. }
            | Node::Leaf { held, .. } => *held,
        }
    }
}

/// Why a rule matched a resource or not.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Explanation {
    /// The rule.
    pub rule: String,
    /// Whether the rule's selector picks the resource.
    pub selected: bool,
    /// The condition, explained (`None`: the rule has no `when`).
    pub condition: Option<Node>,
    /// Whether the rule matches (selected and the condition holds).
    pub matched: bool,
    /// Why the resource is exempt, if it is.
    pub exempt: Option<String>,
    /// The in-use window in force, when one of the rule's steps disables a credential
    /// (`45d (default)`, `90d (rule)`, or that the rule allows acting on credentials in use).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_use_window: Option<String>,
    /// What the in-use guard says about this resource's credentials (filled in by the caller
    /// that has the inventory: see `plan::in_use::verdict`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_use: Option<String>,
}

/// Explains `rule` on `record` at `now`; `selected` is whether the selector picked it.
pub fn explain(rule: &Rule, record: &Value, selected: bool, now: DateTime<Utc>) -> Explanation {
    let condition = rule.when.as_ref().map(|c| node(c, record, now));
    let matched = selected && condition.as_ref().is_none_or(Node::held);
    Explanation {
        rule: rule.id.clone(),
        selected,
        condition,
        matched,
        exempt: exempt_reason(&rule.exempt, record),
        in_use_window: rule
            .steps
            .iter()
            .any(|s| s.name.disables_credential().is_some())
            .then(|| rule.in_use.describe()),
        in_use: None,
    }
}

fn node(c: &Condition, record: &Value, now: DateTime<Utc>) -> Node {
    match c {
        Condition::All(cs) => {
            let children: Vec<Node> = cs.iter().map(|x| node(x, record, now)).collect();
            Node::All {
                held: children.iter().all(Node::held),
                children,
            }
        }
        Condition::Any(cs) => {
            let children: Vec<Node> = cs.iter().map(|x| node(x, record, now)).collect();
            Node::Any {
                held: children.iter().any(Node::held),
                children,
            }
        }
        Condition::Not(x) => {
            let child = node(x, record, now);
            Node::Not {
                held: !child.held(),
                child: Box::new(child),
            }
        }
        Condition::Leaf(leaf) => {
            let (held, path, actual) = leaf_holds(leaf, record, now);
            Node::Leaf {
                held,
                path: path.text().to_string(),
                op: leaf.op_name.to_string(),
                expected: (*leaf.operand).clone(),
                actual,
            }
        }
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 100 {
        let cut: String = s.chars().take(97).collect();
        format!("{cut}...")
    } else {
        s
    }
}

/// The explanation as indented text.
pub fn render(e: &Explanation, resource: &str) -> String {
    let mut out = String::new();
    let mark = |b: bool| if b { "[held]    " } else { "[not held]" };
    let _ = writeln!(
        out,
        "rule {} on {resource}: {}",
        e.rule,
        if e.matched && e.exempt.is_none() {
            "MATCHES"
        } else if e.matched {
            "matches, but the resource is exempt"
        } else {
            "does not match"
        }
    );
    if !e.selected {
        let _ = writeln!(out, "  the rule's `select` does not pick this resource");
    }
    fn walk(n: &Node, depth: usize, out: &mut String, mark: &dyn Fn(bool) -> &'static str) {
        let pad = "  ".repeat(depth + 1);
        match n {
            Node::All { held, children } | Node::Any { held, children } => {
                let word = if matches!(n, Node::All { .. }) {
                    "all of"
                } else {
                    "any of"
                };
                let _ = writeln!(out, "{pad}{} {word}:", mark(*held));
                for c in children {
                    walk(c, depth + 1, out, mark);
                }
            }
            Node::Not { held, child } => {
                let _ = writeln!(out, "{pad}{} not:", mark(*held));
                walk(child, depth + 1, out, mark);
            }
            Node::Leaf {
                held,
                path,
                op,
                expected,
                actual,
            } => {
                let _ = writeln!(
                    out,
                    "{pad}{} {path} {op} {}   (found: {})",
                    mark(*held),
                    short(expected),
                    if actual.is_null() {
                        "nothing".to_string()
                    } else {
                        short(actual)
                    }
                );
            }
        }
    }
    match &e.condition {
        Some(n) => walk(n, 0, &mut out, &mark),
        None => {
            let _ = writeln!(out, "  (no `when`: every selected resource matches)");
        }
    }
    if let Some(why) = &e.exempt {
        let _ = writeln!(out, "  {why}");
    }
    if let Some(w) = &e.in_use_window {
        let _ = writeln!(out, "  in-use window: {w}");
    }
    if let Some(v) = &e.in_use {
        let _ = writeln!(out, "  in-use guard: {v}");
    }
    out
}
