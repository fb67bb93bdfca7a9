//! Reading events in every shape, and folding them into an inventory.

use super::*;
use serde_json::json;

fn record(name: &str, id: &str, request: Value, response: Value) -> Value {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/alice", "accountId": "123456789012"},
        "eventTime": "2026-11-20T10:15:30Z",
        "eventSource": "iam.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "requestParameters": request,
        "responseElements": response,
        "eventID": id,
        "recipientAccountId": "123456789012",
    })
}

fn create_policy(id: &str) -> Value {
    record(
        "CreatePolicy",
        id,
        json!({"policyName": "ci-deployer", "policyDocument": "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\"}]\n}"}),
        json!({"policy": {"policyName": "ci-deployer", "policyId": "ANPAEXAMPLE", "arn": "arn:aws:iam::123456789012:policy/ci-deployer", "defaultVersionId": "v1", "createDate": "Nov 20, 2026 10:15:30 AM"}}),
    )
}

#[test]
fn every_input_shape_gives_the_same_event() {
    let rec = create_policy("e-1");
    let shapes = [
        ("record", rec.to_string()),
        ("eventbridge", json!({"version": "0", "detail-type": "AWS API Call via CloudTrail", "source": "aws.iam", "account": "123456789012", "detail": rec}).to_string()),
        ("log file", json!({"Records": [rec]}).to_string()),
        ("array", json!([rec]).to_string()),
        ("json lines", format!("{rec}\n")),
    ];
    for (what, text) in shapes {
        let got = read(text.as_bytes(), what).unwrap();
        assert_eq!(got.events.len(), 1, "{what}");
        assert_eq!(got.events[0].name, "CreatePolicy", "{what}");
        assert_eq!(got.events[0].id, "e-1", "{what}");
    }
    let mut gz = Vec::new();
    {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(&mut gz, flate2::Compression::default());
        enc.write_all(json!({"Records": [rec]}).to_string().as_bytes())
            .unwrap();
        enc.finish().unwrap();
    }
    assert_eq!(read(&gz, "log.json.gz").unwrap().events.len(), 1);
}

#[test]
fn non_iam_failed_and_unsupported_records_are_skipped_with_the_reason() {
    let mut org = create_policy("e-org");
    org["eventSource"] = json!("organizations.amazonaws.com");
    let mut failed = create_policy("e-failed");
    failed["errorCode"] = json!("AccessDenied");
    let other = record("ListUsers", "e-list", Value::Null, Value::Null);
    let text = json!({"Records": [org, failed, other, create_policy("e-ok")]}).to_string();
    let got = read(text.as_bytes(), "log").unwrap();
    assert_eq!(got.events.len(), 1);
    let reasons: Vec<&str> = got.skipped.iter().map(|s| s.reason.as_str()).collect();
    assert!(reasons[0].contains("not an IAM event"), "{reasons:?}");
    assert!(
        reasons[1].contains("the call failed (AccessDenied)"),
        "{reasons:?}"
    );
    assert!(
        reasons[2].contains("not an event iamwarden reacts to"),
        "{reasons:?}"
    );
}

#[test]
fn bad_input_is_a_clear_error() {
    let e = read(b"{\"Records\": [", "trail.json")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("trail.json:1:"), "{e}");
    let e = read(b"{\"hello\": 1}", "x.json").unwrap_err().to_string();
    assert!(e.contains("no CloudTrail record"), "{e}");
    let e = read(&[0x1f, 0x8b, 0, 1, 2], "x.gz")
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a valid gzip file"), "{e}");
}

#[test]
fn cloudtrail_dates_in_both_formats() {
    let t = parse_cloudtrail_time("Nov 20, 2026 10:15:30 AM").unwrap();
    assert_eq!(t.to_rfc3339(), "2026-11-20T10:15:30+00:00");
    let t = parse_cloudtrail_time("May 31, 2023 4:56:44 PM").unwrap();
    assert_eq!(t.to_rfc3339(), "2023-05-31T16:56:44+00:00");
    assert!(parse_cloudtrail_time("yesterday").is_none());
}

