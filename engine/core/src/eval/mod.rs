//! Evaluation, pure and deterministic: (compiled rules, inventory, clock) -> findings.
//!
//! Each collection is turned into JSON values a chunk at a time, once for all the rules that
//! select it; each rule's filter and condition run over those values. Findings carry the value
//! every condition leaf saw (evidence) and their remediation steps rendered for the resource.
//! Nothing here reads a file, the network or the system clock.

pub mod explain;

use crate::compile::{CompiledPath, Condition, Exempt, Leaf, Rule, RuleSet, Selection};
use crate::inventory::{Inventory, ResourceKind, ResourceRef};
use crate::policy::wildcard_match;
use crate::spec::StepName;
use chrono::{DateTime, Utc};
use jsonpath_rust::query::js_path_process;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

/// How many records are turned into JSON at a time.
const CHUNK: usize = 512;

/// What one condition leaf saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// The leaf's path (the fallback's, when the fallback supplied the value).
    pub path: std::sync::Arc<str>,
    /// The operator.
    pub op: std::borrow::Cow<'static, str>,
    /// The operand.
    pub expected: std::sync::Arc<Value>,
    /// The value found; `null` when missing.
    pub actual: Value,
    /// Whether the leaf held.
    pub held: bool,
    /// Under a `not`: the leaf's result was inverted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub negated: bool,
}

/// A rule matched a resource.
#[derive(Debug, Clone)]
pub struct Match {
    /// Index of the rule in the rule set.
    pub rule: usize,
    /// The resource's kind.
    pub kind: ResourceKind,
    /// The resource's index in its collection.
    pub index: usize,
    /// How the plan names the resource.
    pub resource: ResourceRef,
    /// What each leaf saw.
    pub evidence: Vec<Evidence>,
    /// The rule's steps with parameters rendered for this resource.
    pub steps: Vec<(StepName, Value)>,
    /// Steps that could not be planned for this resource, and why.
    pub step_errors: Vec<(StepName, String)>,
    /// `Some(reason)` when the resource is exempt.
    pub exempt: Option<String>,
}

/// A unit of work: the records `start..end` of one collection, and the rules that select it.
type Unit<'a> = (ResourceKind, usize, usize, Vec<(usize, &'a Rule)>);

/// Evaluates every rule over the inventory at the instant `now`.
///
/// The work is split into (collection, chunk) units shared by up to `available_parallelism`
/// threads; results are put back in unit order, so the output does not depend on scheduling.
/// Evaluation cannot fail: a step whose template cannot be rendered for a resource is reported
/// in [`Match::step_errors`] and planned as skipped.
pub fn evaluate(set: &RuleSet, inv: &Inventory, now: DateTime<Utc>) -> Vec<Match> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    evaluate_with_threads(set, inv, now, threads)
}

/// [`evaluate`] with an explicit number of threads (1: all on the calling thread).
pub fn evaluate_with_threads(
    set: &RuleSet,
    inv: &Inventory,
    now: DateTime<Utc>,
    threads: usize,
) -> Vec<Match> {
    let mut units = Vec::new();
    evaluate_streamed(set, inv, now, threads, |m| m, |m| units.push(m));
    // One allocation of the final size (extending as units come would grow it by doubling).
    let mut all = Vec::with_capacity(units.iter().map(Vec::len).sum());
    for m in units {
        all.extend(m);
    }
    all
}

