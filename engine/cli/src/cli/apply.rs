//! `iamwarden apply` and `iamwarden undo`: load, refuse what must be refused, confirm, run,
//! report. Everything that decides lives in the library's `apply` module.

use super::session::{Connected, Session};
use super::{AwsArgs, Exit};
use anyhow::{bail, Context, Result};
use chrono::Utc;
use iamwarden_aws::live::settings::Service;
use iamwarden_core::apply::lock::{Holder, JournalLock};
use iamwarden_core::apply::select::{self, Selection};
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
    /// Run only these actions (repeatable): an action id, a rule id, or a resource's name, id
    /// or ARN (a user's name also selects its keys). What a selected action depends on runs
    /// too. The plan's content hash is still checked on the whole file.
    #[arg(long, value_name = "X")]
    only: Vec<String>,
    /// Do not run these actions (repeatable; terms as for --only), nor what depends on them.
    #[arg(long, value_name = "X")]
    exclude: Vec<String>,
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
    /// Print what undo would do (every reversing call, what cannot be undone) and stop: no
    /// AWS call is made, the journal is not written.
    #[arg(long)]
    dry_run: bool,
    /// The report on stdout (with --dry-run: the undo diff).
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

/// Without a terminal to ask on: refuses first (so the reason is the first line a log shows),
/// then prints what would have run, and fails.
fn refuse_without_terminal(what: &str, diff: &[u8]) -> Result<()> {
    if std::io::stdin().is_terminal() {
        return Ok(());
    }
    eprintln!(
        "refusing to {what} without confirmation: stdin is not a terminal (review what follows, \
         then pass --auto-approve)"
    );
    std::io::stderr().write_all(diff)?;
    bail!("{what} refused: no confirmation (stdin is not a terminal; pass --auto-approve)");
}

/// `Apply 3 action(s) of the plan's 40 (1 destructive) to account A as ARN?`: the count that
/// will run, and how many of them cannot be undone.
fn apply_question(plan: &iamwarden_core::plan::Plan, of: Option<usize>, arn: &str) -> String {
    let destructive = plan
        .actions
        .iter()
        .filter(|a| a.safety == iamwarden_core::plan::Safety::Destructive)
        .count();
    let of = of.map_or_else(String::new, |n| format!(" of the plan's {n}"));
    format!(
        "Apply {} action(s){of} ({destructive} destructive) to account {} as {arn}?",
        plan.actions.len(),
        plan.account_id
    )
}

/// Asks for `yes` on the terminal ([`refuse_without_terminal`] made sure there is one).
fn confirm(question: &str) -> Result<bool> {
    eprint!("{question}\n  Only 'yes' will be accepted: ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == "yes")
}

/// The session's runtime and SDK configuration (opened now unless the command opened it
/// already: `event --apply` applies through the session it read with) and who the
/// credentials belong to.
fn connect<'s>(aws: &AwsArgs, session: &'s Session) -> Result<(&'s Connected, apply::Caller)> {
    let connected = session.get(aws)?;
    let sts = iamwarden_aws::live::settings::endpoint(&connected.config, Service::Sts);
    let caller = connected
        .rt
        .block_on(iamwarden_aws::iam::caller(&connected.config))
        .with_context(|| format!("cannot tell who is calling (sts:GetCallerIdentity at {sts})"))?;
    Ok((connected, caller))
}

/// Says on stderr that a torn last journal line was cut off before appending.
fn say_torn_tail(j: &journal::Journal) {
    if let Some(t) = j.torn_tail() {
        eprintln!("journal {}: {t}", j.path().display());
    }
}

/// `[n/total] ...` on stderr after each action (stdout keeps the report, JSON or not).
fn progress(total: usize) -> apply::OnAction {
    let n = std::sync::atomic::AtomicUsize::new(0);
    Arc::new(move |r: &apply::ActionReport| {
        let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        super::output::notice!("{}", render::report::progress_line(r, i, total))
    })
}

/// What the journal lock's sidecar says this process runs: the subcommand only (never the
/// rest of the command line).
fn command_label() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sub = args
        .iter()
        .find(|a| !a.starts_with('-'))
        .map_or("apply", String::as_str);
    if sub != "apply" && sub != "undo" && args.iter().any(|a| a == "--apply") {
        format!("iamwarden {sub} --apply")
    } else {
        format!("iamwarden {sub}")
    }
}

/// Takes the journal's lock before it is read: one run per journal (see `apply::lock`).
fn lock(journal: &Path) -> Result<JournalLock> {
    Ok(JournalLock::acquire(
        journal,
        &Holder::here(&command_label()),
    )?)
}

