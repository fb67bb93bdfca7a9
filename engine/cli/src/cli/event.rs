//! `iamwarden event`: CloudTrail records in, a plan out (and, with `--apply`, applied with all
//! of apply's guardrails).

use super::apply::{apply_plan, ApplyFlags, ReportFormat};
use super::Format;
use super::{Exit, Inputs};
use anyhow::{Context, Result};
use chrono::Utc;
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
    /// Apply the plan right away (for automation that runs on each event), with every check
    /// `iamwarden apply` makes.
    #[arg(long)]
    apply: bool,
    #[command(flatten)]
    apply_flags: ApplyFlags,
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
    let (rules, inv, now) = args.input.load()?;
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
            ReportFormat::Human,
            &args.input.aws,
            out,
        );
    }
    let color = super::use_color(args.format);
    super::render_plan(&plan, &rules, args.format, color, args.max_chars, out)?;
    Ok(super::plan_exit(
        &plan,
        args.fail_on,
        args.detailed_exitcode,
    ))
}
