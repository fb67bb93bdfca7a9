//! `iamwarden apply` and `iamwarden undo`: load, refuse what must be refused, confirm, run,
//! report. Everything that decides lives in the library's `apply` module.

use super::{AwsArgs, Exit};
use anyhow::{bail, Context, Result};
use chrono::Utc;
use iamwarden_aws::live::settings::Service;
use iamwarden_core::apply::{self, journal, ExitKind};
use iamwarden_core::render::{self, Format};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Report formats of apply and undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// A summary for people.
    Human,
    /// The report as JSON.
    Json,
}

#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// The plan file (`iamwarden plan --out FILE`).
    plan: PathBuf,
    /// Refuse the plan unless it is signed by KEY (`plan --sign`), checked before any AWS call
    /// that changes anything: a local Ed25519 public key file, or a KMS key (key id, ARN or
    /// alias/NAME; checked with `kms:Verify`).
    #[arg(long, value_name = "KEY", env = "IAMWARDEN_REQUIRE_SIGNATURE")]
    require_signature: Option<String>,
    /// The detached signature (default: PLAN.sig).
    #[arg(long, value_name = "FILE", requires = "require_signature")]
    signature: Option<PathBuf>,
    #[command(flatten)]
    flags: ApplyFlags,
    /// The report on stdout.
    #[arg(long, value_enum, default_value = "human")]
    format: ReportFormat,
    #[command(flatten)]
    aws: AwsArgs,
}

/// The switches apply shares with `event --apply`.
#[derive(Debug, Clone, clap::Args)]
pub struct ApplyFlags {
    /// Do not ask for confirmation.
    #[arg(long)]
    auto_approve: bool,
    /// Run destructive actions (deleting keys, passwords, users, policies; MFA deactivation).
    #[arg(long)]
    allow_destructive: bool,
    /// The journal (JSON Lines); default: the plan file's name with `.journal.jsonl`.
    /// Re-running with the same journal resumes.
    #[arg(long)]
    journal: Option<PathBuf>,
    /// Refuse the whole plan when it has more actions than this.
    #[arg(long)]
    max_actions: Option<usize>,
    /// Refuse plans older than this (e.g. 24h, 30m, 2d).
    #[arg(long, default_value = "24h")]
    max_plan_age: String,
}

#[derive(Debug, clap::Args)]
pub struct UndoArgs {
    /// The journal apply wrote.
    journal: PathBuf,
    /// Do not ask for confirmation.
    #[arg(long)]
    auto_approve: bool,
    /// The report on stdout.
    #[arg(long, value_enum, default_value = "human")]
    format: ReportFormat,
    #[command(flatten)]
    aws: AwsArgs,
}

pub fn default_journal(plan: &Path) -> PathBuf {
    let mut name = plan.file_name().unwrap_or_default().to_os_string();
    name.push(".journal.jsonl");
    plan.with_file_name(name)
}

