//! Rule tests: `NAME.tests.yaml` beside the pack `NAME.yaml`. Each case gives an inventory
//! fragment (or a snapshot file), an optional clock and parameter overrides, and what each rule
//! must match, must not match, and (optionally) exactly which actions it must plan. Running a
//! case loads the pack, applies the overrides, evaluates, plans, and compares; a failure says
//! what differed and, for a resource that did not behave as expected, the rule's explanation.
//!
//! Inventory fragments may leave out what a rule does not look at: ids, ARNs and dates are
//! filled in from names (`users: [{name: alice}]` is enough).

use crate::diag::Diagnostic;
use crate::inventory::{Inventory, ResourceKind};
use crate::spec::load::LoadedPack;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A `*.tests.yaml` file.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    /// The cases.
    pub tests: Vec<TestCase>,
}

/// One case.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    /// What the case shows, e.g. `a key unused for 100 days is flagged`.
    pub name: String,
    /// The evaluation clock (default `2026-01-01T00:00:00Z`, so cases are reproducible).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now: Option<DateTime<Utc>>,
    /// Parameter overrides per rule id, e.g. `{access-key-unused: {days: 45}}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, BTreeMap<String, Value>>,
    /// An inventory fragment: any of the inventory's collections (and `account`). Ids, ARNs and
    /// creation dates may be left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<Value>,
    /// A snapshot file instead (relative to the tests file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    /// Per rule id: what must happen.
    pub expect: BTreeMap<String, Expectation>,
}

/// What one rule must do in a case.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// Resources (id, name or ARN) the rule must flag.
    #[serde(default, rename = "match", skip_serializing_if = "Vec::is_empty")]
    pub must_match: Vec<String>,
    /// Resources it must not flag (exempt resources count as not flagged).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub no_match: Vec<String>,
    /// Exactly the actions planned for this rule's findings, as `step resource-name`
    /// (e.g. `deactivate_access_key AKIA...`), in any order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<String>>,
    /// Exactly the steps this rule asked for but that were not planned, as `step resource-name`
    /// (e.g. `deactivate_access_key AKIA...` for a key the in-use guard protects), in any order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<Vec<String>>,
}

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseResult {
    /// The tests file.
    pub file: String,
    /// The case's name.
    pub name: String,
    /// What differed (empty: passed).
    pub failures: Vec<String>,
}

impl CaseResult {
    /// Whether the case passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The pack a tests file belongs to: `x.tests.yaml` -> `x.yaml` (or `x.yml`).
pub fn pack_of(tests: &Path) -> Option<PathBuf> {
    let name = tests.file_name()?.to_str()?;
    let stem = name
        .strip_suffix(".tests.yaml")
        .or_else(|| name.strip_suffix(".tests.yml"))?;
    ["yaml", "yml"]
        .iter()
        .map(|ext| tests.with_file_name(format!("{stem}.{ext}")))
        .find(|p| p.exists())
}

/// Every tests file under `paths` (files as given, directories walked).
pub fn discover(paths: &[PathBuf]) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".tests.yaml") || n.ends_with(".tests.yml"))
            {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out);
        } else {
            out.push(p.clone());
        }
    }
    out
}

const DEFAULT_NOW: &str = "2026-01-01T00:00:00Z";
const ACCOUNT: &str = "123456789012";

