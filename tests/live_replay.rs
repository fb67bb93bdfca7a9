//! The live reader against recorded IAM responses, for what a moto server cannot show:
//! pagination of GetAccountAuthorizationDetails (moto returns one page), credential-report
//! polling, a throttled call retried by the SDK, NoSuchEntity for the password policy, and the
//! exact sequence of calls.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/replay.rs"]
mod replay;

use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use iamwarden_aws::live::{read, LiveOptions};
use replay::{action_of, error, ok, replay_client, req};

fn user(name: &str, id: &str) -> String {
    format!(
        "<member><UserName>{name}</UserName><UserId>{id}</UserId><Arn>arn:aws:iam::111122223333:user/{name}</Arn><Path>/</Path><CreateDate>2025-01-01T00:00:00Z</CreateDate><GroupList/><AttachedManagedPolicies/><UserPolicyList/><Tags/></member>"
    )
}

const REPORT: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated
<root_account>,arn:aws:iam::111122223333:root,2020-01-01T00:00:00+00:00,not_supported,2026-10-01T00:00:00+00:00,not_supported,not_supported,false,true,2021-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
alice,arn:aws:iam::111122223333:user/alice,2025-01-01T00:00:00+00:00,true,2026-10-30T08:00:00+00:00,2025-01-01T00:00:00+00:00,N/A,false,true,2025-02-01T10:00:00+00:00,2025-03-01T00:00:00+00:00,eu-west-1,s3,true,2026-09-01T10:00:00+00:00,2026-10-31T00:00:00+00:00,us-east-1,sts,false,N/A,false,N/A
bob,arn:aws:iam::111122223333:user/bob,2025-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
";

fn events() -> Vec<ReplayEvent> {
    let page1 = format!(
        "<IsTruncated>true</IsTruncated><Marker>m-2</Marker><UserDetailList>{}</UserDetailList><GroupDetailList/><RoleDetailList/><Policies/>",
        user("alice", "AIDAALICE")
    );
    let page2 = format!(
        "<IsTruncated>false</IsTruncated><UserDetailList>{}</UserDetailList><GroupDetailList/><RoleDetailList/><Policies/>",
        user("bob", "AIDABOB")
    );
    let report = aws_smithy_types::base64::encode(REPORT);
    vec![
        ReplayEvent::new(req(), ok("GetAccountAuthorizationDetails", &page1)),
        ReplayEvent::new(req(), ok("GetAccountAuthorizationDetails", &page2)),
        ReplayEvent::new(req(), ok("GenerateCredentialReport", "<State>STARTED</State>")),
        ReplayEvent::new(req(), ok("GenerateCredentialReport", "<State>INPROGRESS</State>")),
        ReplayEvent::new(req(), ok("GenerateCredentialReport", "<State>COMPLETE</State>")),
        ReplayEvent::new(
            req(),
            ok(
                "GetCredentialReport",
                &format!("<Content>{report}</Content><ReportFormat>text/csv</ReportFormat><GeneratedTime>2026-11-01T00:00:00Z</GeneratedTime>"),
            ),
        ),
        ReplayEvent::new(req(), ok("ListVirtualMFADevices", "<IsTruncated>false</IsTruncated><VirtualMFADevices/>")),
        ReplayEvent::new(req(), error(404, "NoSuchEntity", "The Password Policy with domain name 111122223333 cannot be found.")),
        ReplayEvent::new(req(), ok("GetAccountSummary", "<SummaryMap><entry><key>Users</key><value>2</value></entry></SummaryMap>")),
        ReplayEvent::new(req(), ok("ListAccountAliases", "<IsTruncated>false</IsTruncated><AccountAliases><member>acme</member></AccountAliases>")),
        // The first ListAccessKeys is throttled; the SDK's standard retry repeats it.
        ReplayEvent::new(req(), error(400, "Throttling", "Rate exceeded")),
        ReplayEvent::new(
            req(),
            ok(
                "ListAccessKeys",
                "<IsTruncated>false</IsTruncated><AccessKeyMetadata>\
                 <member><UserName>alice</UserName><AccessKeyId>AKIANEWER00000000002</AccessKeyId><Status>Active</Status><CreateDate>2026-09-01T10:00:00.481Z</CreateDate></member>\
                 <member><UserName>alice</UserName><AccessKeyId>AKIAOLDER00000000001</AccessKeyId><Status>Active</Status><CreateDate>2025-02-01T10:00:00.002Z</CreateDate></member>\
                 </AccessKeyMetadata>",
            ),
        ),
    ]
}

