//! Attachment events: `AttachUserPolicy`, `AttachGroupPolicy`, `AttachRolePolicy`.

use crate::event::fold::{not_found, owner_kind, push_unique, req, Touched};
use crate::event::IamEvent;
use crate::inventory::{Inventory, OwnerKind, ResourceKind};

/// `Attach{User,Group,Role}Policy`: the ARN added to the owner's attached policies.
pub(super) fn attach_policy(inv: &mut Inventory, e: &IamEvent) -> Result<Vec<Touched>, String> {
    let (kind, key, word) = owner_kind(e.name.as_str());
    let owner = req(e, key)?.to_string();
    let arn = req(e, "policyArn")?.to_string();
    let touched = match kind {
        OwnerKind::User => inv.users.iter_mut().find(|u| u.name == owner).map(|u| {
            push_unique(&mut u.attached_policies, &arn);
            (ResourceKind::User, u.id.clone())
        }),
        OwnerKind::Group => inv.groups.iter_mut().find(|g| g.name == owner).map(|g| {
            push_unique(&mut g.attached_policies, &arn);
            (ResourceKind::Group, g.id.clone())
        }),
        OwnerKind::Role => inv.roles.iter_mut().find(|r| r.name == owner).map(|r| {
            push_unique(&mut r.attached_policies, &arn);
            (ResourceKind::Role, r.id.clone())
        }),
    }
    .ok_or_else(|| not_found(word, &owner))?;
    Ok(vec![touched, (ResourceKind::ManagedPolicy, arn)])
}
