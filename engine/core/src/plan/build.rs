//! Findings to a plan: each step of each finding is expanded by its step file
//! ([`crate::steps`]: targets, the `delete_user` cascade, typed params, precondition and
//! before/after); here the proposals are deduplicated, stronger actions supersede weaker ones,
//! the in-use guard keeps steps off credentials in use, and the result is ordered the way AWS
//! requires it to be applied.

use super::{Action, ChangeKind, Finding, Plan, Skipped, Summary, Superseded, PLAN_FORMAT_VERSION};
use crate::compile::RuleSet;
use crate::eval::Match;
use crate::inventory::{Inventory, ResourceKind, ResourceRef};
use crate::spec::StepName;
use crate::steps::{Cx, Disables, Index, Proposed, Target};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::HashMap;

pub use crate::steps::action_id;

/// A step proposed for one target before deduplication.
#[derive(Debug, Clone)]
struct Proposal {
    resource: ResourceRef,
    /// Distinguishes several actions of one step on one resource (the policy ARN a detach
    /// removes, the group a membership is removed from).
    qualifier: String,
    change: ChangeKind,
    body: crate::steps::Body,
    rules: Vec<String>,
    findings: Vec<usize>,
    part_of: Option<String>,
    supersedes: Vec<Superseded>,
    /// For ordering: (subject order, subject name).
    subject: (u8, String),
    /// The credential use a rule with `allow_in_use: true` let this action ignore.
    allowed_in_use: Option<String>,
}

impl Proposal {
    /// The step, as its body's type says.
    fn step(&self) -> StepName {
        self.body.step()
    }
}

fn key(step: StepName, r: &ResourceRef, q: &str) -> String {
    format!("{}|{}|{}|{q}", step.as_str(), r.kind.as_str(), r.id)
}

struct Builder<'a> {
    ix: &'a Index<'a>,
    now: DateTime<Utc>,
    /// One per (step, resource, qualifier), in the order first proposed.
    proposals: Vec<Proposal>,
    /// [`key`] -> index in `proposals`.
    by_key: HashMap<String, usize>,
    skipped: Vec<Skipped>,
    /// Proposals merged into an earlier one with other parameters (skips listed after all
    /// others).
    differing: Vec<Skipped>,
}

/// What the in-use guard says about one step of one finding.
struct InUse {
    /// The window's start the step's precondition carries, when the guard is in force for it.
    since: Option<DateTime<Utc>>,
    /// The credential use a rule with `allow_in_use: true` lets the step ignore.
    allowed: Option<String>,
}

impl Builder<'_> {
    fn skip(
        &mut self,
        rule: &str,
        resource: &ResourceRef,
        step: Option<StepName>,
        reason: impl Into<String>,
    ) {
        self.skipped.push(Skipped {
            rule: rule.to_string(),
            resource: resource.clone(),
            action: step,
            reason: reason.into(),
        });
    }

    /// Expands one rendered step of one finding into proposals (through the step's file).
    fn expand(
        &mut self,
        step: StepName,
        params: &Value,
        m: &Match,
        rule: &str,
        finding: usize,
        guard: InUse,
    ) {
        let mut cx = Cx::new(self.ix);
        cx.in_use_since = guard.since;
        cx.now = Some(self.now);
        let target = Target {
            kind: m.kind,
            index: m.index,
            resource: &m.resource,
        };
        crate::steps::expand(step, &mut cx, &target, params);
        let (skips, out) = (cx.skips, cx.out);
        for s in skips {
            self.skip(rule, &s.resource, Some(s.step), s.reason);
        }
        for p in out {
            let mut p = self.proposal(p, rule, finding);
            if p.step() == step {
                p.allowed_in_use.clone_from(&guard.allowed);
            }
            self.push(p);
        }
    }

    /// Adds a proposal, or merges it into the one already made for the same step, resource
    /// and qualifier: one action each, its rules and findings those of every proposal.
    fn push(&mut self, p: Proposal) {
        let k = key(p.step(), &p.resource, &p.qualifier);
        let Some(existing) = self.by_key.get(&k).and_then(|&i| self.proposals.get_mut(i)) else {
            self.by_key.insert(k, self.proposals.len());
            self.proposals.push(p);
            return;
        };
        for r in p.rules {
            if !existing.rules.contains(&r) {
                existing.rules.push(r);
            }
        }
        existing.findings.extend(p.findings);
        if existing.part_of.is_none() {
            existing.part_of = p.part_of;
        }
        if existing.allowed_in_use.is_none() {
            existing.allowed_in_use = p.allowed_in_use;
        }
        if !existing.body.same_params(&p.body) {
            self.differing.push(Skipped {
                rule: existing.rules.last().cloned().unwrap_or_default(),
                resource: existing.resource.clone(),
                action: Some(existing.step()),
                reason: format!(
                    "parameters differ from rule {}'s for the same action; the first rule's are used",
                    existing.rules.first().cloned().unwrap_or_default()
                ),
            });
        }
    }

    fn proposal(&self, p: Proposed, rule: &str, finding: usize) -> Proposal {
        Proposal {
            subject: self.ix.subject(&p.resource),
            resource: p.resource,
            qualifier: p.qualifier,
            change: p.change,
            body: p.body,
            rules: vec![rule.to_string()],
            findings: vec![finding],
            part_of: p.part_of,
            supersedes: Vec::new(),
            allowed_in_use: None,
        }
    }
}