#[tokio::test]
async fn pagination_polling_throttling_and_call_order() {
    let http = StaticReplayClient::new(events());
    let client = replay_client(http.clone());
    let opts = LiveOptions {
        concurrency: 1,
        ..LiveOptions::default()
    };
    let (inv, stats) = read(&client, &opts).await.unwrap();

    // Both pages were read: the second request carried the first page's marker.
    assert_eq!(
        inv.users
            .iter()
            .map(|u| u.name.as_str())
            .collect::<Vec<_>>(),
        ["alice", "bob"]
    );
    let requests: Vec<_> = http.actual_requests().collect();
    let second = std::str::from_utf8(requests[1].body().bytes().unwrap()).unwrap();
    assert!(second.contains("Marker=m-2"), "{second}");

    let order: Vec<String> = requests.iter().map(|r| action_of(r)).collect();
    assert_eq!(
        order,
        [
            "GetAccountAuthorizationDetails",
            "GetAccountAuthorizationDetails",
            "GenerateCredentialReport",
            "GenerateCredentialReport",
            "GenerateCredentialReport",
            "GetCredentialReport",
            "ListVirtualMFADevices",
            "GetAccountPasswordPolicy",
            "GetAccountSummary",
            "ListAccountAliases",
            "ListAccessKeys",
            "ListAccessKeys",
        ]
    );
    // Only alice holds keys: bob costs no per-user call.
    assert_eq!(
        stats.calls.get("ListAccessKeys"),
        Some(&1),
        "logical calls, retries excluded"
    );
    assert_eq!(stats.total(), 11);

    // Slots map to key ids by creation second, whatever order ListAccessKeys lists them in.
    let key = |id: &str| inv.access_keys.iter().find(|k| k.id == id).unwrap();
    assert_eq!(
        key("AKIAOLDER00000000001").last_used_region.as_deref(),
        Some("eu-west-1")
    );
    assert_eq!(
        key("AKIANEWER00000000002").last_used_service.as_deref(),
        Some("sts")
    );
    assert!(key("AKIANEWER00000000002").newest_active_key_of_user);

    assert_eq!(inv.account.id, "111122223333");
    assert_eq!(inv.account.alias.as_deref(), Some("acme"));
    assert!(
        inv.account.password_policy.is_none(),
        "NoSuchEntity means no policy"
    );
    assert!(inv.account.root.access_keys_present && !inv.account.root.mfa_enabled);
    assert_eq!(inv.login_profiles.len(), 1);
    assert!(
        inv.users
            .iter()
            .find(|u| u.name == "alice")
            .unwrap()
            .password_enabled
    );
}

#[tokio::test]
async fn access_denied_names_the_call_and_the_permission() {
    let http = StaticReplayClient::new(vec![ReplayEvent::new(
        req(),
        error(403, "AccessDenied", "User: arn:aws:iam::111122223333:user/ci is not authorized to perform: iam:GetAccountAuthorizationDetails"),
    )]);
    let client = replay_client(http);
    let err = read(&client, &LiveOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("GetAccountAuthorizationDetails failed:"),
        "{err}"
    );
    assert!(
        err.contains("needs the IAM permission iam:GetAccountAuthorizationDetails"),
        "{err}"
    );
    assert!(!err.contains("not-a-secret"), "never print a secret: {err}");
}

#[test]
fn read_only_policy_grants_exactly_what_the_reader_calls() {
    let path = concat!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/.."),
        "/../examples/iam-read-only-policy.json"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let parsed = iamwarden_core::policy::Document::parse(&doc).unwrap();
    let mut granted: Vec<String> = doc["Statement"][0]["Action"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().trim_start_matches("iam:").to_string())
        .collect();
    granted.sort();
    let mut needed: Vec<String> = iamwarden_aws::live::OPERATIONS
        .iter()
        .map(|s| s.to_string())
        .collect();
    needed.sort();
    assert_eq!(
        granted, needed,
        "least privilege: exactly the operations the reader calls"
    );
    for op in iamwarden_aws::live::OPERATIONS {
        assert!(parsed.allows(&format!("iam:{op}"), "*", false), "{op}");
    }
    assert!(!parsed.allows("iam:CreateUser", "*", false), "read-only");
    assert!(!parsed.admin_access(true));
}
