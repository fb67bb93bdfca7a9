//! The AWS edge of apply: [`SdkIam`], the aws-sdk-iam implementation of [`Iam`]: one `match`
//! from [`IamCall`] to the SDK's builders (each sent once, with the SDK's own retries off;
//! the rotation hand-off's secret calls go to aws-sdk-secretsmanager, built from the same
//! `SdkConfig`, so the endpoint override and timeouts are the IAM client's),
//! the classification of what came back ([`classify`] -> [`CallOutcome`]), the typed reads,
//! tokio's timer for the waits, and the caller's identity ([`caller`]). Everything else apply
//! does (checks, the order of calls, journaling, resending, undo) is SDK-free, in
//! `iamwarden_core` (`steps`, each family's `live` module, and `apply::dispatch`).

use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::StatusType;
use aws_sdk_iam::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use chrono::{DateTime, Utc};
use iamwarden_core::apply::dispatch::Executor;
use iamwarden_core::apply::journal::{Journal, Mode};
use iamwarden_core::apply::Caller;
use iamwarden_core::iam::{
    Attachments, CallOk, CallOutcome, Iam, IamCall, KeyStatus, LoginProfileInfo, MfaDeviceInfo,
    Read, ReadError, Secret, SecretInfo, UserInfo, VersionInfo,
};
use iamwarden_core::inventory::PasswordPolicy;
use iamwarden_core::policy::parse_document_text;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

use iamwarden_core::iam::StepError;

/// Apply's executor over the SDK (what the CLI and the moto tests run).
pub type Aws = Executor<SdkIam>;

/// Apply's executor over this client (no Secrets Manager client: the rotation hand-off's
/// calls are refused), journaling its mutating calls to `journal`.
pub fn executor(client: Client, journal: Arc<Journal>, mode: Mode) -> Aws {
    Executor::over(SdkIam::new(client), journal, mode)
}

/// The IAM and Secrets Manager clients of one `SdkConfig` (the same endpoint override,
/// region, credentials and timeouts) and the journal.
pub fn executor_from_config(
    config: &aws_config::SdkConfig,
    journal: Arc<Journal>,
    mode: Mode,
) -> Aws {
    Executor::over(SdkIam::from_config(config), journal, mode)
}

/// aws-sdk-iam (and, for the rotation hand-off, aws-sdk-secretsmanager) as an [`Iam`].
#[derive(Debug, Clone)]
pub struct SdkIam {
    client: Client,
    secrets: Option<aws_sdk_secretsmanager::Client>,
}

impl SdkIam {
    /// Over this IAM client, without Secrets Manager (its calls are not sent).
    pub fn new(client: Client) -> SdkIam {
        SdkIam {
            client,
            secrets: None,
        }
    }

    /// IAM and Secrets Manager clients from one config.
    pub fn from_config(config: &aws_config::SdkConfig) -> SdkIam {
        SdkIam {
            client: Client::new(config),
            secrets: Some(aws_sdk_secretsmanager::Client::new(config)),
        }
    }
}

/// The answer to a Secrets Manager call made without a Secrets Manager client.
fn no_secrets_client<T>() -> CallOutcome<T> {
    CallOutcome::NotSent {
        message: "no Secrets Manager client is configured".into(),
    }
}

/// Error codes that answer "not now, nothing done": sending again is safe.
const RETRYABLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "ServiceUnavailable",
    "ServiceUnavailableException",
];

use crate::live::chain_text;

/// Whether a dispatch failure happened before the request left: the connection was refused.
fn never_sent(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::AddrNotAvailable
            ) {
                return true;
            }
        }
        if e.to_string().contains("client error (Connect)") {
            return true;
        }
        cur = e.source();
    }
    false
}