/// `--stats`: the mutating calls this run journaled (records after the first `skip`), per
/// API, and the wall time.
fn print_stats(journal_path: &Path, skip: usize, started: std::time::Instant) -> Result<()> {
    let records = journal::read(journal_path)?;
    let mut calls: std::collections::BTreeMap<&str, usize> = Default::default();
    for r in records.iter().skip(skip) {
        if let journal::Record::Call { call, .. } = r {
            *calls.entry(call.as_str()).or_default() += 1;
        }
    }
    eprintln!(
        "Mutating API calls ({} in {:.2} s; reads not counted):",
        calls.values().sum::<usize>(),
        started.elapsed().as_secs_f64()
    );
    for (op, n) in &calls {
        eprintln!("  {op:<32} {n}");
    }
    Ok(())
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
    let selection = Selection {
        only: args.only.clone(),
        exclude: args.exclude.clone(),
    };
    apply_plan(
        &plan,
        &args.plan.display().to_string(),
        &journal,
        &args.flags,
        &selection,
        args.format,
        &args.aws,
        &Session::default(),
        out,
    )
    .map(|applied| applied.exit)
}

/// What [`apply_plan`] did: the exit code and the run's counts (all zero when there was
/// nothing to run), so a caller such as `watch` need not read the journal back.
#[derive(Debug)]
pub struct Applied {
    /// The exit code the run means.
    pub exit: Exit,
    /// The counts the journal's end record holds.
    pub summary: apply::Summary,
}

/// Applies a loaded plan (or the `selection` of it): every check, the journal lock, the
/// confirmation, the run, the report, through `session` (opened after the checks that need no
/// AWS, unless the caller opened it to read the account). A cancelled confirmation is
/// `Exit::Error` with no counts.
#[allow(clippy::too_many_arguments)]
pub fn apply_plan(
    whole: &iamwarden_core::plan::Plan,
    plan_file: &str,
    default_journal: &Path,
    args: &ApplyFlags,
    selection: &Selection,
    format: ReportFormat,
    aws: &AwsArgs,
    session: &Session,
    out: &mut dyn Write,
) -> Result<Applied> {
    let none = |exit| Applied {
        exit,
        summary: apply::Summary::default(),
    };
    let selected = if selection.is_empty() {
        None
    } else {
        Some(select::select(whole, selection)?)
    };
    let plan = selected.as_ref().map_or(whole, |s| &s.plan);
    if let Some(s) = &selected {
        eprintln!(
            "Selected {} of the plan's {} action(s) (--only/--exclude):",
            s.plan.actions.len(),
            whole.actions.len()
        );
        for n in &s.notes {
            eprintln!("  {n}");
        }
    }
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
    let mut diff = Vec::new();
    if !args.auto_approve {
        render::render(plan, Format::Human, false, &mut diff)?;
        refuse_without_terminal("apply", &diff)?;
    }
    // Held until this function returns: no second run of this journal meanwhile.
    let _lock = lock(&journal_path)?;
    let records = journal::read(&journal_path)?;
    let history = journal::history(&journal_path, &records, Some(&plan.content_sha256))?;

    let (Connected { rt, config }, caller) = connect(aws, session)?;
    apply::check_account(plan, &caller)?;

    if !args.auto_approve {
        std::io::stderr().write_all(&diff)?;
        let of = selected.is_some().then_some(whole.actions.len());
        let q = apply_question(plan, of, &caller.arn);
        if !confirm(&q)? {
            eprintln!("Apply cancelled.");
            return Ok(none(Exit::Error));
        }
    }
    if plan.actions.is_empty() {
        writeln!(out, "The plan has no actions: nothing to apply.")?;
        return Ok(none(Exit::Success));
    }
    let journal = Arc::new(journal::Journal::open(&journal_path)?);
    say_torn_tail(&journal);
    let stats = aws.stats;
    // IAM and Secrets Manager (the rotation hand-off) from the one config: the same endpoint
    // override, region, credentials and timeouts.
    let aws = iamwarden_aws::iam::executor_from_config(config, journal, journal::Mode::Apply)
        .with_endpoint(Some(&iamwarden_aws::live::settings::endpoint(
            config,
            Service::Iam,
        )));
    let started = std::time::Instant::now();
    let report = rt.block_on(apply::run_selected(
        plan,
        &opts,
        selected.as_ref().map(|s| &s.record),
        &aws,
        &caller,
        &history,
        Some(progress(plan.actions.len())),
    ))?;
    write_report(&report, format, out)?;
    if stats {
        print_stats(&journal_path, records.len(), started)?;
    }
    Ok(Applied {
        exit: exit_of(&report),
        summary: report.summary,
    })
}

