//! The IAM boundary apply runs against, with no AWS SDK and no runtime in it: [`IamCall`],
//! one typed variant per mutating IAM call iamwarden makes (its serialization is the
//! journal's `call` + `request`); [`CallOutcome`], what one attempt of a call came to; and
//! the [`Iam`] trait: one attempt of a call ([`Iam::send`]) plus the typed reads apply's
//! checks make. The SDK implementation lives at the I/O edge (`iamwarden_aws::iam::SdkIam`); an
//! in-memory one (`fake`, test builds only) serves the unit tests.

use crate::inventory::PasswordPolicy;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;

mod error;
#[cfg(test)]
pub mod fake;

pub use error::{outcome_result, resolved_failure, unresolved, StepError};

/// A value that must never be journaled, logged or printed: `Serialize` and `Debug` write
/// `<redacted>`; only [`Secret::expose`] gives the text (to the SDK builder).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The text wrapped.
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }
    /// The clear text, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}

/// Every mutating IAM call iamwarden makes, with its request parameters as IAM names them.
/// Serialized (adjacently tagged) it is the journal's `call` and `request`: the dispatcher
/// writes the record from the very value it sends, so the two cannot disagree. A parameter
/// that is a secret is a [`Secret`], which serializes redacted.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "call", content = "request")]
pub enum IamCall {
    /// Sets an access key's status.
    UpdateAccessKey {
        /// The key's user.
        #[serde(rename = "UserName")]
        user: String,
        /// The key.
        #[serde(rename = "AccessKeyId")]
        key: String,
        /// `Active` or `Inactive`.
        #[serde(rename = "Status")]
        status: String,
    },
    /// Deletes an access key.
    DeleteAccessKey {
        /// The key's user.
        #[serde(rename = "UserName")]
        user: String,
        /// The key.
        #[serde(rename = "AccessKeyId")]
        key: String,
    },
    /// Sets `PasswordResetRequired` (no password: AWS keeps the current one).
    UpdateLoginProfile {
        /// The user.
        #[serde(rename = "UserName")]
        user: String,
        /// The flag.
        #[serde(rename = "PasswordResetRequired")]
        reset_required: bool,
    },
    /// Deletes the console password.
    DeleteLoginProfile {
        /// The user.
        #[serde(rename = "UserName")]
        user: String,
    },
    /// Deactivates an MFA device.
    #[serde(rename = "DeactivateMFADevice")]
    DeactivateMfaDevice {
        /// The user.
        #[serde(rename = "UserName")]
        user: String,
        /// The device.
        #[serde(rename = "SerialNumber")]
        serial: String,
    },
    /// Deletes a virtual MFA device.
    #[serde(rename = "DeleteVirtualMFADevice")]
    DeleteVirtualMfaDevice {
        /// The device.
        #[serde(rename = "SerialNumber")]
        serial: String,
    },
    /// Detaches a managed policy from a user.
    DetachUserPolicy {
        /// The user.
        #[serde(rename = "UserName")]
        user: String,
        /// The policy.
        #[serde(rename = "PolicyArn")]
        policy_arn: String,
    },
    /// Detaches a managed policy from a group.
    DetachGroupPolicy {
        /// The group.
        #[serde(rename = "GroupName")]
        group: String,
        /// The policy.
        #[serde(rename = "PolicyArn")]
        policy_arn: String,
    },
    /// Detaches a managed policy from a role.
    DetachRolePolicy {
        /// The role.
        #[serde(rename = "RoleName")]
        role: String,
        /// The policy.
        #[serde(rename = "PolicyArn")]
        policy_arn: String,
    },
    /// Attaches a managed policy to a user.
    AttachUserPolicy {
        /// The user.
        #[serde(rename = "UserName")]
        user: String,
        /// The policy.
        #[serde(rename = "PolicyArn")]
        policy_arn: String,
    },
    /// Attaches a managed policy to a group.
    AttachGroupPolicy {
        /// The group.
        #[serde(rename = "GroupName")]
        group: String,
        /// The policy.
        #[serde(rename = "PolicyArn")]
        policy_arn: String,
    },
    /// Attaches a managed policy to a role.
    AttachRolePolicy {
        /// The role.
        #[serde(rename = "RoleName")]
        role: String,
        /// The policy.
        #[serde(rename = "PolicyArn")]
        policy_arn: String,
    },
    /// Deletes a user's inline policy.
    DeleteUserPolicy {
        /// The user.
        #[serde(rename = "UserName")]
        user: String,
        /// The policy's name.
        #[serde(rename = "PolicyName")]
        policy_name: String,
    },
    /// Deletes a group's inline policy.
    DeleteGroupPolicy {
        /// The group.
        #[serde(rename = "GroupName")]
        group: String,
        /// The policy's name.
        #[serde(rename = "PolicyName")]
        policy_name: String,
    },
    /// Deletes a role's inline policy.
    DeleteRolePolicy {
        /// The role.
        #[serde(rename = "RoleName")]
        role: String,
        /// The policy's name.
        #[serde(rename = "PolicyName")]
        policy_name: String,
    },
    /// Puts a user's inline policy.
    PutUserPolicy {
        /// The user.
        #[serde(rename = "UserName")]
        user: String,
        /// The policy's name.
        #[serde(rename = "PolicyName")]
        policy_name: String,
        /// The document (sent as its JSON text).
        #[serde(rename = "PolicyDocument")]
        document: Value,
    },
    /// Puts a group's inline policy.
    PutGroupPolicy {
        /// The group.
        #[serde(rename = "GroupName")]
        group: String,
        /// The policy's name.
        #[serde(rename = "PolicyName")]
        policy_name: String,
        /// The document.
        #[serde(rename = "PolicyDocument")]
        document: Value,
    },
    /// Puts a role's inline policy.
    PutRolePolicy {
        /// The role.
        #[serde(rename = "RoleName")]
        role: String,
        /// The policy's name.
        #[serde(rename = "PolicyName")]
        policy_name: String,
        /// The document.
        #[serde(rename = "PolicyDocument")]
        document: Value,
    },
    /// Removes a user from a group.
    RemoveUserFromGroup {
        /// The user.
        #[serde(rename = "UserName")]
        user: String,
        /// The group.
        #[serde(rename = "GroupName")]
        group: String,
    },
    /// Adds a user to a group.
    AddUserToGroup {
        /// The user.
        #[serde(rename = "UserName")]
        user: String,
        /// The group.
        #[serde(rename = "GroupName")]
        group: String,
    },
    /// Creates a managed-policy version (not idempotent: each accepted call is a new one).
    CreatePolicyVersion {
        /// The policy.
        #[serde(rename = "PolicyArn")]
        policy_arn: String,
        /// Make it the default.
        #[serde(rename = "SetAsDefault")]
        set_as_default: bool,
        /// The document.
        #[serde(rename = "PolicyDocument")]
        document: Value,
    },
    /// Deletes a (non-default) managed-policy version.
    DeletePolicyVersion {
        /// The policy.
        #[serde(rename = "PolicyArn")]
        policy_arn: String,
        /// The version.
        #[serde(rename = "VersionId")]
        version_id: String,
    },
    /// Makes a version the default.
    SetDefaultPolicyVersion {
        /// The policy.
        #[serde(rename = "PolicyArn")]
        policy_arn: String,
        /// The version.
        #[serde(rename = "VersionId")]
        version_id: String,
    },
    /// Deletes a managed policy (detached, only its default version left).
    DeletePolicy {
        /// The policy.
        #[serde(rename = "PolicyArn")]
        policy_arn: String,
    },
    /// Sets every setting of the account password policy.
    UpdateAccountPasswordPolicy {
        /// The settings.
        settings: PasswordPolicy,
    },
    /// Deletes the account password policy.
    DeleteAccountPasswordPolicy {},
    /// Tags a user.
    TagUser {
        /// The user.
        #[serde(rename = "Name")]
        user: String,
        /// The tags.
        #[serde(rename = "Tags")]
        tags: BTreeMap<String, String>,
    },
    /// Tags a role.
    TagRole {
        /// The role.
        #[serde(rename = "Name")]
        role: String,
        /// The tags.
        #[serde(rename = "Tags")]
        tags: BTreeMap<String, String>,
    },
    /// Tags a managed policy.
    TagPolicy {
        /// The policy's ARN.
        #[serde(rename = "Name")]
        policy_arn: String,
        /// The tags.
        #[serde(rename = "Tags")]
        tags: BTreeMap<String, String>,
    },
    /// Removes tags from a user.
    UntagUser {
        /// The user.
        #[serde(rename = "Name")]
        user: String,
        /// The keys.
        #[serde(rename = "TagKeys")]
        keys: Vec<String>,
    },
    /// Removes tags from a role.
    UntagRole {
        /// The role.
        #[serde(rename = "Name")]
        role: String,
        /// The keys.
        #[serde(rename = "TagKeys")]
        keys: Vec<String>,
    },
    /// Removes tags from a managed policy.
    UntagPolicy {
        /// The policy's ARN.
        #[serde(rename = "Name")]
        policy_arn: String,
        /// The keys.
        #[serde(rename = "TagKeys")]
        keys: Vec<String>,
    },
    /// Deletes an X.509 signing certificate.
    DeleteSigningCertificate {
        /// The user.
        #[serde(rename = "UserName")]
        user: String,
        /// The certificate.
        #[serde(rename = "CertificateId")]
        certificate_id: String,
    },
    /// Deletes an SSH public key.
    #[serde(rename = "DeleteSSHPublicKey")]
    DeleteSshPublicKey {
        /// The user.
        #[serde(rename = "UserName")]
        user: String,
        /// The key.
        #[serde(rename = "SSHPublicKeyId")]
        key_id: String,
    },
    /// Deletes a service-specific credential.
    DeleteServiceSpecificCredential {
        /// The user.
        #[serde(rename = "UserName")]
        user: String,
        /// The credential.
        #[serde(rename = "ServiceSpecificCredentialId")]
        credential_id: String,
    },
    /// Removes a user's permissions boundary.
    DeleteUserPermissionsBoundary {
        /// The user.
        #[serde(rename = "UserName")]
        user: String,
    },
    /// Creates an access key for a user (not idempotent: each accepted call is a new key, and
    /// the answer carries the key's secret, which only [`CallOk::CreatedKey`] holds).
    CreateAccessKey {
        /// The user.
        #[serde(rename = "UserName")]
        user: String,
    },
    /// Secrets Manager `CreateSecret`: a new secret holding `secret_string`.
    CreateSecret {
        /// The secret's name.
        #[serde(rename = "Name")]
        name: String,
        /// The value (journaled redacted).
        #[serde(rename = "SecretString")]
        secret_string: Secret,
        /// The KMS key that encrypts it (the account's default key when absent).
        #[serde(rename = "KmsKeyId", skip_serializing_if = "Option::is_none")]
        kms_key_id: Option<String>,
        /// Tags.
        #[serde(rename = "Tags")]
        tags: BTreeMap<String, String>,
    },
    /// Secrets Manager `PutSecretValue`: a new current version of an existing secret.
    PutSecretValue {
        /// The secret's name or ARN.
        #[serde(rename = "SecretId")]
        secret_id: String,
        /// The value (journaled redacted).
        #[serde(rename = "SecretString")]
        secret_string: Secret,
    },
    /// Secrets Manager `TagResource` on a secret.
    #[serde(rename = "TagResource")]
    TagSecret {
        /// The secret's name or ARN.
        #[serde(rename = "SecretId")]
        secret_id: String,
        /// Tags.
        #[serde(rename = "Tags")]
        tags: BTreeMap<String, String>,
    },
    /// Secrets Manager `UpdateSecretVersionStage`: moves `AWSCURRENT` back to an older version.
    UpdateSecretVersionStage {
        /// The secret's name or ARN.
        #[serde(rename = "SecretId")]
        secret_id: String,
        /// The version that becomes current.
        #[serde(rename = "MoveToVersionId")]
        move_to: String,
        /// The version that stops being current.
        #[serde(rename = "RemoveFromVersionId")]
        remove_from: String,
    },
    /// Secrets Manager `DeleteSecret` without a recovery window (a secret apply created).
    DeleteSecret {
        /// The secret's name or ARN.
        #[serde(rename = "SecretId")]
        secret_id: String,
    },
    /// Deletes a user (everything it holds must be gone first).
    DeleteUser {
        /// The user.
        #[serde(rename = "UserName")]
        user: String,
    },
}

