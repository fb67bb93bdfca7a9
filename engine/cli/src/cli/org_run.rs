//! `iamwarden org apply DIR` and `iamwarden org undo DIR`: every account of an `org plan`
//! folder, at most `--accounts-in-flight` at once, each as the role its plan was made with and
//! under its own journal's lock (`apply::lock`, the lock single-account `apply` and `undo`
//! take), so two runs never act on one account's journal together. An account that is locked,
//! refused or failing is reported as such and never stops the others; the exit code aggregates
//! (1 any failed, 5 any locked, 3 any stale). What each account's run did, and whether it
//! resumed an earlier (interrupted) one, is written to `DIR/apply-report.json` or
//! `DIR/undo-report.json`.

use super::{AwsArgs, Exit};
use anyhow::{Context, Result};
use iamwarden_aws::live::settings::{self, Service};
use iamwarden_aws::org::{self as aws_org, AssumeOptions};
use iamwarden_core::apply::lock::{Holder, JournalLock, LockError};
use iamwarden_core::apply::{self as core_apply, journal, ExitKind};
use iamwarden_core::org::report::{
    Manifest, ManifestEntry, RunAccount, RunReport, RunStatus, ORG_FORMAT_VERSION,
};
use iamwarden_core::org::{Account, Filter, Selection};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What `org apply` and `org undo` share: which accounts, as whom, how many at once.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct OrgRunArgs {
    /// Run only accounts matching one of these (id:ID, name:GLOB).
    #[arg(long, value_parser = Filter::parse)]
    include: Vec<Filter>,
    /// The accounts file the plan was made from, for each account's external id.
    #[arg(long)]
    accounts: Option<PathBuf>,
    /// The external id for every account (an accounts file's wins).
    #[arg(long)]
    external_id: Option<String>,
    /// The role session name.
    #[arg(long, default_value = "iamwarden")]
    session_name: String,
    /// Accounts in flight at once (each under its own journal's lock).
    #[arg(long, alias = "concurrency", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..=256))]
    accounts_in_flight: u32,
    /// IAM calls in flight at once within one account.
    #[arg(long, default_value_t = 8)]
    calls_per_account: usize,
    /// A named profile for the caller's credentials.
    #[arg(long)]
    profile: Option<String>,
    /// The region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile, else us-east-1).
    #[arg(long)]
    region: Option<String>,
    /// One endpoint URL for STS and IAM; it wins over AWS_ENDPOINT_URL_STS,
    /// AWS_ENDPOINT_URL_IAM, AWS_ENDPOINT_URL and the profile.
    #[arg(long, value_parser = super::parse_endpoint_url)]
    endpoint_url: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct OrgApplyArgs {
    /// The `org plan --out` folder.
    dir: PathBuf,
    /// Required: an organization apply asks no question per account (review the plans, or
    /// report.md, first).
    #[arg(long)]
    auto_approve: bool,
    /// Run destructive actions.
    #[arg(long)]
    allow_destructive: bool,
    /// Refuse an account's plan when it has more actions than this.
    #[arg(long)]
    max_actions: Option<usize>,
    /// Refuse plans older than this (e.g. 24h, 30m, 2d).
    #[arg(long, default_value = "24h")]
    max_plan_age: String,
    #[command(flatten)]
    run: OrgRunArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct OrgUndoArgs {
    /// The `org plan --out` folder `org apply` ran.
    dir: PathBuf,
    /// Required: an organization undo asks no question per account (`iamwarden undo
    /// DIR/ID/plan.json.journal.jsonl --dry-run` shows one account's undo).
    #[arg(long)]
    auto_approve: bool,
    #[command(flatten)]
    run: OrgRunArgs,
}

/// Apply or undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    Apply,
    Undo,
}

impl Job {
    fn name(self) -> &'static str {
        match self {
            Job::Apply => "apply",
            Job::Undo => "undo",
        }
    }
}

/// Everything one account's run needs, shared by the accounts in flight.
struct Ctx {
    job: Job,
    dir: PathBuf,
    caller: aws_config::SdkConfig,
    assume: AssumeOptions,
    apply: Option<ApplyOpts>,
    calls_per_account: usize,
}

struct ApplyOpts {
    allow_destructive: bool,
    max_actions: Option<usize>,
    max_plan_age: chrono::TimeDelta,
}

/// Runs `iamwarden org apply`.
pub(crate) fn apply(args: OrgApplyArgs, out: &mut dyn Write) -> Result<Exit> {
    if !args.auto_approve {
        anyhow::bail!(
            "org apply runs without a question per account: review the plans (report.md, \
             `iamwarden show DIR/ID/plan.json`), then pass --auto-approve"
        );
    }
    let max_plan_age = iamwarden_core::compile::duration::parse_duration(&args.max_plan_age)
        .map_err(|e| anyhow::anyhow!("--max-plan-age: {e}"))?;
    let opts = ApplyOpts {
        allow_destructive: args.allow_destructive,
        max_actions: args.max_actions,
        max_plan_age,
    };
    run(Job::Apply, &args.dir, &args.run, Some(opts), out)
}

