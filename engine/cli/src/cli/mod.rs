//! Command-line interface: clap definitions, one function per command, and the exit-code
//! contract (0 success / no changes, 1 error, 2 changes present with `--detailed-exitcode`,
//! 3 apply skipped stale actions, 4 a finding at or above `--fail-on`).

mod apply;
mod event;
mod files;
mod lambda;
mod org;
mod org_run;
pub(crate) mod output;
mod session;
mod sign;
mod sniff;
mod watch;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use iamwarden_aws::live::settings::Service;
use iamwarden_core::diag::Diagnostics;
use iamwarden_core::inventory::snapshot;
use iamwarden_core::render;
use output::notice;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// The exit-code contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success; with `--detailed-exitcode`, no changes.
    Success = 0,
    /// An error, a usage error included: a flag clap refuses, or a setting from the
    /// environment or a profile that `--endpoint-url`'s check would refuse on the command line
    /// (the same mistake exits the same way wherever it was made). Never 2, which
    /// `--detailed-exitcode` gives to changes.
    Error = 1,
    /// With `--detailed-exitcode`: the plan has changes.
    Changes = 2,
    /// `apply`: some actions were skipped as stale (their targets changed since the plan was
    /// made); nothing failed. Make a new plan.
    Stale = 3,
    /// `plan`/`event --fail-on SEVERITY`: a finding at or above that severity exists
    /// (report-only findings included). The plan was still written and shown.
    Findings = 4,
    /// `apply`/`undo` (and `event`/`watch --apply`): another run holds the journal's lock
    /// (`JOURNAL.lock` names it); nothing was read, called or written.
    Locked = 5,
}

/// `--fail-on`: a severity name (`info`, `low`, `medium`, `high`, `critical`).
/// The output formats of `plan` and `show` on the command line (the library's
/// [`render::Format`] knows nothing of clap; the doc comments are the help text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// A Terraform-like diff.
    Human,
    /// The plan file itself.
    Json,
    /// A pull-request comment.
    Markdown,
    /// SARIF 2.1.0 (GitHub code scanning): one result per finding.
    Sarif,
}

/// `--format` of the commands whose output is a report rather than a plan (`validate`,
/// `rules list`, `explain`): text for people, or JSON of a stable shape (schemas `validation`,
/// `rule-list`, `explanation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OutFormat {
    /// Text for people.
    Human,
    /// JSON (`iamwarden schema validation|rule-list|explanation` describes it).
    Json,
}

impl From<Format> for render::Format {
    fn from(f: Format) -> render::Format {
        match f {
            Format::Human => render::Format::Human,
            Format::Json => render::Format::Json,
            Format::Markdown => render::Format::Markdown,
            Format::Sarif => render::Format::Sarif,
        }
    }
}

fn parse_severity(s: &str) -> std::result::Result<iamwarden_core::spec::Severity, String> {
    use iamwarden_core::spec::Severity as S;
    [S::Info, S::Low, S::Medium, S::High, S::Critical]
        .into_iter()
        .find(|v| v.as_str() == s)
        .ok_or_else(|| format!("`{s}` is not a severity (info, low, medium, high, critical)"))
}

/// The exit status of a plan: `--fail-on` first (a gate), then `--detailed-exitcode`.
pub(crate) fn plan_exit(
    plan: &iamwarden_core::plan::Plan,
    fail_on: Option<iamwarden_core::spec::Severity>,
    detailed_exitcode: bool,
) -> Exit {
    exit_of(plan, fail_on, detailed_exitcode, |min| {
        plan.findings.iter().filter(|f| f.severity >= min).count()
    })
}

