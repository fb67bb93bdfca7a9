//! The machine-readable outputs of `validate --format json` and `rules list --format json`:
//! stable shapes (schemas `validation` and `rule-list`, committed in `schemas/`), built from a
//! loaded rule set or from the diagnostics that stopped it loading. Pure.

use crate::compile::RuleSet;
use crate::diag::{Diagnostic, Diagnostics};
use schemars::JsonSchema;
use serde::Serialize;

/// What `validate --format json` prints: the packs that loaded, or every problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Validation {
    /// Whether every pack loaded without an error, and, with `--strict`, without a warning
    /// (the exit status is 0 exactly then).
    pub valid: bool,
    /// The packs loaded, in load order (empty when a pack has an error).
    pub packs: Vec<PackSummary>,
    /// How many rules the packs have together.
    pub rules: usize,
    /// Every problem, each located where it is known (empty when the packs loaded).
    pub errors: Vec<Problem>,
    /// What loaded but may not do what the author meant (a template reading an optional
    /// field), each located; `--strict` makes them fail.
    pub warnings: Vec<Problem>,
}

/// One loaded pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct PackSummary {
    /// The pack's name (`builtin/credentials`, `acme/team`).
    pub name: String,
    /// The pack's version.
    pub version: String,
    /// Where it was read from: a path, or `builtin:<file>`.
    pub source: String,
    /// `sha256` of the pack's source text, hex (as plans record it).
    pub sha256: String,
    /// How many rules it contributes.
    pub rules: usize,
}

/// One problem (an error or a warning) in a pack, as `validate` prints it in human form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Problem {
    /// The file (as given, or `builtin:<file>`).
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub col: Option<usize>,
    /// The rule the problem is in.
    pub rule: Option<String>,
    /// The field, as a path inside the rule or pack (`when.all[1].older_than`).
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
    /// A suggestion (`did you mean ...?`).
    pub hint: Option<String>,
}

impl From<&Diagnostic> for Problem {
    fn from(d: &Diagnostic) -> Problem {
        Problem {
            file: d.file.clone(),
            line: d.line,
            col: d.col,
            rule: d.rule.clone(),
            field: d.field.clone(),
            message: d.message.clone(),
            hint: d.hint.clone(),
        }
    }
}

/// What `rules list --format json` prints: one entry per loaded rule, in pack order.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct RuleList {
    /// The rules.
    pub rules: Vec<RuleSummary>,
}

/// One rule as `rules list` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct RuleSummary {
    /// The rule id.
    pub id: String,
    /// The title, parameters filled in.
    pub title: String,
    /// `info`, `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// The collection it selects (`users`, `access_keys`, ...).
    pub selects: String,
    /// The pack it comes from.
    pub pack: String,
    /// The remediation steps it may plan (empty: report only).
    pub remediation: Vec<String>,
    /// Its parameters with their effective values (overrides applied).
    pub params: serde_json::Map<String, serde_json::Value>,
}

/// The validation of a rule set that loaded.
pub fn validation(set: &RuleSet) -> Validation {
    Validation {
        valid: true,
        packs: set
            .packs
            .iter()
            .enumerate()
            .map(|(i, p)| PackSummary {
                name: p.name.clone(),
                version: p.version.clone(),
                source: p.source.clone(),
                sha256: p.sha256.clone(),
                rules: set.rules.iter().filter(|r| r.pack == i).count(),
            })
            .collect(),
        rules: set.rules.len(),
        errors: Vec::new(),
        warnings: set.warnings.iter().map(|w| Problem::from(&w.at)).collect(),
    }
}

/// The validation of packs that failed to load.
pub fn invalid(errors: &Diagnostics) -> Validation {
    Validation {
        valid: false,
        packs: Vec::new(),
        rules: 0,
        errors: errors.0.iter().map(Problem::from).collect(),
        warnings: Vec::new(),
    }
}

/// The rules of a loaded set.
pub fn rule_list(set: &RuleSet) -> RuleList {
    RuleList {
        rules: set
            .rules
            .iter()
            .map(|r| RuleSummary {
                id: r.id.clone(),
                title: r.title.to_string(),
                severity: r.severity.as_str().to_string(),
                selects: r.kind.collection().to_string(),
                pack: set
                    .packs
                    .get(r.pack)
                    .map(|p| p.name.clone())
                    .unwrap_or_default(),
                remediation: r
                    .steps
                    .iter()
                    .map(|s| s.name.as_str().to_string())
                    .collect(),
                params: r.params.clone(),
            })
            .collect(),
    }
}
