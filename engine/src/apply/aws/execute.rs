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
                self.mutate(
                    id,
                    "UpdateAccessKey",
                    json!({"UserName": user, "AccessKeyId": key, "Status": "Inactive"}),
                    c.update_access_key()
                        .user_name(user)
                        .access_key_id(key)
                        .status(StatusType::Inactive)
                        .send(),
                )
                .await?;
            }
            S::DeleteAccessKey => {
                let user = param(a, "user")?;
                let key = a.resource.id.as_str();
                self.mutate(
                    id,
                    "DeleteAccessKey",
                    json!({"UserName": user, "AccessKeyId": key}),
                    c.delete_access_key()
                        .user_name(user)
                        .access_key_id(key)
                        .send(),
                )
                .await?;
            }
            S::RequirePasswordReset => {
                let user = param(a, "user")?;
                // No password: AWS keeps the current one and only sets the flag.
                self.mutate(
                    id,
                    "UpdateLoginProfile",
                    json!({"UserName": user, "PasswordResetRequired": true}),
                    c.update_login_profile()
                        .user_name(user)
                        .password_reset_required(true)
                        .send(),
                )
                .await?;
            }
            S::DeleteLoginProfile => {
                let user = param(a, "user")?;
                self.mutate(
                    id,
                    "DeleteLoginProfile",
                    json!({"UserName": user}),
                    c.delete_login_profile().user_name(user).send(),
                )
                .await?;
            }
            S::DeactivateMfaDevice => {
                let user = param(a, "user")?;
                let serial = a.resource.id.as_str();
                if before.get("enabled").and_then(Value::as_bool) == Some(true) {
                    self.mutate(
                        id,
                        "DeactivateMFADevice",
                        json!({"UserName": user, "SerialNumber": serial}),
                        c.deactivate_mfa_device()
                            .user_name(user)
                            .serial_number(serial)
                            .send(),
                    )
                    .await?;
                }
                if a.params.get("delete_virtual").and_then(Value::as_bool) == Some(true) {
                    self.mutate(
                        id,
                        "DeleteVirtualMFADevice",
                        json!({"SerialNumber": serial}),
                        c.delete_virtual_mfa_device().serial_number(serial).send(),
                    )
                    .await?;
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
                self.mutate(
                    id,
                    "RemoveUserFromGroup",
                    json!({"UserName": user, "GroupName": group}),
                    c.remove_user_from_group()
                        .user_name(user)
                        .group_name(group)
                        .send(),
                )
                .await?;
            }
            S::QuarantineUser => {
                let user = param(a, "user")?;
                let name = param(a, "policy_name")?;
                let doc = a.params.get("document").cloned().unwrap_or(Value::Null);
                self.mutate(
                    id,
                    "PutUserPolicy",
                    json!({"UserName": user, "PolicyName": name, "PolicyDocument": doc}),
                    c.put_user_policy()
                        .user_name(user)
                        .policy_name(name)
                        .policy_document(doc_text(&doc))
                        .send(),
                )
                .await?;
            }
            S::DeleteUser => {
                let user = param(a, "user")?;
                self.delete_user_cascade(id, user, before).await?;
            }
            S::ReplacePolicyDocument => {
                let arn = param(a, "policy_arn")?;
                let doc = a.params.get("document").cloned().unwrap_or(Value::Null);
                let versions = self.policy_versions(arn).await?;
                let mut deleted = Value::Null;
                if versions.len() >= 5 {
                    // AWS keeps five versions: drop the oldest non-default one (kept for undo).
                    if let Some((vid, _, _)) = versions.iter().find(|(_, d, _)| !d) {
                        let old = self.policy_document(arn, vid).await?;
                        self.mutate(
                            id,
                            "DeletePolicyVersion",
                            json!({"PolicyArn": arn, "VersionId": vid}),
                            c.delete_policy_version()
                                .policy_arn(arn)
                                .version_id(vid)
                                .send(),
                        )
                        .await?;
                        deleted = json!({"version_id": vid, "document": old});
                    }
                }
                let out = self
                    .mutate(
                        id,
                        "CreatePolicyVersion",
                        json!({"PolicyArn": arn, "SetAsDefault": true, "PolicyDocument": doc}),
                        c.create_policy_version()
                            .policy_arn(arn)
                            .policy_document(doc_text(&doc))
                            .set_as_default(true)
                            .send(),
                    )
                    .await?;
                let created = out
                    .policy_version()
                    .and_then(|v| v.version_id())
                    .unwrap_or_default()
                    .to_string();
                return Ok(json!({"created_version_id": created, "deleted_version": deleted}));
            }
            S::SetDefaultPolicyVersion => {
                let arn = param(a, "policy_arn")?;
                let v = param(a, "version_id")?;
                self.mutate(
                    id,
                    "SetDefaultPolicyVersion",
                    json!({"PolicyArn": arn, "VersionId": v}),
                    c.set_default_policy_version()
                        .policy_arn(arn)
                        .version_id(v)
                        .send(),
                )
                .await?;
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
                        self.mutate(
                            id,
                            "DeletePolicyVersion",
                            json!({"PolicyArn": arn, "VersionId": vid}),
                            c.delete_policy_version()
                                .policy_arn(arn)
                                .version_id(&vid)
                                .send(),
                        )
                        .await?;
                    }
                }
                self.mutate(
                    id,
                    "DeletePolicy",
                    json!({"PolicyArn": arn}),
                    c.delete_policy().policy_arn(arn).send(),
                )
                .await?;
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
            "user" => self
                .mutate(
                    id,
                    "DetachUserPolicy",
                    json!({"UserName": name, "PolicyArn": arn}),
                    c.detach_user_policy()
                        .user_name(name)
                        .policy_arn(arn)
                        .send(),
                )
                .await
                .map(|_| ()),
            "group" => self
                .mutate(
                    id,
                    "DetachGroupPolicy",
                    json!({"GroupName": name, "PolicyArn": arn}),
                    c.detach_group_policy()
                        .group_name(name)
                        .policy_arn(arn)
                        .send(),
                )
                .await
                .map(|_| ()),
            _ => self
                .mutate(
                    id,
                    "DetachRolePolicy",
                    json!({"RoleName": name, "PolicyArn": arn}),
                    c.detach_role_policy()
                        .role_name(name)
                        .policy_arn(arn)
                        .send(),
                )
                .await
                .map(|_| ()),
        }
    }

    async fn attach(&self, id: &str, kind: &str, name: &str, arn: &str) -> Result<(), StepError> {
        let c = &self.client;
        match kind {
            "user" => self
                .mutate(
                    id,
                    "AttachUserPolicy",
                    json!({"UserName": name, "PolicyArn": arn}),
                    c.attach_user_policy()
                        .user_name(name)
                        .policy_arn(arn)
                        .send(),
                )
                .await
                .map(|_| ()),
            "group" => self
                .mutate(
                    id,
                    "AttachGroupPolicy",
                    json!({"GroupName": name, "PolicyArn": arn}),
                    c.attach_group_policy()
                        .group_name(name)
                        .policy_arn(arn)
                        .send(),
                )
                .await
                .map(|_| ()),
            _ => self
                .mutate(
                    id,
                    "AttachRolePolicy",
                    json!({"RoleName": name, "PolicyArn": arn}),
                    c.attach_role_policy()
                        .role_name(name)
                        .policy_arn(arn)
                        .send(),
                )
                .await
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
            "user" => self
                .mutate(
                    id,
                    "DeleteUserPolicy",
                    json!({"UserName": owner, "PolicyName": name}),
                    c.delete_user_policy()
                        .user_name(owner)
                        .policy_name(name)
                        .send(),
                )
                .await
                .map(|_| ()),
            "group" => self
                .mutate(
                    id,
                    "DeleteGroupPolicy",
                    json!({"GroupName": owner, "PolicyName": name}),
                    c.delete_group_policy()
                        .group_name(owner)
                        .policy_name(name)
                        .send(),
                )
                .await
                .map(|_| ()),
            _ => self
                .mutate(
                    id,
                    "DeleteRolePolicy",
                    json!({"RoleName": owner, "PolicyName": name}),
                    c.delete_role_policy()
                        .role_name(owner)
                        .policy_name(name)
                        .send(),
                )
                .await
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
            "user" => self
                .mutate(
                    id,
                    "PutUserPolicy",
                    json!({"UserName": owner, "PolicyName": name, "PolicyDocument": doc}),
                    c.put_user_policy()
                        .user_name(owner)
                        .policy_name(name)
                        .policy_document(text)
                        .send(),
                )
                .await
                .map(|_| ()),
            "group" => self
                .mutate(
                    id,
                    "PutGroupPolicy",
                    json!({"GroupName": owner, "PolicyName": name, "PolicyDocument": doc}),
                    c.put_group_policy()
                        .group_name(owner)
                        .policy_name(name)
                        .policy_document(text)
                        .send(),
                )
                .await
                .map(|_| ()),
            _ => self
                .mutate(
                    id,
                    "PutRolePolicy",
                    json!({"RoleName": owner, "PolicyName": name, "PolicyDocument": doc}),
                    c.put_role_policy()
                        .role_name(owner)
                        .policy_name(name)
                        .policy_document(text)
                        .send(),
                )
                .await
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
        self.mutate(
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
                .hard_expiry(p.hard_expiry)
                .send(),
        )
        .await
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
            "user" => self
                .mutate(
                    id,
                    "TagUser",
                    req,
                    c.tag_user().user_name(name).set_tags(Some(list)).send(),
                )
                .await
                .map(|_| ()),
            "role" => self
                .mutate(
                    id,
                    "TagRole",
                    req,
                    c.tag_role().role_name(name).set_tags(Some(list)).send(),
                )
                .await
                .map(|_| ()),
            _ => self
                .mutate(
                    id,
                    "TagPolicy",
                    req,
                    c.tag_policy().policy_arn(name).set_tags(Some(list)).send(),
                )
                .await
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
            "user" => self
                .mutate(
                    id,
                    "UntagUser",
                    req,
                    c.untag_user().user_name(name).set_tag_keys(keys).send(),
                )
                .await
                .map(|_| ()),
            "role" => self
                .mutate(
                    id,
                    "UntagRole",
                    req,
                    c.untag_role().role_name(name).set_tag_keys(keys).send(),
                )
                .await
                .map(|_| ()),
            _ => self
                .mutate(
                    id,
                    "UntagPolicy",
                    req,
                    c.untag_policy().policy_arn(name).set_tag_keys(keys).send(),
                )
                .await
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
            self.mutate(
                id,
                "DeleteLoginProfile",
                json!({"UserName": user}),
                c.delete_login_profile().user_name(user).send(),
            )
            .await?;
        }
        for (key, _) in self.access_keys(user).await?.unwrap_or_default() {
            self.mutate(
                id,
                "DeleteAccessKey",
                json!({"UserName": user, "AccessKeyId": key}),
                c.delete_access_key()
                    .user_name(user)
                    .access_key_id(&key)
                    .send(),
            )
            .await?;
        }
        let certs = all_items!(
            "ListSigningCertificates",
            c.list_signing_certificates().user_name(user)
        )?;
        for cert in certs {
            let cid = cert.certificate_id().to_string();
            self.mutate(
                id,
                "DeleteSigningCertificate",
                json!({"UserName": user, "CertificateId": cid}),
                c.delete_signing_certificate()
                    .user_name(user)
                    .certificate_id(&cid)
                    .send(),
            )
            .await?;
        }
        let ssh = all_items!(
            "ListSSHPublicKeys",
            c.list_ssh_public_keys().user_name(user)
        )?;
        for k in ssh {
            let kid = k.ssh_public_key_id().to_string();
            self.mutate(
                id,
                "DeleteSSHPublicKey",
                json!({"UserName": user, "SSHPublicKeyId": kid}),
                c.delete_ssh_public_key()
                    .user_name(user)
                    .ssh_public_key_id(&kid)
                    .send(),
            )
            .await?;
        }
        let creds = c
            .list_service_specific_credentials()
            .user_name(user)
            .send()
            .await
            .map_err(|e| sdk_err("ListServiceSpecificCredentials", e))?;
        for cred in creds.service_specific_credentials() {
            let cid = cred.service_specific_credential_id().to_string();
            self.mutate(
                id,
                "DeleteServiceSpecificCredential",
                json!({"UserName": user, "ServiceSpecificCredentialId": cid}),
                c.delete_service_specific_credential()
                    .user_name(user)
                    .service_specific_credential_id(&cid)
                    .send(),
            )
            .await?;
        }
        for (serial, _) in self.mfa_devices(user).await?.unwrap_or_default() {
            self.mutate(
                id,
                "DeactivateMFADevice",
                json!({"UserName": user, "SerialNumber": serial}),
                c.deactivate_mfa_device()
                    .user_name(user)
                    .serial_number(&serial)
                    .send(),
            )
            .await?;
            if serial.starts_with("arn:") {
                self.mutate(
                    id,
                    "DeleteVirtualMFADevice",
                    json!({"SerialNumber": serial}),
                    c.delete_virtual_mfa_device().serial_number(&serial).send(),
                )
                .await?;
            }
        }
        for g in self.groups_of(user).await?.unwrap_or_default() {
            self.mutate(
                id,
                "RemoveUserFromGroup",
                json!({"UserName": user, "GroupName": g}),
                c.remove_user_from_group()
                    .user_name(user)
                    .group_name(&g)
                    .send(),
            )
            .await?;
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
            self.mutate(
                id,
                "DeleteUserPermissionsBoundary",
                json!({"UserName": user}),
                c.delete_user_permissions_boundary().user_name(user).send(),
            )
            .await?;
        }
        self.mutate(
            id,
            "DeleteUser",
            json!({"UserName": user}),
            c.delete_user().user_name(user).send(),
        )
        .await?;
        Ok(())
    }

    // ---- undo --------------------------------------------------------------------------

    /// Makes one undo call.
    pub async fn undo_op(&self, action: &str, op: &UndoOp) -> Result<(), StepError> {
        let c = &self.client;
        let id = action;
        match op {
            UndoOp::UpdateAccessKey { user, access_key_id, status } => {
                let st = StatusType::from(status.as_str());
                self.mutate(id, "UpdateAccessKey", json!({"UserName": user, "AccessKeyId": access_key_id, "Status": status}),
                    c.update_access_key().user_name(user).access_key_id(access_key_id).status(st).send()).await.map(|_| ())
            }
            UndoOp::UpdateLoginProfile { user, password_reset_required } => self
                .mutate(id, "UpdateLoginProfile", json!({"UserName": user, "PasswordResetRequired": password_reset_required}),
                    c.update_login_profile().user_name(user).password_reset_required(*password_reset_required).send())
                .await
                .map(|_| ()),
            UndoOp::AttachPolicy { entity, name, policy_arn } => self.attach(id, entity, name, policy_arn).await,
            UndoOp::PutInlinePolicy { entity, name, policy_name, document } => {
                self.put_inline(id, entity, name, policy_name, document).await
            }
            UndoOp::DeleteInlinePolicy { entity, name, policy_name } => {
                self.delete_inline(id, entity, name, policy_name).await
            }
            UndoOp::AddUserToGroup { user, group } => self
                .mutate(id, "AddUserToGroup", json!({"UserName": user, "GroupName": group}),
                    c.add_user_to_group().user_name(user).group_name(group).send())
                .await
                .map(|_| ()),
            UndoOp::SetDefaultPolicyVersion { policy_arn, version_id } => self
                .mutate(id, "SetDefaultPolicyVersion", json!({"PolicyArn": policy_arn, "VersionId": version_id}),
                    c.set_default_policy_version().policy_arn(policy_arn).version_id(version_id).send())
                .await
                .map(|_| ()),
            UndoOp::DeletePolicyVersion { policy_arn, version_id } => self
                .mutate(id, "DeletePolicyVersion", json!({"PolicyArn": policy_arn, "VersionId": version_id}),
                    c.delete_policy_version().policy_arn(policy_arn).version_id(version_id).send())
                .await
                .map(|_| ()),
            UndoOp::CreatePolicyVersion { policy_arn, document } => self
                .mutate(id, "CreatePolicyVersion", json!({"PolicyArn": policy_arn, "SetAsDefault": false, "PolicyDocument": document}),
                    c.create_policy_version().policy_arn(policy_arn).policy_document(doc_text(document)).set_as_default(false).send())
                .await
                .map(|_| ()),
            UndoOp::UpdatePasswordPolicy { settings } => self.put_password_policy(id, settings).await,
            UndoOp::DeletePasswordPolicy => self
                .mutate(id, "DeleteAccountPasswordPolicy", json!({}), c.delete_account_password_policy().send())
                .await
                .map(|_| ()),
            UndoOp::Tag { kind, name, tags } => self.tag(id, kind, name, tags).await,
            UndoOp::Untag { kind, name, keys } => self.untag(id, kind, name, keys).await,
        }
    }
}
