//! Rule-pack types: what a platform team writes in YAML, exactly as it is written.
//!
//! These types are the rule-pack language's single source of truth: serde reads packs with
//! them and schemars generates `schemas/rule-pack.schema.json` from them, so their doc comments
//! are the help an editor shows on hover. Nothing here is interpreted; [`crate::compile`] turns
//! a pack into rules that can be evaluated.

pub mod limits;
pub mod load;
pub mod locate;
pub mod yaml;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A rule pack: metadata and rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "iamwarden rule pack")]
pub struct PackSpec {
    /// Who the pack is and which version of it this is.
    pub pack: PackMeta,
    /// Packs whose rules this pack uses as they are (or with `overrides`): `builtin` (every
    /// built-in pack), `builtin/credentials` (one of them), or a path relative to this file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// Changes to included rules, by rule id: other parameter values (e.g. 45 days instead of
    /// 90 for CIS 1.12), another severity, or `disabled: true`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overrides: BTreeMap<String, RuleOverride>,
    /// The rules, evaluated in order.
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
}

/// A change to an included rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleOverride {
    /// Parameter values that replace the rule's defaults (only parameters the rule has).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, Value>,
    /// Another severity for the rule's findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// Leave the rule out.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// Another in-use window for the rule (see the rule's `in_use_window`), e.g. `90d`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_use_window: Option<String>,
    /// Let the rule disable credentials that are in use (see the rule's `allow_in_use`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_in_use: Option<bool>,
}

/// Pack metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PackMeta {
    /// The pack's name, e.g. `acme/credentials`. Rule ids must be unique across loaded packs.
    pub name: String,
    /// The pack's semantic version (`MAJOR.MINOR.PATCH`), recorded in every plan.
    pub version: String,
    /// What the pack is for.
    #[serde(default)]
    pub description: String,
    /// Exemptions that apply to every rule of the pack, in addition to each rule's own.
    #[serde(default)]
    pub exempt: Option<ExemptSpec>,
    /// The oldest iamwarden version this pack works with (`MAJOR.MINOR.PATCH`); an older
    /// iamwarden refuses to load it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_iamwarden: Option<String>,
    /// The in-use guard's window for this pack's rules (a rule's own `in_use_window` wins), e.g.
    /// `45d` (units `s`, `m`, `h`, `d`, `w`). A step that disables or removes a credential is not
    /// planned when that credential was used within the window. Absent: 45 days (CIS's line
    /// between a used and an unused credential). Rules brought in with `include` keep their own
    /// pack's window; change theirs with `overrides`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_use_window: Option<String>,
}

/// How bad a finding is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Fix when convenient.
    Low,
    /// Fix soon.
    Medium,
    /// Fix now.
    High,
    /// An open door.
    Critical,
}

impl Severity {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// One rule: which resources it looks at, when they are in violation, what to do about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// A unique, stable id: lower-case letters, digits, `-`, `_` or `.`, starting with a letter,
    /// e.g. `access-key-unused`.
    pub id: String,
    /// A one-line title; may use `{{params.NAME}}`.
    pub title: String,
    /// How bad a finding of this rule is.
    pub severity: Severity,
    /// Why the rule exists and what its remediation does.
    #[serde(default)]
    pub description: String,
    /// Benchmarks and documents the rule implements, e.g. `CIS AWS Foundations 3.0 1.12`.
    #[serde(default)]
    pub references: Vec<String>,
    /// Tunable values with their defaults, e.g. `days: 90`. Use them as `{{params.days}}` in
    /// condition operands, titles and remediation parameters.
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
    /// A JSONPath over the inventory that selects whole resources of one collection:
    /// `$.users`, `$.access_keys[*]` or `$.access_keys[?(@.status == 'Active')]`. `$.account`
    /// selects the account itself.
    pub select: String,
    /// The condition a selected resource must meet to be a finding. Absent: every selected
    /// resource is a finding.
    #[serde(default)]
    pub when: Option<ConditionSpec>,
    /// Resources this rule never reports or touches (they are listed as skipped, with the reason).
    #[serde(default)]
    pub exempt: Option<ExemptSpec>,
    /// The ordered remediation steps for each finding. Empty: the rule only reports.
    #[serde(default)]
    pub remediation: Vec<StepSpec>,
    /// The most actions this rule may put in one plan. `apply` refuses the whole plan when a
    /// rule asks for more (a rule gone wrong, e.g. a typo in a selector, must not delete a
    /// hundred users). Absent: no cap of the rule's own (`apply --max-actions` still applies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_actions: Option<u32>,
    /// Event mode (`iamwarden event`): the CloudTrail IAM event names this rule reacts to,
    /// e.g. `[CreatePolicy, CreatePolicyVersion]`. The rule then judges the resources such an
    /// event created or changed. Absent: the rule is not used in event mode.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<String>")]
    pub on_events: Vec<crate::event_name::EventName>,
    /// The in-use guard's window for this rule, e.g. `45d` (units `s`, `m`, `h`, `d`, `w`): a
    /// remediation step that disables or removes a credential (`deactivate_access_key`,
    /// `delete_access_key`, `delete_login_profile`, `quarantine_user`, `delete_user`) is not
    /// planned when the credential was used within the window: for a key step that key, for
    /// `delete_login_profile` the password, for `quarantine_user` and `delete_user` any of the
    /// user's active keys or the password. The resource is listed as skipped with the last use.
    /// Absent: the pack's `in_use_window`, else 45 days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_use_window: Option<String>,
    /// `true`: this rule's steps disable credentials even when they are in use (the in-use guard
    /// is off for this rule). Each such action says so in the plan and the diff ("allowed while
    /// in use: last used ..."). Default `false`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_in_use: bool,
}