/// Fills in what a fragment left out (ids, ARNs, creation dates) so it is a whole inventory.
pub fn complete_inventory(fragment: &Value) -> Value {
    let mut inv = fragment.as_object().cloned().unwrap_or_default();
    let account = inv
        .get("account")
        .and_then(|a| a.get("id"))
        .and_then(Value::as_str)
        .unwrap_or(ACCOUNT)
        .to_string();
    let acct = inv.entry("account").or_insert_with(|| json!({}));
    if let Some(a) = acct.as_object_mut() {
        a.entry("id").or_insert_with(|| json!(account));
    }
    let old = json!("2020-01-01T00:00:00Z");
    let fill = |list: &mut Value, f: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        if let Some(items) = list.as_array_mut() {
            for item in items.iter_mut().filter_map(Value::as_object_mut) {
                f(item);
            }
        }
    };
    let name_of = |m: &serde_json::Map<String, Value>| {
        m.get("name")
            .and_then(Value::as_str)
            .unwrap_or("x")
            .to_string()
    };
    let ident = |prefix: &str, name: &str| {
        format!(
            "{prefix}{}",
            name.to_uppercase()
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
        )
    };
    for (key, list) in inv.iter_mut() {
        match key.as_str() {
            "users" => fill(list, &|m| {
                let n = name_of(m);
                m.entry("id").or_insert_with(|| json!(ident("AIDA", &n)));
                m.entry("arn")
                    .or_insert_with(|| json!(format!("arn:aws:iam::{account}:user/{n}")));
                m.entry("created_at").or_insert_with(|| old.clone());
            }),
            "groups" => fill(list, &|m| {
                let n = name_of(m);
                m.entry("id").or_insert_with(|| json!(ident("AGPA", &n)));
                m.entry("arn")
                    .or_insert_with(|| json!(format!("arn:aws:iam::{account}:group/{n}")));
                m.entry("created_at").or_insert_with(|| old.clone());
            }),
            "roles" => fill(list, &|m| {
                let n = name_of(m);
                m.entry("id").or_insert_with(|| json!(ident("AROA", &n)));
                m.entry("arn")
                    .or_insert_with(|| json!(format!("arn:aws:iam::{account}:role/{n}")));
                m.entry("created_at").or_insert_with(|| old.clone());
                m.entry("trust_policy").or_insert_with(|| json!({}));
            }),
            "access_keys" => fill(list, &|m| {
                m.entry("status").or_insert_with(|| json!("Active"));
                m.entry("created_at").or_insert_with(|| old.clone());
            }),
            "login_profiles" => fill(list, &|m| {
                let u = m
                    .get("user")
                    .and_then(Value::as_str)
                    .unwrap_or("x")
                    .to_string();
                m.entry("id").or_insert_with(|| json!(u));
                m.entry("created_at").or_insert_with(|| old.clone());
            }),
            "managed_policies" => fill(list, &|m| {
                let n = name_of(m);
                let arn = m
                    .get("arn")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("arn:aws:iam::{account}:policy/{n}"));
                m.entry("id").or_insert_with(|| json!(arn));
                m.entry("arn").or_insert_with(|| json!(arn));
                // `document:` is the single default version v1.
                if let Some(doc) = m.remove("document") {
                    m.entry("default_version_id").or_insert_with(|| json!("v1"));
                    m.entry("versions").or_insert_with(
                        || json!([{"version_id": "v1", "is_default": true, "created_at": "2020-01-01T00:00:00Z", "document": doc}]),
                    );
                }
            }),
            "inline_policies" => fill(list, &|m| {
                let kind = m
                    .get("owner_kind")
                    .and_then(Value::as_str)
                    .unwrap_or("user")
                    .to_string();
                let owner = m
                    .get("owner")
                    .and_then(Value::as_str)
                    .unwrap_or("x")
                    .to_string();
                let n = name_of(m);
                m.entry("owner_kind").or_insert_with(|| json!(kind));
                m.entry("id")
                    .or_insert_with(|| json!(format!("{kind}/{owner}/{n}")));
            }),
            _ => {}
        }
    }
    Value::Object(inv)
}

fn fail(file: &str, name: &str, why: String) -> CaseResult {
    CaseResult {
        file: file.to_string(),
        name: name.to_string(),
        failures: vec![why],
    }
}

