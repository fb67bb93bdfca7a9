//! The committed JSON Schemas must match the ones generated from the Rust types
//! (`UPDATE_GOLDEN=1 cargo test --test generated` rewrites them), and the files that name a
//! schema must validate against it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_test_support::root;
use std::path::PathBuf;

#[test]
fn committed_schemas_match_the_types() {
    for name in iamwarden_core::schema::NAMES {
        let generated = iamwarden_core::schema::text(name).unwrap();
        crate::golden::check(&format!("schemas/{name}.schema.json"), &generated);
    }
}

#[test]
fn builtin_packs_carry_the_schema_modeline_and_validate() {
    for (file, text) in iamwarden_core::packs::BUILTIN {
        assert!(
            text.starts_with("# yaml-language-server: $schema=../schemas/rule-pack.schema.json"),
            "{file} must start with the yaml-language-server modeline"
        );
    }
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schemas/rule-pack.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for (file, text) in iamwarden_core::packs::BUILTIN {
        let doc: serde_json::Value = iamwarden_core::spec::yaml::parse(text).unwrap().value;
        let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{file}: {errors:?}");
    }
}

/// Every `.yaml` pack under `examples/` (not tests files, workflows or deployment manifests).
fn example_packs() -> Vec<PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.parent().and_then(|d| d.file_name()) == Some("packs".as_ref())
                && p.extension() == Some("yaml".as_ref())
                && !p.to_string_lossy().ends_with(".tests.yaml")
            {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join("examples"), &mut out);
    out.sort();
    out
}

#[test]
fn every_example_pack_and_rule_test_validates_against_the_regenerated_schemas() {
    // The schemas as this build generates them (the committed ones are checked equal above),
    // with their `$id`s: the example packs, the built-in rule tests and the example's.
    let validator = |name: &str| {
        let schema = iamwarden_core::schema::by_name(name).unwrap();
        assert!(
            schema["$id"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/schemas/{name}.schema.json")),
            "{name}"
        );
        jsonschema::validator_for(&schema).unwrap()
    };
    let packs = validator("rule-pack");
    let examples = example_packs();
    assert!(!examples.is_empty());
    for f in examples {
        let doc = iamwarden_core::spec::yaml::parse(&std::fs::read_to_string(&f).unwrap())
            .unwrap()
            .value;
        let errors: Vec<String> = packs.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", f.display());
    }
    let tests = validator("rule-tests");
    let files =
        iamwarden_core::ruletest::discover(&[root().join("rules"), root().join("examples")]);
    assert!(files.len() >= 5, "{files:?}");
    for f in files {
        let doc = iamwarden_core::spec::yaml::parse(&std::fs::read_to_string(&f).unwrap())
            .unwrap()
            .value;
        let errors: Vec<String> = tests.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", f.display());
    }
    // The inventory block is typed: a field no record has is refused, a fragment is not.
    let case = |inventory: serde_json::Value| serde_json::json!({"tests": [{"name": "x", "inventory": inventory, "expect": {}}]});
    assert!(tests.is_valid(&case(serde_json::json!({"users": [{"name": "alice"}]}))));
    assert!(!tests.is_valid(&case(
        serde_json::json!({"users": [{"name": "alice", "pasword_enabled": true}]})
    )));
    assert!(!tests.is_valid(&case(serde_json::json!({"userz": []}))));
    assert!(tests.is_valid(&case(
        serde_json::json!({"managed_policies": [{"name": "p", "document": {}}]})
    )));
}

#[test]
fn demo_snapshot_matches_the_inventory_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schemas/inventory.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let doc: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("examples/demo-account.json")).unwrap(),
    )
    .unwrap();
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn rule_test_files_carry_the_modeline_and_validate() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schemas/rule-tests.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let files = iamwarden_core::ruletest::discover(&[
        root().join("rules"),
        root().join("examples/policy-as-code"),
    ]);
    assert!(files.len() >= 5, "{files:?}");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=../schemas/rule-tests.schema.json"),
            "{} must start with the yaml-language-server modeline",
            f.display()
        );
        let doc: serde_json::Value = iamwarden_core::spec::yaml::parse(&text).unwrap().value;
        let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", f.display());
    }
}

#[test]
fn the_field_lists_rules_are_checked_against_are_the_published_ones() {
    // compile checks paths and filters against `ResourceKind::fields`, derived from the record
    // types; it must list exactly what `iamwarden schema inventory` shows, in the same order.
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schemas/inventory.schema.json")).unwrap(),
    )
    .unwrap();
    for kind in iamwarden_core::inventory::ResourceKind::ALL {
        let prop = &schema["properties"][kind.collection()];
        let reference = prop["$ref"]
            .as_str()
            .or(prop["items"]["$ref"].as_str())
            .unwrap();
        let def = reference.trim_start_matches("#/");
        let published: Vec<String> = schema
            .pointer(&format!("/{def}/properties"))
            .and_then(serde_json::Value::as_object)
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert!(published.len() >= 2, "{def}: {published:?}");
        assert_eq!(kind.fields(), published.as_slice(), "{def}");
    }
}

#[test]
fn the_example_accounts_file_carries_the_modeline_validates_and_runs_with_the_builtins() {
    let path = root().join("examples/org/accounts.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("# yaml-language-server: $schema=../../schemas/accounts.schema.json"),
        "{} must start with the yaml-language-server modeline",
        path.display()
    );
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schemas/accounts.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let doc = iamwarden_core::spec::yaml::parse(&text).unwrap().value;
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let accounts = iamwarden_core::org::parse_accounts("accounts.yaml", &text).unwrap();
    assert_eq!(accounts.len(), 2);
    let packs = iamwarden_core::packs::load_packs(&["builtin".to_string()]).unwrap();
    for a in &accounts {
        iamwarden_core::org::account_rules(&packs, a, "accounts.yaml").unwrap();
    }
    // The guide's accounts file too: its parameters and exempt rules name built-in ones.
    let guide = std::fs::read_to_string(root().join("docs/guide.md")).unwrap();
    let block = guide
        .split("```yaml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .find(|b| b.starts_with("accounts:"))
        .expect("docs/guide.md shows an accounts file");
    let doc = iamwarden_core::spec::yaml::parse(block).unwrap().value;
    assert!(validator.is_valid(&doc), "the guide's accounts file");
    for a in iamwarden_core::org::parse_accounts("guide.md", block).unwrap() {
        iamwarden_core::org::account_rules(&packs, &a, "guide.md").unwrap();
    }
    // What the parser refuses, the schema refuses too: an unquoted id, an unknown key, a
    // malformed id, an unknown exempt field, a tag whose value is a list.
    for bad in [
        "accounts:\n  - id: 111111111111\n",
        "accounts:\n  - id: \"111111111111\"\n    rol: x\n",
        "accounts:\n  - id: \"11111111111\"\n",
        "accounts:\n  - id: \"111111111111\"\n    exempt: {user: [x]}\n",
        "accounts:\n  - id: \"111111111111\"\n    tags: {env: [a]}\n",
        "account:\n  - id: \"111111111111\"\n",
    ] {
        let doc = iamwarden_core::spec::yaml::parse(bad).unwrap().value;
        assert!(!validator.is_valid(&doc), "the schema accepts {bad:?}");
        assert!(
            iamwarden_core::org::parse_accounts("a.yaml", bad).is_err(),
            "the parser accepts {bad:?}"
        );
    }
}
