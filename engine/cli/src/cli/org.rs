//! `iamwarden org plan` and `iamwarden org report`: every account of an organization (or of an
//! accounts file), one plan per account streamed to `DIR/<account-id>/plan.json` as soon as it
//! is made, a manifest and the organization report in `DIR`; shards of one run merged by
//! `org report DIR...`. One account failing (its role refused, its reads throttled past the
//! retries) is reported with the call and the permission, and never stops the others.

use super::{parse_now, parse_timeout, AwsArgs, Exit};
use anyhow::{Context, Result};
use iamwarden_aws::org::{self as aws_org, AssumeOptions};
use iamwarden_core::org::report::{
    FailedAccount, Manifest, ManifestEntry, OrgReport, PlannedAccount, SkippedAccount,
    ORG_FORMAT_VERSION,
};
use iamwarden_core::org::{choose, render, Account, Filter, Selection, Shard};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// `iamwarden org ...`
#[derive(Debug, clap::Subcommand)]
pub(crate) enum OrgCommand {
    /// Plan every account: assume a role in each, read it, and write `DIR/<account-id>/plan.json`
    /// (the plan `apply` takes), DIR/manifest.json, DIR/report.json and DIR/report.md.
    Plan(Box<OrgPlanArgs>),
    /// Merge the outputs of several shards (`org plan --shard I/N --out DIR`) into the report
    /// of the whole organization.
    Report {
        /// Output folders of `org plan`.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Output format (sarif: one run per account, read from each account's plan).
        #[arg(long, value_enum, default_value = "human")]
        format: ReportFormat,
        /// Rule packs for SARIF's rule metadata (default: builtin; the packs the plans were
        /// made with).
        #[arg(long = "rules")]
        rules: Vec<String>,
        /// `--format markdown` stays within this many characters.
        #[arg(long, default_value_t = iamwarden_core::render::DEFAULT_MAX_CHARS)]
        max_chars: usize,
        /// Exit 2 when any account has changes.
        #[arg(long)]
        detailed_exitcode: bool,
    },
    /// Apply every planned account's plan in an `org plan` folder, one account after another,
    /// each as the role its plan was made with and with its own journal
    /// (`DIR/<account-id>/plan.json.journal.jsonl`; a re-run resumes). A failed account never
    /// stops the others.
    Apply(Box<OrgApplyArgs>),
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
    /// Apply only accounts matching one of these (id:ID, name:GLOB).
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
    /// IAM calls in flight at once within one account.
    #[arg(long, default_value_t = 8)]
    calls_per_account: usize,
}

/// The organization report's formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ReportFormat {
    /// Text for a terminal or a log.
    Human,
    /// Markdown within --max-chars (a pull-request comment, a job summary).
    Markdown,
    /// `report.json`.
    Json,
    /// SARIF 2.1.0, one run per account (GitHub code scanning keeps them apart by
    /// `automationDetails.id`); a failed account's run says why.
    Sarif,
}

