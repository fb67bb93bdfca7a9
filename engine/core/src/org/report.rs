//! The outputs of an organization run besides the plans: the manifest (what is in the output
//! folder, for `org apply` and for people) and the organization report (totals per account,
//! rule and severity; the accounts that failed, with the call and the permission; the
//! suspended accounts skipped). Reports of several shards merge into the report one unsharded
//! run gives: nothing in a report depends on the shard or the wall clock. [`RunReport`] is
//! what the last `org apply` or `org undo` of a folder did in each account
//! (`DIR/apply-report.json`, `DIR/undo-report.json`).

use super::Shard;
use crate::plan::outcome::Summary;
use crate::plan::Plan;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The version of `manifest.json` and `report.json`.
pub const ORG_FORMAT_VERSION: u32 = 1;

/// `DIR/manifest.json`: one shard's run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`ORG_FORMAT_VERSION`].
    pub format_version: u32,
    /// The iamwarden version that made the run.
    pub iamwarden_version: String,
    /// The shard this folder holds (`0/1`: the whole organization).
    pub shard: Shard,
    /// Where the accounts came from: `organizations` or the accounts file's path.
    pub source: String,
    /// The run's default role (`--role-name`).
    pub role_name: String,
    /// Every account of the shard, in id order.
    pub accounts: Vec<ManifestEntry>,
}

/// One account in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestEntry {
    /// The account id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `planned`, `failed` or `suspended`.
    pub status: String,
    /// The role assumed (or that could not be).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// The plan, relative to the folder (`<id>/plan.json`), when one was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// The plan's content hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_sha256: Option<String>,
    /// `org snapshot`: the inventory snapshot, relative to the folder (`<id>/snapshot.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    /// `org snapshot`: why the account failed (the call and its error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What reading the account's IAM cost, when it was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reads: Option<ReadCost>,
    /// Read, and applied by `org apply`, with the caller's own credentials instead of a role:
    /// the organization's management account under `--management-account caller`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub as_caller: bool,
}

/// What reading one account cost: the IAM calls by operation and the wall time of the read (the
/// figures `--stats` prints for one account), so a team can see which accounts are expensive
/// and size its shards.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadCost {
    /// Every call made.
    pub api_calls: u64,
    /// Wall time of the read, in milliseconds.
    pub read_ms: u64,
    /// Calls per operation (`ListUsers`, ...).
    pub calls: std::collections::BTreeMap<String, u64>,
}

/// Counts for one rule (in one account, or across the organization).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleCount {
    /// The rule's severity.
    pub severity: String,
    /// Findings.
    pub findings: usize,
    /// Actions asked for by the rule.
    pub actions: usize,
    /// Accounts with a finding of the rule (organization totals only; 0 per account).
    #[serde(default)]
    pub accounts: usize,
}

/// An account that was planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedAccount {
    /// The account id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The plan, relative to the output folder (its content hash is in the manifest: the
    /// report holds nothing that differs between two runs on the same accounts and clock).
    pub plan: String,
    /// Findings.
    pub findings: usize,
    /// Actions.
    pub actions: usize,
    /// Destructive actions.
    pub destructive: usize,
    /// Findings per severity.
    pub by_severity: BTreeMap<String, usize>,
    /// Counts per rule.
    pub by_rule: BTreeMap<String, RuleCount>,
}

impl PlannedAccount {
    /// The counts of one account's plan.
    pub fn of(plan: &Plan, name: &str, path: &str) -> PlannedAccount {
        let findings = plan.findings.iter().map(|f| (&*f.rule, f.severity));
        PlannedAccount::counted(plan, findings, name, path)
    }

    /// [`PlannedAccount::of`] of a plan whose findings are in a file
    /// ([`crate::pipeline::make_spilled_plan`]).
    pub fn of_spilled(
        plan: &Plan,
        findings: &crate::plan::spill::SpilledFindings,
        name: &str,
        path: &str,
    ) -> PlannedAccount {
        PlannedAccount::counted(plan, findings.rules_and_severities(), name, path)
    }