#[test]
fn create_policy_builds_the_policy_from_the_event() {
    let mut inv = crate::inventory::Inventory::default();
    inv.account.id = "123456789012".into();
    let ev = read(create_policy("e-1").to_string().as_bytes(), "e")
        .unwrap()
        .events
        .remove(0);
    let touched = fold(&mut inv, &ev).unwrap().touched;
    assert_eq!(
        touched,
        vec![(
            crate::inventory::ResourceKind::ManagedPolicy,
            "arn:aws:iam::123456789012:policy/ci-deployer".to_string()
        )]
    );
    inv.normalize();
    let p = &inv.managed_policies[0];
    assert_eq!(p.default_version_id, "v1");
    assert!(p.admin_access, "the escaped-newline document was parsed");
    assert_eq!(
        p.created_at.unwrap().to_rfc3339(),
        "2026-11-20T10:15:30+00:00"
    );
}

#[test]
fn an_event_on_something_the_inventory_lacks_says_so() {
    let mut inv = crate::inventory::Inventory::default();
    let ev = read(
        record("AttachUserPolicy", "e-2", json!({"userName": "ghost", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}), Value::Null)
            .to_string()
            .as_bytes(),
        "e",
    )
    .unwrap()
    .events
    .remove(0);
    let e = fold(&mut inv, &ev).unwrap_err();
    assert!(e.contains("user ghost is not in the inventory"), "{e}");
}

#[test]
fn a_version_the_live_read_already_has_keeps_its_dates() {
    let mut inv: crate::inventory::Inventory = serde_json::from_value(json!({
        "account": {"id": "123456789012"},
        "managed_policies": [{
            "id": "arn:aws:iam::123456789012:policy/p", "arn": "arn:aws:iam::123456789012:policy/p",
            "name": "p", "default_version_id": "v2",
            "versions": [
                {"version_id": "v1", "created_at": "2026-11-01T00:00:00Z", "document": {"Statement": []}},
                {"version_id": "v2", "is_default": true, "created_at": "2026-11-27T08:00:00Z", "document": {"Statement": []}}
            ]}]
    }))
    .unwrap();
    let rec = record(
        "CreatePolicyVersion",
        "e-3",
        json!({"policyArn": "arn:aws:iam::123456789012:policy/p", "policyDocument": "{\"Statement\": []}", "setAsDefault": true}),
        json!({"policyVersion": {"versionId": "v2", "createDate": "Nov 20, 2026 10:15:30 AM"}}),
    );
    let ev = read(rec.to_string().as_bytes(), "e")
        .unwrap()
        .events
        .remove(0);
    fold(&mut inv, &ev).unwrap();
    let v2 = inv.managed_policies[0]
        .versions
        .iter()
        .find(|v| v.version_id == "v2")
        .unwrap();
    assert_eq!(
        v2.created_at.unwrap().to_rfc3339(),
        "2026-11-27T08:00:00+00:00"
    );
    assert_eq!(inv.managed_policies[0].default_version_id, "v2");
}

#[test]
fn a_new_version_of_a_policy_the_inventory_lacks_is_judged_from_the_event() {
    let mut inv = crate::inventory::Inventory::default();
    inv.account.id = "123456789012".into();
    let rec = record(
        "CreatePolicyVersion",
        "e-4",
        json!({"policyArn": "arn:aws:iam::123456789012:policy/team/ci", "setAsDefault": true,
               "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"}),
        json!({"policyVersion": {"versionId": "v3", "isDefaultVersion": true, "createDate": "Nov 20, 2026 10:15:30 AM"}}),
    );
    let ev = read(rec.to_string().as_bytes(), "e")
        .unwrap()
        .events
        .remove(0);
    let f = fold(&mut inv, &ev).unwrap();
    assert_eq!(
        f.touched,
        vec![(
            crate::inventory::ResourceKind::ManagedPolicy,
            "arn:aws:iam::123456789012:policy/team/ci".to_string()
        )]
    );
    assert_eq!(f.unknown.len(), 1, "{:?}", f.unknown);
    assert!(
        f.unknown[0].contains("other versions, attachments"),
        "{:?}",
        f.unknown
    );
    inv.normalize();
    let p = &inv.managed_policies[0];
    assert_eq!((p.name.as_str(), p.path.as_str()), ("ci", "/team/"));
    assert_eq!(p.default_version_id, "v3");
    assert!(p.admin_access);

    // Not made the default: the version is kept, but nothing in effect is known.
    let mut inv = crate::inventory::Inventory::default();
    let rec = record(
        "CreatePolicyVersion",
        "e-5",
        json!({"policyArn": "arn:aws:iam::123456789012:policy/ci", "setAsDefault": false,
               "policyDocument": "{\"Statement\":[]}"}),
        json!({"policyVersion": {"versionId": "v2"}}),
    );
    let ev = read(rec.to_string().as_bytes(), "e")
        .unwrap()
        .events
        .remove(0);
    let f = fold(&mut inv, &ev).unwrap();
    assert_eq!(f.unknown.len(), 2, "{:?}", f.unknown);
    assert!(
        f.unknown[1].contains("nothing in effect was judged"),
        "{:?}",
        f.unknown
    );
    inv.normalize();
    assert_eq!(inv.managed_policies[0].default_document, Value::Null);
}