impl IamCall {
    /// The IAM operation's name (the journal's `call`; the permission is `iam:<name>`).
    pub fn name(&self) -> &'static str {
        use IamCall as C;
        match self {
            C::UpdateAccessKey { .. } => "UpdateAccessKey",
            C::DeleteAccessKey { .. } => "DeleteAccessKey",
            C::UpdateLoginProfile { .. } => "UpdateLoginProfile",
            C::DeleteLoginProfile { .. } => "DeleteLoginProfile",
            C::DeactivateMfaDevice { .. } => "DeactivateMFADevice",
            C::DeleteVirtualMfaDevice { .. } => "DeleteVirtualMFADevice",
            C::DetachUserPolicy { .. } => "DetachUserPolicy",
            C::DetachGroupPolicy { .. } => "DetachGroupPolicy",
            C::DetachRolePolicy { .. } => "DetachRolePolicy",
            C::AttachUserPolicy { .. } => "AttachUserPolicy",
            C::AttachGroupPolicy { .. } => "AttachGroupPolicy",
            C::AttachRolePolicy { .. } => "AttachRolePolicy",
            C::DeleteUserPolicy { .. } => "DeleteUserPolicy",
            C::DeleteGroupPolicy { .. } => "DeleteGroupPolicy",
            C::DeleteRolePolicy { .. } => "DeleteRolePolicy",
            C::PutUserPolicy { .. } => "PutUserPolicy",
            C::PutGroupPolicy { .. } => "PutGroupPolicy",
            C::PutRolePolicy { .. } => "PutRolePolicy",
            C::RemoveUserFromGroup { .. } => "RemoveUserFromGroup",
            C::AddUserToGroup { .. } => "AddUserToGroup",
            C::CreatePolicyVersion { .. } => "CreatePolicyVersion",
            C::DeletePolicyVersion { .. } => "DeletePolicyVersion",
            C::SetDefaultPolicyVersion { .. } => "SetDefaultPolicyVersion",
            C::DeletePolicy { .. } => "DeletePolicy",
            C::UpdateAccountPasswordPolicy { .. } => "UpdateAccountPasswordPolicy",
            C::DeleteAccountPasswordPolicy {} => "DeleteAccountPasswordPolicy",
            C::TagUser { .. } => "TagUser",
            C::TagRole { .. } => "TagRole",
            C::TagPolicy { .. } => "TagPolicy",
            C::UntagUser { .. } => "UntagUser",
            C::UntagRole { .. } => "UntagRole",
            C::UntagPolicy { .. } => "UntagPolicy",
            C::DeleteSigningCertificate { .. } => "DeleteSigningCertificate",
            C::DeleteSshPublicKey { .. } => "DeleteSSHPublicKey",
            C::DeleteServiceSpecificCredential { .. } => "DeleteServiceSpecificCredential",
            C::DeleteUserPermissionsBoundary { .. } => "DeleteUserPermissionsBoundary",
            C::DeleteUser { .. } => "DeleteUser",
            C::CreateAccessKey { .. } => "CreateAccessKey",
            C::CreateSecret { .. } => "CreateSecret",
            C::PutSecretValue { .. } => "PutSecretValue",
            C::TagSecret { .. } => "TagResource",
            C::UpdateSecretVersionStage { .. } => "UpdateSecretVersionStage",
            C::DeleteSecret { .. } => "DeleteSecret",
        }
    }

    /// The AWS service the call goes to: `secretsmanager` for the rotation hand-off's secret
    /// calls, `iam` for every other (the permission is `<service>:<name>`).
    pub fn service(&self) -> &'static str {
        use IamCall as C;
        match self {
            C::CreateSecret { .. }
            | C::PutSecretValue { .. }
            | C::TagSecret { .. }
            | C::UpdateSecretVersionStage { .. }
            | C::DeleteSecret { .. } => "secretsmanager",
            _ => "iam",
        }
    }

    /// The journal's `call` and `request`, from this value's serialization.
    pub fn journal_parts(&self) -> (String, Value) {
        match serde_json::to_value(self) {
            Ok(Value::Object(mut m)) => {
                let call = match m.remove("call") {
                    Some(Value::String(s)) => s,
                    _ => self.name().to_string(),
                };
                (call, m.remove("request").unwrap_or(Value::Null))
            }
            _ => (self.name().to_string(), Value::Null),
        }
    }

    /// `Detach{User,Group,Role}Policy` by the entity kind (`user`, `group`, else role).
    pub fn detach(kind: &str, name: &str, policy_arn: &str) -> IamCall {
        let (name, policy_arn) = (name.to_string(), policy_arn.to_string());
        match kind {
            "user" => IamCall::DetachUserPolicy {
                user: name,
                policy_arn,
            },
            "group" => IamCall::DetachGroupPolicy {
                group: name,
                policy_arn,
            },
            _ => IamCall::DetachRolePolicy {
                role: name,
                policy_arn,
            },
        }
    }

    /// `Attach{User,Group,Role}Policy` by the entity kind.
    pub fn attach(kind: &str, name: &str, policy_arn: &str) -> IamCall {
        let (name, policy_arn) = (name.to_string(), policy_arn.to_string());
        match kind {
            "user" => IamCall::AttachUserPolicy {
                user: name,
                policy_arn,
            },
            "group" => IamCall::AttachGroupPolicy {
                group: name,
                policy_arn,
            },
            _ => IamCall::AttachRolePolicy {
                role: name,
                policy_arn,
            },
        }
    }

    /// `Delete{User,Group,Role}Policy` by the owner kind.
    pub fn delete_inline(kind: &str, owner: &str, policy_name: &str) -> IamCall {
        let (owner, policy_name) = (owner.to_string(), policy_name.to_string());
        match kind {
            "user" => IamCall::DeleteUserPolicy {
                user: owner,
                policy_name,
            },
            "group" => IamCall::DeleteGroupPolicy {
                group: owner,
                policy_name,
            },
            _ => IamCall::DeleteRolePolicy {
                role: owner,
                policy_name,
            },
        }
    }

    /// `Put{User,Group,Role}Policy` by the owner kind.
    pub fn put_inline(kind: &str, owner: &str, policy_name: &str, document: &Value) -> IamCall {
        let (owner, policy_name, document) =
            (owner.to_string(), policy_name.to_string(), document.clone());
        match kind {
            "user" => IamCall::PutUserPolicy {
                user: owner,
                policy_name,
                document,
            },
            "group" => IamCall::PutGroupPolicy {
                group: owner,
                policy_name,
                document,
            },
            _ => IamCall::PutRolePolicy {
                role: owner,
                policy_name,
                document,
            },
        }
    }

    /// `Tag{User,Role,Policy}` by the tagged kind (`user`, `role`, else a policy ARN).
    pub fn tag(kind: &str, name: &str, tags: &BTreeMap<String, String>) -> IamCall {
        let (name, tags) = (name.to_string(), tags.clone());
        match kind {
            "user" => IamCall::TagUser { user: name, tags },
            "role" => IamCall::TagRole { role: name, tags },
            _ => IamCall::TagPolicy {
                policy_arn: name,
                tags,
            },
        }
    }

    /// `Untag{User,Role,Policy}` by the tagged kind.
    pub fn untag(kind: &str, name: &str, keys: &[String]) -> IamCall {
        let (name, keys) = (name.to_string(), keys.to_vec());
        match kind {
            "user" => IamCall::UntagUser { user: name, keys },
            "role" => IamCall::UntagRole { role: name, keys },
            _ => IamCall::UntagPolicy {
                policy_arn: name,
                keys,
            },
        }
    }
}

