//! Group events: `AddUserToGroup`.

use crate::event::fold::{not_found, push_unique, req, Touched};
use crate::event::IamEvent;
use crate::inventory::{Inventory, ResourceKind};

/// `AddUserToGroup`: the group added to the user's groups.
pub(super) fn add_user_to_group(inv: &mut Inventory, e: &IamEvent) -> Result<Vec<Touched>, String> {
    let user = req(e, "userName")?.to_string();
    let group = req(e, "groupName")?.to_string();
    if !inv.groups.iter().any(|g| g.name == group) {
        return Err(not_found("group", &group));
    }
    let u = inv
        .users
        .iter_mut()
        .find(|u| u.name == user)
        .ok_or_else(|| not_found("user", &user))?;
    push_unique(&mut u.groups, &group);
    Ok(vec![(ResourceKind::User, u.id.clone())])
}
