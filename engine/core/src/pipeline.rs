//! The offline pipeline in one call: rules and an inventory in, a plan out.

use crate::compile::RuleSet;
use crate::eval::evaluate;
use crate::inventory::Inventory;
use crate::plan::{build::build, Plan};
use chrono::{DateTime, Utc};

/// Evaluates `rules` over `inv` at `now` and builds the plan. `created_at` is the wall clock
/// recorded in the plan (kept apart from `now` so plans are reproducible).
pub fn make_plan(
    rules: &RuleSet,
    inv: &Inventory,
    now: DateTime<Utc>,
    created_at: DateTime<Utc>,
) -> Plan {
    let matches = evaluate(rules, inv, now);
    build(rules, inv, matches, now, created_at)
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
    use std::collections::{BTreeSet, HashMap};
    let mut reports = Vec::new();
    for e in events {
        let mut trial = inv.clone();
        match crate::event::fold(&mut trial, e) {
            Ok(folded) => {
                inv = trial;
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
    let matches: Vec<_> = evaluate(rules, &inv, now)
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
