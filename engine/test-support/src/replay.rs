//! Test support: recorded IAM responses for aws-sdk-iam's `StaticReplayClient`, for what a
//! moto server cannot show (pagination, polling, throttling, exact call order, AWS errors).
// Test code: the fixed responses and requests below always build; a failure is a bug here.
#![allow(clippy::unwrap_used)]

use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_types::body::SdkBody;

const NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

fn xml(status: u16, body: String) -> http::Response<SdkBody> {
    http::Response::builder()
        .status(status)
        .header("content-type", "text/xml")
        .body(SdkBody::from(body))
        .unwrap()
}

/// A successful response of `action` with `result` inside its `<ActionResult>` element.
pub fn ok(action: &str, result: &str) -> http::Response<SdkBody> {
    xml(200, format!(
        "<{action}Response xmlns=\"{NS}\"><{action}Result>{result}</{action}Result><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></{action}Response>"
    ))
}

/// A successful response without a result element (the Delete*/Detach*/Remove* calls).
pub fn done(action: &str) -> http::Response<SdkBody> {
    xml(200, format!(
        "<{action}Response xmlns=\"{NS}\"><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></{action}Response>"
    ))
}

/// An AWS error response.
pub fn error(status: u16, code: &str, message: &str) -> http::Response<SdkBody> {
    xml(status, format!(
        "<ErrorResponse xmlns=\"{NS}\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>r</RequestId></ErrorResponse>"
    ))
}

/// The request side of a replay event (not compared: tests read `actual_requests`).
pub fn req() -> http::Request<SdkBody> {
    http::Request::builder()
        .uri("https://iam.amazonaws.com/")
        .body(SdkBody::empty())
        .unwrap()
}

/// One recorded exchange answering with `resp`.
pub fn ev(resp: http::Response<SdkBody>) -> ReplayEvent {
    ReplayEvent::new(req(), resp)
}

/// An IAM client whose HTTP is the recorded `http` (static test credentials).
pub fn replay_client(http: StaticReplayClient) -> aws_sdk_iam::Client {
    let conf = aws_sdk_iam::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDTEST",
            "not-a-secret",
            None,
            None,
            "test",
        ))
        .http_client(http)
        .build();
    aws_sdk_iam::Client::from_conf(conf)
}

/// The `Action=` of a query-API request.
pub fn action_of(r: &aws_smithy_runtime_api::http::Request) -> String {
    let body = std::str::from_utf8(r.body().bytes().unwrap_or_default()).unwrap_or_default();
    body.split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .unwrap_or_default()
        .to_string()
}
