//! The offline pipeline in one call: rules and an inventory in, a plan out.

use crate::compile::RuleSet;
use crate::eval::evaluate_streamed;
use crate::inventory::Inventory;
use crate::inventory::ResourceKind;
use crate::plan::{
    build::{build, stage, FindingStore, PlanBuilder},
    spill::{Spill, SpilledFindings},
    Plan,
};
use crate::steps::Index;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// Evaluates `rules` over `inv` at `now` and builds the plan. `created_at` is the wall clock
/// recorded in the plan (kept apart from `now` so plans are reproducible).
///
/// Evaluation and building run side by side (see [`make_spilled_plan`] for the findings kept
/// out of memory); the plan is the one [`build`] makes of what [`crate::eval::evaluate`] finds.
pub fn make_plan(
    rules: &RuleSet,
    inv: &Inventory,
    now: DateTime<Utc>,
    created_at: DateTime<Utc>,
) -> Plan {
    let mut plan = make_unsealed_plan(rules, inv, now, created_at);
    plan.seal();
    plan
}

/// [`make_plan`] without the seal (`content_sha256` empty): for a caller that writes the plan
/// with [`Plan::write_sealed`], which seals it from the serialization it writes, or that only
/// shows the diff. A plan must be sealed before it is written any other way.
pub fn make_unsealed_plan(
    rules: &RuleSet,
    inv: &Inventory,
    now: DateTime<Utc>,
    created_at: DateTime<Utc>,
) -> Plan {
    let (mut plan, findings) = stream_plan(rules, inv, now, created_at, Vec::new());
    plan.findings = findings;
    plan
}

/// [`make_unsealed_plan`] with the findings written to `spill` (an empty temporary file,
/// open for reading and writing) as they are found, instead of kept: the plan's `findings`
/// are empty, and [`Plan::write_sealed_spilled`] writes them from the file. The plan written
/// is the one [`make_unsealed_plan`] gives, byte for byte; memory holds the inventory and the
/// actions, not the findings (at 100k users, 180 MB less).
pub fn make_spilled_plan(
    rules: &RuleSet,
    inv: &Inventory,
    now: DateTime<Utc>,
    created_at: DateTime<Utc>,
    spill: std::fs::File,
) -> std::io::Result<(Plan, SpilledFindings)> {
    let (plan, spill) = stream_plan(rules, inv, now, created_at, Spill::new(spill));
    Ok((plan, spill.finish()?))
}

