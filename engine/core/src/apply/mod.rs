//! Apply: run a saved plan against the account, action by action, safely.
//!
//! Before any call: [`precheck`] refuses a plan of another format, a plan whose content no
//! longer matches its hash, an old plan, one over a cap, and destructive actions without
//! `allow_destructive`; [`check_account`] refuses another account. [`guard`] refuses, per
//! action, anything that would lock out the identity running apply, and anything on an
//! AWS-managed policy.
//!
//! Then each action is re-checked against the account ([`steps::check`]): a target that
//! changed since the plan was made is skipped as *stale*, one already in the wanted state is
//! *already applied*, and only the rest run. Every mutating call is journaled before and after
//! ([`journal`]), and every applied action records how to reverse it ([`UndoOp`]), which
//! [`undo`] replays. Actions on one subject (a user with its keys, a policy) run in plan
//! order; different subjects run concurrently.
//!
//! Every mutating call has a typed outcome ([`crate::iam::CallOutcome`]: done, refused by IAM, not
//! sent, or unknown = sent without an answer). An unknown outcome is resolved by re-reading
//! the target ([`resolve`]): the planned state -> applied, with the undo built from the
//! `begin` record's before-state; the state before -> sent once more; anything else, or a
//! failed re-read -> the action stays open in the journal (no `done` record) and the next run
//! resolves it.

pub mod dispatch;
pub mod journal;
pub mod lock;
pub mod select;
pub mod undo;

pub use crate::iam::StepError;
pub use crate::steps::{Check, UndoOp};
pub use dispatch::Executor;

use crate::iam::Iam;
use crate::steps::live as steps;

use crate::inventory::{OwnerKind, ResourceKind};
use crate::plan::{Action, Plan, Safety, PLAN_FORMAT_VERSION};
use crate::spec::StepName;
use chrono::{DateTime, Duration, Utc};
use futures_util::StreamExt;
use journal::{History, Mode, Record};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// The report model lives with the plan, where render reads it too.
pub use crate::plan::outcome::{ActionReport, Outcome, Report, Summary};

/// Who is running apply, from `sts:GetCallerIdentity` and the credentials in use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// The caller's ARN.
    pub arn: String,
    /// The account.
    pub account_id: String,
    /// The access key id signing the requests.
    pub access_key_id: Option<String>,
}

impl Caller {
    /// The IAM user name, when the caller is an IAM user.
    pub fn user(&self) -> Option<&str> {
        let res = self.arn.split(':').nth(5)?;
        let rest = res.strip_prefix("user/")?;
        rest.rsplit('/').next()
    }

    /// The role name, when the caller is an assumed role.
    pub fn role(&self) -> Option<&str> {
        let res = self.arn.split(':').nth(5)?;
        let rest = res.strip_prefix("assumed-role/")?;
        rest.split('/').next()
    }
}

/// Apply's switches.
#[derive(Debug, Clone)]
pub struct Options {
    /// Run destructive actions.
    pub allow_destructive: bool,
    /// Refuse plans with more actions than this.
    pub max_actions: Option<usize>,
    /// Refuse plans older than this.
    pub max_plan_age: Duration,
    /// Subjects worked on at once.
    pub concurrency: usize,
    /// The plan file as given (recorded in the journal).
    pub plan_file: String,
}

/// Why a whole plan was refused before any call.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// Not a plan, or one of another format.
    #[error("{0}")]
    Format(String),
    /// The content hash does not match.
    #[error(
        "the plan's content does not match its content hash (recorded {recorded}, computed \
         {computed}): it was edited after it was made. Make a new plan and review it"
    )]
    Tampered {
        /// In the file.
        recorded: String,
        /// Of the content.
        computed: String,
    },
    /// Older than allowed.
    #[error(
        "the plan was made {age} ago ({created}), more than --max-plan-age {limit}: the account \
         has likely changed since. Make a new plan (or raise --max-plan-age)"
    )]
    TooOld {
        /// How old.
        age: String,
        /// When it was made.
        created: DateTime<Utc>,
        /// The limit.
        limit: String,
    },
    /// Made in the future (a clock problem or an edited file).
    #[error("the plan says it was made at {0}, which is in the future; refusing")]
    FromTheFuture(DateTime<Utc>),
    /// Over `--max-actions` or a rule's cap.
    #[error("{0}")]
    Cap(String),
    /// Destructive actions without `--allow-destructive`.
    #[error(
        "the plan has {count} destructive action(s) that cannot be undone:\n{list}\n\
         Pass --allow-destructive to run them, or make a plan without them"
    )]
    Destructive {
        /// How many.
        count: usize,
        /// One line each.
        list: String,
    },
    /// Another account.
    #[error(
        "the plan was made for account {plan}, but the credentials belong to account {caller} \
         ({arn}); refusing to apply it there"
    )]
    OtherAccount {
        /// The plan's.
        plan: String,
        /// The caller's.
        caller: String,
        /// The caller's ARN.
        arn: String,
    },
}

