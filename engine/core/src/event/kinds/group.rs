//! Group events: `AddUserToGroup`.

use crate::event::fold::{not_found, push_unique, req, Collection, Lookup, Touched};
use crate::event::IamEvent;
use crate::inventory::{Inventory, ResourceKind};

/// `AddUserToGroup`: the group added to the user's groups.
pub(super) fn add_user_to_group(
    inv: &mut Inventory,
    look: &mut Lookup,
    e: &IamEvent,
) -> Result<Vec<Touched>, String> {
    let user = req(e, "userName")?.to_string();
    let group = req(e, "groupName")?.to_string();
    if look.find(inv, Collection::Groups, &group).is_none() {
        return Err(not_found("group", &group));
    }
    let u = look
        .find(inv, Collection::Users, &user)
        .and_then(|i| inv.users.get_mut(i))
        .ok_or_else(|| not_found("user", &user))?;
    push_unique(&mut u.groups, &group);
    Ok(vec![(ResourceKind::User, u.id.clone())])
}