#[test]
fn an_inline_policy_of_a_user_the_inventory_lacks_is_judged_from_the_event() {
    let mut inv = crate::inventory::Inventory::default();
    inv.account.id = "123456789012".into();
    let rec = record(
        "PutUserPolicy",
        "e-6",
        json!({"userName": "ghost", "policyName": "p", "policyDocument": "{\"Statement\":[]}"}),
        Value::Null,
    );
    let ev = read(rec.to_string().as_bytes(), "e")
        .unwrap()
        .events
        .remove(0);
    let f = fold(&mut inv, &ev).unwrap();
    assert_eq!(
        f.touched,
        vec![(
            crate::inventory::ResourceKind::InlinePolicy,
            "user/ghost/p".to_string()
        )]
    );
    assert!(
        f.unknown[0].contains("user ghost is not in the inventory"),
        "{:?}",
        f.unknown
    );
    assert_eq!(
        inv.inline_policies[0].owner_arn,
        "arn:aws:iam::123456789012:user/ghost"
    );
}

/// Every sample event, and every variant of it with one request or response field removed or
/// nulled, folded into the demo account: an event that cannot be applied leaves the inventory
/// exactly as it was (event mode folds into the one inventory, with no copy per event).
#[test]
fn a_fold_that_fails_changes_nothing() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
    let demo: crate::inventory::Inventory =
        serde_json::from_slice(&std::fs::read(format!("{root}/demo-account.json")).unwrap())
            .unwrap();
    let before = serde_json::to_value(&demo).unwrap();
    let mut events = Vec::new();
    for entry in std::fs::read_dir(format!("{root}/events")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "json") {
            let bytes = std::fs::read(&path).unwrap();
            events.extend(read(&bytes, &path.display().to_string()).unwrap().events);
        }
    }
    assert!(events.len() >= 15, "{}", events.len());
    let mut variants = Vec::new();
    for e in &events {
        variants.push(e.clone());
        for part in ["request", "response"] {
            let v = if part == "request" {
                &e.request
            } else {
                &e.response
            };
            let keys: Vec<String> = v
                .as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            for k in keys {
                for replacement in [
                    None,
                    Some(Value::Null),
                    Some(json!("not-what-it-should-be")),
                ] {
                    let mut broken = e.clone();
                    let target = if part == "request" {
                        &mut broken.request
                    } else {
                        &mut broken.response
                    };
                    if let Some(m) = target.as_object_mut() {
                        match &replacement {
                            None => {
                                m.remove(&k);
                            }
                            Some(r) => {
                                m.insert(k.clone(), r.clone());
                            }
                        }
                    }
                    variants.push(broken);
                }
            }
        }
    }
    let (mut failed, mut applied) = (0, 0);
    for e in &variants {
        let mut inv = demo.clone();
        match fold(&mut inv, e) {
            Err(why) => {
                failed += 1;
                assert_eq!(
                    serde_json::to_value(&inv).unwrap(),
                    before,
                    "{} {} failed ({why}) but changed the inventory",
                    e.name,
                    e.id
                );
            }
            Ok(_) => applied += 1,
        }
    }
    // Both outcomes were exercised, so the check above is not vacuous.
    assert!(
        failed > 20 && applied > 15,
        "failed {failed}, applied {applied}"
    );
}
