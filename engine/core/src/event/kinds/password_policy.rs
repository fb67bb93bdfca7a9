//! Account password-policy events: `UpdateAccountPasswordPolicy`,
//! `DeleteAccountPasswordPolicy`.

use crate::event::fold::Touched;
use crate::event::IamEvent;
use crate::inventory::{Inventory, PasswordPolicy, ResourceKind};
use serde_json::Value;

/// `UpdateAccountPasswordPolicy`: the policy as set (AWS resets what the call leaves out).
pub(super) fn update(inv: &mut Inventory, e: &IamEvent) -> Result<Vec<Touched>, String> {
    // AWS resets every setting the call leaves out.
    let r = &e.request;
    let b = |k: &str| r.get(k).and_then(Value::as_bool).unwrap_or(false);
    let n = |k: &str| {
        r.get(k)
            .and_then(Value::as_u64)
            .and_then(|v| u32::try_from(v).ok())
            .filter(|v| *v > 0)
    };
    inv.account.password_policy = Some(PasswordPolicy {
        minimum_password_length: n("minimumPasswordLength").or(Some(8)),
        require_symbols: b("requireSymbols"),
        require_numbers: b("requireNumbers"),
        require_uppercase_characters: b("requireUppercaseCharacters"),
        require_lowercase_characters: b("requireLowercaseCharacters"),
        allow_users_to_change_password: b("allowUsersToChangePassword"),
        max_password_age: n("maxPasswordAge"),
        password_reuse_prevention: n("passwordReusePrevention"),
        hard_expiry: b("hardExpiry"),
    });
    Ok(vec![(ResourceKind::Account, inv.account.id.clone())])
}

/// `DeleteAccountPasswordPolicy`: no policy.
pub(super) fn delete(inv: &mut Inventory, _e: &IamEvent) -> Result<Vec<Touched>, String> {
    inv.account.password_policy = None;
    Ok(vec![(ResourceKind::Account, inv.account.id.clone())])
}
