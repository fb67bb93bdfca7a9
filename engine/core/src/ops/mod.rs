//! The condition operators: one registry table, one file per operator family.
//!
//! Each [`Operator`] in [`REGISTRY`] holds everything iamwarden knows about one operator: its
//! YAML key, its operand as the docs name it, its description (the JSON Schema's hover text),
//! what it holds for (the docs table), whether it reads a policy document and so honours
//! `include_conditioned`, the operand compile (run once when the pack loads: regexes,
//! durations, globs, lists and names are parsed or checked there, never per resource), and the
//! compiled [`Check`] that evaluation runs. The compiler and the evaluator dispatch through
//! this table; the schema descriptions of a condition, the list of conditioned operators, the
//! "needs an operator" help and the operator table of `docs/rule-language.md` are generated
//! from it.
//!
//! Adding an operator: its `Operator` constant (with its operand's schema, and its `Check`) in
//! its family file and one line in [`REGISTRY`]: [`crate::spec::ConditionSpec`] reads, writes
//! and describes every registered operator from this table.
//!
//! Layer: below `spec`; imports only `diag` and `policy`.

pub mod comparison;
pub mod duration;
pub mod membership;
pub mod policy_doc;
pub mod presence;
pub mod text;
pub mod time;

use chrono::{DateTime, Utc};
use serde_json::Value;
use std::sync::Arc;

/// A compiled operator: the operand parsed once, ready to judge values.
pub trait Check: std::fmt::Debug + Send + Sync {
    /// Whether the operator holds for one value found at the path (never `null`).
    fn holds(&self, value: &Value, now: DateTime<Utc>) -> bool;

    /// Whether the leaf holds when the path has no value; `None`: the leaf's `if_missing`
    /// decides (every operator but the presence ones).
    fn on_missing(&self) -> Option<bool> {
        None
    }

    /// The evidence for the values found, when it is not the values themselves (a policy
    /// check shows its witnesses, not the whole document). Called only with values.
    fn evidence(&self, _values: &[&Value]) -> Option<Value> {
        None
    }
}

/// A compiled operator, shared by the clones of a rule.
pub type Compiled = Arc<dyn Check>;

/// What an operand's compile gets besides the operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// `include_conditioned` (default `true`); only policy-document operators read it.
    pub include_conditioned: bool,
}

/// The operand compile: the operand (parameters already filled in) to a check, or the error
/// message (the caller names the file, rule and field).
pub type CompileFn = fn(&Value, Settings) -> Result<Compiled, String>;

/// One operator.
#[derive(Debug, Clone, Copy)]
pub struct Operator {
    /// The YAML key, e.g. `older_than`.
    pub key: &'static str,
    /// The JSON Schema of the operand as packs write it (the type the schema validates a
    /// pack against before it loads; [`operand_schema`]).
    pub operand_schema: fn(&mut schemars::SchemaGenerator) -> schemars::Schema,
    /// The operand, as the docs table names it, e.g. `duration`.
    pub operand: &'static str,
    /// The description shown in the JSON Schema (editor hover).
    pub description: &'static str,
    /// The docs table's "holds when the value ..." text.
    pub holds_when: &'static str,
    /// A policy-document operator that honours `include_conditioned`.
    pub conditioned: bool,
    /// Compiles the operand.
    pub compile: CompileFn,
}

/// The schema of an operand of type `T` (`operand_schema: super::operand_schema::<bool>`).
pub fn operand_schema<T: schemars::JsonSchema>(
    g: &mut schemars::SchemaGenerator,
) -> schemars::Schema {
    g.subschema_for::<Option<T>>()
}

/// Every operator, in the order the docs, the schema and the messages list them.
pub static REGISTRY: &[Operator] = &[
    comparison::EQ,
    comparison::NE,
    comparison::LT,
    comparison::LE,
    comparison::GT,
    comparison::GE,
    membership::IN,
    membership::NOT_IN,
    membership::CONTAINS,
    text::REGEX,
    text::GLOB,
    presence::EXISTS,
    presence::ABSENT,
    presence::EMPTY,
    time::OLDER_THAN,
    time::NEWER_THAN,
    policy_doc::ADMIN_ACCESS,
    policy_doc::ALLOWS,
    policy_doc::SERVICE_WILDCARDS,
    policy_doc::PASSROLE_ON_ANY_RESOURCE,
    policy_doc::NOT_ACTION_ALLOW,
    policy_doc::NOT_RESOURCE_ALLOW,
    policy_doc::PRIVILEGE_ESCALATION,
    policy_doc::UNKNOWN_ACTIONS,
    policy_doc::INVALID_ARNS,
    policy_doc::GRANTS_ACCESS_LEVEL,
    policy_doc::ANY_PRINCIPAL,
];