/// Classifies what the SDK returned for one attempt of a mutating call (sent with the SDK's
/// own retries off).
pub fn classify<T, E>(result: Result<T, SdkError<E, HttpResponse>>) -> CallOutcome<T>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let err = match result {
        Ok(v) => return CallOutcome::Done(v),
        Err(e) => e,
    };
    match &err {
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let code = se.err().code().map(str::to_string);
            let message = se.err().message().unwrap_or("no message").to_string();
            let retryable = code
                .as_deref()
                .is_some_and(|c| RETRYABLE_CODES.contains(&c))
                || status == 503;
            if status >= 500 && !retryable {
                return CallOutcome::Unknown {
                    message: format!(
                        "IAM answered HTTP {status} {}, which does not say whether the change was made",
                        code.as_deref().unwrap_or("without an error code")
                    ),
                };
            }
            CallOutcome::Refused {
                code,
                message,
                status,
                retryable,
            }
        }
        SdkError::ConstructionFailure(_) => CallOutcome::NotSent {
            message: chain_text(&err),
        },
        SdkError::TimeoutError(_) => CallOutcome::Unknown {
            message: format!("no answer within the timeout: {}", chain_text(&err)),
        },
        SdkError::ResponseError(_) => CallOutcome::Unknown {
            message: format!("the response was cut or unreadable: {}", chain_text(&err)),
        },
        SdkError::DispatchFailure(d) => {
            if never_sent(&err) {
                CallOutcome::NotSent {
                    message: chain_text(&err),
                }
            } else if d.is_timeout() {
                CallOutcome::Unknown {
                    message: format!("no answer within the timeout: {}", chain_text(&err)),
                }
            } else {
                CallOutcome::Unknown {
                    message: format!(
                        "the connection failed after the request was sent: {}",
                        chain_text(&err)
                    ),
                }
            }
        }
        _ => CallOutcome::Unknown {
            message: chain_text(&err),
        },
    }
}

fn sdk_err<E>(call: &'static str, err: SdkError<E, HttpResponse>) -> ReadError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let (code, message) = crate::live::code_and_message(&err);
    ReadError {
        call,
        code,
        message,
    }
}

/// The per-operation config every mutating call is sent with: the SDK's automatic retry off
/// (a retry after an unanswered attempt could apply a non-idempotent call twice).
fn no_retry() -> aws_sdk_iam::config::Builder {
    aws_sdk_iam::config::Builder::default()
        .retry_config(aws_sdk_iam::config::retry::RetryConfig::disabled())
}

/// [`no_retry`] for Secrets Manager calls.
fn sm_no_retry() -> aws_sdk_secretsmanager::config::Builder {
    aws_sdk_secretsmanager::config::Builder::default()
        .retry_config(aws_sdk_secretsmanager::config::retry::RetryConfig::disabled())
}

fn sm_tags(tags: &BTreeMap<String, String>) -> Vec<aws_sdk_secretsmanager::types::Tag> {
    tags.iter()
        .map(|(k, v)| {
            aws_sdk_secretsmanager::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
        })
        .collect()
}

/// Every item of a paginated list call (all pages), or the call's error.
macro_rules! all_items {
    ($call:literal, $request:expr) => {
        $request
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| sdk_err($call, e))
    };
}

/// `Ok(None)` for NoSuchEntity.
fn found<T>(r: Result<T, ReadError>) -> Read<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.code.as_deref() == Some("NoSuchEntity") => Ok(None),
        Err(e) => Err(e),
    }
}

fn ts(t: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    let t = t?;
    DateTime::from_timestamp(t.secs(), 0)
}

/// Sends one attempt of an SDK operation (the builder without `.send()`) and classifies it.
macro_rules! once {
    ($builder:expr) => {
        classify(
            $builder
                .customize()
                .config_override(no_retry())
                .send()
                .await,
        )
        .map(|_| CallOk::Empty)
    };
}

fn sdk_tags(tags: &BTreeMap<String, String>) -> Vec<aws_sdk_iam::types::Tag> {
    tags.iter()
        .filter_map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .ok()
        })
        .collect()
}

macro_rules! once_sm {
    ($builder:expr) => {
        classify(
            $builder
                .customize()
                .config_override(sm_no_retry())
                .send()
                .await,
        )
    };
}