/// [`plan_exit`] with the findings at or above a severity counted by `at_or_above` (for a
/// plan whose findings are not in `plan.findings`).
fn exit_of(
    plan: &iamwarden_core::plan::Plan,
    fail_on: Option<iamwarden_core::spec::Severity>,
    detailed_exitcode: bool,
    at_or_above: impl Fn(iamwarden_core::spec::Severity) -> usize,
) -> Exit {
    let gated = fail_on.and_then(|min| {
        let n = at_or_above(min);
        (n > 0).then_some((min, n))
    });
    if let Some((min, n)) = gated {
        eprintln!(
            "{n} finding(s) at or above severity {} (--fail-on): exit {}",
            min.as_str(),
            Exit::Findings as u8
        );
        Exit::Findings
    } else if detailed_exitcode && plan.has_changes() {
        Exit::Changes
    } else {
        Exit::Success
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// What `iamwarden --version` prints after the name: the crate version and the git commit it
/// was built from (`unknown` when built without the repository, as from a crates.io tarball).
pub(crate) const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("IAMWARDEN_GIT_COMMIT"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "iamwarden",
    version = VERSION,
    about = "Keeps AWS IAM clean by policy-as-code: YAML rule packs, a plan, a diff, apply and undo.",
    after_help = "Rule packs: --rules takes files and directories and replaces the built-in packs; \
                  --rules builtin names them, so `--rules builtin --rules ./team-rules` uses both."
)]
struct Cli {
    /// Never colour the output (colour is only used on a terminal, and never with NO_COLOR set).
    #[arg(long, global = true)]
    no_color: bool,
    /// Print only errors, warnings and the requested output: no progress or notices on stderr.
    #[arg(long, short = 'q', global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check rule packs and report every problem (default: `packs/` or the current directory
    /// when they hold packs, as `test` does; else the built-in packs).
    Validate {
        /// Pack files or directories, or `builtin`.
        paths: Vec<String>,
        /// `human`, or `json` (schema `validation`: the packs, or every problem located).
        #[arg(long, value_enum, default_value = "human")]
        format: OutFormat,
        /// Fail (exit 1) on warnings too, such as a template that reads an optional field.
        #[arg(long)]
        strict: bool,
    },
    /// Evaluate rules against an inventory and show the plan.
    Plan(PlanArgs),
    /// Read a live account and save its inventory (what `plan --snapshot` reads).
    Snapshot {
        /// Where to write the inventory (JSON).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Run a saved plan's actions against the account (see `plan --out`).
    Apply(apply::ApplyArgs),
    /// Reverse what an apply journal says was applied, newest first.
    Undo(apply::UndoArgs),
    /// Turn CloudTrail IAM events into a plan (and apply it with --apply).
    Event(Box<event::EventArgs>),
    /// Long-poll an SQS queue of CloudTrail IAM events (EventBridge): plan each batch (and
    /// apply it with --apply --auto-approve); a message is deleted once its plan is on disk.
    Watch(Box<watch::WatchArgs>),
    /// The AWS Lambda handler (custom runtime, provided.al2023): each invocation (an
    /// EventBridge event, or an SQS batch) planned like a `watch` batch.
    Lambda(Box<lambda::LambdaArgs>),
    /// Every account of an organization: `org plan` (one plan per account, sharded across
    /// job runners) and `org report` (merge shard outputs).
    Org {
        #[command(subcommand)]
        command: org::OrgCommand,
    },
    /// Start a policy-as-code repository in DIR: a pack that includes the built-ins with
    /// overrides and a rule of its own, its tests, schemas, a CI workflow and a README.
    Init {
        /// The directory (created if needed).
        dir: PathBuf,
        /// Overwrite files that exist.
        #[arg(long)]
        force: bool,
        /// `github-org` also writes .github/workflows/iamwarden-org.yml: `org plan` over the
        /// organization in a matrix of --shards jobs, merged by `org report`.
        #[arg(long, value_parser = ["github", "github-org"], default_value = "github")]
        ci: String,
        /// The organization workflow's number of shards.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
        shards: u32,
    },
    /// Run rule tests: every `NAME.tests.yaml` (beside the pack `NAME.yaml`) under the paths.
    Test {
        /// Tests files or directories (default: `packs/` or the current directory when they
        /// hold packs, as `validate` does; else the current directory).
        paths: Vec<PathBuf>,
        /// `human` (a line per case and a count) or `junit` (XML for CI).
        #[arg(long, value_parser = ["human", "junit"], default_value = "human")]
        format: String,
    },
    /// Show why a rule does or does not match one resource: every condition leaf with its
    /// path, the value found and whether it held, and the exemption that applies.
    Explain {
        /// The rule id.
        #[arg(long)]
        rule: String,
        /// The resource: its id, name or ARN.
        #[arg(long)]
        resource: String,
        #[command(flatten)]
        input: Inputs,
        /// `human` (the condition tree), or `json` (schema `explanation`).
        #[arg(long, value_enum, default_value = "human")]
        format: OutFormat,
        /// The same as `--format json` (kept for scripts written before `--format`).
        #[arg(long, hide = true)]
        json: bool,
    },
    /// Render a saved plan again: human, markdown, sarif or json (apply refuses an edited plan;
    /// show warns).
    Show {
        /// The plan file (`plan --out`).
        plan: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
        /// Rule packs for SARIF's rule metadata (default: builtin).
        #[arg(long = "rules")]
        rules: Vec<String>,
        /// `--format markdown` stays within this many characters.
        #[arg(long, default_value_t = iamwarden_core::render::DEFAULT_MAX_CHARS)]
        max_chars: usize,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), generated from these definitions.
    Man,
    /// Make an Ed25519 key for signing plans without KMS: OUT (private, PKCS#8 PEM, mode
    /// 0600) and OUT.pub (public, for `apply --require-signature`).
    Keygen {
        /// The private key file to write.
        out: PathBuf,
        /// Overwrite files that exist.
        #[arg(long)]
        force: bool,
    },
    /// Print a JSON Schema: rule-pack, rule-tests, inventory, plan, plan-signature, or the JSON
    /// outputs of explain (explanation), validate (validation) and rules list (rule-list); or
    /// with --write DIR, write every schema into DIR as NAME.schema.json. Each has a `$id` at
    /// the release's versioned location.
    Schema {
        /// Which schema (not with --write).
        #[arg(
            value_parser = clap::builder::PossibleValuesParser::new(iamwarden_core::schema::NAMES),
            required_unless_present = "write",
            conflicts_with = "write"
        )]
        name: Option<String>,
        /// Write every schema into this directory (created if needed), one file per schema.
        #[arg(long, value_name = "DIR")]
        write: Option<PathBuf>,
    },
    /// Work with rules.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// List the loaded rules.
    List {
        /// Pack files or directories, or `builtin` (default).
        #[arg(long = "rules")]
        rules: Vec<String>,
        /// `human` (a table), or `json` (schema `rule-list`).
        #[arg(long, value_enum, default_value = "human")]
        format: OutFormat,
    },
}