/// Evaluates and builds side by side: the evaluating threads stage each unit's matches (their
/// findings made, and rendered for a store that keeps them rendered) and this thread adds them
/// to the plan in order, so the matches are never all held at once. The inventory's
/// fingerprint (its whole JSON, hashed) does not depend on the evaluation: it is computed on a
/// thread of its own while the actions are deduplicated and ordered.
fn stream_plan<S: FindingStore>(
    rules: &RuleSet,
    inv: &Inventory,
    now: DateTime<Utc>,
    created_at: DateTime<Utc>,
    store: S,
) -> (Plan, S) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let ix = Index::new(inv);
    let mut b = PlanBuilder::new(rules, &ix, now, store);
    evaluate_streamed(
        rules,
        inv,
        now,
        threads,
        |matches| stage::<S>(rules, matches),
        |staged| {
            for st in staged {
                b.add(st);
            }
        },
    );
    std::thread::scope(|s| {
        let fingerprint = s.spawn(|| inv.fingerprint());
        b.finish(created_at, || {
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
///
/// The work after folding costs what the events touched: the touched records and what their
/// derived fields come from are taken out of the folded inventory
/// ([`Inventory::neighbourhood`]) and judged and planned there, so the account is neither
/// normalized again nor indexed nor hashed whole (and is freed on a thread of its own). The plan's `inventory_fingerprint` is that of
/// this neighbourhood: the part of the account the plan was judged on.
pub fn make_event_plan(
    rules: &RuleSet,
    mut inv: Inventory,
    events: &[crate::event::IamEvent],
    now: DateTime<Utc>,
    created_at: DateTime<Utc>,
) -> (Plan, Vec<EventReport>) {
    let reports = fold_events(&mut inv, events);
    let judged = inv.neighbourhood(
        reports
            .iter()
            .flat_map(|r| r.touched.iter().map(|(kind, id)| (*kind, id.as_str()))),
    );
    // Freeing the folded account costs what the account holds: off the caller's path (if no
    // thread can be started, the closure and the inventory are dropped here).
    let _ = std::thread::Builder::new()
        .name("iamwarden-free".to_string())
        .spawn(move || drop(inv));
    (
        judge_events(rules, &judged, &reports, now, created_at),
        reports,
    )
}

/// Folds `events` into `inv` in order, with one [`crate::event::Lookup`] for the batch; what
/// each did. A fold that fails leaves the inventory as it was (event::tests checks every kind),
/// so events fold into the one inventory, with no copy per event.
fn fold_events(inv: &mut Inventory, events: &[crate::event::IamEvent]) -> Vec<EventReport> {
    let mut look = crate::event::Lookup::default();
    events
        .iter()
        .map(|e| match crate::event::fold_with(inv, &mut look, e) {
            Ok(folded) => EventReport {
                id: e.id.clone(),
                name: e.name.to_string(),
                touched: folded.touched,
                skipped: None,
                unknown: folded.unknown,
            },
            Err(why) => EventReport {
                id: e.id.clone(),
                name: e.name.to_string(),
                touched: Vec::new(),
                skipped: Some(why),
                unknown: Vec::new(),
            },
        })
        .collect()
}

/// Judges the touched records of `inv` (normalized: the neighbourhood, or in tests the whole
/// folded account) with the rules that react to an event of the batch, and builds the plan.
fn judge_events(
    rules: &RuleSet,
    inv: &Inventory,
    reports: &[EventReport],
    now: DateTime<Utc>,
    created_at: DateTime<Utc>,
) -> Plan {
    use std::collections::BTreeSet;
    // (kind, id) -> the events that touched it, with their names.
    let mut by_resource: HashMap<(crate::inventory::ResourceKind, &str), Vec<(&str, &str)>> =
        HashMap::new();
    for r in reports {
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
    let targets = record_indices(inv, by_resource.keys().copied());
    let matches: Vec<_> = crate::eval::evaluate_records(rules, inv, now, &targets, |r| {
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
    let mut plan = build(rules, inv, matches, now, created_at);
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
    plan
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
    use crate::eval::evaluate;
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

    /// Every sample event of `examples/events`.
    fn sample_events() -> Vec<crate::event::IamEvent> {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/events");
        let mut paths: Vec<_> = std::fs::read_dir(root)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        let mut events = Vec::new();
        for p in paths {
            let bytes = std::fs::read(&p).unwrap();
            events.extend(crate::event::read(&bytes, "sample").unwrap().events);
        }
        events.sort_by(|a, b| a.time.cmp(&b.time).then(a.id.cmp(&b.id)));
        events
    }

    /// Every record of `inv`, by kind and id.
    fn every_record(inv: &Inventory) -> Vec<(ResourceKind, String)> {
        ResourceKind::ALL
            .iter()
            .flat_map(|&k| {
                (0..inv.len_of(k)).filter_map(move |i| inv.resource_ref(k, i).map(|r| (k, r.id)))
            })
            .collect()
    }

    fn record_json(inv: &Inventory, kind: ResourceKind, id: &str) -> Option<serde_json::Value> {
        let i = (0..inv.len_of(kind))
            .find(|&i| inv.resource_ref(kind, i).is_some_and(|r| r.id == id))?;
        inv.record_value(kind, i)
    }

    /// The owner user a seed's fields are copied from: it must be exact too.
    fn owner_of(inv: &Inventory, kind: ResourceKind, id: &str) -> Option<String> {
        let user_id = |name: &str| {
            inv.users
                .iter()
                .find(|u| u.name == name)
                .map(|u| u.id.clone())
        };
        match kind {
            ResourceKind::AccessKey => inv
                .access_keys
                .iter()
                .find(|k| k.id == id)
                .and_then(|k| user_id(&k.user)),
            ResourceKind::LoginProfile => inv
                .login_profiles
                .iter()
                .find(|l| l.id == id)
                .and_then(|l| user_id(&l.user)),
            ResourceKind::MfaDevice => inv.mfa_devices.iter().find(|m| m.id == id).and_then(|m| {
                m.user
                    .as_deref()
                    .or(m.last_user.as_deref())
                    .and_then(user_id)
            }),
            ResourceKind::InlinePolicy => inv
                .inline_policies
                .iter()
                .find(|p| p.id == id && p.owner_kind == crate::inventory::OwnerKind::User)
                .and_then(|p| user_id(&p.owner)),
            _ => None,
        }
    }

    /// Issue 13: the neighbourhood of a record gives it (and its owner) exactly the fields a
    /// normalize of the whole folded account gives it, for every record of the demo account
    /// after every sample event, one seed at a time and all the events' seeds at once.
    #[test]
    fn the_neighbourhood_gives_each_seed_what_a_full_normalize_gives() {
        let (_, mut inv, _) = demo();
        let reports = fold_events(&mut inv, &sample_events());
        assert!(reports.iter().filter(|r| r.skipped.is_none()).count() >= 15);
        let mut full = inv.clone();
        full.normalize();
        let check = |seeds: &[(ResourceKind, String)]| {
            let part = inv.neighbourhood(seeds.iter().map(|(k, id)| (*k, id.as_str())));
            assert!(
                part.users.len() < full.users.len() || seeds.len() > 1,
                "{seeds:?}"
            );
            for (kind, id) in seeds {
                let want = record_json(&full, *kind, id);
                assert!(want.is_some(), "{kind:?} {id}");
                assert_eq!(record_json(&part, *kind, id), want, "{kind:?} {id}");
                if let Some(owner) = owner_of(&full, *kind, id) {
                    assert_eq!(
                        record_json(&part, ResourceKind::User, &owner),
                        record_json(&full, ResourceKind::User, &owner),
                        "the owner of {kind:?} {id}"
                    );
                }
            }
            assert_eq!(part.account, full.account);
        };
        let all = every_record(&full);
        assert!(all.len() > 150, "{}", all.len());
        for seed in &all {
            check(std::slice::from_ref(seed));
        }
        let touched: Vec<(ResourceKind, String)> = reports
            .iter()
            .flat_map(|r| r.touched.iter().cloned())
            .filter(|(k, id)| record_json(&full, *k, id).is_some())
            .collect();
        assert!(touched.len() >= 15, "{}", touched.len());
        check(&touched);
    }

    /// Issue 13: judging and planning on the neighbourhood gives the plan that judging and
    /// planning on the whole folded, normalized account gives (all but the fingerprint, which
    /// is of what was judged, and so the plan's hash).
    #[test]
    fn an_event_plan_on_the_neighbourhood_is_the_plan_on_the_whole_account() {
        let (rules, inv, now) = demo();
        let events = sample_events();
        let (plan, reports) = make_event_plan(&rules, inv.clone(), &events, now, now);
        let mut whole = inv;
        let again = fold_events(&mut whole, &events);
        assert_eq!(again, reports);
        whole.normalize();
        let reference = judge_events(&rules, &whole, &reports, now, now);
        let comparable = |p: &Plan| {
            let mut v = serde_json::to_value(p).unwrap();
            let m = v.as_object_mut().unwrap();
            m.remove("inventory_fingerprint");
            m.remove("content_sha256");
            v
        };
        assert!(!plan.findings.is_empty() && !plan.actions.is_empty());
        assert_eq!(comparable(&plan), comparable(&reference));
        assert_ne!(plan.inventory_fingerprint, reference.inventory_fingerprint);
    }

    /// Issue 13: a plan sealed as it is written is byte for byte the plan sealed, then written
    /// (the content hash the same, so apply accepts it), whatever its text needs escaped.
    #[test]
    fn a_plan_sealed_while_written_is_the_plan_sealed_then_written() {
        let (rules, inv, now) = demo();
        let mut plan = make_unsealed_plan(&rules, &inv, now, now);
        assert!(plan.content_sha256.is_empty());
        let resource = plan.findings[0].resource.clone();
        plan.skipped.push(crate::plan::Skipped {
            rule: "quote \" backslash \\ newline \n control \u{1f} é".to_string(),
            resource,
            action: None,
            reason: "\"content_sha256\": \"sha256:0\"".to_string(),
        });
        let mut reference = plan.clone();
        reference.seal();
        assert_eq!(reference, make_plan_with_skip(&rules, &inv, now, &plan));
        let want = format!("{}\n", serde_json::to_string_pretty(&reference).unwrap());
        // Written after something already in the file: the hash goes where the plan's is.
        let mut file = std::io::Cursor::new(b"before".to_vec());
        std::io::Seek::seek(&mut file, std::io::SeekFrom::End(0)).unwrap();
        plan.write_sealed(&mut file).unwrap();
        assert_eq!(&file.get_ref()[..6], b"before");
        assert_eq!(String::from_utf8_lossy(&file.get_ref()[6..]), want.as_str());
        assert_eq!(plan.content_sha256, reference.content_sha256);
        assert!(plan.hash_matches());
        // Written twice: the same bytes (the placeholder never stays in the plan).
        let mut again = std::io::Cursor::new(Vec::new());
        plan.write_sealed(&mut again).unwrap();
        assert_eq!(again.get_ref().as_slice(), want.as_bytes());
    }

    /// Issue 13: findings written to a file as they are found give the plan file that findings
    /// kept in memory give, byte for byte, and every chunk of them renders as in memory.
    #[test]
    fn a_plan_with_spilled_findings_is_written_as_the_plan_in_memory() {
        let (rules, inv, now) = demo();
        let mut kept = make_unsealed_plan(&rules, &inv, now, now);
        assert_eq!(
            kept,
            crate::plan::build::build_unsealed(
                &rules,
                &inv,
                evaluate(&rules, &inv, now),
                now,
                now,
                || inv.fingerprint()
            ),
            "evaluated and built side by side, the plan built from every match"
        );
        let (mut spilled, findings) =
            make_spilled_plan(&rules, &inv, now, now, tempfile::tempfile().unwrap()).unwrap();
        assert!(spilled.findings.is_empty());
        assert_eq!(findings.len(), kept.findings.len());
        assert_eq!(spilled.summary, kept.summary);
        let linked = kept
            .findings
            .iter()
            .filter(|f| !f.actions.is_empty())
            .count();
        assert!(linked > 3 && linked < kept.findings.len(), "{linked}");
        for min in [crate::spec::Severity::Low, crate::spec::Severity::High] {
            let n = kept.findings.iter().filter(|f| f.severity >= min).count();
            assert_eq!(findings.at_or_above(min), n);
        }
        let mut want = std::io::Cursor::new(Vec::new());
        kept.write_sealed(&mut want).unwrap();
        let mut got = std::io::Cursor::new(Vec::new());
        spilled.write_sealed_spilled(&mut got, &findings).unwrap();
        assert_eq!(
            String::from_utf8_lossy(got.get_ref()),
            String::from_utf8_lossy(want.get_ref())
        );
        assert_eq!(spilled.content_sha256, kept.content_sha256);
        // Any run of findings, wherever it starts and ends, renders as in memory.
        let n = kept.findings.len();
        for size in [1, 2, 3, 7, n] {
            for start in (0..n).step_by(size) {
                let range = start..(start + size).min(n);
                assert_eq!(
                    findings.render_chunk(range.clone(), &kept.actions).unwrap(),
                    crate::digest::render_elements(&kept.findings[range.clone()]).unwrap(),
                    "{range:?}"
                );
            }
        }
        assert!(findings.render_chunk(n..n + 1, &kept.actions).is_err());
        // A plan that holds findings of its own takes no spilled ones.
        assert!(kept
            .write_sealed_spilled(&mut std::io::Cursor::new(Vec::new()), &findings)
            .is_err());
    }

    /// An organization account's counts are the same whether its plan's findings were held or
    /// spilled to a file (`org plan` spills them).
    #[test]
    fn an_accounts_counts_from_spilled_findings_are_those_of_held_ones() {
        use crate::org::report::PlannedAccount;
        let (rules, inv, now) = demo();
        let held = make_unsealed_plan(&rules, &inv, now, now);
        let (spilled, findings) =
            make_spilled_plan(&rules, &inv, now, now, tempfile::tempfile().unwrap()).unwrap();
        let want = PlannedAccount::of(&held, "demo", "demo/plan.json");
        assert!(want.findings > 5 && want.by_rule.len() > 3, "{want:?}");
        assert_eq!(
            PlannedAccount::of_spilled(&spilled, &findings, "demo", "demo/plan.json"),
            want
        );
    }

    /// `make_plan`, with the extra skipped entry the test above adds before sealing.
    fn make_plan_with_skip(
        rules: &RuleSet,
        inv: &Inventory,
        now: DateTime<Utc>,
        with: &Plan,
    ) -> Plan {
        let mut p = make_plan(rules, inv, now, now);
        p.skipped = with.skipped.clone();
        p.seal();
        p
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