impl SdkIam {
    /// One attempt of a Secrets Manager call.
    async fn send_secret(&self, call: &IamCall) -> CallOutcome<CallOk> {
        use IamCall as C;
        let Some(sm) = &self.secrets else {
            return no_secrets_client();
        };
        let written = |arn: Option<&str>, version: Option<&str>| CallOk::SecretWritten {
            arn: arn.unwrap_or_default().to_string(),
            version_id: version.unwrap_or_default().to_string(),
        };
        match call {
            C::CreateSecret {
                name,
                secret_string,
                kms_key_id,
                tags,
            } => once_sm!(sm
                .create_secret()
                .name(name)
                .secret_string(secret_string.expose())
                .set_kms_key_id(kms_key_id.clone())
                .set_tags(Some(sm_tags(tags))))
            .map(|o| written(o.arn(), o.version_id())),
            C::PutSecretValue {
                secret_id,
                secret_string,
            } => once_sm!(sm
                .put_secret_value()
                .secret_id(secret_id)
                .secret_string(secret_string.expose()))
            .map(|o| written(o.arn(), o.version_id())),
            C::TagSecret { secret_id, tags } => once_sm!(sm
                .tag_resource()
                .secret_id(secret_id)
                .set_tags(Some(sm_tags(tags))))
            .map(|_| CallOk::Empty),
            C::UpdateSecretVersionStage {
                secret_id,
                move_to,
                remove_from,
            } => once_sm!(sm
                .update_secret_version_stage()
                .secret_id(secret_id)
                .version_stage("AWSCURRENT")
                .move_to_version_id(move_to)
                .remove_from_version_id(remove_from))
            .map(|_| CallOk::Empty),
            C::DeleteSecret { secret_id } => once_sm!(sm
                .delete_secret()
                .secret_id(secret_id)
                .force_delete_without_recovery(true))
            .map(|_| CallOk::Empty),
            _ => CallOutcome::NotSent {
                message: format!("{} is not a Secrets Manager call", call.name()),
            },
        }
    }
}

impl Iam for SdkIam {
    async fn sleep(&self, d: std::time::Duration) {
        tokio::time::sleep(d).await;
    }

