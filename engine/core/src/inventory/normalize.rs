//! Derived fields: everything in the inventory that can be computed from the rest of it.
//!
//! Rules are evaluated one resource at a time; the facts they need from related records (a
//! key's owner, a user's newest key, the key to keep of two, which attached policies grant
//! admin) are joined here, once, so evaluation never reaches across collections.

use super::{
    AccessDataStatus, Inventory, KeyStatus, OwnerKind, ResourceKind, ServiceAccess,
    ACCESS_TRACKING_DAYS,
};
use crate::policy::Document;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};

/// The AWS-managed policy that grants everything; counted as admin even when a snapshot does not
/// carry its document.
pub const ADMINISTRATOR_ACCESS_ARN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

fn latest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// The user the unassigned device `m` was: its `last_user`, or (when unknown) for a virtual
/// device, its name after `mfa/` and any path.
fn former_user(m: &super::MfaDevice) -> Option<&str> {
    match &m.last_user {
        Some(last) => Some(last.as_str()),
        None if m.r#virtual => {
            m.id.split_once(":mfa/")
                .and_then(|(_, rest)| rest.rsplit('/').next())
        }
        None => None,
    }
}

impl Inventory {
    /// Sorts every collection (users, groups and roles by name, the rest by id) and recomputes
    /// every derived field. Login profiles and MFA devices are authoritative for a user's
    /// `password_enabled` and `mfa_enabled`.
    pub fn normalize(&mut self) {
        self.users.sort_by(|a, b| a.name.cmp(&b.name));
        self.access_keys.sort_by(|a, b| a.id.cmp(&b.id));
        self.mfa_devices.sort_by(|a, b| a.id.cmp(&b.id));
        self.login_profiles.sort_by(|a, b| a.id.cmp(&b.id));
        self.groups.sort_by(|a, b| a.name.cmp(&b.name));
        self.roles.sort_by(|a, b| a.name.cmp(&b.name));
        self.managed_policies.sort_by(|a, b| a.id.cmp(&b.id));
        self.inline_policies.sort_by(|a, b| a.id.cmp(&b.id));
        if self.account.arn.is_empty() {
            self.account.arn = format!("arn:aws:iam::{}:root", self.account.id);
        }

        let user_index: HashMap<String, usize> = self
            .users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.name.clone(), i))
            .collect();

        // Login profiles and MFA devices decide the user's flags.
        for u in &mut self.users {
            u.password_enabled = false;
            u.mfa_enabled = false;
        }
        for lp in &self.login_profiles {
            if let Some(&i) = user_index.get(&lp.user) {
                if let Some(u) = self.users.get_mut(i) {
                    u.password_enabled = true;
                }
            }
        }
        for m in &self.mfa_devices {
            if let Some(i) = m.user.as_ref().and_then(|n| user_index.get(n)) {
                if let Some(u) = self.users.get_mut(*i) {
                    u.mfa_enabled = true;
                }
            }
        }
        // Deactivated devices: unassigned ones known (or named) to have been the user's. Each
        // unassigned device names at most one user, so they are indexed by that name (in id
        // order) once, rather than every device being tried for every user.
        let mut unassigned: HashMap<&str, Vec<&str>> = HashMap::new();
        for m in self.mfa_devices.iter().filter(|m| m.user.is_none()) {
            if let Some(name) = former_user(m) {
                unassigned.entry(name).or_default().push(m.id.as_str());
            }
        }
        for u in &mut self.users {
            u.deactivated_mfa_devices = match unassigned.get(u.name.as_str()) {
                Some(ids) if !u.mfa_enabled => ids.iter().map(|id| id.to_string()).collect(),
                _ => Vec::new(),
            };
        }

        // Access keys <-> users.
        for u in &mut self.users {
            u.access_key_ids.clear();
            u.active_access_key_count = 0;
            u.last_activity_at = u.password_last_used_at;
        }
        let mut newest_active: HashMap<&str, (DateTime<Utc>, &str)> = HashMap::new();
        for k in &self.access_keys {
            if k.status == KeyStatus::Active {
                let e = newest_active
                    .entry(k.user.as_str())
                    .or_insert((k.created_at, k.id.as_str()));
                if (k.created_at, k.id.as_str()) > *e {
                    *e = (k.created_at, k.id.as_str());
                }
            }
        }
        // The key to keep: latest use (never used = least recent), then newest, then id.
        type KeepRank<'k> = (Option<DateTime<Utc>>, DateTime<Utc>, &'k str);
        let mut keep: HashMap<&str, KeepRank<'_>> = HashMap::new();
        for k in &self.access_keys {
            if k.status == KeyStatus::Active {
                let rank = (k.last_used_at, k.created_at, k.id.as_str());
                let e = keep.entry(k.user.as_str()).or_insert(rank);
                if rank > *e {
                    *e = rank;
                }
            }
        }
        let keep: HashMap<String, String> = keep
            .into_iter()
            .map(|(u, (_, _, id))| (u.to_string(), id.to_string()))
            .collect();
        let newest: HashMap<String, String> = newest_active
            .into_iter()
            .map(|(u, (_, id))| (u.to_string(), id.to_string()))
            .collect();
        for k in &mut self.access_keys {
            k.newest_active_key_of_user =
                k.status == KeyStatus::Active && newest.get(&k.user) == Some(&k.id);
            k.most_recently_used_active_key_of_user =
                k.status == KeyStatus::Active && keep.get(&k.user) == Some(&k.id);
            let Some(u) = user_index.get(&k.user).and_then(|&i| self.users.get_mut(i)) else {
                continue;
            };
            u.access_key_ids.push(k.id.clone());
            if k.status == KeyStatus::Active {
                u.active_access_key_count += 1;
            }
            u.last_activity_at = latest(u.last_activity_at, k.last_used_at);
            if k.user_arn.is_empty() {
                k.user_arn = u.arn.clone();
            }
            k.user_created_at = Some(u.created_at);
            k.seconds_after_user_created = Some((k.created_at - u.created_at).num_seconds());
            k.user_password_enabled = u.password_enabled;
            k.user_tags = u.tags.clone();
        }
        for k in &mut self.access_keys {
            if let Some(u) = user_index.get(&k.user).and_then(|&i| self.users.get(i)) {
                k.user_active_key_count = u.active_access_key_count;
            }
        }
        for lp in &mut self.login_profiles {
            if let Some(u) = user_index.get(&lp.user).and_then(|&i| self.users.get(i)) {
                lp.password_last_used_at = u.password_last_used_at;
                lp.user_mfa_enabled = u.mfa_enabled;
                lp.user_tags = u.tags.clone();
                if lp.user_arn.is_empty() {
                    lp.user_arn = u.arn.clone();
                }
            }
        }
        for m in &mut self.mfa_devices {
            if let Some(u) = m.user.as_ref().and_then(|n| user_index.get(n)) {
                if let Some(u) = self.users.get(*u) {
                    m.user_tags = u.tags.clone();
                    m.user_arn = Some(u.arn.clone());
                }
            }
        }

        // Groups: members.
        let group_index: HashMap<String, usize> = self
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.name.clone(), i))
            .collect();
        for g in &mut self.groups {
            g.members.clear();
        }
        for u in &self.users {
            for gname in &u.groups {
                if let Some(g) = group_index.get(gname).and_then(|&i| self.groups.get_mut(i)) {
                    g.members.push(u.name.clone());
                }
            }
        }

        // Managed policies: default document, attachments, admin access.
        let mut admin_policies: HashSet<String> = HashSet::new();
        admin_policies.insert(ADMINISTRATOR_ACCESS_ARN.to_string());
        let policy_index: HashMap<String, usize> = self
            .managed_policies
            .iter()
            .enumerate()
            .map(|(i, p)| (p.arn.clone(), i))
            .collect();
        for p in &mut self.managed_policies {
            if p.id.is_empty() {
                p.id = p.arn.clone();
            }
            p.aws_managed = p.aws_managed || p.arn.starts_with("arn:aws:iam::aws:policy/");
            for v in &mut p.versions {
                v.is_default = v.version_id == p.default_version_id;
            }
            p.default_document = p
                .versions
                .iter()
                .find(|v| v.is_default)
                .map(|v| v.document.clone())
                .unwrap_or_default();
            let parsed = Document::parse(&p.default_document);
            p.document_error = match (&parsed, &p.default_document) {
                // No default version known: nothing to judge, not an error.
                (Err(_), serde_json::Value::Null) => None,
                (Err(e), _) => Some(e.to_string()),
                (Ok(_), _) => None,
            };
            p.admin_access = parsed.map(|d| d.admin_access(false)).unwrap_or(false);
            if p.admin_access {
                admin_policies.insert(p.arn.clone());
            } else if p.arn != ADMINISTRATOR_ACCESS_ARN {
                admin_policies.remove(&p.arn);
            }
            p.attached_users.clear();
            p.attached_groups.clear();
            p.attached_roles.clear();
        }
        let mut attach = |arn: &str, kind: OwnerKind, name: &str| {
            if let Some(p) = policy_index
                .get(arn)
                .and_then(|&i| self.managed_policies.get_mut(i))
            {
                match kind {
                    OwnerKind::User => p.attached_users.push(name.to_string()),
                    OwnerKind::Group => p.attached_groups.push(name.to_string()),
                    OwnerKind::Role => p.attached_roles.push(name.to_string()),
                }
            }
        };
        for u in &self.users {
            for a in &u.attached_policies {
                attach(a, OwnerKind::User, &u.name);
            }
        }
        for g in &self.groups {
            for a in &g.attached_policies {
                attach(a, OwnerKind::Group, &g.name);
            }
        }
        for r in &self.roles {
            for a in &r.attached_policies {
                attach(a, OwnerKind::Role, &r.name);
            }
        }
        for p in &mut self.managed_policies {
            p.attachment_count =
                (p.attached_users.len() + p.attached_groups.len() + p.attached_roles.len()) as u32;
        }

        // Inline policies: owner facts and admin access.
        let role_index: HashMap<String, usize> = self
            .roles
            .iter()
            .enumerate()
            .map(|(i, r)| (r.name.clone(), i))
            .collect();
        let mut admin_inline: HashMap<(OwnerKind, String), Vec<String>> = HashMap::new();
        for ip in &mut self.inline_policies {
            let parsed = Document::parse(&ip.document);
            ip.document_error = match (&parsed, &ip.document) {
                (Err(_), serde_json::Value::Null) => None,
                (Err(e), _) => Some(e.to_string()),
                (Ok(_), _) => None,
            };
            ip.admin_access = parsed.map(|d| d.admin_access(false)).unwrap_or(false);
            let (arn, tags) = match ip.owner_kind {
                OwnerKind::User => user_index
                    .get(&ip.owner)
                    .and_then(|&i| self.users.get(i))
                    .map(|u| (u.arn.clone(), u.tags.clone())),
                OwnerKind::Group => group_index
                    .get(&ip.owner)
                    .and_then(|&i| self.groups.get(i))
                    .map(|g| (g.arn.clone(), Default::default())),
                OwnerKind::Role => role_index
                    .get(&ip.owner)
                    .and_then(|&i| self.roles.get(i))
                    .map(|r| (r.arn.clone(), r.tags.clone())),
            }
            .unwrap_or_default();
            if ip.owner_arn.is_empty() {
                ip.owner_arn = arn;
            }
            ip.owner_tags = tags;
            if ip.id.is_empty() {
                ip.id = format!("{}/{}/{}", ip.owner_kind.as_str(), ip.owner, ip.name);
            }
            if ip.admin_access {
                admin_inline
                    .entry((ip.owner_kind, ip.owner.clone()))
                    .or_default()
                    .push(ip.name.clone());
            }
        }
        let admin_of = |attached: &[String]| -> Vec<String> {
            attached
                .iter()
                .filter(|a| admin_policies.contains(*a))
                .cloned()
                .collect()
        };
        for g in &mut self.groups {
            g.admin_attached_policies = admin_of(&g.attached_policies);
            g.admin_inline_policies = admin_inline
                .get(&(OwnerKind::Group, g.name.clone()))
                .cloned()
                .unwrap_or_default();
        }
        let admin_groups: HashSet<&str> = self
            .groups
            .iter()
            .filter(|g| {
                !g.admin_attached_policies.is_empty() || !g.admin_inline_policies.is_empty()
            })
            .map(|g| g.name.as_str())
            .collect();
        for u in &mut self.users {
            u.admin_attached_policies = admin_of(&u.attached_policies);
            u.admin_inline_policies = admin_inline
                .get(&(OwnerKind::User, u.name.clone()))
                .cloned()
                .unwrap_or_default();
            u.admin_via_groups = u
                .groups
                .iter()
                .filter(|g| admin_groups.contains(g.as_str()))
                .cloned()
                .collect();
            u.unused_services =
                derive_service_access(u.service_access.as_deref_mut(), u.created_at);
        }
        for r in &mut self.roles {
            r.service_linked = r.path.starts_with("/aws-service-role/");
            r.admin_attached_policies = admin_of(&r.attached_policies);
            r.admin_inline_policies = admin_inline
                .get(&(OwnerKind::Role, r.name.clone()))
                .cloned()
                .unwrap_or_default();
            r.unused_services =
                derive_service_access(r.service_access.as_deref_mut(), r.created_at);
        }
    }
}