/// [`evaluate`] as a stream: the matches come in [`evaluate`]'s order, a unit (a chunk of
/// one collection's records) at a time, so a caller that consumes them as they come
/// never holds every match at once. `work` runs on the evaluating threads, on each unit's
/// matches (for what can be done on them beside evaluation); `sink` gets what it returns, in
/// order, on the calling thread.
///
/// With `threads` above 1, that many threads evaluate while the calling thread consumes; with
/// 1 (or when the system refuses a thread), everything runs on the calling thread.
pub fn evaluate_streamed<T: Send>(
    set: &RuleSet,
    inv: &Inventory,
    now: DateTime<Utc>,
    threads: usize,
    work: impl Fn(Vec<Match>) -> T + Sync,
    mut sink: impl FnMut(T),
) {
    let now_text = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut units: Vec<Unit<'_>> = Vec::new();
    for kind in ResourceKind::ALL {
        let rules: Vec<(usize, &Rule)> = set
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.kind == kind)
            .collect();
        if rules.is_empty() {
            continue;
        }
        let len = inv.len_of(kind);
        let mut start = 0;
        while start < len {
            let end = (start + CHUNK).min(len);
            units.push((kind, start, end, rules.clone()));
            start = end;
        }
    }
    let run = |unit: &Unit<'_>| {
        let (kind, start, end, rules) = unit;
        let indices: Vec<usize> = (*start..*end).collect();
        work(eval_chunk(set, inv, now, &now_text, *kind, &indices, rules))
    };
    let threads = threads.clamp(1, units.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let claim = || {
        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        units.get(i).map(|u| (i, u))
    };
    std::thread::scope(|s| {
        // Bounded: when the consumer lags (one thread building what several evaluate), the
        // evaluating threads wait instead of piling up units of matches in memory.
        let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, T)>(threads * 2);
        let mut started = 0;
        if threads > 1 {
            for _ in 0..threads {
                let tx = tx.clone();
                let (run, claim) = (&run, &claim);
                let spawned = std::thread::Builder::new()
                    .name("evaluate".into())
                    .spawn_scoped(s, move || {
                        while let Some((i, unit)) = claim() {
                            if tx.send((i, run(unit))).is_err() {
                                break;
                            }
                        }
                    });
                started += usize::from(spawned.is_ok());
            }
        }
        drop(tx);
        if started == 0 {
            // No thread to evaluate on: this one does it all, in order.
            while let Some((_, unit)) = claim() {
                sink(run(unit));
            }
            return;
        }
        // Units finish out of order: each is held until those before it have been consumed.
        // (A worker that panics drops its sender; the scope re-raises the panic once the
        // others are done, so a partial result is never returned as whole.)
        let mut waiting = std::collections::BTreeMap::new();
        let mut due = 0;
        for (i, out) in rx {
            waiting.insert(i, out);
            while let Some(out) = waiting.remove(&due) {
                sink(out);
                due += 1;
            }
        }
    });
}

#[allow(clippy::too_many_arguments)]
fn eval_chunk(
    set: &RuleSet,
    inv: &Inventory,
    now: DateTime<Utc>,
    now_text: &str,
    kind: ResourceKind,
    indices: &[usize],
    rules: &[(usize, &Rule)],
) -> Vec<Match> {
    let mut out = Vec::new();
    let effective = (kind == ResourceKind::User
        && rules.iter().any(|(_, r)| reads_effective_policy(r)))
    .then(|| EffectiveIndex::new(inv));
    let chunk: Vec<Value> = indices
        .iter()
        .map(|&i| {
            let mut v = inv.record_value(kind, i).unwrap_or(Value::Null);
            if let (Some(ix), Some(u), Value::Object(m)) = (&effective, inv.users.get(i), &mut v) {
                m.insert("effective_policy".into(), ix.document_of(u));
            }
            v
        })
        .collect();
    let array = Value::Array(chunk);
    let items = array.as_array().map(Vec::as_slice).unwrap_or_default();
    for &(ri, rule) in rules {
        let selected: Vec<usize> = match &rule.selection {
            Selection::All => (0..items.len()).collect(),
            Selection::Native(c) => items
                .iter()
                .enumerate()
                .filter(|(_, v)| holds(c, v, now, &mut None, false))
                .map(|(i, _)| i)
                .collect(),
            Selection::Filter(q) => js_path_process(q, &array)
                .map(|refs| refs.iter().filter_map(|r| index_of(&r.path)).collect())
                .unwrap_or_default(),
        };
        for i in selected {
            let (Some(record), Some(&index)) = (items.get(i), indices.get(i)) else {
                continue;
            };
            if let Some(m) = judge(set, ri, rule, kind, index, record, inv, now, now_text) {
                out.push(m);
            }
        }
    }
    // Within a chunk, keep resource order first, then rule order: the same order as
    // evaluating resource by resource.
    out.sort_by_key(|m| (m.index, m.rule));
    out
}