    async fn send(&self, call: &IamCall) -> CallOutcome<CallOk> {
        use IamCall as C;
        let c = &self.client;
        let to_i32 = |n: Option<u32>| n.and_then(|n| i32::try_from(n).ok());
        match call {
            C::UpdateAccessKey { user, key, status } => once!(c
                .update_access_key()
                .user_name(user)
                .access_key_id(key)
                .status(StatusType::from(status.as_str()))),
            C::DeleteAccessKey { user, key } => {
                once!(c.delete_access_key().user_name(user).access_key_id(key))
            }
            C::UpdateLoginProfile {
                user,
                reset_required,
            } => once!(c
                .update_login_profile()
                .user_name(user)
                .password_reset_required(*reset_required)),
            C::DeleteLoginProfile { user } => once!(c.delete_login_profile().user_name(user)),
            C::DeactivateMfaDevice { user, serial } => once!(c
                .deactivate_mfa_device()
                .user_name(user)
                .serial_number(serial)),
            C::DeleteVirtualMfaDevice { serial } => {
                once!(c.delete_virtual_mfa_device().serial_number(serial))
            }
            C::DetachUserPolicy { user, policy_arn } => {
                once!(c
                    .detach_user_policy()
                    .user_name(user)
                    .policy_arn(policy_arn))
            }
            C::DetachGroupPolicy { group, policy_arn } => {
                once!(c
                    .detach_group_policy()
                    .group_name(group)
                    .policy_arn(policy_arn))
            }
            C::DetachRolePolicy { role, policy_arn } => {
                once!(c
                    .detach_role_policy()
                    .role_name(role)
                    .policy_arn(policy_arn))
            }
            C::AttachUserPolicy { user, policy_arn } => {
                once!(c
                    .attach_user_policy()
                    .user_name(user)
                    .policy_arn(policy_arn))
            }
            C::AttachGroupPolicy { group, policy_arn } => {
                once!(c
                    .attach_group_policy()
                    .group_name(group)
                    .policy_arn(policy_arn))
            }
            C::AttachRolePolicy { role, policy_arn } => {
                once!(c
                    .attach_role_policy()
                    .role_name(role)
                    .policy_arn(policy_arn))
            }
            C::DeleteUserPolicy { user, policy_name } => {
                once!(c
                    .delete_user_policy()
                    .user_name(user)
                    .policy_name(policy_name))
            }
            C::DeleteGroupPolicy { group, policy_name } => {
                once!(c
                    .delete_group_policy()
                    .group_name(group)
                    .policy_name(policy_name))
            }
            C::DeleteRolePolicy { role, policy_name } => {
                once!(c
                    .delete_role_policy()
                    .role_name(role)
                    .policy_name(policy_name))
            }
            C::PutUserPolicy {
                user,
                policy_name,
                document,
            } => once!(c
                .put_user_policy()
                .user_name(user)
                .policy_name(policy_name)
                .policy_document(document.to_string())),
            C::PutGroupPolicy {
                group,
                policy_name,
                document,
            } => once!(c
                .put_group_policy()
                .group_name(group)
                .policy_name(policy_name)
                .policy_document(document.to_string())),
            C::PutRolePolicy {
                role,
                policy_name,
                document,
            } => once!(c
                .put_role_policy()
                .role_name(role)
                .policy_name(policy_name)
                .policy_document(document.to_string())),
            C::RemoveUserFromGroup { user, group } => {
                once!(c.remove_user_from_group().user_name(user).group_name(group))
            }
            C::AddUserToGroup { user, group } => {
                once!(c.add_user_to_group().user_name(user).group_name(group))
            }
            C::CreatePolicyVersion {
                policy_arn,
                set_as_default,
                document,
            } => classify(
                c.create_policy_version()
                    .policy_arn(policy_arn)
                    .policy_document(document.to_string())
                    .set_as_default(*set_as_default)
                    .customize()
                    .config_override(no_retry())
                    .send()
                    .await,
            )
            .map(|out| {
                CallOk::CreatedVersion(
                    out.policy_version()
                        .and_then(|v| v.version_id())
                        .unwrap_or_default()
                        .to_string(),
                )
            }),
            C::DeletePolicyVersion {
                policy_arn,
                version_id,
            } => once!(c
                .delete_policy_version()
                .policy_arn(policy_arn)
                .version_id(version_id)),
            C::SetDefaultPolicyVersion {
                policy_arn,
                version_id,
            } => once!(c
                .set_default_policy_version()
                .policy_arn(policy_arn)
                .version_id(version_id)),
            C::DeletePolicy { policy_arn } => once!(c.delete_policy().policy_arn(policy_arn)),
            C::UpdateAccountPasswordPolicy { settings: p } => once!(c
                .update_account_password_policy()
                .set_minimum_password_length(to_i32(p.minimum_password_length))
                .require_symbols(p.require_symbols)
                .require_numbers(p.require_numbers)
                .require_uppercase_characters(p.require_uppercase_characters)
                .require_lowercase_characters(p.require_lowercase_characters)
                .allow_users_to_change_password(p.allow_users_to_change_password)
                .set_max_password_age(to_i32(p.max_password_age))
                .set_password_reuse_prevention(to_i32(p.password_reuse_prevention))
                .hard_expiry(p.hard_expiry)),
            C::DeleteAccountPasswordPolicy {} => once!(c.delete_account_password_policy()),
            C::TagUser { user, tags } => {
                once!(c.tag_user().user_name(user).set_tags(Some(sdk_tags(tags))))
            }
            C::TagRole { role, tags } => {
                once!(c.tag_role().role_name(role).set_tags(Some(sdk_tags(tags))))
            }
            C::TagPolicy { policy_arn, tags } => once!(c
                .tag_policy()
                .policy_arn(policy_arn)
                .set_tags(Some(sdk_tags(tags)))),
            C::UntagUser { user, keys } => {
                once!(c
                    .untag_user()
                    .user_name(user)
                    .set_tag_keys(Some(keys.clone())))
            }
            C::UntagRole { role, keys } => {
                once!(c
                    .untag_role()
                    .role_name(role)
                    .set_tag_keys(Some(keys.clone())))
            }
            C::UntagPolicy { policy_arn, keys } => once!(c
                .untag_policy()
                .policy_arn(policy_arn)
                .set_tag_keys(Some(keys.clone()))),
            C::DeleteSigningCertificate {
                user,
                certificate_id,
            } => once!(c
                .delete_signing_certificate()
                .user_name(user)
                .certificate_id(certificate_id)),
            C::DeleteSshPublicKey { user, key_id } => once!(c
                .delete_ssh_public_key()
                .user_name(user)
                .ssh_public_key_id(key_id)),
            C::DeleteServiceSpecificCredential {
                user,
                credential_id,
            } => once!(c
                .delete_service_specific_credential()
                .user_name(user)
                .service_specific_credential_id(credential_id)),
            C::DeleteUserPermissionsBoundary { user } => {
                once!(c.delete_user_permissions_boundary().user_name(user))
            }
            C::DeleteUser { user } => once!(c.delete_user().user_name(user)),
            C::CreateAccessKey { user } => classify(
                c.create_access_key()
                    .user_name(user)
                    .customize()
                    .config_override(no_retry())
                    .send()
                    .await,
            )
            .map(|out| match out.access_key() {
                Some(k) => CallOk::CreatedKey {
                    id: k.access_key_id().to_string(),
                    secret: Secret::new(k.secret_access_key()),
                },
                None => CallOk::Empty,
            }),
            C::CreateSecret { .. }
            | C::PutSecretValue { .. }
            | C::TagSecret { .. }
            | C::UpdateSecretVersionStage { .. }
            | C::DeleteSecret { .. } => self.send_secret(call).await,
        }
    }

