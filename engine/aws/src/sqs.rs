//! The SQS queue `iamwarden watch` consumes: long-polled `ReceiveMessage` (up to 10 messages,
//! `WaitTimeSeconds`) and `DeleteMessageBatch`, on the SDK configuration the IAM client gets
//! (endpoint override, region, credentials, retries, timeouts). The caller deletes a message only
//! once what it led to is durable on disk; this module only moves messages.

use crate::live::code_and_message;
use iamwarden_core::watch::Message;

/// SQS's largest batch (ReceiveMessage and DeleteMessageBatch).
pub const MAX_BATCH: i32 = 10;

/// Every SQS operation `watch` calls.
pub const OPERATIONS: [&str; 2] = ["sqs:ReceiveMessage", "sqs:DeleteMessage"];

/// A failed SQS call.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{call} failed{}: {message}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
pub struct SqsError {
    /// `sqs:ReceiveMessage`, `sqs:DeleteMessageBatch`.
    pub call: &'static str,
    /// The AWS error code, when there is one.
    pub code: Option<String>,
    /// What the service said.
    pub message: String,
}

/// How much longer than its wait a long poll may take: SQS answers an empty poll only when
/// the wait is over, so an attempt timeout equal to the wait (20 s both by default) cut the
/// answer off, retried it, and lost what it held for a visibility timeout.
pub const LONG_POLL_MARGIN: std::time::Duration = std::time::Duration::from_secs(10);

/// One queue.
#[derive(Debug, Clone)]
pub struct Queue {
    client: aws_sdk_sqs::Client,
    url: String,
    timeouts: aws_smithy_types::timeout::TimeoutConfig,
}

impl Queue {
    /// The queue at `url`, with the client built from `config`.
    pub fn new(config: &aws_config::SdkConfig, url: &str) -> Queue {
        Queue {
            client: aws_sdk_sqs::Client::new(config),
            url: url.to_string(),
            timeouts: config
                .timeout_config()
                .cloned()
                .unwrap_or_else(|| aws_smithy_types::timeout::TimeoutConfig::builder().build()),
        }
    }

    /// The timeouts of one long poll of `wait_seconds`: the configured ones, each raised to
    /// the wait plus [`LONG_POLL_MARGIN`] where it is shorter.
    pub fn long_poll_timeouts(
        &self,
        wait_seconds: i32,
    ) -> aws_smithy_types::timeout::TimeoutConfig {
        let wait =
            std::time::Duration::from_secs(u64::try_from(wait_seconds.clamp(0, 20)).unwrap_or(20));
        let least = wait + LONG_POLL_MARGIN;
        let raise = |t: Option<std::time::Duration>| t.map(|t| t.max(least));
        let mut b = self.timeouts.to_builder();
        if let Some(t) = raise(self.timeouts.operation_attempt_timeout()) {
            b = b.operation_attempt_timeout(t);
        }
        if let Some(t) = raise(self.timeouts.operation_timeout()) {
            b = b.operation_timeout(t);
        }
        b.build()
    }

    /// One long poll: waits up to `wait_seconds` (0-20) for up to [`MAX_BATCH`] messages.
    /// An empty result means the queue stayed empty for the whole wait.
    pub async fn receive(&self, wait_seconds: i32) -> Result<Vec<Message>, SqsError> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(MAX_BATCH)
            .wait_time_seconds(wait_seconds.clamp(0, 20))
            .message_system_attribute_names(
                aws_sdk_sqs::types::MessageSystemAttributeName::SentTimestamp,
            )
            .customize()
            .config_override(
                aws_sdk_sqs::config::Builder::default()
                    .timeout_config(self.long_poll_timeouts(wait_seconds)),
            )
            .send()
            .await
            .map_err(|e| {
                let (code, message) = code_and_message(&e);
                SqsError {
                    call: "sqs:ReceiveMessage",
                    code,
                    message,
                }
            })?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| {
                let sent_ms = m
                    .attributes
                    .as_ref()
                    .and_then(|a| {
                        a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::SentTimestamp)
                    })
                    .and_then(|t| t.parse().ok());
                Some(Message {
                    id: m.message_id?,
                    receipt: m.receipt_handle?,
                    body: m.body.unwrap_or_default(),
                    sent_ms,
                })
            })
            .collect())
    }

    /// Deletes the messages with these receipt handles (in batches of [`MAX_BATCH`]); returns
    /// the receipts SQS did not delete, with its reason (they come back after their visibility
    /// timeout and are recognized as duplicates then).
    pub async fn delete(&self, receipts: &[String]) -> Result<Vec<(String, String)>, SqsError> {
        let mut failed = Vec::new();
        for chunk in receipts.chunks(MAX_BATCH as usize) {
            let entries: Vec<_> = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, r)| {
                    aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(r)
                        .build()
                        .ok()
                })
                .collect();
            let out = self
                .client
                .delete_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| {
                    let (code, message) = code_and_message(&e);
                    SqsError {
                        call: "sqs:DeleteMessageBatch",
                        code,
                        message,
                    }
                })?;
            for f in out.failed {
                let receipt =
                    f.id.parse::<usize>()
                        .ok()
                        .and_then(|i| chunk.get(i))
                        .cloned()
                        .unwrap_or_default();
                failed.push((receipt, f.message.unwrap_or(f.code)));
            }
        }
        Ok(failed)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_long_poll_gets_its_wait_plus_a_margin_and_shorter_timeouts_are_raised() {
        let conf = aws_config::SdkConfig::builder()
            .timeout_config(
                aws_smithy_types::timeout::TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(Duration::from_secs(20))
                    .operation_timeout(Duration::from_secs(50))
                    .build(),
            )
            .build();
        let q = Queue::new(&conf, "http://127.0.0.1:1/q");
        let t = q.long_poll_timeouts(20);
        assert_eq!(t.operation_attempt_timeout(), Some(Duration::from_secs(30)));
        assert_eq!(
            t.operation_timeout(),
            Some(Duration::from_secs(50)),
            "long enough already"
        );
        assert_eq!(t.connect_timeout(), Some(Duration::from_secs(3)), "kept");
        let t = q.long_poll_timeouts(1);
        assert_eq!(
            t.operation_attempt_timeout(),
            Some(Duration::from_secs(20)),
            "kept"
        );
    }
}
