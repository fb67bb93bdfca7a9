//! iamwarden: keeps AWS IAM clean by policy-as-code.
//!
//! Data flows one way: rule packs ([`spec`], read by [`packs`]) are compiled ([`compile`])
//! into rules; an [`inventory`] is read from a snapshot; [`eval`] judges every selected
//! resource purely, with an explicit clock; [`plan`] turns findings into ordered, deduplicated
//! actions; [`render`] shows the plan as a diff. [`pipeline`] runs the whole offline path.

pub mod apply;
pub mod compile;
pub mod diag;
pub mod digest;
pub mod eval;
pub mod event;
pub mod event_name;
pub mod iam;
pub mod inventory;
pub mod ops;
pub mod org;
pub mod packs;
pub mod pipeline;
pub mod plan;
pub mod policy;
pub mod render;
pub mod ruletest;
pub mod scaffold;
pub mod schema;
pub mod sign;
pub mod spec;
pub mod steps;
pub mod watch;