/// [`evaluate`] over some records only: for each kind, the records at `targets[kind]`
/// (ascending), judged by the rules `wanted` accepts. The matches are those [`evaluate`] gives
/// for these records and rules, in the same order; the cost is that of the records named, not
/// of the inventory (event mode judges what its events touched this way).
pub fn evaluate_records(
    set: &RuleSet,
    inv: &Inventory,
    now: DateTime<Utc>,
    targets: &HashMap<ResourceKind, Vec<usize>>,
    wanted: impl Fn(&Rule) -> bool,
) -> Vec<Match> {
    let now_text = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut out = Vec::new();
    for kind in ResourceKind::ALL {
        let Some(indices) = targets.get(&kind).filter(|v| !v.is_empty()) else {
            continue;
        };
        let rules: Vec<(usize, &Rule)> = set
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.kind == kind && wanted(r))
            .collect();
        if rules.is_empty() {
            continue;
        }
        for chunk in indices.chunks(CHUNK) {
            out.extend(eval_chunk(set, inv, now, &now_text, kind, chunk, &rules));
        }
    }
    out
}

/// The index of the record of `kind` whose id, name or ARN is `key`.
pub fn find_record(inv: &Inventory, kind: ResourceKind, key: &str) -> Option<usize> {
    (0..inv.len_of(kind)).find(|&i| {
        inv.resource_ref(kind, i)
            .is_some_and(|r| r.id == key || r.name == key || r.arn.as_deref() == Some(key))
    })
}

/// Explains rule `rule` on record `index` of the rule's collection (see [`explain`]).
pub fn explain_record(
    rule: &Rule,
    inv: &Inventory,
    index: usize,
    now: DateTime<Utc>,
) -> Option<explain::Explanation> {
    let kind = rule.kind;
    let with_effective = |i: usize, ix: &Option<EffectiveIndex<'_>>| {
        let mut v = inv.record_value(kind, i).unwrap_or(Value::Null);
        if let (Some(ix), Some(u), Value::Object(m)) = (ix, inv.users.get(i), &mut v) {
            m.insert("effective_policy".into(), ix.document_of(u));
        }
        v
    };
    let ix = (kind == ResourceKind::User && reads_effective_policy(rule))
        .then(|| EffectiveIndex::new(inv));
    let record = (index < inv.len_of(kind)).then(|| with_effective(index, &ix))?;
    let selected = match &rule.selection {
        Selection::All => true,
        Selection::Native(c) => holds(c, &record, now, &mut None, false),
        Selection::Filter(q) => {
            let all = Value::Array(
                (0..inv.len_of(kind))
                    .map(|i| with_effective(i, &ix))
                    .collect(),
            );
            js_path_process(q, &all)
                .map(|refs| refs.iter().any(|r| index_of(&r.path) == Some(index)))
                .unwrap_or(false)
        }
    };
    Some(explain::explain(rule, &record, selected, now))
}

/// Whether a rule reads `effective_policy` (computed only then: it copies statements).
fn reads_effective_policy(r: &Rule) -> bool {
    fn walk(c: &Condition) -> bool {
        match c {
            Condition::All(cs) | Condition::Any(cs) => cs.iter().any(walk),
            Condition::Not(c) => walk(c),
            Condition::Leaf(l) => {
                l.path.text().contains("effective_policy")
                    || l.fallback
                        .as_ref()
                        .is_some_and(|f| f.text().contains("effective_policy"))
            }
        }
    }
    r.when.as_ref().is_some_and(walk)
}

/// What a user's effective policy is made of: managed default documents by ARN, groups by
/// name, inline documents by owner.
struct EffectiveIndex<'a> {
    managed: HashMap<&'a str, &'a Value>,
    groups: HashMap<&'a str, &'a crate::inventory::Group>,
    inline: HashMap<(crate::inventory::OwnerKind, &'a str), Vec<&'a Value>>,
}

