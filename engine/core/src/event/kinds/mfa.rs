//! MFA events: `DeactivateMFADevice`.

use crate::event::fold::{req, user_id, Collection, Lookup, Touched};
use crate::event::IamEvent;
use crate::inventory::{Inventory, MfaDevice, ResourceKind};

/// `DeactivateMFADevice`: the device no longer belongs to the user (it remembers the user in
/// `last_user`, so rules can tell a deactivated device from one never used).
pub(super) fn deactivate_mfa_device(
    inv: &mut Inventory,
    look: &mut Lookup,
    e: &IamEvent,
) -> Result<Vec<Touched>, String> {
    let user = req(e, "userName")?.to_string();
    let serial = req(e, "serialNumber")?.to_string();
    let mut touched = vec![(ResourceKind::User, user_id(inv, look, &user)?)];
    let known = look.find(inv, Collection::Mfa, &serial);
    if let Some(d) = known.and_then(|i| inv.mfa_devices.get_mut(i)) {
        d.user = None;
        d.enabled_at = None;
        d.user_arn = None;
        d.last_user = Some(user.clone());
    } else {
        // A device the inventory never saw: it exists now, unassigned, and was the user's.
        inv.mfa_devices.push(MfaDevice {
            r#virtual: serial.starts_with("arn:"),
            id: serial,
            last_user: Some(user.clone()),
            ..MfaDevice::default()
        });
        look.pushed(inv, Collection::Mfa);
    }
    if look.find(inv, Collection::LoginProfiles, &user).is_some() {
        touched.push((ResourceKind::LoginProfile, user));
    }
    Ok(touched)
}