    /// The user's keys: (id, status); `None` when the user does not exist.
    async fn access_keys(&self, user: &str) -> Read<Option<Vec<KeyStatus>>> {
        let r = all_items!(
            "ListAccessKeys",
            self.client.list_access_keys().user_name(user)
        );
        Ok(found(r)?.map(|keys| {
            keys.iter()
                .map(|k| {
                    (
                        k.access_key_id().unwrap_or_default().to_string(),
                        k.status()
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_default(),
                    )
                })
                .collect()
        }))
    }

    async fn key_last_used(&self, key: &str) -> Read<Option<DateTime<Utc>>> {
        let out = self
            .client
            .get_access_key_last_used()
            .access_key_id(key)
            .send()
            .await
            .map_err(|e| sdk_err("GetAccessKeyLastUsed", e))?;
        Ok(ts(out
            .access_key_last_used()
            .and_then(|u| u.last_used_date())))
    }

    /// (create date, reset required); `None` without a login profile.
    async fn login_profile(&self, user: &str) -> Read<Option<LoginProfileInfo>> {
        let r = self
            .client
            .get_login_profile()
            .user_name(user)
            .send()
            .await
            .map_err(|e| sdk_err("GetLoginProfile", e));
        Ok(found(r)?.map(|o| {
            let lp = o.login_profile();
            (
                ts(lp.map(|l| l.create_date())),
                lp.is_some_and(|l| l.password_reset_required()),
            )
        }))
    }

    /// The user's MFA devices: (serial, enable date); `None` when the user does not exist.
    async fn mfa_devices(&self, user: &str) -> Read<Option<Vec<MfaDeviceInfo>>> {
        let r = all_items!(
            "ListMFADevices",
            self.client.list_mfa_devices().user_name(user)
        );
        Ok(found(r)?.map(|ds| {
            ds.iter()
                .map(|d| (d.serial_number().to_string(), ts(Some(d.enable_date()))))
                .collect()
        }))
    }