/// How to reach a live account (the standard AWS credential chain applies).
#[derive(Debug, Clone, clap::Args)]
struct AwsArgs {
    /// A named profile from ~/.aws/config and ~/.aws/credentials (default: AWS_PROFILE, else
    /// `default`).
    #[arg(long)]
    profile: Option<String>,
    /// The region; it picks the partition's IAM and STS endpoints (default: AWS_REGION,
    /// AWS_DEFAULT_REGION, the profile's `region`, else us-east-1).
    #[arg(long)]
    region: Option<String>,
    /// One endpoint URL for every AWS call (a local server, a VPC endpoint); it wins over
    /// AWS_ENDPOINT_URL_IAM (and the other services'), AWS_ENDPOINT_URL and the profile.
    #[arg(long, value_parser = parse_endpoint_url)]
    endpoint_url: Option<String>,
    /// Per-user API calls in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Print on stderr where the time went: the packs loaded, the inventory read (API calls
    /// per operation, or the snapshot) and the evaluation.
    #[arg(long)]
    stats: bool,
    /// Time limit on connecting to an AWS endpoint (e.g. 3s, 500ms).
    #[arg(long, env = "IAMWARDEN_CONNECT_TIMEOUT", default_value = "3s", value_parser = parse_timeout)]
    connect_timeout: std::time::Duration,
    /// Time limit on one attempt of an AWS call, request sent to answer read.
    #[arg(long, env = "IAMWARDEN_ATTEMPT_TIMEOUT", default_value = "20s", value_parser = parse_timeout)]
    attempt_timeout: std::time::Duration,
    /// Time limit on a whole AWS call, its retries and their backoff included.
    #[arg(long, env = "IAMWARDEN_CALL_TIMEOUT", default_value = "50s", value_parser = parse_timeout)]
    call_timeout: std::time::Duration,
    /// Also read IAM's service last-accessed data for every user and role (two or more calls
    /// each; on by itself when a loaded rule plans `rightsize_policy`).
    #[arg(long)]
    service_access: bool,
    /// How long to wait for one entity's last-accessed job before recording a gap.
    #[arg(long, default_value = "60s", value_parser = parse_timeout)]
    service_access_wait: std::time::Duration,
}

/// An `--endpoint-url`: http:// or https://, a host, no query.
pub(crate) fn parse_endpoint_url(text: &str) -> Result<String, String> {
    iamwarden_aws::live::settings::check_endpoint_url(text)
}

/// A timeout flag: `500ms`, or a duration as rules write them (`3s`, `1m`).
fn parse_timeout(text: &str) -> Result<std::time::Duration, String> {
    let d = match text.trim().strip_suffix("ms") {
        Some(ms) => ms
            .parse::<u64>()
            .map(std::time::Duration::from_millis)
            .map_err(|_| format!("invalid timeout `{text}`: e.g. 500ms, 3s, 1m"))?,
        None => iamwarden_core::compile::duration::parse_duration(text)?
            .to_std()
            .map_err(|_| format!("invalid timeout `{text}`: it must be positive"))?,
    };
    if d.is_zero() {
        return Err(format!("invalid timeout `{text}`: it must be positive"));
    }
    Ok(d)
}

impl AwsArgs {
    fn options(&self) -> iamwarden_aws::live::LiveOptions {
        // A progress line on stderr, only when it is a terminal.
        let progress = (std::io::stderr().is_terminal() && !output::quiet()).then(|| {
            iamwarden_aws::live::Progress(std::sync::Arc::new(
                |step: &'static str, done: usize, total: usize| {
                    if total > 0 {
                        eprint!("\r\x1b[2Kreading the account: {step} {done}/{total}");
                    } else {
                        eprint!("\r\x1b[2Kreading the account: {step}");
                    }
                },
            ))
        });
        iamwarden_aws::live::LiveOptions {
            progress,
            profile: self.profile.clone(),
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
            concurrency: self.concurrency,
            timeouts: iamwarden_aws::live::Timeouts {
                connect: self.connect_timeout,
                attempt: self.attempt_timeout,
                call: self.call_timeout,
            },
            service_access: self.service_access.then_some(self.service_access_wait),
        }
    }
}

/// Reads a live account, printing `--stats` when asked.
fn read_live(
    aws: &AwsArgs,
    session: &session::Session,
) -> Result<iamwarden_core::inventory::Inventory> {
    let opts = aws.options();
    let session = session.get(aws)?;
    let endpoint = iamwarden_aws::live::settings::endpoint(&session.config, Service::Iam);
    let result = session.rt.block_on(async {
        let client = aws_sdk_iam::Client::new(&session.config);
        iamwarden_aws::live::read(&client, &opts).await
    });
    if std::io::stderr().is_terminal() {
        eprint!("\r\x1b[2K");
    }
    let (inv, stats) = result.with_context(|| format!("reading the account at {endpoint}"))?;
    if aws.stats {
        print_api_calls(&stats, "");
    }
    Ok(inv)
}

/// `--stats` of a live read: the calls, the wall time (and `detail`), then the calls per API.
pub(crate) fn print_api_calls(stats: &iamwarden_aws::live::Stats, detail: &str) {
    eprintln!(
        "API calls ({} in {:.2} s{detail}):",
        stats.total(),
        stats.elapsed.as_secs_f64()
    );
    for (op, n) in &stats.calls {
        eprintln!("  {op:<32} {n}");
    }
}

