//! Login-profile events: `CreateLoginProfile`.

use crate::event::fold::{from_json, req, response_time, user_id, Touched};
use crate::event::IamEvent;
use crate::inventory::{Inventory, LoginProfile, ResourceKind};
use serde_json::{json, Value};

/// `CreateLoginProfile`: the user's console password.
pub(super) fn create_login_profile(
    inv: &mut Inventory,
    e: &IamEvent,
) -> Result<Vec<Touched>, String> {
    let user = req(e, "userName")?.to_string();
    let touched_user = (ResourceKind::User, user_id(inv, &user)?);
    let lp: LoginProfile = from_json(
        json!({
            "id": user, "user": user,
            "created_at": response_time(e, &["loginProfile", "createDate"]),
            "password_reset_required": e.request.get("passwordResetRequired").and_then(Value::as_bool).unwrap_or(false),
        }),
        "login profile",
    )?;
    inv.login_profiles.retain(|l| l.user != user);
    inv.login_profiles.push(lp);
    Ok(vec![(ResourceKind::LoginProfile, user), touched_user])
}