pub fn undo(args: UndoArgs, out: &mut dyn Write) -> Result<Exit> {
    if !args.journal.exists() {
        bail!("no journal at {}", args.journal.display());
    }
    if let Some(hint) = super::sniff::mismatch(&args.journal, super::sniff::FileKind::Journal) {
        bail!("{hint}");
    }
    if args.dry_run {
        // Read only: no lock, no AWS call, nothing written.
        let plan = apply::undo::plan_undo(&args.journal)?;
        let name = args.journal.display().to_string();
        match args.format {
            ReportFormat::Human => render::undo::human(&plan, &name, out)?,
            ReportFormat::Json => render::undo::json(&plan, &name, out)?,
        }
        return Ok(Exit::Success);
    }
    let mut diff = Vec::new();
    let _lock = lock(&args.journal)?;
    let plan = apply::undo::plan_undo(&args.journal)?;
    render::undo::human(&plan, &args.journal.display().to_string(), &mut diff)?;
    let counts = render::undo::counts(&plan);
    if counts.calls == 0 {
        writeln!(
            out,
            "Nothing to undo: every reversible action in the journal is undone already."
        )?;
        for e in plan
            .entries
            .iter()
            .filter(|e| !e.already_undone && e.ops.is_empty())
        {
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
        refuse_without_terminal("undo", &diff)?;
    }
    let session = Session::default();
    let (Connected { rt, config }, caller) = connect(&args.aws, &session)?;
    if caller.account_id != plan.account_id {
        bail!(
            "the journal is of account {}, but the credentials belong to account {} ({}); refusing",
            plan.account_id,
            caller.account_id,
            caller.arn
        );
    }
    // What will run, always (on stderr: stdout keeps the report).
    std::io::stderr().write_all(&diff)?;
    if !args.auto_approve
        && !confirm(&format!(
            "Undo {} action(s) with {} call(s) in account {} as {}?",
            counts.reversed, counts.calls, plan.account_id, caller.arn
        ))?
    {
        eprintln!("Undo cancelled.");
        return Ok(Exit::Error);
    }
    let skip = journal::read(&args.journal)?.len();
    let journal = Arc::new(journal::Journal::open(&args.journal)?);
    say_torn_tail(&journal);
    // IAM and Secrets Manager (the rotation hand-off) from the one config: the same endpoint
    // override, region, credentials and timeouts.
    let aws = iamwarden_aws::iam::executor_from_config(config, journal, journal::Mode::Undo)
        .with_endpoint(Some(&iamwarden_aws::live::settings::endpoint(
            config,
            Service::Iam,
        )));
    let started = std::time::Instant::now();
    let report = rt.block_on(apply::undo::run(
        &plan,
        &aws,
        &caller,
        &args.journal.display().to_string(),
        Some(progress(plan.entries.len())),
    ))?;
    write_report(&report, args.format, out)?;
    if args.aws.stats {
        print_stats(&args.journal, skip, started)?;
    }
    Ok(if report.summary.failed > 0 {
        Exit::Error
    } else {
        Exit::Success
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use iamwarden_core::inventory::{ResourceKind, ResourceRef};
    use iamwarden_core::plan::{Action, ChangeKind, Plan};
    use iamwarden_core::spec::StepName;
    use iamwarden_core::steps::{Body, JsonParts};

    fn key_action(id: &str, step: StepName) -> Action {
        use serde_json::{json, Value};
        let (before, after) = if step == StepName::DeleteAccessKey {
            (
                json!({"status": "Active", "created_at": null, "last_used_at": null}),
                Value::Null,
            )
        } else {
            (json!({"status": "Active"}), json!({"status": "Inactive"}))
        };
        let parts = JsonParts {
            params: json!({"user": "alice"}),
            precondition: json!({"user": "alice", "status": "Active", "last_used_at": null}),
            before,
            after,
        };
        let resource = ResourceRef {
            kind: ResourceKind::AccessKey,
            id: id.into(),
            arn: None,
            name: id.into(),
        };
        let mut a = Action::new(
            id,
            vec!["r".into()],
            resource,
            Body::from_json(step, parts).unwrap(),
        );
        a.change = ChangeKind::Change;
        a
    }

    #[test]
    fn the_prompt_states_the_count_and_the_destructive_ones() {
        let now = Utc::now();
        let plan = Plan {
            format_version: iamwarden_core::plan::PLAN_FORMAT_VERSION,
            content_sha256: String::new(),
            iamwarden_version: "0".into(),
            created_at: now,
            now,
            account_id: "123456789012".into(),
            packs: Vec::new(),
            inventory_fingerprint: String::new(),
            rule_caps: Default::default(),
            findings: Vec::new(),
            actions: vec![
                key_action("AKIA1", StepName::DeactivateAccessKey),
                key_action("AKIA2", StepName::DeleteAccessKey),
                key_action("AKIA3", StepName::DeactivateAccessKey),
            ],
            skipped: Vec::new(),
            summary: Default::default(),
        };
        assert_eq!(
            apply_question(&plan, None, "arn:aws:iam::123456789012:user/ci"),
            "Apply 3 action(s) (1 destructive) to account 123456789012 as \
             arn:aws:iam::123456789012:user/ci?"
        );
        assert_eq!(
            apply_question(&plan, Some(40), "me"),
            "Apply 3 action(s) of the plan's 40 (1 destructive) to account 123456789012 as me?"
        );
    }
}
