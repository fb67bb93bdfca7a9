//! The offline pipeline in one call: rules and an inventory in, a plan out.

use crate::compile::RuleSet;
use crate::eval::evaluate;
use crate::inventory::Inventory;
use crate::inventory::ResourceKind;
use crate::plan::{
    build::{build, build_with_fingerprint},
    Plan,
};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// Evaluates `rules` over `inv` at `now` and builds the plan. `created_at` is the wall clock
/// recorded in the plan (kept apart from `now` so plans are reproducible).
///
/// The inventory's fingerprint (its whole JSON, hashed) does not depend on the evaluation, so
/// it is computed on a thread of its own meanwhile, while the rules are evaluated and the
/// actions built; the plan is the one [`build`] makes of what [`evaluate`] finds.
pub fn make_plan(
    rules: &RuleSet,
    inv: &Inventory,
    now: DateTime<Utc>,
    created_at: DateTime<Utc>,
) -> Plan {
    std::thread::scope(|s| {
        let fingerprint = s.spawn(|| inv.fingerprint());
        let matches = evaluate(rules, inv, now);
        build_with_fingerprint(rules, inv, matches, now, created_at, || {
            // A panic while hashing is re-raised here, as if it had happened on this thread.
            fingerprint
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e))
        })
    })
}

/// What event mode did with each event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventReport {
    /// `eventID`.
    pub id: String,
    /// `eventName`.
    pub name: String,
    /// The resources it touched (empty when it was skipped).
    pub touched: Vec<crate::event::fold::Touched>,
    /// Why it was not applied to the inventory, if it was not.
    pub skipped: Option<String>,
    /// What of the state was unknown (the inventory lacked it and the event did not carry it):
    /// the resources were judged on what the event carries.
    pub unknown: Vec<String>,
}