/// Reads a tests file: input limits, YAML, the `rule-tests` schema (every violation at its
/// `file:line:col`), then the typed read.
pub fn parse_file(tests_file: &str, text: &str) -> Result<TestFile, Vec<Diagnostic>> {
    use crate::spec::{limits, load, yaml};
    use std::sync::OnceLock;
    if let Err(e) = limits::check(text, &limits::RULE_TESTS) {
        return Err(vec![load::limit_diagnostic(text, tests_file, &e)]);
    }
    let doc = yaml::parse(text).map_err(|e| vec![e.diagnostic(text, tests_file)])?;
    static SCHEMA: OnceLock<load::SchemaInfo> = OnceLock::new();
    let schema = SCHEMA.get_or_init(|| {
        load::SchemaInfo::new(crate::schema::by_name("rule-tests").unwrap_or_default())
    });
    let diags = schema.check(&doc.value, text, tests_file, &doc.locations);
    if !diags.is_empty() {
        return Err(diags);
    }
    serde_json::from_value(doc.value).map_err(|e| vec![Diagnostic::new(tests_file, e.to_string())])
}

/// Runs every case of a tests file against its pack. `packs` is what loading the pack gave:
/// the packs it includes, then the pack itself; cases may test any of their rules.
pub fn run_file(
    tests_file: &str,
    text: &str,
    packs: &[LoadedPack],
) -> Result<Vec<CaseResult>, Vec<Diagnostic>> {
    let file = parse_file(tests_file, text)?;
    let dir = Path::new(tests_file).parent().unwrap_or(Path::new("."));
    Ok(file
        .tests
        .iter()
        .map(|case| run_case(tests_file, dir, case, packs))
        .collect())
}

