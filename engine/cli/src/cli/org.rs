//! `iamwarden org plan` and `iamwarden org report`: every account of an organization (or of an
//! accounts file), one plan per account streamed to `DIR/<account-id>/plan.json` as soon as it
//! is made, a manifest and the organization report in `DIR`; shards of one run merged by
//! `org report DIR...`. One account failing (its role refused, its reads throttled past the
//! retries) is reported with the call and the permission, and never stops the others.

use super::{parse_now, parse_timeout, AwsArgs, Exit};
use anyhow::{Context, Result};
use iamwarden_aws::org::{self as aws_org, AssumeOptions};
use iamwarden_core::org::report::{
    FailedAccount, Manifest, ManifestEntry, OrgReport, PlannedAccount, ReadCost, SkippedAccount,
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
    /// Apply every planned account's plan in an `org plan` folder, several accounts at once
    /// (--accounts-in-flight), each as the role its plan was made with, with its own journal
    /// (`DIR/ID/plan.json.journal.jsonl`; a re-run resumes) held under that journal's lock. A
    /// failed or locked account never stops the others; DIR/apply-report.json says what each
    /// account's run did and which resumed an earlier one.
    Apply(Box<super::org_run::OrgApplyArgs>),
    /// Reverse what `org apply` applied: each account's journal replayed newest first, as that
    /// account's role, under the journal's lock; a failed account never stops the others
    /// (DIR/undo-report.json).
    Undo(Box<super::org_run::OrgUndoArgs>),
    /// Read every account and save its inventory to `DIR/ID/snapshot.json` (what
    /// `plan --snapshot` reads), with DIR/manifest.json.
    Snapshot(Box<OrgSnapshotArgs>),
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

/// How a run reaches the organization's management account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ManagementAccount {
    /// Assume the role in it, as in every member account.
    Assume,
    /// Read it with the caller's own credentials (the caller must be in it).
    Caller,
    /// Leave it out of the run.
    Skip,
}

/// Which accounts an organization read covers and how each is reached: `org plan` and
/// `org snapshot` share them.
#[derive(Debug, clap::Args)]
pub(crate) struct OrgAccountsArgs {
    /// The role to assume in every account: a name (`OrgAudit`, `path/OrgAudit`) or an ARN
    /// template (`arn:aws:iam::{account_id}:role/OrgAudit`). An accounts file's `role` wins.
    #[arg(long)]
    role_name: String,
    /// The organization's management account (DescribeOrganization): assumed into like any
    /// member (`assume`), read with the caller's own credentials (`caller`: run from the
    /// management account, which often has no member role), or left out (`skip`). Accounts
    /// listed from Organizations only; in an accounts file, give it its own `role` or leave
    /// it out.
    #[arg(long, value_enum, default_value = "assume")]
    management_account: ManagementAccount,
    /// The output folder (created if needed).
    #[arg(long)]
    out: PathBuf,
    /// An accounts file (YAML: id, name, role, external_id, tags, params, exempt); without it,
    /// the accounts come from AWS Organizations (`ListAccounts`, suspended accounts skipped).
    #[arg(long)]
    accounts: Option<PathBuf>,
    /// Only accounts matching one of these (repeatable): id:ID, name:GLOB, tag:KEY,
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
    #[arg(long, visible_alias = "accounts-in-flight", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..=256))]
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
}

