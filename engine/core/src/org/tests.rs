#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::report::{
    FailedAccount, MergeError, OrgReport, PlannedAccount, RuleCount, SkippedAccount,
};
use super::*;

const FILE: &str = "\
accounts:
  - id: \"111111111111\"
    name: prod
    role: OrgAudit
    external_id: ext-1
    tags: {env: prod, team: core}
    params:
      access-key-unused: {max_idle: 120d}
  - id: \"222222222222\"
    name: dev-sandbox
    tags: {env: dev}
  - id: \"333333333333\"
    name: dev-data
    role: arn:aws:iam::{account_id}:role/ops/Audit
";

#[test]
fn parses_every_field() {
    let a = parse_accounts("accounts.yaml", FILE).unwrap();
    assert_eq!(a.len(), 3);
    assert_eq!(a[0].id, "111111111111");
    assert_eq!(a[0].name, "prod");
    assert_eq!(a[0].role.as_deref(), Some("OrgAudit"));
    assert_eq!(a[0].external_id.as_deref(), Some("ext-1"));
    assert_eq!(a[0].tags["team"], "core");
    assert_eq!(a[0].params["access-key-unused"]["max_idle"], "120d");
    assert!(a[1].role.is_none() && a[1].params.is_empty());
}

#[test]
fn role_arns_from_names_and_templates() {
    let a = parse_accounts("accounts.yaml", FILE).unwrap();
    assert_eq!(
        a[0].role_arn("Default", "aws"),
        "arn:aws:iam::111111111111:role/OrgAudit"
    );
    assert_eq!(
        a[1].role_arn("/ops/Default", "aws-us-gov"),
        "arn:aws-us-gov:iam::222222222222:role/ops/Default"
    );
    assert_eq!(
        a[2].role_arn("Default", "aws"),
        "arn:aws:iam::333333333333:role/ops/Audit"
    );
}

fn errors(text: &str) -> Vec<String> {
    parse_accounts("a.yaml", text)
        .unwrap_err()
        .0
        .iter()
        .map(|d| {
            format!(
                "{}:{}: {}{}",
                d.line.unwrap_or(0),
                d.col.unwrap_or(0),
                d.message,
                d.hint
                    .as_deref()
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default()
            )
        })
        .collect()
}

#[test]
fn errors_point_at_line_and_column() {
    let e = errors(
        "accounts:\n  - id: 111111111111\n  - id: \"22\"\n  - id: \"333333333333\"\n    nme: x\n  - id: \"333333333333\"\n    tags: [a]\n",
    );
    assert_eq!(e.len(), 5, "{e:#?}");
    assert!(
        e[0].starts_with("2:9: account id 111111111111 is a number: quote it"),
        "{e:#?}"
    );
    assert!(
        e[1].starts_with("3:9: `22` is not a 12-digit account id"),
        "{e:#?}"
    );
    assert!(
        e[2].starts_with("5:5: unknown key `nme`") && e[2].contains("did you mean `name`"),
        "{e:#?}"
    );
    assert!(
        e[3].starts_with("6:9: account 333333333333 is listed twice (also at accounts[2])"),
        "{e:#?}"
    );
    assert!(e[4].starts_with("7:11: `tags` must be a mapping"), "{e:#?}");
}

#[test]
fn syntax_and_shape_errors() {
    let e = errors("accounts:\n  - id: [\n");
    assert!(e[0].contains("invalid YAML"), "{e:#?}");
    assert_ne!(
        e[0].split(':').next(),
        Some("0"),
        "a syntax error has a line: {e:#?}"
    );
    let e = errors("acounts: []\n");
    assert!(
        e[0].starts_with("1:1: unknown key `acounts`") && e[0].contains("accounts"),
        "{e:#?}"
    );
    let e = errors("- id: x\n");
    assert!(
        e[0].contains("a mapping with an `accounts:` list"),
        "{e:#?}"
    );
    let e = errors("accounts:\n  - id: \"111111111111\"\n    role: arn:aws:iam::x\n");
    assert!(
        e[0].starts_with("3:11: `arn:aws:iam::x` is not a role ARN"),
        "{e:#?}"
    );
}