    async fn virtual_mfa_exists(&self, serial: &str) -> Read<bool> {
        let all = all_items!(
            "ListVirtualMFADevices",
            self.client.list_virtual_mfa_devices()
        )?;
        Ok(all.iter().any(|d| d.serial_number() == serial))
    }

    /// Managed policies attached to a user, group or role; `None` when it does not exist.
    async fn attached(&self, kind: &str, name: &str) -> Read<Option<Vec<String>>> {
        let arns = |ps: Vec<aws_sdk_iam::types::AttachedPolicy>| {
            ps.iter()
                .filter_map(|p| p.policy_arn().map(str::to_string))
                .collect::<Vec<_>>()
        };
        let r = match kind {
            "user" => all_items!(
                "ListAttachedUserPolicies",
                self.client.list_attached_user_policies().user_name(name)
            )
            .map(arns),
            "group" => all_items!(
                "ListAttachedGroupPolicies",
                self.client.list_attached_group_policies().group_name(name)
            )
            .map(arns),
            _ => all_items!(
                "ListAttachedRolePolicies",
                self.client.list_attached_role_policies().role_name(name)
            )
            .map(arns),
        };
        found(r)
    }

    /// An inline policy's document; `None` when it (or its owner) does not exist.
    async fn inline(&self, kind: &str, owner: &str, name: &str) -> Read<Option<Value>> {
        let r = match kind {
            "user" => self
                .client
                .get_user_policy()
                .user_name(owner)
                .policy_name(name)
                .send()
                .await
                .map(|o| o.policy_document().to_string())
                .map_err(|e| sdk_err("GetUserPolicy", e)),
            "group" => self
                .client
                .get_group_policy()
                .group_name(owner)
                .policy_name(name)
                .send()
                .await
                .map(|o| o.policy_document().to_string())
                .map_err(|e| sdk_err("GetGroupPolicy", e)),
            _ => self
                .client
                .get_role_policy()
                .role_name(owner)
                .policy_name(name)
                .send()
                .await
                .map(|o| o.policy_document().to_string())
                .map_err(|e| sdk_err("GetRolePolicy", e)),
        };
        Ok(found(r)?.map(|text| parse_document_text(&text).unwrap_or(Value::String(text))))
    }

    async fn inline_names(&self, user: &str) -> Read<Vec<String>> {
        all_items!(
            "ListUserPolicies",
            self.client.list_user_policies().user_name(user)
        )
    }

    async fn groups_of(&self, user: &str) -> Read<Option<Vec<String>>> {
        let r = all_items!(
            "ListGroupsForUser",
            self.client.list_groups_for_user().user_name(user)
        );
        Ok(found(r)?.map(|gs| gs.iter().map(|g| g.group_name().to_string()).collect()))
    }

    /// (user id, permissions boundary ARN, last console sign-in); `None` when the user does
    /// not exist.
    async fn user(&self, name: &str) -> Read<Option<UserInfo>> {
        let r = self
            .client
            .get_user()
            .user_name(name)
            .send()
            .await
            .map_err(|e| sdk_err("GetUser", e));
        Ok(found(r)?.and_then(|o| {
            o.user().map(|u| UserInfo {
                id: u.user_id().to_string(),
                boundary: u
                    .permissions_boundary()
                    .and_then(|b| b.permissions_boundary_arn())
                    .map(str::to_string),
                password_last_used: ts(u.password_last_used()),
            })
        }))
    }

    /// The group's id; `None` when the group does not exist.
    async fn group_id(&self, name: &str) -> Read<Option<String>> {
        let r = self
            .client
            .get_group()
            .group_name(name)
            .max_items(1)
            .send()
            .await
            .map_err(|e| sdk_err("GetGroup", e));
        Ok(found(r)?.and_then(|o| o.group().map(|g| g.group_id().to_string())))
    }