/// What a missing value means for a leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IfMissing {
    /// The leaf holds when the value is missing.
    Match,
    /// The leaf does not hold when the value is missing (the default).
    NoMatch,
}

/// A condition: exactly one of `all`, `any`, `not`, or a leaf (`path` with one operator).
///
/// A leaf compares the value found at `path` (a JSONPath relative to the selected resource,
/// starting with `$` or `@`) with one operator. A value is *missing* when the path selects
/// nothing or `null`; then `fallback` is tried, and if it is missing too, `if_missing` decides.
/// When a path selects several values, the leaf holds if any of them satisfies the operator.
/// Operands may use `{{params.NAME}}`.
//
// The operators (their keys, operands, meaning, compile and schema) come from the registry in
// `crate::ops`: a condition holds the ones a pack sets as raw operands, and its serde and JSON
// Schema are written by hand from the registry, so an operator is one file and one registry line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConditionSpec {
    /// Holds when every sub-condition holds.
    pub all: Option<Vec<ConditionSpec>>,
    /// Holds when at least one sub-condition holds.
    pub any: Option<Vec<ConditionSpec>>,
    /// Holds when the sub-condition does not.
    pub not: Option<Box<ConditionSpec>>,
    /// Leaf: a JSONPath relative to the resource, e.g. `$.last_used_at`.
    pub path: Option<String>,
    /// Leaf: another path used when `path` is missing.
    pub fallback: Option<String>,
    /// Leaf: what a missing value (after `fallback`) means.
    pub if_missing: Option<IfMissing>,
    /// Leaf: the operators set, in registry order ([`crate::ops::REGISTRY`]): each key with
    /// its operand as written (parameters not yet filled in). A `null` operand is no operator.
    pub operators: Vec<(&'static str, Value)>,
    /// With a policy-document operator: count Allow statements that have a `Condition`.
    pub include_conditioned: Option<BoolOrTemplate>,
}

/// A condition: exactly one of `all`, `any`, `not`, or a leaf (`path` with one operator).
///
/// A leaf compares the value found at `path` (a JSONPath relative to the selected resource,
/// starting with `$` or `@`) with one operator. A value is *missing* when the path selects
/// nothing or `null`; then `fallback` is tried, and if it is missing too, `if_missing` decides.
/// When a path selects several values, the leaf holds if any of them satisfies the operator.
/// Operands may use `{{params.NAME}}`.
// The schema of the fields before the operators (their doc comments, and the struct's, are
// the schema's descriptions); `ConditionSpec`'s schema puts the registry's operators after
// them and `ConditionTail`'s `include_conditioned` last, where they have always been.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ConditionShape {
    /// Holds when every sub-condition holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    all: Option<Vec<ConditionSpec>>,
    /// Holds when at least one sub-condition holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    any: Option<Vec<ConditionSpec>>,
    /// Holds when the sub-condition does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    not: Option<Box<ConditionSpec>>,

    /// Leaf: a JSONPath relative to the resource, e.g. `$.last_used_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    /// Leaf: another path used when `path` is missing, e.g. `$.created_at` for
    /// "last used, or created if never used".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fallback: Option<String>,
    /// Leaf: what a missing value (after `fallback`) means: `no_match` (default) or `match`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    if_missing: Option<IfMissing>,
}