/// `--stats`: the evaluation's time and what it found.
pub(crate) fn print_eval_stats(plan: &iamwarden_core::plan::Plan, started: std::time::Instant) {
    eprintln!(
        "Evaluation and planning: {} finding(s), {} action(s), {} skipped in {:.3} s",
        plan.summary.findings,
        plan.actions.len(),
        plan.skipped.len(),
        started.elapsed().as_secs_f64()
    );
}

/// What every evaluating command reads: the packs, the account (a snapshot or live), the clock.
#[derive(Debug, clap::Args)]
struct Inputs {
    /// An inventory snapshot (JSON, as `iamwarden snapshot` writes it); without it, the live
    /// account is read.
    #[arg(long)]
    snapshot: Option<PathBuf>,
    #[command(flatten)]
    aws: AwsArgs,
    /// Rule pack files or directories, or `builtin` (repeatable; default: builtin).
    #[arg(long = "rules")]
    rules: Vec<String>,
    /// The evaluation clock (RFC 3339, or a date for midnight UTC); default: now. Recorded in
    /// the plan.
    #[arg(long)]
    now: Option<String>,
}

impl Inputs {
    /// The rules, the inventory and the clock (the rules first: a broken pack fails fast,
    /// before any AWS call).
    fn load(
        &self,
    ) -> Result<(
        iamwarden_core::compile::RuleSet,
        iamwarden_core::inventory::Inventory,
        DateTime<Utc>,
    )> {
        self.load_in(&session::Session::default())
    }

    /// [`Inputs::load`], a live account read through `session` (opened if it is not yet), so
    /// what the command does next (`event --apply`) shares its HTTP client and credentials.
    fn load_in(
        &self,
        session: &session::Session,
    ) -> Result<(
        iamwarden_core::compile::RuleSet,
        iamwarden_core::inventory::Inventory,
        DateTime<Utc>,
    )> {
        let now = parse_now(self.now.as_deref())?;
        let started = std::time::Instant::now();
        let rules = iamwarden_core::packs::load_rule_set(&self.rules)?;
        if self.aws.stats {
            eprintln!(
                "Rules: {} from {} pack(s) in {:.3} s",
                rules.rules.len(),
                rules.packs.len(),
                started.elapsed().as_secs_f64()
            );
        }
        let inv = match &self.snapshot {
            Some(path) => {
                let started = std::time::Instant::now();
                let inv = load_snapshot(path)?;
                if self.aws.stats {
                    eprintln!(
                        "API calls (0): the inventory is the snapshot {} ({} users, {} roles, {} managed policies), read in {:.3} s",
                        path.display(),
                        inv.users.len(),
                        inv.roles.len(),
                        inv.managed_policies.len(),
                        started.elapsed().as_secs_f64()
                    );
                }
                inv
            }
            None => {
                let mut aws = self.aws.clone();
                aws.service_access |= rules.acts_on_service_access();
                if !aws.service_access && rules.reads_service_access() {
                    notice!(
                        "note: rules that read service last-accessed data see none without \
                         --service-access (it costs two or more calls per user and role)"
                    );
                }
                read_live(&aws, session)?
            }
        };
        Ok((rules, inv, now))
    }
}

#[derive(Debug, clap::Args)]
struct PlanArgs {
    #[command(flatten)]
    input: Inputs,
    /// Write the plan (JSON) to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Sign the plan's content hash (writes OUT.sig beside the plan): a local Ed25519 private
    /// key file (`iamwarden keygen`), or an AWS KMS asymmetric signing key (key id, ARN or
    /// alias/NAME; `kms:GetPublicKey` and `kms:Sign`).
    #[arg(long, value_name = "KEY", requires = "out")]
    sign: Option<String>,
    /// Output format on stdout (sarif: SARIF 2.1.0 for GitHub code scanning).
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    detailed_exitcode: bool,
    /// Exit 4 when a finding at or above this severity exists (info, low, medium, high,
    /// critical), report-only findings included: a CI gate, as Prowler and checkov have.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    fail_on: Option<iamwarden_core::spec::Severity>,
    /// `--format markdown` stays within this many characters (a pull-request comment; GitHub
    /// refuses more than 65,536): counts first, then the most severe changes, then "N more".
    #[arg(long, default_value_t = iamwarden_core::render::DEFAULT_MAX_CHARS)]
    max_chars: usize,
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    // clap exits 2 on a usage error, which `plan --detailed-exitcode` means as "changes": a typo
    // in a CI gate (`--fail-on hgh`) would read as a plan with changes. A usage error is an
    // error (1), as a bad setting from the environment is; `--help` and `--version` succeed.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Error.into()
            } else {
                Exit::Success.into()
            };
        }
    };
    output::set(cli.quiet, cli.no_color);
    // Buffered: a JSON plan of 100k users is one write per megabyte, not one per line (the
    // standard stdout is line-buffered). Progress and prompts go to stderr, unbuffered.
    let mut stdout = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let result = run(cli, &mut stdout).and_then(|code| {
        stdout.flush()?;
        Ok(code)
    });
    match result {
        Ok(code) => code.into(),
        // The reader went away (`iamwarden plan | head`): not an error of ours, say nothing.
        Err(e) if is_broken_pipe(&e) => Exit::Success.into(),
        Err(e) => {
            let _ = stdout.flush();
            if let Some(d) = e.downcast_ref::<Diagnostics>() {
                eprintln!("{d}");
            } else {
                eprintln!("error: {e:#}");
            }
            let locked = e.chain().any(|c| {
                matches!(
                    c.downcast_ref::<iamwarden_core::apply::lock::LockError>(),
                    Some(iamwarden_core::apply::lock::LockError::Held { .. })
                )
            });
            if locked {
                Exit::Locked.into()
            } else {
                Exit::Error.into()
            }
        }
    }
}

