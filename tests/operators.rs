//! Rule semantics, table-driven: every condition operator, missing values, fallback,
//! if_missing, all/any/not, several values, parameters, selector filters and policy operators,
//! each through a real pack evaluated on a small inventory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;

const NOW: &str = "2026-11-01T00:00:00Z";

fn inventory() -> iamwarden::inventory::Inventory {
    let doc = json!({
        "account": {"id": "111122223333"},
        "users": [
            {"id": "AIDA1", "arn": "arn:aws:iam::111122223333:user/alice", "name": "alice",
             "created_at": "2026-01-01T00:00:00Z", "password_last_used_at": "2026-08-03T00:00:00Z",
             "groups": ["devs", "ops"], "tags": {"team": "platform", "cost": "42"}},
            {"id": "AIDA2", "arn": "arn:aws:iam::111122223333:user/svc/bob", "name": "bob", "path": "/svc/",
             "created_at": "2025-11-01T00:00:00Z", "tags": {}}
        ],
        "access_keys": [
            {"id": "AKIA1", "user": "alice", "status": "Active", "created_at": "2026-08-03T00:00:00Z",
             "last_used_at": "2026-10-31T00:00:00Z"},
            {"id": "AKIA2", "user": "bob", "status": "Inactive", "created_at": "2025-11-01T00:00:00Z"}
        ],
        "managed_policies": [
            {"id": "arn:aws:iam::111122223333:policy/p", "arn": "arn:aws:iam::111122223333:policy/p",
             "name": "p", "default_version_id": "v1",
             "versions": [{"version_id": "v1", "document": {"Statement": [
                {"Effect": "Allow", "Action": ["iam:PassRole", "s3:*"], "Resource": "*"},
                {"Effect": "Deny", "Action": "s3:Delete*", "Resource": "*"}]}}]}
        ]
    });
    iamwarden::inventory::snapshot::parse(doc.to_string().as_bytes(), "ops").unwrap()
}

/// The ids a rule with this selector, condition and params matches.
fn matches(select: &str, when: &str, params: &str) -> Result<Vec<String>, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("case.yaml");
    let text = format!(
        "pack: {{name: t/ops, version: 1.0.0}}\nrules:\n  - id: case\n    title: t\n    severity: low\n    params: {params}\n    select: \"{select}\"\n    when: {when}\n"
    );
    std::fs::write(&path, text).unwrap();
    let rules = iamwarden::packs::load_rule_set(&[path.display().to_string()])
        .map_err(|d| d.to_string())?;
    let now = chrono::DateTime::parse_from_rfc3339(NOW)
        .unwrap()
        .with_timezone(&chrono::Utc);
    let plan = iamwarden::pipeline::make_plan(&rules, &inventory(), now, now);
    let mut ids: Vec<String> = plan
        .findings
        .iter()
        .map(|f| f.resource.id.clone())
        .collect();
    ids.sort();
    Ok(ids)
}