/// Reads a plan file's text: format version first (so an old plan gets a clear message, not
/// a field error), then the typed plan, then its content hash.
pub fn load_plan(text: &str) -> Result<Plan, Refusal> {
    let raw: Value = serde_json::from_str(text)
        .map_err(|e| Refusal::Format(format!("not a JSON plan file: {e}")))?;
    let version = raw.get("format_version").and_then(Value::as_u64);
    match version {
        Some(v) if v == u64::from(PLAN_FORMAT_VERSION) => {}
        Some(v) => {
            return Err(Refusal::Format(format!(
                "plan format {v} is not the format this iamwarden applies ({PLAN_FORMAT_VERSION}); \
                 make the plan again with this version"
            )))
        }
        None => {
            return Err(Refusal::Format(
                "not a plan file: no `format_version` (write one with `iamwarden plan --out FILE`)"
                    .into(),
            ))
        }
    }
    let mut plan: Plan = serde_json::from_value(raw)
        .map_err(|e| Refusal::Format(format!("not a valid plan: {e}")))?;
    let computed = plan.compute_content_hash();
    if computed != plan.content_sha256 {
        return Err(Refusal::Tampered {
            recorded: plan.content_sha256.clone(),
            computed,
        });
    }
    Ok(plan)
}

fn human_duration(d: Duration) -> String {
    let s = d.num_seconds();
    if s >= 86_400 {
        format!("{}d{}h", s / 86_400, (s % 86_400) / 3600)
    } else if s >= 3600 {
        format!("{}h{}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}m{}s", s / 60, s % 60)
    }
}

/// One line naming an action for people: `delete_access_key AKIA... (user alice)`.
pub fn describe(a: &Action) -> String {
    let names = a.names();
    let user = names.user.as_deref().filter(|u| *u != a.resource.name);
    match user {
        Some(u) => format!("{} {} (user {u})", a.step(), a.resource.name),
        None => format!("{} {}", a.step(), a.resource.name),
    }
}

/// The checks that need no AWS call: age, caps, destructive actions. (Format and hash are
/// checked by [`load_plan`].)
pub fn precheck(plan: &Plan, opts: &Options, now: DateTime<Utc>) -> Result<(), Refusal> {
    let age = now - plan.created_at;
    if age < -Duration::minutes(5) {
        return Err(Refusal::FromTheFuture(plan.created_at));
    }
    if age > opts.max_plan_age {
        return Err(Refusal::TooOld {
            age: human_duration(age),
            created: plan.created_at,
            limit: human_duration(opts.max_plan_age),
        });
    }
    if let Some(max) = opts.max_actions {
        if plan.actions.len() > max {
            return Err(Refusal::Cap(format!(
                "the plan has {} actions, more than --max-actions {max}; refusing the whole plan",
                plan.actions.len()
            )));
        }
    }
    let over = plan.caps_exceeded();
    if !over.is_empty() {
        let list: Vec<String> = over
            .iter()
            .map(|(r, n, c)| format!("rule {r} planned {n} actions, its max_actions is {c}"))
            .collect();
        return Err(Refusal::Cap(format!(
            "{}; refusing the whole plan (a rule this far over its cap is more likely wrong than right)",
            list.join("; ")
        )));
    }
    if !opts.allow_destructive {
        let d: Vec<String> = plan
            .actions
            .iter()
            .filter(|a| a.safety == Safety::Destructive)
            .map(|a| format!("  - {}", describe(a)))
            .collect();
        if !d.is_empty() {
            return Err(Refusal::Destructive {
                count: d.len(),
                list: d.join("\n"),
            });
        }
    }
    Ok(())
}

/// The caller must be in the plan's account.
pub fn check_account(plan: &Plan, caller: &Caller) -> Result<(), Refusal> {
    if caller.account_id != plan.account_id {
        return Err(Refusal::OtherAccount {
            plan: plan.account_id.clone(),
            caller: caller.account_id.clone(),
            arn: caller.arn.clone(),
        });
    }
    Ok(())
}

