//! Reading rule packs: YAML text to [`PackSpec`], with every structural error reported at once,
//! each at `file:line:col`, unknown names answered with "did you mean".
//!
//! First the input limits ([`super::limits`], one linear pass over the text), then three
//! passes: YAML syntax and node positions in one pass ([`super::yaml`], which stops at the
//! first syntax error), the generated
//! JSON Schema (jsonschema, which reports every violation), then typed deserialization.

use super::locate::Locations;
use super::PackSpec;
use crate::diag::{did_you_mean, Diagnostic};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::OnceLock;

/// A parsed pack and the positions of its nodes (for later, semantic errors).
#[derive(Debug, Clone)]
pub struct LoadedPack {
    /// Where it came from (a path, or `builtin:<file>`).
    pub file: String,
    /// The source text.
    pub text: String,
    /// The parsed pack.
    pub spec: PackSpec,
    /// Node positions.
    pub locations: Locations,
}

impl LoadedPack {
    /// A diagnostic positioned at the node `pointer` (a JSON pointer into the pack).
    pub fn diag_at(&self, pointer: &str, message: impl Into<String>) -> Diagnostic {
        let d = Diagnostic::new(&self.file, message);
        match self.locations.nearest(pointer) {
            Some(p) => d.at(&self.text, p.line, p.col),
            None => d,
        }
    }
}

/// A JSON Schema ready to check documents by, with the words its typos are compared with.
pub struct SchemaInfo {
    schema: Value,
    validator: Option<jsonschema::Validator>,
    vocabulary: BTreeSet<String>,
}

impl SchemaInfo {
    /// Compiles `schema` (built once per schema, kept in a `OnceLock` by its user).
    pub fn new(schema: Value) -> SchemaInfo {
        let validator = jsonschema::validator_for(&schema).ok();
        let mut vocabulary = BTreeSet::new();
        collect_vocabulary(&schema, &mut vocabulary);
        SchemaInfo {
            schema,
            validator,
            vocabulary,
        }
    }

    /// Every violation of the schema by `doc` (at most [`MAX_SCHEMA_ERRORS`], then a note),
    /// each at its position in `text`, sorted by position.
    pub fn check(
        &self,
        doc: &Value,
        text: &str,
        file: &str,
        locations: &Locations,
    ) -> Vec<Diagnostic> {
        let mut diags = Vec::new();
        let mut more = false;
        if let Some(validator) = &self.validator {
            // Enough to fix a file by; a hostile one must not cost a diagnostic per node.
            for (i, err) in validator.iter_errors(doc).enumerate() {
                if i == MAX_SCHEMA_ERRORS {
                    more = true;
                    break;
                }
                diags.extend(schema_diagnostics(&err, doc, text, file, locations, self));
            }
        }
        diags.sort_by_key(|d| (d.line, d.col));
        diags.dedup_by(|a, b| a.line == b.line && a.col == b.col && a.message == b.message);
        if more {
            diags.push(Diagnostic::new(
                file,
                format!("more schema errors after the first {MAX_SCHEMA_ERRORS}; fix these first"),
            ));
        }
        diags
    }
}

fn schema_info() -> &'static SchemaInfo {
    static INFO: OnceLock<SchemaInfo> = OnceLock::new();
    INFO.get_or_init(|| SchemaInfo::new(super::pack_schema()))
}

/// Every property name and enum value in the schema: the words a typo is compared with.
fn collect_vocabulary(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Object(props)) = m.get("properties") {
                out.extend(props.keys().cloned());
            }
            if let Some(Value::String(c)) = m.get("const") {
                out.insert(c.clone());
            }
            if let Some(Value::Array(e)) = m.get("enum") {
                out.extend(e.iter().filter_map(Value::as_str).map(str::to_string));
            }
            m.values().for_each(|x| collect_vocabulary(x, out));
        }
        Value::Array(items) => items.iter().for_each(|x| collect_vocabulary(x, out)),
        _ => {}
    }
}