fn run_case(tests_file: &str, dir: &Path, case: &TestCase, packs: &[LoadedPack]) -> CaseResult {
    let mut packs = packs.to_vec();
    for (rule, params) in &case.params {
        let target = packs
            .iter_mut()
            .flat_map(|p| p.spec.rules.iter_mut())
            .find(|r| &r.id == rule);
        match target {
            Some(r) => r
                .params
                .extend(params.iter().map(|(k, v)| (k.clone(), v.clone()))),
            None => {
                return fail(
                    tests_file,
                    &case.name,
                    format!("params: the pack has no rule `{rule}`"),
                )
            }
        }
    }
    for rule in case.expect.keys() {
        if !packs
            .iter()
            .flat_map(|p| p.spec.rules.iter())
            .any(|r| &r.id == rule)
        {
            return fail(
                tests_file,
                &case.name,
                format!("expect: the pack has no rule `{rule}`"),
            );
        }
    }
    let set = match crate::compile::compile(&packs) {
        Ok(s) => s,
        Err(ds) => {
            let msgs: Vec<String> = ds.iter().map(ToString::to_string).collect();
            return fail(
                tests_file,
                &case.name,
                format!(
                    "the pack does not load with these params:\n{}",
                    msgs.join("\n")
                ),
            );
        }
    };
    let inv: Inventory = match (&case.inventory, &case.snapshot) {
        (Some(fragment), None) => {
            match serde_json::from_value::<Inventory>(complete_inventory(fragment)) {
                Ok(mut inv) => {
                    inv.normalize();
                    inv
                }
                Err(e) => return fail(tests_file, &case.name, format!("inventory: {e}")),
            }
        }
        (None, Some(path)) => match crate::inventory::snapshot::load(&dir.join(path)) {
            Ok(inv) => inv,
            Err(e) => return fail(tests_file, &case.name, format!("snapshot: {e}")),
        },
        _ => {
            return fail(
                tests_file,
                &case.name,
                "give exactly one of `inventory` and `snapshot`".into(),
            )
        }
    };
    let now = case.now.unwrap_or_else(|| {
        DateTime::parse_from_rfc3339(DEFAULT_NOW)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    });
    let plan = crate::pipeline::make_plan(&set, &inv, now, now);
    let mut failures = Vec::new();
    for (rule_id, want) in &case.expect {
        let Some(rule) = set.rules.iter().find(|r| &r.id == rule_id) else {
            continue;
        };
        let flagged: Vec<&crate::inventory::ResourceRef> = plan
            .findings
            .iter()
            .filter(|f| &*f.rule == rule_id)
            .map(|f| &f.resource)
            .collect();
        let names: Vec<&str> = flagged.iter().map(|r| r.name.as_str()).collect();
        let is = |key: &str| {
            flagged
                .iter()
                .any(|r| r.id == key || r.name == key || r.arn.as_deref() == Some(key))
        };
        let why = |key: &str| -> String {
            match crate::eval::find_record(&inv, rule.kind, key) {
                None => format!(
                    "    (no {} named `{key}` in the inventory)",
                    rule.kind.collection()
                ),
                Some(i) => crate::eval::explain_record(rule, &inv, i, now)
                    .map(|e| {
                        crate::eval::explain::render(&e, key)
                            .lines()
                            .map(|l| format!("    {l}"))
                            .collect::<Vec<_>>()
                            .join("\n")
                    })
                    .unwrap_or_default(),
            }
        };
        // A key that names nothing in the case's inventory would make `no_match` pass while
        // checking nothing (and `match` fail for the wrong reason): say so, with the closest name.
        for key in want.must_match.iter().chain(&want.no_match) {
            if crate::eval::find_record(&inv, rule.kind, key).is_none() {
                failures.push(not_in_inventory(&inv, rule.kind, key));
            }
        }
        for entry in want.actions.iter().flatten() {
            let Some((_, key)) = entry.split_once(' ') else {
                failures.push(format!(
                    "actions: `{entry}` is not `step resource-name` (e.g. `deactivate_access_key AKIA...`)"
                ));
                continue;
            };
            let key = key.trim();
            let known = ResourceKind::ALL
                .iter()
                .any(|&k| crate::eval::find_record(&inv, k, key).is_some());
            if !known {
                failures.push(format!(
                    "actions: `{entry}` names {}",
                    not_in_inventory(&inv, rule.kind, key)
                ));
            }
        }
        for key in &want.must_match {
            if !is(key) && crate::eval::find_record(&inv, rule.kind, key).is_some() {
                failures.push(format!(
                    "{rule_id} must match {key}, but did not (it matched: {names:?})\n{}",
                    why(key)
                ));
            }
        }
        for key in &want.no_match {
            if is(key) {
                failures.push(format!(
                    "{rule_id} must not match {key}, but did\n{}",
                    why(key)
                ));
            }
        }
        if let Some(expected) = &want.actions {
            let mut got: Vec<String> = plan
                .actions
                .iter()
                .filter(|a| a.rules.iter().any(|r| r == rule_id))
                .map(|a| format!("{} {}", a.step(), a.resource.name))
                .collect();
            got.sort();
            let mut exp = expected.clone();
            exp.sort();
            if got != exp {
                let missing: Vec<&String> = exp.iter().filter(|e| !got.contains(e)).collect();
                let extra: Vec<&String> = got.iter().filter(|g| !exp.contains(g)).collect();
                failures.push(format!(
                    "{rule_id} planned other actions: missing {missing:?}, unexpected {extra:?}"
                ));
            }
        }
        if let Some(expected) = &want.skipped {
            let mut got: Vec<String> = plan
                .skipped
                .iter()
                .filter(|s| s.rule == *rule_id)
                .filter_map(|s| s.action.map(|a| format!("{a} {}", s.resource.name)))
                .collect();
            got.sort();
            let mut exp = expected.clone();
            exp.sort();
            if got != exp {
                let missing: Vec<&String> = exp.iter().filter(|e| !got.contains(e)).collect();
                let extra: Vec<&String> = got.iter().filter(|g| !exp.contains(g)).collect();
                let reasons: Vec<String> = plan
                    .skipped
                    .iter()
                    .filter(|s| s.rule == *rule_id)
                    .map(|s| format!("{}: {}", s.resource.name, s.reason))
                    .collect();
                failures.push(format!(
                    "{rule_id} skipped other steps: missing {missing:?}, unexpected {extra:?} ({})",
                    reasons.join("; ")
                ));
            }
        }
    }
    CaseResult {
        file: tests_file.to_string(),
        name: case.name.clone(),
        failures,
    }
}