/// Which proposals a stronger one makes moot: (weaker step, stronger step on the same target).
const SUPERSEDED_BY: [(StepName, StepName); 12] = [
    // A key being deleted or deactivated needs no hand-off (deletion first: it wins when
    // both are planned).
    (StepName::RotateAccessKey, StepName::DeleteAccessKey),
    (StepName::RotateAccessKey, StepName::DeactivateAccessKey),
    (StepName::Tag, StepName::DeletePolicy),
    (StepName::Untag, StepName::DeletePolicy),
    (StepName::DeactivateAccessKey, StepName::DeleteAccessKey),
    (StepName::RequirePasswordReset, StepName::DeleteLoginProfile),
    (StepName::DetachPolicyEverywhere, StepName::DeletePolicy),
    (StepName::ReplacePolicyDocument, StepName::DeletePolicy),
    (StepName::SetDefaultPolicyVersion, StepName::DeletePolicy),
    (StepName::RightsizePolicy, StepName::DeletePolicy),
    (StepName::RightsizePolicy, StepName::DeleteInlinePolicy),
    (
        StepName::SetDefaultPolicyVersion,
        StepName::ReplacePolicyDocument,
    ),
];

/// Steps on a user that `delete_user` makes moot.
const MOOT_WHEN_USER_DELETED: [StepName; 4] = [
    StepName::QuarantineUser,
    StepName::EnforceMfa,
    StepName::Tag,
    StepName::Untag,
];

/// Builds the plan (sealed: its content hash recorded).
pub fn build(
    set: &RuleSet,
    inv: &Inventory,
    matches: Vec<Match>,
    now: DateTime<Utc>,
    created_at: DateTime<Utc>,
) -> Plan {
    build_with_fingerprint(set, inv, matches, now, created_at, || fingerprint(inv))
}

/// [`build`] with the inventory's fingerprint (as [`fingerprint`] gives it) from
/// `inventory_fingerprint`, called once the actions are built, just before the plan is sealed:
/// a caller can hash the inventory on another thread while it evaluates and builds, the two
/// being independent (`pipeline::make_plan` does).
pub fn build_with_fingerprint(
    set: &RuleSet,
    inv: &Inventory,
    matches: Vec<Match>,
    now: DateTime<Utc>,
    created_at: DateTime<Utc>,
    inventory_fingerprint: impl FnOnce() -> String,
) -> Plan {
    let mut plan = build_unsealed(set, inv, matches, now, created_at, inventory_fingerprint);
    plan.seal();
    plan
}

/// [`build_with_fingerprint`] without the seal: `content_sha256` is empty. For a caller that
/// seals the plan as it writes it ([`Plan::write_sealed`]: one serialization, not two) or
/// never writes it as JSON (the human diff shows no hash).
pub fn build_unsealed(
    set: &RuleSet,
    inv: &Inventory,
    matches: Vec<Match>,
    now: DateTime<Utc>,
    created_at: DateTime<Utc>,
    inventory_fingerprint: impl FnOnce() -> String,
) -> Plan {
    let ix = Index::new(inv);
    let mut b = PlanBuilder::new(set, &ix, now, Vec::with_capacity(matches.len()));
    for staged in stage::<Vec<Finding>>(set, matches) {
        b.add(staged);
    }
    let (mut plan, findings) = b.finish(created_at, inventory_fingerprint);
    plan.findings = findings;
    plan
}

/// Where a [`PlanBuilder`] keeps the findings: in memory (`Vec<Finding>`, what
/// [`Plan::findings`] holds) or written out as they come ([`super::spill::Spill`]).
pub trait FindingStore {
    /// Whether findings reach [`FindingStore::keep`] rendered ([`super::spill::render_head`],
    /// done by [`stage`] on the evaluating threads) rather than as structs.
    const RENDERED: bool;
    /// Keeps the next finding.
    fn keep(&mut self, finding: Found);
    /// Records that finding `finding` led to `action` (at `index` in the plan's actions).
    fn link(&mut self, finding: usize, index: usize, action: &str);
}