/// Runs `iamwarden org undo`.
pub(crate) fn undo(args: OrgUndoArgs, out: &mut dyn Write) -> Result<Exit> {
    if !args.auto_approve {
        anyhow::bail!(
            "org undo runs without a question per account: review one account's undo with \
             `iamwarden undo DIR/ID/plan.json.journal.jsonl --dry-run`, then pass --auto-approve"
        );
    }
    run(Job::Undo, &args.dir, &args.run, None, out)
}

fn run(
    job: Job,
    dir: &Path,
    args: &OrgRunArgs,
    apply: Option<ApplyOpts>,
    out: &mut dyn Write,
) -> Result<Exit> {
    let path = dir.join("manifest.json");
    let manifest: Manifest = serde_json::from_str(
        &std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?,
    )
    .with_context(|| format!("{}: not an org manifest", path.display()))?;
    let file_accounts = match &args.accounts {
        Some(p) => {
            let shown = p.display().to_string();
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read the accounts file {shown}"))?;
            iamwarden_core::org::parse_accounts(&shown, &text)?
        }
        None => Vec::new(),
    };
    let selection = Selection {
        include: args.include.clone(),
        exclude: Vec::new(),
    };
    let aws = AwsArgs {
        profile: args.profile.clone(),
        region: args.region.clone(),
        endpoint_url: args.endpoint_url.clone(),
        concurrency: args.calls_per_account,
        stats: false,
        connect_timeout: iamwarden_aws::live::Timeouts::CONNECT,
        attempt_timeout: iamwarden_aws::live::Timeouts::ATTEMPT,
        call_timeout: iamwarden_aws::live::Timeouts::CALL,
        // apply re-reads what each action needs; it never reads the whole account.
        service_access: false,
        service_access_wait: std::time::Duration::from_secs(60),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let caller = rt.block_on(iamwarden_aws::live::sdk_config(&aws.options()))?;
    let mut work: Vec<(ManifestEntry, Account)> = Vec::new();
    for entry in manifest.accounts {
        if entry.plan.is_none() || (entry.role_arn.is_none() && !entry.as_caller) {
            continue;
        }
        let mut account = file_accounts
            .iter()
            .find(|a| a.id == entry.id)
            .cloned()
            .unwrap_or_else(|| Account::new(&entry.id, &entry.name));
        if !selection.selects(&account) {
            continue;
        }
        if account.external_id.is_none() {
            account.external_id.clone_from(&args.external_id);
        }
        work.push((entry, account));
    }
    super::output::notice!(
        "Organization {}: {} account(s), {} in flight",
        job.name(),
        work.len(),
        args.accounts_in_flight
    );
    let ctx = Arc::new(Ctx {
        job,
        dir: dir.to_path_buf(),
        caller,
        assume: AssumeOptions {
            session_name: args.session_name.clone(),
            duration_seconds: 3600,
        },
        apply,
        calls_per_account: args.calls_per_account,
    });
    let accounts = rt.block_on(run_all(work, ctx, args.accounts_in_flight as usize));
    let report = RunReport {
        format_version: ORG_FORMAT_VERSION,
        command: job.name().to_string(),
        accounts,
    };
    super::files::write_json(
        &dir.join(format!("{}-report.json", job.name())),
        &report,
        "the organization run's report",
    )?;
    let (done, stale, failed, locked) = (
        report.count(RunStatus::Done),
        report.count(RunStatus::Stale),
        report.count(RunStatus::Failed),
        report.count(RunStatus::Locked),
    );
    let resumed = report.accounts.iter().filter(|a| a.resumed).count();
    match job {
        Job::Apply => writeln!(
            out,
            "Organization apply: {done} account(s) applied, {stale} with stale actions skipped, \
             {failed} failed, {locked} locked ({resumed} resumed an earlier run)"
        )?,
        Job::Undo => writeln!(
            out,
            "Organization undo: {done} account(s) undone, {failed} failed, {locked} locked \
             ({resumed} resumed an earlier undo)"
        )?,
    }
    for a in report
        .accounts
        .iter()
        .filter(|a| a.status == RunStatus::Locked)
    {
        writeln!(
            out,
            "  locked: {} {}: {}",
            a.id,
            a.name,
            a.message.as_deref().unwrap_or_default()
        )?;
    }
    Ok(if failed > 0 {
        Exit::Error
    } else if locked > 0 {
        Exit::Locked
    } else if stale > 0 {
        Exit::Stale
    } else {
        Exit::Success
    })
}

/// Runs the accounts, at most `in_flight` at once; results in id order.
async fn run_all(
    work: Vec<(ManifestEntry, Account)>,
    ctx: Arc<Ctx>,
    in_flight: usize,
) -> Vec<RunAccount> {
    let gate = Arc::new(tokio::sync::Semaphore::new(in_flight.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, (entry, account)) in work.into_iter().enumerate() {
        let ctx = ctx.clone();
        let gate = gate.clone();
        tasks.spawn(async move {
            // The semaphore is never closed; a closed one would only mean "no limit".
            let _permit = gate.acquire_owned().await.ok();
            (i, one(&ctx, &entry, &account).await)
        });
    }
    let mut done: Vec<(usize, RunAccount)> = Vec::new();
    while let Some(r) = tasks.join_next().await {
        match r {
            Ok(x) => done.push(x),
            Err(e) => eprintln!("error: an account's task ended abnormally: {e}"),
        }
    }
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, a)| a).collect()
}

