//! Folding an IAM event into an inventory: the resource the event created or changed is built
//! from the event itself where the event carries it (the document of `CreatePolicy`, the key of
//! `CreateAccessKey`), and updated in place where the inventory already has it. Returns the
//! resources the event touched, which are the only ones event mode judges.
//!
//! When the inventory lacks the resource but the event carries what the rules judge (the new
//! document of `CreatePolicyVersion`, the document of `PutUserPolicy` for a user the snapshot
//! does not have), the resource is built from the event and the parts of its state the event
//! does not carry are listed in [`Folded::unknown`] (the policy's other versions, attachments,
//! tags; the owner's tags): rules judge the document, steps that need the unknown parts are
//! skipped as usual (no previous version to go back to), and event mode says what was unknown.

use super::{parse_cloudtrail_time, IamEvent};
use crate::inventory::{
    AccessKey, InlinePolicy, Inventory, LoginProfile, ManagedPolicy, OwnerKind, PasswordPolicy,
    PolicyVersion, ResourceKind,
};
use crate::policy::parse_document_text;
use serde_json::{json, Value};

/// A resource an event touched: its kind and its inventory `id`.
pub type Touched = (ResourceKind, String);

/// What folding an event did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Folded {
    /// The resources the event touched.
    pub touched: Vec<Touched>,
    /// The parts of the state the inventory did not have and the event did not carry
    /// ("policy arn:...: its other versions, attachments and tags"); empty when nothing was
    /// missing.
    pub unknown: Vec<String>,
}

impl From<Vec<Touched>> for Folded {
    fn from(touched: Vec<Touched>) -> Folded {
        Folded {
            touched,
            unknown: Vec::new(),
        }
    }
}

fn req<'a>(e: &'a IamEvent, key: &str) -> Result<&'a str, String> {
    e.request
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{} has no requestParameters.{key}", e.name))
}

fn document(e: &IamEvent, key: &str) -> Result<Value, String> {
    match e.request.get(key) {
        Some(Value::String(text)) => parse_document_text(text)
            .map_err(|err| format!("{}: requestParameters.{key}: {err}", e.name)),
        Some(v @ Value::Object(_)) => Ok(v.clone()),
        _ => Err(format!("{} has no requestParameters.{key}", e.name)),
    }
}

fn from_json<T: serde::de::DeserializeOwned>(v: Value, what: &str) -> Result<T, String> {
    serde_json::from_value(v).map_err(|e| format!("cannot build the {what} from the event: {e}"))
}

fn account_of(inv: &Inventory, e: &IamEvent) -> String {
    e.account
        .clone()
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| inv.account.id.clone())
}

fn response_time(e: &IamEvent, path: &[&str]) -> chrono::DateTime<chrono::Utc> {
    let mut v = &e.response;
    for p in path {
        v = v.get(*p).unwrap_or(&Value::Null);
    }
    v.as_str().and_then(parse_cloudtrail_time).unwrap_or(e.time)
}

fn not_found(kind: &str, name: &str) -> String {
    format!(
        "{kind} {name} is not in the inventory (give a fresh --snapshot, or read the account live)"
    )
}

fn owner_kind(name: &str) -> (OwnerKind, &'static str, &'static str) {
    if name.contains("Group") {
        (OwnerKind::Group, "groupName", "group")
    } else if name.contains("Role") {
        (OwnerKind::Role, "roleName", "role")
    } else {
        (OwnerKind::User, "userName", "user")
    }
}

/// Applies `e` to `inv` (call [`Inventory::normalize`] after the last event). Errors say why
/// the event could not be applied; the inventory is unchanged then.
pub fn fold(inv: &mut Inventory, e: &IamEvent) -> Result<Folded, String> {
    if e.name == "CreatePolicyVersion" {
        let arn = req(e, "policyArn")?;
        if !inv.managed_policies.iter().any(|p| p.arn == arn) {
            return policy_from_version_event(inv, e);
        }
    }
    fold_known(inv, e)
        .map(Folded::from)
        .or_else(|why| match e.name.as_str() {
            "PutUserPolicy" | "PutGroupPolicy" | "PutRolePolicy"
                if why.contains("is not in the inventory") =>
            {
                inline_policy_of_unknown_owner(inv, e)
            }
            _ => Err(why),
        })
}

