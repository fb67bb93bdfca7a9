//! How each event kind changes an inventory: one file per family, and the one registry
//! below that maps an [`EventName`] to its fold. The match is exhaustive: a new name in
//! [`crate::event_name`] does not compile until it has a line here.

mod attach;
mod group;
mod inline;
mod key;
mod login_profile;
mod mfa;
mod password_policy;
mod policy;
mod role;

use super::fold::{Folded, Lookup};
use super::IamEvent;
use crate::event_name::EventName;
use crate::inventory::Inventory;

/// Folds one event into an inventory.
pub type FoldFn = fn(&mut Inventory, &mut Lookup, &IamEvent) -> Result<Folded, String>;

/// The fold of each event kind.
pub fn fold_of(name: EventName) -> FoldFn {
    use EventName as E;
    match name {
        E::CreatePolicy => |inv, l, e| policy::create_policy(inv, l, e).map(Folded::from),
        E::CreatePolicyVersion => policy::create_policy_version,
        E::SetDefaultPolicyVersion => policy::set_default_policy_version,
        E::PutUserPolicy | E::PutGroupPolicy | E::PutRolePolicy => inline::put_policy,
        E::AttachUserPolicy | E::AttachGroupPolicy | E::AttachRolePolicy => {
            |inv, l, e| attach::attach_policy(inv, l, e).map(Folded::from)
        }
        E::AddUserToGroup => |inv, l, e| group::add_user_to_group(inv, l, e).map(Folded::from),
        E::CreateAccessKey => |inv, l, e| key::create_access_key(inv, l, e).map(Folded::from),
        E::CreateLoginProfile => {
            |inv, l, e| login_profile::create_login_profile(inv, l, e).map(Folded::from)
        }
        E::UpdateAssumeRolePolicy => {
            |inv, l, e| role::update_assume_role_policy(inv, l, e).map(Folded::from)
        }
        E::UpdateAccountPasswordPolicy => {
            |inv, _, e| password_policy::update(inv, e).map(Folded::from)
        }
        E::DeleteAccountPasswordPolicy => {
            |inv, _, e| password_policy::delete(inv, e).map(Folded::from)
        }
        E::DeactivateMFADevice => {
            |inv, l, e| mfa::deactivate_mfa_device(inv, l, e).map(Folded::from)
        }
    }
}