/// Whether `e` is a write to a closed pipe.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli, out: &mut dyn Write) -> Result<Exit> {
    match cli.command {
        Command::Validate {
            paths,
            format,
            strict,
        } => validate(&paths, format, strict, out),
        Command::Plan(args) => plan(args, out),
        Command::Apply(args) => apply::apply(args, out),
        Command::Undo(args) => apply::undo(args, out),
        Command::Event(args) => event::event(*args, out),
        Command::Watch(args) => watch::watch(*args, out),
        Command::Lambda(args) => lambda::lambda(*args, out),
        Command::Org { command } => org::org(command, out),
        Command::Snapshot { out: file, aws } => {
            let inv = read_live(&aws, &session::Session::default())?;
            files::write_json(&file, &inv, "the snapshot")?;
            writeln!(
                out,
                "Saved the inventory of account {} ({} users, {} access keys, {} roles, {} managed policies) to {}",
                inv.account.id,
                inv.users.len(),
                inv.access_keys.len(),
                inv.roles.len(),
                inv.managed_policies.len(),
                file.display()
            )?;
            Ok(Exit::Success)
        }
        Command::Test { paths, format } => run_tests(&paths, &format, out),
        Command::Keygen { out: file, force } => {
            sign::keygen(&file, force, out)?;
            Ok(Exit::Success)
        }
        Command::Init {
            dir,
            force,
            ci,
            shards,
        } => {
            let mut files = iamwarden_core::scaffold::files();
            if ci == "github-org" {
                files.push((
                    iamwarden_core::scaffold::ORG_WORKFLOW_PATH.into(),
                    iamwarden_core::scaffold::org_workflow(shards),
                ));
            }
            let schema_dir = iamwarden_core::scaffold::SCHEMA_DIR;
            let existing: Vec<String> = files
                .iter()
                .map(|(p, _)| p.clone())
                .chain(
                    iamwarden_core::schema::files()
                        .into_iter()
                        .map(|(name, _)| format!("{schema_dir}/{name}")),
                )
                .filter(|p| dir.join(p).exists())
                .collect();
            if !existing.is_empty() && !force {
                anyhow::bail!(
                    "{} already has {}; nothing was written (--force overwrites)",
                    dir.display(),
                    existing.join(", ")
                );
            }
            for (p, text) in &files {
                let path = dir.join(p);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("cannot create {}", parent.display()))?;
                }
                std::fs::write(&path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                writeln!(out, "created {}", path.display())?;
            }
            for path in files::write_schemas(&dir.join(schema_dir))? {
                writeln!(out, "created {}", path.display())?;
            }
            writeln!(
                out,
                "Next: cd {} && iamwarden validate packs && iamwarden test packs",
                dir.display()
            )?;
            Ok(Exit::Success)
        }
        Command::Explain {
            rule,
            resource,
            input,
            format,
            json,
        } => {
            let (set, inv, now) = input.load()?;
            let Some(r) = set.rules.iter().find(|r| r.id == rule) else {
                let ids: Vec<&str> = set.rules.iter().map(|r| r.id.as_str()).collect();
                let hint = iamwarden_core::diag::did_you_mean(&rule, ids.iter().copied())
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default();
                match local_packs().filter(|_| input.rules.is_empty()) {
                    None => anyhow::bail!("no rule `{rule}` in the loaded packs{hint}"),
                    Some(dir) => anyhow::bail!(
                        "no rule `{rule}` in the built-in packs{hint}: without --rules only the \
                         built-ins are loaded, and `{dir}` has rule packs; try `--rules {dir}`"
                    ),
                }
            };
            let Some(index) = iamwarden_core::eval::find_record(&inv, r.kind, &resource) else {
                anyhow::bail!(
                    "no {} with id, name or ARN `{resource}` (rule {rule} selects {})",
                    r.kind.collection(),
                    r.kind.collection()
                );
            };
            let mut e = iamwarden_core::eval::explain_record(r, &inv, index, now)
                .context("the resource disappeared")?;
            e.in_use = iamwarden_core::plan::in_use::verdict(r, &inv, index, now);
            if json || format == OutFormat::Json {
                serde_json::to_writer_pretty(&mut *out, &e)?;
                writeln!(out)?;
            } else {
                out.write_all(iamwarden_core::eval::explain::render(&e, &resource).as_bytes())?;
            }
            Ok(Exit::Success)
        }
        Command::Show {
            plan,
            format,
            rules,
            max_chars,
        } => show(&plan, format, &rules, max_chars, out),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            // Into a buffer: clap_complete panics when its writer fails (a closed pipe).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "iamwarden", &mut script);
            out.write_all(&script)?;
            Ok(Exit::Success)
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(cmd).render(out)?;
            Ok(Exit::Success)
        }
        Command::Schema { name, write } => match (name, write) {
            (_, Some(dir)) => {
                for path in files::write_schemas(&dir)? {
                    notice!("wrote {}", path.display());
                }
                Ok(Exit::Success)
            }
            (Some(name), None) => {
                let text = iamwarden_core::schema::text(&name).context("unknown schema")?;
                out.write_all(text.as_bytes())?;
                Ok(Exit::Success)
            }
            (None, None) => anyhow::bail!("give a schema name, or --write DIR"),
        },
        Command::Rules {
            command: RulesCommand::List { rules, format },
        } => list_rules(&rules, format, out),
    }
}

