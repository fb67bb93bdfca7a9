//! The plan: what iamwarden proposes to do, as a reviewable, reproducible file.
//!
//! A plan records the inputs it was made from (packs with their digests, the inventory's
//! fingerprint, the evaluation clock), every finding with its evidence, and the ordered,
//! deduplicated actions with the observed values each depends on (`precondition`), so that
//! apply can refuse what has gone stale. [`build`] makes a plan from findings.

pub mod build;
pub mod in_use;
pub mod outcome;
pub mod spill;

pub use crate::compile::PackRef;
pub use crate::eval::Evidence;
use crate::inventory::ResourceRef;
use crate::spec::{Severity, StepName};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The plan format this build writes and reads (the history is in CHANGELOG.md).
/// Version 2 added `content_sha256` and `rule_caps`. Version 3: every action's precondition
/// carries the id of the entity it acts on (a re-created entity is stale) and, for steps that
/// disable a credential, the in-use window's start; `allowed_in_use` on actions; `to_add` in
/// the summary. A format 2 plan lacks the ids, so apply refuses it. Version 4: every action's
/// `params`, `precondition`, `before` and `after` are the serialized typed structs of its step
/// (`crate::steps`); the JSON is as in version 3, but only plans written against the typed
/// shapes are applied. (Since actions carry a typed `steps::Body`, a plan is read into those
/// types as a whole; the JSON, and so the content hash, did not change: still version 4.)
pub const PLAN_FORMAT_VERSION: u32 = 4;

/// How many findings or actions [`Plan::write_sealed`] renders at a time on one thread.
const CHUNK: usize = 1024;

/// The positions of the `i`-th chunk of `len` items (empty past the end).
fn chunk_range(len: usize, i: usize) -> std::ops::Range<usize> {
    let start = i.saturating_mul(CHUNK).min(len);
    start..start.saturating_add(CHUNK).min(len)
}

/// The `i`-th chunk of `items` (empty past the end).
fn chunk_of<T>(items: &[T], i: usize) -> &[T] {
    items.get(chunk_range(items.len(), i)).unwrap_or_default()
}

/// What [`Plan::write_sealed`] writes where the content hash goes until the hash is known:
/// as long as a hash (`sha256:` and 64 hex digits), so the hash is written over it in place.
const SEAL_PLACEHOLDER: &str =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// A plan file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// The plan format version.
    pub format_version: u32,
    /// `sha256:<hex>` of the plan's content (the plan serialized with this field empty).
    /// `apply` refuses a plan whose content no longer matches: what was reviewed is what runs.
    /// `plan --sign` signs this hash in a detached `PLAN.sig` (schema `plan-signature`), which
    /// `apply --require-signature` checks: the hash alone is no approval, anyone can recompute it.
    pub content_sha256: String,
    /// The iamwarden version that made the plan.
    pub iamwarden_version: String,
    /// When the plan was made (wall clock).
    pub created_at: DateTime<Utc>,
    /// The evaluation clock: every age in the plan is measured from this instant.
    pub now: DateTime<Utc>,
    /// The account the inventory was read from.
    pub account_id: String,
    /// The rule packs, with the digest of each pack's source.
    pub packs: Vec<PackRef>,
    /// `sha256:<hex>` of the normalized inventory the plan was made from.
    pub inventory_fingerprint: String,
    /// Per-rule caps on the number of actions (`max_actions` in the packs); `apply` refuses the
    /// whole plan when a rule has more actions than its cap.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub rule_caps: std::collections::BTreeMap<String, u32>,
    /// Every finding, exempt ones excluded (see `skipped`).
    pub findings: Vec<Finding>,
    /// The actions, in the order they must be applied.
    pub actions: Vec<Action>,
    /// Resources a rule matched but that are exempt, and steps that were not planned.
    pub skipped: Vec<Skipped>,
    /// Counts.
    pub summary: Summary,
}

/// One resource that one rule matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// The rule id.
    pub rule: std::sync::Arc<str>,
    /// The rule's severity.
    pub severity: Severity,
    /// The rule's title (parameters filled in).
    pub title: std::sync::Arc<str>,
    /// The resource.
    pub resource: ResourceRef,
    /// The value each condition leaf saw.
    pub evidence: Vec<Evidence>,
    /// Ids of the actions planned for this finding.
    #[serde(default)]
    pub actions: Vec<String>,
}

pub use crate::steps::{ChangeKind, Safety};

pub use crate::steps::{Action, Superseded};

/// Something a rule matched but iamwarden will not act on, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Skipped {
    /// The rule.
    pub rule: String,
    /// The resource.
    pub resource: ResourceRef,
    /// The step that was not planned, when the reason is about one step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<StepName>,
    /// Why.
    pub reason: String,
}

/// Plan counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// Findings (exempt ones excluded).
    pub findings: usize,
    /// Actions in all.
    pub actions: usize,
    /// Actions that add something (`+`: a quarantine policy, a tag).
    #[serde(default)]
    pub to_add: usize,
    /// Actions that modify (`~`).
    pub to_change: usize,
    /// Actions that delete.
    pub to_delete: usize,
    /// Destructive actions (apply needs `--allow-destructive`).
    pub destructive: usize,
    /// Skipped entries.
    pub skipped: usize,
}

