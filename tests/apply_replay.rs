//! Apply against recorded IAM responses, for what a moto server cannot show: the exact call
//! order of the `delete_user` cascade with every kind of dependent AWS knows (signing
//! certificates, SSH keys, service-specific credentials and a permissions boundary included),
//! AWS's DeleteConflict reported with the call that got it, and AccessDenied naming the
//! permission. The journal is checked against the calls made.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_test_support::replay;

use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_types::body::SdkBody;
use iamwarden_core::apply::{self, journal, Caller, Outcome};
use iamwarden_core::inventory::{Inventory, ResourceKind, ResourceRef};
use iamwarden_core::plan::{Action, ChangeKind, Plan};
use iamwarden_core::spec::StepName;
use iamwarden_core::steps::{Body, JsonParts};
use replay::{action_of, done, error, ev, ok, replay_client};
use serde_json::{json, Value};
use std::sync::Arc;

const T: &str = "2025-01-01T00:00:00Z";

fn plan_with(actions: Vec<Action>) -> Plan {
    let rules = iamwarden_core::packs::load_rule_set(&[]).unwrap();
    let mut inv = Inventory::default();
    inv.account.id = "111122223333".into();
    let now = chrono::Utc::now();
    let mut p = iamwarden_core::pipeline::make_plan(&rules, &inv, now, now);
    p.actions = actions;
    p.seal();
    p
}

fn delete_user_action() -> Action {
    {
        let parts = JsonParts {
            params: json!({"user": "x", "permissions_boundary": "arn:aws:iam::111122223333:policy/boundary"}),
            precondition: json!({"user_id": "AIDAX", "created_at": T}),
            before: json!({"user": "x", "groups": ["g1"], "access_keys": ["AKIA1", "AKIA2"], "attached_policies": ["arn:aws:iam::111122223333:policy/p1"], "inline_policies": ["inline1"]}),
            after: Value::Null,
        };
        let mut a = Action::new(
            "act-deleteuser",
            vec!["r".into()],
            ResourceRef {
                kind: ResourceKind::User,
                id: "AIDAX".into(),
                arn: Some("arn:aws:iam::111122223333:user/x".into()),
                name: "x".into(),
            },
            Body::from_json(StepName::DeleteUser, parts).unwrap(),
        );
        a.change = ChangeKind::Delete;
        a
    }
}

const KEYS: &str = "<AccessKeyMetadata><member><UserName>x</UserName><AccessKeyId>AKIA1</AccessKeyId><Status>Active</Status><CreateDate>2025-01-01T00:00:00Z</CreateDate></member><member><UserName>x</UserName><AccessKeyId>AKIA2</AccessKeyId><Status>Inactive</Status><CreateDate>2025-01-01T00:00:00Z</CreateDate></member></AccessKeyMetadata><IsTruncated>false</IsTruncated>";
const GROUPS: &str = "<Groups><member><Path>/</Path><GroupName>g1</GroupName><GroupId>AGPA1</GroupId><Arn>arn:aws:iam::111122223333:group/g1</Arn><CreateDate>2025-01-01T00:00:00Z</CreateDate></member></Groups><IsTruncated>false</IsTruncated>";
const ATTACHED: &str = "<AttachedPolicies><member><PolicyName>p1</PolicyName><PolicyArn>arn:aws:iam::111122223333:policy/p1</PolicyArn></member></AttachedPolicies><IsTruncated>false</IsTruncated>";
const INLINE: &str =
    "<PolicyNames><member>inline1</member></PolicyNames><IsTruncated>false</IsTruncated>";

