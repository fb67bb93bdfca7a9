//! `iamwarden watch --queue-url URL`: long-polls the SQS queue an EventBridge rule feeds with
//! CloudTrail IAM events and, batch by batch, plans them with the event pipeline (and with
//! `--apply --auto-approve` applies them through `apply`'s path and guards). A message is
//! deleted only once its batch's plan (and journal) and the seen-event state are on disk; a
//! message that is not events stays on the queue for its redrive policy. SIGTERM and SIGINT
//! finish the batch in hand, then exit with the metrics summary.

use super::apply::{apply_plan, Applied, ApplyFlags, ReportFormat};
use super::event::{load_for_events, LiveRead};
use super::session::{Connected, Session};
use super::{Exit, Inputs};
use anyhow::{bail, Context, Result};
use chrono::Utc;
use iamwarden_core::apply::select::Selection;
use iamwarden_core::watch::{self as core_watch, Metrics, Seen, Sorted};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// The SQS queue URL (its messages: EventBridge envelopes of CloudTrail IAM events).
    #[arg(long)]
    queue_url: String,
    #[command(flatten)]
    batch: BatchArgs,
    /// The seen-event state (eventIDs already planned), so a restart does not plan or apply a
    /// redelivered event again; default: OUT_DIR/state.json.
    #[arg(long)]
    state: Option<PathBuf>,
    /// How many eventIDs the state keeps (the oldest are forgotten first).
    #[arg(long, default_value_t = core_watch::DEFAULT_SEEN_CAPACITY)]
    state_capacity: usize,
    /// Exit once one long poll found the queue empty (batch jobs, tests).
    #[arg(long)]
    until_empty: bool,
    /// The long poll's wait (SQS WaitTimeSeconds, 0-20).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(i32).range(0..=20))]
    wait_seconds: i32,
}

/// What `watch` and the Lambda handler (`iamwarden lambda`) share: the account, where each
/// batch's plan goes, the notification, and apply.
#[derive(Debug, clap::Args)]
pub struct BatchArgs {
    /// The packs, the account before the events (a snapshot, or live: read again per batch),
    /// the clock.
    #[command(flatten)]
    pub(super) input: Inputs,
    /// Without `--snapshot`: per batch, read only what its events touched (`targeted`) or the
    /// whole account (`full`).
    #[arg(long, value_enum, default_value = "targeted")]
    read: LiveRead,
    /// Where each batch's plan (and journal) is written.
    #[arg(long, default_value = "iamwarden-watch")]
    pub(super) out_dir: PathBuf,
    /// Publish a summary of each planned batch (counts per severity, the changes, the plan
    /// file; never a secret or a document) to this SNS topic. A failed publish is logged and
    /// counted; it does not hold the batch's messages.
    #[arg(long, value_name = "TOPIC_ARN")]
    notify_topic: Option<String>,
    /// Apply each batch's plan (needs --auto-approve), with every check `iamwarden apply` makes.
    #[arg(long, requires = "auto_approve")]
    apply: bool,
    #[command(flatten)]
    apply_flags: ApplyFlags,
}

/// A batch's outcome from its events' lines: what apply did when it ran, else `planned` when
/// any event led to an action, `reported` for findings only, else `clean`.
fn batch_outcome(lines: &[core_watch::EventLine]) -> String {
    if let Some(l) = lines
        .iter()
        .find(|l| l.actions > 0 && l.outcome != "planned")
    {
        return l.outcome.clone();
    }
    if lines.iter().any(|l| l.actions > 0) {
        "planned".to_string()
    } else if lines.iter().any(|l| l.findings > 0) {
        "reported".to_string()
    } else {
        "clean".to_string()
    }
}

/// Says what happened, as one JSON line on stderr.
pub(super) fn log(v: serde_json::Value) {
    eprintln!("{v}");
}

/// Plans (and applies, and announces) sorted batches of events: the one path `watch` and the
/// Lambda handler run each batch through.
pub(super) struct Batcher<'a> {
    args: &'a BatchArgs,
    rules: iamwarden_core::compile::RuleSet,
    /// The snapshot, when the account is not read live.
    base: Option<iamwarden_core::inventory::Inventory>,
    topic: Option<iamwarden_aws::sns::Topic>,
    /// The one runtime and SDK configuration of the run: the queue, every batch's read and
    /// apply, the notifications (one HTTP client, so its connections are reused across
    /// batches).
    session: Session,
    batch_no: usize,
}

