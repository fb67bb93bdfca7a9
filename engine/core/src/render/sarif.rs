//! SARIF 2.1.0 output, for GitHub code scanning and other CI viewers: one result per finding,
//! rule metadata (title, description, references, severity) from the packs. Every result's
//! logical location is the IAM resource (its ARN), and its physical location a line of the
//! user's repository: a rule of the user's own pack at its definition; a built-in rule where
//! the user's pack brings it in (its `overrides` entry, else the `include:` line), since GitHub
//! code scanning shows only results with a file. Built-in rules run with no pack of the user's
//! keep the logical location only.

use crate::compile::RuleSet;
use crate::plan::Plan;
use crate::spec::Severity;
use serde_json::{json, Value};
use std::io::{self, Write};

/// Where a rule is defined: (file URI relative to the repository, 1-based line), or `None` for
/// a rule that is not in the user's repository (a built-in pack).
pub type Locate<'a> = &'a dyn Fn(&str, &str) -> Option<(String, u32)>;

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's `security-severity` (0-10) for a severity.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// Renders the plan's findings as a SARIF 2.1.0 log. `locate(pack_source, rule_id)` says
/// where in the user's repository each rule is written or brought in (`None`: no physical
/// location).
pub fn render_sarif(
    plan: &Plan,
    rules: &RuleSet,
    locate: Locate<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [run(plan, rules, locate)],
    });
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}

/// The `$schema` of the logs written here.
pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// One SARIF run: the plan's findings (one account), the rules' metadata, and
/// `automationDetails.id` `iamwarden/<account-id>/` (code scanning keeps accounts apart by it).
pub fn run(plan: &Plan, rules: &RuleSet, locate: Locate<'_>) -> Value {
    let pack_source = |i: usize| {
        rules
            .packs
            .get(i)
            .map(|p| p.source.as_str())
            .unwrap_or_default()
    };
    let descriptors: Vec<Value> = rules
        .rules
        .iter()
        .map(|r| {
            let mut help = r.description.clone();
            if !r.references.is_empty() {
                help.push_str("\n\nReferences: ");
                help.push_str(&r.references.join("; "));
            }
            let steps: Vec<&str> = r.steps.iter().map(|s| s.name.as_str()).collect();
            json!({
                "id": r.id,
                "name": r.id,
                "shortDescription": {"text": &*r.title},
                "fullDescription": {"text": if r.description.is_empty() { r.title.to_string() } else { r.description.clone() }},
                "help": {"text": help},
                "defaultConfiguration": {"level": level(r.severity)},
                "properties": {
                    "tags": ["security", "iam", r.kind.collection()],
                    "security-severity": security_severity(r.severity),
                    "precision": "high",
                    "pack": rules.packs.get(r.pack).map(|p| format!("{}@{}", p.name, p.version)),
                    "remediation": steps,
                },
            })
        })
        .collect();
    let index_of = |id: &str| rules.rules.iter().position(|r| r.id == id);
    let results: Vec<Value> = plan
        .findings
        .iter()
        .map(|f| {
            let ri = index_of(&f.rule);
            let physical = ri
                .and_then(|i| rules.rules.get(i))
                .and_then(|r| locate(pack_source(r.pack), &r.id));
            let who = f.resource.arn.clone().unwrap_or_else(|| f.resource.id.clone());
            let actions: Vec<String> = f
                .actions
                .iter()
                .filter_map(|id| plan.actions.iter().find(|a| &a.id == id))
                .map(|a| format!("{} {}", a.step(), a.resource.name))
                .collect();
            let mut text = format!("{}: {} {}", f.title, f.resource.kind.collection(), f.resource.name);
            if !actions.is_empty() {
                text.push_str(&format!(". Planned: {}", actions.join(", ")));
            }
            let allowed: Vec<String> = f
                .actions
                .iter()
                .filter_map(|id| plan.actions.iter().find(|a| &a.id == id))
                .filter_map(|a| {
                    a.allowed_in_use
                        .as_ref()
                        .map(|u| format!("{} allowed while in use: {u}", a.step()))
                })
                .collect();
            if !allowed.is_empty() {
                text.push_str(&format!(" ({})", allowed.join("; ")));
            }
            let not_planned: Vec<&crate::plan::Skipped> = plan
                .skipped
                .iter()
                .filter(|s| s.rule == *f.rule && s.resource.id == f.resource.id)
                .filter(|s| s.action.is_some())
                .collect();
            if !not_planned.is_empty() {
                let lines: Vec<String> = not_planned
                    .iter()
                    .map(|s| {
                        let step = s.action.map(|a| a.as_str()).unwrap_or_default();
                        format!("{step} ({})", s.reason)
                    })
                    .collect();
                text.push_str(&format!(". Not planned: {}", lines.join(", ")));
            }
            let mut location = serde_json::Map::new();
            if let Some((uri, line)) = physical {
                location.insert(
                    "physicalLocation".into(),
                    json!({
                        "artifactLocation": {"uri": uri},
                        "region": {"startLine": line},
                    }),
                );
            }
            location.insert(
                "logicalLocations".into(),
                json!([{
                    "name": f.resource.name,
                    "fullyQualifiedName": who,
                    "kind": "resource",
                }]),
            );
            let mut result = json!({
                "ruleId": &*f.rule,
                "ruleIndex": ri,
                "level": level(f.severity),
                "message": {"text": text},
                "locations": [location],
                "partialFingerprints": {
                    "iamwarden/v1": crate::digest::sha256_hex(format!("{}|{}|{}", plan.account_id, f.rule, f.resource.id).as_bytes()),
                },
                "properties": {
                    "account": plan.account_id,
                    "resource_kind": f.resource.kind.collection(),
                    "resource_id": f.resource.id,
                    "evidence": f.evidence,
                    "actions": f.actions,
                },
            });
            if !not_planned.is_empty() {
                result["properties"]["skipped"] = json!(not_planned);
            }
            result
        })
        .collect();
    json!({
        "tool": {"driver": {
            "name": "iamwarden",
            "version": plan.iamwarden_version,
            "informationUri": "https://github.com/iamwarden/iamwarden",
            "rules": descriptors,
        }},
        "automationDetails": {"id": format!("iamwarden/{}/", plan.account_id)},
        "results": results,
    })
}

