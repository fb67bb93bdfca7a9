//! Inline-policy events: `PutUserPolicy`, `PutGroupPolicy`, `PutRolePolicy`. For an owner
//! the inventory lacks, the inline policy is built from the event, listing what is unknown.

use crate::event::fold::{
    account_of, document, from_json, not_found, owner_kind, req, upsert, Collection, Folded,
    Lookup, Touched,
};
use crate::event::IamEvent;
use crate::inventory::{InlinePolicy, Inventory, OwnerKind, ResourceKind};
use serde_json::json;

/// `Put{User,Group,Role}Policy`.
pub(super) fn put_policy(
    inv: &mut Inventory,
    look: &mut Lookup,
    e: &IamEvent,
) -> Result<Folded, String> {
    known_owner(inv, look, e).map(Folded::from).or_else(|why| {
        if why.contains("is not in the inventory") {
            inline_policy_of_unknown_owner(inv, look, e)
        } else {
            Err(why)
        }
    })
}

/// The inline policy put on an owner the inventory has.
pub(super) fn known_owner(
    inv: &mut Inventory,
    look: &mut Lookup,
    e: &IamEvent,
) -> Result<Vec<Touched>, String> {
    let (kind, key, word) = owner_kind(e.name.as_str());
    let owner = req(e, key)?.to_string();
    let name = req(e, "policyName")?.to_string();
    let doc = document(e, "policyDocument")?;
    let collection = match kind {
        OwnerKind::User => Collection::Users,
        OwnerKind::Group => Collection::Groups,
        OwnerKind::Role => Collection::Roles,
    };
    let at = look.find(inv, collection, &owner);
    let owner_arn = at
        .and_then(|i| match kind {
            OwnerKind::User => inv.users.get(i).map(|u| u.arn.clone()),
            OwnerKind::Group => inv.groups.get(i).map(|g| g.arn.clone()),
            OwnerKind::Role => inv.roles.get(i).map(|r| r.arn.clone()),
        })
        .ok_or_else(|| not_found(word, &owner))?;
    let id = format!("{}/{owner}/{name}", kind.as_str());
    let policy: InlinePolicy = from_json(
        json!({"id": id, "owner_kind": kind, "owner": owner, "owner_arn": owner_arn, "name": name, "document": doc}),
        "inline policy",
    )?;
    upsert(inv, look, Collection::Inline, &id, policy, |inv| {
        &mut inv.inline_policies
    });
    let list = at.and_then(|i| match kind {
        OwnerKind::User => inv.users.get_mut(i).map(|u| &mut u.inline_policies),
        OwnerKind::Group => inv.groups.get_mut(i).map(|g| &mut g.inline_policies),
        OwnerKind::Role => inv.roles.get_mut(i).map(|r| &mut r.inline_policies),
    });
    if let Some(list) = list {
        if !list.contains(&name) {
            list.push(name);
        }
    }
    Ok(vec![(ResourceKind::InlinePolicy, id)])
}

/// A `Put*Policy` for a user, group or role the inventory lacks: the inline policy built from
/// the event, its owner's ARN from the account.
fn inline_policy_of_unknown_owner(
    inv: &mut Inventory,
    look: &mut Lookup,
    e: &IamEvent,
) -> Result<Folded, String> {
    let (kind, key, word) = owner_kind(e.name.as_str());
    let owner = req(e, key)?.to_string();
    let name = req(e, "policyName")?.to_string();
    let doc = document(e, "policyDocument")?;
    let account = account_of(inv, e);
    let owner_arn = format!("arn:aws:iam::{account}:{word}/{owner}");
    let id = format!("{}/{owner}/{name}", kind.as_str());
    let policy: InlinePolicy = from_json(
        json!({"id": id, "owner_kind": kind, "owner": owner, "owner_arn": owner_arn, "name": name, "document": doc}),
        "inline policy",
    )?;
    upsert(inv, look, Collection::Inline, &id, policy, |inv| {
        &mut inv.inline_policies
    });
    Ok(Folded {
        touched: vec![(ResourceKind::InlinePolicy, id)],
        unknown: vec![format!(
            "{word} {owner} is not in the inventory: its path, tags (exemptions by tag cannot \
             apply) and other policies are unknown"
        )],
    })
}