fn run_tests(paths: &[PathBuf], format: &str, out: &mut dyn Write) -> Result<Exit> {
    use iamwarden_core::ruletest;
    let paths = if paths.is_empty() {
        let dir = default_pack_dir().unwrap_or(".");
        notice!("running the tests under {dir} (give paths to choose)");
        vec![PathBuf::from(dir)]
    } else {
        paths.to_vec()
    };
    let files = ruletest::discover(&paths);
    if files.is_empty() {
        anyhow::bail!(
            "no rule tests (*.tests.yaml) under {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let junit = format == "junit";
    let mut results = Vec::new();
    // With JUnit, a tests file that cannot run is reported in the XML (CI shows it) instead of
    // leaving an empty file; in human form it stops the run with its located error.
    let mut errors: Vec<(String, String)> = Vec::new();
    for f in &files {
        let shown = f.display().to_string();
        let loaded = (|| -> Result<Vec<ruletest::CaseResult>> {
            let Some(pack_path) = ruletest::pack_of(f) else {
                anyhow::bail!(
                    "{shown}: no pack beside it (a tests file NAME.tests.yaml tests NAME.yaml)"
                );
            };
            let packs = iamwarden_core::packs::load_packs(&[pack_path.display().to_string()])?;
            let text =
                std::fs::read_to_string(f).with_context(|| format!("cannot read {shown}"))?;
            Ok(ruletest::run_file(&shown, &text, &packs).map_err(Diagnostics)?)
        })();
        match loaded {
            Ok(r) => results.extend(r),
            Err(e) if junit => errors.push((shown, format!("{e:#}"))),
            Err(e) => return Err(e),
        }
    }
    let failed = results.iter().filter(|r| !r.passed()).count() + errors.len();
    if junit {
        out.write_all(ruletest::junit(&results, &errors).as_bytes())?;
    } else {
        for r in &results {
            if r.passed() {
                writeln!(out, "ok    {}: {}", r.file, r.name)?;
            } else {
                writeln!(out, "FAIL  {}: {}", r.file, r.name)?;
                for f in &r.failures {
                    for line in f.lines() {
                        writeln!(out, "      {line}")?;
                    }
                }
            }
        }
        writeln!(out, "{} passed, {failed} failed", results.len() - failed)?;
    }
    Ok(if failed > 0 {
        Exit::Error
    } else {
        Exit::Success
    })
}

/// The directory `validate` and `test` read without paths: `packs/` (what `init` writes) or
/// the current directory, whichever holds rule packs.
fn default_pack_dir() -> Option<&'static str> {
    local_packs()
}

fn validate(
    paths: &[String],
    format: OutFormat,
    strict: bool,
    out: &mut dyn Write,
) -> Result<Exit> {
    let paths = match (paths.is_empty(), default_pack_dir()) {
        (true, Some(dir)) => {
            notice!("validating the packs in {dir} (give paths, or `builtin`, to choose)");
            vec![dir.to_string()]
        }
        _ => paths.to_vec(),
    };
    let loaded = iamwarden_core::packs::load_rule_set(&paths);
    if format == OutFormat::Json {
        let (report, exit) = match &loaded {
            Ok(set) if strict && !set.warnings.is_empty() => {
                let mut report = render::listing::validation(set);
                report.valid = false;
                (report, Exit::Error)
            }
            Ok(set) => (render::listing::validation(set), Exit::Success),
            Err(d) => (render::listing::invalid(d), Exit::Error),
        };
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)?;
        return Ok(exit);
    }
    let set = loaded?;
    for w in &set.warnings {
        eprintln!("{w}");
    }
    for (i, p) in set.packs.iter().enumerate() {
        let n = set.rules.iter().filter(|r| r.pack == i).count();
        writeln!(
            out,
            "ok  {}@{}  {} rules  ({})",
            p.name, p.version, n, p.source
        )?;
    }
    let warned = match set.warnings.len() {
        0 => String::new(),
        1 => ", 1 warning".to_string(),
        n => format!(", {n} warnings"),
    };
    if strict && !set.warnings.is_empty() {
        writeln!(
            out,
            "{} packs, {} rules{warned}: not valid with --strict",
            set.packs.len(),
            set.rules.len()
        )?;
        return Ok(Exit::Error);
    }
    writeln!(
        out,
        "{} packs, {} rules{warned}: valid",
        set.packs.len(),
        set.rules.len()
    )?;
    Ok(Exit::Success)
}