/// What a call returned that apply uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallOk {
    /// Nothing beyond success.
    Empty,
    /// `CreatePolicyVersion`: the version id IAM gave the new version.
    CreatedVersion(String),
    /// `CreateAccessKey`: the new key's id and its secret (never journaled: the dispatcher
    /// journals no response, and the secret is a [`Secret`]).
    CreatedKey {
        /// The access key id.
        id: String,
        /// The secret access key.
        secret: Secret,
    },
    /// `CreateSecret` / `PutSecretValue`: the secret's ARN and the version written.
    SecretWritten {
        /// The secret's ARN.
        arn: String,
        /// The version id.
        version_id: String,
    },
}

impl CallOk {
    /// What the journal's `result` record keeps of the answer: the ids of what a call created
    /// (a new access key's id, a secret's ARN and version), never a secret; `null` otherwise.
    pub fn journal_response(&self) -> Value {
        match self {
            CallOk::CreatedKey { id, .. } => serde_json::json!({ "AccessKeyId": id }),
            CallOk::SecretWritten { arn, version_id } => {
                serde_json::json!({ "ARN": arn, "VersionId": version_id })
            }
            CallOk::Empty | CallOk::CreatedVersion(_) => Value::Null,
        }
    }
}

/// What one attempt of a mutating call came to.
#[derive(Debug, Clone, PartialEq)]
pub enum CallOutcome<T> {
    /// IAM answered with success.
    Done(T),
    /// IAM answered with an error response: the change was not made.
    Refused {
        /// The AWS error code.
        code: Option<String>,
        /// What IAM said.
        message: String,
        /// The HTTP status.
        status: u16,
        /// The answer proves the call was not applied and may be sent again (throttling,
        /// service unavailable).
        retryable: bool,
    },
    /// The request was sent (or may have been) and no usable answer came: a timeout, a
    /// connection cut before or during the response, or a 5xx that does not say whether the
    /// change was made.
    Unknown {
        /// What happened.
        message: String,
    },
    /// The request never left (the connection was refused, the request could not be built).
    NotSent {
        /// What happened.
        message: String,
    },
}