/// Sets each service's `idle_since` and returns the namespaces with no authentication in the
/// report (sorted). A report that is not complete yields nothing: unknown is never unused.
fn derive_service_access(
    data: Option<&mut ServiceAccess>,
    created_at: DateTime<Utc>,
) -> Vec<String> {
    let Some(data) = data else {
        return Vec::new();
    };
    if data.status != AccessDataStatus::Complete {
        data.services.clear();
        return Vec::new();
    }
    let tracking_start = data
        .generated_at
        .map(|g| g - chrono::Duration::days(ACCESS_TRACKING_DAYS));
    data.services.sort_by(|a, b| a.namespace.cmp(&b.namespace));
    let mut unused = Vec::new();
    for s in &mut data.services {
        s.namespace = s.namespace.to_ascii_lowercase();
        s.actions.sort_by(|a, b| a.action.cmp(&b.action));
        s.idle_since = match s.last_authenticated_at {
            Some(t) => Some(t),
            None => {
                unused.push(s.namespace.clone());
                Some(tracking_start.map_or(created_at, |t| t.max(created_at)))
            }
        };
    }
    unused
}

impl Inventory {
    /// The records `seeds` names (kind and inventory `id`), with every record their derived
    /// fields are computed from, as a normalized inventory of their own: what event mode judges
    /// and plans on, so that the work after folding costs what the events touched, not what the
    /// account holds.
    ///
    /// Each seed comes out with exactly the fields [`Inventory::normalize`] gives it in the whole
    /// inventory, and so does the user of each seed key, login profile, MFA device and user
    /// inline policy (steps read their owner). What comes along for that:
    /// - a user: its keys, login profile, MFA devices (assigned, and unassigned ones that were
    ///   its), inline policies, attached policies, groups, and those groups' attached and
    ///   inline policies;
    /// - a key, login profile or MFA device: its user, with all of the above;
    /// - an inline policy: its owner (a user with all of the above);
    /// - a group: its members, attached and inline policies;
    /// - a role: its attached and inline policies;
    /// - a managed policy: the users, groups and roles it is attached to;
    /// - always the account.
    ///
    /// The records that come along only for a seed's sake (a policy of a seed user, a member of
    /// a seed group) may lack their own context: read only the seeds and their owners. Costs one
    /// pass over each collection a seed's context lives in (hash probes, no copies but of the
    /// records taken), then a normalize of what was taken.
    pub fn neighbourhood<'s>(
        &self,
        seeds: impl IntoIterator<Item = (ResourceKind, &'s str)>,
    ) -> Inventory {
        let mut ids: HashMap<ResourceKind, HashSet<&str>> = HashMap::new();
        for (kind, id) in seeds {
            ids.entry(kind).or_default().insert(id);
        }
        let seeded = |kind: ResourceKind, id: &str| ids.get(&kind).is_some_and(|s| s.contains(id));
        let has = |kind: ResourceKind| ids.get(&kind).is_some_and(|s| !s.is_empty());

        // Users that need all their context, groups and roles taken as they are, and the
        // seeds' names.
        let mut full_users: HashSet<&str> = HashSet::new();
        let mut plain_groups: HashSet<&str> = HashSet::new();
        let mut plain_roles: HashSet<&str> = HashSet::new();
        let mut seed_groups: HashSet<&str> = HashSet::new();
        let mut seed_roles: HashSet<&str> = HashSet::new();
        let mut seed_policies: HashSet<&str> = HashSet::new();
        let mut keys = Picked::default();
        let mut lps = Picked::default();
        let mut mfas = Picked::default();
        let mut inline = Picked::default();
        let mut groups = Picked::default();
        let mut roles = Picked::default();
        let mut policies = Picked::default();
        let mut users = Picked::default();

        if has(ResourceKind::AccessKey) {
            for (i, k) in self.access_keys.iter().enumerate() {
                if seeded(ResourceKind::AccessKey, &k.id) {
                    keys.take(i);
                    full_users.insert(&k.user);
                }
            }
        }
        if has(ResourceKind::LoginProfile) {
            for (i, l) in self.login_profiles.iter().enumerate() {
                if seeded(ResourceKind::LoginProfile, &l.id) {
                    lps.take(i);
                    full_users.insert(&l.user);
                }
            }
        }
        if has(ResourceKind::MfaDevice) {
            for (i, m) in self.mfa_devices.iter().enumerate() {
                if seeded(ResourceKind::MfaDevice, &m.id) {
                    mfas.take(i);
                    match &m.user {
                        Some(u) => {
                            full_users.insert(u);
                        }
                        None => {
                            if let Some(u) = former_user(m) {
                                full_users.insert(u);
                            }
                        }
                    }
                }
            }
        }
        if has(ResourceKind::InlinePolicy) {
            for (i, p) in self.inline_policies.iter().enumerate() {
                if seeded(ResourceKind::InlinePolicy, &p.id) {
                    inline.take(i);
                    match p.owner_kind {
                        OwnerKind::User => full_users.insert(&p.owner),
                        OwnerKind::Group => plain_groups.insert(&p.owner),
                        OwnerKind::Role => plain_roles.insert(&p.owner),
                    };
                }
            }
        }
        if has(ResourceKind::Group) {
            for (i, g) in self.groups.iter().enumerate() {
                if seeded(ResourceKind::Group, &g.id) {
                    groups.take(i);
                    seed_groups.insert(&g.name);
                }
            }
        }
        if has(ResourceKind::Role) {
            for (i, r) in self.roles.iter().enumerate() {
                if seeded(ResourceKind::Role, &r.id) {
                    roles.take(i);
                    seed_roles.insert(&r.name);
                }
            }
        }
        if has(ResourceKind::ManagedPolicy) {
            for (i, p) in self.managed_policies.iter().enumerate() {
                if seeded(ResourceKind::ManagedPolicy, &p.id) {
                    policies.take(i);
                    seed_policies.insert(&p.arn);
                }
            }
        }

        // Users: the seeds, the owners, members of seed groups, attachers of seed policies.
        let mut ctx_groups: HashSet<&str> = HashSet::new();
        let mut ctx_policies: HashSet<&str> = HashSet::new();
        let attaches_seed = |attached: &[String]| {
            !seed_policies.is_empty() && attached.iter().any(|a| seed_policies.contains(a.as_str()))
        };
        if has(ResourceKind::User)
            || !full_users.is_empty()
            || !seed_groups.is_empty()
            || !seed_policies.is_empty()
        {
            for (i, u) in self.users.iter().enumerate() {
                let full =
                    seeded(ResourceKind::User, &u.id) || full_users.contains(u.name.as_str());
                if full {
                    full_users.insert(&u.name);
                    ctx_groups.extend(u.groups.iter().map(String::as_str));
                    ctx_policies.extend(u.attached_policies.iter().map(String::as_str));
                }
                if full
                    || (!seed_groups.is_empty()
                        && u.groups.iter().any(|g| seed_groups.contains(g.as_str())))
                    || attaches_seed(&u.attached_policies)
                {
                    users.take(i);
                }
            }
        }
        if !ctx_groups.is_empty()
            || !plain_groups.is_empty()
            || !seed_groups.is_empty()
            || !seed_policies.is_empty()
        {
            for (i, g) in self.groups.iter().enumerate() {
                let context = ctx_groups.contains(g.name.as_str());
                if context || seed_groups.contains(g.name.as_str()) {
                    ctx_policies.extend(g.attached_policies.iter().map(String::as_str));
                }
                if context
                    || plain_groups.contains(g.name.as_str())
                    || attaches_seed(&g.attached_policies)
                {
                    groups.take(i);
                }
            }
        }
        ctx_groups.extend(seed_groups.iter().copied());
        if !plain_roles.is_empty() || !seed_policies.is_empty() || !seed_roles.is_empty() {
            for (i, r) in self.roles.iter().enumerate() {
                if seed_roles.contains(r.name.as_str()) {
                    ctx_policies.extend(r.attached_policies.iter().map(String::as_str));
                }
                if plain_roles.contains(r.name.as_str()) || attaches_seed(&r.attached_policies) {
                    roles.take(i);
                }
            }
        }
        if !full_users.is_empty() {
            for (i, k) in self.access_keys.iter().enumerate() {
                if full_users.contains(k.user.as_str()) {
                    keys.take(i);
                }
            }
            for (i, l) in self.login_profiles.iter().enumerate() {
                if full_users.contains(l.user.as_str()) {
                    lps.take(i);
                }
            }
            for (i, m) in self.mfa_devices.iter().enumerate() {
                let owner = match &m.user {
                    Some(u) => Some(u.as_str()),
                    None => former_user(m),
                };
                if owner.is_some_and(|u| full_users.contains(u)) {
                    mfas.take(i);
                }
            }
        }
        if !full_users.is_empty() || !ctx_groups.is_empty() || !seed_roles.is_empty() {
            for (i, p) in self.inline_policies.iter().enumerate() {
                let owner = p.owner.as_str();
                let wanted = match p.owner_kind {
                    OwnerKind::User => full_users.contains(owner),
                    OwnerKind::Group => ctx_groups.contains(owner),
                    OwnerKind::Role => seed_roles.contains(owner),
                };
                if wanted {
                    inline.take(i);
                }
            }
        }
        if !ctx_policies.is_empty() {
            for (i, p) in self.managed_policies.iter().enumerate() {
                if ctx_policies.contains(p.arn.as_str()) {
                    policies.take(i);
                }
            }
        }

        let mut out = Inventory {
            format_version: self.format_version,
            generated_at: self.generated_at,
            account: self.account.clone(),
            users: users.clone_from(&self.users),
            access_keys: keys.clone_from(&self.access_keys),
            mfa_devices: mfas.clone_from(&self.mfa_devices),
            login_profiles: lps.clone_from(&self.login_profiles),
            groups: groups.clone_from(&self.groups),
            roles: roles.clone_from(&self.roles),
            managed_policies: policies.clone_from(&self.managed_policies),
            inline_policies: inline.clone_from(&self.inline_policies),
        };
        out.normalize();
        out
    }
}