/// One account: its lock, its journal, its role, its run.
async fn one(ctx: &Ctx, entry: &ManifestEntry, account: &Account) -> RunAccount {
    let plan_rel = entry.plan.clone().unwrap_or_default();
    let journal_rel = format!("{plan_rel}.journal.jsonl");
    let mut r = RunAccount {
        id: entry.id.clone(),
        name: entry.name.clone(),
        status: RunStatus::Done,
        journal: journal_rel.clone(),
        resumed: false,
        interrupted: 0,
        calls: 0,
        summary: None,
        message: None,
    };
    let journal_path = ctx.dir.join(&journal_rel);
    // Held until this account is done: no other apply or undo of this journal meanwhile.
    let holder = Holder::here(&format!("iamwarden org {}", ctx.job.name()));
    let _lock = match JournalLock::acquire(&journal_path, &holder) {
        Ok(l) => l,
        Err(e @ LockError::Held { .. }) => {
            r.status = RunStatus::Locked;
            r.message = Some(e.to_string());
            eprintln!("  {} {}: {e}", entry.id, entry.name);
            return r;
        }
        Err(e) => {
            r.status = RunStatus::Failed;
            r.message = Some(e.to_string());
            eprintln!("  {} {}: {e}", entry.id, entry.name);
            return r;
        }
    };
    let result = match ctx.job {
        Job::Apply => apply_one(ctx, entry, account, &plan_rel, &journal_path, &mut r).await,
        Job::Undo => undo_one(ctx, entry, account, &journal_path, &mut r).await,
    };
    match result {
        Ok(status) => r.status = status,
        Err(e) => {
            eprintln!("  {} {}: {e:#}", entry.id, entry.name);
            r.status = RunStatus::Failed;
            r.message = Some(format!("{e:#}"));
        }
    }
    r
}

/// The member role's configuration and who it is, checked to be the account's.
async fn member(
    ctx: &Ctx,
    entry: &ManifestEntry,
    account: &Account,
) -> Result<(aws_config::SdkConfig, core_apply::Caller)> {
    if entry.as_caller {
        // Planned with the caller's own credentials (`--management-account caller`): applied
        // with them too; apply's account check refuses them if they are of another account.
        let caller = iamwarden_aws::iam::caller(&ctx.caller)
            .await
            .context("sts:GetCallerIdentity as the caller")?;
        return Ok((ctx.caller.clone(), caller));
    }
    let role_arn = entry.role_arn.as_deref().unwrap_or_default();
    let config = aws_org::assume(&ctx.caller, account, role_arn, &ctx.assume)
        .await
        .map_err(anyhow::Error::new)?;
    let caller = iamwarden_aws::iam::caller(&config)
        .await
        .context("sts:GetCallerIdentity as the member role")?;
    Ok((config, caller))
}

/// The mutating calls journaled after the first `skip` records.
fn calls_after(path: &Path, skip: usize) -> usize {
    journal::read(path).map_or(0, |records| {
        records
            .iter()
            .skip(skip)
            .filter(|r| matches!(r, journal::Record::Call { .. }))
            .count()
    })
}

