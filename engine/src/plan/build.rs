//! Findings to a plan: resolve each step's target, expand multi-target steps and the
//! `delete_user` cascade, deduplicate, let stronger actions supersede weaker ones, compute each
//! action's precondition and before/after state from the inventory, and order the result the
//! way AWS requires it to be applied.

use super::steps::QUARANTINE_POLICY_NAME;
use super::{Action, ChangeKind, Finding, Plan, Skipped, Summary, Superseded, PLAN_FORMAT_VERSION};
use crate::compile::RuleSet;
use crate::eval::Match;
use crate::inventory::{
    Inventory, KeyStatus, OwnerKind, PasswordPolicy, ResourceKind, ResourceRef,
};
use crate::policy::wildcard_match;
use crate::spec::StepName;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::HashMap;

/// The inline policy `quarantine_user` attaches: deny everything.
pub fn quarantine_document() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "IamwardenQuarantine",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*"
        }]
    })
}

/// A step proposed for one target before deduplication.
#[derive(Debug, Clone)]
struct Proposal {
    step: StepName,
    resource: ResourceRef,
    /// Distinguishes several actions of one step on one resource (the policy ARN a detach
    /// removes, the group a membership is removed from).
    qualifier: String,
    params: Value,
    precondition: Value,
    before: Value,
    after: Value,
    rules: Vec<String>,
    findings: Vec<usize>,
    part_of: Option<String>,
    supersedes: Vec<Superseded>,
    /// For ordering: (subject order, subject name).
    subject: (u8, String),
    /// The credential use a rule with `allow_in_use: true` let this action ignore.
    allowed_in_use: Option<String>,
}

fn key(step: StepName, r: &ResourceRef, q: &str) -> String {
    format!("{}|{}|{}|{q}", step.as_str(), r.kind.as_str(), r.id)
}

/// The stable id of the action `step` on `resource` (qualified by `q`).
pub fn action_id(step: StepName, r: &ResourceRef, q: &str) -> String {
    format!(
        "act-{}",
        crate::digest::short_id(key(step, r, q).as_bytes(), 6)
    )
}

struct Index<'a> {
    inv: &'a Inventory,
    login_profiles: HashMap<&'a str, usize>,
    key_owner: HashMap<&'a str, &'a str>,
    mfa_owner: HashMap<&'a str, &'a str>,
    inline_owner: HashMap<&'a str, (OwnerKind, &'a str)>,
    /// (kind, name) -> id of users, groups and roles, and ("policy", ARN) -> policy id: the
    /// id a step's precondition compares, so an entity re-created under the same name is
    /// stale.
    entity_ids: HashMap<(&'static str, &'a str), &'a str>,
}