/// The users (`"users"`) or roles (`"roles"`) a policy step's plan saw the policy attached to.
fn attachment_names<'a>(a: &'a Action, kind: &str) -> &'a [String] {
    match crate::steps::managed_policy::planned(&a.body) {
        Some((_, att)) if kind == "users" => &att.users,
        Some((_, att)) if kind == "roles" => &att.roles,
        _ => &[],
    }
}

/// Why this action must not run, whatever the account's state: it would lock out the identity
/// running apply, or it touches an AWS-managed policy.
pub fn guard(a: &Action, caller: &Caller) -> Option<String> {
    use StepName as S;
    let names = a.names();
    if let Some(arn) = names.policy_arn.as_deref() {
        let modifies_policy = matches!(
            a.step(),
            S::ReplacePolicyDocument
                | S::SetDefaultPolicyVersion
                | S::DeletePolicy
                | S::RightsizePolicy
        );
        if crate::steps::is_aws_managed(arn) && modifies_policy {
            return Some("AWS-managed policies are never modified or deleted".into());
        }
    }
    if a.resource.kind == ResourceKind::ManagedPolicy
        && a.resource
            .arn
            .as_deref()
            .is_some_and(crate::steps::is_aws_managed)
        && matches!(a.step(), S::Tag | S::Untag)
    {
        return Some("AWS-managed policies are never modified or deleted".into());
    }
    let lockout = |what: &str| {
        Some(format!(
            "self-lockout guard: this would {what} the identity running apply ({})",
            caller.arn
        ))
    };
    if let Some(key) = &caller.access_key_id {
        if a.resource.kind == ResourceKind::AccessKey
            && &a.resource.id == key
            && matches!(
                a.step(),
                S::DeactivateAccessKey | S::DeleteAccessKey | S::RotateAccessKey
            )
        {
            return lockout("disable the access key of");
        }
    }
    if let Some(me) = caller.user() {
        let subject_user = match a.resource.kind {
            ResourceKind::User => Some(a.resource.name.as_str()),
            _ => names.user.as_deref(),
        };
        let inline_owner = (names.owner_kind == Some(OwnerKind::User))
            .then_some(names.owner.as_deref())
            .flatten();
        let mine = subject_user == Some(me) || inline_owner == Some(me);
        if mine
            && matches!(
                a.step(),
                S::DeleteUser
                    | S::QuarantineUser
                    | S::EnforceMfa
                    | S::DeactivateAccessKey
                    | S::DeleteAccessKey
                    | S::DetachUserPolicy
                    | S::RemoveUserFromGroup
                    | S::DeleteInlinePolicy
                    | S::DeactivateMfaDevice
            )
        {
            return lockout("delete, quarantine or take permissions from");
        }
        if matches!(a.step(), S::DetachPolicyEverywhere | S::DeletePolicy)
            && attachment_names(a, "users").iter().any(|u| u == me)
        {
            return lockout("detach a policy from");
        }
    }
    if let Some(role) = caller.role() {
        let mine = a.resource.kind == ResourceKind::Role && a.resource.name == role
            || (names.owner_kind == Some(OwnerKind::Role) && names.owner.as_deref() == Some(role));
        if mine
            && matches!(
                a.step(),
                S::DetachRolePolicy | S::DeleteInlinePolicy | S::QuarantineRole
            )
        {
            return lockout("take permissions from");
        }
        if matches!(a.step(), S::DetachPolicyEverywhere | S::DeletePolicy)
            && attachment_names(a, "roles").iter().any(|r| r == role)
        {
            return lockout("detach a policy from");
        }
    }
    None
}

/// The subject an action works on: actions on one subject run one after another, in plan order.
fn subject(a: &Action) -> String {
    let names = a.names();
    let p = |v: &Option<String>| v.clone().unwrap_or_default();
    match a.resource.kind {
        ResourceKind::AccessKey | ResourceKind::LoginProfile | ResourceKind::MfaDevice => {
            format!("user:{}", p(&names.user))
        }
        ResourceKind::User => format!("user:{}", a.resource.name),
        ResourceKind::InlinePolicy => format!(
            "{}:{}",
            names.owner_kind.map(OwnerKind::as_str).unwrap_or_default(),
            p(&names.owner)
        ),
        ResourceKind::Group => format!("group:{}", a.resource.name),
        ResourceKind::Role => format!("role:{}", a.resource.name),
        ResourceKind::ManagedPolicy => format!("policy:{}", a.resource.id),
        ResourceKind::Account => "account".into(),
    }
}

