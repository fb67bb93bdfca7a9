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