/// Asks for `yes` on a terminal; refuses without one.
fn confirm(question: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("refusing to run without confirmation: stdin is not a terminal (review the plan, then pass --auto-approve)");
    }
    eprint!("{question}\n  Only 'yes' will be accepted: ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == "yes")
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The runtime, the SDK configuration and who the credentials belong to.
fn connect(
    aws: &AwsArgs,
) -> Result<(
    tokio::runtime::Runtime,
    aws_config::SdkConfig,
    apply::Caller,
)> {
    let rt = runtime()?;
    let config = rt.block_on(iamwarden_aws::live::sdk_config(&aws.options()))?;
    let sts = iamwarden_aws::live::settings::endpoint(&config, Service::Sts);
    let caller = rt
        .block_on(iamwarden_aws::iam::caller(&config))
        .with_context(|| format!("cannot tell who is calling (sts:GetCallerIdentity at {sts})"))?;
    Ok((rt, config, caller))
}

/// Says on stderr that a torn last journal line was cut off before appending.
fn say_torn_tail(j: &journal::Journal) {
    if let Some(t) = j.torn_tail() {
        eprintln!("journal {}: {t}", j.path().display());
    }
}

fn progress() -> apply::OnAction {
    Arc::new(|r: &apply::ActionReport| eprintln!("{}", render::report::progress_line(r)))
}

fn write_report(report: &apply::Report, format: ReportFormat, out: &mut dyn Write) -> Result<()> {
    match format {
        ReportFormat::Human => render::report::human(report, out)?,
        ReportFormat::Json => render::report::json(report, out)?,
    }
    Ok(())
}

fn exit_of(report: &apply::Report) -> Exit {
    match apply::exit_kind(&report.summary) {
        ExitKind::Ok => Exit::Success,
        ExitKind::Stale => Exit::Stale,
        ExitKind::Failed => Exit::Error,
    }
}

pub fn apply(args: ApplyArgs, out: &mut dyn Write) -> Result<Exit> {
    if let Some(hint) = super::sniff::mismatch(&args.plan, super::sniff::FileKind::Plan) {
        bail!("{hint}");
    }
    let text = std::fs::read_to_string(&args.plan)
        .with_context(|| format!("cannot read the plan {}", args.plan.display()))?;
    let plan = apply::load_plan(&text).with_context(|| format!("{}", args.plan.display()))?;
    if let Some(key) = &args.require_signature {
        super::sign::require_signature(
            &args.plan,
            args.signature.as_deref(),
            &plan.content_sha256,
            key,
            &args.aws,
        )?;
    }
    let journal = default_journal(&args.plan);
    apply_plan(
        &plan,
        &args.plan.display().to_string(),
        &journal,
        &args.flags,
        args.format,
        &args.aws,
        out,
    )
}

/// Applies a loaded plan: every check, the confirmation, the run, the report.
pub fn apply_plan(
    plan: &iamwarden_core::plan::Plan,
    plan_file: &str,
    default_journal: &Path,
    args: &ApplyFlags,
    format: ReportFormat,
    aws: &AwsArgs,
    out: &mut dyn Write,
) -> Result<Exit> {
    let max_plan_age = iamwarden_core::compile::duration::parse_duration(&args.max_plan_age)
        .map_err(|e| anyhow::anyhow!("--max-plan-age: {e}"))?;
    let opts = apply::Options {
        allow_destructive: args.allow_destructive,
        max_actions: args.max_actions,
        max_plan_age,
        concurrency: aws.concurrency,
        plan_file: plan_file.to_string(),
    };
    apply::precheck(plan, &opts, Utc::now())?;
    let journal_path = args
        .journal
        .clone()
        .unwrap_or_else(|| default_journal.to_path_buf());
    let records = journal::read(&journal_path)?;
    let history = journal::history(&journal_path, &records, Some(&plan.content_sha256))?;

    let (rt, config, caller) = connect(aws)?;
    apply::check_account(plan, &caller)?;

    if !args.auto_approve {
        let mut diff = Vec::new();
        render::render(plan, Format::Human, false, &mut diff)?;
        std::io::stderr().write_all(&diff)?;
        let q = format!(
            "Apply {} action(s) to account {} as {}?",
            plan.actions.len(),
            plan.account_id,
            caller.arn
        );
        if !confirm(&q)? {
            eprintln!("Apply cancelled.");
            return Ok(Exit::Error);
        }
    }
    if plan.actions.is_empty() {
        writeln!(out, "The plan has no actions: nothing to apply.")?;
        return Ok(Exit::Success);
    }
    let journal = Arc::new(journal::Journal::open(&journal_path)?);
    say_torn_tail(&journal);
    // IAM and Secrets Manager (the rotation hand-off) from the one config: the same endpoint
    // override, region, credentials and timeouts.
    let aws = iamwarden_aws::iam::executor_from_config(&config, journal, journal::Mode::Apply)
        .with_endpoint(Some(&iamwarden_aws::live::settings::endpoint(
            &config,
            Service::Iam,
        )));
    let report = rt.block_on(apply::run(
        plan,
        &opts,
        &aws,
        &caller,
        &history,
        Some(progress()),
    ))?;
    write_report(&report, format, out)?;
    Ok(exit_of(&report))
}

pub fn undo(args: UndoArgs, out: &mut dyn Write) -> Result<Exit> {
    if !args.journal.exists() {
        bail!("no journal at {}", args.journal.display());
    }
    if let Some(hint) = super::sniff::mismatch(&args.journal, super::sniff::FileKind::Journal) {
        bail!("{hint}");
    }
    let plan = apply::undo::plan_undo(&args.journal)?;
    let (rt, config, caller) = connect(&args.aws)?;
    if caller.account_id != plan.account_id {
        bail!(
            "the journal is of account {}, but the credentials belong to account {} ({}); refusing",
            plan.account_id,
            caller.account_id,
            caller.arn
        );
    }
    let todo: Vec<_> = plan.entries.iter().filter(|e| !e.already_undone).collect();
    if todo.iter().all(|e| e.ops.is_empty()) {
        writeln!(
            out,
            "Nothing to undo: every reversible action in the journal is undone already."
        )?;
        for e in &todo {
            writeln!(
                out,
                "  cannot be undone: {} {}: {}",
                e.step,
                e.target,
                e.irreversible.as_deref().unwrap_or("nothing recorded")
            )?;
        }
        return Ok(Exit::Success);
    }
    if !args.auto_approve {
        eprintln!("Undo will, newest first:");
        for e in &todo {
            if e.ops.is_empty() {
                eprintln!(
                    "  cannot undo {} {}: {}",
                    e.step,
                    e.target,
                    e.irreversible.as_deref().unwrap_or("nothing recorded")
                );
            } else {
                eprintln!("  undo {} {} ({} call(s))", e.step, e.target, e.ops.len());
            }
        }
        if !confirm(&format!(
            "Undo in account {} as {}?",
            plan.account_id, caller.arn
        ))? {
            eprintln!("Undo cancelled.");
            return Ok(Exit::Error);
        }
    }
    let journal = Arc::new(journal::Journal::open(&args.journal)?);
    say_torn_tail(&journal);
    // IAM and Secrets Manager (the rotation hand-off) from the one config: the same endpoint
    // override, region, credentials and timeouts.
    let aws = iamwarden_aws::iam::executor_from_config(&config, journal, journal::Mode::Undo)
        .with_endpoint(Some(&iamwarden_aws::live::settings::endpoint(
            &config,
            Service::Iam,
        )));
    let report = rt.block_on(apply::undo::run(
        &plan,
        &aws,
        &caller,
        &args.journal.display().to_string(),
        Some(progress()),
    ))?;
    write_report(&report, args.format, out)?;
    Ok(if report.summary.failed > 0 {
        Exit::Error
    } else {
        Exit::Success
    })
}
