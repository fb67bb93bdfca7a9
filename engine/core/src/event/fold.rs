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
/// `event/kinds/`. For a batch, fold with one [`Lookup`] ([`fold_with`]): this builds its
/// lookups afresh, which costs a pass over the collections the event names.
pub fn fold(inv: &mut Inventory, e: &IamEvent) -> Result<Folded, String> {
    fold_with(inv, &mut Lookup::default(), e)
}

/// [`fold`] with lookups kept across the events of a batch: each collection is indexed once,
/// on first use, so an event costs what it touches, not a scan of the account.
pub fn fold_with(inv: &mut Inventory, look: &mut Lookup, e: &IamEvent) -> Result<Folded, String> {
    (super::kinds::fold_of(e.name))(inv, look, e)
}

/// The index of each record by the key folds find it by (user, group and role names, policy
/// ARNs, key and inline-policy ids, the login profile's user, the MFA device's serial), built
/// per collection on first use and kept up to date by the folds' own inserts. Folds never
/// remove a record (a re-created one replaces the old in place), so an index stays valid while
/// its collection only grows through [`Lookup`]; a collection whose length changed behind its
/// back is indexed again.
#[derive(Debug, Default)]
pub struct Lookup {
    maps: std::collections::HashMap<Collection, Index>,
}

#[derive(Debug, Default)]
struct Index {
    len: usize,
    /// The hash of each key -> the first record with it; a hash is checked against the record's
    /// key on every use, so two keys with one hash cost a scan, never a wrong answer.
    at: std::collections::HashMap<u64, usize>,
}

fn hash_of(key: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(key)
}

impl Index {
    fn index(&mut self, inv: &Inventory, c: Collection) {
        self.at.clear();
        // In reverse, so that of two records with one key the first is found, as a scan
        // finds it.
        for (i, k) in keys_of(inv, c).into_iter().enumerate().rev() {
            self.at.insert(hash_of(k), i);
        }
        self.len = len_of(inv, c);
    }
}

/// The collections folds look records up in, each by its own key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Collection {
    /// `users` by name.
    Users,
    /// `groups` by name.
    Groups,
    /// `roles` by name.
    Roles,
    /// `managed_policies` by ARN.
    Policies,
    /// `access_keys` by id.
    Keys,
    /// `login_profiles` by user name.
    LoginProfiles,
    /// `inline_policies` by id.
    Inline,
    /// `mfa_devices` by serial (id).
    Mfa,
}

fn keys_of(inv: &Inventory, c: Collection) -> Vec<&str> {
    match c {
        Collection::Users => inv.users.iter().map(|x| x.name.as_str()).collect(),
        Collection::Groups => inv.groups.iter().map(|x| x.name.as_str()).collect(),
        Collection::Roles => inv.roles.iter().map(|x| x.name.as_str()).collect(),
        Collection::Policies => inv
            .managed_policies
            .iter()
            .map(|x| x.arn.as_str())
            .collect(),
        Collection::Keys => inv.access_keys.iter().map(|x| x.id.as_str()).collect(),
        Collection::LoginProfiles => inv.login_profiles.iter().map(|x| x.user.as_str()).collect(),
        Collection::Inline => inv.inline_policies.iter().map(|x| x.id.as_str()).collect(),
        Collection::Mfa => inv.mfa_devices.iter().map(|x| x.id.as_str()).collect(),
    }
}

fn key_at(inv: &Inventory, c: Collection, i: usize) -> Option<&str> {
    Some(match c {
        Collection::Users => inv.users.get(i)?.name.as_str(),
        Collection::Groups => inv.groups.get(i)?.name.as_str(),
        Collection::Roles => inv.roles.get(i)?.name.as_str(),
        Collection::Policies => inv.managed_policies.get(i)?.arn.as_str(),
        Collection::Keys => inv.access_keys.get(i)?.id.as_str(),
        Collection::LoginProfiles => inv.login_profiles.get(i)?.user.as_str(),
        Collection::Inline => inv.inline_policies.get(i)?.id.as_str(),
        Collection::Mfa => inv.mfa_devices.get(i)?.id.as_str(),
    })
}

fn len_of(inv: &Inventory, c: Collection) -> usize {
    match c {
        Collection::Users => inv.users.len(),
        Collection::Groups => inv.groups.len(),
        Collection::Roles => inv.roles.len(),
        Collection::Policies => inv.managed_policies.len(),
        Collection::Keys => inv.access_keys.len(),
        Collection::LoginProfiles => inv.login_profiles.len(),
        Collection::Inline => inv.inline_policies.len(),
        Collection::Mfa => inv.mfa_devices.len(),
    }
}

impl Lookup {
    /// The index of the record of `c` whose key is `key` (the first, as a scan would find it).
    pub(super) fn find(&mut self, inv: &Inventory, c: Collection, key: &str) -> Option<usize> {
        let len = len_of(inv, c);
        let ix = self.maps.entry(c).or_default();
        if ix.len != len {
            ix.index(inv, c);
        }
        match ix.at.get(&hash_of(key)) {
            Some(&i) if key_at(inv, c, i) == Some(key) => Some(i),
            // Another key with the same hash, or a record changed in place under another key
            // (not something folds do): a scan answers.
            Some(_) => (0..len).find(|&i| key_at(inv, c, i) == Some(key)),
            None => None,
        }
    }

    /// Records that the last record of `c` was just pushed.
    pub(super) fn pushed(&mut self, inv: &Inventory, c: Collection) {
        let len = len_of(inv, c);
        if let Some(ix) = self.maps.get_mut(&c) {
            if ix.len + 1 == len {
                if let Some(k) = key_at(inv, c, len - 1) {
                    ix.at.entry(hash_of(k)).or_insert(len - 1);
                }
                ix.len = len;
            }
        }
    }
}

/// The inventory id of user `name`, or why the event cannot be applied.
pub(super) fn user_id(inv: &Inventory, look: &mut Lookup, name: &str) -> Result<String, String> {
    look.find(inv, Collection::Users, name)
        .and_then(|i| inv.users.get(i))
        .map(|u| u.id.clone())
        .ok_or_else(|| not_found("user", name))
}

/// Puts `item` in place of the record of `c` keyed `key`, or at the end when there is none.
pub(super) fn upsert<T>(
    inv: &mut Inventory,
    look: &mut Lookup,
    c: Collection,
    key: &str,
    item: T,
    list: fn(&mut Inventory) -> &mut Vec<T>,
) {
    match look.find(inv, c, key) {
        Some(i) => {
            if let Some(slot) = list(inv).get_mut(i) {
                *slot = item;
            }
        }
        None => {
            list(inv).push(item);
            look.pushed(inv, c);
        }
    }
}

pub(super) fn push_unique(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|x| x == item) {
        list.push(item.to_string());
    }
}