#[derive(Debug, clap::Args)]
pub(crate) struct OrgPlanArgs {
    /// The role to assume in every account: a name (`OrgAudit`, `path/OrgAudit`) or an ARN
    /// template (`arn:aws:iam::{account_id}:role/OrgAudit`). An accounts file's `role` wins.
    #[arg(long)]
    role_name: String,
    /// The output folder (created if needed).
    #[arg(long)]
    out: PathBuf,
    /// An accounts file (YAML: id, name, role, external_id, tags); without it, the accounts
    /// come from AWS Organizations (`ListAccounts`, suspended accounts skipped).
    #[arg(long)]
    accounts: Option<PathBuf>,
    /// Plan only accounts matching one of these (repeatable): id:ID, name:GLOB, tag:KEY,
    /// tag:KEY=GLOB (without --accounts, tags are read from Organizations).
    #[arg(long, value_parser = Filter::parse)]
    include: Vec<Filter>,
    /// Only the accounts under this organizational unit (or root) id, at any depth
    /// (repeatable; Organizations only).
    #[arg(long)]
    ou: Vec<String>,
    /// Skip accounts matching any of these (repeatable; same forms as --include).
    #[arg(long, value_parser = Filter::parse)]
    exclude: Vec<Filter>,
    /// This run's shard: `I/N` (0-based I), or `N` with I from IAMWARDEN_SHARD_INDEX,
    /// JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs) or AWS_BATCH_JOB_ARRAY_INDEX.
    #[arg(long)]
    shard: Option<String>,
    /// The external id for every account (an accounts file's `external_id` wins).
    #[arg(long)]
    external_id: Option<String>,
    /// The role session name (seen in each member account's CloudTrail).
    #[arg(long, default_value = "iamwarden")]
    session_name: String,
    /// The role session's duration in seconds.
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(i32).range(900..=43200))]
    duration_seconds: i32,
    /// The partition of role ARNs made from a role name (aws, aws-us-gov, aws-cn).
    #[arg(long, default_value = "aws")]
    partition: String,
    /// Accounts in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    concurrency: u32,
    /// Per-user API calls in flight at once within one account.
    #[arg(long, default_value_t = 8)]
    calls_per_account: usize,
    /// A named profile for the caller's credentials.
    #[arg(long)]
    profile: Option<String>,
    /// The region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile, else us-east-1).
    #[arg(long)]
    region: Option<String>,
    /// One endpoint URL for STS, Organizations and IAM (a local test server); it wins over
    /// AWS_ENDPOINT_URL_STS, _ORGANIZATIONS and _IAM, AWS_ENDPOINT_URL and the profile.
    #[arg(long, value_parser = super::parse_endpoint_url)]
    endpoint_url: Option<String>,
    /// Time limit on connecting to an AWS endpoint.
    #[arg(long, env = "IAMWARDEN_CONNECT_TIMEOUT", default_value = "3s", value_parser = parse_timeout)]
    connect_timeout: std::time::Duration,
    /// Time limit on one attempt of an AWS call.
    #[arg(long, env = "IAMWARDEN_ATTEMPT_TIMEOUT", default_value = "20s", value_parser = parse_timeout)]
    attempt_timeout: std::time::Duration,
    /// Time limit on a whole AWS call, retries included.
    #[arg(long, env = "IAMWARDEN_CALL_TIMEOUT", default_value = "50s", value_parser = parse_timeout)]
    call_timeout: std::time::Duration,
    /// Rule pack files or directories, or `builtin` (repeatable; default: builtin).
    #[arg(long = "rules")]
    rules: Vec<String>,
    /// The evaluation clock (RFC 3339 or a date); default: now.
    #[arg(long)]
    now: Option<String>,
    /// Output format of the report on stdout.
    #[arg(long, value_enum, default_value = "human")]
    format: ReportFormat,
    /// `report.md` and `--format markdown` stay within this many characters.
    #[arg(long, default_value_t = iamwarden_core::render::DEFAULT_MAX_CHARS)]
    max_chars: usize,
    /// Exit 2 when any account has changes (0 when none; 1 when an account failed).
    #[arg(long)]
    detailed_exitcode: bool,
}

/// Runs `iamwarden org ...`.
pub(crate) fn org(command: OrgCommand, out: &mut dyn Write) -> Result<Exit> {
    match command {
        OrgCommand::Plan(args) => plan(*args, out),
        OrgCommand::Apply(args) => apply(*args, out),
        OrgCommand::Report {
            dirs,
            format,
            rules,
            max_chars,
            detailed_exitcode,
        } => {
            let mut reports = Vec::new();
            let mut home: std::collections::BTreeMap<String, PathBuf> = Default::default();
            for d in &dirs {
                let r = read_report(d)?;
                for a in &r.planned {
                    home.insert(a.id.clone(), d.clone());
                }
                reports.push(r);
            }
            let merged = OrgReport::merge(reports)?;
            if format == ReportFormat::Sarif {
                let rules = iamwarden_core::packs::load_rule_set(&rules)?;
                write_sarif(&merged, &rules, &|id| home.get(id).cloned(), out)?;
            } else {
                write_report(&merged, format, max_chars, out)?;
            }
            Ok(exit_of(&merged, detailed_exitcode))
        }
    }
}

fn read_report(dir: &Path) -> Result<OrgReport> {
    let path = dir.join("report.json");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read {} (is {} an `org plan --out` folder?)",
            path.display(),
            dir.display()
        )
    })?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: not an organization report of format {ORG_FORMAT_VERSION}",
            path.display()
        )
    })
}