    /// The counts of `plan`, whose findings are `findings` (rule id and severity of each).
    fn counted<'a>(
        plan: &Plan,
        findings: impl Iterator<Item = (&'a str, crate::spec::Severity)>,
        name: &str,
        path: &str,
    ) -> PlannedAccount {
        let mut by_severity: BTreeMap<String, usize> = BTreeMap::new();
        let mut by_rule: BTreeMap<String, RuleCount> = BTreeMap::new();
        let mut count = 0;
        for (rule, severity) in findings {
            count += 1;
            *by_severity
                .entry(severity.as_str().to_string())
                .or_default() += 1;
            let r = by_rule.entry(rule.to_string()).or_default();
            r.severity = severity.as_str().to_string();
            r.findings += 1;
        }
        for a in &plan.actions {
            for rule in &a.rules {
                if let Some(r) = by_rule.get_mut(rule) {
                    r.actions += 1;
                }
            }
        }
        PlannedAccount {
            id: plan.account_id.clone(),
            name: name.to_string(),
            plan: path.to_string(),
            findings: count,
            actions: plan.actions.len(),
            destructive: plan.summary.destructive,
            by_severity,
            by_rule,
        }
    }
}

/// An account that could not be planned, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailedAccount {
    /// The account id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The call that failed (`sts:AssumeRole`, `iam:GetAccountAuthorizationDetails`).
    pub call: String,
    /// The AWS error code, when there is one (`AccessDenied`, `Throttling`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// What went wrong (never credentials).
    pub message: String,
    /// The permission the call needs, when it was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
}

/// A suspended account, skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkippedAccount {
    /// The account id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Why (`SUSPENDED`, `PENDING_CLOSURE`).
    pub status: String,
}

/// Organization totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Totals {
    /// Accounts planned.
    pub planned: usize,
    /// Accounts that failed.
    pub failed: usize,
    /// Accounts skipped (suspended).
    pub skipped: usize,
    /// Planned accounts whose plan has changes.
    pub with_changes: usize,
    /// Findings in all.
    pub findings: usize,
    /// Actions in all.
    pub actions: usize,
    /// Destructive actions in all.
    pub destructive: usize,
    /// Findings per severity.
    pub by_severity: BTreeMap<String, usize>,
    /// Per rule, with the number of accounts it found something in.
    pub by_rule: BTreeMap<String, RuleCount>,
}

/// `DIR/report.json`: the organization report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgReport {
    /// [`ORG_FORMAT_VERSION`].
    pub format_version: u32,
    /// Totals (derived from the lists below).
    pub totals: Totals,
    /// Planned accounts, in id order.
    pub planned: Vec<PlannedAccount>,
    /// Failed accounts, in id order.
    pub failed: Vec<FailedAccount>,
    /// Skipped accounts, in id order.
    pub skipped: Vec<SkippedAccount>,
}

/// Reports that cannot be merged.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MergeError {
    /// One account in two reports: the shards overlap (or a folder was given twice).
    #[error(
        "account {0} is in two of the reports: the shards overlap, or a folder was given twice"
    )]
    Overlap(String),
    /// A report of another format.
    #[error("a report is format {0}; this iamwarden reads format {ORG_FORMAT_VERSION}")]
    Version(u32),
}

