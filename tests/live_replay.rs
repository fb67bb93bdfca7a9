//! The live reader against recorded IAM responses, for what a moto server cannot show:
//! pagination of GetAccountAuthorizationDetails (moto returns one page), credential-report
//! polling, a throttled call retried by the SDK, NoSuchEntity for the password policy, and the
//! exact sequence of calls.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_test_support::replay;

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
    // Statement 0: the full read; statement 1: event mode's targeted read.
    let granted = |i: usize| -> Vec<String> {
        let mut ops: Vec<String> = doc["Statement"][i]["Action"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().trim_start_matches("iam:").to_string())
            .collect();
        ops.sort();
        ops
    };
    let sorted = |ops: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = ops.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(
        granted(0),
        sorted(&iamwarden_aws::live::OPERATIONS),
        "least privilege: exactly the operations the reader calls"
    );
    assert_eq!(
        granted(1),
        sorted(&iamwarden_aws::live::scoped::OPERATIONS),
        "least privilege: exactly the operations the targeted read adds"
    );
    for op in iamwarden_aws::live::OPERATIONS
        .iter()
        .chain(&iamwarden_aws::live::scoped::OPERATIONS)
    {
        assert!(parsed.allows(&format!("iam:{op}"), "*", false), "{op}");
    }
    assert!(!parsed.allows("iam:CreateUser", "*", false), "read-only");
    assert!(!parsed.admin_access(true));
}

// ---- service last-accessed data ---------------------------------------------------------

const LAST_ACCESSED_PAGE1: &str = "<JobStatus>COMPLETED</JobStatus><JobType>ACTION_LEVEL</JobType>\
<JobCreationDate>2026-11-01T00:00:00Z</JobCreationDate><JobCompletionDate>2026-11-01T00:00:04Z</JobCompletionDate>\
<IsTruncated>true</IsTruncated><Marker>sla-2</Marker><ServicesLastAccessed>\
<member><ServiceName>Amazon S3</ServiceName><ServiceNamespace>s3</ServiceNamespace>\
<LastAuthenticated>2026-10-30T08:00:00Z</LastAuthenticated><LastAuthenticatedRegion>eu-west-1</LastAuthenticatedRegion>\
<TotalAuthenticatedEntities>1</TotalAuthenticatedEntities><TrackedActionsLastAccessed>\
<member><ActionName>GetObject</ActionName><LastAccessedTime>2026-10-30T08:00:00Z</LastAccessedTime><LastAccessedRegion>eu-west-1</LastAccessedRegion></member>\
<member><ActionName>PutObject</ActionName></member>\
</TrackedActionsLastAccessed></member></ServicesLastAccessed>";

const LAST_ACCESSED_PAGE2: &str = "<JobStatus>COMPLETED</JobStatus><JobType>ACTION_LEVEL</JobType>\
<JobCreationDate>2026-11-01T00:00:00Z</JobCreationDate><JobCompletionDate>2026-11-01T00:00:04Z</JobCompletionDate>\
<IsTruncated>false</IsTruncated><ServicesLastAccessed>\
<member><ServiceName>Amazon SQS</ServiceName><ServiceNamespace>sqs</ServiceNamespace><TotalAuthenticatedEntities>0</TotalAuthenticatedEntities></member>\
</ServicesLastAccessed>";

fn in_progress() -> http::Response<aws_smithy_types::body::SdkBody> {
    ok(
        "GetServiceLastAccessedDetails",
        "<JobStatus>IN_PROGRESS</JobStatus><JobCreationDate>2026-11-01T00:00:00Z</JobCreationDate><ServicesLastAccessed/>",
    )
}

fn job(id: &str) -> http::Response<aws_smithy_types::body::SdkBody> {
    ok(
        "GenerateServiceLastAccessedDetails",
        &format!("<JobId>{id}</JobId>"),
    )
}