    /// The role's id; `None` when the role does not exist.
    async fn role_id(&self, name: &str) -> Read<Option<String>> {
        let r = self
            .client
            .get_role()
            .role_name(name)
            .send()
            .await
            .map_err(|e| sdk_err("GetRole", e));
        Ok(found(r)?.and_then(|o| o.role().map(|r| r.role_id().to_string())))
    }

    /// The role's path; `None` when the role does not exist.
    async fn role_path(&self, name: &str) -> Read<Option<String>> {
        let r = self
            .client
            .get_role()
            .role_name(name)
            .send()
            .await
            .map_err(|e| sdk_err("GetRole", e));
        Ok(found(r)?.and_then(|o| o.role().map(|r| r.path().to_string())))
    }

    /// The managed policy's id; `None` when the policy does not exist.
    async fn policy_id(&self, arn: &str) -> Read<Option<String>> {
        let r = self
            .client
            .get_policy()
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| sdk_err("GetPolicy", e));
        Ok(found(r)?.and_then(|o| o.policy().and_then(|p| p.policy_id()).map(str::to_string)))
    }

    /// The default version id; `None` when the policy does not exist.
    async fn policy_default(&self, arn: &str) -> Read<Option<String>> {
        let r = self
            .client
            .get_policy()
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| sdk_err("GetPolicy", e));
        Ok(found(r)?.map(|o| {
            o.policy()
                .and_then(|p| p.default_version_id())
                .unwrap_or_default()
                .to_string()
        }))
    }

    async fn policy_document(&self, arn: &str, version: &str) -> Read<Value> {
        let out = self
            .client
            .get_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send()
            .await
            .map_err(|e| sdk_err("GetPolicyVersion", e))?;
        let text = out
            .policy_version()
            .and_then(|v| v.document())
            .unwrap_or_default();
        Ok(parse_document_text(text).unwrap_or(Value::String(text.to_string())))
    }

    /// (version id, is default, create date), oldest first.
    async fn policy_versions(&self, arn: &str) -> Read<Vec<VersionInfo>> {
        let vs = all_items!(
            "ListPolicyVersions",
            self.client.list_policy_versions().policy_arn(arn)
        )?;
        let mut out: Vec<VersionInfo> = vs
            .iter()
            .map(|v| {
                (
                    v.version_id().unwrap_or_default().to_string(),
                    v.is_default_version(),
                    ts(v.create_date()),
                )
            })
            .collect();
        out.sort_by_key(|(id, _, c)| (*c, id.trim_start_matches('v').parse::<u64>().unwrap_or(0)));
        Ok(out)
    }

    async fn entities(&self, arn: &str) -> Read<Attachments> {
        let mut att = Attachments::default();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .list_entities_for_policy()
                .policy_arn(arn)
                .set_marker(marker.clone())
                .send()
                .await
                .map_err(|e| sdk_err("ListEntitiesForPolicy", e))?;
            att.users.extend(
                page.policy_users()
                    .iter()
                    .filter_map(|u| u.user_name().map(str::to_string)),
            );
            att.groups.extend(
                page.policy_groups()
                    .iter()
                    .filter_map(|g| g.group_name().map(str::to_string)),
            );
            att.roles.extend(
                page.policy_roles()
                    .iter()
                    .filter_map(|r| r.role_name().map(str::to_string)),
            );
            marker = page.marker().map(str::to_string);
            if !page.is_truncated() || marker.is_none() {
                return Ok(att);
            }
        }
    }

    async fn password_policy(&self) -> Read<Option<PasswordPolicy>> {
        let r = self
            .client
            .get_account_password_policy()
            .send()
            .await
            .map_err(|e| sdk_err("GetAccountPasswordPolicy", e));
        Ok(found(r)?.and_then(|o| o.password_policy().map(crate::live::password_policy_of)))
    }

    /// Tags of a user, role or managed policy; `None` when it does not exist.
    async fn tags(&self, kind: &str, name: &str) -> Read<Option<BTreeMap<String, String>>> {
        let to_map = |ts: &[aws_sdk_iam::types::Tag]| {
            ts.iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        let r = match kind {
            "user" => all_items!("ListUserTags", self.client.list_user_tags().user_name(name))
                .map(|t| to_map(&t)),
            "role" => all_items!("ListRoleTags", self.client.list_role_tags().role_name(name))
                .map(|t| to_map(&t)),
            _ => all_items!(
                "ListPolicyTags",
                self.client.list_policy_tags().policy_arn(name)
            )
            .map(|t| to_map(&t)),
        };
        found(r)
    }

    async fn secret(&self, id: &str) -> Read<Option<SecretInfo>> {
        let Some(sm) = &self.secrets else {
            return Err(ReadError {
                call: "DescribeSecret",
                code: None,
                message: "no Secrets Manager client is configured".into(),
            });
        };
        match sm.describe_secret().secret_id(id).send().await {
            Ok(o) => {
                let stages = o.version_ids_to_stages();
                let mut versions: Vec<String> = stages
                    .map(|m| m.keys().cloned().collect())
                    .unwrap_or_default();
                versions.sort();
                let staged = |stage: &str| {
                    stages.and_then(|m| {
                        m.iter()
                            .find(|(_, st)| st.iter().any(|s| s == stage))
                            .map(|(v, _)| v.clone())
                    })
                };
                let (current_version, previous_version) =
                    (staged("AWSCURRENT"), staged("AWSPREVIOUS"));
                Ok(Some(SecretInfo {
                    arn: o.arn().unwrap_or_default().to_string(),
                    current_version,
                    previous_version,
                    versions,
                    tags: o
                        .tags()
                        .iter()
                        .map(|t| {
                            (
                                t.key().unwrap_or_default().to_string(),
                                t.value().unwrap_or_default().to_string(),
                            )
                        })
                        .collect(),
                    deleted: o.deleted_date().is_some(),
                }))
            }
            Err(e) => {
                let e = sdk_err("DescribeSecret", e);
                if e.code.as_deref() == Some("ResourceNotFoundException") {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn signing_certificates(&self, user: &str) -> Read<Vec<String>> {
        let certs = all_items!(
            "ListSigningCertificates",
            self.client.list_signing_certificates().user_name(user)
        )?;
        Ok(certs
            .iter()
            .map(|c| c.certificate_id().to_string())
            .collect())
    }

    async fn ssh_public_keys(&self, user: &str) -> Read<Vec<String>> {
        let keys = all_items!(
            "ListSSHPublicKeys",
            self.client.list_ssh_public_keys().user_name(user)
        )?;
        Ok(keys
            .iter()
            .map(|k| k.ssh_public_key_id().to_string())
            .collect())
    }

    async fn service_specific_credentials(&self, user: &str) -> Read<Vec<String>> {
        let creds = self
            .client
            .list_service_specific_credentials()
            .user_name(user)
            .send()
            .await
            .map_err(|e| sdk_err("ListServiceSpecificCredentials", e))?;
        Ok(creds
            .service_specific_credentials()
            .iter()
            .map(|c| c.service_specific_credential_id().to_string())
            .collect())
    }
}

/// Who is calling: `sts:GetCallerIdentity` and the access key id of the credentials in use.
pub async fn caller(config: &aws_config::SdkConfig) -> Result<Caller, StepError> {
    let sts = aws_sdk_sts::Client::new(config);
    let out = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| StepError::from(sdk_err("GetCallerIdentity", e)))?;
    let access_key_id = match config.credentials_provider() {
        Some(p) => {
            use aws_credential_types::provider::ProvideCredentials;
            p.provide_credentials()
                .await
                .ok()
                .map(|c| c.access_key_id().to_string())
        }
        None => None,
    };
    Ok(Caller {
        arn: out.arn().unwrap_or_default().to_string(),
        account_id: out.account().unwrap_or_default().to_string(),
        access_key_id,
    })
}