fn write_report(
    r: &OrgReport,
    format: ReportFormat,
    max_chars: usize,
    out: &mut dyn Write,
) -> Result<()> {
    match format {
        ReportFormat::Human => render::human(r, out)?,
        ReportFormat::Markdown => render::markdown(r, max_chars, out)?,
        ReportFormat::Json => render::json(r, out)?,
        ReportFormat::Sarif => anyhow::bail!("SARIF is written with the plans: see write_sarif"),
    }
    Ok(())
}

/// The organization's SARIF: each planned account's plan read from the folder that holds it
/// (`dir_of(account id)`) only while its run is written.
fn write_sarif(
    r: &OrgReport,
    rules: &iamwarden_core::compile::RuleSet,
    dir_of: &dyn Fn(&str) -> Option<PathBuf>,
    out: &mut dyn Write,
) -> Result<()> {
    let locator = super::RuleLocator::new(rules);
    let locate = |source: &str, rule: &str| locator.locate(source, rule);
    let mut load = |a: &PlannedAccount| -> Result<iamwarden_core::plan::Plan> {
        let dir =
            dir_of(&a.id).with_context(|| format!("account {}: no folder holds its plan", a.id))?;
        let path = dir.join(&a.plan);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        iamwarden_core::apply::load_plan(&text).with_context(|| format!("{}", path.display()))
    };
    render::sarif(r, rules, &locate, &mut load, out)
}

/// Failed accounts are an error (1) once every other account is done; then changes (2 with
/// `--detailed-exitcode`).
fn exit_of(r: &OrgReport, detailed_exitcode: bool) -> Exit {
    if !r.failed.is_empty() {
        Exit::Error
    } else if detailed_exitcode && r.has_changes() {
        Exit::Changes
    } else {
        Exit::Success
    }
}

/// What one account's task hands back: small counts only (the plan is on disk).
enum Outcome {
    Planned(PlannedAccount, String, String),
    Failed(FailedAccount, String),
}

