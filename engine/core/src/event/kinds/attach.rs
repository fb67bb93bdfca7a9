//! Attachment events: `AttachUserPolicy`, `AttachGroupPolicy`, `AttachRolePolicy`.

use crate::event::fold::{not_found, owner_kind, push_unique, req, Collection, Lookup, Touched};
use crate::event::IamEvent;
use crate::inventory::{Inventory, OwnerKind, ResourceKind};

/// `Attach{User,Group,Role}Policy`: the ARN added to the owner's attached policies.
pub(super) fn attach_policy(
    inv: &mut Inventory,
    look: &mut Lookup,
    e: &IamEvent,
) -> Result<Vec<Touched>, String> {
    let (kind, key, word) = owner_kind(e.name.as_str());
    let owner = req(e, key)?.to_string();
    let arn = req(e, "policyArn")?.to_string();
    let touched = match kind {
        OwnerKind::User => look
            .find(inv, Collection::Users, &owner)
            .and_then(|i| inv.users.get_mut(i))
            .map(|u| {
                push_unique(&mut u.attached_policies, &arn);
                (ResourceKind::User, u.id.clone())
            }),
        OwnerKind::Group => look
            .find(inv, Collection::Groups, &owner)
            .and_then(|i| inv.groups.get_mut(i))
            .map(|g| {
                push_unique(&mut g.attached_policies, &arn);
                (ResourceKind::Group, g.id.clone())
            }),
        OwnerKind::Role => look
            .find(inv, Collection::Roles, &owner)
            .and_then(|i| inv.roles.get_mut(i))
            .map(|r| {
                push_unique(&mut r.attached_policies, &arn);
                (ResourceKind::Role, r.id.clone())
            }),
    }
    .ok_or_else(|| not_found(word, &owner))?;
    Ok(vec![touched, (ResourceKind::ManagedPolicy, arn)])
}
