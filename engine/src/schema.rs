//! The JSON Schemas iamwarden publishes, generated from its Rust types. The committed copies in
//! `schemas/` are kept identical by a test (`cargo run -- schema NAME > schemas/NAME.schema.json`
//! regenerates one).

use serde_json::Value;

/// The schemas by name.
pub const NAMES: [&str; 5] = [
    "rule-pack",
    "rule-tests",
    "inventory",
    "plan",
    "plan-signature",
];

/// The schema called `name` (`rule-pack`, `rule-tests`, `inventory`, `plan` or
/// `plan-signature`).
pub fn by_name(name: &str) -> Option<Value> {
    let schema = match name {
        "rule-pack" => schemars::schema_for!(crate::spec::PackSpec),
        "rule-tests" => schemars::schema_for!(crate::ruletest::TestFile),
        "inventory" => schemars::schema_for!(crate::inventory::Inventory),
        "plan" => schemars::schema_for!(crate::plan::Plan),
        "plan-signature" => schemars::schema_for!(crate::sign::PlanSignature),
        _ => return None,
    };
    let mut value = schema.to_value();
    if name == "rule-pack" || name == "rule-tests" {
        strip_nullable(&mut value);
    }
    Some(value)
}

/// Rule packs never need an explicit `null`: leaving a key out means the default. Describing
/// optional fields as their plain type (not "this or null") lets schema errors point inside
/// the value instead of stopping at an `anyOf`.
fn strip_nullable(v: &mut Value) {
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

/// The schema as the pretty JSON text that is committed in `schemas/`.
pub fn text(name: &str) -> Option<String> {
    by_name(name).and_then(|v| serde_json::to_string_pretty(&v).ok().map(|s| s + "\n"))
}