/// The account as AWS answers for user x: two keys, a password, a signing certificate, an SSH
/// key, a CodeCommit credential, a virtual MFA device, a group, an attached and an inline
/// policy, and a permissions boundary.
fn cascade_events(last: http::Response<SdkBody>) -> Vec<ReplayEvent> {
    vec![
        // The precondition check.
        ev(ok("GetUser", "<User><Path>/</Path><UserName>x</UserName><UserId>AIDAX</UserId><Arn>arn:aws:iam::111122223333:user/x</Arn><CreateDate>2025-01-01T00:00:00Z</CreateDate><PermissionsBoundary><PermissionsBoundaryType>Policy</PermissionsBoundaryType><PermissionsBoundaryArn>arn:aws:iam::111122223333:policy/boundary</PermissionsBoundaryArn></PermissionsBoundary></User>")),
        ev(ok("ListAccessKeys", KEYS)),
        ev(ok("ListGroupsForUser", GROUPS)),
        ev(ok("ListAttachedUserPolicies", ATTACHED)),
        ev(ok("ListUserPolicies", INLINE)),
        // The cascade.
        ev(ok("GetLoginProfile", "<LoginProfile><UserName>x</UserName><CreateDate>2025-01-01T00:00:00Z</CreateDate><PasswordResetRequired>false</PasswordResetRequired></LoginProfile>")),
        ev(done("DeleteLoginProfile")),
        ev(ok("ListAccessKeys", KEYS)),
        ev(done("DeleteAccessKey")),
        ev(done("DeleteAccessKey")),
        ev(ok("ListSigningCertificates", "<Certificates><member><UserName>x</UserName><CertificateId>CERT1</CertificateId><CertificateBody>-----BEGIN CERTIFICATE-----</CertificateBody><Status>Active</Status></member></Certificates><IsTruncated>false</IsTruncated>")),
        ev(done("DeleteSigningCertificate")),
        ev(ok("ListSSHPublicKeys", "<SSHPublicKeys><member><UserName>x</UserName><SSHPublicKeyId>APKA1</SSHPublicKeyId><Status>Active</Status><UploadDate>2025-01-01T00:00:00Z</UploadDate></member></SSHPublicKeys><IsTruncated>false</IsTruncated>")),
        ev(done("DeleteSSHPublicKey")),
        ev(ok("ListServiceSpecificCredentials", "<ServiceSpecificCredentials><member><UserName>x</UserName><Status>Active</Status><ServiceUserName>x-at-1</ServiceUserName><CreateDate>2025-01-01T00:00:00Z</CreateDate><ServiceSpecificCredentialId>ACCA1</ServiceSpecificCredentialId><ServiceName>codecommit.amazonaws.com</ServiceName></member></ServiceSpecificCredentials>")),
        ev(done("DeleteServiceSpecificCredential")),
        ev(ok("ListMFADevices", "<MFADevices><member><UserName>x</UserName><SerialNumber>arn:aws:iam::111122223333:mfa/x</SerialNumber><EnableDate>2025-01-01T00:00:00Z</EnableDate></member></MFADevices><IsTruncated>false</IsTruncated>")),
        ev(done("DeactivateMFADevice")),
        ev(done("DeleteVirtualMFADevice")),
        ev(ok("ListGroupsForUser", GROUPS)),
        ev(done("RemoveUserFromGroup")),
        ev(ok("ListAttachedUserPolicies", ATTACHED)),
        ev(done("DetachUserPolicy")),
        ev(ok("ListUserPolicies", INLINE)),
        ev(done("DeleteUserPolicy")),
        ev(done("DeleteUserPermissionsBoundary")),
        ev(last),
    ]
}

fn caller() -> Caller {
    Caller {
        arn: "arn:aws:iam::111122223333:user/ci".into(),
        account_id: "111122223333".into(),
        access_key_id: Some("AKIDTEST".into()),
    }
}

fn options() -> apply::Options {
    apply::Options {
        allow_destructive: true,
        max_actions: None,
        max_plan_age: chrono::Duration::hours(1),
        concurrency: 1,
        plan_file: "plan.json".into(),
    }
}

async fn run_plan(plan: &Plan, http: &StaticReplayClient) -> (apply::Report, Vec<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let j = Arc::new(journal::Journal::open(&path).unwrap());
    let aws = iamwarden_aws::iam::executor(replay_client(http.clone()), j, journal::Mode::Apply);
    let report = apply::run(
        plan,
        &options(),
        &aws,
        &caller(),
        &journal::History::default(),
        None,
    )
    .await
    .unwrap();
    let records = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (report, records)
}

#[tokio::test]
async fn delete_user_removes_every_dependent_in_aws_order_then_the_user() {
    let http = StaticReplayClient::new(cascade_events(done("DeleteUser")));
    let plan = plan_with(vec![delete_user_action()]);
    let (report, journal) = run_plan(&plan, &http).await;
    assert_eq!(report.actions[0].outcome, Outcome::Applied, "{report:?}");
    let order: Vec<String> = http.actual_requests().map(action_of).collect();
    assert_eq!(
        order,
        [
            "GetUser",
            "ListAccessKeys",
            "ListGroupsForUser",
            "ListAttachedUserPolicies",
            "ListUserPolicies",
            "GetLoginProfile",
            "DeleteLoginProfile",
            "ListAccessKeys",
            "DeleteAccessKey",
            "DeleteAccessKey",
            "ListSigningCertificates",
            "DeleteSigningCertificate",
            "ListSSHPublicKeys",
            "DeleteSSHPublicKey",
            "ListServiceSpecificCredentials",
            "DeleteServiceSpecificCredential",
            "ListMFADevices",
            "DeactivateMFADevice",
            "DeleteVirtualMFADevice",
            "ListGroupsForUser",
            "RemoveUserFromGroup",
            "ListAttachedUserPolicies",
            "DetachUserPolicy",
            "ListUserPolicies",
            "DeleteUserPolicy",
            "DeleteUserPermissionsBoundary",
            "DeleteUser",
        ]
    );
    // Every mutating call was journaled before it was sent and after it returned, in order.
    let intents: Vec<&str> = journal
        .iter()
        .filter(|r| r["record"] == "call")
        .map(|r| r["call"].as_str().unwrap())
        .collect();
    let mutating: Vec<&str> = order
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with("Get") && !a.starts_with("List"))
        .collect();
    assert_eq!(intents, mutating);
    let results = journal.iter().filter(|r| r["record"] == "result").count();
    assert_eq!(results, intents.len());
    let text = serde_json::to_string(&journal).unwrap();
    assert!(!text.contains("not-a-secret"), "the journal holds a secret");
}

