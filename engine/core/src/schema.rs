//! The JSON Schemas iamwarden publishes, generated from its Rust types. The committed copies in
//! `schemas/` are kept identical by a test (`iamwarden schema --write schemas` regenerates them
//! all). Each has a `$id` at a location versioned with the release
//! ([`id`]: the file in the repository at tag `vVERSION`), so editors and validators can point at
//! a schema that does not move.

use serde_json::{Map, Value};

/// The repository the schemas are published from (the workspace's `repository`).
pub const REPOSITORY: &str = "https://github.com/iamwarden/iamwarden";

/// Where the schemas of this version are published: the repository's `schemas/` at the tag
/// `vVERSION`.
pub const BASE_URL: &str = concat!(
    "https://raw.githubusercontent.com/iamwarden/iamwarden/v",
    env!("CARGO_PKG_VERSION"),
    "/schemas/"
);

/// The file name of schema `name` (`rule-pack.schema.json`).
pub fn file_name(name: &str) -> String {
    format!("{name}.schema.json")
}

/// The `$id` of schema `name`: its versioned location ([`BASE_URL`] and [`file_name`]).
pub fn id(name: &str) -> String {
    format!("{BASE_URL}{}", file_name(name))
}

/// Every schema as (file name, committed text): what `iamwarden schema --write DIR` and
/// `iamwarden init` write.
pub fn files() -> Vec<(String, String)> {
    NAMES
        .iter()
        .filter_map(|name| text(name).map(|t| (file_name(name), t)))
        .collect()
}

/// The schemas by name.
pub const NAMES: [&str; 9] = [
    "rule-pack",
    "rule-tests",
    "inventory",
    "plan",
    "plan-signature",
    "explanation",
    "validation",
    "rule-list",
    "accounts",
];

/// The schema called `name` (one of [`NAMES`]): the input files (`rule-pack`, `rule-tests`,
/// `inventory`), the plan and its signature, and the JSON outputs of `explain`
/// (`explanation`), `validate` (`validation`) and `rules list` (`rule-list`), and the
/// organization runs' accounts file (`accounts`).
pub fn by_name(name: &str) -> Option<Value> {
    let schema = match name {
        "rule-pack" => return Some(with_id(crate::spec::pack_schema(), name)),
        "rule-tests" => schemars::schema_for!(crate::ruletest::TestFile),
        "inventory" => schemars::schema_for!(crate::inventory::Inventory),
        "plan" => schemars::schema_for!(crate::plan::Plan),
        "plan-signature" => schemars::schema_for!(crate::sign::PlanSignature),
        "explanation" => schemars::schema_for!(crate::eval::explain::Explanation),
        "validation" => schemars::schema_for!(crate::render::listing::Validation),
        "rule-list" => schemars::schema_for!(crate::render::listing::RuleList),
        "accounts" => schemars::schema_for!(crate::org::AccountsFile),
        _ => return None,
    };
    let mut value = schema.to_value();
    if name == "rule-tests" {
        crate::spec::strip_nullable(&mut value);
        type_the_inventory(&mut value);
    }
    Some(with_id(value, name))
}

/// `$schema`, then `$id`, then the rest.
fn with_id(value: Value, name: &str) -> Value {
    let Value::Object(m) = value else {
        return value;
    };
    let mut out = Map::new();
    if let Some(s) = m.get("$schema") {
        out.insert("$schema".into(), s.clone());
    }
    out.insert("$id".into(), Value::String(id(name)));
    out.extend(m.into_iter().filter(|(k, _)| k != "$schema" && k != "$id"));
    Value::Object(out)
}

/// The rule-tests `inventory:` block is an inventory fragment: the inventory's schema (its
/// definitions merged into the rule-tests schema's) with nothing required (ids, ARNs and dates
/// are filled in from names) and a managed policy's `document:` shorthand (its single default
/// version v1).
fn type_the_inventory(tests: &mut Value) {
    let mut inv = schemars::schema_for!(crate::inventory::Inventory).to_value();
    strip_required(&mut inv);
    let Value::Object(mut inv) = inv else {
        return;
    };
    let defs = match inv.remove("$defs") {
        Some(Value::Object(d)) => d,
        _ => Map::new(),
    };
    inv.remove("$schema");
    inv.remove("title");
    inv.insert(
        "description".into(),
        Value::String(
            "An inventory fragment (schema `inventory`, nothing required): ids, ARNs and \
             creation dates left out are filled in from names."
                .into(),
        ),
    );
    let Some(all) = tests.get_mut("$defs").and_then(Value::as_object_mut) else {
        return;
    };
    for (k, v) in defs {
        all.entry(k).or_insert(v);
    }
    if let Some(props) = all
        .get_mut("ManagedPolicy")
        .and_then(|m| m.get_mut("properties"))
        .and_then(Value::as_object_mut)
    {
        props.insert(
            "document".into(),
            serde_json::json!({
                "description": "Rule tests only: the policy document of the single default \
                                version `v1` (instead of `versions` and `default_version_id`), \
                                parsed or as IAM returns it (JSON text, URL-encoded)."
            }),
        );
    }
    all.insert("InventoryFragment".into(), Value::Object(inv));
    if let Some(field) = all
        .get_mut("TestCase")
        .and_then(|c| c.get_mut("properties"))
        .and_then(|p| p.get_mut("inventory"))
        .and_then(Value::as_object_mut)
    {
        let description = field.get("description").cloned();
        field.clear();
        field.insert("$ref".into(), "#/$defs/InventoryFragment".into());
        if let Some(d) = description {
            field.insert("description".into(), d);
        }
    }
}

fn strip_required(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if m.get("required").is_some_and(Value::is_array) {
                m.remove("required");
            }
            m.values_mut().for_each(strip_required);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_required),
        _ => {}
    }
}

/// The schema as the pretty JSON text that is committed in `schemas/`.
pub fn text(name: &str) -> Option<String> {
    by_name(name).and_then(|v| serde_json::to_string_pretty(&v).ok().map(|s| s + "\n"))
}