#[derive(Debug, clap::Args)]
pub(crate) struct OrgPlanArgs {
    #[command(flatten)]
    accounts: OrgAccountsArgs,
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

#[derive(Debug, clap::Args)]
pub(crate) struct OrgSnapshotArgs {
    #[command(flatten)]
    accounts: OrgAccountsArgs,
    /// Also read IAM's service last-accessed data for every user and role of each account (two
    /// or more calls each), so that `plan --snapshot` of a saved account can plan
    /// `rightsize_policy`.
    #[arg(long)]
    service_access: bool,
}

/// Runs `iamwarden org ...`.
pub(crate) fn org(command: OrgCommand, out: &mut dyn Write) -> Result<Exit> {
    match command {
        OrgCommand::Plan(args) => plan(*args, out),
        OrgCommand::Apply(args) => super::org_run::apply(*args, out),
        OrgCommand::Undo(args) => super::org_run::undo(*args, out),
        OrgCommand::Snapshot(args) => snapshot(*args, out),
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

/// What one account's task hands back: small counts only (the plan or snapshot is on disk).
enum Outcome {
    /// The plan's counts, how the account was reached, the plan's content hash, what the read
    /// cost.
    Planned(PlannedAccount, Reach, String, ReadCost),
    /// `org snapshot`: the account's id and name, the snapshot's path in the folder, how the
    /// account was reached, what the read cost.
    Saved(String, String, String, Reach, ReadCost),
    Failed(FailedAccount, Reach),
}

/// How a run reached an account: through the role it assumed there, or (the management
/// account under `--management-account caller`) with the caller's own credentials.
#[derive(Debug, Clone)]
enum Reach {
    /// The role's ARN.
    Role(String),
    /// The caller's own credentials.
    Caller,
}

impl Reach {
    /// The manifest's `role_arn` and `as_caller`.
    fn into_manifest(self) -> (Option<String>, bool) {
        match self {
            Reach::Role(arn) => (Some(arn), false),
            Reach::Caller => (None, true),
        }
    }

    /// Whose credentials read the account, for messages.
    fn credentials(&self) -> String {
        match self {
            Reach::Role(arn) => format!("the credentials of {arn}"),
            Reach::Caller => "the caller's own credentials".to_string(),
        }
    }
}

/// The reader's figures for one account, as the manifest keeps them.
fn read_cost(stats: &iamwarden_aws::live::Stats) -> ReadCost {
    ReadCost {
        api_calls: stats.total(),
        read_ms: u64::try_from(stats.elapsed.as_millis()).unwrap_or(u64::MAX),
        calls: stats
            .calls
            .iter()
            .map(|(op, n)| ((*op).to_string(), *n))
            .collect(),
    }
}

/// The accounts of a run, chosen: the listing (file or Organizations), the filters, the shard.
struct Chosen {
    accounts: Vec<Account>,
    skipped: Vec<SkippedAccount>,
    source: String,
    shard: Shard,
    /// `--management-account caller`: the account read with the caller's own credentials.
    as_caller: Option<String>,
}

/// Writes the run's manifest, `DIR/manifest.json`: the accounts' `entries` with the `skipped`
/// (suspended) ones, in id order. Returns it for the run's summary.
fn write_manifest(
    a: &OrgAccountsArgs,
    chosen: &Chosen,
    mut entries: Vec<ManifestEntry>,
) -> Result<Manifest> {
    entries.extend(
        chosen
            .skipped
            .iter()
            .map(|s| entry(s.id.clone(), s.name.clone(), "suspended", None)),
    );
    entries.sort_by(|a, b| a.id.cmp(&b.id));
    let manifest = Manifest {
        format_version: ORG_FORMAT_VERSION,
        iamwarden_version: env!("CARGO_PKG_VERSION").to_string(),
        shard: chosen.shard,
        source: chosen.source.clone(),
        role_name: a.role_name.clone(),
        accounts: entries,
    };
    write_file(
        &a.out.join("manifest.json"),
        &(serde_json::to_string_pretty(&manifest)? + "\n"),
    )?;
    Ok(manifest)
}

/// One account's manifest entry with its `status` and how it was reached (`None`: it was not,
/// as a suspended account); the plan, snapshot, error and read cost are the caller's to add.
fn entry(id: String, name: String, status: &str, reach: Option<Reach>) -> ManifestEntry {
    let (role_arn, as_caller) = reach.map_or((None, false), Reach::into_manifest);
    ManifestEntry {
        id,
        name,
        status: status.to_string(),
        role_arn,
        as_caller,
        plan: None,
        plan_sha256: None,
        snapshot: None,
        error: None,
        reads: None,
    }
}

/// The runtime and the caller's configuration a run is made with.
fn connect(
    a: &OrgAccountsArgs,
    service_access: bool,
) -> Result<(
    tokio::runtime::Runtime,
    aws_config::SdkConfig,
    iamwarden_aws::live::LiveOptions,
)> {
    let aws = AwsArgs {
        profile: a.profile.clone(),
        region: a.region.clone(),
        endpoint_url: a.endpoint_url.clone(),
        concurrency: a.calls_per_account,
        stats: false,
        connect_timeout: a.connect_timeout,
        attempt_timeout: a.attempt_timeout,
        call_timeout: a.call_timeout,
        service_access,
        service_access_wait: std::time::Duration::from_secs(60),
    };
    let mut opts = aws.options();
    opts.progress = None;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let caller = rt.block_on(iamwarden_aws::live::sdk_config(&opts))?;
    Ok((rt, caller, opts))
}

fn read_accounts_file(a: &OrgAccountsArgs) -> Result<Option<Vec<Account>>> {
    match &a.accounts {
        Some(path) => {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the accounts file {shown}"))?;
            Ok(Some(iamwarden_core::org::parse_accounts(&shown, &text)?))
        }
        None => Ok(None),
    }
}

/// Lists, filters and shards the accounts of a run.
fn choose_accounts(
    a: &OrgAccountsArgs,
    file_accounts: Option<Vec<Account>>,
    rt: &tokio::runtime::Runtime,
    caller: &aws_config::SdkConfig,
) -> Result<Chosen> {
    let shard = match &a.shard {
        Some(s) => Shard::parse(s, &|v| std::env::var(v).ok()).map_err(anyhow::Error::msg)?,
        None => Shard::ALL,
    };
    // Tags are read from Organizations only when a filter asks for them (one call an account).
    let list_opts = aws_org::ListOptions {
        ous: a.ou.clone(),
        tags: a
            .include
            .iter()
            .chain(&a.exclude)
            .any(|f| matches!(f, Filter::Tag(..))),
    };
    if file_accounts.is_some() && !a.ou.is_empty() {
        anyhow::bail!("--ou lists accounts from Organizations; it cannot be used with --accounts");
    }
    if file_accounts.is_some() && a.management_account != ManagementAccount::Assume {
        anyhow::bail!(
            "--management-account applies to accounts listed from Organizations; with \
             --accounts, give the management account its own `role` in the file, or leave it \
             out of the file"
        );
    }
    let (mut all, skipped, source) = match file_accounts {
        Some(list) => (
            list,
            Vec::new(),
            a.accounts
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ),
        None => {
            let (active, skipped) = rt
                .block_on(aws_org::list_accounts(caller, &list_opts))
                .with_context(|| {
                    format!(
                        "listing the organization's accounts at {} (the caller needs \
                         organizations:ListAccounts, and with --ou ListChildren and \
                         ListAccountsForParent, with tag: filters ListTagsForResource; or pass \
                         --accounts FILE)",
                        iamwarden_aws::live::settings::endpoint(
                            caller,
                            iamwarden_aws::live::settings::Service::Organizations
                        )
                    )
                })?;
            (active, skipped, "organizations".to_string())
        }
    };
    let as_caller = match a.management_account {
        ManagementAccount::Assume => None,
        how => {
            let id = rt.block_on(aws_org::management_account(caller)).context(
                "finding the management account for --management-account (the caller needs \
                 organizations:DescribeOrganization)",
            )?;
            if how == ManagementAccount::Skip {
                super::output::notice!(
                    "Leaving out the management account {id} (--management-account skip)"
                );
                all.retain(|acc| acc.id != id);
                None
            } else {
                Some(id)
            }
        }
    };
    let selection = Selection {
        include: a.include.clone(),
        exclude: a.exclude.clone(),
    };
    let skipped: Vec<SkippedAccount> = skipped
        .into_iter()
        .filter(|s| shard.contains(&s.id) && selection.selects(&Account::new(&s.id, &s.name)))
        .collect();
    let accounts = choose(all, &selection, shard);
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("cannot create {}", a.out.display()))?;
    Ok(Chosen {
        accounts,
        skipped,
        source,
        shard,
        as_caller,
    })
}

fn run_context(
    a: &OrgAccountsArgs,
    caller: aws_config::SdkConfig,
    opts: iamwarden_aws::live::LiveOptions,
    planning: Option<Planning>,
    as_caller: Option<String>,
) -> RunContext {
    RunContext {
        caller,
        opts,
        planning,
        dir: a.out.clone(),
        role: a.role_name.clone(),
        partition: a.partition.clone(),
        external_id: a.external_id.clone(),
        assume: AssumeOptions {
            session_name: a.session_name.clone(),
            duration_seconds: a.duration_seconds,
        },
        concurrency: a.concurrency as usize,
        as_caller,
    }
}

fn plan(args: OrgPlanArgs, out: &mut dyn Write) -> Result<Exit> {
    let a = &args.accounts;
    let now = parse_now(args.now.as_deref())?;
    let packs = iamwarden_core::packs::load_packs(&args.rules)?;
    let rules = Arc::new(
        iamwarden_core::compile::compile(&packs).map_err(iamwarden_core::diag::Diagnostics)?,
    );
    let file_accounts = read_accounts_file(a)?;
    // An account's `params` and `exempt` make its own rule set, compiled (and checked) before
    // any account is planned: a wrong rule or parameter stops the run, never plans without it.
    let mut account_rules = std::collections::BTreeMap::new();
    for acc in file_accounts.iter().flatten() {
        let origin = format!(
            "{} (account {})",
            a.accounts
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            acc.id
        );
        if let Some(set) = iamwarden_core::org::account_rules(&packs, acc, &origin)? {
            account_rules.insert(acc.id.clone(), Arc::new(set));
        }
    }
    // As `plan` does: last-accessed data is read when a loaded rule plans on it.
    let (rt, caller, opts) = connect(a, rules.acts_on_service_access())?;
    let mut chosen = choose_accounts(a, file_accounts, &rt, &caller)?;
    super::output::notice!(
        "Planning {} account(s) (shard {}, {} in flight) into {}",
        chosen.accounts.len(),
        chosen.shard,
        a.concurrency,
        a.out.display()
    );
    let planning = Planning {
        rules: rules.clone(),
        account_rules,
        now,
    };
    let outcomes = rt.block_on(run_accounts(
        std::mem::take(&mut chosen.accounts),
        run_context(a, caller, opts, Some(planning), chosen.as_caller.clone()),
    ));

    let mut planned = Vec::new();
    let mut failed = Vec::new();
    let mut entries = Vec::new();
    for o in outcomes {
        match o {
            Outcome::Planned(p, reach, sha, cost) => {
                entries.push(ManifestEntry {
                    plan: Some(p.plan.clone()),
                    plan_sha256: Some(sha),
                    reads: Some(cost),
                    ..entry(p.id.clone(), p.name.clone(), "planned", Some(reach))
                });
                planned.push(p);
            }
            Outcome::Failed(f, reach) => {
                entries.push(failed_entry(&f, reach));
                failed.push(f);
            }
            Outcome::Saved(..) => {}
        }
    }
    write_manifest(a, &chosen, entries)?;
    let report = OrgReport::new(planned, failed, chosen.skipped);
    let mut json = Vec::new();
    render::json(&report, &mut json)?;
    write_file(&a.out.join("report.json"), &String::from_utf8(json)?)?;
    let mut md = Vec::new();
    render::markdown(&report, args.max_chars, &mut md)?;
    write_file(&a.out.join("report.md"), &String::from_utf8(md)?)?;
    if args.format == ReportFormat::Sarif {
        let dir = a.out.clone();
        write_sarif(&report, &rules, &|_| Some(dir.clone()), out)?;
    } else {
        write_report(&report, args.format, args.max_chars, out)?;
    }
    Ok(exit_of(&report, args.detailed_exitcode))
}

fn failed_entry(f: &FailedAccount, reach: Reach) -> ManifestEntry {
    entry(f.id.clone(), f.name.clone(), "failed", Some(reach))
}

/// `org snapshot`: one inventory snapshot per account and the manifest; exit 1 when an account
/// failed (after every other one is saved).
fn snapshot(args: OrgSnapshotArgs, out: &mut dyn Write) -> Result<Exit> {
    let a = &args.accounts;
    let file_accounts = read_accounts_file(a)?;
    let (rt, caller, opts) = connect(a, args.service_access)?;
    let mut chosen = choose_accounts(a, file_accounts, &rt, &caller)?;
    super::output::notice!(
        "Reading {} account(s) (shard {}, {} in flight) into {}",
        chosen.accounts.len(),
        chosen.shard,
        a.concurrency,
        a.out.display()
    );
    let outcomes = rt.block_on(run_accounts(
        std::mem::take(&mut chosen.accounts),
        run_context(a, caller, opts, None, chosen.as_caller.clone()),
    ));
    let mut entries = Vec::new();
    let (mut saved, mut failed) = (0usize, 0usize);
    for o in outcomes {
        match o {
            Outcome::Saved(id, name, path, reach, cost) => {
                saved += 1;
                entries.push(ManifestEntry {
                    snapshot: Some(path),
                    reads: Some(cost),
                    ..entry(id, name, "snapshot", Some(reach))
                });
            }
            Outcome::Failed(f, reach) => {
                failed += 1;
                let mut e = failed_entry(&f, reach);
                e.error = Some(match &f.code {
                    Some(code) => format!("{} failed ({code}): {}", f.call, f.message),
                    None => format!("{}: {}", f.call, f.message),
                });
                entries.push(e);
            }
            Outcome::Planned(..) => {}
        }
    }
    let manifest = write_manifest(a, &chosen, entries)?;
    writeln!(
        out,
        "Organization snapshot: {saved} account(s) saved, {failed} failed, {} suspended, in {}",
        chosen.skipped.len(),
        a.out.display()
    )?;
    for e in manifest.accounts.iter().filter(|e| e.error.is_some()) {
        writeln!(
            out,
            "  failed: {}: {}",
            e.id,
            e.error.as_deref().unwrap_or_default()
        )?;
    }
    Ok(if failed > 0 {
        Exit::Error
    } else {
        Exit::Success
    })
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// What `org plan` evaluates with (absent: `org snapshot`, which only saves the inventory).
struct Planning {
    rules: Arc<iamwarden_core::compile::RuleSet>,
    /// The rule sets of accounts with their own `params` or `exempt` (the accounts file's).
    account_rules: std::collections::BTreeMap<String, Arc<iamwarden_core::compile::RuleSet>>,
    now: chrono::DateTime<chrono::Utc>,
}

struct RunContext {
    caller: aws_config::SdkConfig,
    opts: iamwarden_aws::live::LiveOptions,
    planning: Option<Planning>,
    dir: PathBuf,
    role: String,
    partition: String,
    external_id: Option<String>,
    assume: AssumeOptions,
    concurrency: usize,
    /// `--management-account caller`: this account is read with `caller` itself.
    as_caller: Option<String>,
}

/// Plans (or saves) the accounts, at most `concurrency` in flight; results in id order.
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

fn local_failure(account: &Account, call: &str, message: String) -> FailedAccount {
    FailedAccount {
        id: account.id.clone(),
        name: account.name.clone(),
        call: call.into(),
        code: None,
        message,
        permission: None,
    }
}

async fn one_account(account: &Account, ctx: &RunContext) -> Outcome {
    let (reach, config) = if ctx.as_caller.as_deref() == Some(account.id.as_str()) {
        // The read below refuses credentials of any other account.
        (Reach::Caller, ctx.caller.clone())
    } else {
        let role_arn = account.role_arn(&ctx.role, &ctx.partition);
        match aws_org::assume(&ctx.caller, account, &role_arn, &ctx.assume).await {
            Ok(c) => (Reach::Role(role_arn), c),
            Err(e) => {
                eprintln!("  {} {}: {e}", account.id, account.name);
                let failed = e.failed(account, &role_arn);
                return Outcome::Failed(failed, Reach::Role(role_arn));
            }
        }
    };
    let client = aws_sdk_iam::Client::new(&config);
    let (inv, cost) = match iamwarden_aws::live::read(&client, &ctx.opts).await {
        Ok((inv, stats)) => (inv, read_cost(&stats)),
        Err(e) => {
            eprintln!("  {} {}: {e}", account.id, account.name);
            return Outcome::Failed(live_failure(account, &e), reach);
        }
    };
    if inv.account.id != account.id {
        let f = local_failure(
            account,
            "iam:read",
            format!(
                "{} read account {}, not {}",
                reach.credentials(),
                inv.account.id,
                account.id
            ),
        );
        return Outcome::Failed(f, reach);
    }
    let dir = ctx.dir.join(&account.id);
    let Some(planning) = &ctx.planning else {
        // `org snapshot`: the inventory as `snapshot --out` writes it, then dropped.
        let rel = format!("{}/snapshot.json", account.id);
        let path = ctx.dir.join(&rel);
        let written = tokio::task::spawn_blocking(move || -> Result<String> {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            super::files::write_json(&path, &inv, "the snapshot")?;
            Ok(format!(
                "{} users, {} access keys, {} roles, {} managed policies",
                inv.users.len(),
                inv.access_keys.len(),
                inv.roles.len(),
                inv.managed_policies.len()
            ))
        })
        .await;
        return match written {
            Ok(Ok(line)) => {
                super::output::notice!(
                    "  {} {}: {line} ({} calls in {:.1} s)",
                    account.id,
                    account.name,
                    cost.api_calls,
                    cost.read_ms as f64 / 1e3
                );
                Outcome::Saved(account.id.clone(), account.name.clone(), rel, reach, cost)
            }
            Ok(Err(e)) => {
                Outcome::Failed(local_failure(account, "snapshot", format!("{e:#}")), reach)
            }
            Err(e) => Outcome::Failed(
                local_failure(
                    account,
                    "snapshot",
                    format!("saving stopped abnormally: {e}"),
                ),
                reach,
            ),
        };
    };
    // Evaluation is CPU work: off the async workers, and the inventory and plan are dropped
    // as soon as the plan is on disk.
    let rules = planning
        .account_rules
        .get(&account.id)
        .unwrap_or(&planning.rules)
        .clone();
    let now = planning.now;
    let name = account.name.clone();
    let id = account.id.clone();
    let written =
        tokio::task::spawn_blocking(move || -> Result<(PlannedAccount, String), String> {
            // Sealed as it is written (one serialization, rendered on every core), through a
            // temporary file renamed into place: a failed write leaves no truncated plan. The
            // findings wait in a file beside it rather than in memory, as `plan --out` does.
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            let path = dir.join("plan.json");
            let spill = super::files::spill_beside(&path).map_err(|e| format!("{e:#}"))?;
            let (mut plan, findings) = iamwarden_core::pipeline::make_spilled_plan(
                &rules,
                &inv,
                now,
                chrono::Utc::now(),
                spill,
            )
            .map_err(|e| format!("cannot keep the plan's findings in a temporary file: {e}"))?;
            drop(inv);
            super::files::write_spilled_plan(&path, &mut plan, &findings)
                .map_err(|e| format!("{e:#}"))?;
            Ok((
                PlannedAccount::of_spilled(&plan, &findings, &name, &format!("{id}/plan.json")),
                plan.content_sha256.clone(),
            ))
        })
        .await;
    match written {
        Ok(Ok((p, sha))) => {
            super::output::notice!(
                "  {} {}: {} finding(s), {} action(s) ({} calls in {:.1} s)",
                p.id,
                p.name,
                p.findings,
                p.actions,
                cost.api_calls,
                cost.read_ms as f64 / 1e3
            );
            Outcome::Planned(p, reach, sha, cost)
        }
        Ok(Err(message)) => Outcome::Failed(local_failure(account, "plan", message), reach),
        Err(e) => Outcome::Failed(
            local_failure(account, "plan", format!("planning stopped abnormally: {e}")),
            reach,
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
