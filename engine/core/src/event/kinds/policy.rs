//! Managed-policy events: `CreatePolicy`, `CreatePolicyVersion`, `SetDefaultPolicyVersion`.
//! A new version of a policy the inventory lacks builds the policy from the event, listing
//! what is unknown.

use crate::event::fold::{
    account_of, document, from_json, not_found, req, response_time, upsert, Collection, Folded,
    Lookup, Touched,
};
use crate::event::IamEvent;
use crate::inventory::{Inventory, ManagedPolicy, PolicyVersion, ResourceKind};
use serde_json::{json, Value};

/// `CreatePolicy`: the policy built from the event (version `v1`).
pub(super) fn create_policy(
    inv: &mut Inventory,
    look: &mut Lookup,
    e: &IamEvent,
) -> Result<Vec<Touched>, String> {
    let account = account_of(inv, e);
    let name = req(e, "policyName")?;
    let doc = document(e, "policyDocument")?;
    let path = e.request.get("path").and_then(Value::as_str).unwrap_or("/");
    let resp = e.response.get("policy");
    let arn = resp
        .and_then(|p| p.get("arn"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| format!("arn:aws:iam::{account}:policy{path}{name}"));
    let created = response_time(e, &["policy", "createDate"]);
    let policy: ManagedPolicy = from_json(
        json!({
            "id": arn, "arn": arn, "name": name, "path": path,
            "policy_id": resp.and_then(|p| p.get("policyId")),
            "description": e.request.get("description"),
            "created_at": created, "updated_at": created,
            "default_version_id": "v1",
            "versions": [{"version_id": "v1", "is_default": true, "created_at": created, "document": doc}],
        }),
        "policy",
    )?;
    upsert(inv, look, Collection::Policies, &arn, policy, |inv| {
        &mut inv.managed_policies
    });
    Ok(vec![(ResourceKind::ManagedPolicy, arn)])
}

/// `CreatePolicyVersion`: the version added (and made the default when asked); for a policy
/// the inventory lacks, the policy built from the event.
pub(super) fn create_policy_version(
    inv: &mut Inventory,
    look: &mut Lookup,
    e: &IamEvent,
) -> Result<Folded, String> {
    let arn = req(e, "policyArn")?;
    if look.find(inv, Collection::Policies, arn).is_none() {
        return policy_from_version_event(inv, look, e);
    }
    version(inv, look, e).map(Folded::from)
}

/// `SetDefaultPolicyVersion`: another version made the default.
pub(super) fn set_default_policy_version(
    inv: &mut Inventory,
    look: &mut Lookup,
    e: &IamEvent,
) -> Result<Folded, String> {
    version(inv, look, e).map(Folded::from)
}

/// `CreatePolicyVersion` or `SetDefaultPolicyVersion` on a policy the inventory has.
pub(super) fn version(
    inv: &mut Inventory,
    look: &mut Lookup,
    e: &IamEvent,
) -> Result<Vec<Touched>, String> {
    let arn = req(e, "policyArn")?.to_string();
    let p = look
        .find(inv, Collection::Policies, &arn)
        .and_then(|i| inv.managed_policies.get_mut(i))
        .ok_or_else(|| not_found("policy", &arn))?;
    let make_default = if e.name == "CreatePolicyVersion" {
        let doc = document(e, "policyDocument")?;
        let id = e
            .response
            .get("policyVersion")
            .and_then(|v| v.get("versionId"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| {
                let n = p
                    .versions
                    .iter()
                    .filter_map(|v| v.version_id.trim_start_matches('v').parse::<u64>().ok())
                    .max()
                    .unwrap_or(0);
                format!("v{}", n + 1)
            });
        // A live read after the event already has the version: keep what AWS says.
        let known_created = p
            .versions
            .iter()
            .find(|v| v.version_id == id)
            .and_then(|v| v.created_at);
        p.versions.retain(|v| v.version_id != id);
        p.versions.push(PolicyVersion {
            version_id: id.clone(),
            is_default: false,
            created_at: known_created
                .or_else(|| Some(response_time(e, &["policyVersion", "createDate"]))),
            document: doc,
        });
        let set = e
            .request
            .get("setAsDefault")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        set.then_some(id)
    } else {
        let id = req(e, "versionId")?.to_string();
        if !p.versions.iter().any(|v| v.version_id == id) {
            return Err(not_found("policy version", &format!("{arn} {id}")));
        }
        Some(id)
    };
    if let Some(id) = make_default {
        for v in &mut p.versions {
            v.is_default = v.version_id == id;
        }
        p.default_version_id = id;
    }
    p.updated_at = Some(e.time);
    Ok(vec![(ResourceKind::ManagedPolicy, arn)])
}

/// A `CreatePolicyVersion` for a policy the inventory lacks: the policy built from the event,
/// with the one version the event carries.
fn policy_from_version_event(
    inv: &mut Inventory,
    look: &mut Lookup,
    e: &IamEvent,
) -> Result<Folded, String> {
    let arn = req(e, "policyArn")?.to_string();
    let doc = document(e, "policyDocument")?;
    let id = e
        .response
        .get("policyVersion")
        .and_then(|v| v.get("versionId"))
        .and_then(Value::as_str)
        .ok_or("CreatePolicyVersion has no responseElements.policyVersion.versionId")?
        .to_string();
    let set_default = e
        .request
        .get("setAsDefault")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let tail = arn.split_once(":policy").map(|(_, t)| t).unwrap_or("/");
    let (path, name) = match tail.rfind('/') {
        Some(i) => (
            tail.get(..=i).unwrap_or("/"),
            tail.get(i + 1..).unwrap_or_default(),
        ),
        None => ("/", tail),
    };
    let created = response_time(e, &["policyVersion", "createDate"]);
    let policy: ManagedPolicy = from_json(
        json!({
            "id": arn, "arn": arn, "name": name, "path": path,
            "updated_at": e.time,
            "default_version_id": if set_default { id.as_str() } else { "" },
            "versions": [{"version_id": id, "is_default": set_default, "created_at": created, "document": doc}],
        }),
        "policy",
    )?;
    inv.managed_policies.push(policy);
    look.pushed(inv, Collection::Policies);
    let mut unknown = vec![format!(
        "policy {arn} is not in the inventory: built from the event; its other versions, \
         attachments, tags, description and creation date are unknown"
    )];
    if !set_default {
        unknown.push(format!(
            "{id} was not made the default and the default version of {arn} is unknown: nothing \
             in effect was judged"
        ));
    }
    Ok(Folded {
        touched: vec![(ResourceKind::ManagedPolicy, arn)],
        unknown,
    })
}