/// The enum values a schema node allows (`enum`, or `oneOf`/`anyOf` of `const`s), following `$ref`.
fn allowed_values(schema: &Value, pointer: &str) -> Vec<String> {
    let root = schema;
    let resolve = |v: &Value| -> Option<Value> {
        let r = v.get("$ref")?.as_str()?;
        root.pointer(r.strip_prefix('#')?).cloned()
    };
    let mut cur = root.clone();
    for tok in pointer.split('/').filter(|t| !t.is_empty()) {
        let next = if tok == "$ref" {
            resolve(&cur)
        } else {
            match &cur {
                Value::Array(a) => tok.parse::<usize>().ok().and_then(|i| a.get(i).cloned()),
                _ => cur.get(tok).cloned(),
            }
        };
        match next {
            Some(n) => cur = n,
            None => return Vec::new(),
        }
    }
    if let Some(r) = resolve(&cur) {
        cur = r;
    }
    // The path may end at the `oneOf`/`anyOf`/`enum` keyword itself.
    if let Value::Array(items) = cur.clone() {
        let keyword = if pointer.ends_with("/enum") {
            "enum"
        } else {
            "oneOf"
        };
        cur = serde_json::json!({ keyword: items });
    }
    let mut out = Vec::new();
    if let Some(Value::Array(e)) = cur.get("enum") {
        out.extend(e.iter().filter_map(Value::as_str).map(str::to_string));
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(Value::Array(alts)) = cur.get(key) {
            for a in alts {
                let a = resolve(a).unwrap_or_else(|| a.clone());
                if let Some(Value::String(c)) = a.get("const") {
                    out.push(c.clone());
                }
                if let Some(Value::Array(e)) = a.get("enum") {
                    out.extend(e.iter().filter_map(Value::as_str).map(str::to_string));
                }
            }
        }
    }
    out
}