impl Plan {
    /// Whether the plan would change anything.
    pub fn has_changes(&self) -> bool {
        !self.actions.is_empty()
    }

    /// `sha256:<hex>` of the plan serialized with `content_sha256` empty (streamed into the
    /// hash: no copy of the plan, which for 100k users is hundreds of MB).
    pub fn compute_content_hash(&mut self) -> String {
        let recorded = std::mem::take(&mut self.content_sha256);
        let hash = build::sha256_of_json(self);
        self.content_sha256 = recorded;
        hash
    }

    /// Records the content hash (the last thing done to a plan before it is written).
    pub fn seal(&mut self) {
        self.content_sha256 = self.compute_content_hash();
    }

    /// Writes the plan as the plan file holds it (pretty JSON and a final newline) to `w` and
    /// seals it in the same pass: the content hash is computed from the very serialization
    /// that is written (its compact form, `content_sha256` blank), then written over a
    /// placeholder of its length. The bytes are those of [`Plan::seal`] followed by
    /// `serde_json::to_writer_pretty` and a newline, with one serialization instead of two;
    /// the findings and actions, nearly all of it, are rendered a chunk at a time on every
    /// core while this thread writes and hashes them in order.
    pub fn write_sealed<W: std::io::Write + std::io::Seek>(
        &mut self,
        w: &mut W,
    ) -> std::io::Result<()> {
        let findings = std::mem::take(&mut self.findings);
        let render =
            |i: usize, _: &[Action]| crate::digest::render_elements(chunk_of(&findings, i));
        let written = self.write_sealed_with(w, findings.len(), &render);
        self.findings = findings;
        written
    }

    /// [`Plan::write_sealed`] of the plan whose findings are `findings` (its own `findings`
    /// being empty: [`crate::pipeline::make_spilled_plan`]): the bytes written are those
    /// [`Plan::write_sealed`] writes for the plan with the findings in it.
    pub fn write_sealed_spilled<W: std::io::Write + std::io::Seek>(
        &mut self,
        w: &mut W,
        findings: &spill::SpilledFindings,
    ) -> std::io::Result<()> {
        if !self.findings.is_empty() {
            return Err(std::io::Error::other(
                "a plan with findings of its own cannot take spilled ones",
            ));
        }
        let n = findings.len();
        let render =
            |i: usize, actions: &[Action]| findings.render_chunk(chunk_range(n, i), actions);
        self.write_sealed_with(w, n, &render)
    }

    /// [`Plan::write_sealed`] with `findings` findings rendered a chunk at a time by
    /// `render_findings(i, actions)` (chunks of [`CHUNK`]; `actions` are the plan's).
    fn write_sealed_with<W: std::io::Write + std::io::Seek>(
        &mut self,
        w: &mut W,
        findings: usize,
        render_findings: &(dyn Fn(usize, &[Action]) -> std::io::Result<crate::digest::Chunk>
              + Sync),
    ) -> std::io::Result<()> {
        use std::io::SeekFrom;
        self.content_sha256 = SEAL_PLACEHOLDER.to_string();
        let start = w.stream_position()?;
        // The findings and actions (nearly all of the text) are rendered in chunks on every
        // core, and written in their place in order; the rest is serialized here.
        let actions = std::mem::take(&mut self.actions);
        let render_findings = |i: usize| render_findings(i, &actions);
        let render_actions = |i: usize| crate::digest::render_elements(chunk_of(&actions, i));
        let spliced = [
            crate::digest::Spliced {
                key: "findings",
                chunks: findings.div_ceil(CHUNK),
                render: &render_findings,
            },
            crate::digest::Spliced {
                key: "actions",
                chunks: actions.len().div_ceil(CHUNK),
                render: &render_actions,
            },
        ];
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let written = crate::digest::write_pretty_hashing_spliced(
            &*self,
            "content_sha256",
            w,
            &spliced,
            threads,
        );
        self.actions = actions;
        self.content_sha256 = String::new();
        let written = written?;
        w.write_all(b"\n")?;
        let offset = written.value_offset.ok_or_else(|| {
            std::io::Error::other("the plan was written without its content_sha256")
        })?;
        let end = w.stream_position()?;
        w.seek(SeekFrom::Start(start + offset))?;
        w.write_all(written.sha256.as_bytes())?;
        w.seek(SeekFrom::Start(end))?;
        self.content_sha256 = written.sha256;
        Ok(())
    }

    /// Whether the recorded content hash matches the content.
    pub fn hash_matches(&mut self) -> bool {
        let computed = self.compute_content_hash();
        self.content_sha256 == computed
    }

    /// Actions per rule that exceed the rule's cap: (rule, actions, cap).
    pub fn caps_exceeded(&self) -> Vec<(String, usize, u32)> {
        self.rule_caps
            .iter()
            .filter_map(|(rule, &cap)| {
                let n = self
                    .actions
                    .iter()
                    .filter(|a| a.rules.iter().any(|r| r == rule))
                    .count();
                (n > cap as usize).then(|| (rule.clone(), n, cap))
            })
            .collect()
    }
}