impl<'a> EffectiveIndex<'a> {
    fn new(inv: &'a Inventory) -> EffectiveIndex<'a> {
        let mut inline: HashMap<(crate::inventory::OwnerKind, &str), Vec<&Value>> = HashMap::new();
        for p in &inv.inline_policies {
            inline
                .entry((p.owner_kind, p.owner.as_str()))
                .or_default()
                .push(&p.document);
        }
        EffectiveIndex {
            managed: inv
                .managed_policies
                .iter()
                .map(|p| (p.arn.as_str(), &p.default_document))
                .collect(),
            groups: inv.groups.iter().map(|g| (g.name.as_str(), g)).collect(),
            inline,
        }
    }

    /// One document with every statement of every policy that applies to `u`.
    fn document_of(&self, u: &crate::inventory::User) -> Value {
        use crate::inventory::OwnerKind;
        let mut docs: Vec<&Value> = Vec::new();
        docs.extend(
            u.attached_policies
                .iter()
                .filter_map(|a| self.managed.get(a.as_str()).copied()),
        );
        docs.extend(
            self.inline
                .get(&(OwnerKind::User, u.name.as_str()))
                .into_iter()
                .flatten()
                .copied(),
        );
        for g in u.groups.iter().filter_map(|g| self.groups.get(g.as_str())) {
            docs.extend(
                g.attached_policies
                    .iter()
                    .filter_map(|a| self.managed.get(a.as_str()).copied()),
            );
            docs.extend(
                self.inline
                    .get(&(OwnerKind::Group, g.name.as_str()))
                    .into_iter()
                    .flatten()
                    .copied(),
            );
        }
        let mut statements: Vec<Value> = Vec::new();
        for d in docs {
            match d.get("Statement") {
                Some(Value::Array(items)) => statements.extend(items.iter().cloned()),
                Some(one @ Value::Object(_)) => statements.push(one.clone()),
                _ => {}
            }
        }
        serde_json::json!({"Version": "2012-10-17", "Statement": statements})
    }
}

/// `$[12]` -> 12.
fn index_of(path: &str) -> Option<usize> {
    path.strip_prefix("$[")?.strip_suffix(']')?.parse().ok()
}

#[allow(clippy::too_many_arguments)]
fn judge(
    set: &RuleSet,
    ri: usize,
    rule: &Rule,
    kind: ResourceKind,
    index: usize,
    record: &Value,
    inv: &Inventory,
    now: DateTime<Utc>,
    now_text: &str,
) -> Option<Match> {
    let holds = match &rule.when {
        None => true,
        Some(c) => holds(c, record, now, &mut None, false),
    };
    if !holds {
        return None;
    }
    let mut evidence = Vec::new();
    if let Some(c) = &rule.when {
        holds_with(c, record, now, &mut evidence);
    }
    let resource = inv.resource_ref(kind, index)?;
    let exempt = exempt_reason(&rule.exempt, record);
    let mut steps = Vec::new();
    let mut step_errors = Vec::new();
    if exempt.is_none() && !rule.steps.is_empty() {
        // Templates see the resource through a context that copies it: build it only when a
        // step has a template.
        let ctx = if rule
            .steps
            .iter()
            .any(|s| s.params.iter().any(|(_, p)| p.has_template()))
        {
            crate::compile::template_context(
                record,
                &rule.params,
                &rule.id,
                &inv.account.id,
                inv.account.alias.as_deref(),
                now_text,
            )
        } else {
            Value::Null
        };
        'steps: for st in &rule.steps {
            let mut params = serde_json::Map::new();
            for (name, pv) in &st.params {
                match pv.render(&set.templates, &ctx, record) {
                    Ok(v) => {
                        params.insert(name.clone(), v);
                    }
                    Err(message) => {
                        // This resource lacks what the template needs (a tag, an optional
                        // field): the step is not planned for it, and the plan says why.
                        step_errors.push((
                            st.name,
                            format!("parameter `{name}` cannot be rendered for this resource: {message}"),
                        ));
                        continue 'steps;
                    }
                }
            }
            steps.push((st.name, Value::Object(params)));
        }
    }
    Some(Match {
        rule: ri,
        kind,
        index,
        resource,
        evidence,
        steps,
        step_errors,
        exempt,
    })
}

