//! The calls each step makes, in the order AWS requires, and the calls undo makes.

use super::*;

impl Aws {
    // ---- execution ---------------------------------------------------------------------

    /// Makes the action's calls. Returns what undo needs beyond the before-state (e.g. the
    /// policy version created).
    pub async fn execute(&self, a: &Action, before: &Value) -> Result<Value, StepError> {
        use StepName as S;
        let id = a.id.as_str();
        let c = &self.client;
        match a.action {
            S::DeactivateAccessKey => {
                let user = param(a, "user")?;
                let key = a.resource.id.as_str();
                mutate!(
                    self,
                    id,
                    "UpdateAccessKey",
                    json!({"UserName": user, "AccessKeyId": key, "Status": "Inactive"}),
                    c.update_access_key()
                        .user_name(user)
                        .access_key_id(key)
                        .status(StatusType::Inactive),
                )?;
            }
            S::DeleteAccessKey => {
                let user = param(a, "user")?;
                let key = a.resource.id.as_str();
                mutate!(
                    self,
                    id,
                    "DeleteAccessKey",
                    json!({"UserName": user, "AccessKeyId": key}),
                    c.delete_access_key().user_name(user).access_key_id(key),
                )?;
            }
            S::RequirePasswordReset => {
                let user = param(a, "user")?;
                // No password: AWS keeps the current one and only sets the flag.
                mutate!(
                    self,
                    id,
                    "UpdateLoginProfile",
                    json!({"UserName": user, "PasswordResetRequired": true}),
                    c.update_login_profile()
                        .user_name(user)
                        .password_reset_required(true),
                )?;
            }
            S::DeleteLoginProfile => {
                let user = param(a, "user")?;
                mutate!(
                    self,
                    id,
                    "DeleteLoginProfile",
                    json!({"UserName": user}),
                    c.delete_login_profile().user_name(user),
                )?;
            }
            S::DeactivateMfaDevice => {
                let user = param(a, "user")?;
                let serial = a.resource.id.as_str();
                if before.get("enabled").and_then(Value::as_bool) == Some(true) {
                    mutate!(
                        self,
                        id,
                        "DeactivateMFADevice",
                        json!({"UserName": user, "SerialNumber": serial}),
                        c.deactivate_mfa_device()
                            .user_name(user)
                            .serial_number(serial),
                    )?;
                }
                if a.params.get("delete_virtual").and_then(Value::as_bool) == Some(true) {
                    mutate!(
                        self,
                        id,
                        "DeleteVirtualMFADevice",
                        json!({"SerialNumber": serial}),
                        c.delete_virtual_mfa_device().serial_number(serial),
                    )?;
                }
            }
            S::DetachUserPolicy | S::DetachGroupPolicy | S::DetachRolePolicy => {
                let (kind, name) = entity_of(a)?;
                let arn = param(a, "policy_arn")?;
                self.detach(id, kind, name, arn).await?;
            }
            S::DeleteInlinePolicy => {
                let kind = param(a, "owner_kind")?;
                let owner = param(a, "owner")?;
                let name = param(a, "policy_name")?;
                self.delete_inline(id, kind, owner, name).await?;
            }
            S::RemoveUserFromGroup => {
                let user = param(a, "user")?;
                let group = param(a, "group")?;
                mutate!(
                    self,
                    id,
                    "RemoveUserFromGroup",
                    json!({"UserName": user, "GroupName": group}),
                    c.remove_user_from_group().user_name(user).group_name(group),
                )?;
            }
            S::QuarantineUser => {
                let user = param(a, "user")?;
                let name = param(a, "policy_name")?;
                let doc = a.params.get("document").cloned().unwrap_or(Value::Null);
                mutate!(
                    self,
                    id,
                    "PutUserPolicy",
                    json!({"UserName": user, "PolicyName": name, "PolicyDocument": doc}),
                    c.put_user_policy()
                        .user_name(user)
                        .policy_name(name)
                        .policy_document(doc_text(&doc)),
                )?;
            }
            S::DeleteUser => {
                let user = param(a, "user")?;
                self.delete_user_cascade(id, user, before).await?;
            }
            S::ReplacePolicyDocument => {
                let arn = param(a, "policy_arn")?;
                let doc = a.params.get("document").cloned().unwrap_or(Value::Null);
                let planned_default = before
                    .get("default_version_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let versions = self.policy_versions(arn).await?;
                let mut deleted = Value::Null;
                if versions.len() >= 5 {
                    // AWS keeps five versions: drop the oldest non-default one (kept for undo).
                    if let Some((vid, _, _)) = versions.iter().find(|(_, d, _)| !d) {
                        let old = self.policy_document(arn, vid).await?;
                        self.delete_policy_version_once(id, arn, vid).await?;
                        deleted = json!({"version_id": vid, "document": old});
                    }
                }
                let created = self
                    .create_default_version_once(id, arn, &doc, planned_default)
                    .await?;
                return Ok(json!({"created_version_id": created, "deleted_version": deleted}));
            }
            S::SetDefaultPolicyVersion => {
                let arn = param(a, "policy_arn")?;
                let v = param(a, "version_id")?;
                mutate!(
                    self,
                    id,
                    "SetDefaultPolicyVersion",
                    json!({"PolicyArn": arn, "VersionId": v}),
                    c.set_default_policy_version().policy_arn(arn).version_id(v),
                )?;
            }
            S::DetachPolicyEverywhere => {
                let arn = param(a, "policy_arn")?;
                self.detach_everywhere(id, arn).await?;
            }
            S::DeletePolicy => {
                let arn = param(a, "policy_arn")?;
                if crate::apply::is_aws_managed(arn) {
                    return Err(StepError::Plan(
                        "AWS-managed policies are never deleted".into(),
                    ));
                }
                self.detach_everywhere(id, arn).await?;
                for (vid, default, _) in self.policy_versions(arn).await? {
                    if !default {
                        mutate!(
                            self,
                            id,
                            "DeletePolicyVersion",
                            json!({"PolicyArn": arn, "VersionId": vid}),
                            c.delete_policy_version().policy_arn(arn).version_id(&vid),
                        )?;
                    }
                }
                mutate!(
                    self,
                    id,
                    "DeletePolicy",
                    json!({"PolicyArn": arn}),
                    c.delete_policy().policy_arn(arn),
                )?;
            }
            S::UpdatePasswordPolicy => {
                let settings = a.params.get("settings").cloned().unwrap_or(Value::Null);
                self.put_password_policy(id, &settings).await?;
            }
            S::Tag => {
                let (kind, name) = tag_target(a)?;
                let tags: BTreeMap<String, String> = a
                    .params
                    .get("tags")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| {
                                (
                                    k.clone(),
                                    v.as_str().map_or_else(|| v.to_string(), str::to_string),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                self.tag(id, kind, &name, &tags).await?;
            }
            S::Untag => {
                let (kind, name) = tag_target(a)?;
                self.untag(id, kind, &name, &strings(a.params.get("keys")))
                    .await?;
            }
        }
        Ok(Value::Null)
    }

    async fn detach(&self, id: &str, kind: &str, name: &str, arn: &str) -> Result<(), StepError> {
        let c = &self.client;
        match kind {
            "user" => mutate!(
                self,
                id,
                "DetachUserPolicy",
                json!({"UserName": name, "PolicyArn": arn}),
                c.detach_user_policy().user_name(name).policy_arn(arn),
            )
            .map(|_| ()),
            "group" => mutate!(
                self,
                id,
                "DetachGroupPolicy",
                json!({"GroupName": name, "PolicyArn": arn}),
                c.detach_group_policy().group_name(name).policy_arn(arn),
            )
            .map(|_| ()),
            _ => mutate!(
                self,
                id,
                "DetachRolePolicy",
                json!({"RoleName": name, "PolicyArn": arn}),
                c.detach_role_policy().role_name(name).policy_arn(arn),
            )
            .map(|_| ()),
        }
    }

    async fn attach(&self, id: &str, kind: &str, name: &str, arn: &str) -> Result<(), StepError> {
        let c = &self.client;
        match kind {
            "user" => mutate!(
                self,
                id,
                "AttachUserPolicy",
                json!({"UserName": name, "PolicyArn": arn}),
                c.attach_user_policy().user_name(name).policy_arn(arn),
            )
            .map(|_| ()),
            "group" => mutate!(
                self,
                id,
                "AttachGroupPolicy",
                json!({"GroupName": name, "PolicyArn": arn}),
                c.attach_group_policy().group_name(name).policy_arn(arn),
            )
            .map(|_| ()),
            _ => mutate!(
                self,
                id,
                "AttachRolePolicy",
                json!({"RoleName": name, "PolicyArn": arn}),
                c.attach_role_policy().role_name(name).policy_arn(arn),
            )
            .map(|_| ()),
        }
    }

    async fn delete_inline(
        &self,
        id: &str,
        kind: &str,
        owner: &str,
        name: &str,
    ) -> Result<(), StepError> {
        let c = &self.client;
        match kind {
            "user" => mutate!(
                self,
                id,
                "DeleteUserPolicy",
                json!({"UserName": owner, "PolicyName": name}),
                c.delete_user_policy().user_name(owner).policy_name(name),
            )
            .map(|_| ()),
            "group" => mutate!(
                self,
                id,
                "DeleteGroupPolicy",
                json!({"GroupName": owner, "PolicyName": name}),
                c.delete_group_policy().group_name(owner).policy_name(name),
            )
            .map(|_| ()),
            _ => mutate!(
                self,
                id,
                "DeleteRolePolicy",
                json!({"RoleName": owner, "PolicyName": name}),
                c.delete_role_policy().role_name(owner).policy_name(name),
            )
            .map(|_| ()),
        }
    }

    async fn put_inline(
        &self,
        id: &str,
        kind: &str,
        owner: &str,
        name: &str,
        doc: &Value,
    ) -> Result<(), StepError> {
        let c = &self.client;
        let text = doc_text(doc);
        match kind {
            "user" => mutate!(
                self,
                id,
                "PutUserPolicy",
                json!({"UserName": owner, "PolicyName": name, "PolicyDocument": doc}),
                c.put_user_policy()
                    .user_name(owner)
                    .policy_name(name)
                    .policy_document(&text),
            )
            .map(|_| ()),
            "group" => mutate!(
                self,
                id,
                "PutGroupPolicy",
                json!({"GroupName": owner, "PolicyName": name, "PolicyDocument": doc}),
                c.put_group_policy()
                    .group_name(owner)
                    .policy_name(name)
                    .policy_document(&text),
            )
            .map(|_| ()),
            _ => mutate!(
                self,
                id,
                "PutRolePolicy",
                json!({"RoleName": owner, "PolicyName": name, "PolicyDocument": doc}),
                c.put_role_policy()
                    .role_name(owner)
                    .policy_name(name)
                    .policy_document(&text),
            )
            .map(|_| ()),
        }
    }

    async fn detach_everywhere(&self, id: &str, arn: &str) -> Result<(), StepError> {
        let att = self.entities(arn).await?;
        for u in &att.users {
            self.detach(id, "user", u, arn).await?;
        }
        for g in &att.groups {
            self.detach(id, "group", g, arn).await?;
        }
        for r in &att.roles {
            self.detach(id, "role", r, arn).await?;
        }
        Ok(())
    }

    async fn put_password_policy(&self, id: &str, settings: &Value) -> Result<(), StepError> {
        let p: PasswordPolicy = serde_json::from_value(settings.clone())
            .map_err(|e| StepError::Plan(format!("{id}: password policy settings: {e}")))?;
        let to_i32 = |n: Option<u32>| n.and_then(|n| i32::try_from(n).ok());
        mutate!(
            self,
            id,
            "UpdateAccountPasswordPolicy",
            json!({"settings": settings}),
            self.client
                .update_account_password_policy()
                .set_minimum_password_length(to_i32(p.minimum_password_length))
                .require_symbols(p.require_symbols)
                .require_numbers(p.require_numbers)
                .require_uppercase_characters(p.require_uppercase_characters)
                .require_lowercase_characters(p.require_lowercase_characters)
                .allow_users_to_change_password(p.allow_users_to_change_password)
                .set_max_password_age(to_i32(p.max_password_age))
                .set_password_reuse_prevention(to_i32(p.password_reuse_prevention))
                .hard_expiry(p.hard_expiry),
        )
        .map(|_| ())
    }

    async fn tag(
        &self,
        id: &str,
        kind: &str,
        name: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), StepError> {
        let c = &self.client;
        let list: Vec<aws_sdk_iam::types::Tag> = tags
            .iter()
            .filter_map(|(k, v)| {
                aws_sdk_iam::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .ok()
            })
            .collect();
        let req = json!({"Name": name, "Tags": tags});
        match kind {
            "user" => mutate!(
                self,
                id,
                "TagUser",
                req,
                c.tag_user().user_name(name).set_tags(Some(list.clone())),
            )
            .map(|_| ()),
            "role" => mutate!(
                self,
                id,
                "TagRole",
                req,
                c.tag_role().role_name(name).set_tags(Some(list.clone())),
            )
            .map(|_| ()),
            _ => mutate!(
                self,
                id,
                "TagPolicy",
                req,
                c.tag_policy().policy_arn(name).set_tags(Some(list.clone())),
            )
            .map(|_| ()),
        }
    }

    async fn untag(
        &self,
        id: &str,
        kind: &str,
        name: &str,
        keys: &[String],
    ) -> Result<(), StepError> {
        let c = &self.client;
        let req = json!({"Name": name, "TagKeys": keys});
        let keys = Some(keys.to_vec());
        match kind {
            "user" => mutate!(
                self,
                id,
                "UntagUser",
                req,
                c.untag_user().user_name(name).set_tag_keys(keys.clone()),
            )
            .map(|_| ()),
            "role" => mutate!(
                self,
                id,
                "UntagRole",
                req,
                c.untag_role().role_name(name).set_tag_keys(keys.clone()),
            )
            .map(|_| ()),
            _ => mutate!(
                self,
                id,
                "UntagPolicy",
                req,
                c.untag_policy().policy_arn(name).set_tag_keys(keys.clone()),
            )
            .map(|_| ()),
        }
    }

    /// `DeleteUser` and everything AWS requires gone first, in AWS's order. The plan's own
    /// prerequisite actions normally removed what the inventory knew of; this removes the rest
    /// (signing certificates, SSH keys, service-specific credentials, the permissions boundary).
    async fn delete_user_cascade(
        &self,
        id: &str,
        user: &str,
        before: &Value,
    ) -> Result<(), StepError> {
        let c = &self.client;
        if self.login_profile(user).await?.is_some() {
            mutate!(
                self,
                id,
                "DeleteLoginProfile",
                json!({"UserName": user}),
                c.delete_login_profile().user_name(user),
            )?;
        }
        for (key, _) in self.access_keys(user).await?.unwrap_or_default() {
            mutate!(
                self,
                id,
                "DeleteAccessKey",
                json!({"UserName": user, "AccessKeyId": key}),
                c.delete_access_key().user_name(user).access_key_id(&key),
            )?;
        }
        let certs = all_items!(
            "ListSigningCertificates",
            c.list_signing_certificates().user_name(user)
        )?;
        for cert in certs {
            let cid = cert.certificate_id().to_string();
            mutate!(
                self,
                id,
                "DeleteSigningCertificate",
                json!({"UserName": user, "CertificateId": cid}),
                c.delete_signing_certificate()
                    .user_name(user)
                    .certificate_id(&cid),
            )?;
        }
        let ssh = all_items!(
            "ListSSHPublicKeys",
            c.list_ssh_public_keys().user_name(user)
        )?;
        for k in ssh {
            let kid = k.ssh_public_key_id().to_string();
            mutate!(
                self,
                id,
                "DeleteSSHPublicKey",
                json!({"UserName": user, "SSHPublicKeyId": kid}),
                c.delete_ssh_public_key()
                    .user_name(user)
                    .ssh_public_key_id(&kid),
            )?;
        }
        let creds = c
            .list_service_specific_credentials()
            .user_name(user)
            .send()
            .await
            .map_err(|e| sdk_err("ListServiceSpecificCredentials", e))?;
        for cred in creds.service_specific_credentials() {
            let cid = cred.service_specific_credential_id().to_string();
            mutate!(
                self,
                id,
                "DeleteServiceSpecificCredential",
                json!({"UserName": user, "ServiceSpecificCredentialId": cid}),
                c.delete_service_specific_credential()
                    .user_name(user)
                    .service_specific_credential_id(&cid),
            )?;
        }
        for (serial, _) in self.mfa_devices(user).await?.unwrap_or_default() {
            mutate!(
                self,
                id,
                "DeactivateMFADevice",
                json!({"UserName": user, "SerialNumber": serial}),
                c.deactivate_mfa_device()
                    .user_name(user)
                    .serial_number(&serial),
            )?;
            if serial.starts_with("arn:") {
                mutate!(
                    self,
                    id,
                    "DeleteVirtualMFADevice",
                    json!({"SerialNumber": serial}),
                    c.delete_virtual_mfa_device().serial_number(&serial),
                )?;
            }
        }
        for g in self.groups_of(user).await?.unwrap_or_default() {
            mutate!(
                self,
                id,
                "RemoveUserFromGroup",
                json!({"UserName": user, "GroupName": g}),
                c.remove_user_from_group().user_name(user).group_name(&g),
            )?;
        }
        for arn in self.attached("user", user).await?.unwrap_or_default() {
            self.detach(id, "user", user, &arn).await?;
        }
        for name in self.inline_names(user).await? {
            self.delete_inline(id, "user", user, &name).await?;
        }
        if before
            .get("permissions_boundary")
            .and_then(Value::as_str)
            .is_some()
        {
            mutate!(
                self,
                id,
                "DeleteUserPermissionsBoundary",
                json!({"UserName": user}),
                c.delete_user_permissions_boundary().user_name(user),
            )?;
        }
        mutate!(
            self,
            id,
            "DeleteUser",
            json!({"UserName": user}),
            c.delete_user().user_name(user),
        )?;
        Ok(())
    }

    /// `DeletePolicyVersion`; an unanswered attempt is resolved by listing the versions (gone:
    /// done; still there: sent once more).
    async fn delete_policy_version_once(
        &self,
        id: &str,
        arn: &str,
        vid: &str,
    ) -> Result<(), StepError> {
        let c = &self.client;
        let mut sent = 0;
        loop {
            sent += 1;
            let r = mutate!(
                self,
                id,
                "DeletePolicyVersion",
                json!({"PolicyArn": arn, "VersionId": vid}),
                c.delete_policy_version().policy_arn(arn).version_id(vid)
            );
            match r {
                Ok(_) => return Ok(()),
                Err(e) if e.is_unknown() => {
                    tokio::time::sleep(self.settle).await;
                    let still = self
                        .policy_versions(arn)
                        .await
                        .map_err(|re| unresolved(&e, &re))?
                        .iter()
                        .any(|(v, _, _)| v == vid);
                    if !still {
                        return Ok(());
                    }
                    if sent >= 2 {
                        return Err(resolved_failure(
                            &e,
                            &format!("version {vid} still exists: not applied"),
                        ));
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// `CreatePolicyVersion` as the default (not idempotent: each accepted call is a new
    /// version). An unanswered attempt is resolved by reading the default version: the
    /// planned document is the default -> created (that version); the default is still the
    /// one the plan saw -> not created, sent once more; anything else -> failed. Never more
    /// than one version per action.
    async fn create_default_version_once(
        &self,
        id: &str,
        arn: &str,
        doc: &Value,
        planned_default: &str,
    ) -> Result<String, StepError> {
        let c = &self.client;
        let text = doc_text(doc);
        let mut sent = 0;
        loop {
            sent += 1;
            let r = mutate!(
                self,
                id,
                "CreatePolicyVersion",
                json!({"PolicyArn": arn, "SetAsDefault": true, "PolicyDocument": doc}),
                c.create_policy_version()
                    .policy_arn(arn)
                    .policy_document(&text)
                    .set_as_default(true)
            );
            match r {
                Ok(out) => {
                    return Ok(out
                        .policy_version()
                        .and_then(|v| v.version_id())
                        .unwrap_or_default()
                        .to_string())
                }
                Err(e) if e.is_unknown() => {
                    tokio::time::sleep(self.settle).await;
                    let reread = async {
                        let Some(current) = self.policy_default(arn).await? else {
                            return Ok::<_, StepError>((None, Value::Null));
                        };
                        let d = self.policy_document(arn, &current).await?;
                        Ok((Some(current), d))
                    };
                    let (current, current_doc) = reread.await.map_err(|re| unresolved(&e, &re))?;
                    match current {
                        Some(v) if current_doc == *doc => return Ok(v),
                        Some(v) if v == planned_default && sent < 2 => {}
                        Some(v) if v == planned_default => {
                            return Err(resolved_failure(
                                &e,
                                &format!("the default version is still {v}: not applied"),
                            ))
                        }
                        Some(v) => {
                            return Err(resolved_failure(
                                &e,
                                &format!(
                                    "the default version is {v} with another document: neither \
                                     the planned state nor the state before"
                                ),
                            ))
                        }
                        None => return Err(resolved_failure(&e, "the policy no longer exists")),
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    // ---- undo --------------------------------------------------------------------------

    /// Makes one undo call, resolving an unanswered one by re-reading: IAM already holds
    /// what the op restores -> done; it does not -> sent once more (`CreatePolicyVersion`,
    /// not idempotent, counts the versions holding its document before and after); a delete
    /// whose target is gone (`NoSuchEntity`) is done.
    pub async fn undo_op(&self, action: &str, op: &UndoOp) -> Result<(), StepError> {
        // A re-created version is told apart by count: another version may hold the same
        // document already.
        let copies_before = match op {
            UndoOp::CreatePolicyVersion {
                policy_arn,
                document,
            } => Some(self.copies(policy_arn, document).await?),
            _ => None,
        };
        let mut sent = 0;
        loop {
            sent += 1;
            let err = match self.undo_call(action, op).await {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            let delete = matches!(
                op,
                UndoOp::DeleteInlinePolicy { .. }
                    | UndoOp::DeletePolicyVersion { .. }
                    | UndoOp::DeletePasswordPolicy
            );
            if delete && err.is_not_found() {
                return Ok(());
            }
            if !err.is_unknown() {
                return Err(err);
            }
            tokio::time::sleep(self.settle).await;
            let holds = match (op, copies_before) {
                (
                    UndoOp::CreatePolicyVersion {
                        policy_arn,
                        document,
                    },
                    Some(n),
                ) => self.copies(policy_arn, document).await.map(|now| now > n),
                _ => self.undo_holds(op).await,
            };
            match holds {
                Ok(true) => return Ok(()),
                Ok(false) if sent < crate::apply::MAX_SENDS => {}
                Ok(false) => {
                    return Err(resolved_failure(
                        &err,
                        "the state before apply: not restored; run undo again",
                    ))
                }
                Err(re) => return Err(unresolved(&err, &re)),
            }
        }
    }

    /// Whether IAM already holds what the undo op restores.
    async fn undo_holds(&self, op: &UndoOp) -> Result<bool, StepError> {
        Ok(match op {
            UndoOp::UpdateAccessKey {
                user,
                access_key_id,
                status,
            } => self
                .access_keys(user)
                .await?
                .unwrap_or_default()
                .iter()
                .any(|(k, s)| k == access_key_id && s == status),
            UndoOp::UpdateLoginProfile {
                user,
                password_reset_required,
            } => self
                .login_profile(user)
                .await?
                .is_some_and(|(_, r)| r == *password_reset_required),
            UndoOp::AttachPolicy {
                entity,
                name,
                policy_arn,
            } => self
                .attached(entity, name)
                .await?
                .unwrap_or_default()
                .contains(policy_arn),
            UndoOp::PutInlinePolicy {
                entity,
                name,
                policy_name,
                document,
            } => self.inline(entity, name, policy_name).await?.as_ref() == Some(document),
            UndoOp::DeleteInlinePolicy {
                entity,
                name,
                policy_name,
            } => self.inline(entity, name, policy_name).await?.is_none(),
            UndoOp::AddUserToGroup { user, group } => self
                .groups_of(user)
                .await?
                .unwrap_or_default()
                .contains(group),
            UndoOp::SetDefaultPolicyVersion {
                policy_arn,
                version_id,
            } => self.policy_default(policy_arn).await?.as_ref() == Some(version_id),
            UndoOp::DeletePolicyVersion {
                policy_arn,
                version_id,
            } => !self
                .policy_versions(policy_arn)
                .await?
                .iter()
                .any(|(v, _, _)| v == version_id),
            UndoOp::CreatePolicyVersion {
                policy_arn,
                document,
            } => self.copies(policy_arn, document).await? > 0,
            UndoOp::UpdatePasswordPolicy { settings } => {
                let want: Option<PasswordPolicy> = serde_json::from_value(settings.clone()).ok();
                want.is_some() && self.password_policy().await? == want
            }
            UndoOp::DeletePasswordPolicy => self.password_policy().await?.is_none(),
            UndoOp::Tag { kind, name, tags } => {
                let now = self.tags(kind, name).await?.unwrap_or_default();
                tags.iter().all(|(k, v)| now.get(k) == Some(v))
            }
            UndoOp::Untag { kind, name, keys } => {
                let now = self.tags(kind, name).await?.unwrap_or_default();
                keys.iter().all(|k| !now.contains_key(k))
            }
        })
    }

    /// How many versions of the policy hold this document.
    async fn copies(&self, arn: &str, document: &Value) -> Result<usize, StepError> {
        let mut n = 0;
        for (v, _, _) in self.policy_versions(arn).await? {
            if self.policy_document(arn, &v).await? == *document {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Makes one undo call.
    async fn undo_call(&self, action: &str, op: &UndoOp) -> Result<(), StepError> {
        let c = &self.client;
        let id = action;
        match op {
            UndoOp::UpdateAccessKey {
                user,
                access_key_id,
                status,
            } => {
                let st = StatusType::from(status.as_str());
                mutate!(
                    self,
                    id,
                    "UpdateAccessKey",
                    json!({"UserName": user, "AccessKeyId": access_key_id, "Status": status}),
                    c.update_access_key()
                        .user_name(user)
                        .access_key_id(access_key_id)
                        .status(st.clone())
                )
                .map(|_| ())
            }
            UndoOp::UpdateLoginProfile {
                user,
                password_reset_required,
            } => mutate!(
                self,
                id,
                "UpdateLoginProfile",
                json!({"UserName": user, "PasswordResetRequired": password_reset_required}),
                c.update_login_profile()
                    .user_name(user)
                    .password_reset_required(*password_reset_required)
            )
            .map(|_| ()),
            UndoOp::AttachPolicy {
                entity,
                name,
                policy_arn,
            } => self.attach(id, entity, name, policy_arn).await,
            UndoOp::PutInlinePolicy {
                entity,
                name,
                policy_name,
                document,
            } => {
                self.put_inline(id, entity, name, policy_name, document)
                    .await
            }
            UndoOp::DeleteInlinePolicy {
                entity,
                name,
                policy_name,
            } => self.delete_inline(id, entity, name, policy_name).await,
            UndoOp::AddUserToGroup { user, group } => mutate!(
                self,
                id,
                "AddUserToGroup",
                json!({"UserName": user, "GroupName": group}),
                c.add_user_to_group().user_name(user).group_name(group)
            )
            .map(|_| ()),
            UndoOp::SetDefaultPolicyVersion {
                policy_arn,
                version_id,
            } => mutate!(
                self,
                id,
                "SetDefaultPolicyVersion",
                json!({"PolicyArn": policy_arn, "VersionId": version_id}),
                c.set_default_policy_version()
                    .policy_arn(policy_arn)
                    .version_id(version_id)
            )
            .map(|_| ()),
            UndoOp::DeletePolicyVersion {
                policy_arn,
                version_id,
            } => mutate!(
                self,
                id,
                "DeletePolicyVersion",
                json!({"PolicyArn": policy_arn, "VersionId": version_id}),
                c.delete_policy_version()
                    .policy_arn(policy_arn)
                    .version_id(version_id)
            )
            .map(|_| ()),
            UndoOp::CreatePolicyVersion {
                policy_arn,
                document,
            } => mutate!(
                self,
                id,
                "CreatePolicyVersion",
                json!({"PolicyArn": policy_arn, "SetAsDefault": false, "PolicyDocument": document}),
                c.create_policy_version()
                    .policy_arn(policy_arn)
                    .policy_document(doc_text(document))
                    .set_as_default(false)
            )
            .map(|_| ()),
            UndoOp::UpdatePasswordPolicy { settings } => {
                self.put_password_policy(id, settings).await
            }
            UndoOp::DeletePasswordPolicy => mutate!(
                self,
                id,
                "DeleteAccountPasswordPolicy",
                json!({}),
                c.delete_account_password_policy()
            )
            .map(|_| ()),
            UndoOp::Tag { kind, name, tags } => self.tag(id, kind, name, tags).await,
            UndoOp::Untag { kind, name, keys } => self.untag(id, kind, name, keys).await,
        }
    }
}