/// Writes a SARIF 2.1.0 log of many runs, one run at a time: only the run being written is in
/// memory (an organization's log has a run per account). A run that cannot be made stops the
/// log with its error.
pub fn write_log<E>(
    runs: impl IntoIterator<Item = Result<Value, E>>,
    out: &mut dyn Write,
) -> Result<(), E>
where
    E: From<io::Error>,
{
    write!(
        out,
        "{{\n  \"$schema\": \"{SCHEMA}\",\n  \"version\": \"2.1.0\",\n  \"runs\": ["
    )?;
    let mut first = true;
    for r in runs {
        let r = r?;
        out.write_all(if first { b"\n" } else { b",\n" })?;
        first = false;
        let text = serde_json::to_string_pretty(&r).map_err(io::Error::from)?;
        for (i, line) in text.lines().enumerate() {
            if i > 0 {
                out.write_all(b"\n")?;
            }
            write!(out, "    {line}")?;
        }
    }
    out.write_all(if first { b"]\n}\n" } else { b"\n  ]\n}\n" })?;
    Ok(())
}

/// Finds the line of `- id: RULE` (or `id: RULE`) in a pack's text; 1 when not found.
pub fn rule_line(text: &str, rule_id: &str) -> u32 {
    text.lines()
        .position(|l| {
            let t = l.trim_start().trim_start_matches("- ").trim();
            t.strip_prefix("id:")
                .map(str::trim)
                .is_some_and(|v| v.trim_matches(['"', '\'']) == rule_id)
        })
        .and_then(|i| u32::try_from(i + 1).ok())
        .unwrap_or(1)
}