impl<'a> Index<'a> {
    fn new(inv: &'a Inventory) -> Index<'a> {
        Index {
            inv,
            login_profiles: inv
                .login_profiles
                .iter()
                .enumerate()
                .map(|(i, l)| (l.user.as_str(), i))
                .collect(),
            key_owner: inv
                .access_keys
                .iter()
                .map(|k| (k.id.as_str(), k.user.as_str()))
                .collect(),
            mfa_owner: inv
                .mfa_devices
                .iter()
                .filter_map(|m| m.user.as_deref().map(|u| (m.id.as_str(), u)))
                .collect(),
            inline_owner: inv
                .inline_policies
                .iter()
                .map(|p| (p.id.as_str(), (p.owner_kind, p.owner.as_str())))
                .collect(),
            entity_ids: inv
                .users
                .iter()
                .map(|u| (("user", u.name.as_str()), u.id.as_str()))
                .chain(
                    inv.groups
                        .iter()
                        .map(|g| (("group", g.name.as_str()), g.id.as_str())),
                )
                .chain(
                    inv.roles
                        .iter()
                        .map(|r| (("role", r.name.as_str()), r.id.as_str())),
                )
                .chain(inv.managed_policies.iter().filter_map(|p| {
                    p.policy_id
                        .as_deref()
                        .map(|id| (("policy", p.arn.as_str()), id))
                }))
                .collect(),
        }
    }

    /// The precondition with the id of the entity the step acts on added (`user_id`,
    /// `group_id`, `role_id`, `policy_id`, or `owner_id` for an inline policy's owner), when
    /// the inventory knows it: apply compares it, so a re-created entity is stale.
    fn with_entity_id(&self, resource: &ResourceRef, params: &Value, pre: Value) -> Value {
        let Value::Object(mut map) = pre else {
            return pre;
        };
        let param = |k: &str| params.get(k).and_then(Value::as_str);
        let entry: Option<(&str, String)> = match resource.kind {
            ResourceKind::User => Some(("user_id", resource.id.clone())),
            ResourceKind::Group => Some(("group_id", resource.id.clone())),
            ResourceKind::Role => Some(("role_id", resource.id.clone())),
            ResourceKind::ManagedPolicy => resource
                .arn
                .as_deref()
                .or(Some(resource.id.as_str()))
                .and_then(|arn| self.entity_ids.get(&("policy", arn)))
                .map(|id| ("policy_id", (*id).to_string())),
            ResourceKind::AccessKey | ResourceKind::LoginProfile | ResourceKind::MfaDevice => {
                param("user")
                    .and_then(|u| self.entity_ids.get(&("user", u)))
                    .map(|id| ("user_id", (*id).to_string()))
            }
            ResourceKind::InlinePolicy => {
                let kind = match param("owner_kind") {
                    Some("user") => Some("user"),
                    Some("group") => Some("group"),
                    Some("role") => Some("role"),
                    _ => None,
                };
                kind.zip(param("owner"))
                    .and_then(|k| self.entity_ids.get(&k))
                    .map(|id| ("owner_id", (*id).to_string()))
            }
            ResourceKind::Account => None,
        };
        if let Some((key, id)) = entry.filter(|(_, id)| !id.is_empty()) {
            map.entry(key.to_string()).or_insert(Value::String(id));
        }
        Value::Object(map)
    }

    /// The subject an action is grouped under: its owning user, group, role, policy or account.
    fn subject(&self, r: &ResourceRef) -> (u8, String) {
        match r.kind {
            ResourceKind::Account => (0, String::new()),
            ResourceKind::User => (1, r.name.clone()),
            ResourceKind::AccessKey => (
                1,
                self.key_owner
                    .get(r.id.as_str())
                    .map(|u| u.to_string())
                    .unwrap_or_default(),
            ),
            ResourceKind::LoginProfile => (1, r.id.clone()),
            ResourceKind::MfaDevice => (
                1,
                self.mfa_owner
                    .get(r.id.as_str())
                    .map(|u| u.to_string())
                    .unwrap_or_else(|| r.id.clone()),
            ),
            ResourceKind::Group => (2, r.name.clone()),
            ResourceKind::Role => (3, r.name.clone()),
            ResourceKind::InlinePolicy => match self.inline_owner.get(r.id.as_str()) {
                Some((OwnerKind::User, o)) => (1, o.to_string()),
                Some((OwnerKind::Group, o)) => (2, o.to_string()),
                Some((OwnerKind::Role, o)) => (3, o.to_string()),
                None => (5, r.id.clone()),
            },
            ResourceKind::ManagedPolicy => (4, r.id.clone()),
        }
    }
}

/// The globs of a `policy_arns`/`groups` parameter: absent means every one; a `{from: ...}`
/// that found nothing (`null`) means none, never "all".
fn globs(v: Option<&Value>) -> Vec<String> {
    match v {
        None => vec!["*".to_string()],
        Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(_) => Vec::new(),
    }
}

fn ts(t: Option<DateTime<Utc>>) -> Value {
    t.map(|t| Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
        .unwrap_or(Value::Null)
}

/// Merges wanted password-policy settings over the current policy without weakening anything:
/// minimums take the larger value, the maximum age the smaller, requirements stay on.
pub fn merge_password_policy(current: Option<&PasswordPolicy>, wanted: &Value) -> PasswordPolicy {
    let mut p = current.cloned().unwrap_or_default();
    // Templated settings render as text ("14", "true"); accept both forms.
    // Whole numbers only, however written: 14, 14.0, "14", "14.0".
    let whole =
        |f: f64| (f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&f)).then_some(f as u32);
    let num = |k: &str| match wanted.get(k) {
        Some(Value::Number(n)) => n.as_f64().and_then(whole),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok().and_then(whole),
        _ => None,
    };
    let flag = |k: &str| match wanted.get(k) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.trim() == "true",
        _ => false,
    };
    if let Some(n) = num("minimum_password_length") {
        p.minimum_password_length = Some(p.minimum_password_length.map_or(n, |c| c.max(n)));
    }
    if let Some(n) = num("password_reuse_prevention") {
        p.password_reuse_prevention = Some(p.password_reuse_prevention.map_or(n, |c| c.max(n)));
    }
    if let Some(n) = num("max_password_age") {
        p.max_password_age = Some(p.max_password_age.map_or(n, |c| c.min(n)));
    }
    p.require_symbols |= flag("require_symbols");
    p.require_numbers |= flag("require_numbers");
    p.require_uppercase_characters |= flag("require_uppercase_characters");
    p.require_lowercase_characters |= flag("require_lowercase_characters");
    p.allow_users_to_change_password |= flag("allow_users_to_change_password");
    p.hard_expiry |= flag("hard_expiry");
    p
}