#[tokio::test]
async fn delete_conflict_is_reported_with_the_call_and_journaled() {
    let http = StaticReplayClient::new(cascade_events(error(
        409,
        "DeleteConflict",
        "Cannot delete entity, must delete login profile first.",
    )));
    let plan = plan_with(vec![delete_user_action()]);
    let (report, journal) = run_plan(&plan, &http).await;
    let a = &report.actions[0];
    assert_eq!(a.outcome, Outcome::Failed);
    assert!(
        a.detail.starts_with("DeleteUser was refused by IAM at")
            && a.detail.contains("DeleteConflict: Cannot delete entity")
            && a.detail.contains("AWS requires something removed first"),
        "{}",
        a.detail
    );
    assert_eq!(apply::exit_kind(&report.summary), apply::ExitKind::Failed);
    let last = journal
        .iter()
        .rev()
        .find(|r| r["record"] == "result")
        .unwrap();
    assert_eq!(last["call"], "DeleteUser");
    assert_eq!(last["ok"], false);
}

#[tokio::test]
async fn access_denied_names_the_permission_and_the_rest_goes_on() {
    let key = |id: &str, user: &str| {
        let parts = JsonParts {
            params: json!({"user": user}),
            precondition: json!({"user": user, "status": "Active", "last_used_at": null}),
            before: json!({"status": "Active"}),
            after: json!({"status": "Inactive"}),
        };
        let mut a = Action::new(
            format!("act-{id}"),
            vec!["r".into()],
            ResourceRef {
                kind: ResourceKind::AccessKey,
                id: id.into(),
                arn: None,
                name: id.into(),
            },
            Body::from_json(StepName::DeactivateAccessKey, parts).unwrap(),
        );
        a.change = ChangeKind::Change;
        a
    };
    let keys = |id: &str, user: &str| {
        format!("<AccessKeyMetadata><member><UserName>{user}</UserName><AccessKeyId>{id}</AccessKeyId><Status>Active</Status><CreateDate>{T}</CreateDate></member></AccessKeyMetadata><IsTruncated>false</IsTruncated>")
    };
    let http = StaticReplayClient::new(vec![
        ev(ok("ListAccessKeys", &keys("AKIAA", "a"))),
        ev(ok("GetAccessKeyLastUsed", "<UserName>a</UserName><AccessKeyLastUsed><Region>N/A</Region><ServiceName>N/A</ServiceName></AccessKeyLastUsed>")),
        ev(error(403, "AccessDenied", "User: arn:aws:iam::111122223333:user/ci is not authorized to perform: iam:UpdateAccessKey")),
        ev(ok("ListAccessKeys", &keys("AKIAB", "b"))),
        ev(ok("GetAccessKeyLastUsed", "<UserName>b</UserName><AccessKeyLastUsed><Region>N/A</Region><ServiceName>N/A</ServiceName></AccessKeyLastUsed>")),
        ev(done("UpdateAccessKey")),
    ]);
    let plan = plan_with(vec![key("AKIAA", "a"), key("AKIAB", "b")]);
    let (report, _) = run_plan(&plan, &http).await;
    assert_eq!(report.actions[0].outcome, Outcome::Failed);
    assert!(
        report.actions[0]
            .detail
            .contains("(the caller needs the IAM permission iam:UpdateAccessKey)"),
        "{}",
        report.actions[0].detail
    );
    assert_eq!(report.actions[1].outcome, Outcome::Applied);
}

#[tokio::test]
async fn a_password_used_since_the_plan_makes_its_reset_stale() {
    let action = {
        let parts = JsonParts {
            params: json!({"user": "x"}),
            precondition: json!({"user": "x", "created_at": T, "password_reset_required": false, "password_last_used_at": "2026-01-01T00:00:00Z"}),
            before: json!({"password_reset_required": false}),
            after: json!({"password_reset_required": true}),
        };
        let mut a = Action::new(
            "act-reset",
            vec!["r".into()],
            ResourceRef {
                kind: ResourceKind::LoginProfile,
                id: "lp-x".into(),
                arn: None,
                name: "x".into(),
            },
            Body::from_json(StepName::RequirePasswordReset, parts).unwrap(),
        );
        a.change = ChangeKind::Change;
        a
    };
    let http = StaticReplayClient::new(vec![ev(ok(
        "GetUser",
        "<User><Path>/</Path><UserName>x</UserName><UserId>AIDAX</UserId><Arn>arn:aws:iam::111122223333:user/x</Arn><CreateDate>2025-01-01T00:00:00Z</CreateDate><PasswordLastUsed>2026-11-27T09:30:00Z</PasswordLastUsed></User>",
    ))]);
    let plan = plan_with(vec![action]);
    let (report, _) = run_plan(&plan, &http).await;
    assert_eq!(report.actions[0].outcome, Outcome::Stale);
    assert!(
        report.actions[0]
            .detail
            .contains("the password was used at 2026-11-27T09:30:00Z since the plan saw its last use (2026-01-01T00:00:00Z)"),
        "{}",
        report.actions[0].detail
    );
    assert_eq!(
        http.actual_requests().count(),
        1,
        "nothing after the stale check"
    );
}
