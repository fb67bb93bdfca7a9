//! Login-profile events: `CreateLoginProfile`.

use crate::event::fold::{
    from_json, req, response_time, upsert, user_id, Collection, Lookup, Touched,
};
use crate::event::IamEvent;
use crate::inventory::{Inventory, LoginProfile, ResourceKind};
use serde_json::{json, Value};

/// `CreateLoginProfile`: the user's console password.
pub(super) fn create_login_profile(
    inv: &mut Inventory,
    look: &mut Lookup,
    e: &IamEvent,
) -> Result<Vec<Touched>, String> {
    let user = req(e, "userName")?.to_string();
    let touched_user = (ResourceKind::User, user_id(inv, look, &user)?);
    let lp: LoginProfile = from_json(
        json!({
            "id": user, "user": user,
            "created_at": response_time(e, &["loginProfile", "createDate"]),
            "password_reset_required": e.request.get("passwordResetRequired").and_then(Value::as_bool).unwrap_or(false),
        }),
        "login profile",
    )?;
    upsert(inv, look, Collection::LoginProfiles, &user, lp, |inv| {
        &mut inv.login_profiles
    });
    Ok(vec![(ResourceKind::LoginProfile, user), touched_user])
}