fn plan(args: OrgPlanArgs, out: &mut dyn Write) -> Result<Exit> {
    let now = parse_now(args.now.as_deref())?;
    let packs = iamwarden_core::packs::load_packs(&args.rules)?;
    let rules = Arc::new(
        iamwarden_core::compile::compile(&packs).map_err(iamwarden_core::diag::Diagnostics)?,
    );
    let shard = match &args.shard {
        Some(s) => Shard::parse(s, &|v| std::env::var(v).ok()).map_err(anyhow::Error::msg)?,
        None => Shard::ALL,
    };
    let file_accounts = match &args.accounts {
        Some(path) => {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the accounts file {shown}"))?;
            let accounts = iamwarden_core::org::parse_accounts(&shown, &text)?;
            Some(accounts)
        }
        None => None,
    };
    // An account's `params` make its own rule set, compiled (and checked) before any account
    // is planned: a wrong rule or parameter stops the run, never plans without it.
    let mut account_rules = std::collections::BTreeMap::new();
    for a in file_accounts.iter().flatten() {
        if !a.params.is_empty() {
            let origin = format!(
                "{} (account {})",
                args.accounts
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                a.id
            );
            let set = iamwarden_core::packs::with_params(&packs, &a.params, &origin)?;
            account_rules.insert(a.id.clone(), Arc::new(set));
        }
    }
    let aws = AwsArgs {
        profile: args.profile.clone(),
        region: args.region.clone(),
        endpoint_url: args.endpoint_url.clone(),
        concurrency: args.calls_per_account,
        stats: false,
        connect_timeout: args.connect_timeout,
        attempt_timeout: args.attempt_timeout,
        call_timeout: args.call_timeout,
        // As `plan` does: last-accessed data is read when a loaded rule plans on it.
        service_access: rules.acts_on_service_access(),
        service_access_wait: std::time::Duration::from_secs(60),
    };
    let mut opts = aws.options();
    opts.progress = None;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let caller = rt.block_on(iamwarden_aws::live::sdk_config(&opts))?;
    // Tags are read from Organizations only when a filter asks for them (one call an account).
    let list_opts = aws_org::ListOptions {
        ous: args.ou.clone(),
        tags: args
            .include
            .iter()
            .chain(&args.exclude)
            .any(|f| matches!(f, Filter::Tag(..))),
    };
    if file_accounts.is_some() && !args.ou.is_empty() {
        anyhow::bail!("--ou lists accounts from Organizations; it cannot be used with --accounts");
    }
    let (all, skipped, source) = match file_accounts {
        Some(a) => (
            a,
            Vec::new(),
            args.accounts
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ),
        None => {
            let (active, skipped) = rt
                .block_on(aws_org::list_accounts(&caller, &list_opts))
                .with_context(|| {
                    format!(
                        "listing the organization's accounts at {} (the caller needs \
                         organizations:ListAccounts, and with --ou ListChildren and \
                         ListAccountsForParent, with tag: filters ListTagsForResource; or pass \
                         --accounts FILE)",
                        iamwarden_aws::live::settings::endpoint(
                            &caller,
                            iamwarden_aws::live::settings::Service::Organizations
                        )
                    )
                })?;
            (active, skipped, "organizations".to_string())
        }
    };
    let selection = Selection {
        include: args.include.clone(),
        exclude: args.exclude.clone(),
    };
    let skipped: Vec<SkippedAccount> = skipped
        .into_iter()
        .filter(|s| shard.contains(&s.id) && selection.selects(&Account::new(&s.id, &s.name)))
        .collect();
    let accounts = choose(all, &selection, shard);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    super::output::notice!(
        "Planning {} account(s) (shard {shard}, {} in flight) into {}",
        accounts.len(),
        args.concurrency,
        args.out.display()
    );

    let assume = AssumeOptions {
        session_name: args.session_name.clone(),
        duration_seconds: args.duration_seconds,
    };
    let outcomes = rt.block_on(run_accounts(
        accounts,
        RunContext {
            caller,
            opts,
            rules: rules.clone(),
            account_rules,
            now,
            dir: args.out.clone(),
            role: args.role_name.clone(),
            partition: args.partition.clone(),
            external_id: args.external_id.clone(),
            assume,
            concurrency: args.concurrency as usize,
        },
    ));

    let mut planned = Vec::new();
    let mut failed = Vec::new();
    let mut entries = Vec::new();
    for o in outcomes {
        match o {
            Outcome::Planned(p, role_arn, sha) => {
                entries.push(ManifestEntry {
                    id: p.id.clone(),
                    name: p.name.clone(),
                    status: "planned".into(),
                    role_arn: Some(role_arn),
                    plan: Some(p.plan.clone()),
                    plan_sha256: Some(sha),
                });
                planned.push(p);
            }
            Outcome::Failed(f, role_arn) => {
                entries.push(ManifestEntry {
                    id: f.id.clone(),
                    name: f.name.clone(),
                    status: "failed".into(),
                    role_arn: Some(role_arn),
                    plan: None,
                    plan_sha256: None,
                });
                failed.push(f);
            }
        }
    }
    for s in &skipped {
        entries.push(ManifestEntry {
            id: s.id.clone(),
            name: s.name.clone(),
            status: "suspended".into(),
            role_arn: None,
            plan: None,
            plan_sha256: None,
        });
    }
    entries.sort_by(|a, b| a.id.cmp(&b.id));
    let manifest = Manifest {
        format_version: ORG_FORMAT_VERSION,
        iamwarden_version: env!("CARGO_PKG_VERSION").to_string(),
        shard,
        source,
        role_name: args.role_name.clone(),
        accounts: entries,
    };
    let report = OrgReport::new(planned, failed, skipped);
    write_file(
        &args.out.join("manifest.json"),
        &(serde_json::to_string_pretty(&manifest)? + "\n"),
    )?;
    let mut json = Vec::new();
    render::json(&report, &mut json)?;
    write_file(&args.out.join("report.json"), &String::from_utf8(json)?)?;
    let mut md = Vec::new();
    render::markdown(&report, args.max_chars, &mut md)?;
    write_file(&args.out.join("report.md"), &String::from_utf8(md)?)?;
    if args.format == ReportFormat::Sarif {
        let dir = args.out.clone();
        write_sarif(&report, &rules, &|_| Some(dir.clone()), out)?;
    } else {
        write_report(&report, args.format, args.max_chars, out)?;
    }
    Ok(exit_of(&report, args.detailed_exitcode))
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

struct RunContext {
    caller: aws_config::SdkConfig,
    opts: iamwarden_aws::live::LiveOptions,
    rules: Arc<iamwarden_core::compile::RuleSet>,
    /// The rule sets of accounts with their own `params` (the accounts file's).
    account_rules: std::collections::BTreeMap<String, Arc<iamwarden_core::compile::RuleSet>>,
    now: chrono::DateTime<chrono::Utc>,
    dir: PathBuf,
    role: String,
    partition: String,
    external_id: Option<String>,
    assume: AssumeOptions,
    concurrency: usize,
}

/// Plans the accounts, at most `concurrency` in flight; results in id order.
async fn run_accounts(accounts: Vec<Account>, ctx: RunContext) -> Vec<Outcome> {
    let ctx = Arc::new(ctx);
    let gate = Arc::new(tokio::sync::Semaphore::new(ctx.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, mut account) in accounts.into_iter().enumerate() {
        if account.external_id.is_none() {
            account.external_id.clone_from(&ctx.external_id);
        }
        let ctx = ctx.clone();
        let gate = gate.clone();
        tasks.spawn(async move {
            // The semaphore is never closed; a closed one would only mean "no limit".
            let _permit = gate.acquire_owned().await.ok();
            (i, one_account(&account, &ctx).await)
        });
    }
    let mut done: Vec<(usize, Outcome)> = Vec::new();
    while let Some(r) = tasks.join_next().await {
        match r {
            Ok(x) => done.push(x),
            Err(e) => eprintln!("error: an account's task ended abnormally: {e}"),
        }
    }
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, o)| o).collect()
}