impl FindingStore for Vec<Finding> {
    const RENDERED: bool = false;

    fn keep(&mut self, finding: Found) {
        if let Found::Kept(f) = finding {
            self.push(*f);
        }
    }

    fn link(&mut self, finding: usize, _: usize, action: &str) {
        if let Some(f) = self.get_mut(finding) {
            if !f.actions.iter().any(|a| a == action) {
                f.actions.push(action.to_string());
            }
        }
    }
}

impl FindingStore for super::spill::Spill {
    const RENDERED: bool = true;

    fn keep(&mut self, finding: Found) {
        match finding {
            Found::Rendered(head, rule, severity) => self.push(head, rule, severity),
            Found::Kept(f) => {
                self.push(super::spill::render_head(&f), f.rule.clone(), f.severity);
            }
            Found::Exempt => {}
        }
    }

    fn link(&mut self, finding: usize, index: usize, _: &str) {
        super::spill::Spill::link(self, finding, index);
    }
}

/// A match made ready for [`PlanBuilder::add`]: its finding taken out of it (and rendered,
/// for a store that keeps findings rendered).
pub struct Staged {
    m: Match,
    found: Found,
}

/// What a staged match's finding is (for a [`FindingStore`]).
pub enum Found {
    /// The match is exempt (or names no rule): no finding.
    Exempt,
    /// The finding.
    Kept(Box<Finding>),
    /// The finding rendered by [`super::spill::render_head`], its rule and its severity.
    Rendered(
        std::io::Result<Vec<u8>>,
        std::sync::Arc<str>,
        crate::spec::Severity,
    ),
}

/// Stages `matches` for a [`PlanBuilder`] keeping findings in `S`: pure work that any thread
/// can do (the evaluating threads do, in `pipeline`), leaving the builder only what needs
/// every match.
pub fn stage<S: FindingStore>(set: &RuleSet, matches: Vec<Match>) -> Vec<Staged> {
    matches
        .into_iter()
        .map(|mut m| {
            let found = match set.rules.get(m.rule) {
                Some(rule) if m.exempt.is_none() => {
                    let f = Finding {
                        rule: rule.shared_id.clone(),
                        severity: rule.severity,
                        title: rule.title.clone(),
                        resource: m.resource.clone(),
                        evidence: std::mem::take(&mut m.evidence),
                        actions: Vec::new(),
                    };
                    if S::RENDERED {
                        Found::Rendered(super::spill::render_head(&f), f.rule, f.severity)
                    } else {
                        Found::Kept(Box::new(f))
                    }
                }
                _ => Found::Exempt,
            };
            Staged { m, found }
        })
        .collect()
}

/// Builds a plan from staged matches given one at a time, in evaluation order (so a caller
/// can evaluate and build side by side, never holding every match): [`PlanBuilder::add`] keeps
/// each finding in the store and expands its steps; [`PlanBuilder::finish`] deduplicates,
/// supersedes and orders the actions, and links the findings to them.
pub struct PlanBuilder<'a, S: FindingStore> {
    set: &'a RuleSet,
    inv: &'a Inventory,
    b: Builder<'a>,
    creds: super::in_use::CredentialIndex<'a>,
    store: S,
    findings: usize,
}

impl<'a, S: FindingStore> PlanBuilder<'a, S> {
    /// A builder for a plan of `set` over the inventory `ix` indexes ([`Index::new`]) at
    /// `now`, keeping findings in `store`.
    pub fn new(set: &'a RuleSet, ix: &'a Index<'a>, now: DateTime<Utc>, store: S) -> Self {
        let inv = ix.inv;
        PlanBuilder {
            set,
            inv,
            b: Builder {
                ix,
                now,
                proposals: Vec::new(),
                by_key: HashMap::new(),
                skipped: Vec::new(),
                differing: Vec::new(),
            },
            creds: super::in_use::CredentialIndex::new(inv),
            store,
            findings: 0,
        }
    }

