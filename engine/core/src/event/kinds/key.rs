//! Access-key events: `CreateAccessKey`.

use crate::event::fold::{from_json, response_time, upsert, user_id, Collection, Lookup, Touched};
use crate::event::IamEvent;
use crate::inventory::{AccessKey, Inventory, ResourceKind};
use serde_json::{json, Value};

/// `CreateAccessKey`: the new active key (the secret is never read from the event).
pub(super) fn create_access_key(
    inv: &mut Inventory,
    look: &mut Lookup,
    e: &IamEvent,
) -> Result<Vec<Touched>, String> {
    let key = e.response.get("accessKey").cloned().unwrap_or(Value::Null);
    let id = key
        .get("accessKeyId")
        .and_then(Value::as_str)
        .ok_or("CreateAccessKey has no responseElements.accessKey.accessKeyId")?
        .to_string();
    let user = key
        .get("userName")
        .and_then(Value::as_str)
        .or_else(|| e.request.get("userName").and_then(Value::as_str))
        .ok_or("CreateAccessKey names no user")?
        .to_string();
    let touched_user = (ResourceKind::User, user_id(inv, look, &user)?);
    let k: AccessKey = from_json(
        json!({"id": id, "user": user, "status": "Active", "created_at": response_time(e, &["accessKey", "createDate"])}),
        "access key",
    )?;
    upsert(inv, look, Collection::Keys, &id, k, |inv| {
        &mut inv.access_keys
    });
    Ok(vec![(ResourceKind::AccessKey, id), touched_user])
}
