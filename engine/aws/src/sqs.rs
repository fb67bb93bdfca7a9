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

/// One queue.
#[derive(Debug, Clone)]
pub struct Queue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl Queue {
    /// The queue at `url`, with the client built from `config`.
    pub fn new(config: &aws_config::SdkConfig, url: &str) -> Queue {
        Queue {
            client: aws_sdk_sqs::Client::new(config),
            url: url.to_string(),
        }
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
