//! The SNS topic `watch --notify-topic` publishes each planned batch's summary to
//! ([`iamwarden_core::watch::Notification`]: counts and changes, never a secret), on the SDK
//! configuration every other client gets (endpoint override, region, credentials, timeouts).

use crate::live::code_and_message;

/// Every SNS operation `watch` calls.
pub const OPERATIONS: [&str; 1] = ["sns:Publish"];

/// A failed publish.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("sns:Publish to {topic} failed{}: {message}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
pub struct SnsError {
    /// The topic ARN.
    pub topic: String,
    /// The AWS error code, when there is one.
    pub code: Option<String>,
    /// What the service said.
    pub message: String,
}

/// One topic.
#[derive(Debug, Clone)]
pub struct Topic {
    client: aws_sdk_sns::Client,
    arn: String,
}

impl Topic {
    /// The topic `arn`, with the client built from `config`.
    pub fn new(config: &aws_config::SdkConfig, arn: &str) -> Topic {
        Topic {
            client: aws_sdk_sns::Client::new(config),
            arn: arn.to_string(),
        }
    }

    /// Publishes `message` (JSON) with `subject` (SNS keeps the first 100 characters);
    /// returns SNS's message id.
    pub async fn publish(&self, subject: &str, message: &str) -> Result<String, SnsError> {
        let subject: String = subject
            .chars()
            .filter(|c| !c.is_control())
            .take(100)
            .collect();
        let out = self
            .client
            .publish()
            .topic_arn(&self.arn)
            .subject(subject)
            .message(message)
            .send()
            .await
            .map_err(|e| {
                let (code, message) = code_and_message(&e);
                SnsError {
                    topic: self.arn.clone(),
                    code,
                    message,
                }
            })?;
        Ok(out.message_id.unwrap_or_default())
    }
}
