//! `iamwarden event`: CloudTrail records in, a plan out (and, with `--apply`, applied with all
//! of apply's guardrails).

use super::apply::{apply_plan, ApplyFlags, ReportFormat};
use super::session::{Connected, Session};
use super::Format;
use super::{Exit, Inputs};
use anyhow::{Context, Result};
use chrono::Utc;
use iamwarden_core::apply::select::Selection;
use std::io::{Read, Write};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct EventArgs {
    /// The events: a CloudTrail record, an EventBridge envelope, a CloudTrail log file
    /// (`{"Records": [...]}`), gzip accepted; `-` or nothing reads stdin.
    file: Option<String>,
    /// The packs (only rules with `on_events` react), the account as it was before the events
    /// (a snapshot, or live), the clock.
    #[command(flatten)]
    input: Inputs,
    /// Write the plan (JSON) to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Output format of the plan on stdout.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// `--format markdown` stays within this many characters (see `plan --max-chars`).
    #[arg(long, default_value_t = iamwarden_core::render::DEFAULT_MAX_CHARS)]
    max_chars: usize,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    detailed_exitcode: bool,
    /// Exit 4 when a finding at or above this severity exists (see `plan --fail-on`).
    #[arg(long, value_name = "SEVERITY", value_parser = super::parse_severity)]
    fail_on: Option<iamwarden_core::spec::Severity>,
    /// Without `--snapshot`: read only what the events touched (`targeted`, a bounded number
    /// of calls per event whatever the account's size) or the whole account (`full`).
    #[arg(long, value_enum, default_value = "targeted")]
    read: LiveRead,
    /// Apply the plan right away (for automation that runs on each event), with every check
    /// `iamwarden apply` makes.
    #[arg(long)]
    apply: bool,
    #[command(flatten)]
    apply_flags: ApplyFlags,
}

/// How event mode reads a live account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LiveRead {
    /// Only the resources the events touched, with the parts the reacting rules look at.
    Targeted,
    /// The whole account, as `plan` reads it.
    Full,
}

/// The rules, the account as event mode judges it, and the clock: the snapshot when given,
/// else the live account read as `read` says, through `session` (the rules first: a broken
/// pack fails before any AWS call).
pub(super) fn load_for_events(
    input: &Inputs,
    events: &[iamwarden_core::event::IamEvent],
    read: LiveRead,
    session: &Session,
) -> Result<(
    iamwarden_core::compile::RuleSet,
    iamwarden_core::inventory::Inventory,
    chrono::DateTime<Utc>,
)> {
    if input.snapshot.is_some() || read == LiveRead::Full {
        return input.load_in(session);
    }
    let now = super::parse_now(input.now.as_deref())?;
    let rules = iamwarden_core::packs::load_rule_set(&input.rules)?;
    let scope = iamwarden_core::event::scope::scope(events);
    let opts = input.aws.options();
    let Connected { rt, config } = session.get(&input.aws)?;
    let endpoint = iamwarden_aws::live::settings::endpoint(
        config,
        iamwarden_aws::live::settings::Service::Iam,
    );
    let client = aws_sdk_iam::Client::new(config);
    let read = rt
        .block_on(iamwarden_aws::live::scoped::read_scoped(
            &client, &scope, &opts,
        ))
        .with_context(|| format!("reading the events' resources at {endpoint}"))?;
    for what in &read.gone {
        super::output::notice!("  gone: {what} no longer exists (deleted after the event?)");
    }
    for what in &read.unread {
        super::output::notice!("  not read: {what}");
    }
    if input.aws.stats && !events.is_empty() {
        let detail = format!(
            ", {:.1} per event; targeted read of {} event(s)",
            read.stats.total() as f64 / events.len() as f64,
            events.len()
        );
        super::print_api_calls(&read.stats, &detail);
    }
    Ok((rules, read.inventory, now))
}

pub fn event(args: EventArgs, out: &mut dyn Write) -> Result<Exit> {
    let (bytes, name) = match args.file.as_deref() {
        None | Some("-") => {
            let mut b = Vec::new();
            std::io::stdin()
                .read_to_end(&mut b)
                .context("cannot read the events from stdin")?;
            (b, "stdin".to_string())
        }
        Some(path) => (
            std::fs::read(path).with_context(|| format!("cannot read {path}"))?,
            path.to_string(),
        ),
    };
    let events = iamwarden_core::event::read(&bytes, &name)?;
    // One session for the read and the apply: one HTTP client, one credentials cache.
    let session = Session::default();
    let (rules, inv, now) = load_for_events(&args.input, &events.events, args.read, &session)?;
    let started = std::time::Instant::now();
    let (plan, reports) =
        iamwarden_core::pipeline::make_event_plan(&rules, inv, &events.events, now, Utc::now());
    if args.input.aws.stats {
        super::print_eval_stats(&plan, started);
    }
    super::output::notice!(
        "{}: {} IAM event(s), {} record(s) skipped",
        name,
        events.events.len(),
        events.skipped.len()
    );
    for s in &events.skipped {
        super::output::notice!("  skipped {} {}: {}", s.what, s.id, s.reason);
    }
    for r in &reports {
        match &r.skipped {
            Some(why) => super::output::notice!("  not applied {} {}: {why}", r.name, r.id),
            None => super::output::notice!(
                "  {} {}: {} resource(s) judged",
                r.name,
                r.id,
                r.touched.len()
            ),
        }
        for u in &r.unknown {
            super::output::notice!("    unknown: {u}");
        }
    }
    if let Some(file) = &args.out {
        super::files::write_json(file, &plan, "the plan")?;
    }
    if args.apply {
        let journal = match &args.out {
            Some(f) => super::apply::default_journal(f),
            None => PathBuf::from(format!(
                "iamwarden-event-{}.journal.jsonl",
                plan.content_sha256
                    .trim_start_matches("sha256:")
                    .get(..12)
                    .unwrap_or("plan")
            )),
        };
        let plan_file = args
            .out
            .as_ref()
            .map_or_else(|| format!("event:{name}"), |f| f.display().to_string());
        return apply_plan(
            &plan,
            &plan_file,
            &journal,
            &args.apply_flags,
            &Selection::default(),
            ReportFormat::Human,
            &args.input.aws,
            &session,
            out,
        )
        .map(|applied| applied.exit);
    }
    let color = super::use_color(args.format);
    super::render_plan(&plan, &rules, args.format, color, args.max_chars, out)?;
    Ok(super::plan_exit(
        &plan,
        args.fail_on,
        args.detailed_exitcode,
    ))
}
