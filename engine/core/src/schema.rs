//! The JSON Schemas iamwarden publishes, generated from its Rust types. The committed copies in
//! `schemas/` are kept identical by a test (`cargo run -- schema NAME > schemas/NAME.schema.json`
//! regenerates one).

use serde_json::Value;

/// The schemas by name.
pub const NAMES: [&str; 8] = [
    "rule-pack",
    "rule-tests",
    "inventory",
    "plan",
    "plan-signature",
    "explanation",
    "validation",
    "rule-list",
];

/// The schema called `name` (one of [`NAMES`]): the input files (`rule-pack`, `rule-tests`,
/// `inventory`), the plan and its signature, and the JSON outputs of `explain`
/// (`explanation`), `validate` (`validation`) and `rules list` (`rule-list`).
pub fn by_name(name: &str) -> Option<Value> {
    let schema = match name {
        "rule-pack" => return Some(crate::spec::pack_schema()),
        "rule-tests" => schemars::schema_for!(crate::ruletest::TestFile),
        "inventory" => schemars::schema_for!(crate::inventory::Inventory),
        "plan" => schemars::schema_for!(crate::plan::Plan),
        "plan-signature" => schemars::schema_for!(crate::sign::PlanSignature),
        "explanation" => schemars::schema_for!(crate::eval::explain::Explanation),
        "validation" => schemars::schema_for!(crate::render::listing::Validation),
        "rule-list" => schemars::schema_for!(crate::render::listing::RuleList),
        _ => return None,
    };
    let mut value = schema.to_value();
    if name == "rule-tests" {
        crate::spec::strip_nullable(&mut value);
    }
    Some(value)
}

/// The schema as the pretty JSON text that is committed in `schemas/`.
pub fn text(name: &str) -> Option<String> {
    by_name(name).and_then(|v| serde_json::to_string_pretty(&v).ok().map(|s| s + "\n"))
}