#[tokio::test]
async fn last_accessed_jobs_are_polled_until_complete_and_a_failed_job_is_a_gap() {
    let mut evs = events();
    evs.extend([
        // alice: started, in progress, then complete over two pages.
        ReplayEvent::new(req(), job("job-alice")),
        ReplayEvent::new(req(), in_progress()),
        ReplayEvent::new(req(), ok("GetServiceLastAccessedDetails", LAST_ACCESSED_PAGE1)),
        ReplayEvent::new(req(), ok("GetServiceLastAccessedDetails", LAST_ACCESSED_PAGE2)),
        // bob: the job fails.
        ReplayEvent::new(req(), job("job-bob")),
        ReplayEvent::new(
            req(),
            ok(
                "GetServiceLastAccessedDetails",
                "<JobStatus>FAILED</JobStatus><JobCreationDate>2026-11-01T00:00:00Z</JobCreationDate>\
                 <JobCompletionDate>2026-11-01T00:00:01Z</JobCompletionDate><ServicesLastAccessed/>\
                 <Error><Message>internal failure</Message><Code>ServiceFailure</Code></Error>",
            ),
        ),
    ]);
    let http = StaticReplayClient::new(evs);
    let client = replay_client(http.clone());
    let opts = LiveOptions {
        concurrency: 1,
        service_access: Some(std::time::Duration::from_secs(30)),
        ..LiveOptions::default()
    };
    let (inv, stats) = read(&client, &opts).await.unwrap();
    let requests: Vec<_> = http.actual_requests().collect();
    let tail: Vec<String> = requests.iter().skip(12).map(|r| action_of(r)).collect();
    assert_eq!(
        tail,
        [
            "GenerateServiceLastAccessedDetails",
            "GetServiceLastAccessedDetails",
            "GetServiceLastAccessedDetails",
            "GetServiceLastAccessedDetails",
            "GenerateServiceLastAccessedDetails",
            "GetServiceLastAccessedDetails",
        ]
    );
    let body = |i: usize| {
        std::str::from_utf8(requests[i].body().bytes().unwrap())
            .unwrap()
            .to_string()
    };
    assert!(
        body(12).contains("Granularity=ACTION_LEVEL"),
        "{}",
        body(12)
    );
    assert!(body(12).contains("user%2Falice"), "{}", body(12));
    assert!(body(13).contains("JobId=job-alice"), "{}", body(13));
    assert!(body(15).contains("Marker=sla-2"), "{}", body(15));
    assert_eq!(stats.calls.get("GetServiceLastAccessedDetails"), Some(&4));

    let alice = inv.users.iter().find(|u| u.name == "alice").unwrap();
    let data = alice.service_access.as_ref().unwrap();
    assert_eq!(
        data.status,
        iamwarden_core::inventory::AccessDataStatus::Complete
    );
    assert_eq!(
        data.generated_at.unwrap().to_rfc3339(),
        "2026-11-01T00:00:04+00:00"
    );
    let ns: Vec<&str> = data.services.iter().map(|s| s.namespace.as_str()).collect();
    assert_eq!(ns, ["s3", "sqs"]);
    assert_eq!(data.services[0].actions.len(), 2);
    assert!(data.services[0].actions[1].last_accessed_at.is_none());
    assert_eq!(alice.unused_services, ["sqs"]);

    let bob = inv.users.iter().find(|u| u.name == "bob").unwrap();
    let gap = bob.service_access.as_ref().unwrap();
    assert_eq!(
        gap.status,
        iamwarden_core::inventory::AccessDataStatus::Failed
    );
    assert!(
        gap.error.as_deref().unwrap().contains("internal failure"),
        "{gap:?}"
    );
    assert!(
        gap.services.is_empty() && bob.unused_services.is_empty(),
        "a gap is never unused"
    );
}

#[tokio::test]
async fn a_job_still_running_at_the_deadline_is_a_timed_out_gap_and_a_refused_start_a_failed_one() {
    let mut evs = events();
    // alice: refused (the caller lacks the permission); bob: never finishes.
    evs.push(ReplayEvent::new(
        req(),
        error(
            403,
            "AccessDenied",
            "not authorized to perform: iam:GenerateServiceLastAccessedDetails",
        ),
    ));
    evs.push(ReplayEvent::new(req(), job("job-bob")));
    for _ in 0..20 {
        evs.push(ReplayEvent::new(req(), in_progress()));
    }
    let http = StaticReplayClient::new(evs);
    let client = replay_client(http.clone());
    let opts = LiveOptions {
        concurrency: 1,
        service_access: Some(std::time::Duration::from_millis(500)),
        ..LiveOptions::default()
    };
    let started = std::time::Instant::now();
    let (inv, stats) = read(&client, &opts).await.unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the wait is bounded"
    );
    let alice = inv.users.iter().find(|u| u.name == "alice").unwrap();
    let a = alice.service_access.as_ref().unwrap();
    assert_eq!(
        a.status,
        iamwarden_core::inventory::AccessDataStatus::Failed
    );
    assert!(
        a.error
            .as_deref()
            .unwrap()
            .contains("iam:GenerateServiceLastAccessedDetails"),
        "{a:?}"
    );
    let bob = inv.users.iter().find(|u| u.name == "bob").unwrap();
    let b = bob.service_access.as_ref().unwrap();
    assert_eq!(
        b.status,
        iamwarden_core::inventory::AccessDataStatus::TimedOut
    );
    assert!(b.error.as_deref().unwrap().contains("IN_PROGRESS"), "{b:?}");
    let polls = stats
        .calls
        .get("GetServiceLastAccessedDetails")
        .copied()
        .unwrap_or(0);
    assert!((2..20).contains(&polls), "{polls} polls in 500 ms");
}

#[tokio::test]
async fn without_the_option_no_last_accessed_call_is_made() {
    let http = StaticReplayClient::new(events());
    let client = replay_client(http.clone());
    let opts = LiveOptions {
        concurrency: 1,
        ..LiveOptions::default()
    };
    let (inv, stats) = read(&client, &opts).await.unwrap();
    assert_eq!(stats.calls.get("GenerateServiceLastAccessedDetails"), None);
    assert!(inv.users.iter().all(|u| u.service_access.is_none()));
}
