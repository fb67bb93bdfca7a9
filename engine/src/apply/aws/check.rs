//! Preconditions: re-read each action's target and decide whether it still runs, is already
//! done, or is stale (its target changed since the plan was made).

use super::*;

/// What the re-read says about an action.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// The precondition holds: run it. Carries the state read (journaled as `before`).
    Proceed(Value),
    /// The target is already in the planned state. Carries what was observed.
    Already(Value),
    /// The target changed since the plan was made.
    Stale(String),
}

/// A time for messages: RFC 3339, or `never`.
fn when(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "never".to_string(),
        |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

impl Aws {
    // ---- checks ------------------------------------------------------------------------

    /// Re-reads the action's target and compares it with the precondition.
    pub async fn check(&self, a: &Action) -> Result<Check, StepError> {
        if let Some(why) = self.entity_replaced(a).await? {
            return Ok(Check::Stale(why));
        }
        self.check_step(a).await
    }

    /// Whether the entity the action acts on was re-created under the same name since the
    /// plan was made: its id (`user_id`, `group_id`, `role_id`, `policy_id`, an inline
    /// policy's `owner_id`, in the precondition) differs from the one IAM has now. An entity
    /// that is gone is left to the step's own check (gone may be the planned state).
    async fn entity_replaced(&self, a: &Action) -> Result<Option<String>, StepError> {
        use crate::inventory::ResourceKind as R;
        let pre = &a.precondition;
        let planned = |k: &str| pre.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
        let p = |k: &str| a.params.get(k).and_then(Value::as_str);
        let own = |kind: R| (a.resource.kind == kind).then_some(a.resource.name.as_str());
        let differs = |what: String, now: &str, then: &str| {
            (now != then).then(|| {
                format!(
                    "{what} is another one now (id {now}; the plan saw {then}): it was deleted \
                     and re-created under the same name"
                )
            })
        };
        // delete_user compares the id itself, with everything else the user holds.
        if let Some(then) = planned("user_id").filter(|_| a.action != StepName::DeleteUser) {
            if let Some(name) = p("user").or(p("user_name")).or(own(R::User)) {
                if let Some(u) = self.user(name).await? {
                    return Ok(differs(format!("user {name}"), &u.id, then));
                }
            }
        }
        if let Some(then) = planned("group_id") {
            if let Some(name) = p("group_name").or(own(R::Group)) {
                if let Some(id) = self.group_id(name).await? {
                    return Ok(differs(format!("group {name}"), &id, then));
                }
            }
        }
        if let Some(then) = planned("role_id") {
            if let Some(name) = p("role_name").or(own(R::Role)) {
                if let Some(id) = self.role_id(name).await? {
                    return Ok(differs(format!("role {name}"), &id, then));
                }
            }
        }
        if let Some(then) = planned("policy_id") {
            if let Some(arn) = p("policy_arn").or(a.resource.arn.as_deref()) {
                if let Some(id) = self.policy_id(arn).await? {
                    return Ok(differs(format!("policy {arn}"), &id, then));
                }
            }
        }
        if let Some(then) = planned("owner_id") {
            if let (Some(kind), Some(owner)) = (p("owner_kind"), p("owner")) {
                let now = match kind {
                    "user" => self.user(owner).await?.map(|u| u.id),
                    "group" => self.group_id(owner).await?,
                    _ => self.role_id(owner).await?,
                };
                if let Some(id) = now {
                    return Ok(differs(format!("{kind} {owner}"), &id, then));
                }
            }
        }
        Ok(None)
    }

    /// The step's own precondition.
    async fn check_step(&self, a: &Action) -> Result<Check, StepError> {
        use StepName as S;
        let pre = &a.precondition;
        if let Some(why) = self.in_use_since_plan(a).await? {
            return Ok(Check::Stale(why));
        }
        Ok(match a.action {
            S::DeactivateAccessKey | S::DeleteAccessKey => {
                let user = param(a, "user")?;
                let key = a.resource.id.as_str();
                let deleting = a.action == S::DeleteAccessKey;
                let Some(keys) = self.access_keys(user).await? else {
                    return Ok(if deleting {
                        Check::Already(json!({"access_key": "absent"}))
                    } else {
                        Check::Stale(format!("user {user} no longer exists"))
                    });
                };
                let Some((_, status)) = keys.iter().find(|(id, _)| id == key) else {
                    return Ok(if deleting {
                        Check::Already(json!({"access_key": "absent"}))
                    } else {
                        Check::Stale("the access key no longer exists".into())
                    });
                };
                if !deleting && status == "Inactive" {
                    return Ok(Check::Already(json!({"status": "Inactive"})));
                }
                let planned = pre
                    .get("status")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if status != planned {
                    return Ok(Check::Stale(format!(
                        "the key is {status} now; the plan saw it {planned}"
                    )));
                }
                let used = self.key_last_used(key).await?;
                let planned_use = plan_ts(pre.get("last_used_at"));
                if pre.get("last_used_at").is_some() && used != planned_use && used > planned_use {
                    return Ok(Check::Stale(format!(
                        "the key was used at {} since the plan saw its last use ({})",
                        when(used),
                        when(planned_use)
                    )));
                }
                Check::Proceed(json!({"status": status, "last_used_at": ts_value(used)}))
            }
            S::RequirePasswordReset | S::DeleteLoginProfile => {
                let user = param(a, "user")?;
                // A console password used since the plan was made is not the unused one the
                // plan judged.
                if pre.get("password_last_used_at").is_some() {
                    let planned = plan_ts(pre.get("password_last_used_at"));
                    let used = self.user(user).await?.and_then(|u| u.password_last_used);
                    if used > planned {
                        return Ok(Check::Stale(format!(
                            "the password was used at {} since the plan saw its last use ({})",
                            when(used),
                            when(planned)
                        )));
                    }
                }
                match self.login_profile(user).await? {
                    None if a.action == S::DeleteLoginProfile => {
                        Check::Already(json!({"login_profile": "absent"}))
                    }
                    None => Check::Stale(format!("user {user} no longer has a console password")),
                    Some((_, true)) if a.action == S::RequirePasswordReset => {
                        Check::Already(json!({"password_reset_required": true}))
                    }
                    Some((created, reset)) => Check::Proceed(json!({
                        "login_profile": "present",
                        "created_at": ts_value(created),
                        "password_reset_required": reset,
                    })),
                }
            }
            S::DeactivateMfaDevice => {
                let user = param(a, "user")?;
                let serial = a.resource.id.as_str();
                let delete_virtual =
                    a.params.get("delete_virtual").and_then(Value::as_bool) == Some(true);
                let devices = self.mfa_devices(user).await?.unwrap_or_default();
                match devices.iter().find(|(s, _)| s == serial) {
                    Some((_, enabled)) => {
                        let planned = plan_ts(pre.get("enabled_at"));
                        if planned.is_some() && enabled.is_some() && planned != *enabled {
                            return Ok(Check::Stale(format!(
                                "the device was enabled again at {} (the plan saw {})",
                                when(*enabled),
                                when(planned)
                            )));
                        }
                        Check::Proceed(
                            json!({"user": user, "enabled": true, "enabled_at": ts_value(*enabled)}),
                        )
                    }
                    None if delete_virtual && self.virtual_mfa_exists(serial).await? => {
                        Check::Proceed(
                            json!({"user": Value::Null, "enabled": false, "virtual_device": "present"}),
                        )
                    }
                    None => Check::Already(json!({"enabled": false})),
                }
            }
            S::DetachUserPolicy | S::DetachGroupPolicy | S::DetachRolePolicy => {
                let (kind, name) = entity_of(a)?;
                let arn = param(a, "policy_arn")?;
                match self.attached(kind, name).await? {
                    None => Check::Stale(format!("{kind} {name} no longer exists")),
                    Some(arns) if arns.iter().any(|x| x == arn) => {
                        Check::Proceed(json!({"attached_policy": arn}))
                    }
                    Some(_) => Check::Already(json!({"attached": false})),
                }
            }
            S::DeleteInlinePolicy => {
                let kind = param(a, "owner_kind")?;
                let owner = param(a, "owner")?;
                let name = param(a, "policy_name")?;
                match self.inline(kind, owner, name).await? {
                    None => Check::Already(json!({"inline_policy": "absent"})),
                    Some(doc) => {
                        let planned = pre.get("document_sha256").and_then(Value::as_str);
                        if planned.is_some_and(|h| h != doc_hash(&doc)) {
                            Check::Stale(
                                "the inline policy's document changed since the plan was made"
                                    .into(),
                            )
                        } else {
                            Check::Proceed(json!({"policy_name": name, "document": doc}))
                        }
                    }
                }
            }
            S::RemoveUserFromGroup => {
                let user = param(a, "user")?;
                let group = param(a, "group")?;
                match self.groups_of(user).await? {
                    None => Check::Stale(format!("user {user} no longer exists")),
                    Some(gs) if gs.iter().any(|g| g == group) => {
                        Check::Proceed(json!({"group_membership": group}))
                    }
                    Some(_) => Check::Already(json!({"member": false})),
                }
            }
            S::QuarantineUser => {
                let user = param(a, "user")?;
                let name = param(a, "policy_name")?;
                let want = a.params.get("document").cloned().unwrap_or(Value::Null);
                if self.user(user).await?.is_none() {
                    return Ok(Check::Stale(format!("user {user} no longer exists")));
                }
                match self.inline("user", user, name).await? {
                    Some(doc) if doc == want => Check::Already(json!({"inline_policy": name})),
                    Some(_) => Check::Stale(format!(
                        "user {user} has an inline policy named {name} with another document"
                    )),
                    None => Check::Proceed(json!({"inline_policy_absent": name})),
                }
            }
            S::DeleteUser => {
                let user = param(a, "user")?;
                let Some(UserInfo { id, boundary, .. }) = self.user(user).await? else {
                    return Ok(Check::Already(json!({"user": "absent"})));
                };
                let planned_id = pre
                    .get("user_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if id != planned_id {
                    return Ok(Check::Stale(format!(
                        "user {user} is another user now (id {id}; the plan saw {planned_id})"
                    )));
                }
                // Anything the user gained since the plan was reviewed makes it stale.
                let mut new = Vec::new();
                let keys = self.access_keys(user).await?.unwrap_or_default();
                let planned_keys = strings(a.before.get("access_keys"));
                new.extend(
                    keys.iter()
                        .filter(|(k, _)| !planned_keys.contains(k))
                        .map(|(k, _)| format!("access key {k}")),
                );
                let groups = self.groups_of(user).await?.unwrap_or_default();
                let planned_groups = strings(a.before.get("groups"));
                new.extend(
                    groups
                        .iter()
                        .filter(|g| !planned_groups.contains(g))
                        .map(|g| format!("group {g}")),
                );
                let attached = self.attached("user", user).await?.unwrap_or_default();
                let planned_att = strings(a.before.get("attached_policies"));
                new.extend(
                    attached
                        .iter()
                        .filter(|p| !planned_att.contains(p))
                        .map(|p| format!("policy {p}")),
                );
                let inline = self.inline_names(user).await?;
                let planned_inline = strings(a.before.get("inline_policies"));
                new.extend(
                    inline
                        .iter()
                        .filter(|p| !planned_inline.contains(p))
                        .map(|p| format!("inline policy {p}")),
                );
                if !new.is_empty() {
                    return Ok(Check::Stale(format!(
                        "user {user} has changed since the plan was made: {}",
                        new.join(", ")
                    )));
                }
                Check::Proceed(
                    json!({"user_id": id, "permissions_boundary": boundary, "access_keys": keys.iter().map(|(k, _)| k).collect::<Vec<_>>(), "groups": groups, "attached_policies": attached, "inline_policies": inline}),
                )
            }
            S::ReplacePolicyDocument | S::SetDefaultPolicyVersion => {
                let arn = param(a, "policy_arn")?;
                let Some(current) = self.policy_default(arn).await? else {
                    return Ok(Check::Stale(format!("policy {arn} no longer exists")));
                };
                let planned = pre
                    .get("default_version_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let current_doc = self.policy_document(arn, &current).await?;
                if a.action == S::ReplacePolicyDocument {
                    let want = a.params.get("document").cloned().unwrap_or(Value::Null);
                    if current_doc == want {
                        return Ok(Check::Already(json!({"default_version_id": current})));
                    }
                } else if Some(current.as_str())
                    == a.params.get("version_id").and_then(Value::as_str)
                {
                    return Ok(Check::Already(json!({"default_version_id": current})));
                }
                if current != planned {
                    return Ok(Check::Stale(format!(
                        "the policy's default version is {current} now; the plan saw {planned}"
                    )));
                }
                Check::Proceed(json!({"default_version_id": current, "document": current_doc}))
            }
            S::DetachPolicyEverywhere | S::DeletePolicy => {
                let arn = param(a, "policy_arn")?;
                let Some(current) = self.policy_default(arn).await? else {
                    return Ok(if a.action == S::DeletePolicy {
                        Check::Already(json!({"policy": "absent"}))
                    } else {
                        Check::Stale(format!("policy {arn} no longer exists"))
                    });
                };
                let now = self.entities(arn).await?;
                let planned = Attachments::of(a.before.get("attachments"));
                let new = now.new_since(&planned);
                if !new.is_empty() {
                    return Ok(Check::Stale(format!(
                        "the policy was attached to {} since the plan was made",
                        new.join(", ")
                    )));
                }
                if a.action == S::DetachPolicyEverywhere {
                    if now.is_empty() {
                        return Ok(Check::Already(json!({"attachments": now.to_value()})));
                    }
                    Check::Proceed(json!({"attachments": now.to_value()}))
                } else {
                    let planned_default = pre
                        .get("default_version_id")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if current != planned_default {
                        return Ok(Check::Stale(format!(
                            "the policy's default version is {current} now; the plan saw {planned_default}"
                        )));
                    }
                    Check::Proceed(
                        json!({"default_version_id": current, "attachments": now.to_value()}),
                    )
                }
            }
            S::UpdatePasswordPolicy => {
                let current = self.password_policy().await?;
                let want: Option<PasswordPolicy> = serde_json::from_value(
                    a.params.get("settings").cloned().unwrap_or(Value::Null),
                )
                .map_err(|e| StepError::Plan(format!("{}: settings: {e}", a.id)))?;
                if current == want {
                    return Ok(Check::Already(
                        json!({"password_policy": password_policy_value(current.as_ref())}),
                    ));
                }
                let planned: Option<PasswordPolicy> = serde_json::from_value(
                    pre.get("password_policy").cloned().unwrap_or(Value::Null),
                )
                .map_err(|e| StepError::Plan(format!("{}: precondition: {e}", a.id)))?;
                if current != planned {
                    return Ok(Check::Stale(
                        "the account password policy changed since the plan was made".into(),
                    ));
                }
                Check::Proceed(json!({"password_policy": password_policy_value(current.as_ref())}))
            }
            S::Tag | S::Untag => {
                let (kind, name) = tag_target(a)?;
                let Some(current) = self.tags(kind, &name).await? else {
                    return Ok(Check::Stale(format!(
                        "{} no longer exists",
                        a.resource.name
                    )));
                };
                let planned: BTreeMap<String, String> =
                    serde_json::from_value(pre.get("tags").cloned().unwrap_or(json!({})))
                        .unwrap_or_default();
                let keys: Vec<String> = if a.action == S::Tag {
                    a.params
                        .get("tags")
                        .and_then(Value::as_object)
                        .map(|m| m.keys().cloned().collect())
                        .unwrap_or_default()
                } else {
                    strings(a.params.get("keys"))
                };
                let done = if a.action == S::Tag {
                    a.params
                        .get("tags")
                        .and_then(Value::as_object)
                        .is_some_and(|m| {
                            m.iter()
                                .all(|(k, v)| current.get(k).map(String::as_str) == v.as_str())
                        })
                } else {
                    keys.iter().all(|k| !current.contains_key(k))
                };
                if done {
                    return Ok(Check::Already(json!({"tags": current})));
                }
                if keys.iter().any(|k| current.get(k) != planned.get(k)) {
                    return Ok(Check::Stale(
                        "the tags changed since the plan was made".into(),
                    ));
                }
                let previous: BTreeMap<&String, Option<&String>> =
                    keys.iter().map(|k| (k, current.get(k))).collect();
                Check::Proceed(json!({"tags": previous}))
            }
        })
    }
}
