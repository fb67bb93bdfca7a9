//! The targeted read of event mode: only the resources a batch of events touched, each with the
//! parts its [`Scope`] names, so judging an event costs a bounded number of calls whatever the
//! account's size (a `CreatePolicy` reads 3 to 8: `GetPolicy`, `ListPolicyVersions`, one
//! `GetPolicyVersion` per version, `ListEntitiesForPolicy`). Resources are read concurrently
//! (at most [`LiveOptions::concurrency`] at once), each once however many events touched it.
//!
//! What it leaves out is said, not guessed: the inventory holds only the resources read, and
//! [`Scoped::unread`] lists the parts rules might have wanted that were not read (the documents
//! of a user's other policies), which event mode prints as unknown. A resource that no longer
//! exists (deleted after the event) is listed in [`Scoped::gone`].

use super::{call_error, chrono_of, document, tags, Counter, LiveError, LiveOptions, Stats};
use aws_sdk_iam::Client;
use iamwarden_core::event::scope::{PolicyParts, Scope, UserParts};
use iamwarden_core::inventory::{
    AccessKey, Group, Inventory, LoginProfile, ManagedPolicy, MfaDevice, PolicyVersion, Role, User,
    INVENTORY_FORMAT_VERSION,
};
use std::sync::Arc;
use std::time::Instant;

/// Every IAM operation the targeted read calls (besides `GetAccountPasswordPolicy`,
/// `ListAccessKeys` and `ListMFADevices`, which the full read calls too).
pub const OPERATIONS: [&str; 16] = [
    "GetUser",
    "ListGroupsForUser",
    "ListAttachedUserPolicies",
    "ListUserPolicies",
    "GetAccessKeyLastUsed",
    "GetLoginProfile",
    "GetGroup",
    "ListAttachedGroupPolicies",
    "ListGroupPolicies",
    "GetRole",
    "ListAttachedRolePolicies",
    "ListRolePolicies",
    "GetPolicy",
    "ListPolicyVersions",
    "GetPolicyVersion",
    "ListEntitiesForPolicy",
];

/// What the targeted read found.
#[derive(Debug, Clone, Default)]
pub struct Scoped {
    /// The resources read (normalized).
    pub inventory: Inventory,
    /// Calls made per operation.
    pub stats: Stats,
    /// Resources the events named that no longer exist ("user alice").
    pub gone: Vec<String>,
    /// Parts not read that rules might look at ("user alice: the documents of its other
    /// attached policies").
    pub unread: Vec<String>,
}

/// One resource read, merged into the inventory afterwards.
enum Part {
    User(Box<UserRead>),
    Group(Box<(Group, Vec<ManagedPolicy>)>),
    Role(Box<Role>),
    Policy(Box<PolicyRead>),
    PasswordPolicy(Option<iamwarden_core::inventory::PasswordPolicy>),
    Gone(String),
}

struct UserRead {
    user: User,
    keys: Vec<AccessKey>,
    login_profile: Option<LoginProfile>,
    mfa: Vec<MfaDevice>,
    credentials: bool,
}