/// Event mode: folds `events` into `inv`, judges the resources they touched with the rules
/// that react to them (`on_events`), and builds the plan; each action records the ids of the
/// events that led to it.
pub fn make_event_plan(
    rules: &RuleSet,
    mut inv: Inventory,
    events: &[crate::event::IamEvent],
    now: DateTime<Utc>,
    created_at: DateTime<Utc>,
) -> (Plan, Vec<EventReport>) {
    use std::collections::BTreeSet;
    let mut reports = Vec::new();
    for e in events {
        // A fold that fails leaves the inventory as it was (event::tests checks every kind),
        // so events fold into the one inventory, with no copy per event.
        match crate::event::fold(&mut inv, e) {
            Ok(folded) => {
                reports.push(EventReport {
                    id: e.id.clone(),
                    name: e.name.to_string(),
                    touched: folded.touched,
                    skipped: None,
                    unknown: folded.unknown,
                });
            }
            Err(why) => reports.push(EventReport {
                id: e.id.clone(),
                name: e.name.to_string(),
                touched: Vec::new(),
                skipped: Some(why),
                unknown: Vec::new(),
            }),
        }
    }
    inv.normalize();
    // (kind, id) -> the events that touched it, with their names.
    let mut by_resource: HashMap<(crate::inventory::ResourceKind, &str), Vec<(&str, &str)>> =
        HashMap::new();
    for r in &reports {
        for (kind, id) in &r.touched {
            by_resource
                .entry((*kind, id.as_str()))
                .or_default()
                .push((r.id.as_str(), r.name.as_str()));
        }
    }
    let triggers = |rule: &crate::compile::Rule, kind, id: &str| -> Vec<String> {
        by_resource
            .get(&(kind, id))
            .map(|evs| {
                evs.iter()
                    .filter(|(_, name)| rule.on_events.iter().any(|n| n == name))
                    .map(|(id, _)| id.to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    // Only the touched records, with only the rules that react to an event of the batch.
    let names: BTreeSet<&str> = reports
        .iter()
        .filter(|r| !r.touched.is_empty())
        .map(|r| r.name.as_str())
        .collect();
    let targets = record_indices(&inv, by_resource.keys().copied());
    let matches: Vec<_> = crate::eval::evaluate_records(rules, &inv, now, &targets, |r| {
        r.on_events.iter().any(|n| names.contains(n.as_str()))
    })
    .into_iter()
    .filter(|m| {
        rules
            .rules
            .get(m.rule)
            .is_some_and(|r| !triggers(r, m.kind, &m.resource.id).is_empty())
    })
    .collect();
    let finding_events: Vec<Vec<String>> = matches
        .iter()
        .filter(|m| m.exempt.is_none())
        .map(|m| {
            rules
                .rules
                .get(m.rule)
                .map(|r| triggers(r, m.kind, &m.resource.id))
                .unwrap_or_default()
        })
        .collect();
    let mut plan = build(rules, &inv, matches, now, created_at);
    let mut per_action: HashMap<&str, BTreeSet<String>> = HashMap::new();
    for (f, evs) in plan.findings.iter().zip(&finding_events) {
        for a in &f.actions {
            per_action
                .entry(a.as_str())
                .or_default()
                .extend(evs.iter().cloned());
        }
    }
    let per_action: HashMap<String, Vec<String>> = per_action
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.into_iter().collect()))
        .collect();
    for a in &mut plan.actions {
        if let Some(evs) = per_action.get(&a.id) {
            a.triggered_by = evs.clone();
        }
    }
    plan.seal();
    (plan, reports)
}

/// The record index of each `(kind, id)`, per kind, ascending; ids the inventory lacks are left
/// out. One pass over the collections named, whatever the number of ids.
fn record_indices<'a>(
    inv: &Inventory,
    wanted: impl Iterator<Item = (ResourceKind, &'a str)>,
) -> HashMap<ResourceKind, Vec<usize>> {
    let mut ids: HashMap<ResourceKind, std::collections::HashSet<&str>> = HashMap::new();
    for (kind, id) in wanted {
        ids.entry(kind).or_default().insert(id);
    }
    ids.into_iter()
        .map(|(kind, ids)| {
            let found: Vec<usize> = (0..inv.len_of(kind))
                .filter(|&i| {
                    inv.resource_ref(kind, i)
                        .is_some_and(|r| ids.contains(r.id.as_str()))
                })
                .collect();
            (kind, found)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::eval::{evaluate_records, Match};

    fn demo() -> (RuleSet, Inventory, DateTime<Utc>) {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/demo-account.json"
        );
        let inv = crate::inventory::snapshot::load(std::path::Path::new(path)).unwrap();
        let rules = crate::packs::load_rule_set(&[]).unwrap();
        let now = DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        (rules, inv, now)
    }

    fn keys(ms: &[Match]) -> Vec<(usize, ResourceKind, usize, String)> {
        ms.iter()
            .map(|m| (m.rule, m.kind, m.index, format!("{:?}", m.evidence)))
            .collect()
    }

    #[test]
    fn judging_some_records_gives_what_judging_all_gives_for_them() {
        let (rules, inv, now) = demo();
        let all = evaluate(&rules, &inv, now);
        assert!(all.len() > 10, "{}", all.len());
        let every: HashMap<ResourceKind, Vec<usize>> = ResourceKind::ALL
            .iter()
            .map(|&k| (k, (0..inv.len_of(k)).collect()))
            .collect();
        assert_eq!(
            keys(&evaluate_records(&rules, &inv, now, &every, |_| true)),
            keys(&all)
        );
        // Every other user, with only the rules that react to CreateAccessKey.
        let some: HashMap<ResourceKind, Vec<usize>> = [(
            ResourceKind::User,
            (0..inv.len_of(ResourceKind::User)).step_by(2).collect(),
        )]
        .into();
        let reacting =
            |r: &crate::compile::Rule| r.on_events.iter().any(|n| n.as_str() == "CreateAccessKey");
        let expected: Vec<Match> = all
            .iter()
            .filter(|m| m.kind == ResourceKind::User && m.index % 2 == 0)
            .filter(|m| reacting(&rules.rules[m.rule]))
            .cloned()
            .collect();
        let got = evaluate_records(&rules, &inv, now, &some, reacting);
        assert_eq!(keys(&got), keys(&expected));
    }
}
