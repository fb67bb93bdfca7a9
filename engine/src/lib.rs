//! iamwarden: keeps AWS IAM clean by policy-as-code.
//!
//! Data flows one way: rule packs ([`spec`]) are compiled ([`compile`]) into rules; an
//! [`inventory`] is read from a snapshot (or, later, a live account); [`eval`] judges every
//! selected resource purely, with an explicit clock; [`plan`] turns findings into ordered,
//! deduplicated actions; [`render`] shows the plan as a diff.

pub mod inventory;
pub mod policy;