impl<T> CallOutcome<T> {
    /// Maps the value of a success.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> CallOutcome<U> {
        match self {
            CallOutcome::Done(v) => CallOutcome::Done(f(v)),
            CallOutcome::Refused {
                code,
                message,
                status,
                retryable,
            } => CallOutcome::Refused {
                code,
                message,
                status,
                retryable,
            },
            CallOutcome::Unknown { message } => CallOutcome::Unknown { message },
            CallOutcome::NotSent { message } => CallOutcome::NotSent { message },
        }
    }

    /// Whether the answer proves nothing was changed and the call may be sent again.
    pub fn may_resend(&self) -> bool {
        matches!(
            self,
            CallOutcome::Refused {
                retryable: true,
                ..
            } | CallOutcome::NotSent { .. }
        )
    }
}

/// A read that failed (never for "not found" where the read returns an `Option`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{call} failed: {message}")]
pub struct ReadError {
    /// The API operation.
    pub call: &'static str,
    /// The AWS error code.
    pub code: Option<String>,
    /// What AWS said (never credentials).
    pub message: String,
}

/// A read's result.
pub type Read<T> = Result<T, ReadError>;

/// A Secrets Manager secret as `DescribeSecret` gives it (never its value).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SecretInfo {
    /// The ARN.
    pub arn: String,
    /// The version that holds `AWSCURRENT`.
    pub current_version: Option<String>,
    /// The version that holds `AWSPREVIOUS`.
    pub previous_version: Option<String>,
    /// Every version id.
    pub versions: Vec<String>,
    /// The secret's tags.
    pub tags: BTreeMap<String, String>,
    /// Scheduled for deletion.
    pub deleted: bool,
}

