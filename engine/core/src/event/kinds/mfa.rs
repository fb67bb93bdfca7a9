//! MFA events: `DeactivateMFADevice`.

use crate::event::fold::{req, user_id, Touched};
use crate::event::IamEvent;
use crate::inventory::{Inventory, ResourceKind};

/// `DeactivateMFADevice`: the device no longer belongs to the user.
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
    }
    if inv.login_profiles.iter().any(|l| l.user == user) {
        touched.push((ResourceKind::LoginProfile, user));
    }
    Ok(touched)
}