/// Names of the settings `update_password_policy` understands.
pub const PASSWORD_POLICY_SETTINGS: [&str; 9] = [
    "minimum_password_length",
    "require_symbols",
    "require_numbers",
    "require_uppercase_characters",
    "require_lowercase_characters",
    "allow_users_to_change_password",
    "max_password_age",
    "password_reuse_prevention",
    "hard_expiry",
];

struct Builder<'a> {
    ix: Index<'a>,
    proposals: Vec<Proposal>,
    skipped: Vec<Skipped>,
}

impl Builder<'_> {
    fn skip(
        &mut self,
        rule: &str,
        resource: &ResourceRef,
        step: Option<StepName>,
        reason: impl Into<String>,
    ) {
        self.skipped.push(Skipped {
            rule: rule.to_string(),
            resource: resource.clone(),
            action: step,
            reason: reason.into(),
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn propose(
        &mut self,
        step: StepName,
        resource: ResourceRef,
        qualifier: &str,
        params: Value,
        precondition: Value,
        before: Value,
        after: Value,
        rule: &str,
        finding: usize,
    ) {
        let subject = self.ix.subject(&resource);
        let precondition = self.ix.with_entity_id(&resource, &params, precondition);
        self.proposals.push(Proposal {
            step,
            resource,
            qualifier: qualifier.to_string(),
            params,
            precondition,
            before,
            after,
            rules: vec![rule.to_string()],
            findings: vec![finding],
            part_of: None,
            supersedes: Vec::new(),
            subject,
            allowed_in_use: None,
        });
    }

    /// Expands one rendered step of one finding into proposals.
    fn expand(&mut self, step: StepName, params: &Value, m: &Match, rule: &str, finding: usize) {
        let inv = self.ix.inv;
        let r = &m.resource;
        match step {
            StepName::DeactivateAccessKey | StepName::DeleteAccessKey => {
                let Some(k) = inv.access_keys.get(m.index) else {
                    return;
                };
                if step == StepName::DeactivateAccessKey && k.status == KeyStatus::Inactive {
                    self.skip(rule, r, Some(step), "already inactive");
                    return;
                }
                let status = json!(k.status);
                // The last use is part of the precondition: a key used since the plan was
                // made is not the key the plan judged unused.
                let pre =
                    json!({"user": k.user, "status": status, "last_used_at": ts(k.last_used_at)});
                let (before, after) = if step == StepName::DeactivateAccessKey {
                    (json!({"status": "Active"}), json!({"status": "Inactive"}))
                } else {
                    (
                        json!({"status": status, "created_at": ts(Some(k.created_at)), "last_used_at": ts(k.last_used_at)}),
                        Value::Null,
                    )
                };
                self.propose(
                    step,
                    r.clone(),
                    "",
                    json!({"user": k.user}),
                    pre,
                    before,
                    after,
                    rule,
                    finding,
                );
            }
            StepName::RequirePasswordReset | StepName::DeleteLoginProfile => {
                let user = match r.kind {
                    ResourceKind::User => r.name.clone(),
                    _ => inv
                        .login_profiles
                        .get(m.index)
                        .map(|l| l.user.clone())
                        .unwrap_or_default(),
                };
                let Some(&li) = self.ix.login_profiles.get(user.as_str()) else {
                    self.skip(rule, r, Some(step), "the user has no console password");
                    return;
                };
                let Some(lp) = inv.login_profiles.get(li) else {
                    return;
                };
                let Some(target) = inv.resource_ref(ResourceKind::LoginProfile, li) else {
                    return;
                };
                let pre = json!({"user": lp.user, "created_at": ts(Some(lp.created_at)), "password_reset_required": lp.password_reset_required, "password_last_used_at": ts(lp.password_last_used_at)});
                if step == StepName::RequirePasswordReset {
                    if lp.password_reset_required {
                        self.skip(
                            rule,
                            &target,
                            Some(step),
                            "a password reset is already required",
                        );
                        return;
                    }
                    self.propose(
                        step,
                        target,
                        "",
                        json!({"user": lp.user}),
                        pre,
                        json!({"password_reset_required": false}),
                        json!({"password_reset_required": true}),
                        rule,
                        finding,
                    );
                } else {
                    self.propose(
                        step,
                        target,
                        "",
                        json!({"user": lp.user}),
                        pre,
                        json!({"login_profile": "present", "created_at": ts(Some(lp.created_at))}),
                        Value::Null,
                        rule,
                        finding,
                    );
                }
            }
            StepName::DeactivateMfaDevice => {
                let Some(d) = inv.mfa_devices.get(m.index) else {
                    return;
                };
                let Some(user) = d.user.clone() else {
                    self.skip(rule, r, Some(step), "the device is not assigned to a user");
                    return;
                };
                let delete = params
                    .get("delete_virtual")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
                    && d.r#virtual;
                let after = if delete {
                    Value::Null
                } else {
                    json!({"user": Value::Null, "enabled": false})
                };
                self.propose(
                    step,
                    r.clone(),
                    "",
                    json!({"user": user, "delete_virtual": delete}),
                    json!({"user": user, "enabled_at": ts(d.enabled_at)}),
                    json!({"user": user, "enabled": true}),
                    after,
                    rule,
                    finding,
                );
            }
            StepName::DetachUserPolicy
            | StepName::DetachGroupPolicy
            | StepName::DetachRolePolicy => {
                let (attached, owner, service_linked): (&[String], &str, bool) = match r.kind {
                    ResourceKind::User => match inv.users.get(m.index) {
                        Some(u) => (&u.attached_policies, "user", false),
                        None => return,
                    },
                    ResourceKind::Group => match inv.groups.get(m.index) {
                        Some(g) => (&g.attached_policies, "group", false),
                        None => return,
                    },
                    ResourceKind::Role => match inv.roles.get(m.index) {
                        Some(x) => (&x.attached_policies, "role", x.service_linked),
                        None => return,
                    },
                    _ => return,
                };
                if service_linked {
                    self.skip(
                        rule,
                        r,
                        Some(step),
                        "IAM manages the policies of service-linked roles",
                    );
                    return;
                }
                let wanted = globs(params.get("policy_arns"));
                for arn in attached
                    .iter()
                    .filter(|a| wanted.iter().any(|g| wildcard_match(g, a, false)))
                {
                    self.propose(
                        step,
                        r.clone(),
                        arn,
                        json!({(owner.to_string() + "_name"): r.name, "policy_arn": arn}),
                        json!({"attached": true}),
                        json!({"attached_policy": arn}),
                        json!({}),
                        rule,
                        finding,
                    );
                }
            }
            StepName::DeleteInlinePolicy => {
                let Some(p) = inv.inline_policies.get(m.index) else {
                    return;
                };
                let doc_hash = crate::digest::document_sha256(&p.document);
                self.propose(
                    step,
                    r.clone(),
                    "",
                    json!({"owner_kind": p.owner_kind, "owner": p.owner, "policy_name": p.name}),
                    json!({"document_sha256": doc_hash}),
                    json!({"policy_name": p.name, "document": p.document}),
                    Value::Null,
                    rule,
                    finding,
                );
            }
            StepName::RemoveUserFromGroup => {
                let Some(u) = inv.users.get(m.index) else {
                    return;
                };
                let wanted = globs(params.get("groups"));
                for g in u
                    .groups
                    .iter()
                    .filter(|g| wanted.iter().any(|w| wildcard_match(w, g, false)))
                {
                    self.propose(
                        step,
                        r.clone(),
                        g,
                        json!({"user": u.name, "group": g}),
                        json!({"member": true}),
                        json!({"group_membership": g}),
                        json!({}),
                        rule,
                        finding,
                    );
                }
            }
            StepName::QuarantineUser => {
                let Some(u) = inv.users.get(m.index) else {
                    return;
                };
                let name = params
                    .get("policy_name")
                    .and_then(Value::as_str)
                    .unwrap_or(QUARANTINE_POLICY_NAME)
                    .to_string();
                if u.inline_policies.contains(&name) {
                    self.skip(
                        rule,
                        r,
                        Some(step),
                        format!("already quarantined (inline policy {name} exists)"),
                    );
                    return;
                }
                self.propose(
                    step,
                    r.clone(),
                    "",
                    json!({"user": u.name, "policy_name": name, "document": quarantine_document()}),
                    json!({"inline_policy_absent": name}),
                    json!({}),
                    json!({"inline_policy": name, "effect": "Deny *:* on *"}),
                    rule,
                    finding,
                );
            }
            StepName::DeleteUser => self.expand_delete_user(m, rule, finding),
            StepName::ReplacePolicyDocument
            | StepName::SetDefaultPolicyVersion
            | StepName::DetachPolicyEverywhere
            | StepName::DeletePolicy => {
                let Some(p) = inv.managed_policies.get(m.index) else {
                    return;
                };
                if p.aws_managed && step != StepName::DetachPolicyEverywhere {
                    self.skip(
                        rule,
                        r,
                        Some(step),
                        "AWS-managed policies are never modified or deleted",
                    );
                    return;
                }
                let pre = json!({"default_version_id": p.default_version_id});
                match step {
                    StepName::ReplacePolicyDocument => {
                        let doc = params.get("document").cloned().unwrap_or(Value::Null);
                        if doc == p.default_document {
                            self.skip(
                                rule,
                                r,
                                Some(step),
                                "the default version already has this document",
                            );
                            return;
                        }
                        let drop = (p.versions.len() >= 5)
                            .then(|| {
                                p.versions
                                    .iter()
                                    .filter(|v| !v.is_default)
                                    .min_by_key(|v| (v.created_at, v.version_id.clone()))
                                    .map(|v| v.version_id.clone())
                            })
                            .flatten();
                        // The version deleted to make room is kept, so undo can recreate it.
                        let dropped = drop
                            .as_ref()
                            .and_then(|id| p.versions.iter().find(|v| &v.version_id == id))
                            .map(|v| json!({"version_id": v.version_id, "document": v.document}));
                        self.propose(step, r.clone(), "", json!({"policy_arn": p.arn, "document": doc, "delete_version_first": drop}), pre,
                            json!({"default_version_id": p.default_version_id, "document": p.default_document, "deleted_version": dropped}),
                            json!({"default_version_id": "(new)", "document": doc}), rule, finding);
                    }
                    StepName::SetDefaultPolicyVersion => {
                        let want = params
                            .get("version_id")
                            .and_then(Value::as_str)
                            .unwrap_or("previous");
                        let target = if want == "previous" {
                            // The newest version older than the default: by creation time
                            // when both are known, by version number otherwise. Never a newer one.
                            let default = p.versions.iter().find(|v| v.is_default);
                            let default_created = default.and_then(|v| v.created_at);
                            let default_number = version_number(&p.default_version_id);
                            p.versions
                                .iter()
                                .filter(|v| {
                                    !v.is_default
                                        && match (v.created_at, default_created) {
                                            (Some(c), Some(d)) => c <= d,
                                            _ => version_number(&v.version_id) < default_number,
                                        }
                                })
                                .max_by_key(|v| (v.created_at, version_number(&v.version_id)))
                                .map(|v| v.version_id.clone())
                        } else {
                            p.versions
                                .iter()
                                .find(|v| v.version_id == want)
                                .map(|v| v.version_id.clone())
                        };
                        let Some(target) = target else {
                            self.skip(
                                rule,
                                r,
                                Some(step),
                                format!("no version `{want}` to make the default"),
                            );
                            return;
                        };
                        if target == p.default_version_id {
                            self.skip(
                                rule,
                                r,
                                Some(step),
                                format!("{target} is already the default"),
                            );
                            return;
                        }
                        let doc = p
                            .versions
                            .iter()
                            .find(|v| v.version_id == target)
                            .map(|v| v.document.clone())
                            .unwrap_or_default();
                        self.propose(step, r.clone(), "", json!({"policy_arn": p.arn, "version_id": target}), pre,
                            json!({"default_version_id": p.default_version_id, "document": p.default_document}),
                            json!({"default_version_id": target, "document": doc}), rule, finding);
                    }
                    StepName::DetachPolicyEverywhere => {
                        if p.attachment_count == 0 {
                            self.skip(rule, r, Some(step), "the policy is not attached");
                            return;
                        }
                        let att = json!({"users": p.attached_users, "groups": p.attached_groups, "roles": p.attached_roles});
                        self.propose(
                            step,
                            r.clone(),
                            "",
                            json!({"policy_arn": p.arn}),
                            json!({"attachments": att}),
                            json!({"attachments": att}),
                            json!({"attachments": {"users": [], "groups": [], "roles": []}}),
                            rule,
                            finding,
                        );
                    }
                    _ => {
                        let att = json!({"users": p.attached_users, "groups": p.attached_groups, "roles": p.attached_roles});
                        let versions: Vec<&str> =
                            p.versions.iter().map(|v| v.version_id.as_str()).collect();
                        self.propose(step, r.clone(), "", json!({"policy_arn": p.arn}), pre,
                            json!({"default_version_id": p.default_version_id, "versions": versions, "attachments": att}), Value::Null, rule, finding);
                    }
                }
            }
            StepName::UpdatePasswordPolicy => {
                let wanted = params.get("settings").cloned().unwrap_or(Value::Null);
                if let Some(bad) = wanted.as_object().and_then(|o| {
                    o.keys()
                        .find(|k| !PASSWORD_POLICY_SETTINGS.contains(&k.as_str()))
                }) {
                    self.skip(
                        rule,
                        r,
                        Some(step),
                        format!("unknown password-policy setting `{bad}`"),
                    );
                    return;
                }
                let current = inv.account.password_policy.as_ref();
                let merged = merge_password_policy(current, &wanted);
                if Some(&merged) == current {
                    self.skip(
                        rule,
                        r,
                        Some(step),
                        "the password policy already meets these settings",
                    );
                    return;
                }
                let before = serde_json::to_value(current).unwrap_or(Value::Null);
                let after = serde_json::to_value(&merged).unwrap_or(Value::Null);
                self.propose(
                    step,
                    r.clone(),
                    "",
                    json!({"settings": after}),
                    json!({"password_policy": before}),
                    before,
                    after,
                    rule,
                    finding,
                );
            }
            StepName::Tag | StepName::Untag => {
                let record = inv.record_value(r.kind, m.index).unwrap_or_default();
                let tags = record.get("tags").cloned().unwrap_or(json!({}));
                let mut after = tags.as_object().cloned().unwrap_or_default();
                if step == StepName::Tag {
                    let Some(want) = params.get("tags").and_then(Value::as_object) else {
                        return;
                    };
                    for (k, v) in want {
                        after.insert(k.clone(), v.clone());
                    }
                } else {
                    for k in params
                        .get("keys")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                    {
                        after.remove(k);
                    }
                }
                if Value::Object(after.clone()) == tags {
                    self.skip(rule, r, Some(step), "the tags are already as wanted");
                    return;
                }
                if r.kind == ResourceKind::ManagedPolicy
                    && inv
                        .managed_policies
                        .get(m.index)
                        .is_some_and(|p| p.aws_managed)
                {
                    self.skip(
                        rule,
                        r,
                        Some(step),
                        "AWS-managed policies are never modified or deleted",
                    );
                    return;
                }
                self.propose(
                    step,
                    r.clone(),
                    "",
                    params.clone(),
                    json!({"tags": tags}),
                    json!({"tags": tags}),
                    json!({"tags": after}),
                    rule,
                    finding,
                );
            }
        }
    }

    /// `delete_user`: everything AWS requires removed first, in AWS's order, then the user.
    fn expand_delete_user(&mut self, m: &Match, rule: &str, finding: usize) {
        let inv = self.ix.inv;
        let Some(u) = inv.users.get(m.index) else {
            return;
        };
        let r = m.resource.clone();
        let parent = action_id(StepName::DeleteUser, &r, "");
        let mut parts: Vec<(StepName, ResourceKind, usize, Value)> = Vec::new();
        if let Some(&li) = self.ix.login_profiles.get(u.name.as_str()) {
            parts.push((
                StepName::DeleteLoginProfile,
                ResourceKind::LoginProfile,
                li,
                Value::Null,
            ));
        }
        for (ki, _) in inv
            .access_keys
            .iter()
            .enumerate()
            .filter(|(_, k)| k.user == u.name)
        {
            parts.push((
                StepName::DeleteAccessKey,
                ResourceKind::AccessKey,
                ki,
                Value::Null,
            ));
        }
        for (mi, _) in inv
            .mfa_devices
            .iter()
            .enumerate()
            .filter(|(_, d)| d.user.as_deref() == Some(u.name.as_str()))
        {
            parts.push((
                StepName::DeactivateMfaDevice,
                ResourceKind::MfaDevice,
                mi,
                json!({"delete_virtual": true}),
            ));
        }
        let user_match = |idx: usize, kind: ResourceKind| Match {
            rule: m.rule,
            kind,
            index: idx,
            resource: inv.resource_ref(kind, idx).unwrap_or_else(|| r.clone()),
            evidence: Vec::new(),
            steps: Vec::new(),
            step_errors: Vec::new(),
            exempt: None,
        };
        let start = self.proposals.len();
        for (step, kind, idx, params) in parts {
            self.expand(step, &params, &user_match(idx, kind), rule, finding);
        }
        self.expand(
            StepName::RemoveUserFromGroup,
            &Value::Null,
            m,
            rule,
            finding,
        );
        self.expand(StepName::DetachUserPolicy, &Value::Null, m, rule, finding);
        for (pi, _) in inv
            .inline_policies
            .iter()
            .enumerate()
            .filter(|(_, p)| p.owner_kind == OwnerKind::User && p.owner == u.name)
        {
            self.expand(
                StepName::DeleteInlinePolicy,
                &Value::Null,
                &user_match(pi, ResourceKind::InlinePolicy),
                rule,
                finding,
            );
        }
        for p in self.proposals.iter_mut().skip(start) {
            p.part_of = Some(parent.clone());
        }
        self.propose(StepName::DeleteUser, r, "", json!({"user": u.name, "permissions_boundary": u.permissions_boundary}),
            json!({"user_id": u.id, "created_at": ts(Some(u.created_at))}),
            json!({"user": u.name, "groups": u.groups, "access_keys": u.access_key_ids, "attached_policies": u.attached_policies, "inline_policies": u.inline_policies}),
            Value::Null, rule, finding);
    }
}

fn version_number(v: &str) -> u64 {
    v.trim_start_matches('v').parse().unwrap_or(0)
}

/// Which proposals a stronger one makes moot: (weaker step, stronger step on the same target).
const SUPERSEDED_BY: [(StepName, StepName); 8] = [
    (StepName::Tag, StepName::DeletePolicy),
    (StepName::Untag, StepName::DeletePolicy),
    (StepName::DeactivateAccessKey, StepName::DeleteAccessKey),
    (StepName::RequirePasswordReset, StepName::DeleteLoginProfile),
    (StepName::DetachPolicyEverywhere, StepName::DeletePolicy),
    (StepName::ReplacePolicyDocument, StepName::DeletePolicy),
    (StepName::SetDefaultPolicyVersion, StepName::DeletePolicy),
    (
        StepName::SetDefaultPolicyVersion,
        StepName::ReplacePolicyDocument,
    ),
];

/// Steps on a user that `delete_user` makes moot.
const MOOT_WHEN_USER_DELETED: [StepName; 3] =
    [StepName::QuarantineUser, StepName::Tag, StepName::Untag];

/// Builds the plan.
pub fn build(
    set: &RuleSet,
    inv: &Inventory,
    matches: Vec<Match>,
    now: DateTime<Utc>,
    created_at: DateTime<Utc>,
) -> Plan {
    let mut b = Builder {
        ix: Index::new(inv),
        proposals: Vec::new(),
        skipped: Vec::new(),
    };
    let creds = super::in_use::CredentialIndex::new(inv);
    let mut findings = Vec::new();
    for mut m in matches {
        let Some(rule) = set.rules.get(m.rule) else {
            continue;
        };
        if let Some(reason) = &m.exempt {
            b.skip(&rule.id, &m.resource, None, reason.clone());
            continue;
        }
        let fi = findings.len();
        findings.push(Finding {
            rule: rule.shared_id.clone(),
            severity: rule.severity,
            title: rule.title.clone(),
            resource: m.resource.clone(),
            evidence: std::mem::take(&mut m.evidence),
            actions: Vec::new(),
        });
        for (step, params) in &m.steps {
            // The in-use guard: a step that stops a credential used within the window is
            // skipped, unless the rule allows it (then the action says what it ignores).
            let since = super::in_use::window_start(now, rule.in_use.window);
            let used = creds.recent_use(inv, *step, m.resource.kind, m.index, since);
            if let (Some(u), false) = (&used, rule.in_use.allow) {
                b.skip(
                    &rule.id,
                    &m.resource,
                    Some(*step),
                    format!(
                        "in use: {} (within the {} in-use window; allow_in_use: true acts anyway)",
                        u.describe(now),
                        rule.in_use.written
                    ),
                );
                continue;
            }
            let start = b.proposals.len();
            b.expand(*step, params, &m, &rule.id, fi);
            for p in b.proposals.iter_mut().skip(start) {
                if p.step != *step {
                    continue;
                }
                match &used {
                    Some(u) => p.allowed_in_use = Some(u.describe(now)),
                    // Apply re-checks user-level steps against the same window start.
                    None if step.disables_credential() == Some(super::steps::Disables::User)
                        && !rule.in_use.allow =>
                    {
                        if let Value::Object(o) = &mut p.precondition {
                            o.insert("in_use_since".into(), ts(Some(since)));
                        }
                    }
                    None => {}
                }
            }
        }
        for (step, reason) in std::mem::take(&mut m.step_errors) {
            b.skip(&rule.id, &m.resource, Some(step), reason);
        }
    }

    // Deduplicate: one action per (step, resource, qualifier); rules and findings merge.
    let mut merged: Vec<Proposal> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    for p in b.proposals {
        let k = key(p.step, &p.resource, &p.qualifier);
        match by_key.get(&k).and_then(|&i| merged.get_mut(i)) {
            Some(existing) => {
                for r in p.rules {
                    if !existing.rules.contains(&r) {
                        existing.rules.push(r);
                    }
                }
                existing.findings.extend(p.findings);
                if existing.part_of.is_none() {
                    existing.part_of = p.part_of;
                }
                if existing.allowed_in_use.is_none() {
                    existing.allowed_in_use = p.allowed_in_use;
                }
                if existing.params != p.params {
                    b.skipped.push(Skipped {
                        rule: existing.rules.last().cloned().unwrap_or_default(),
                        resource: existing.resource.clone(),
                        action: Some(existing.step),
                        reason: format!(
                            "parameters differ from rule {}'s for the same action; the first rule's are used",
                            existing.rules.first().cloned().unwrap_or_default()
                        ),
                    });
                }
            }
            None => {
                by_key.insert(k, merged.len());
                merged.push(p);
            }
        }
    }

    // Supersede weaker steps on the same target, and user-level steps on deleted users.
    let targets: HashMap<(StepName, ResourceKind, &str), usize> = merged
        .iter()
        .enumerate()
        .map(|(i, p)| ((p.step, p.resource.kind, p.resource.id.as_str()), i))
        .collect();
    let mut dropped = vec![false; merged.len()];
    let mut moves: Vec<(usize, usize)> = Vec::new();
    for (i, p) in merged.iter().enumerate() {
        for (weak, strong) in SUPERSEDED_BY {
            if p.step == weak {
                if let Some(&j) = targets.get(&(strong, p.resource.kind, p.resource.id.as_str())) {
                    moves.push((i, j));
                }
            }
        }
        if MOOT_WHEN_USER_DELETED.contains(&p.step) && p.resource.kind == ResourceKind::User {
            if let Some(&j) = targets.get(&(
                StepName::DeleteUser,
                ResourceKind::User,
                p.resource.id.as_str(),
            )) {
                moves.push((i, j));
            }
        }
    }
    for (i, j) in moves {
        if dropped.get(i).copied().unwrap_or(true) || i == j {
            continue;
        }
        if let Some(d) = dropped.get_mut(i) {
            *d = true;
        }
        let (step, rules, fis) = match merged.get(i) {
            Some(w) => (w.step, w.rules.clone(), w.findings.clone()),
            None => continue,
        };
        if let Some(s) = merged.get_mut(j) {
            s.supersedes.push(Superseded {
                action: step,
                rules,
            });
            s.findings.extend(fis);
        }
    }
    let mut kept: Vec<Proposal> = merged
        .into_iter()
        .zip(dropped)
        .filter(|(_, d)| !d)
        .map(|(p, _)| p)
        .collect();
    kept.sort_by(|a, b| {
        (
            &a.subject,
            a.step.info().rank,
            &a.resource.kind,
            &a.resource.id,
            &a.qualifier,
        )
            .cmp(&(
                &b.subject,
                b.step.info().rank,
                &b.resource.kind,
                &b.resource.id,
                &b.qualifier,
            ))
    });

    let mut actions = Vec::with_capacity(kept.len());
    let ids: Vec<String> = kept
        .iter()
        .map(|p| action_id(p.step, &p.resource, &p.qualifier))
        .collect();
    let mut children: HashMap<String, Vec<String>> = HashMap::new();
    for (p, id) in kept.iter().zip(&ids) {
        if let Some(parent) = &p.part_of {
            children.entry(parent.clone()).or_default().push(id.clone());
        }
    }
    for (p, id) in kept.into_iter().zip(ids) {
        for fi in &p.findings {
            if let Some(f) = findings.get_mut(*fi) {
                if !f.actions.contains(&id) {
                    f.actions.push(id.clone());
                }
            }
        }
        let info = p.step.info();
        let change = if p.step == StepName::DeactivateMfaDevice
            && p.params.get("delete_virtual").and_then(Value::as_bool) == Some(true)
        {
            ChangeKind::Delete
        } else {
            info.change
        };
        actions.push(Action {
            depends_on: children.remove(&id).unwrap_or_default(),
            id,
            rules: p.rules,
            action: p.step,
            resource: p.resource,
            params: p.params,
            safety: info.safety,
            change,
            precondition: p.precondition,
            before: p.before,
            after: p.after,
            part_of: p.part_of,
            supersedes: p.supersedes,
            triggered_by: Vec::new(),
            allowed_in_use: p.allowed_in_use,
        });
    }

    let summary = Summary {
        findings: findings.len(),
        actions: actions.len(),
        to_add: actions
            .iter()
            .filter(|a| a.change == ChangeKind::Add)
            .count(),
        to_change: actions
            .iter()
            .filter(|a| a.change == ChangeKind::Change)
            .count(),
        to_delete: actions
            .iter()
            .filter(|a| a.change == ChangeKind::Delete)
            .count(),
        destructive: actions
            .iter()
            .filter(|a| a.safety == super::Safety::Destructive)
            .count(),
        skipped: b.skipped.len(),
    };
    let rule_caps = set
        .rules
        .iter()
        .filter_map(|r| r.max_actions.map(|c| (r.id.clone(), c)))
        .collect();
    let mut plan = Plan {
        format_version: PLAN_FORMAT_VERSION,
        content_sha256: String::new(),
        iamwarden_version: env!("CARGO_PKG_VERSION").to_string(),
        created_at,
        now,
        account_id: inv.account.id.clone(),
        packs: set.packs.clone(),
        inventory_fingerprint: fingerprint(inv),
        rule_caps,
        findings,
        actions,
        skipped: b.skipped,
        summary,
    };
    plan.seal();
    plan
}

pub use crate::digest::sha256_of_json;

/// `sha256:<hex>` of the normalized inventory (without `generated_at`, so two reads of an
/// unchanged account have the same fingerprint).
pub fn fingerprint(inv: &Inventory) -> String {
    inv.fingerprint()
}