// The schema of the leaf setting after the operators.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct ConditionTail {
    /// With a policy-document operator: count Allow statements that have a `Condition`
    /// (the operators and the help: [`crate::ops::include_conditioned_description`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    include_conditioned: Option<BoolOrTemplate>,
}

/// Every key a condition may have: the tree forms and leaf settings, then the operators.
fn condition_keys() -> &'static [&'static str] {
    static KEYS: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
        let last = "include_conditioned";
        let settings = crate::ops::CONDITION_FIELDS.iter().copied();
        settings
            .clone()
            .filter(|k| *k != last)
            .chain(crate::ops::keys())
            .chain(settings.filter(|k| *k == last))
            .collect()
    });
    KEYS.as_slice()
}

impl JsonSchema for ConditionSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ConditionSpec".into()
    }

    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        // In field order, so the `$defs` come out in the order they always had.
        let mut schema = ConditionShape::json_schema(g);
        let properties = |s: &schemars::Schema| {
            s.get("properties")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        let mut fields = properties(&schema);
        for op in crate::ops::REGISTRY {
            let mut operand = (op.operand_schema)(g);
            operand.insert("description".into(), Value::String(String::new()));
            fields.insert(op.key.to_string(), operand.to_value());
        }
        fields.extend(properties(&ConditionTail::json_schema(g)));
        schema.insert("properties".into(), Value::Object(fields));
        crate::ops::describe_condition_schema(&mut schema);
        schema
    }
}

impl Serialize for ConditionSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        if let Some(v) = &self.all {
            m.serialize_entry("all", v)?;
        }
        if let Some(v) = &self.any {
            m.serialize_entry("any", v)?;
        }
        if let Some(v) = &self.not {
            m.serialize_entry("not", v)?;
        }
        if let Some(v) = &self.path {
            m.serialize_entry("path", v)?;
        }
        if let Some(v) = &self.fallback {
            m.serialize_entry("fallback", v)?;
        }
        if let Some(v) = &self.if_missing {
            m.serialize_entry("if_missing", v)?;
        }
        for (k, v) in &self.operators {
            m.serialize_entry(k, v)?;
        }
        if let Some(v) = &self.include_conditioned {
            m.serialize_entry("include_conditioned", v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for ConditionSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ConditionSpec, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = ConditionSpec;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("struct ConditionSpec")
            }

            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut m: M,
            ) -> Result<ConditionSpec, M::Error> {
                let mut c = ConditionSpec::default();
                while let Some(key) = m.next_key::<String>()? {
                    match key.as_str() {
                        "all" => c.all = m.next_value()?,
                        "any" => c.any = m.next_value()?,
                        "not" => c.not = m.next_value()?,
                        "path" => c.path = m.next_value()?,
                        "fallback" => c.fallback = m.next_value()?,
                        "if_missing" => c.if_missing = m.next_value()?,
                        "include_conditioned" => c.include_conditioned = m.next_value()?,
                        other => match crate::ops::lookup(other) {
                            Some(op) => {
                                let v: Value = m.next_value()?;
                                if !v.is_null() {
                                    c.operators.retain(|(k, _)| *k != op.key);
                                    c.operators.push((op.key, v));
                                }
                            }
                            None => {
                                return Err(serde::de::Error::unknown_field(
                                    other,
                                    condition_keys(),
                                ))
                            }
                        },
                    }
                }
                let rank = |k: &str| crate::ops::REGISTRY.iter().position(|o| o.key == k);
                c.operators.sort_by_key(|(k, _)| rank(k));
                Ok(c)
            }
        }
        d.deserialize_map(Fields)
    }
}

/// `true`/`false`, or a `{{params.NAME}}` template that renders to one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum BoolOrTemplate {
    /// A literal.
    Bool(bool),
    /// A template, e.g. `"{{params.count_conditioned}}"`.
    Template(String),
}

pub use crate::ops::policy_doc::{AllowsSpec, BoolOrList, StringOrList};

/// Resources a rule leaves alone. A resource is exempt when any entry matches.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExemptSpec {
    /// ARN globs (`*`, `?`), e.g. `arn:aws:iam::*:user/break-glass-*`. For keys, MFA devices,
    /// login profiles and inline policies the owner's ARN is matched too.
    #[serde(default)]
    pub arns: Vec<String>,
    /// Resource id or name globs.
    #[serde(default)]
    pub names: Vec<String>,
    /// Tags: a resource (or, for keys, MFA devices, login profiles and inline policies, its
    /// owner) carrying any of these tags is exempt. A value of `*` matches any value.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