async fn one_account(account: &Account, ctx: &RunContext) -> Outcome {
    let role_arn = account.role_arn(&ctx.role, &ctx.partition);
    let config = match aws_org::assume(&ctx.caller, account, &role_arn, &ctx.assume).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("  {} {}: {e}", account.id, account.name);
            return Outcome::Failed(e.failed(account, &role_arn), role_arn);
        }
    };
    let client = aws_sdk_iam::Client::new(&config);
    let inv = match iamwarden_aws::live::read(&client, &ctx.opts).await {
        Ok((inv, _stats)) => inv,
        Err(e) => {
            eprintln!("  {} {}: {e}", account.id, account.name);
            return Outcome::Failed(live_failure(account, &e), role_arn);
        }
    };
    if inv.account.id != account.id {
        let f = FailedAccount {
            id: account.id.clone(),
            name: account.name.clone(),
            call: "iam:read".into(),
            code: None,
            message: format!(
                "the credentials of {role_arn} read account {}, not {}",
                inv.account.id, account.id
            ),
            permission: None,
        };
        return Outcome::Failed(f, role_arn);
    }
    // Evaluation is CPU work: off the async workers, and the inventory and plan are dropped
    // as soon as the plan is on disk.
    let rules = ctx
        .account_rules
        .get(&account.id)
        .unwrap_or(&ctx.rules)
        .clone();
    let now = ctx.now;
    let dir = ctx.dir.join(&account.id);
    let name = account.name.clone();
    let id = account.id.clone();
    let written =
        tokio::task::spawn_blocking(move || -> Result<(PlannedAccount, String), String> {
            let plan = iamwarden_core::pipeline::make_plan(&rules, &inv, now, chrono::Utc::now());
            drop(inv);
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            let path = dir.join("plan.json");
            let file = std::fs::File::create(&path)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            let mut w = std::io::BufWriter::new(file);
            serde_json::to_writer_pretty(&mut w, &plan)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            w.write_all(b"\n")
                .and_then(|()| w.flush())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Ok((
                PlannedAccount::of(&plan, &name, &format!("{id}/plan.json")),
                plan.content_sha256.clone(),
            ))
        })
        .await;
    match written {
        Ok(Ok((p, sha))) => {
            super::output::notice!(
                "  {} {}: {} finding(s), {} action(s)",
                p.id,
                p.name,
                p.findings,
                p.actions
            );
            Outcome::Planned(p, role_arn, sha)
        }
        Ok(Err(message)) => Outcome::Failed(
            FailedAccount {
                id: account.id.clone(),
                name: account.name.clone(),
                call: "plan".into(),
                code: None,
                message,
                permission: None,
            },
            role_arn,
        ),
        Err(e) => Outcome::Failed(
            FailedAccount {
                id: account.id.clone(),
                name: account.name.clone(),
                call: "plan".into(),
                code: None,
                message: format!("planning stopped abnormally: {e}"),
                permission: None,
            },
            role_arn,
        ),
    }
}

