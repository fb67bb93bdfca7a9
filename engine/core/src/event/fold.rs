//! Folding an IAM event into an inventory: the resource the event created or changed is built
//! from the event itself where the event carries it (the document of `CreatePolicy`, the key of
//! `CreateAccessKey`), and updated in place where the inventory already has it. Returns the
//! resources the event touched, which are the only ones event mode judges.
//!
//! When the inventory lacks the resource but the event carries what the rules judge (the new
//! document of `CreatePolicyVersion`, the document of `PutUserPolicy` for a user the snapshot
//! does not have), the resource is built from the event and the parts of its state the event
//! does not carry are listed in [`Folded::unknown`] (the policy's other versions, attachments,
//! tags; the owner's tags): rules judge the document, steps that need the unknown parts are
//! skipped as usual (no previous version to go back to), and event mode says what was unknown.

use super::{parse_cloudtrail_time, IamEvent};
use crate::inventory::{Inventory, OwnerKind, ResourceKind};
use crate::policy::parse_document_text;
use serde_json::Value;

/// A resource an event touched: its kind and its inventory `id`.
pub type Touched = (ResourceKind, String);

/// What folding an event did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Folded {
    /// The resources the event touched.
    pub touched: Vec<Touched>,
    /// The parts of the state the inventory did not have and the event did not carry
    /// ("policy arn:...: its other versions, attachments and tags"); empty when nothing was
    /// missing.
    pub unknown: Vec<String>,
}

impl From<Vec<Touched>> for Folded {
    fn from(touched: Vec<Touched>) -> Folded {
        Folded {
            touched,
            unknown: Vec::new(),
        }
    }
}

pub(super) fn req<'a>(e: &'a IamEvent, key: &str) -> Result<&'a str, String> {
    e.request
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{} has no requestParameters.{key}", e.name))
}

pub(super) fn document(e: &IamEvent, key: &str) -> Result<Value, String> {
    match e.request.get(key) {
        Some(Value::String(text)) => parse_document_text(text)
            .map_err(|err| format!("{}: requestParameters.{key}: {err}", e.name)),
        Some(v @ Value::Object(_)) => Ok(v.clone()),
        _ => Err(format!("{} has no requestParameters.{key}", e.name)),
    }
}

pub(super) fn from_json<T: serde::de::DeserializeOwned>(v: Value, what: &str) -> Result<T, String> {
    serde_json::from_value(v).map_err(|e| format!("cannot build the {what} from the event: {e}"))
}

pub(super) fn account_of(inv: &Inventory, e: &IamEvent) -> String {
    e.account
        .clone()
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| inv.account.id.clone())
}

pub(super) fn response_time(e: &IamEvent, path: &[&str]) -> chrono::DateTime<chrono::Utc> {
    let mut v = &e.response;
    for p in path {
        v = v.get(*p).unwrap_or(&Value::Null);
    }
    v.as_str().and_then(parse_cloudtrail_time).unwrap_or(e.time)
}

pub(super) fn not_found(kind: &str, name: &str) -> String {
    format!(
        "{kind} {name} is not in the inventory (give a fresh --snapshot, or read the account live)"
    )
}

pub(super) fn owner_kind(name: &str) -> (OwnerKind, &'static str, &'static str) {
    if name.contains("Group") {
        (OwnerKind::Group, "groupName", "group")
    } else if name.contains("Role") {
        (OwnerKind::Role, "roleName", "role")
    } else {
        (OwnerKind::User, "userName", "user")
    }
}

/// Applies `e` to `inv` (call [`Inventory::normalize`] after the last event). Errors say why
/// the event could not be applied; the inventory is unchanged then. Each kind's fold is in
/// `event/kinds/`.
pub fn fold(inv: &mut Inventory, e: &IamEvent) -> Result<Folded, String> {
    (super::kinds::fold_of(e.name))(inv, e)
}

/// The inventory id of user `name`, or why the event cannot be applied.
pub(super) fn user_id(inv: &Inventory, name: &str) -> Result<String, String> {
    inv.users
        .iter()
        .find(|u| u.name == name)
        .map(|u| u.id.clone())
        .ok_or_else(|| not_found("user", name))
}

pub(super) fn push_unique(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|x| x == item) {
        list.push(item.to_string());
    }
}