#[test]
fn filters_on_id_name_and_tag() {
    let a = parse_accounts("accounts.yaml", FILE).unwrap();
    let sel = |inc: &[&str], exc: &[&str]| -> Vec<String> {
        let s = Selection {
            include: inc.iter().map(|f| Filter::parse(f).unwrap()).collect(),
            exclude: exc.iter().map(|f| Filter::parse(f).unwrap()).collect(),
        };
        a.iter()
            .filter(|x| s.selects(x))
            .map(|x| x.name.clone())
            .collect()
    };
    assert_eq!(sel(&[], &[]), ["prod", "dev-sandbox", "dev-data"]);
    assert_eq!(sel(&["name:dev-*"], &[]), ["dev-sandbox", "dev-data"]);
    assert_eq!(sel(&["name:dev-*"], &["tag:env=dev"]), ["dev-data"]);
    assert_eq!(sel(&["tag:team"], &[]), ["prod"]);
    assert_eq!(
        sel(&["222222222222", "id:333333333333"], &[]),
        ["dev-sandbox", "dev-data"]
    );
    assert_eq!(sel(&["tag:env=*"], &["name:*box"]), ["prod"]);
    assert!(Filter::parse("owner:x").is_err());
    assert!(Filter::parse("id:12").is_err());
    assert!(Filter::parse("name:").is_err());
}

#[test]
fn globs() {
    assert!(glob("*", ""));
    assert!(glob("a*", "abc"));
    assert!(glob("*c", "abc"));
    assert!(glob("a*b*c", "aXbYc"));
    assert!(!glob("a*a", "a"));
    assert!(!glob("abc", "abcd"));
    assert!(glob("abc", "abc"));
    assert!(!glob("*x*", "abc"));
}

#[test]
fn shard_flags_and_index_variables() {
    let none = |_: &str| None;
    assert_eq!(Shard::parse("0/2", &none), Ok(Shard { index: 0, count: 2 }));
    assert_eq!(Shard::parse("1/2", &none), Ok(Shard { index: 1, count: 2 }));
    assert!(Shard::parse("2/2", &none).unwrap_err().contains("0-based"));
    assert!(Shard::parse("0/0", &none).is_err());
    assert!(Shard::parse("x/2", &none).is_err());
    assert!(Shard::parse("4", &none)
        .unwrap_err()
        .contains("JOB_COMPLETION_INDEX"));
    let k8s = |v: &str| (v == "JOB_COMPLETION_INDEX").then(|| "3".to_string());
    assert_eq!(Shard::parse("4", &k8s), Ok(Shard { index: 3, count: 4 }));
    let batch = |v: &str| (v == "AWS_BATCH_JOB_ARRAY_INDEX").then(|| "1".to_string());
    assert_eq!(Shard::parse("4", &batch), Ok(Shard { index: 1, count: 4 }));
    // Our own variable wins over a runner's.
    let both = |v: &str| match v {
        "IAMWARDEN_SHARD_INDEX" => Some("0".to_string()),
        "JOB_COMPLETION_INDEX" => Some("2".to_string()),
        _ => None,
    };
    assert_eq!(Shard::parse("4", &both), Ok(Shard { index: 0, count: 4 }));
    let bad = |_: &str| Some("seven".to_string());
    assert!(Shard::parse("4", &bad).is_err());
    let high = |_: &str| Some("4".to_string());
    assert!(Shard::parse("4", &high).is_err());
}

#[test]
fn every_account_is_in_exactly_one_shard() {
    let ids: Vec<String> = (0..1000u64)
        .map(|i| format!("{:012}", 100_000_000_000 + i * 7919))
        .collect();
    for count in 1..=9u32 {
        let mut sizes = vec![0usize; count as usize];
        for id in &ids {
            let owners: Vec<u32> = (0..count)
                .filter(|i| Shard { index: *i, count }.contains(id))
                .collect();
            assert_eq!(owners.len(), 1, "{id} in {owners:?} of {count}");
            sizes[owners[0] as usize] += 1;
        }
        // Balanced within 25% of the mean.
        let mean = ids.len() / count as usize;
        assert!(
            sizes.iter().all(|s| s.abs_diff(mean) * 4 <= mean),
            "{count}: {sizes:?}"
        );
    }
    // Stable across releases: changing the hash moves every team's accounts between shards.
    assert_eq!(Shard::of("111111111111", 4), Shard::of("111111111111", 4));
    let pinned: Vec<u32> = [
        "111111111111",
        "222222222222",
        "333333333333",
        "123456789012",
    ]
    .iter()
    .map(|id| Shard::of(id, 16))
    .collect();
    assert_eq!(pinned, PINNED_SHARDS);
}

/// `Shard::of(id, 16)` for the four ids above (sha256 of the id, first 8 bytes, mod 16).
const PINNED_SHARDS: [u32; 4] = [2, 7, 12, 10];