async fn apply_one(
    ctx: &Ctx,
    entry: &ManifestEntry,
    account: &Account,
    plan_rel: &str,
    journal_path: &Path,
    r: &mut RunAccount,
) -> Result<RunStatus> {
    let plan_path = ctx.dir.join(plan_rel);
    let text = std::fs::read_to_string(&plan_path)
        .with_context(|| format!("cannot read {}", plan_path.display()))?;
    let plan = core_apply::load_plan(&text).with_context(|| format!("{}", plan_path.display()))?;
    if entry.plan_sha256.as_deref() != Some(plan.content_sha256.as_str()) {
        anyhow::bail!(
            "{} is not the plan the manifest lists (its content hash differs)",
            plan_path.display()
        );
    }
    if plan.account_id != entry.id {
        anyhow::bail!(
            "{} is a plan of account {}",
            plan_path.display(),
            plan.account_id
        );
    }
    let a = ctx
        .apply
        .as_ref()
        .context("org apply without its options")?;
    let apply_opts = core_apply::Options {
        allow_destructive: a.allow_destructive,
        max_actions: a.max_actions,
        max_plan_age: a.max_plan_age,
        concurrency: ctx.calls_per_account,
        plan_file: plan_path.display().to_string(),
    };
    core_apply::precheck(&plan, &apply_opts, chrono::Utc::now())?;
    if plan.actions.is_empty() {
        r.summary = Some(Default::default());
        return Ok(RunStatus::Done);
    }
    let records = journal::read(journal_path)?;
    let history = journal::history(journal_path, &records, Some(&plan.content_sha256))?;
    r.resumed = !records.is_empty();
    r.interrupted = history.interrupted.len();
    let (config, caller) = member(ctx, entry, account).await?;
    core_apply::check_account(&plan, &caller)?;
    let journal = Arc::new(journal::Journal::open(journal_path)?);
    if let Some(t) = journal.torn_tail() {
        eprintln!("journal {}: {t}", journal_path.display());
    }
    let exec = iamwarden_aws::iam::executor_from_config(&config, journal, journal::Mode::Apply)
        .with_endpoint(Some(&settings::endpoint(&config, Service::Iam)));
    let report = core_apply::run(&plan, &apply_opts, &exec, &caller, &history, None).await?;
    let s = report.summary;
    r.calls = calls_after(journal_path, records.len());
    r.summary = Some(s);
    let resumed = if r.resumed {
        format!(
            " (resumed: {} interrupted action(s) re-read)",
            r.interrupted
        )
    } else {
        String::new()
    };
    super::output::notice!(
        "  {} {}: {} applied, {} already applied, {} stale, {} failed, {} refused; {} call(s){resumed}",
        entry.id,
        entry.name,
        s.applied,
        s.already_applied,
        s.stale,
        s.failed,
        s.refused,
        r.calls
    );
    Ok(match core_apply::exit_kind(&s) {
        ExitKind::Ok => RunStatus::Done,
        ExitKind::Stale => RunStatus::Stale,
        ExitKind::Failed => RunStatus::Failed,
    })
}

async fn undo_one(
    ctx: &Ctx,
    entry: &ManifestEntry,
    account: &Account,
    journal_path: &Path,
    r: &mut RunAccount,
) -> Result<RunStatus> {
    if !journal_path.exists() {
        r.message = Some("no journal: nothing was applied in this account".into());
        r.summary = Some(Default::default());
        return Ok(RunStatus::Done);
    }
    let undo = core_apply::undo::plan_undo(journal_path)?;
    if undo.account_id != entry.id {
        anyhow::bail!(
            "{} is a journal of account {}",
            journal_path.display(),
            undo.account_id
        );
    }
    let records = journal::read(journal_path)?;
    r.resumed = records.iter().any(|x| {
        matches!(
            x,
            journal::Record::Run {
                mode: journal::Mode::Undo,
                ..
            }
        )
    });
    let counts = iamwarden_core::render::undo::counts(&undo);
    if counts.calls == 0 {
        r.message = Some(format!(
            "nothing to undo ({} already undone, {} cannot be undone)",
            counts.already_undone, counts.irreversible
        ));
        r.summary = Some(Default::default());
        super::output::notice!(
            "  {} {}: {}",
            entry.id,
            entry.name,
            r.message.as_deref().unwrap_or_default()
        );
        return Ok(RunStatus::Done);
    }
    let (config, caller) = member(ctx, entry, account).await?;
    if caller.account_id != undo.account_id {
        anyhow::bail!(
            "the journal is of account {}, but the role's credentials belong to account {} ({})",
            undo.account_id,
            caller.account_id,
            caller.arn
        );
    }
    let journal = Arc::new(journal::Journal::open(journal_path)?);
    let exec = iamwarden_aws::iam::executor_from_config(&config, journal, journal::Mode::Undo)
        .with_endpoint(Some(&settings::endpoint(&config, Service::Iam)));
    let report = core_apply::undo::run(
        &undo,
        &exec,
        &caller,
        &journal_path.display().to_string(),
        None,
    )
    .await?;
    let s = report.summary;
    r.calls = calls_after(journal_path, records.len());
    r.summary = Some(s);
    super::output::notice!(
        "  {} {}: {} undone, {} already undone, {} failed; {} call(s)",
        entry.id,
        entry.name,
        s.applied,
        s.already_applied,
        s.failed,
        r.calls
    );
    // As single-account undo: an action that could not be reversed fails the account.
    Ok(if s.failed > 0 {
        RunStatus::Failed
    } else {
        RunStatus::Done
    })
}
