//! Role events: `UpdateAssumeRolePolicy`.

use crate::event::fold::{document, not_found, req, Touched};
use crate::event::IamEvent;
use crate::inventory::{Inventory, ResourceKind};

/// `UpdateAssumeRolePolicy`: the role's new trust policy.
pub(super) fn update_assume_role_policy(
    inv: &mut Inventory,
    e: &IamEvent,
) -> Result<Vec<Touched>, String> {
    let role = req(e, "roleName")?.to_string();
    let doc = document(e, "policyDocument")?;
    let r = inv
        .roles
        .iter_mut()
        .find(|r| r.name == role)
        .ok_or_else(|| not_found("role", &role))?;
    r.trust_policy = doc;
    Ok(vec![(ResourceKind::Role, r.id.clone())])
}