/// `/rules/0/when/all/1` as `rules[0].when.all[1]`.
pub fn pointer_to_field(pointer: &str) -> String {
    let mut out = String::new();
    for tok in pointer.split('/').filter(|t| !t.is_empty()) {
        let tok = tok.replace("~1", "/").replace("~0", "~");
        if tok.parse::<usize>().is_ok() {
            out.push_str(&format!("[{tok}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&tok);
        }
    }
    out
}

/// The rule id at `/rules/N/...`, if the document has one there.
fn rule_id_at(doc: &Value, pointer: &str) -> Option<String> {
    let mut toks = pointer.split('/').filter(|t| !t.is_empty());
    if toks.next() != Some("rules") {
        return None;
    }
    let idx = toks.next()?;
    doc.pointer(&format!("/rules/{idx}/id"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The part of a pointer inside a rule (`/rules/3/when/eq` -> `when.eq`), or the whole of it.
fn field_in_rule(pointer: &str) -> String {
    let toks: Vec<&str> = pointer.split('/').filter(|t| !t.is_empty()).collect();
    match toks.as_slice() {
        ["rules", _, rest @ ..] if !rest.is_empty() => pointer_to_field(&rest.join("/")),
        _ => pointer_to_field(pointer),
    }
}

/// Schema errors reported for one pack at most.
pub const MAX_SCHEMA_ERRORS: usize = 100;

/// A document over an input limit, as a diagnostic at its position.
pub fn limit_diagnostic(text: &str, file: &str, e: &super::limits::LimitError) -> Diagnostic {
    let d = Diagnostic::new(file, format!("input limit: {e}; refusing to parse it"));
    match (e.line, e.col) {
        (Some(l), Some(c)) => d.at(text, l, c),
        _ => d,
    }
}

/// Parses and checks one pack. `file` is used in messages only.
pub fn parse_pack(text: &str, file: &str) -> Result<LoadedPack, Vec<Diagnostic>> {
    // Limits first: nothing super-linear may run on a hostile document.
    if let Err(e) = super::limits::check(text, &super::limits::PACK) {
        return Err(vec![limit_diagnostic(text, file, &e)]);
    }
    let (doc, locations) = match super::yaml::parse(text) {
        Ok(d) => (d.value, d.locations),
        Err(e) => return Err(vec![e.diagnostic(text, file)]),
    };
    let diags = schema_info().check(&doc, text, file, &locations);
    if !diags.is_empty() {
        return Err(diags);
    }
    let unknown = unknown_events(&doc, text, file, &locations);
    if !unknown.is_empty() {
        return Err(unknown);
    }
    match serde_json::from_value::<PackSpec>(doc) {
        Ok(spec) => Ok(LoadedPack {
            file: file.to_string(),
            text: text.to_string(),
            spec,
            locations,
        }),
        Err(e) => Err(vec![Diagnostic::new(file, e.to_string())]),
    }
}

/// The `on_events` entries that name no [`EventName`], each at its position and naming its
/// rule (the schema only says they are strings; the type refuses the rest, so they are
/// reported here, where positions are known, rather than by the type's error).
fn unknown_events(doc: &Value, text: &str, file: &str, locations: &Locations) -> Vec<Diagnostic> {
    use crate::event_name::EventName;
    let mut out = Vec::new();
    let rules = doc.get("rules").and_then(Value::as_array);
    for (r, rule) in rules.into_iter().flatten().enumerate() {
        let names = rule.get("on_events").and_then(Value::as_array);
        for (i, name) in names.into_iter().flatten().enumerate() {
            let Some(name) = name.as_str().filter(|n| EventName::parse(n).is_none()) else {
                continue;
            };
            let pointer = format!("/rules/{r}/on_events/{i}");
            let mut d = Diagnostic::new(file, EventName::unknown(name))
                .hint(EventName::hint(name))
                .field(field_in_rule(&pointer));
            if let Some(id) = rule_id_at(doc, &pointer) {
                d = d.rule(&id);
            }
            if let Some(pos) = locations.nearest(&pointer) {
                d = d.at(text, pos.line, pos.col);
            }
            out.push(d);
        }
    }
    out
}

fn schema_diagnostics(
    err: &jsonschema::ValidationError<'_>,
    doc: &Value,
    text: &str,
    file: &str,
    locations: &Locations,
    info: &SchemaInfo,
) -> Vec<Diagnostic> {
    use jsonschema::error::ValidationErrorKind as K;
    let pointer = err.instance_path().as_str().to_string();
    let at = |d: Diagnostic, p: &str, key: bool| {
        let pos = if key {
            locations.key(p)
        } else {
            locations.nearest(p)
        };
        match pos {
            Some(pos) => d.at(text, pos.line, pos.col),
            None => d,
        }
    };
    let with_rule = |d: Diagnostic, p: &str| match rule_id_at(doc, p) {
        Some(id) => d.rule(&id).field(field_in_rule(p)),
        None => d.field(pointer_to_field(p)),
    };
    match err.kind() {
        K::AdditionalProperties { unexpected } => unexpected
            .iter()
            .map(|name| {
                let p = format!("{pointer}/{}", name.replace('~', "~0").replace('/', "~1"));
                let d = Diagnostic::new(file, format!("unknown field `{name}`")).hint(
                    did_you_mean(name, info.vocabulary.iter().map(String::as_str)),
                );
                with_rule(at(d, &p, true), &p)
            })
            .collect(),
        K::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            let d = Diagnostic::new(file, format!("missing field `{name}`"));
            let p = format!("{pointer}/{name}");
            vec![with_rule(at(d, &pointer, false), &p)]
        }
        K::Enum { .. } | K::OneOfNotValid { .. } | K::AnyOf { .. }
            if err.instance().is_string() =>
        {
            let got = err.instance().as_str().unwrap_or_default().to_string();
            let options = allowed_values(&info.schema, err.schema_path().as_str());
            let msg = if options.is_empty() {
                format!("`{got}` is not valid here")
            } else {
                format!(
                    "unknown value `{got}`, expected one of: {}",
                    options.join(", ")
                )
            };
            let d = Diagnostic::new(file, msg)
                .hint(did_you_mean(&got, options.iter().map(String::as_str)));
            vec![with_rule(at(d, &pointer, false), &pointer)]
        }
        _ => {
            let d = Diagnostic::new(file, err.to_string());
            vec![with_rule(at(d, &pointer, false), &pointer)]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        match parse_pack(text, "p.yaml") {
            Ok(_) => Vec::new(),
            Err(ds) => ds.iter().map(|d| d.to_string()).collect(),
        }
    }

    const HEAD: &str = "pack:\n  name: t\n  version: 1.0.0\nrules:\n";

    #[test]
    fn yaml_syntax_error_has_position() {
        let e = errors("pack:\n  name: [unclosed\n");
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("p.yaml:"), "{}", e[0]);
        assert!(e[0].contains("invalid YAML"), "{}", e[0]);
    }

    #[test]
    fn unknown_field_did_you_mean() {
        let text = format!(
            "{HEAD}  - id: r1\n    title: t\n    severity: high\n    select: $.users\n    when:\n      path: $.created_at\n      older_thn: 90d\n"
        );
        let e = errors(&text);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with("p.yaml:11:7: error in rule `r1`, field `when.older_thn`: unknown field `older_thn` (did you mean `older_than`?)"),
            "{}",
            e[0]
        );
    }

    #[test]
    fn an_unknown_event_name_is_an_error_at_its_position_naming_the_rule() {
        let text = format!(
            "{HEAD}  - id: r1\n    title: t\n    severity: high\n    select: $.managed_policies\n    on_events: [CreatePolicy, CreatePolicyVerison]\n"
        );
        let e = errors(&text);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with("p.yaml:9:")
                && e[0].contains("error in rule `r1`, field `on_events[1]`")
                && e[0].contains("`CreatePolicyVerison` is not an event iamwarden reacts to")
                && e[0].contains("did you mean `CreatePolicyVersion`?"),
            "{}",
            e[0]
        );
        let ok = format!(
            "{HEAD}  - id: r1\n    title: t\n    severity: high\n    select: $.managed_policies\n    on_events: [CreatePolicy]\n"
        );
        let pack = parse_pack(&ok, "p.yaml").unwrap();
        assert_eq!(
            pack.spec.rules[0].on_events,
            [crate::event_name::EventName::CreatePolicy]
        );
    }

    #[test]
    fn several_errors_at_once() {
        let text = format!(
            "{HEAD}  - id: r1\n    title: t\n    severity: hihg\n    select: $.users\n  - id: r2\n    severity: low\n    select: $.users\n    remediation:\n      - step: deactivate_key\n"
        );
        let e = errors(&text);
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(
            e[0].contains("p.yaml:7:15")
                && e[0].contains("unknown value `hihg`")
                && e[0].contains("did you mean `high`?"),
            "{}",
            e[0]
        );
        assert!(
            e[1].contains("rule `r2`") && e[1].contains("missing field `title`"),
            "{}",
            e[1]
        );
        assert!(
            e[2].contains("p.yaml:13:15") && e[2].contains("did you mean `deactivate_access_key`?"),
            "{}",
            e[2]
        );
    }

    #[test]
    fn valid_pack_parses() {
        let text =
            format!("{HEAD}  - id: r1\n    title: t\n    severity: high\n    select: $.users\n");
        match parse_pack(&text, "p.yaml") {
            Ok(p) => assert_eq!(p.spec.rules.len(), 1),
            Err(e) => unreachable!("{e:?}"),
        }
    }

    #[test]
    fn schema_errors_are_capped_and_hostile_nesting_is_refused_first() {
        let text = format!("{HEAD}{}", "  - {a: 1}\n".repeat(500));
        let e = errors(&text);
        assert!(e.len() <= MAX_SCHEMA_ERRORS + 1, "{} diagnostics", e.len());
        assert!(e.iter().any(|d| d.contains("more schema errors")), "{e:?}");
        let nested = format!("{}1{}", "{a: ".repeat(100_000), "}".repeat(100_000));
        let t = std::time::Instant::now();
        let e = errors(&nested);
        assert!(
            t.elapsed() < std::time::Duration::from_secs(2),
            "{:?}",
            t.elapsed()
        );
        assert_eq!(e.len(), 1);
        assert!(
            e[0].starts_with("p.yaml:1:253: error: input limit"),
            "{}",
            e[0]
        );
    }
}