/// The operator with this YAML key.
pub fn lookup(key: &str) -> Option<&'static Operator> {
    REGISTRY.iter().find(|o| o.key == key)
}

/// Every operator's key, in registry order.
pub fn keys() -> impl Iterator<Item = &'static str> {
    REGISTRY.iter().map(|o| o.key)
}

/// The keys of the operators that honour `include_conditioned`.
pub fn conditioned_keys() -> impl Iterator<Item = &'static str> {
    REGISTRY.iter().filter(|o| o.conditioned).map(|o| o.key)
}

/// The keys of a condition that are not operators (the tree forms and the leaf's settings).
pub const CONDITION_FIELDS: [&str; 7] = [
    "all",
    "any",
    "not",
    "path",
    "fallback",
    "if_missing",
    "include_conditioned",
];

/// The description of `include_conditioned`, naming the operators it applies to.
pub fn include_conditioned_description() -> String {
    format!(
        "With a policy-document operator ({}): count Allow statements that have a `Condition` \
         (default true: a conditioned Allow grants whenever its condition holds; the evidence \
         names the condition keys). `false` leaves them out.",
        conditioned_keys()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Sets the JSON Schema description of every operator property of a condition (and of
/// `include_conditioned`) from the registry. Used as the schemars transform of
/// `spec::ConditionSpec`.
pub fn describe_condition_schema(schema: &mut schemars::Schema) {
    let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for op in REGISTRY {
        if let Some(Value::Object(p)) = props.get_mut(op.key) {
            p.insert(
                "description".into(),
                Value::String(format!("Operator: {}", op.description)),
            );
        }
    }
    if let Some(Value::Object(p)) = props.get_mut("include_conditioned") {
        p.insert(
            "description".into(),
            Value::String(include_conditioned_description()),
        );
    }
}

/// The begin and end markers of the generated operator table in `docs/rule-language.md`.
pub const DOC_MARKERS: (&str, &str) = (
    "<!-- operators: generated from engine/core/src/ops (UPDATE_GOLDEN=1 cargo test --test generated) -->",
    "<!-- end of generated operators -->",
);

/// The operator table of `docs/rule-language.md` (markdown, between [`DOC_MARKERS`]).
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| Operator | Operand | Holds when the value (one of the values) ... |\n|---|---|---|\n",
    );
    for op in REGISTRY {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            op.key, op.operand, op.holds_when
        ));
    }
    out.push_str(&format!(
        "\n`include_conditioned` applies to {}.\n",
        conditioned_keys()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    out
}

/// `text` with the part between [`DOC_MARKERS`] replaced by [`markdown_table`]; `None` when
/// the markers are missing.
pub fn splice_doc(text: &str) -> Option<String> {
    let (begin, end) = DOC_MARKERS;
    let start = text.find(begin)? + begin.len();
    let stop = start + text.get(start..)?.find(end)?;
    Some(format!(
        "{}\n{}{}",
        text.get(..start)?,
        markdown_table(),
        text.get(stop..)?
    ))
}

/// A check as a compile result.
pub(crate) fn ok<C: Check + 'static>(check: C) -> Result<Compiled, String> {
    Ok(Arc::new(check))
}

/// The operand as a string, or the operator's "must be" message.
pub(crate) fn string(operand: &Value, must: &str) -> Result<String, String> {
    operand
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| must.to_string())
}

/// The operand as `true`/`false`.
pub(crate) fn boolean(operand: &Value) -> Result<bool, String> {
    operand
        .as_bool()
        .ok_or_else(|| "must be true or false".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_lookup_finds_each() {
        let mut seen = std::collections::BTreeSet::new();
        for op in REGISTRY {
            assert!(seen.insert(op.key), "{} twice", op.key);
            assert_eq!(lookup(op.key).map(|o| o.key), Some(op.key));
            assert!(!op.description.is_empty() && !op.holds_when.is_empty());
        }
        assert!(lookup("older_thn").is_none());
    }

    #[test]
    fn the_doc_is_spliced_between_the_markers() {
        let (b, e) = DOC_MARKERS;
        let text = format!("head\n{b}\nstale\n{e}\ntail\n");
        let out = splice_doc(&text).unwrap_or_default();
        assert!(out.starts_with(&format!("head\n{b}\n| Operator")));
        assert!(out.ends_with(&format!("{e}\ntail\n")));
        assert!(!out.contains("stale"));
        assert_eq!(splice_doc("no markers"), None);
    }
}