/// What `GetUser` tells the checks.
#[derive(Debug, Clone, PartialEq)]
pub struct UserInfo {
    /// The user id.
    pub id: String,
    /// The permissions boundary's ARN.
    pub boundary: Option<String>,
    /// The last console sign-in.
    pub password_last_used: Option<DateTime<Utc>>,
}

/// The entities a managed policy is attached to (`ListEntitiesForPolicy`).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Attachments {
    /// User names.
    pub users: Vec<String>,
    /// Group names.
    pub groups: Vec<String>,
    /// Role names.
    pub roles: Vec<String>,
}

/// An access key as `ListAccessKeys` gives it: (id, status `Active`/`Inactive`).
pub type KeyStatus = (String, String);
/// A login profile as `GetLoginProfile` gives it: (create date, reset required).
pub type LoginProfileInfo = (Option<DateTime<Utc>>, bool);
/// An MFA device as `ListMFADevices` gives it: (serial, enable date).
pub type MfaDeviceInfo = (String, Option<DateTime<Utc>>);
/// A policy version as `ListPolicyVersions` gives it: (id, is default, create date).
pub type VersionInfo = (String, bool, Option<DateTime<Utc>>);

/// What a step's apply-time half (`crate::steps`, each family's `live`) runs through: the
/// [`Iam`] it reads, and the one journaled dispatcher every mutating call goes through
/// (`apply::Executor` implements it; reads go to [`Exec::iam`] directly).
pub trait Exec: Send + Sync {
    /// The IAM read and written.
    type Iam: Iam;
    /// The IAM the reads go to.
    fn iam(&self) -> &Self::Iam;
    /// Sends one mutating call for the action `action`: journaled, and sent again only when
    /// the answer proves nothing was changed; an unanswered one is [`StepError::Unknown`].
    fn send(
        &self,
        action: &str,
        call: IamCall,
    ) -> impl Future<Output = Result<CallOk, StepError>> + Send;
    /// Waits before re-reading after an unanswered call (a request in flight lands first).
    fn wait_settle(&self) -> impl Future<Output = ()> + Send;
}

