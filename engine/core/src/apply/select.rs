//! `apply --only X` / `--exclude X`: run a subset of a plan. The plan file is still loaded and
//! its content hash checked whole ([`super::load_plan`]); the selection only decides which of
//! its actions run, and the journal's `run` record says which ([`SelectionRecord`]).
//!
//! A term matches an action by its id, by one of its rules, or by its resource (name, id or
//! ARN, or the user it belongs to: `--exclude alice` leaves alice's keys alone too). A term that
//! matches nothing is an error with a did-you-mean.
//!
//! Dependencies are kept whole: `--only` brings in what a selected action depends on (a
//! `delete_user` runs only after its prerequisites), and `--exclude` takes out what depends on
//! an excluded action and the parts of an excluded cascade. Each such addition or removal is
//! said ([`Selected::notes`]).

use crate::plan::{Action, Plan};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The terms given on the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// `--only`: run these (and their prerequisites); empty = every action.
    pub only: Vec<String>,
    /// `--exclude`: do not run these (nor what depends on them).
    pub exclude: Vec<String>,
}

impl Selection {
    /// Neither flag given.
    pub fn is_empty(&self) -> bool {
        self.only.is_empty() && self.exclude.is_empty()
    }
}

/// What the journal's `run` record keeps of a selection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectionRecord {
    /// The `--only` terms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub only: Vec<String>,
    /// The `--exclude` terms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// The action ids that run, in plan order.
    pub actions: Vec<String>,
    /// How many of the plan's actions do not run.
    pub left_out: usize,
}

/// A selection resolved against a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Selected {
    /// The plan with only the selected actions (same content hash field: the journal and the
    /// resume history stay the whole plan's).
    pub plan: Plan,
    /// Dependencies that widened or narrowed the selection, one line each.
    pub notes: Vec<String>,
    /// What the journal records.
    pub record: SelectionRecord,
}

/// A term that matches nothing, or a selection that leaves nothing to run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    /// No action, rule or resource of the plan is called this.
    #[error("{flag} {term}: no action, rule or resource of the plan is called that{hint}")]
    Unknown {
        /// `--only` or `--exclude`.
        flag: &'static str,
        /// The term.
        term: String,
        /// ` (did you mean ...?)`, or empty.
        hint: String,
    },
    /// Every action was left out.
    #[error(
        "the selection leaves no action of the plan's {total} to run{why}; nothing was applied"
    )]
    Empty {
        /// The plan's action count.
        total: usize,
        /// The notes that emptied it, if any.
        why: String,
    },
}

/// The names an action answers to.
fn names(a: &Action) -> Vec<String> {
    let mut n = vec![
        a.id.as_str(),
        a.resource.name.as_str(),
        a.resource.id.as_str(),
    ];
    n.extend(a.resource.arn.as_deref());
    n.extend(a.rules.iter().map(String::as_str));
    let user = a.names().user;
    let mut n: Vec<String> = n.into_iter().map(str::to_string).collect();
    n.extend(user);
    n.retain(|s| !s.is_empty());
    n
}

fn matching<'a>(
    plan: &'a Plan,
    flag: &'static str,
    terms: &[String],
) -> Result<BTreeSet<&'a str>, SelectError> {
    let mut out = BTreeSet::new();
    for t in terms {
        let hit: Vec<&str> = plan
            .actions
            .iter()
            .filter(|a| names(a).contains(t))
            .map(|a| a.id.as_str())
            .collect();
        if hit.is_empty() {
            let all: BTreeSet<String> = plan.actions.iter().flat_map(names).collect();
            let hint = crate::diag::did_you_mean(t, all.iter().map(String::as_str))
                .map(|h| format!(" ({h})"))
                .unwrap_or_default();
            return Err(SelectError::Unknown {
                flag,
                term: t.clone(),
                hint,
            });
        }
        out.extend(hit);
    }
    Ok(out)
}

/// Resolves `sel` against `plan`: see the module docs.
pub fn select(plan: &Plan, sel: &Selection) -> Result<Selected, SelectError> {
    let mut notes = Vec::new();
    let by_id = |id: &str| plan.actions.iter().find(|a| a.id == id);
    let label = |id: &str| {
        by_id(id).map_or_else(
            || id.to_string(),
            |a| format!("{} [{}]", super::describe(a), a.id),
        )
    };

    let mut chosen: BTreeSet<&str> = if sel.only.is_empty() {
        plan.actions.iter().map(|a| a.id.as_str()).collect()
    } else {
        matching(plan, "--only", &sel.only)?
    };
    // --only brings in prerequisites, transitively.
    if !sel.only.is_empty() {
        let mut todo: Vec<&str> = chosen.iter().copied().collect();
        while let Some(id) = todo.pop() {
            for dep in by_id(id)
                .map(|a| a.depends_on.as_slice())
                .unwrap_or_default()
            {
                if by_id(dep).is_some() && chosen.insert(dep.as_str()) {
                    notes.push(format!(
                        "{} runs too: {} depends on it",
                        label(dep),
                        label(id)
                    ));
                    todo.push(dep.as_str());
                }
            }
        }
    }
    // --exclude takes out its matches, then what depends on them or is part of them.
    let excluded = matching(plan, "--exclude", &sel.exclude)?;
    let mut removed: BTreeSet<&str> = BTreeSet::new();
    for id in &excluded {
        chosen.remove(id);
        removed.insert(id);
    }
    loop {
        let next = plan.actions.iter().find_map(|a| {
            if !chosen.contains(a.id.as_str()) {
                return None;
            }
            if let Some(dep) = a.depends_on.iter().find(|d| removed.contains(d.as_str())) {
                return Some((a.id.as_str(), format!("it depends on {}", label(dep))));
            }
            a.part_of
                .as_deref()
                .filter(|p| removed.contains(p))
                .map(|p| (a.id.as_str(), format!("it is part of {}", label(p))))
        });
        let Some((id, why)) = next else { break };
        chosen.remove(id);
        removed.insert(id);
        notes.push(format!("{} is excluded too: {why}", label(id)));
    }

    let actions: Vec<Action> = plan
        .actions
        .iter()
        .filter(|a| chosen.contains(a.id.as_str()))
        .cloned()
        .collect();
    if actions.is_empty() {
        return Err(SelectError::Empty {
            total: plan.actions.len(),
            why: if notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", notes.join("; "))
            },
        });
    }
    let record = SelectionRecord {
        only: sel.only.clone(),
        exclude: sel.exclude.clone(),
        actions: actions.iter().map(|a| a.id.clone()).collect(),
        left_out: plan.actions.len() - actions.len(),
    };
    let mut subset = plan.clone();
    subset.actions = actions;
    Ok(Selected {
        plan: subset,
        notes,
        record,
    })
}
