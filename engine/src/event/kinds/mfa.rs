//! MFA events: `DeactivateMFADevice`.

use crate::event::fold::{req, user_id, Touched};
use crate::event::IamEvent;
use crate::inventory::{Inventory, ResourceKind};

/// `DeactivateMFADevice`: the device no longer belongs to the user (it remembers the user in
/// `last_user`, so rules can tell a deactivated device from one never used).
pub(super) fn deactivate_mfa_device(
    inv: &mut Inventory,
    e: &IamEvent,
) -> Result<Vec<Touched>, String> {
    let user = req(e, "userName")?.to_string();
    let serial = req(e, "serialNumber")?.to_string();
    let mut touched = vec![(ResourceKind::User, user_id(inv, &user)?)];
    for d in inv.mfa_devices.iter_mut().filter(|d| d.id == serial) {
        d.user = None;
        d.enabled_at = None;
        d.user_arn = None;
        d.last_user = Some(user.clone());
    }
    if inv.login_profiles.iter().any(|l| l.user == user) {
        touched.push((ResourceKind::LoginProfile, user));
    }
    Ok(touched)
}