/// Called after each action (the CLI prints progress with it).
pub type OnAction = Arc<dyn Fn(&ActionReport) + Send + Sync>;

/// Runs the plan's actions. `history` is what the journal already holds (resume).
pub async fn run<I: Iam>(
    plan: &Plan,
    opts: &Options,
    aws: &Executor<I>,
    caller: &Caller,
    history: &History,
    on_action: Option<OnAction>,
) -> Result<Report, journal::JournalError> {
    run_selected(plan, opts, None, aws, caller, history, on_action).await
}

/// [`run`] of a subset of a plan ([`select::select`]'s plan), recording in the journal's `run`
/// record which actions were selected and by what.
pub async fn run_selected<I: Iam>(
    plan: &Plan,
    opts: &Options,
    selection: Option<&select::SelectionRecord>,
    aws: &Executor<I>,
    caller: &Caller,
    history: &History,
    on_action: Option<OnAction>,
) -> Result<Report, journal::JournalError> {
    let journal = aws.journal();
    journal.append(&Record::Run {
        mode: Mode::Apply,
        plan_sha256: plan.content_sha256.clone(),
        plan_file: opts.plan_file.clone(),
        account_id: caller.account_id.clone(),
        caller: caller.arn.clone(),
        iamwarden_version: env!("CARGO_PKG_VERSION").to_string(),
        selection: selection.cloned(),
        at: Utc::now(),
    })?;

    // Refusals first, and a refused cascade refuses its parts.
    let mut refused: HashMap<&str, String> = plan
        .actions
        .iter()
        .filter_map(|a| guard(a, caller).map(|why| (a.id.as_str(), why)))
        .collect();
    for a in &plan.actions {
        if let Some(parent) = &a.part_of {
            if let Some(why) = refused.get(parent.as_str()).cloned() {
                refused.entry(a.id.as_str()).or_insert(why);
            }
        }
    }

    // Chains: one per subject, in plan order.
    let mut chains: Vec<Vec<usize>> = Vec::new();
    let mut chain_of: HashMap<String, usize> = HashMap::new();
    for (i, a) in plan.actions.iter().enumerate() {
        let s = subject(a);
        let c = *chain_of.entry(s).or_insert_with(|| {
            chains.push(Vec::new());
            chains.len() - 1
        });
        if let Some(ch) = chains.get_mut(c) {
            ch.push(i);
        }
    }

    let parents: HashMap<&str, &Action> = plan
        .actions
        .iter()
        .filter(|a| a.step() == StepName::DeleteUser)
        .map(|a| (a.id.as_str(), a))
        .collect();
    let refused: HashMap<String, String> = refused
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    // Up to `concurrency` chains at a time, each one action after another, on whatever
    // runtime drives this future (the CLI's tokio runtime; a current-thread one in tests).
    let (parents, refused, on_action) = (&parents, &refused, &on_action);
    let runs = chains.into_iter().map(|chain| async move {
        let mut out: Vec<(usize, ActionReport)> = Vec::new();
        let mut outcomes: HashMap<String, Outcome> = HashMap::new();
        for i in chain {
            let Some(a) = plan.actions.get(i) else {
                continue;
            };
            let parent = a.part_of.as_deref().and_then(|p| parents.get(p).copied());
            let report = run_one(a, parent, aws, history, refused, &outcomes).await?;
            outcomes.insert(a.id.clone(), report.outcome);
            if let Some(cb) = on_action {
                cb(&report);
            }
            out.push((i, report));
        }
        Ok::<_, journal::JournalError>(out)
    });
    let mut stream = futures_util::stream::iter(runs).buffer_unordered(opts.concurrency.max(1));
    let mut all: Vec<(usize, ActionReport)> = Vec::new();
    let mut first_err = None;
    while let Some(chain) = stream.next().await {
        match chain {
            Ok(v) => all.extend(v),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    all.sort_by_key(|(i, _)| *i);
    let mut summary = Summary::default();
    for (_, r) in &all {
        summary.add(r.outcome);
    }
    journal.append(&Record::End {
        mode: Mode::Apply,
        summary,
        at: Utc::now(),
    })?;
    Ok(Report {
        mode: Mode::Apply,
        plan_sha256: plan.content_sha256.clone(),
        journal: journal.path().display().to_string(),
        actions: all.into_iter().map(|(_, r)| r).collect(),
        summary,
    })
}

fn report(a: &Action, outcome: Outcome, detail: impl Into<String>) -> ActionReport {
    ActionReport {
        id: a.id.clone(),
        action: a.step(),
        target: describe(a),
        outcome,
        detail: detail.into(),
    }
}

async fn run_one<I: Iam>(
    a: &Action,
    parent: Option<&Action>,
    aws: &Executor<I>,
    history: &History,
    refused: &HashMap<String, String>,
    earlier: &HashMap<String, Outcome>,
) -> Result<ActionReport, journal::JournalError> {
    let journal = aws.journal();
    let finish =
        |outcome: Outcome, detail: String, undo: Vec<UndoOp>, irreversible: Option<String>| {
            let rec = Record::Done {
                action: a.id.clone(),
                mode: Mode::Apply,
                outcome,
                detail: detail.clone(),
                undo,
                irreversible,
                part_of: a.part_of.clone(),
                at: Utc::now(),
            };
            journal.append(&rec).map(|()| report(a, outcome, detail))
        };
    // Finished by an earlier run of this plan: nothing to do (the journal already says so).
    if let Some(d) = history.done.get(&a.id) {
        if matches!(d.outcome, Outcome::Applied | Outcome::AlreadyApplied) {
            return Ok(report(
                a,
                Outcome::AlreadyApplied,
                "applied by an earlier run (journal)",
            ));
        }
    }
    if let Some(why) = refused.get(&a.id) {
        return finish(Outcome::Refused, why.clone(), Vec::new(), None);
    }
    // A cascade's last step runs only when every prerequisite is in place.
    for dep in &a.depends_on {
        match earlier.get(dep) {
            Some(Outcome::Applied | Outcome::AlreadyApplied) => {}
            Some(o) => {
                let outcome = if *o == Outcome::Stale {
                    Outcome::Stale
                } else {
                    *o
                };
                return finish(
                    outcome,
                    format!("prerequisite {dep} was {}", o.as_str()),
                    Vec::new(),
                    None,
                );
            }
            None => {
                return finish(
                    Outcome::Failed,
                    format!("prerequisite {dep} did not run"),
                    Vec::new(),
                    None,
                )
            }
        }
    }
    // A part of a `delete_user` cascade acts only on the user the plan saw: if that user is
    // gone the part is moot, and if it changed (re-created, new key) nothing is removed.
    if let Some(parent) = parent {
        match steps::check(aws, parent).await {
            Ok(Check::Stale(why)) => {
                return finish(
                    Outcome::Stale,
                    format!("the user this cascade deletes changed: {why}"),
                    Vec::new(),
                    None,
                )
            }
            Ok(Check::Already(_)) => {
                return finish(
                    Outcome::AlreadyApplied,
                    "the user is already deleted".into(),
                    Vec::new(),
                    None,
                )
            }
            Ok(Check::Proceed(_)) => {}
            Err(e) if history.interrupted.contains_key(&a.id) => {
                return Ok(report(
                    a,
                    Outcome::Failed,
                    format!("{e}; the action stays open in the journal: the next run re-reads it"),
                ))
            }
            Err(e) => return finish(Outcome::Failed, e.to_string(), Vec::new(), None),
        }
    }
    let check = match steps::check(aws, a).await {
        Ok(c) => c,
        // An action an earlier run left open stays open: closing it as failed would lose
        // the before-state its undo needs, should its call have landed.
        Err(e) if history.interrupted.contains_key(&a.id) => {
            return Ok(report(
                a,
                Outcome::Failed,
                format!("{e}; the action stays open in the journal: the next run re-reads it"),
            ))
        }
        Err(e) => return finish(Outcome::Failed, e.to_string(), Vec::new(), None),
    };
    match check {
        Check::Stale(why) => finish(Outcome::Stale, why, Vec::new(), None),
        Check::Already(observed) => match history.interrupted.get(&a.id) {
            // An earlier run began this action and was stopped: its call reached AWS.
            Some(before) => {
                let (undo, irreversible) = steps::undo_for(a, before, &observed);
                finish(
                    Outcome::Applied,
                    "completed by an interrupted earlier run".into(),
                    undo,
                    irreversible,
                )
            }
            None => finish(
                Outcome::AlreadyApplied,
                "already in the planned state".into(),
                Vec::new(),
                None,
            ),
        },
        Check::Proceed(current) => {
            // Undo restores the state before the first attempt: an earlier run's `begin`
            // record, when that run left the action open.
            let before = history
                .interrupted
                .get(&a.id)
                .cloned()
                .unwrap_or_else(|| current.clone());
            journal.append(&Record::Begin {
                action: a.id.clone(),
                mode: Mode::Apply,
                step: a.step().as_str().to_string(),
                resource: a.resource.name.clone(),
                before: before.clone(),
                at: Utc::now(),
            })?;
            let mut result = steps::execute(aws, a, &current).await;
            let mut sent = 1;
            let mut note = String::new();
            loop {
                let err = match result {
                    Ok(after) => {
                        let (undo, irreversible) = steps::undo_for(a, &before, &after);
                        return finish(Outcome::Applied, format!("done{note}"), undo, irreversible);
                    }
                    Err(StepError::Journal(e)) => {
                        return Err(journal::JournalError::from_step(e, journal.path()))
                    }
                    Err(e) => e,
                };
                // Once a call of this action went unanswered, a failure is never final: the
                // request may still land (or have landed) after the re-read. No `done` record:
                // the action stays open, and the next run re-reads it and journals it with
                // this `begin` record's before-state (so undo works).
                let open = |detail: String| {
                    Ok(report(
                        a,
                        Outcome::Failed,
                        format!(
                            "{detail}; the action stays open in the journal: the next run \
                             re-reads it"
                        ),
                    ))
                };
                let unanswered = !note.is_empty()
                    || matches!(
                        err,
                        StepError::Unresolved { .. } | StepError::Resolved { .. }
                    );
                if !err.is_unknown() {
                    if unanswered {
                        return open(err.to_string());
                    }
                    return finish(Outcome::Failed, err.to_string(), Vec::new(), None);
                }
                // Let a request still in flight land before reading what IAM holds.
                aws.wait_settle().await;
                let reread = steps::check(aws, a).await;
                match resolve(reread, sent) {
                    Resolution::Applied(observed) => {
                        let (undo, irreversible) = steps::undo_for(a, &before, &observed);
                        return finish(
                            Outcome::Applied,
                            format!("{err}; re-read shows the planned state: applied"),
                            undo,
                            irreversible,
                        );
                    }
                    Resolution::SendAgain(now) => {
                        note = format!(
                            " ({err}; re-read showed the state before: not applied, sent once more)"
                        );
                        sent += 1;
                        result = steps::execute(aws, a, &now).await;
                    }
                    Resolution::NotApplied => {
                        return open(format!(
                            "{err}; re-read shows the state before: not applied (sent {sent} \
                             times without an answer)"
                        ))
                    }
                    Resolution::Other(why) => {
                        return open(format!(
                            "{err}; re-read shows neither the planned state nor the state \
                             before: {why}"
                        ))
                    }
                    Resolution::Unknown(why) => {
                        return open(format!(
                            "{err}; the re-read failed too ({why}): whether it was applied \
                             is unknown"
                        ))
                    }
                }
            }
        }
    }
}

/// How a re-read after an unanswered call decides the action.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// IAM holds the planned state: the call was applied (undo from the `begin` record).
    Applied(Value),
    /// IAM holds the state before: not applied; send once more (carries the state read).
    SendAgain(Value),
    /// IAM holds the state before after the last allowed attempt: not applied.
    NotApplied,
    /// IAM holds something else: failed, with what.
    Other(String),
    /// The re-read failed: the outcome stays unknown.
    Unknown(String),
}

pub use crate::steps::live::MAX_SENDS;

/// The outcome resolution table: what a re-read (after `sent` unanswered attempts) means.
pub fn resolve(reread: Result<Check, StepError>, sent: u32) -> Resolution {
    match reread {
        Ok(Check::Already(observed)) => Resolution::Applied(observed),
        Ok(Check::Proceed(now)) if sent < MAX_SENDS => Resolution::SendAgain(now),
        Ok(Check::Proceed(_)) => Resolution::NotApplied,
        Ok(Check::Stale(why)) => Resolution::Other(why),
        Err(e) => Resolution::Unknown(e.to_string()),
    }
}

/// The exit status a report calls for: 0 all applied, 3 some stale (nothing failed), 1 failures.
pub fn exit_kind(s: &Summary) -> ExitKind {
    if s.failed > 0 || s.refused > 0 {
        ExitKind::Failed
    } else if s.stale > 0 {
        ExitKind::Stale
    } else {
        ExitKind::Ok
    }
}

/// How a run ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// Everything applied or already applied.
    Ok,
    /// Some actions were skipped as stale; nothing failed.
    Stale,
    /// Something failed or was refused.
    Failed,
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod fake_runs;

#[cfg(test)]
mod rightsize_runs;

#[cfg(test)]
mod rotate_runs;

#[cfg(test)]
mod select_runs;
