//! `iamwarden lambda`: the AWS Lambda handler (a custom runtime on `provided.al2023`, through
//! the `lambda_runtime` crate) for EventBridge -> Lambda and SQS -> Lambda deployments. Each
//! invocation is one batch through the same [`Batcher`] `watch` uses: sorted against the
//! eventIDs already planned (kept in `OUT_DIR/state.json` while the execution environment
//! lives), planned, written, applied with `--apply --auto-approve`, announced with
//! `--notify-topic`.
//!
//! - An SQS payload answers with `batchItemFailures`: the messages that are not events (left
//!   for the queue's redrive policy, as `watch` leaves them), or every message when a guard
//!   refused the batch's apply (the event source mapping needs `ReportBatchItemFailures`).
//! - An EventBridge event invoking the function directly answers with the batch's summary; an
//!   event that cannot be read is an error, so Lambda's retries and on-failure destination
//!   take it.

use super::watch::{log, BatchArgs, Batcher};
use super::Exit;
use anyhow::{bail, Context, Result};
use iamwarden_core::watch::{self as core_watch, Message, Metrics, Seen};
use serde_json::{json, Value};
use std::io::Write;
use std::sync::Mutex;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct LambdaArgs {
    #[command(flatten)]
    batch: BatchArgs,
}

/// What one invocation answers, or why it failed.
fn invoke(
    batcher: &mut Batcher<'_>,
    seen: &mut Seen,
    state_path: &std::path::Path,
    metrics: &mut Metrics,
    request_id: &str,
    payload: &Value,
) -> Result<Value> {
    let started = Instant::now();
    let (messages, from_sqs) = match core_watch::sqs_event_messages(payload) {
        Some(m) => (m, true),
        None => (
            vec![Message {
                id: request_id.to_string(),
                receipt: request_id.to_string(),
                body: payload.to_string(),
                sent_ms: None,
            }],
            false,
        ),
    };
    let sorted = core_watch::sort_batch(&messages, seen);
    metrics.count(messages.len(), &sorted);
    let mut stdout = std::io::stdout().lock();
    let durable = batcher.run(&sorted, started, metrics, &mut stdout)?;
    stdout.flush()?;
    if durable {
        for e in &sorted.events {
            seen.insert(&e.id);
        }
        let state: Value = serde_json::from_str(&seen.to_json())?;
        super::files::write_json(state_path, &state, "the lambda state")?;
    }
    if from_sqs {
        let retry: Vec<Value> = if durable {
            sorted
                .malformed
                .iter()
                .map(|m| json!({"itemIdentifier": m.message_id}))
                .collect()
        } else {
            messages
                .iter()
                .map(|m| json!({"itemIdentifier": m.id}))
                .collect()
        };
        return Ok(json!({ "batchItemFailures": retry }));
    }
    if let Some(m) = sorted.malformed.first() {
        bail!("the event is not a CloudTrail IAM event: {}", m.reason);
    }
    if !durable {
        bail!("the batch's apply was refused; see the log");
    }
    Ok(json!({
        "events": sorted.events.len(),
        "duplicates": sorted.duplicates.len(),
        "skipped": sorted.skipped.len(),
        "metrics": metrics,
    }))
}

pub fn lambda(args: LambdaArgs, _out: &mut dyn Write) -> Result<Exit> {
    // What Lambda sets and the runtime client needs (it would panic without them).
    let missing: Vec<&str> = [
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
    ]
    .into_iter()
    .filter(|v| std::env::var_os(v).is_none())
    .collect();
    let memory_ok =
        std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").is_ok_and(|m| m.parse::<i32>().is_ok());
    if !missing.is_empty() || !memory_ok {
        bail!(
            "iamwarden lambda runs inside AWS Lambda ({} not set); to consume a queue from \
             anywhere else, use `iamwarden watch --queue-url URL`",
            if missing.is_empty() {
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".to_string()
            } else {
                missing.join(", ")
            }
        );
    }
    let batcher = Batcher::new(&args.batch)?;
    let state_path = args.batch.out_dir.join("state.json");
    let seen = match std::fs::read_to_string(&state_path) {
        Ok(text) => Seen::from_json(&text, core_watch::DEFAULT_SEEN_CAPACITY)
            .with_context(|| state_path.display().to_string())?,
        Err(_) => Seen::new(core_watch::DEFAULT_SEEN_CAPACITY),
    };
    let state = Mutex::new((batcher, seen, Metrics::default()));
    // The runtime client runs on its own runtime; each invocation's batch runs blocking on
    // it (the batcher's session has its own runtime, which the reads and apply share).
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let handler = lambda_runtime::service_fn(|event: lambda_runtime::LambdaEvent<Value>| {
        let state = &state;
        let state_path = &state_path;
        async move {
            tokio::task::block_in_place(|| {
                let mut guard = state
                    .lock()
                    .map_err(|_| anyhow::anyhow!("a previous invocation panicked"))?;
                let (batcher, seen, metrics) = &mut *guard;
                let answer = invoke(
                    batcher,
                    seen,
                    state_path,
                    metrics,
                    &event.context.request_id,
                    &event.payload,
                );
                if let Err(e) = &answer {
                    log(json!({"request": event.context.request_id, "error": format!("{e:#}")}));
                }
                answer
            })
            .map_err(|e| lambda_runtime::Error::from(format!("{e:#}")))
        }
    });
    rt.block_on(lambda_runtime::run(handler))
        .map_err(|e| anyhow::anyhow!("the Lambda runtime stopped: {e}"))?;
    Ok(Exit::Success)
}