#[test]
fn operators_table() {
    // (selector, condition, params, expected matching ids)
    let cases: &[(&str, &str, &str, &[&str])] = &[
        ("$.users", "{path: $.name, eq: alice}", "{}", &["AIDA1"]),
        ("$.users", "{path: $.tags.cost, eq: '42'}", "{}", &["AIDA1"]),
        (
            "$.access_keys",
            "{path: $.user_active_key_count, eq: 1.0}",
            "{}",
            &["AKIA1"],
        ),
        ("$.users", "{path: $.name, ne: alice}", "{}", &["AIDA2"]),
        (
            "$.users",
            "{path: $.access_key_ids, ne: []}",
            "{}",
            &["AIDA1", "AIDA2"],
        ),
        (
            "$.users",
            "{path: $.created_at, lt: '2026-01-01T00:00:00Z'}",
            "{}",
            &["AIDA2"],
        ),
        (
            "$.users",
            "{path: $.created_at, le: '2026-01-01T00:00:00Z'}",
            "{}",
            &["AIDA1", "AIDA2"],
        ),
        (
            "$.users",
            "{path: $.created_at, gt: '2026-01-01T00:00:00+00:00'}",
            "{}",
            &[],
        ),
        (
            "$.users",
            "{path: $.created_at, ge: '2026-01-01T01:00:00+01:00'}",
            "{}",
            &["AIDA1"],
        ),
        (
            "$.access_keys",
            "{path: $.user_active_key_count, gt: 0}",
            "{}",
            &["AKIA1"],
        ),
        ("$.users", "{path: $.name, lt: b}", "{}", &["AIDA1"]),
        (
            "$.users",
            "{path: $.name, in: [bob, carol]}",
            "{}",
            &["AIDA2"],
        ),
        (
            "$.users",
            "{path: $.name, not_in: [bob, carol]}",
            "{}",
            &["AIDA1"],
        ),
        (
            "$.users",
            "{path: $.arn, contains: ':user/svc/'}",
            "{}",
            &["AIDA2"],
        ),
        (
            "$.users",
            "{path: $.groups, contains: ops}",
            "{}",
            &["AIDA1"],
        ),
        (
            "$.users",
            "{path: $.tags, contains: team}",
            "{}",
            &["AIDA1"],
        ),
        (
            "$.users",
            "{path: $.name, regex: '^b.b$'}",
            "{}",
            &["AIDA2"],
        ),
        (
            "$.users",
            "{path: $.arn, glob: 'arn:aws:iam::*:user/svc/*'}",
            "{}",
            &["AIDA2"],
        ),
        (
            "$.users",
            "{path: $.arn, glob: 'arn:aws:iam::*:user/SVC/*'}",
            "{}",
            &[],
        ),
        (
            "$.users",
            "{path: $.password_last_used_at, exists: true}",
            "{}",
            &["AIDA1"],
        ),
        (
            "$.users",
            "{path: $.password_last_used_at, exists: false}",
            "{}",
            &["AIDA2"],
        ),
        (
            "$.users",
            "{path: $.password_last_used_at, absent: true}",
            "{}",
            &["AIDA2"],
        ),
        ("$.users", "{path: $.tags, empty: true}", "{}", &["AIDA2"]),
        (
            "$.users",
            "{path: $.groups, empty: false}",
            "{}",
            &["AIDA1"],
        ),
        (
            "$.users",
            "{path: $.path, empty: false}",
            "{}",
            &["AIDA1", "AIDA2"],
        ),
        // Exactly 90 days old counts as older_than 90d; 89 days does not.
        (
            "$.users",
            "{path: $.password_last_used_at, older_than: 90d}",
            "{}",
            &["AIDA1"],
        ),
        (
            "$.users",
            "{path: $.password_last_used_at, older_than: 91d}",
            "{}",
            &[],
        ),
        (
            "$.users",
            "{path: $.password_last_used_at, newer_than: 91d}",
            "{}",
            &["AIDA1"],
        ),
        (
            "$.users",
            "{path: $.password_last_used_at, newer_than: 90d}",
            "{}",
            &[],
        ),
        (
            "$.users",
            "{path: $.created_at, older_than: 1w2d}",
            "{}",
            &["AIDA1", "AIDA2"],
        ),
        // Missing values: no match by default, match on request, fallback first.
        (
            "$.users",
            "{path: $.password_last_used_at, older_than: 30d}",
            "{}",
            &["AIDA1"],
        ),
        (
            "$.users",
            "{path: $.password_last_used_at, older_than: 30d, if_missing: match}",
            "{}",
            &["AIDA1", "AIDA2"],
        ),
        (
            "$.users",
            "{path: $.password_last_used_at, fallback: $.created_at, older_than: 300d}",
            "{}",
            &["AIDA2"],
        ),
        (
            "$.access_keys",
            "{path: $.last_used_at, fallback: $.created_at, older_than: 90d}",
            "{}",
            &["AKIA2"],
        ),
        (
            "$.users",
            "{path: $.tags.nonexistent, exists: false}",
            "{}",
            &["AIDA1", "AIDA2"],
        ),
        // Trees.
        (
            "$.users",
            "{all: [{path: $.name, ne: bob}, {path: $.groups, contains: devs}]}",
            "{}",
            &["AIDA1"],
        ),
        (
            "$.users",
            "{any: [{path: $.name, eq: bob}, {path: $.groups, contains: devs}]}",
            "{}",
            &["AIDA1", "AIDA2"],
        ),
        (
            "$.users",
            "{not: {path: $.name, eq: bob}}",
            "{}",
            &["AIDA1"],
        ),
        (
            "$.users",
            "{not: {not: {path: $.name, eq: bob}}}",
            "{}",
            &["AIDA2"],
        ),
        // Several values: any of them.
        (
            "$.users",
            "{path: '$.groups[*]', eq: ops}",
            "{}",
            &["AIDA1"],
        ),
        (
            "$.users",
            "{path: '$.groups[*]', regex: '^o'}",
            "{}",
            &["AIDA1"],
        ),
        // Parameters in operands keep their type when the operand is only the parameter.
        (
            "$.users",
            "{path: $.password_last_used_at, older_than: '{{params.days}}d'}",
            "{days: 90}",
            &["AIDA1"],
        ),
        (
            "$.access_keys",
            "{path: $.user_active_key_count, ge: '{{params.n}}'}",
            "{n: 1}",
            &["AKIA1"],
        ),
        (
            "$.users",
            "{path: $.tags.cost, eq: '{{params.cost}}'}",
            "{cost: '42'}",
            &["AIDA1"],
        ),
        // Selector filters.
        (
            "$.access_keys[?(@.status == 'Active')]",
            "{path: $.id, exists: true}",
            "{}",
            &["AKIA1"],
        ),
        (
            "$.access_keys[?(@.status != 'Active')]",
            "{path: $.id, exists: true}",
            "{}",
            &["AKIA2"],
        ),
        (
            "$.users[?(@.path == '/svc/' || @.name == 'alice')]",
            "{path: $.id, exists: true}",
            "{}",
            &["AIDA1", "AIDA2"],
        ),
        (
            "$.users[?(@.tags.team == 'platform')]",
            "{path: $.id, exists: true}",
            "{}",
            &["AIDA1"],
        ),
        (
            "$.users[*]",
            "{path: $.id, exists: true}",
            "{}",
            &["AIDA1", "AIDA2"],
        ),
        // Policy operators: IAM wildcards, case-insensitive actions, Deny overriding Allow.
        (
            "$.managed_policies",
            "{path: $.default_document, allows: {action: 'IAM:passrole'}}",
            "{}",
            &["arn:aws:iam::111122223333:policy/p"],
        ),
        (
            "$.managed_policies",
            "{path: $.default_document, allows: {action: 's3:GetObject'}}",
            "{}",
            &["arn:aws:iam::111122223333:policy/p"],
        ),
        (
            "$.managed_policies",
            "{path: $.default_document, allows: {action: 's3:DeleteBucket'}}",
            "{}",
            &[],
        ),
        (
            "$.managed_policies",
            "{path: $.default_document, admin_access: true}",
            "{}",
            &[],
        ),
        (
            "$.managed_policies",
            "{path: $.default_document, admin_access: false}",
            "{}",
            &["arn:aws:iam::111122223333:policy/p"],
        ),
    ];
    let mut failures = Vec::new();
    for (select, when, params, want) in cases {
        match matches(select, when, params) {
            Ok(got) if got == *want => {}
            Ok(got) => failures.push(format!("{select} / {when}: got {got:?}, want {want:?}")),
            Err(e) => failures.push(format!("{select} / {when}: did not load:\n{e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn load_errors_name_file_line_col_rule_and_field() {
    let cases: &[(&str, &str, &str)] = &[
        ("$.users[", "{path: $.name, eq: x}", "invalid JSONPath"),
        ("$.userz", "{path: $.name, eq: x}", "did you mean `users`?"),
        ("$.users", "{path: $.name, eqq: x}", "unknown field `eqq`"),
        (
            "$.users",
            "{path: $.created_at, older_than: 90x}",
            "invalid duration `90x`",
        ),
        ("$.users", "{path: $.name, regex: '('}", "invalid regex"),
        ("$.users", "{path: $.nmae, eq: x}", "did you mean `name`?"),
        (
            "$.users",
            "{path: $.created_at, older_than: '{{params.dayz}}d'}",
            "did you mean `days`?",
        ),
        ("$.users", "{path: $.name}", "needs an operator"),
        (
            "$.users",
            "{path: $.name, eq: a, ne: b}",
            "exactly one operator",
        ),
        (
            "$.users[?(@.nmae == 'x')]",
            "{path: $.name, eq: x}",
            "did you mean `name`?",
        ),
        (
            "$.users[0]",
            "{path: $.name, eq: x}",
            "whole resources of one collection",
        ),
    ];
    for (select, when, want) in cases {
        let err = matches(select, when, "{days: 90}").unwrap_err();
        assert!(err.contains(want), "{select} / {when}: {err}");
        assert!(err.contains("case.yaml:"), "names the file: {err}");
        assert!(err.contains("rule `case`"), "names the rule: {err}");
        let located = err
            .lines()
            .next()
            .unwrap()
            .split(':')
            .nth(1)
            .is_some_and(|l| l.parse::<u32>().is_ok());
        assert!(located, "file:line:col: {err}");
    }
}

#[test]
fn remediation_load_errors() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::write(
            &p,
            format!(
                "pack: {{name: t/{}, version: 1.0.0}}\nrules:\n{body}",
                name.trim_end_matches(".yaml")
            ),
        )
        .unwrap();
        p.display().to_string()
    };
    let wrong_kind = write("a.yaml", "  - id: keys-on-users\n    title: t\n    severity: low\n    select: $.users\n    remediation: [{step: deactivate_access_key}]\n");
    let bad_template = write("b.yaml", "  - id: tag-them\n    title: t\n    severity: low\n    select: $.users\n    remediation:\n      - step: tag\n        params: {tags: {owner: '{{resource.nmae}}'}}\n");
    let err = iamwarden::packs::load_rule_set(&[wrong_kind, bad_template])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("rule `keys-on-users`, field `remediation[0].step`"),
        "{err}"
    );
    assert!(err.contains("each key is judged on its own"), "{err}");
    assert!(
        err.contains("rule `tag-them`, field `remediation[0].params.tags`"),
        "{err}"
    );
    assert!(err.contains("unknown variable `resource.nmae`"), "{err}");
    assert!(err.ends_with("2 errors"), "both reported at once: {err}");
}