/// Indices taken from one collection (each once).
#[derive(Debug, Default)]
struct Picked(std::collections::BTreeSet<usize>);

impl Picked {
    fn take(&mut self, i: usize) {
        self.0.insert(i);
    }

    fn clone_from<T: Clone>(&self, items: &[T]) -> Vec<T> {
        self.0
            .iter()
            .filter_map(|&i| items.get(i).cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{MfaDevice, User};
    use super::*;

    fn user(name: &str) -> User {
        User {
            id: format!("AIDA{name}"),
            arn: format!("arn:aws:iam::123456789012:user/{name}"),
            name: name.to_string(),
            ..Default::default()
        }
    }

    fn device(id: &str, user: Option<&str>, last_user: Option<&str>, r#virtual: bool) -> MfaDevice {
        MfaDevice {
            id: id.to_string(),
            user: user.map(str::to_string),
            last_user: last_user.map(str::to_string),
            r#virtual,
            ..Default::default()
        }
    }

    #[test]
    fn deactivated_devices_are_the_unassigned_ones_that_were_the_users() {
        let mut inv = Inventory {
            users: vec![user("bob"), user("alice"), user("carol")],
            mfa_devices: vec![
                // Named after alice, with a path; and one alice last had (hardware).
                device("arn:aws:iam::123456789012:mfa/team/alice", None, None, true),
                device("GAHT0002", None, Some("alice"), false),
                // Named after alice, but last enabled for carol: carol's.
                device(
                    "arn:aws:iam::123456789012:mfa/alice2",
                    None,
                    Some("carol"),
                    true,
                ),
                // A hardware device without a known user is nobody's.
                device("GAHT0001", None, None, false),
                // Bob has an enabled device: his unassigned one is not listed.
                device("arn:aws:iam::123456789012:mfa/bob", None, None, true),
                device(
                    "arn:aws:iam::123456789012:mfa/bob-phone",
                    Some("bob"),
                    None,
                    true,
                ),
            ],
            ..Default::default()
        };
        inv.normalize();
        let of = |name: &str| {
            inv.users
                .iter()
                .find(|u| u.name == name)
                .map(|u| u.deactivated_mfa_devices.clone())
                .unwrap_or_default()
        };
        // In id order, as the devices are sorted.
        assert_eq!(
            of("alice"),
            ["GAHT0002", "arn:aws:iam::123456789012:mfa/team/alice"]
        );
        assert_eq!(of("carol"), ["arn:aws:iam::123456789012:mfa/alice2"]);
        assert!(of("bob").is_empty());
    }
}