fn holds_with(c: &Condition, record: &Value, now: DateTime<Utc>, ev: &mut Vec<Evidence>) -> bool {
    let mut slot = Some(ev);
    holds(c, record, now, &mut slot, false)
}

/// Whether `c` holds for `record`; records evidence of the leaves it evaluates when asked.
fn holds(
    c: &Condition,
    record: &Value,
    now: DateTime<Utc>,
    ev: &mut Option<&mut Vec<Evidence>>,
    negated: bool,
) -> bool {
    match c {
        Condition::All(cs) => cs.iter().all(|x| holds(x, record, now, ev, negated)),
        Condition::Any(cs) => cs.iter().any(|x| holds(x, record, now, ev, negated)),
        Condition::Not(x) => !holds(x, record, now, ev, !negated),
        Condition::Leaf(leaf) => {
            let (held, path, actual) = leaf_holds(leaf, record, now);
            if let Some(list) = ev.as_mut() {
                list.push(Evidence {
                    path: path.shared_text(),
                    op: std::borrow::Cow::Borrowed(leaf.op_name),
                    expected: leaf.operand.clone(),
                    actual,
                    held,
                    negated,
                });
            }
            held
        }
    }
}

/// Evaluates one leaf: whether it held, which path supplied the value, and the value seen.
pub fn leaf_holds<'l>(
    leaf: &'l Leaf,
    record: &Value,
    now: DateTime<Utc>,
) -> (bool, &'l CompiledPath, Value) {
    let mut path = &leaf.path;
    let mut vals = leaf.path.values(record);
    if vals.is_empty() {
        if let Some(fb) = &leaf.fallback {
            vals = fb.values(record);
            path = fb;
        }
    }
    // An operator may show something else than the values (a policy check: its witnesses).
    let shown = (!vals.is_empty())
        .then(|| leaf.op.evidence(&vals))
        .flatten();
    let actual = match (shown, vals.as_slice()) {
        (Some(v), _) => v,
        (None, []) => Value::Null,
        (None, [one]) => (*one).clone(),
        (None, many) => Value::Array(many.iter().map(|v| (*v).clone()).collect()),
    };
    let held = match leaf.op.on_missing() {
        _ if !vals.is_empty() => vals.iter().any(|v| leaf.op.holds(v, now)),
        Some(held) => held,
        None => leaf.if_missing,
    };
    (held, path, actual)
}

/// Why `record` is exempt, if it is: an exemption of the whole rule, else the first matching
/// ARN glob, name glob or tag.
pub fn exempt_reason(e: &Exempt, record: &Value) -> Option<String> {
    if let Some(src) = e.all.first() {
        return Some(format!("exempt: the rule is exempt ({src})"));
    }
    let strings = |fields: &[&str]| -> Vec<String> {
        fields
            .iter()
            .filter_map(|f| record.get(*f).and_then(Value::as_str).map(str::to_string))
            .collect()
    };
    let arns = strings(&["arn", "user_arn", "owner_arn"]);
    for (glob, src) in &e.arns {
        if let Some(a) = arns.iter().find(|a| wildcard_match(glob, a, false)) {
            return Some(format!("exempt: ARN {a} matches `{glob}` ({src})"));
        }
    }
    let names = strings(&["id", "name", "user", "owner"]);
    for (glob, src) in &e.names {
        if let Some(n) = names.iter().find(|n| wildcard_match(glob, n, false)) {
            return Some(format!("exempt: name {n} matches `{glob}` ({src})"));
        }
    }
    for field in ["tags", "user_tags", "owner_tags"] {
        let Some(tags) = record.get(field).and_then(Value::as_object) else {
            continue;
        };
        for (k, want, src) in &e.tags {
            if let Some(v) = tags.get(k).and_then(Value::as_str) {
                if want == "*" || v == want {
                    let whose = if field == "tags" { "" } else { "owner's " };
                    return Some(format!("exempt: {whose}tag {k}={v} ({src})"));
                }
            }
        }
    }
    None
}
