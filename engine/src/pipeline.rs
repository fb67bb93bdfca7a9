//! The offline pipeline in one call: rules and an inventory in, a plan out.

use crate::compile::RuleSet;
use crate::eval::{evaluate, EvalError};
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
) -> Result<Plan, EvalError> {
    let matches = evaluate(rules, inv, now)?;
    Ok(build(rules, inv, matches, now, created_at))
}