pub use crate::steps::StepName;

/// One remediation step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// The step to plan for each finding.
    pub step: StepName,
    /// The step's parameters. Strings may be handlebars templates over `resource`, `params`,
    /// `rule`, `account` and `now`, rendered per resource; `{from: "$.path"}` takes a value from
    /// the resource.
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
    /// Plan this step only when each named rule parameter has the given value, e.g.
    /// `when_params: {action: delete}` lets a team opt in to a destructive step.
    #[serde(default)]
    pub when_params: BTreeMap<String, Value>,
}

/// The rule-pack JSON Schema, generated from [`PackSpec`] (published as
/// `schemas/rule-pack.schema.json`; the loader validates packs against it).
pub fn pack_schema() -> Value {
    let mut value = schemars::schema_for!(PackSpec).to_value();
    strip_nullable(&mut value);
    value
}

/// Rule packs never need an explicit `null`: leaving a key out means the default. Describing
/// optional fields as their plain type (not "this or null") lets schema errors point inside
/// the value instead of stopping at an `anyOf`.
pub fn strip_nullable(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Array(types)) = m.get("type") {
                let rest: Vec<Value> = types
                    .iter()
                    .filter(|t| t.as_str() != Some("null"))
                    .cloned()
                    .collect();
                if rest.len() == 1 {
                    if let Some(t) = rest.into_iter().next() {
                        m.insert("type".to_string(), t);
                    }
                }
            }
            if let Some(Value::Array(alts)) = m.get("anyOf") {
                let rest: Vec<Value> = alts
                    .iter()
                    .filter(|a| a.get("type").and_then(Value::as_str) != Some("null"))
                    .cloned()
                    .collect();
                if rest.len() == 1 && alts.len() == 2 {
                    m.remove("anyOf");
                    if m.get("default") == Some(&Value::Null) {
                        m.remove("default");
                    }
                    if let Some(Value::Object(inner)) = rest.into_iter().next() {
                        for (k, x) in inner {
                            m.entry(k).or_insert(x);
                        }
                    }
                }
            }
            if m.get("default") == Some(&Value::Null) {
                m.remove("default");
            }
            m.values_mut().for_each(strip_nullable);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nullable),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// A condition reads every registered operator (in registry order, whatever the YAML's),
    /// takes a `null` operand for none, writes back what it read, and refuses an unknown key
    /// naming every key it knows.
    #[test]
    fn a_condition_reads_and_writes_the_registered_operators() {
        let c: ConditionSpec = serde_json::from_value(serde_json::json!({
            "path": "$.x", "newer_than": "1d", "eq": null, "older_than": "2d",
            "include_conditioned": false,
        }))
        .unwrap_or_default();
        assert_eq!(
            c.operators,
            vec![
                ("older_than", Value::from("2d")),
                ("newer_than", Value::from("1d"))
            ]
        );
        assert_eq!(
            serde_json::to_string(&c).ok().as_deref(),
            Some(
                r#"{"path":"$.x","older_than":"2d","newer_than":"1d","include_conditioned":false}"#
            )
        );
        let err = serde_json::from_value::<ConditionSpec>(serde_json::json!({"older_thn": "1d"}))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with("unknown field `older_thn`, expected one of `all`, `any`, `not`, `path`, `fallback`, `if_missing`, `eq`,")
                && err.ends_with("`any_principal`, `include_conditioned`"),
            "{err}"
        );
    }

    /// The YAML fields of a condition are exactly the registered operators plus the tree forms
    /// and leaf settings: an operator field without a registry entry would be accepted by the
    /// loader and silently never evaluated, and a registry entry without a field never parsed.
    #[test]
    fn condition_fields_are_the_registered_operators_and_the_leaf_settings() {
        let schema = serde_json::to_value(schemars::schema_for!(ConditionSpec)).unwrap_or_default();
        let fields: BTreeSet<String> = schema["properties"]
            .as_object()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        let registered: BTreeSet<String> = crate::ops::keys()
            .chain(crate::ops::CONDITION_FIELDS)
            .map(str::to_string)
            .collect();
        assert!(!fields.is_empty(), "the condition schema has properties");
        assert_eq!(
            fields, registered,
            "ConditionSpec fields vs ops::REGISTRY keys + ops::CONDITION_FIELDS"
        );
    }
}