/// IAM as apply sees it: one attempt of a mutating call, and the reads its checks make.
/// Kinds are `user`, `group`, `role` (and `managed_policy` for tags, named by ARN). A read of
/// something that does not exist is `Ok(None)` where the return type allows it.
/// Implementations do no resending and no journaling: the dispatcher in `apply` does both.
pub trait Iam: Clone + Send + Sync + 'static {
    /// Sends one attempt of the call and classifies what came back.
    fn send(&self, call: &IamCall) -> impl Future<Output = CallOutcome<CallOk>> + Send;
    /// Waits `d` on the runtime this implementation runs on (resend backoff, the settle wait
    /// before re-reading): the core names no runtime, so the implementation brings its timer.
    fn sleep(&self, d: std::time::Duration) -> impl Future<Output = ()> + Send;
    /// The user's keys; `None` when the user does not exist.
    fn access_keys(&self, user: &str) -> impl Future<Output = Read<Option<Vec<KeyStatus>>>> + Send;
    /// When the key was last used.
    fn key_last_used(&self, key: &str) -> impl Future<Output = Read<Option<DateTime<Utc>>>> + Send;
    /// The login profile; `None` without one.
    fn login_profile(
        &self,
        user: &str,
    ) -> impl Future<Output = Read<Option<LoginProfileInfo>>> + Send;
    /// The user's MFA devices; `None` when the user does not exist.
    fn mfa_devices(
        &self,
        user: &str,
    ) -> impl Future<Output = Read<Option<Vec<MfaDeviceInfo>>>> + Send;
    /// Whether a virtual MFA device with this serial exists.
    fn virtual_mfa_exists(&self, serial: &str) -> impl Future<Output = Read<bool>> + Send;
    /// The user; `None` when it does not exist.
    fn user(&self, name: &str) -> impl Future<Output = Read<Option<UserInfo>>> + Send;
    /// The group's id; `None` when it does not exist.
    fn group_id(&self, name: &str) -> impl Future<Output = Read<Option<String>>> + Send;
    /// The role's id; `None` when it does not exist.
    fn role_id(&self, name: &str) -> impl Future<Output = Read<Option<String>>> + Send;
    /// The role's path (`/aws-service-role/...` for a service-linked one); `None` when it does
    /// not exist.
    fn role_path(&self, name: &str) -> impl Future<Output = Read<Option<String>>> + Send;
    /// Managed policies attached to a user, group or role; `None` when it does not exist.
    fn attached(
        &self,
        kind: &str,
        name: &str,
    ) -> impl Future<Output = Read<Option<Vec<String>>>> + Send;
    /// An inline policy's document; `None` when it (or its owner) does not exist.
    fn inline(
        &self,
        kind: &str,
        owner: &str,
        name: &str,
    ) -> impl Future<Output = Read<Option<Value>>> + Send;
    /// The names of a user's inline policies.
    fn inline_names(&self, user: &str) -> impl Future<Output = Read<Vec<String>>> + Send;
    /// The user's groups; `None` when the user does not exist.
    fn groups_of(&self, user: &str) -> impl Future<Output = Read<Option<Vec<String>>>> + Send;
    /// The managed policy's id; `None` when it does not exist.
    fn policy_id(&self, arn: &str) -> impl Future<Output = Read<Option<String>>> + Send;
    /// The default version id; `None` when the policy does not exist.
    fn policy_default(&self, arn: &str) -> impl Future<Output = Read<Option<String>>> + Send;
    /// A version's document.
    fn policy_document(&self, arn: &str, version: &str)
        -> impl Future<Output = Read<Value>> + Send;
    /// The policy's versions, oldest first.
    fn policy_versions(&self, arn: &str) -> impl Future<Output = Read<Vec<VersionInfo>>> + Send;
    /// The entities the policy is attached to.
    fn entities(&self, arn: &str) -> impl Future<Output = Read<Attachments>> + Send;
    /// The account password policy; `None` when there is none.
    fn password_policy(&self) -> impl Future<Output = Read<Option<PasswordPolicy>>> + Send;
    /// Tags of a user, role or managed policy; `None` when it does not exist.
    fn tags(
        &self,
        kind: &str,
        name: &str,
    ) -> impl Future<Output = Read<Option<BTreeMap<String, String>>>> + Send;
    /// The ids of the user's signing certificates.
    fn signing_certificates(&self, user: &str) -> impl Future<Output = Read<Vec<String>>> + Send;
    /// The ids of the user's SSH public keys.
    fn ssh_public_keys(&self, user: &str) -> impl Future<Output = Read<Vec<String>>> + Send;
    /// The ids of the user's service-specific credentials.
    fn service_specific_credentials(
        &self,
        user: &str,
    ) -> impl Future<Output = Read<Vec<String>>> + Send;
    /// A Secrets Manager secret by name or ARN (never its value); `None` when it does not exist.
    fn secret(&self, id: &str) -> impl Future<Output = Read<Option<SecretInfo>>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_secret_never_serializes_or_debugs_in_clear() {
        let s = Secret::new("hunter2-Pa55!");
        assert_eq!(serde_json::to_value(&s).unwrap(), json!("<redacted>"));
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2-Pa55!");
        #[derive(Serialize, Debug)]
        struct WithSecret {
            #[serde(rename = "Password")]
            password: Secret,
        }
        let w = WithSecret { password: s };
        let text = serde_json::to_string(&w).unwrap();
        assert_eq!(text, r#"{"Password":"<redacted>"}"#);
        assert!(!format!("{w:?}").contains("hunter2"));
    }

    #[test]
    fn the_journal_parts_are_the_serialization_in_todays_shape() {
        let c = IamCall::UpdateAccessKey {
            user: "alice".into(),
            key: "AKIA1".into(),
            status: "Inactive".into(),
        };
        let (call, request) = c.journal_parts();
        assert_eq!(call, "UpdateAccessKey");
        assert_eq!(
            request.to_string(),
            json!({"UserName": "alice", "AccessKeyId": "AKIA1", "Status": "Inactive"}).to_string()
        );
        let (call, request) = IamCall::DeleteAccountPasswordPolicy {}.journal_parts();
        assert_eq!(
            (call.as_str(), request),
            ("DeleteAccountPasswordPolicy", json!({}))
        );
        let (call, request) = IamCall::DeleteSshPublicKey {
            user: "u".into(),
            key_id: "K".into(),
        }
        .journal_parts();
        assert_eq!(call, "DeleteSSHPublicKey");
        assert_eq!(request, json!({"UserName": "u", "SSHPublicKeyId": "K"}));
    }
}