impl<'a> Batcher<'a> {
    /// Loads the rules (and a snapshot) once; a live account is read again for every batch,
    /// only what the batch touched unless `--read full`.
    pub(super) fn new(args: &'a BatchArgs) -> Result<Batcher<'a>> {
        std::fs::create_dir_all(&args.out_dir)
            .with_context(|| format!("cannot create {}", args.out_dir.display()))?;
        let (rules, base) = if args.input.snapshot.is_some() {
            let (rules, inv, _) = args.input.load()?;
            (rules, Some(inv))
        } else {
            (
                iamwarden_core::packs::load_rule_set(&args.input.rules)?,
                None,
            )
        };
        // Opened now (not at the first batch): a setting that cannot be used stops the run
        // before the first poll.
        let session = Session::default();
        let config = &session.get(&args.input.aws)?.config;
        let topic = args
            .notify_topic
            .as_deref()
            .map(|arn| iamwarden_aws::sns::Topic::new(config, arn));
        Ok(Batcher {
            args,
            rules,
            base,
            topic,
            session,
            batch_no: 0,
        })
    }

    /// The runtime the batcher's own calls run on (the queue's too) and the SDK configuration
    /// every client of the run is built from.
    pub(super) fn connected(&self) -> Result<&Connected> {
        self.session.get(&self.args.input.aws)
    }

    /// Logs the batch's malformed, duplicate and skipped records, then plans its events,
    /// writes the plan, applies it (`--apply`) and publishes its summary (`--notify-topic`).
    /// Returns whether the batch is durable: its messages may be deleted (false when a guard
    /// refused the apply before any change, so the messages come back).
    pub(super) fn run(
        &mut self,
        sorted: &Sorted,
        started: Instant,
        metrics: &mut Metrics,
        out: &mut dyn Write,
    ) -> Result<bool> {
        let args = self.args;
        for m in &sorted.malformed {
            log(
                json!({"message": m.message_id, "outcome": "malformed: left for redrive", "reason": m.reason}),
            );
        }
        for d in &sorted.duplicates {
            log(json!({"id": d, "outcome": "duplicate"}));
        }
        for s in &sorted.skipped {
            log(json!({"id": s.id, "name": s.what, "outcome": format!("skipped: {}", s.reason)}));
        }
        if sorted.events.is_empty() {
            return Ok(true);
        }
        let mut durable = true;
        self.batch_no += 1;
        let name = format!(
            "batch-{}-{:04}",
            Utc::now().format("%Y%m%dT%H%M%SZ"),
            self.batch_no
        );
        let (rules_now, inv, now) = match &self.base {
            Some(inv) => {
                let now = super::parse_now(args.input.now.as_deref())?;
                (None, inv.clone(), now)
            }
            None => {
                let (r, inv, now) =
                    load_for_events(&args.input, &sorted.events, args.read, &self.session)?;
                (Some(r), inv, now)
            }
        };
        let rules = rules_now.as_ref().unwrap_or(&self.rules);
        let (plan, reports) =
            iamwarden_core::pipeline::make_event_plan(rules, inv, &sorted.events, now, Utc::now());
        let plan_file = args.out_dir.join(format!("{name}.plan.json"));
        super::files::write_json(&plan_file, &plan, "the plan")?;
        metrics.findings += plan.summary.findings;
        metrics.actions += plan.actions.len();
        let mut lines = core_watch::event_lines(&plan, &reports);
        if args.apply && !plan.actions.is_empty() {
            let journal = args.out_dir.join(format!("{name}.journal.jsonl"));
            let outcome = match apply_plan(
                &plan,
                &plan_file.display().to_string(),
                &journal,
                &args.apply_flags,
                &Selection::default(),
                ReportFormat::Human,
                &args.input.aws,
                &self.session,
                out,
            ) {
                Ok(Applied {
                    exit: Exit::Success,
                    summary: done,
                }) => {
                    // What the run did: an action found already in the planned state (a
                    // redelivered event after a crash) is not counted as applied.
                    metrics.applied += done.applied;
                    metrics.already_applied += done.already_applied;
                    if done.applied == 0 && done.already_applied > 0 {
                        "already applied".to_string()
                    } else {
                        "applied".to_string()
                    }
                }
                Ok(Applied { exit: e, .. }) => {
                    metrics.apply_failures += 1;
                    format!(
                        "apply ended with exit {} (see {})",
                        e as u8,
                        journal.display()
                    )
                }
                Err(e) => {
                    // Refused before any change (a guard): the messages stay on the queue.
                    metrics.apply_failures += 1;
                    durable = false;
                    format!("apply refused: {e:#}")
                }
            };
            for l in lines.iter_mut().filter(|l| l.actions > 0) {
                l.outcome.clone_from(&outcome);
            }
        }
        if let Some(topic) = &self.topic {
            let outcome = batch_outcome(&lines);
            let note =
                core_watch::notification(&name, &plan_file.display().to_string(), &plan, &outcome);
            let subject = format!(
                "iamwarden {}: {} finding(s), {} action(s) {outcome}",
                note.account, note.findings, note.actions
            );
            match self
                .connected()?
                .rt
                .block_on(topic.publish(&subject, &serde_json::to_string(&note)?))
            {
                Ok(id) => {
                    metrics.notified += 1;
                    log(json!({"batch": name, "notified": id}));
                }
                Err(e) => {
                    metrics.notify_failures += 1;
                    log(json!({"batch": name, "notify_failed": e.to_string()}));
                }
            }
        }
        let latency = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        core_watch::stamp(
            &mut lines,
            sorted,
            latency,
            Utc::now().timestamp_millis(),
            metrics,
        );
        for l in &lines {
            log(serde_json::to_value(l)?);
        }
        Ok(durable)
    }
}

/// Writes the seen-set to the state file (atomically, as every file `watch` writes).
pub(super) fn save_state(path: &std::path::Path, seen: &Seen) -> Result<()> {
    let state: serde_json::Value = serde_json::from_str(&seen.to_json())?;
    super::files::write_json(path, &state, "the watch state")
}

pub fn watch(args: WatchArgs, out: &mut dyn Write) -> Result<Exit> {
    let mut batcher = Batcher::new(&args.batch)?;
    let state_path = args
        .state
        .clone()
        .unwrap_or_else(|| args.batch.out_dir.join("state.json"));
    let mut seen = match std::fs::read_to_string(&state_path) {
        Ok(text) => Seen::from_json(&text, args.state_capacity)
            .with_context(|| state_path.display().to_string())?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Seen::new(args.state_capacity),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", state_path.display())),
    };
    // Written before the first poll: a state that cannot be recorded stops the watcher now,
    // not after a batch it could not record.
    save_state(&state_path, &seen)?;
    let queue = iamwarden_aws::sqs::Queue::new(&batcher.connected()?.config, &args.queue_url);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    batcher.connected()?.rt.spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => return,
            };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        let _ = stop_tx.send(true);
    });

    let mut metrics = Metrics::default();
    loop {
        if *stop_rx.borrow() {
            break;
        }
        let mut stop = stop_rx.clone();
        // A signal during the poll abandons it: what it would have received comes back after
        // its visibility timeout.
        let received = batcher.connected()?.rt.block_on(async {
            tokio::select! {
                r = queue.receive(args.wait_seconds) => Some(r),
                _ = stop.changed() => None,
            }
        });
        let Some(received) = received else { break };
        let messages = received.with_context(|| format!("queue {}", args.queue_url))?;
        if messages.is_empty() {
            if args.until_empty {
                break;
            }
            continue;
        }
        let started = Instant::now();
        let sorted = core_watch::sort_batch(&messages, &seen);
        metrics.count(messages.len(), &sorted);
        if !batcher.run(&sorted, started, &mut metrics, out)? {
            continue;
        }
        for e in &sorted.events {
            seen.insert(&e.id);
        }
        save_state(&state_path, &seen)?;
        let failed = batcher
            .connected()?
            .rt
            .block_on(queue.delete(&sorted.delete))
            .with_context(|| format!("queue {}", args.queue_url))?;
        for (receipt, why) in &failed {
            log(json!({"delete_failed": receipt.get(..16).unwrap_or(receipt), "reason": why}));
        }
        metrics.deleted += sorted.delete.len() - failed.len();
    }
    log(json!({ "summary": metrics }));
    writeln!(
        out,
        "watch: {} batch(es), {} message(s), {} event(s) planned, {} duplicate(s), {} malformed left on the queue, {} finding(s), {} action(s), {} applied, {} deleted",
        metrics.batches,
        metrics.messages,
        metrics.events,
        metrics.duplicates,
        metrics.malformed,
        metrics.findings,
        metrics.actions,
        metrics.applied,
        metrics.deleted
    )?;
    if metrics.apply_failures > 0 {
        bail!("{} batch(es) did not apply cleanly", metrics.apply_failures);
    }
    Ok(Exit::Success)
}