fn live_failure(account: &Account, e: &iamwarden_aws::live::LiveError) -> FailedAccount {
    use iamwarden_aws::live::LiveError;
    let (call, code, message) = match e {
        LiveError::Call {
            operation,
            code,
            message,
        } => (format!("iam:{operation}"), code.clone(), message.clone()),
        LiveError::Data(m) => ("iam:read".to_string(), None, m.clone()),
    };
    let denied = matches!(
        code.as_deref(),
        Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation")
    );
    FailedAccount {
        id: account.id.clone(),
        name: account.name.clone(),
        permission: denied.then(|| call.clone()),
        call,
        code,
        message,
    }
}

fn apply(args: OrgApplyArgs, out: &mut dyn Write) -> Result<Exit> {
    use iamwarden_core::apply::{self as core_apply, journal, ExitKind};
    if !args.auto_approve {
        anyhow::bail!(
            "org apply runs without a question per account: review the plans (report.md,              `iamwarden show DIR/<id>/plan.json`), then pass --auto-approve"
        );
    }
    let max_plan_age = iamwarden_core::compile::duration::parse_duration(&args.max_plan_age)
        .map_err(|e| anyhow::anyhow!("--max-plan-age: {e}"))?;
    let path = args.dir.join("manifest.json");
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
    let opts = aws.options();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let caller_config = rt.block_on(iamwarden_aws::live::sdk_config(&opts))?;
    let assume = AssumeOptions {
        session_name: args.session_name.clone(),
        duration_seconds: 3600,
    };
    let (mut ok, mut stale, mut failed) = (0usize, 0usize, 0usize);
    for entry in &manifest.accounts {
        let (Some(plan_rel), Some(role_arn)) = (&entry.plan, &entry.role_arn) else {
            continue;
        };
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
        let plan_path = args.dir.join(plan_rel);
        let result = (|| -> Result<ExitKind> {
            let text = std::fs::read_to_string(&plan_path)
                .with_context(|| format!("cannot read {}", plan_path.display()))?;
            let plan =
                core_apply::load_plan(&text).with_context(|| format!("{}", plan_path.display()))?;
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
            let apply_opts = core_apply::Options {
                allow_destructive: args.allow_destructive,
                max_actions: args.max_actions,
                max_plan_age,
                concurrency: args.calls_per_account,
                plan_file: plan_path.display().to_string(),
            };
            core_apply::precheck(&plan, &apply_opts, chrono::Utc::now())?;
            if plan.actions.is_empty() {
                return Ok(ExitKind::Ok);
            }
            let journal_path = super::apply::default_journal(&plan_path);
            let records = journal::read(&journal_path)?;
            let history = journal::history(&journal_path, &records, Some(&plan.content_sha256))?;
            let config = rt
                .block_on(aws_org::assume(&caller_config, &account, role_arn, &assume))
                .map_err(anyhow::Error::new)?;
            let caller = rt
                .block_on(iamwarden_aws::iam::caller(&config))
                .context("sts:GetCallerIdentity as the member role")?;
            core_apply::check_account(&plan, &caller)?;
            let journal = Arc::new(journal::Journal::open(&journal_path)?);
            let exec = iamwarden_aws::iam::executor(
                aws_sdk_iam::Client::new(&config),
                journal,
                journal::Mode::Apply,
            )
            .with_endpoint(Some(&iamwarden_aws::live::settings::endpoint(
                &config,
                iamwarden_aws::live::settings::Service::Iam,
            )));
            let report = rt.block_on(core_apply::run(
                &plan,
                &apply_opts,
                &exec,
                &caller,
                &history,
                None,
            ))?;
            let s = &report.summary;
            super::output::notice!(
                "  {} {}: {} applied, {} already applied, {} stale, {} failed, {} refused",
                entry.id,
                entry.name,
                s.applied,
                s.already_applied,
                s.stale,
                s.failed,
                s.refused
            );
            Ok(core_apply::exit_kind(s))
        })();
        match result {
            Ok(ExitKind::Ok) => ok += 1,
            Ok(ExitKind::Stale) => stale += 1,
            Ok(ExitKind::Failed) => failed += 1,
            Err(e) => {
                eprintln!("  {} {}: {e:#}", entry.id, entry.name);
                failed += 1;
            }
        }
    }
    writeln!(
        out,
        "Organization apply: {ok} account(s) applied, {stale} with stale actions skipped, {failed} failed"
    )?;
    Ok(if failed > 0 {
        Exit::Error
    } else if stale > 0 {
        Exit::Stale
    } else {
        Exit::Success
    })
}