fn list_rules(sources: &[String], format: OutFormat, out: &mut dyn Write) -> Result<Exit> {
    let set = iamwarden_core::packs::load_rule_set(sources)?;
    if format == OutFormat::Json {
        serde_json::to_writer_pretty(&mut *out, &render::listing::rule_list(&set))?;
        writeln!(out)?;
        return Ok(Exit::Success);
    }
    writeln!(
        out,
        "{:<32} {:<9} {:<17} {:<22} REMEDIATION",
        "ID", "SEVERITY", "SELECTS", "PACK"
    )?;
    for r in &set.rules {
        let pack = set
            .packs
            .get(r.pack)
            .map(|p| p.name.as_str())
            .unwrap_or_default();
        let steps: Vec<&str> = r.steps.iter().map(|s| s.name.as_str()).collect();
        let steps = if steps.is_empty() {
            "(report only)".to_string()
        } else {
            steps.join(", ")
        };
        writeln!(
            out,
            "{:<32} {:<9} {:<17} {:<22} {}",
            r.id,
            r.severity.as_str(),
            r.kind.collection(),
            pack,
            steps
        )?;
    }
    Ok(Exit::Success)
}

/// `iamwarden show PLAN`: a saved plan rendered again (a plan of another format version or one
/// edited since it was sealed is still shown, with a warning: apply is what refuses them).
fn show(
    path: &std::path::Path,
    format: Format,
    rules: &[String],
    max_chars: usize,
    out: &mut dyn Write,
) -> Result<Exit> {
    if let Some(hint) = sniff::mismatch(path, sniff::FileKind::Plan) {
        anyhow::bail!("{hint}");
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the plan {}", path.display()))?;
    let mut plan: iamwarden_core::plan::Plan = serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: not a plan this iamwarden can read (plan format {})",
            path.display(),
            iamwarden_core::plan::PLAN_FORMAT_VERSION
        )
    })?;
    if plan.format_version != iamwarden_core::plan::PLAN_FORMAT_VERSION {
        eprintln!(
            "warning: {} is plan format {}; this iamwarden writes and applies format {}",
            path.display(),
            plan.format_version,
            iamwarden_core::plan::PLAN_FORMAT_VERSION
        );
    }
    if !plan.hash_matches() {
        eprintln!(
            "warning: {} was edited after it was made (its content hash does not match); apply will refuse it",
            path.display()
        );
    }
    let set = iamwarden_core::packs::load_rule_set(rules)?;
    render_plan(&plan, &set, format, use_color(format), max_chars, out)?;
    Ok(Exit::Success)
}

/// Where rule packs sit near the current directory (its `packs/` folder, the layout `init`
/// writes, or the directory itself): YAML files with a top-level `pack:` key.
fn local_packs() -> Option<&'static str> {
    let has_pack = |dir: &str| {
        std::fs::read_dir(dir).is_ok_and(|entries| {
            entries.filter_map(Result::ok).any(|e| {
                let p = e.path();
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                (name.ends_with(".yaml") || name.ends_with(".yml"))
                    && !name.contains(".tests.")
                    && std::fs::read_to_string(&p)
                        .is_ok_and(|t| t.lines().any(|l| l.starts_with("pack:")))
            })
        })
    };
    ["packs", "."].into_iter().find(|d| has_pack(d))
}

/// Reads a snapshot; a file of another kind (a plan, events, `[]`) is named as such.
pub(crate) fn load_snapshot(
    path: &std::path::Path,
) -> Result<iamwarden_core::inventory::Inventory> {
    snapshot::load(path).map_err(|e| match sniff::mismatch(path, sniff::FileKind::Snapshot) {
        Some(hint) => anyhow::anyhow!("{hint}"),
        None => e.into(),
    })
}

/// `--now`: an RFC 3339 timestamp, or a date (`2026-11-01`), which is midnight UTC.
fn parse_now(now: Option<&str>) -> Result<DateTime<Utc>> {
    match now {
        None => Ok(Utc::now()),
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map(|d| d.with_timezone(&Utc))
            .or_else(|e| {
                chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|d| d.and_utc())
                    .ok_or(e)
            })
            .with_context(|| {
                format!(
                    "--now `{t}` is neither an RFC 3339 timestamp (2026-11-01T00:00:00Z) nor a date (2026-11-01)"
                )
            }),
    }
}

/// Colour only for the human format on a terminal, never with `--no-color` or `NO_COLOR` set.
pub(crate) fn use_color(format: Format) -> bool {
    !output::no_color() && format == Format::Human && std::io::stdout().is_terminal()
}

/// Renders a plan; SARIF also needs the rules (their metadata and where they are written).
pub(crate) fn render_plan(
    plan: &iamwarden_core::plan::Plan,
    rules: &iamwarden_core::compile::RuleSet,
    format: Format,
    color: bool,
    max_chars: usize,
    out: &mut dyn Write,
) -> Result<()> {
    if format == Format::Markdown {
        if max_chars < render::MIN_MAX_CHARS {
            anyhow::bail!(
                "--max-chars {max_chars} is too small: the summary needs at least {}",
                render::MIN_MAX_CHARS
            );
        }
        render::render_markdown_bounded(plan, max_chars, out)?;
        return Ok(());
    }
    if format != Format::Sarif {
        render::render(plan, format.into(), color, out)?;
        return Ok(());
    }
    let locator = RuleLocator::new(rules);
    render::sarif::render_sarif(plan, rules, &|s, r| locator.locate(s, r), out)?;
    Ok(())
}

