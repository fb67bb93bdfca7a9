//! Text operators: `regex` (compiled once at load) and `glob`.

use super::{ok, string, Check, Operator};
use crate::policy::wildcard_match;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// `regex`.
pub const REGEX: Operator = Operator {
    key: "regex",
    operand_schema: super::operand_schema::<String>,
    operand: "string",
    description: "a string matching this regular expression (Rust `regex` syntax, unanchored).",
    holds_when: "is a string matching the regular expression (unanchored)",
    conditioned: false,
    compile: |v, _| {
        let text = string(v, "must be a string")?;
        let re = regex::Regex::new(&text).map_err(|e| format!("invalid regex: {e}"))?;
        ok(Regex(re))
    },
};

/// `glob`.
pub const GLOB: Operator = Operator {
    key: "glob",
    operand_schema: super::operand_schema::<String>,
    operand: "string",
    description: "a string matching this glob (`*` any run, `?` one character, case-sensitive).",
    holds_when: "is a string matching the glob (whole string)",
    conditioned: false,
    compile: |v, _| ok(Glob(string(v, "must be a string")?)),
};

/// `regex`.
#[derive(Debug, Clone)]
pub struct Regex(regex::Regex);

impl Check for Regex {
    fn holds(&self, v: &Value, _now: DateTime<Utc>) -> bool {
        v.as_str().is_some_and(|s| self.0.is_match(s))
    }
}

/// `glob`.
#[derive(Debug, Clone)]
pub struct Glob(String);

impl Check for Glob {
    fn holds(&self, v: &Value, _now: DateTime<Utc>) -> bool {
        v.as_str()
            .is_some_and(|s| wildcard_match(&self.0, s, false))
    }
}