/// "`devz` is not in this case's inventory (did you mean `devs`?)": the names of the rule's
/// collection (ids, names and ARNs) are the candidates.
fn not_in_inventory(inv: &Inventory, kind: ResourceKind, key: &str) -> String {
    let mut names: Vec<String> = Vec::new();
    for i in 0..inv.len_of(kind) {
        if let Some(r) = inv.resource_ref(kind, i) {
            names.push(r.id.clone());
            names.push(r.name.clone());
            names.extend(r.arn.clone());
        }
    }
    let hint = crate::diag::did_you_mean(key, names.iter().map(String::as_str))
        .map(|h| format!(" ({h})"))
        .unwrap_or_default();
    format!(
        "`{key}` is not in this case's inventory{hint}: a name that matches nothing checks nothing"
    )
}

/// Test results as JUnit XML (one testsuite per tests file), with `errors`: tests files that
/// could not be run at all (a broken pack or tests file), each an `<error>` case of its file, so
/// a CI report shows them instead of an empty file.
pub fn junit(results: &[CaseResult], errors: &[(String, String)]) -> String {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut by_file: BTreeMap<&str, TestSuite> = BTreeMap::new();
    for r in results {
        let suite = by_file
            .entry(r.file.as_str())
            .or_insert_with(|| TestSuite::new(r.file.as_str()));
        let status = if r.passed() {
            TestCaseStatus::success()
        } else {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(
                r.failures
                    .first()
                    .and_then(|f| f.lines().next())
                    .unwrap_or_default(),
            );
            s.set_description(r.failures.join("\n"));
            s
        };
        let mut case = TestCase::new(r.name.as_str(), status);
        case.set_classname(r.file.as_str());
        suite.add_test_case(case);
    }
    for (file, message) in errors {
        let suite = by_file
            .entry(file.as_str())
            .or_insert_with(|| TestSuite::new(file.as_str()));
        let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
        s.set_message(message.lines().next().unwrap_or_default());
        s.set_description(message.as_str());
        let mut case = TestCase::new("(the tests could not run)", s);
        case.set_classname(file.as_str());
        suite.add_test_case(case);
    }
    let mut report = Report::new("iamwarden");
    report.add_test_suites(by_file.into_values());
    report
        .to_string()
        .map(|xml| without_top_level_skipped(&xml))
        .unwrap_or_else(|e| format!("<!-- JUnit serialization failed: {e} -->\n"))
}

/// `xml` without the `skipped` attribute of its `<testsuites>` element: quick-junit always
/// writes it, and the JUnit XSD CI tools validate against (Jenkins xunit-plugin's
/// `junit-10.xsd`, tests/support/) allows it on `<testsuite>` only. Rule tests never skip, and
/// each `<testsuite>` keeps its own count.
fn without_top_level_skipped(xml: &str) -> String {
    let Some(start) = xml.find("<testsuites ") else {
        return xml.to_string();
    };
    let end = xml[start..].find('>').map_or(xml.len(), |e| start + e);
    let tag = &xml[start..end];
    let Some(at) = tag.find(" skipped=\"") else {
        return xml.to_string();
    };
    let value_end = tag[at + 10..]
        .find('"')
        .map_or(tag.len(), |e| at + 10 + e + 1);
    format!("{}{}{}", &xml[..start + at], &tag[value_end..], &xml[end..])
}

/// The kinds a fragment may hold (for messages).
pub fn collections() -> Vec<&'static str> {
    ResourceKind::ALL.iter().map(|k| k.collection()).collect()
}

#[cfg(test)]
mod junit_tests {
    use super::without_top_level_skipped;

    #[test]
    fn only_the_top_level_skipped_attribute_goes() {
        let xml = "<?xml version=\"1.0\"?>\n<testsuites name=\"iamwarden\" tests=\"2\" skipped=\"0\" failures=\"1\" errors=\"0\">\n<testsuite name=\"a\" tests=\"2\" skipped=\"0\" failures=\"1\" errors=\"0\">";
        assert_eq!(
            without_top_level_skipped(xml),
            "<?xml version=\"1.0\"?>\n<testsuites name=\"iamwarden\" tests=\"2\" failures=\"1\" errors=\"0\">\n<testsuite name=\"a\" tests=\"2\" skipped=\"0\" failures=\"1\" errors=\"0\">"
        );
        assert_eq!(without_top_level_skipped("<x/>"), "<x/>");
    }
}