struct PolicyRead {
    policy: ManagedPolicy,
    /// (kind, name, id) of every entity it is attached to (full reads only).
    attached: Vec<(&'static str, String, String)>,
}

fn is_no_such_entity<E, R>(e: &aws_sdk_iam::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_iam::error::ProvideErrorMetadata,
{
    use aws_sdk_iam::error::ProvideErrorMetadata as _;
    matches!(e, aws_sdk_iam::error::SdkError::ServiceError(_)) && e.code() == Some("NoSuchEntity")
}

/// Reads what `scope` names. Any failed call other than "no such entity" on the resource's
/// own read ends the read with the call and the permission it needs, as the full read does.
pub async fn read_scoped(
    client: &Client,
    scope: &Scope,
    opts: &LiveOptions,
) -> Result<Scoped, LiveError> {
    let started = Instant::now();
    let counter = Counter::default();
    let sem = Arc::new(tokio::sync::Semaphore::new(opts.concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    macro_rules! spawn {
        ($fut:expr) => {{
            let sem = sem.clone();
            let fut = $fut;
            set.spawn(async move {
                let _permit = sem.acquire_owned().await;
                fut.await
            });
        }};
    }
    for (name, parts) in &scope.users {
        spawn!(read_user(
            client.clone(),
            counter.clone(),
            name.clone(),
            *parts
        ));
    }
    for name in &scope.groups {
        spawn!(read_group(client.clone(), counter.clone(), name.clone()));
    }
    for name in &scope.roles {
        spawn!(read_role(client.clone(), counter.clone(), name.clone()));
    }
    for (arn, parts) in &scope.policies {
        spawn!(read_policy(
            client.clone(),
            counter.clone(),
            arn.clone(),
            *parts
        ));
    }
    if scope.password_policy {
        spawn!(read_password_policy(client.clone(), counter.clone()));
    }

    let mut out = Scoped {
        inventory: Inventory {
            format_version: INVENTORY_FORMAT_VERSION,
            generated_at: Some(chrono::Utc::now()),
            ..Inventory::default()
        },
        ..Scoped::default()
    };
    let mut attachments = Vec::new();
    while let Some(joined) = set.join_next().await {
        let part =
            joined.map_err(|e| LiveError::Data(format!("a targeted read task failed: {e}")))??;
        let inv = &mut out.inventory;
        match part {
            Part::User(u) => {
                let u = *u;
                if !u.credentials {
                    out.unread.push(format!(
                        "user {}: its access keys, password and MFA devices",
                        u.user.name
                    ));
                }
                if !u.user.attached_policies.is_empty() || !u.user.inline_policies.is_empty() {
                    out.unread.push(format!(
                        "user {}: the documents of its policies other than the event's",
                        u.user.name
                    ));
                }
                inv.access_keys.extend(u.keys);
                inv.login_profiles.extend(u.login_profile);
                inv.mfa_devices.extend(u.mfa);
                inv.users.push(u.user);
            }
            Part::Group(g) => {
                let (group, policies) = *g;
                if !group.inline_policies.is_empty() {
                    out.unread.push(format!(
                        "group {}: the documents of its inline policies",
                        group.name
                    ));
                }
                inv.groups.push(group);
                inv.managed_policies.extend(policies);
            }
            Part::Role(r) => {
                if !r.attached_policies.is_empty() || !r.inline_policies.is_empty() {
                    out.unread.push(format!(
                        "role {}: the documents of its policies other than the event's",
                        r.name
                    ));
                }
                inv.roles.push(*r);
            }
            Part::Policy(p) => {
                let p = *p;
                attachments.extend(p.attached.into_iter().map(|a| (p.policy.arn.clone(), a)));
                inv.managed_policies.push(p.policy);
            }
            Part::PasswordPolicy(p) => inv.account.password_policy = p,
            Part::Gone(what) => out.gone.push(what),
        }
    }
    attach_entities(&mut out.inventory, attachments);
    let inv = &mut out.inventory;
    // The same policy can come from a group's read and the scope: keep the fuller record.
    inv.managed_policies.sort_by(|a, b| {
        a.arn
            .cmp(&b.arn)
            .then(b.versions.len().cmp(&a.versions.len()))
    });
    inv.managed_policies.dedup_by(|a, b| a.arn == b.arn);
    inv.account.id = scope
        .account
        .clone()
        .or_else(|| super::account_id(inv, &[]))
        .unwrap_or_default();
    if !inv.account.id.is_empty() {
        inv.account.arn = format!("arn:aws:iam::{}:root", inv.account.id);
    }
    inv.users.sort_by(|a, b| a.name.cmp(&b.name));
    inv.groups.sort_by(|a, b| a.name.cmp(&b.name));
    inv.roles.sort_by(|a, b| a.name.cmp(&b.name));
    inv.access_keys.sort_by(|a, b| a.id.cmp(&b.id));
    out.gone.sort();
    out.unread.sort();
    out.unread.dedup();
    inv.normalize();
    out.stats = Stats {
        calls: counter.snapshot(),
        elapsed: started.elapsed(),
    };
    Ok(out)
}

/// The entities a fully read policy is attached to, as records that carry the attachment (and
/// the entity id apply's re-created-entity check compares), added where the read did not
/// already bring the entity.
fn attach_entities(
    inv: &mut Inventory,
    attachments: Vec<(String, (&'static str, String, String))>,
) {
    for (arn, (kind, name, id)) in attachments {
        match kind {
            "user" => match inv.users.iter_mut().find(|u| u.name == name) {
                Some(u) => push_unique(&mut u.attached_policies, &arn),
                None => inv.users.push(User {
                    id,
                    name,
                    attached_policies: vec![arn],
                    ..User::default()
                }),
            },
            "group" => match inv.groups.iter_mut().find(|g| g.name == name) {
                Some(g) => push_unique(&mut g.attached_policies, &arn),
                None => inv.groups.push(Group {
                    id,
                    name,
                    attached_policies: vec![arn],
                    ..Group::default()
                }),
            },
            _ => match inv.roles.iter_mut().find(|r| r.name == name) {
                Some(r) => push_unique(&mut r.attached_policies, &arn),
                None => inv.roles.push(Role {
                    id,
                    name,
                    attached_policies: vec![arn],
                    ..Role::default()
                }),
            },
        }
    }
}

fn push_unique(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|x| x == item) {
        list.push(item.to_string());
    }
}

async fn read_user(
    client: Client,
    counter: Counter,
    name: String,
    parts: UserParts,
) -> Result<Part, LiveError> {
    counter.hit("GetUser");
    let got = match client.get_user().user_name(&name).send().await {
        Ok(o) => o,
        Err(e) if is_no_such_entity(&e) => return Ok(Part::Gone(format!("user {name}"))),
        Err(e) => return Err(call_error("GetUser", e)),
    };
    let Some(u) = got.user() else {
        return Ok(Part::Gone(format!("user {name}")));
    };
    let mut user = User {
        id: u.user_id().to_string(),
        arn: u.arn().to_string(),
        name: name.clone(),
        path: u.path().to_string(),
        created_at: chrono_of(Some(u.create_date())).unwrap_or_default(),
        password_last_used_at: chrono_of(u.password_last_used()),
        permissions_boundary: u
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn().map(str::to_string)),
        tags: tags(u.tags()),
        ..User::default()
    };
    counter.hit("ListGroupsForUser");
    let groups = client
        .list_groups_for_user()
        .user_name(&name)
        .max_items(1000)
        .send()
        .await
        .map_err(|e| call_error("ListGroupsForUser", e))?;
    user.groups = groups
        .groups()
        .iter()
        .map(|g| g.group_name().to_string())
        .collect();
    counter.hit("ListAttachedUserPolicies");
    let attached = client
        .list_attached_user_policies()
        .user_name(&name)
        .max_items(1000)
        .send()
        .await
        .map_err(|e| call_error("ListAttachedUserPolicies", e))?;
    user.attached_policies = super::attached_arns(attached.attached_policies());
    counter.hit("ListUserPolicies");
    let inline = client
        .list_user_policies()
        .user_name(&name)
        .max_items(1000)
        .send()
        .await
        .map_err(|e| call_error("ListUserPolicies", e))?;
    user.inline_policies = inline.policy_names().to_vec();

    let mut read = UserRead {
        user,
        keys: Vec::new(),
        login_profile: None,
        mfa: Vec::new(),
        credentials: parts == UserParts::Credentials,
    };
    if read.credentials {
        read_credentials(&client, &counter, &mut read).await?;
    }
    Ok(Part::User(Box::new(read)))
}

/// A user's keys with their last use, login profile and MFA devices.
async fn read_credentials(
    client: &Client,
    counter: &Counter,
    read: &mut UserRead,
) -> Result<(), LiveError> {
    let name = read.user.name.clone();
    counter.hit("ListAccessKeys");
    let keys = client
        .list_access_keys()
        .user_name(&name)
        .send()
        .await
        .map_err(|e| call_error("ListAccessKeys", e))?;
    for k in keys.access_key_metadata() {
        let id = k.access_key_id().unwrap_or_default().to_string();
        counter.hit("GetAccessKeyLastUsed");
        let used = client
            .get_access_key_last_used()
            .access_key_id(&id)
            .send()
            .await
            .map_err(|e| call_error("GetAccessKeyLastUsed", e))?;
        let last = used.access_key_last_used();
        // IAM says "N/A" for a key never used.
        let known = |s: &str| (s != "N/A" && !s.is_empty()).then(|| s.to_string());
        read.keys.push(AccessKey {
            id,
            user: name.clone(),
            status: super::key_status(k.status()),
            created_at: chrono_of(k.create_date()).unwrap_or_default(),
            last_used_at: last.and_then(|l| chrono_of(l.last_used_date())),
            last_used_service: last.and_then(|l| known(l.service_name())),
            last_used_region: last.and_then(|l| known(l.region())),
            ..AccessKey::default()
        });
    }
    counter.hit("GetLoginProfile");
    match client.get_login_profile().user_name(&name).send().await {
        Ok(o) => {
            read.login_profile = o.login_profile().map(|p| LoginProfile {
                id: name.clone(),
                user: name.clone(),
                user_arn: read.user.arn.clone(),
                created_at: chrono_of(Some(p.create_date())).unwrap_or_default(),
                password_reset_required: p.password_reset_required(),
                ..LoginProfile::default()
            });
        }
        Err(e) if is_no_such_entity(&e) => {}
        Err(e) => return Err(call_error("GetLoginProfile", e)),
    }
    counter.hit("ListMFADevices");
    let mfa = client
        .list_mfa_devices()
        .user_name(&name)
        .send()
        .await
        .map_err(|e| call_error("ListMFADevices", e))?;
    read.mfa = mfa
        .mfa_devices()
        .iter()
        .map(|d| super::mfa_device_of(d, &name))
        .collect();
    Ok(())
}

async fn read_group(client: Client, counter: Counter, name: String) -> Result<Part, LiveError> {
    counter.hit("GetGroup");
    let got = match client
        .get_group()
        .group_name(&name)
        .max_items(1000)
        .send()
        .await
    {
        Ok(o) => o,
        Err(e) if is_no_such_entity(&e) => return Ok(Part::Gone(format!("group {name}"))),
        Err(e) => return Err(call_error("GetGroup", e)),
    };
    let Some(g) = got.group() else {
        return Ok(Part::Gone(format!("group {name}")));
    };
    let mut group = Group {
        id: g.group_id().to_string(),
        arn: g.arn().to_string(),
        name: name.clone(),
        path: g.path().to_string(),
        created_at: chrono_of(Some(g.create_date())).unwrap_or_default(),
        ..Group::default()
    };
    counter.hit("ListAttachedGroupPolicies");
    let attached = client
        .list_attached_group_policies()
        .group_name(&name)
        .max_items(1000)
        .send()
        .await
        .map_err(|e| call_error("ListAttachedGroupPolicies", e))?;
    group.attached_policies = super::attached_arns(attached.attached_policies());
    counter.hit("ListGroupPolicies");
    let inline = client
        .list_group_policies()
        .group_name(&name)
        .max_items(1000)
        .send()
        .await
        .map_err(|e| call_error("ListGroupPolicies", e))?;
    group.inline_policies = inline.policy_names().to_vec();
    // A member's admin access through the group is judged on these documents.
    let mut policies = Vec::new();
    for arn in &group.attached_policies {
        if let Part::Policy(p) = read_policy(
            client.clone(),
            counter.clone(),
            arn.clone(),
            PolicyParts::Document,
        )
        .await?
        {
            policies.push(p.policy);
        }
    }
    Ok(Part::Group(Box::new((group, policies))))
}

async fn read_role(client: Client, counter: Counter, name: String) -> Result<Part, LiveError> {
    counter.hit("GetRole");
    let got = match client.get_role().role_name(&name).send().await {
        Ok(o) => o,
        Err(e) if is_no_such_entity(&e) => return Ok(Part::Gone(format!("role {name}"))),
        Err(e) => return Err(call_error("GetRole", e)),
    };
    let Some(r) = got.role() else {
        return Ok(Part::Gone(format!("role {name}")));
    };
    let mut role = Role {
        id: r.role_id().to_string(),
        arn: r.arn().to_string(),
        name: name.clone(),
        path: r.path().to_string(),
        created_at: chrono_of(Some(r.create_date())).unwrap_or_default(),
        trust_policy: document(r.assume_role_policy_document()),
        last_used_at: r
            .role_last_used()
            .and_then(|l| chrono_of(l.last_used_date())),
        last_used_region: r
            .role_last_used()
            .and_then(|l| l.region().map(str::to_string)),
        permissions_boundary: r
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn().map(str::to_string)),
        tags: tags(r.tags()),
        ..Role::default()
    };
    counter.hit("ListAttachedRolePolicies");
    let attached = client
        .list_attached_role_policies()
        .role_name(&name)
        .max_items(1000)
        .send()
        .await
        .map_err(|e| call_error("ListAttachedRolePolicies", e))?;
    role.attached_policies = super::attached_arns(attached.attached_policies());
    counter.hit("ListRolePolicies");
    let inline = client
        .list_role_policies()
        .role_name(&name)
        .max_items(1000)
        .send()
        .await
        .map_err(|e| call_error("ListRolePolicies", e))?;
    role.inline_policies = inline.policy_names().to_vec();
    Ok(Part::Role(Box::new(role)))
}

async fn read_policy(
    client: Client,
    counter: Counter,
    arn: String,
    parts: PolicyParts,
) -> Result<Part, LiveError> {
    counter.hit("GetPolicy");
    let got = match client.get_policy().policy_arn(&arn).send().await {
        Ok(o) => o,
        Err(e) if is_no_such_entity(&e) => return Ok(Part::Gone(format!("policy {arn}"))),
        Err(e) => return Err(call_error("GetPolicy", e)),
    };
    let Some(p) = got.policy() else {
        return Ok(Part::Gone(format!("policy {arn}")));
    };
    let default_version_id = p.default_version_id().unwrap_or_default().to_string();
    let mut policy = ManagedPolicy {
        id: arn.clone(),
        aws_managed: arn.starts_with("arn:aws:iam::aws:policy/"),
        arn: arn.clone(),
        name: p
            .policy_name()
            .map(str::to_string)
            .unwrap_or_else(|| arn.rsplit('/').next().unwrap_or_default().to_string()),
        path: p.path().unwrap_or("/").to_string(),
        policy_id: p.policy_id().map(str::to_string),
        description: p.description().map(str::to_string),
        created_at: chrono_of(p.create_date()),
        updated_at: chrono_of(p.update_date()),
        default_version_id: default_version_id.clone(),
        tags: tags(p.tags()),
        ..ManagedPolicy::default()
    };
    // Which versions to read: all of them for a full read, the default one otherwise.
    let versions: Vec<(String, bool, Option<chrono::DateTime<chrono::Utc>>)> = match parts {
        PolicyParts::Document => vec![(default_version_id.clone(), true, None)],
        PolicyParts::Full => {
            counter.hit("ListPolicyVersions");
            let listed = client
                .list_policy_versions()
                .policy_arn(&arn)
                .send()
                .await
                .map_err(|e| call_error("ListPolicyVersions", e))?;
            listed
                .versions()
                .iter()
                .map(|v| {
                    (
                        v.version_id().unwrap_or_default().to_string(),
                        v.is_default_version(),
                        chrono_of(v.create_date()),
                    )
                })
                .collect()
        }
    };
    for (id, is_default, created) in versions {
        counter.hit("GetPolicyVersion");
        let got = match client
            .get_policy_version()
            .policy_arn(&arn)
            .version_id(&id)
            .send()
            .await
        {
            Ok(o) => o,
            // Deleted between the list and the read: not a version any more.
            Err(e) if is_no_such_entity(&e) => continue,
            Err(e) => return Err(call_error("GetPolicyVersion", e)),
        };
        let v = got.policy_version();
        policy.versions.push(PolicyVersion {
            version_id: id,
            is_default,
            created_at: created.or_else(|| v.and_then(|v| chrono_of(v.create_date()))),
            document: document(v.and_then(|v| v.document())),
        });
    }
    let mut attached = Vec::new();
    if parts == PolicyParts::Full {
        counter.hit("ListEntitiesForPolicy");
        let listed = client
            .list_entities_for_policy()
            .policy_arn(&arn)
            .max_items(1000)
            .send()
            .await
            .map_err(|e| call_error("ListEntitiesForPolicy", e))?;
        for u in listed.policy_users() {
            attached.push((
                "user",
                u.user_name().unwrap_or_default().to_string(),
                u.user_id().unwrap_or_default().to_string(),
            ));
        }
        for g in listed.policy_groups() {
            attached.push((
                "group",
                g.group_name().unwrap_or_default().to_string(),
                g.group_id().unwrap_or_default().to_string(),
            ));
        }
        for r in listed.policy_roles() {
            attached.push((
                "role",
                r.role_name().unwrap_or_default().to_string(),
                r.role_id().unwrap_or_default().to_string(),
            ));
        }
    }
    Ok(Part::Policy(Box::new(PolicyRead { policy, attached })))
}

async fn read_password_policy(client: Client, counter: Counter) -> Result<Part, LiveError> {
    counter.hit("GetAccountPasswordPolicy");
    match client.get_account_password_policy().send().await {
        Ok(out) => Ok(Part::PasswordPolicy(
            out.password_policy().map(super::password_policy_of),
        )),
        Err(e) if is_no_such_entity(&e) => Ok(Part::PasswordPolicy(None)),
        Err(e) => Err(call_error("GetAccountPasswordPolicy", e)),
    }
}