    /// Adds the next match (staged by [`stage`] for this store).
    pub fn add(&mut self, staged: Staged) {
        let Staged { mut m, found } = staged;
        let (set, inv, now) = (self.set, self.inv, self.b.now);
        let Some(rule) = set.rules.get(m.rule) else {
            return;
        };
        if let Some(reason) = &m.exempt {
            self.b.skip(&rule.id, &m.resource, None, reason.clone());
            return;
        }
        let fi = self.findings;
        self.findings += 1;
        self.store.keep(found);
        let b = &mut self.b;
        for (step, params) in &m.steps {
            // The in-use guard: a step that stops a credential used within the window is
            // skipped, unless the rule allows it (then the action says what it ignores).
            let since = super::in_use::window_start(now, rule.in_use.window);
            let used = self
                .creds
                .recent_use(inv, *step, m.resource.kind, m.index, since);
            if let (Some(u), false) = (&used, rule.in_use.allow) {
                b.skip(
                    &rule.id,
                    &m.resource,
                    Some(*step),
                    format!(
                        "in use: {} (within the {} in-use window; allow_in_use: true acts anyway)",
                        u.describe(now),
                        rule.in_use.written
                    ),
                );
                continue;
            }
            // Apply re-checks user-level steps against the same window start, which their
            // precondition carries.
            let guard_since = (used.is_none()
                && step.disables_credential() == Some(Disables::User)
                && !rule.in_use.allow)
                .then_some(since);
            let guard = InUse {
                since: guard_since,
                allowed: used.as_ref().map(|u| u.describe(now)),
            };
            b.expand(*step, params, &m, &rule.id, fi, guard);
        }
        for (step, reason) in std::mem::take(&mut m.step_errors) {
            b.skip(&rule.id, &m.resource, Some(step), reason);
        }
    }

    /// The plan (unsealed, its `findings` empty) and the store holding its findings, linked to
    /// the plan's actions. `inventory_fingerprint` is called once, when the actions are built.
    pub fn finish(
        self,
        created_at: DateTime<Utc>,
        inventory_fingerprint: impl FnOnce() -> String,
    ) -> (Plan, S) {
        let PlanBuilder {
            set,
            inv,
            mut b,
            creds,
            store: mut findings,
            findings: finding_count,
        } = self;
        // Adding is over: the lookups go before the actions are made.
        drop(creds);
        let now = b.now;
        // Proposals were deduplicated as they came (Builder::push); the skips for differing
        // parameters follow those of evaluation, as they always have.
        let mut merged = std::mem::take(&mut b.proposals);
        b.by_key = HashMap::new();
        b.skipped.append(&mut b.differing);

        // Supersede weaker steps on the same target, and user-level steps on deleted users.
        let targets: HashMap<(StepName, ResourceKind, &str), usize> = merged
            .iter()
            .enumerate()
            .map(|(i, p)| ((p.step(), p.resource.kind, p.resource.id.as_str()), i))
            .collect();
        let mut dropped = vec![false; merged.len()];
        let mut moves: Vec<(usize, usize)> = Vec::new();
        for (i, p) in merged.iter().enumerate() {
            for (weak, strong) in SUPERSEDED_BY {
                if p.step() == weak {
                    if let Some(&j) =
                        targets.get(&(strong, p.resource.kind, p.resource.id.as_str()))
                    {
                        moves.push((i, j));
                    }
                }
            }
            if MOOT_WHEN_USER_DELETED.contains(&p.step()) && p.resource.kind == ResourceKind::User {
                if let Some(&j) = targets.get(&(
                    StepName::DeleteUser,
                    ResourceKind::User,
                    p.resource.id.as_str(),
                )) {
                    moves.push((i, j));
                }
            }
        }
        for (i, j) in moves {
            if dropped.get(i).copied().unwrap_or(true) || i == j {
                continue;
            }
            if let Some(d) = dropped.get_mut(i) {
                *d = true;
            }
            let (step, rules, fis) = match merged.get(i) {
                Some(w) => (w.step(), w.rules.clone(), w.findings.clone()),
                None => continue,
            };
            if let Some(s) = merged.get_mut(j) {
                s.supersedes.push(Superseded {
                    action: step,
                    rules,
                });
                s.findings.extend(fis);
            }
        }
        // In place: at 100k users the proposals are tens of megabytes.
        let mut flags = dropped.into_iter();
        merged.retain(|_| !flags.next().unwrap_or(false));
        let mut kept = merged;
        sort_in_place(&mut kept, |a, b| {
            (
                &a.subject,
                a.step().info().rank,
                &a.resource.kind,
                &a.resource.id,
                &a.qualifier,
            )
                .cmp(&(
                    &b.subject,
                    b.step().info().rank,
                    &b.resource.kind,
                    &b.resource.id,
                    &b.qualifier,
                ))
        });

        let mut ids: Vec<String> = kept
            .iter()
            .map(|p| action_id(p.step(), &p.resource, &p.qualifier))
            .collect();
        let mut children: HashMap<String, Vec<String>> = HashMap::new();
        for (p, id) in kept.iter().zip(&ids) {
            if let Some(parent) = &p.part_of {
                children.entry(parent.clone()).or_default().push(id.clone());
            }
        }
        // Collected in place: the actions take the proposals' memory (an action is no larger
        // than a proposal; `an_action_fits_where_its_proposal_was` checks), rather than tens
        // of megabytes more beside them.
        let actions: Vec<Action> = kept
            .into_iter()
            .enumerate()
            .map(|(index, p)| {
                let id = ids.get_mut(index).map(std::mem::take).unwrap_or_default();
                for fi in &p.findings {
                    findings.link(*fi, index, &id);
                }
                let info = p.step().info();
                Action {
                    depends_on: children.remove(&id).unwrap_or_default(),
                    id,
                    rules: p.rules,
                    resource: p.resource,
                    body: p.body,
                    safety: info.safety,
                    change: p.change,
                    part_of: p.part_of,
                    supersedes: p.supersedes,
                    triggered_by: Vec::new(),
                    allowed_in_use: p.allowed_in_use,
                }
            })
            .collect();
        drop(ids);

        let summary = Summary {
            findings: finding_count,
            actions: actions.len(),
            to_add: actions
                .iter()
                .filter(|a| a.change == ChangeKind::Add)
                .count(),
            to_change: actions
                .iter()
                .filter(|a| a.change == ChangeKind::Change)
                .count(),
            to_delete: actions
                .iter()
                .filter(|a| a.change == ChangeKind::Delete)
                .count(),
            destructive: actions
                .iter()
                .filter(|a| a.safety == super::Safety::Destructive)
                .count(),
            skipped: b.skipped.len(),
        };
        let rule_caps = set
            .rules
            .iter()
            .filter_map(|r| r.max_actions.map(|c| (r.id.clone(), c)))
            .collect();
        let plan = Plan {
            format_version: PLAN_FORMAT_VERSION,
            content_sha256: String::new(),
            iamwarden_version: env!("CARGO_PKG_VERSION").to_string(),
            created_at,
            now,
            account_id: inv.account.id.clone(),
            packs: set.packs.clone(),
            inventory_fingerprint: inventory_fingerprint(),
            rule_caps,
            findings: Vec::new(),
            actions,
            skipped: b.skipped,
            summary,
        };
        (plan, findings)
    }
}