/// A `CreatePolicyVersion` for a policy the inventory lacks: the policy built from the event,
/// with the one version the event carries.
fn policy_from_version_event(inv: &mut Inventory, e: &IamEvent) -> Result<Folded, String> {
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

/// A `Put*Policy` for a user, group or role the inventory lacks: the inline policy built from
/// the event, its owner's ARN from the account.
fn inline_policy_of_unknown_owner(inv: &mut Inventory, e: &IamEvent) -> Result<Folded, String> {
    let (kind, key, word) = owner_kind(&e.name);
    let owner = req(e, key)?.to_string();
    let name = req(e, "policyName")?.to_string();
    let doc = document(e, "policyDocument")?;
    let account = account_of(inv, e);
    let owner_arn = format!("arn:aws:iam::{account}:{word}/{owner}");
    let id = format!("{}/{owner}/{name}", kind.as_str());
    let policy: InlinePolicy = from_json(
        json!({"id": id, "owner_kind": kind, "owner": owner, "owner_arn": owner_arn, "name": name, "document": doc}),
        "inline policy",
    )?;
    inv.inline_policies.retain(|p| p.id != id);
    inv.inline_policies.push(policy);
    Ok(Folded {
        touched: vec![(ResourceKind::InlinePolicy, id)],
        unknown: vec![format!(
            "{word} {owner} is not in the inventory: its path, tags (exemptions by tag cannot \
             apply) and other policies are unknown"
        )],
    })
}

fn fold_known(inv: &mut Inventory, e: &IamEvent) -> Result<Vec<Touched>, String> {
    let account = account_of(inv, e);
    match e.name.as_str() {
        "CreatePolicy" => {
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
            inv.managed_policies.retain(|p| p.arn != arn);
            inv.managed_policies.push(policy);
            Ok(vec![(ResourceKind::ManagedPolicy, arn)])
        }
        "CreatePolicyVersion" | "SetDefaultPolicyVersion" => {
            let arn = req(e, "policyArn")?.to_string();
            let p = inv
                .managed_policies
                .iter_mut()
                .find(|p| p.arn == arn)
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
                            .filter_map(|v| {
                                v.version_id.trim_start_matches('v').parse::<u64>().ok()
                            })
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
        "PutUserPolicy" | "PutGroupPolicy" | "PutRolePolicy" => {
            let (kind, key, word) = owner_kind(&e.name);
            let owner = req(e, key)?.to_string();
            let name = req(e, "policyName")?.to_string();
            let doc = document(e, "policyDocument")?;
            let owner_arn = match kind {
                OwnerKind::User => inv
                    .users
                    .iter()
                    .find(|u| u.name == owner)
                    .map(|u| u.arn.clone()),
                OwnerKind::Group => inv
                    .groups
                    .iter()
                    .find(|g| g.name == owner)
                    .map(|g| g.arn.clone()),
                OwnerKind::Role => inv
                    .roles
                    .iter()
                    .find(|r| r.name == owner)
                    .map(|r| r.arn.clone()),
            }
            .ok_or_else(|| not_found(word, &owner))?;
            let id = format!("{}/{owner}/{name}", kind.as_str());
            let policy: InlinePolicy = from_json(
                json!({"id": id, "owner_kind": kind, "owner": owner, "owner_arn": owner_arn, "name": name, "document": doc}),
                "inline policy",
            )?;
            inv.inline_policies.retain(|p| p.id != id);
            inv.inline_policies.push(policy);
            let list = match kind {
                OwnerKind::User => inv
                    .users
                    .iter_mut()
                    .find(|u| u.name == owner)
                    .map(|u| &mut u.inline_policies),
                OwnerKind::Group => inv
                    .groups
                    .iter_mut()
                    .find(|g| g.name == owner)
                    .map(|g| &mut g.inline_policies),
                OwnerKind::Role => inv
                    .roles
                    .iter_mut()
                    .find(|r| r.name == owner)
                    .map(|r| &mut r.inline_policies),
            };
            if let Some(list) = list {
                if !list.contains(&name) {
                    list.push(name);
                }
            }
            Ok(vec![(ResourceKind::InlinePolicy, id)])
        }
        "AttachUserPolicy" | "AttachGroupPolicy" | "AttachRolePolicy" => {
            let (kind, key, word) = owner_kind(&e.name);
            let owner = req(e, key)?.to_string();
            let arn = req(e, "policyArn")?.to_string();
            let touched = match kind {
                OwnerKind::User => inv.users.iter_mut().find(|u| u.name == owner).map(|u| {
                    push_unique(&mut u.attached_policies, &arn);
                    (ResourceKind::User, u.id.clone())
                }),
                OwnerKind::Group => inv.groups.iter_mut().find(|g| g.name == owner).map(|g| {
                    push_unique(&mut g.attached_policies, &arn);
                    (ResourceKind::Group, g.id.clone())
                }),
                OwnerKind::Role => inv.roles.iter_mut().find(|r| r.name == owner).map(|r| {
                    push_unique(&mut r.attached_policies, &arn);
                    (ResourceKind::Role, r.id.clone())
                }),
            }
            .ok_or_else(|| not_found(word, &owner))?;
            Ok(vec![touched, (ResourceKind::ManagedPolicy, arn)])
        }
        "AddUserToGroup" => {
            let user = req(e, "userName")?.to_string();
            let group = req(e, "groupName")?.to_string();
            if !inv.groups.iter().any(|g| g.name == group) {
                return Err(not_found("group", &group));
            }
            let u = inv
                .users
                .iter_mut()
                .find(|u| u.name == user)
                .ok_or_else(|| not_found("user", &user))?;
            push_unique(&mut u.groups, &group);
            Ok(vec![(ResourceKind::User, u.id.clone())])
        }
        "CreateAccessKey" => {
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
            let touched_user = (ResourceKind::User, user_id(inv, &user)?);
            let k: AccessKey = from_json(
                json!({"id": id, "user": user, "status": "Active", "created_at": response_time(e, &["accessKey", "createDate"])}),
                "access key",
            )?;
            inv.access_keys.retain(|x| x.id != id);
            inv.access_keys.push(k);
            Ok(vec![(ResourceKind::AccessKey, id), touched_user])
        }
        "CreateLoginProfile" => {
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
        "UpdateAssumeRolePolicy" => {
            let role = req(e, "roleName")?.to_string();
            let doc = document(e, "policyDocument")?;
            let r = inv
                .roles
                .iter_mut()
                .find(|r| r.name == role)
                .ok_or_else(|| not_found("role", &role))?;
            r.trust_policy = doc;
            Ok(vec![(ResourceKind::Role, r.id.clone())])
        }
        "UpdateAccountPasswordPolicy" => {
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
        "DeleteAccountPasswordPolicy" => {
            inv.account.password_policy = None;
            Ok(vec![(ResourceKind::Account, inv.account.id.clone())])
        }
        "DeactivateMFADevice" => {
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
        other => Err(format!("{other} is not an event iamwarden reacts to")),
    }
}

/// The inventory id of user `name`, or why the event cannot be applied.
fn user_id(inv: &Inventory, name: &str) -> Result<String, String> {
    inv.users
        .iter()
        .find(|u| u.name == name)
        .map(|u| u.id.clone())
        .ok_or_else(|| not_found("user", name))
}

fn push_unique(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|x| x == item) {
        list.push(item.to_string());
    }
}