/// The line (1-based) of a pack's top-level `include:` when it brings in the built-in packs
/// (`include: [builtin]`, or `- builtin` / `- builtin:NAME` items below it).
pub fn builtin_include_line(text: &str) -> Option<u32> {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().position(|l| l.starts_with("include:"))?;
    let names_builtin = |t: &str| {
        t.split(|c: char| c == ',' || c == '[' || c == ']' || c.is_whitespace())
            .map(|w| w.trim_matches(['"', '\'']))
            .any(|w| w == "builtin" || w.starts_with("builtin:"))
    };
    let inline = lines[at].trim_start_matches("include:");
    let below = lines[at + 1..]
        .iter()
        .take_while(|l| l.is_empty() || l.starts_with([' ', '-', '#']))
        .filter_map(|l| l.trim_start().strip_prefix("- "));
    let found = names_builtin(inline.split('#').next().unwrap_or_default())
        || below
            .into_iter()
            .any(|item| names_builtin(item.split('#').next().unwrap_or_default()));
    found.then(|| u32::try_from(at + 1).ok()).flatten()
}

/// The line (1-based) of `rule_id`'s entry in a pack's top-level `overrides:` map (its
/// entries are the block's least-indented keys).
pub fn override_line(text: &str, rule_id: &str) -> Option<u32> {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().position(|l| l.starts_with("overrides:"))?;
    let block: Vec<&str> = lines[at + 1..]
        .iter()
        .take_while(|l| l.is_empty() || l.starts_with([' ', '#']))
        .copied()
        .collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let is_entry = |l: &str| !l.trim().is_empty() && !l.trim_start().starts_with('#');
    let level = block
        .iter()
        .filter(|l| is_entry(l))
        .map(|l| indent(l))
        .min()?;
    block
        .iter()
        .position(|l| {
            is_entry(l)
                && indent(l) == level
                && l.split_once(':')
                    .is_some_and(|(k, _)| k.trim().trim_matches(['"', '\'']) == rule_id)
        })
        .and_then(|i| u32::try_from(at + 2 + i).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_rules_are_found_where_the_user_s_pack_brings_them_in() {
        let pack = "pack:\n  name: a\ninclude: [builtin]\n\noverrides:\n  # tighter\n  access-key-unused:\n    params: {days: 45}\n  \"root-without-mfa\": {severity: high}\nrules: []\n";
        assert_eq!(builtin_include_line(pack), Some(3));
        assert_eq!(override_line(pack, "access-key-unused"), Some(7));
        assert_eq!(override_line(pack, "root-without-mfa"), Some(9));
        assert_eq!(
            override_line(pack, "days"),
            None,
            "a nested key is not an override"
        );
        assert_eq!(override_line(pack, "rules"), None);
        let listed = "include:\n  - ./base.yaml\n  - builtin:credentials.yaml # keys\nrules: []\n";
        assert_eq!(builtin_include_line(listed), Some(1));
        assert_eq!(
            builtin_include_line("include: [./base.yaml]\nrules: []\n"),
            None
        );
        assert_eq!(
            builtin_include_line("rules: []\n# include: [builtin]\n"),
            None
        );
    }

    #[test]
    fn a_streamed_log_is_the_log_serde_writes() {
        let runs = vec![
            json!({"a": 1, "b": [1, {"c": "x\ny"}]}),
            json!({"results": []}),
        ];
        let mut out = Vec::new();
        write_log::<io::Error>(runs.iter().cloned().map(Ok), &mut out).unwrap();
        let whole = json!({"$schema": SCHEMA, "version": "2.1.0", "runs": runs});
        let want = serde_json::to_string_pretty(&whole).unwrap() + "\n";
        assert_eq!(String::from_utf8(out).unwrap(), want);
        let mut empty = Vec::new();
        write_log::<io::Error>(std::iter::empty(), &mut empty).unwrap();
        let v: Value = serde_json::from_slice(&empty).unwrap();
        assert_eq!(v["runs"], json!([]));
    }

    #[test]
    fn rule_lines_are_found() {
        let text = "pack: {name: a, version: 1.0.0}\nrules:\n  - id: first\n    title: x\n  - id: \"second\"\n";
        assert_eq!(rule_line(text, "first"), 3);
        assert_eq!(rule_line(text, "second"), 5);
        assert_eq!(rule_line(text, "third"), 1);
    }
}