impl OrgReport {
    /// A report of these accounts (sorted, totals computed).
    pub fn new(
        mut planned: Vec<PlannedAccount>,
        mut failed: Vec<FailedAccount>,
        mut skipped: Vec<SkippedAccount>,
    ) -> OrgReport {
        planned.sort_by(|a, b| a.id.cmp(&b.id));
        failed.sort_by(|a, b| a.id.cmp(&b.id));
        skipped.sort_by(|a, b| a.id.cmp(&b.id));
        let mut t = Totals {
            planned: planned.len(),
            failed: failed.len(),
            skipped: skipped.len(),
            ..Totals::default()
        };
        for a in &planned {
            t.with_changes += usize::from(a.actions > 0);
            t.findings += a.findings;
            t.actions += a.actions;
            t.destructive += a.destructive;
            for (s, n) in &a.by_severity {
                *t.by_severity.entry(s.clone()).or_default() += n;
            }
            for (rule, c) in &a.by_rule {
                let r = t.by_rule.entry(rule.clone()).or_default();
                r.severity.clone_from(&c.severity);
                r.findings += c.findings;
                r.actions += c.actions;
                r.accounts += usize::from(c.findings > 0);
            }
        }
        OrgReport {
            format_version: ORG_FORMAT_VERSION,
            totals: t,
            planned,
            failed,
            skipped,
        }
    }

    /// Merges the reports of several shards into the report of the whole run. A suspended
    /// account is listed by every shard that saw it in ListAccounts only once.
    pub fn merge(reports: Vec<OrgReport>) -> Result<OrgReport, MergeError> {
        let mut seen: BTreeMap<String, ()> = BTreeMap::new();
        let (mut planned, mut failed) = (Vec::new(), Vec::new());
        let mut skipped: BTreeMap<String, SkippedAccount> = BTreeMap::new();
        for r in reports {
            if r.format_version != ORG_FORMAT_VERSION {
                return Err(MergeError::Version(r.format_version));
            }
            let ids = r
                .planned
                .iter()
                .map(|a| &a.id)
                .chain(r.failed.iter().map(|a| &a.id));
            for id in ids {
                if seen.insert(id.clone(), ()).is_some() {
                    return Err(MergeError::Overlap(id.clone()));
                }
            }
            planned.extend(r.planned);
            failed.extend(r.failed);
            for s in r.skipped {
                skipped.insert(s.id.clone(), s);
            }
        }
        Ok(OrgReport::new(
            planned,
            failed,
            skipped.into_values().collect(),
        ))
    }

    /// Whether any planned account has changes.
    pub fn has_changes(&self) -> bool {
        self.totals.with_changes > 0
    }
}

/// What one `org apply` or `org undo` run did in each account of a folder
/// (`DIR/apply-report.json`, `DIR/undo-report.json`; rewritten by each run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunReport {
    /// [`ORG_FORMAT_VERSION`].
    pub format_version: u32,
    /// `apply` or `undo`.
    pub command: String,
    /// The accounts the run was given, in id order.
    pub accounts: Vec<RunAccount>,
}

/// How one account's apply or undo ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Every action ran or was found done (or there was nothing to do).
    Done,
    /// Some actions were skipped as stale; nothing failed.
    Stale,
    /// An action failed, or the account could not be run (its role, its plan, its journal).
    Failed,
    /// Another run holds the account's journal lock: nothing was read, called or written.
    Locked,
}

/// One account of a [`RunReport`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunAccount {
    /// The account id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// How it ended.
    pub status: RunStatus,
    /// The journal, relative to the folder (`<id>/plan.json.journal.jsonl`).
    pub journal: String,
    /// Whether the journal already held records of this plan (apply) or of an undo (undo): the
    /// run resumed an earlier one instead of starting afresh.
    pub resumed: bool,
    /// Actions an earlier run began and never finished (killed mid-action): re-read by this
    /// run before anything was sent again.
    #[serde(default)]
    pub interrupted: usize,
    /// Mutating calls this run sent (journaled `call` records).
    #[serde(default)]
    pub calls: usize,
    /// The counts of the actions, when the account ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    /// Why it failed, or who holds its lock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl RunReport {
    /// How many accounts ended with `status`.
    pub fn count(&self, status: RunStatus) -> usize {
        self.accounts.iter().filter(|a| a.status == status).count()
    }
}