/// Where rules are written, for SARIF, read once per run: (file URI relative to the
/// repository, line). A rule of the user's own pack: its definition. A built-in rule (its pack
/// is inside the binary): its `overrides` entry in the user's pack that includes the built-ins,
/// else that pack's `include:` line, so code scanning, which shows only results with a file,
/// shows it; `None` when no pack of the user's brings the built-ins in.
pub(crate) struct RuleLocator {
    texts: std::collections::HashMap<String, String>,
    /// The user's pack that includes the built-ins, and the line of its `include:`.
    builtin_home: Option<(String, u32)>,
}

impl RuleLocator {
    pub(crate) fn new(rules: &iamwarden_core::compile::RuleSet) -> RuleLocator {
        let mut texts = std::collections::HashMap::new();
        let mut builtin_home = None;
        for p in rules
            .packs
            .iter()
            .filter(|p| !p.source.starts_with("builtin:"))
        {
            let text = std::fs::read_to_string(&p.source).unwrap_or_default();
            if builtin_home.is_none() {
                builtin_home =
                    render::sarif::builtin_include_line(&text).map(|line| (p.source.clone(), line));
            }
            texts.insert(p.source.clone(), text);
        }
        RuleLocator {
            texts,
            builtin_home,
        }
    }

    pub(crate) fn locate(&self, source: &str, rule: &str) -> Option<(String, u32)> {
        let uri = |s: &str| s.trim_start_matches("./").to_string();
        if source.starts_with("builtin:") {
            let (home, include) = self.builtin_home.as_ref()?;
            let text = self.texts.get(home).map(String::as_str).unwrap_or_default();
            let line = render::sarif::override_line(text, rule).unwrap_or(*include);
            return Some((uri(home), line));
        }
        let text = self
            .texts
            .get(source)
            .map(String::as_str)
            .unwrap_or_default();
        Some((uri(source), render::sarif::rule_line(text, rule)))
    }
}

fn plan(args: PlanArgs, out: &mut dyn Write) -> Result<Exit> {
    let (rules, inv, now) = args.input.load()?;
    let started = std::time::Instant::now();
    // With `--format json --out`, nothing but the file reads the findings: they are written to
    // an unnamed file beside it as they are found, instead of held (at 100k users, 180 MB).
    let spill = match (&args.out, args.format) {
        (Some(file), Format::Json) => Some(files::spill_beside(file)?),
        _ => None,
    };
    // Sealed below, as it is written: hashing it apart would serialize it a second time.
    let (mut plan, spilled) = match spill {
        Some(spill) => {
            let (plan, findings) =
                iamwarden_core::pipeline::make_spilled_plan(&rules, &inv, now, Utc::now(), spill)
                    .context("cannot keep the plan's findings in a temporary file")?;
            (plan, Some(findings))
        }
        None => (
            iamwarden_core::pipeline::make_unsealed_plan(&rules, &inv, now, Utc::now()),
            None,
        ),
    };
    if args.input.aws.stats {
        print_eval_stats(&plan, started);
    }
    // Nothing below reads the inventory: it is freed on a thread of its own while the plan is
    // written (at 100k users, hundreds of thousands of allocations), and the memory it gave
    // back serves the writing instead of fresh pages.
    // Should the system refuse the thread, the inventory is freed here, as it was before.
    let release = std::thread::Builder::new()
        .name("release-inventory".into())
        .spawn(move || drop(inv))
        .ok();
    if let Some(file) = &args.out {
        match &spilled {
            Some(findings) => files::write_spilled_plan(file, &mut plan, findings)?,
            None => files::write_plan(file, &mut plan)?,
        }
    } else if args.format == Format::Json {
        plan.seal();
    }
    // The human, markdown and SARIF diffs show no content hash: without --out, a plan shown
    // only that way is never hashed.
    match (&args.out, args.format) {
        // The JSON on stdout is the file just written, byte for byte: copied from it rather
        // than serialized a second time (a plan of 100k users is hundreds of MB).
        (Some(file), Format::Json) => {
            let mut saved = std::fs::File::open(file)
                .with_context(|| format!("cannot read the plan back from {}", file.display()))?;
            std::io::copy(&mut saved, out)?;
        }
        _ => {
            let color = use_color(args.format);
            render_plan(&plan, &rules, args.format, color, args.max_chars, out)?;
        }
    }
    if let Some(file) = &args.out {
        notice!("Saved the plan to {}", file.display());
        if let Some(key) = &args.sign {
            let sig = sign::sign_plan(file, &plan.content_sha256, key, &args.input.aws)
                .with_context(|| format!("cannot sign the plan {}", file.display()))?;
            notice!("Signed it with {key}: {}", sig.display());
        }
    }
    let exit = match &spilled {
        Some(findings) => exit_of(&plan, args.fail_on, args.detailed_exitcode, |min| {
            findings.at_or_above(min)
        }),
        None => plan_exit(&plan, args.fail_on, args.detailed_exitcode),
    };
    if let Some(release) = release {
        let _ = release.join();
    }
    // The process ends next: the plan's findings are left to the exit rather than freed one
    // by one (a tenth of a second at 100k users, after everything is written).
    std::mem::forget(plan);
    Ok(exit)
}
