//! Role events: `UpdateAssumeRolePolicy`.

use crate::event::fold::{document, not_found, req, Collection, Lookup, Touched};
use crate::event::IamEvent;
use crate::inventory::{Inventory, ResourceKind};

/// `UpdateAssumeRolePolicy`: the role's new trust policy.
pub(super) fn update_assume_role_policy(
    inv: &mut Inventory,
    look: &mut Lookup,
    e: &IamEvent,
) -> Result<Vec<Touched>, String> {
    let role = req(e, "roleName")?.to_string();
    let doc = document(e, "policyDocument")?;
    let r = look
        .find(inv, Collection::Roles, &role)
        .and_then(|i| inv.roles.get_mut(i))
        .ok_or_else(|| not_found("role", &role))?;
    r.trust_policy = doc;
    Ok(vec![(ResourceKind::Role, r.id.clone())])
}