#[test]
fn choose_filters_shards_sorts_and_dedups() {
    let mut a = parse_accounts("accounts.yaml", FILE).unwrap();
    a.reverse();
    a.push(Account::new("222222222222", "again"));
    let all = choose(a.clone(), &Selection::default(), Shard::ALL);
    let ids: Vec<&str> = all.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(ids, ["111111111111", "222222222222", "333333333333"]);
    let mut union: Vec<String> = (0..2)
        .flat_map(|i| {
            choose(
                a.clone(),
                &Selection::default(),
                Shard { index: i, count: 2 },
            )
        })
        .map(|x| x.id)
        .collect();
    union.sort();
    assert_eq!(union, ids);
}

fn planned(
    id: &str,
    rule: &str,
    severity: &str,
    findings: usize,
    actions: usize,
) -> PlannedAccount {
    PlannedAccount {
        id: id.to_string(),
        name: format!("acct-{}", &id[..3]),
        plan: format!("{id}/plan.json"),
        findings,
        actions,
        destructive: 0,
        by_severity: [(severity.to_string(), findings)].into_iter().collect(),
        by_rule: [(
            rule.to_string(),
            RuleCount {
                severity: severity.to_string(),
                findings,
                actions,
                accounts: 0,
            },
        )]
        .into_iter()
        .collect(),
    }
}

fn sample() -> OrgReport {
    OrgReport::new(
        vec![
            planned("333333333333", "access-key-unused", "high", 2, 2),
            planned("111111111111", "access-key-unused", "high", 1, 1),
            planned("444444444444", "user-without-mfa", "medium", 3, 0),
        ],
        vec![FailedAccount {
            id: "222222222222".into(),
            name: "locked".into(),
            call: "sts:AssumeRole".into(),
            code: Some("AccessDenied".into()),
            message: "not authorized".into(),
            permission: Some("sts:AssumeRole on arn:aws:iam::222222222222:role/Audit".into()),
        }],
        vec![SkippedAccount {
            id: "555555555555".into(),
            name: "old".into(),
            status: "SUSPENDED".into(),
        }],
    )
}

#[test]
fn totals_per_rule_severity_and_account() {
    let r = sample();
    let t = &r.totals;
    assert_eq!(
        (t.planned, t.failed, t.skipped, t.with_changes),
        (3, 1, 1, 2)
    );
    assert_eq!((t.findings, t.actions), (6, 3));
    assert_eq!(t.by_severity["high"], 3);
    assert_eq!(t.by_rule["access-key-unused"].accounts, 2);
    assert_eq!(t.by_rule["user-without-mfa"].findings, 3);
    assert_eq!(r.planned[0].id, "111111111111", "sorted by id");
    assert!(r.has_changes());
}

#[test]
fn merged_shards_equal_the_whole_run() {
    let whole = sample();
    let part = |shard: u32| {
        let keep = |id: &str| Shard::of(id, 2) == shard;
        OrgReport::new(
            whole
                .planned
                .iter()
                .filter(|a| keep(&a.id))
                .cloned()
                .collect(),
            whole
                .failed
                .iter()
                .filter(|a| keep(&a.id))
                .cloned()
                .collect(),
            whole.skipped.clone(),
        )
    };
    let merged = OrgReport::merge(vec![part(1), part(0)]).unwrap();
    assert_eq!(merged, whole);
    let json = |r: &OrgReport| serde_json::to_string(r).unwrap();
    assert_eq!(json(&merged), json(&whole));
    assert_eq!(
        OrgReport::merge(vec![whole.clone(), part(0)]).unwrap_err(),
        MergeError::Overlap(
            part(0)
                .planned
                .first()
                .map(|a| a.id.clone())
                .or_else(|| part(0).failed.first().map(|a| a.id.clone()))
                .unwrap()
        )
    );
    let mut old = whole.clone();
    old.format_version = 99;
    assert_eq!(
        OrgReport::merge(vec![old]).unwrap_err(),
        MergeError::Version(99)
    );
}

#[test]
fn markdown_stays_within_its_budget() {
    let many = OrgReport::new(
        (0..500u64)
            .map(|i| {
                planned(
                    &format!("{:012}", 100_000_000_000 + i),
                    "access-key-unused",
                    "high",
                    1,
                    1,
                )
            })
            .collect(),
        Vec::new(),
        Vec::new(),
    );
    for max in [600, 2000, 10_000, 65_536] {
        let mut out = Vec::new();
        render::markdown(&many, max, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.chars().count() <= max,
            "{max}: {}",
            text.chars().count()
        );
        assert!(text.contains("500 accounts planned"));
        if (2000..20_000).contains(&max) {
            assert!(text.contains("more._"), "{max}: the cut is said");
        }
    }
    let mut out = Vec::new();
    render::markdown(&sample(), 65_536, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("| `222222222222` | locked | sts:AssumeRole failed (AccessDenied)"));
    assert!(!text.contains("more._"));
}

