//! Unit tests of the SDK edge: every operation apply makes is granted by the published apply
//! policy, and what the SDK returns is classified into the outcome a step can prove.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;

/// Every IAM operation apply makes: the mutating calls ([`crate::iam::IamCall::name`]) and
/// the reads of the SDK implementation.
fn operations_in_source() -> std::collections::BTreeSet<String> {
    let calls = regex::Regex::new(r#"C::[A-Za-z]+ \{[^}]*\} => "([A-Za-z]+)""#).unwrap();
    let reads = regex::Regex::new(r#"(?:sdk_err|all_items!)\(\s*"([A-Za-z]+)""#).unwrap();
    // The rotation hand-off's Secrets Manager operations (`IamCall::service`).
    let secrets = [
        "CreateSecret",
        "PutSecretValue",
        "TagResource",
        "UpdateSecretVersionStage",
        "DeleteSecret",
        "DescribeSecret",
    ];
    let iam = include_str!("../../core/src/iam/mod.rs");
    let sdk = include_str!("iam.rs");
    calls
        .captures_iter(iam)
        .chain(reads.captures_iter(sdk))
        .map(|c| c[1].to_string())
        .filter(|op| op != "GetCallerIdentity") // STS; needs no permission
        .filter(|op| op != "secretsmanager") // the word in `IamCall::service`
        .map(|op| {
            let service = if secrets.contains(&op.as_str()) {
                "secretsmanager"
            } else {
                "iam"
            };
            format!("{service}:{op}")
        })
        .collect()
}

#[test]
fn the_apply_policy_grants_exactly_what_apply_calls() {
    let ops = operations_in_source();
    assert!(ops.len() > 50, "{ops:?}");
    let policy: Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/iam-apply-policy.json"
    )))
    .unwrap();
    let granted: std::collections::BTreeSet<String> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|st| st["Action"].as_array().unwrap().iter())
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    let missing: Vec<_> = ops.difference(&granted).collect();
    let extra: Vec<_> = granted.difference(&ops).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "examples/iam-apply-policy.json: missing {missing:?}, not called {extra:?}"
    );
}

// ---- the outcome of a mutating call, and how an unanswered one is resolved ----------------

#[allow(clippy::result_large_err)] // SdkError is what the SDK returns; these build one
mod outcomes {
    use crate::iam::classify;
    use aws_sdk_iam::error::{ErrorMetadata, SdkError};
    use aws_sdk_iam::operation::detach_user_policy::DetachUserPolicyError;
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_types::body::SdkBody;
    use iamwarden_core::iam::outcome_result;
    use iamwarden_core::iam::CallOutcome;

    type R = Result<(), SdkError<DetachUserPolicyError, HttpResponse>>;

    fn answer(status: u16, code: &str, message: &str) -> R {
        let err = DetachUserPolicyError::generic(
            ErrorMetadata::builder().code(code).message(message).build(),
        );
        let raw = HttpResponse::new(status.try_into().unwrap(), SdkBody::empty());
        Err(SdkError::service_error(err, raw))
    }

    fn io(kind: std::io::ErrorKind) -> R {
        Err(SdkError::dispatch_failure(ConnectorError::io(Box::new(
            std::io::Error::new(kind, "io"),
        ))))
    }

    const EP: &str = "http://127.0.0.1:1";

    #[test]
    fn success_is_done() {
        let ok: R = Ok(());
        assert_eq!(classify(ok), CallOutcome::Done(()));
    }

    #[test]
    fn throttling_and_503_are_answers_that_prove_nothing_was_done() {
        for (status, code) in [(400, "Throttling"), (503, "ServiceUnavailable"), (503, "X")] {
            match classify(answer(status, code, "slow down")) {
                CallOutcome::Refused { retryable, .. } => assert!(retryable, "{status} {code}"),
                other => panic!("{status} {code}: {other:?}"),
            }
        }
    }

    #[test]
    fn access_denied_is_refused_with_the_call_the_endpoint_and_the_permission() {
        let o = classify(answer(403, "AccessDenied", "not allowed"));
        assert!(matches!(
            o,
            CallOutcome::Refused {
                retryable: false,
                status: 403,
                ..
            }
        ));
        let msg = outcome_result(o, "DetachUserPolicy", EP)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("DetachUserPolicy was refused by IAM at http://127.0.0.1:1"),
            "{msg}"
        );
        assert!(msg.contains("AccessDenied: not allowed"), "{msg}");
        assert!(msg.contains("iam:DetachUserPolicy"), "{msg}");
    }

    #[test]
    fn a_500_does_not_say_whether_the_change_was_made() {
        let o = classify(answer(500, "InternalFailure", "oops"));
        assert!(matches!(o, CallOutcome::Unknown { .. }), "{o:?}");
    }

    #[test]
    fn no_answer_is_unknown_and_never_says_the_endpoint_was_unreachable() {
        let cases: Vec<R> = vec![
            Err(SdkError::timeout_error("attempt timeout")),
            Err(SdkError::response_error(
                "truncated body",
                HttpResponse::new(200.try_into().unwrap(), SdkBody::empty()),
            )),
            io(std::io::ErrorKind::ConnectionReset),
            io(std::io::ErrorKind::UnexpectedEof),
        ];
        for c in cases {
            let o = classify(c);
            assert!(matches!(o, CallOutcome::Unknown { .. }), "{o:?}");
            let e = outcome_result(o, "CreatePolicyVersion", EP).unwrap_err();
            assert!(e.is_unknown());
            let msg = e.to_string();
            assert!(
                msg.contains("the request was sent but no answer came"),
                "{msg}"
            );
            assert!(!msg.contains("cannot reach"), "{msg}");
        }
    }

    #[test]
    fn a_refused_connection_was_never_sent() {
        let o = classify(io(std::io::ErrorKind::ConnectionRefused));
        assert!(matches!(o, CallOutcome::NotSent { .. }), "{o:?}");
        let msg = outcome_result(o, "DetachUserPolicy", EP)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("cannot reach the IAM endpoint http://127.0.0.1:1"),
            "{msg}"
        );
        assert!(msg.contains("the request was not sent"), "{msg}");
    }
}