/// Sorts `items` stably by `cmp`, as `slice::sort_by` does, without its scratch copy of half
/// the items (at 100k users, 15 MB of proposals): the positions are sorted, then the items
/// moved along the permutation's cycles.
fn sort_in_place<T>(items: &mut [T], cmp: impl Fn(&T, &T) -> std::cmp::Ordering) {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| match (items.get(a), items.get(b)) {
        (Some(x), Some(y)) => cmp(x, y),
        _ => std::cmp::Ordering::Equal,
    });
    // Position k is to hold the item now at order[k].
    let mut placed = vec![false; items.len()];
    for start in 0..items.len() {
        let mut k = start;
        while !placed.get(k).copied().unwrap_or(true) {
            if let Some(p) = placed.get_mut(k) {
                *p = true;
            }
            let from = order.get(k).copied().unwrap_or(start);
            if from == start {
                break;
            }
            items.swap(k, from);
            k = from;
        }
    }
}

pub use crate::digest::sha256_of_json;

/// `sha256:<hex>` of the normalized inventory (without `generated_at`, so two reads of an
/// unchanged account have the same fingerprint).
pub fn fingerprint(inv: &Inventory) -> String {
    inv.fingerprint()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorting_in_place_is_the_stable_sort() {
        let mut state = 7u64;
        for n in [0usize, 1, 2, 3, 10, 100, 1000] {
            let items: Vec<(u8, usize)> = (0..n)
                .map(|i| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((state >> 60) as u8, i)
                })
                .collect();
            let mut want = items.clone();
            want.sort_by_key(|a| a.0);
            let mut got = items;
            sort_in_place(&mut got, |a, b| a.0.cmp(&b.0));
            assert_eq!(got, want, "{n}");
        }
    }

    /// `finish` turns proposals into actions in their own memory, which needs an action to be
    /// no larger than a proposal (and aligned alike): a field added to `Action` that breaks
    /// this costs a plan of 100k users tens of megabytes more at its peak.
    #[test]
    fn an_action_fits_where_its_proposal_was() {
        assert!(
            std::mem::size_of::<Action>() <= std::mem::size_of::<Proposal>(),
            "Action {} bytes, Proposal {}",
            std::mem::size_of::<Action>(),
            std::mem::size_of::<Proposal>()
        );
        assert_eq!(
            std::mem::align_of::<Action>(),
            std::mem::align_of::<Proposal>()
        );
    }
}