#[test]
fn human_and_json_renderers() {
    let mut out = Vec::new();
    render::human(&sample(), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("Organization report: 3 accounts planned, 1 failed, 1 skipped"));
    assert!(text.contains("222222222222  locked: sts:AssumeRole failed (AccessDenied): not authorized [needs sts:AssumeRole on"));
    let mut out = Vec::new();
    render::json(&sample(), &mut out).unwrap();
    let back: OrgReport = serde_json::from_slice(&out).unwrap();
    assert_eq!(back, sample());
}

#[test]
fn an_accounts_exempt_is_parsed_and_reaches_only_its_rule_set() {
    let text = "accounts:\n  - id: \"111111111111\"\n    exempt:\n      names: [ci-*]\n      arns: [\"arn:aws:iam::*:user/bot\"]\n      tags: {keep: \"*\"}\n      rules: [access-key-unused]\n  - id: \"222222222222\"\n";
    let a = parse_accounts("a.yaml", text).unwrap();
    assert_eq!(a[0].exempt.names, ["ci-*"]);
    assert_eq!(a[0].exempt.arns, ["arn:aws:iam::*:user/bot"]);
    assert_eq!(a[0].exempt.tags["keep"], "*");
    assert_eq!(a[0].exempt.rules, ["access-key-unused"]);
    assert!(a[1].exempt.is_empty());

    let packs = crate::packs::load_packs(&["builtin".to_string()]).unwrap();
    assert!(account_rules(&packs, &a[1], "a.yaml").unwrap().is_none());
    let set = account_rules(&packs, &a[0], "a.yaml (account 111111111111)")
        .unwrap()
        .unwrap();
    let src = "accounts file, account 111111111111";
    for r in &set.rules {
        assert!(r
            .exempt
            .names
            .contains(&("ci-*".to_string(), src.to_string())));
        assert!(r
            .exempt
            .tags
            .contains(&("keep".into(), "*".into(), src.into())));
        assert_eq!(
            r.exempt.all.is_empty(),
            r.id != "access-key-unused",
            "{}",
            r.id
        );
    }
    let record = serde_json::json!({"name": "ci-deploy", "arn": "arn:aws:iam::1:user/ci-deploy"});
    let rule = set
        .rules
        .iter()
        .find(|r| r.id == "access-key-unused")
        .unwrap();
    assert_eq!(
        crate::eval::exempt_reason(&rule.exempt, &record).as_deref(),
        Some("exempt: the rule is exempt (accounts file, account 111111111111)")
    );
    let other = set
        .rules
        .iter()
        .find(|r| r.id != "access-key-unused")
        .unwrap();
    assert_eq!(
        crate::eval::exempt_reason(&other.exempt, &record).as_deref(),
        Some("exempt: name ci-deploy matches `ci-*` (accounts file, account 111111111111)")
    );
    assert_eq!(
        crate::eval::exempt_reason(&other.exempt, &serde_json::json!({"name": "alice"})),
        None
    );

    let mut wrong = a[0].clone();
    wrong.exempt.rules = vec!["acces-key-unused".into()];
    let e = account_rules(&packs, &wrong, "a.yaml (account 111111111111)").unwrap_err();
    assert!(
        e.0[0]
            .message
            .contains("exempt.rules: no loaded rule `acces-key-unused`"),
        "{e}"
    );
    let e = errors("accounts:\n  - id: \"111111111111\"\n    exempt:\n      user: [x]\n");
    assert!(e[0].contains("`exempt`: unknown field `user`"), "{e:#?}");
}

#[test]
fn a_hostile_accounts_file_is_refused_before_parsing() {
    // Aliases past the limit (a billion-laughs shape) and nesting past it, each in one linear
    // pass, at the place it happens.
    let mut laughs = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 0..2_000 {
        laughs.push_str(&format!("k{i}: [*a, *a]\n"));
    }
    let e = errors(&laughs);
    assert!(e[0].contains("alias"), "{e:#?}");
    let deep = format!("accounts: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    let e = errors(&deep);
    assert!(e[0].starts_with("1:"), "{e:#?}");
    assert!(e[0].contains("nest"), "{e:#?}");
}

#[test]
fn the_accounts_schema_names_exactly_the_keys_the_parser_reads() {
    // The schema is derived from `Account`; the parser checks keys against ACCOUNT_KEYS. A key
    // added to one and not the other would be refused by the editor or by the run.
    let schema = crate::schema::by_name("accounts").unwrap();
    let keys: Vec<&str> = schema["$defs"]["Account"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ACCOUNT_KEYS);
    let top: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
    assert_eq!(top, ["accounts"]);
}
