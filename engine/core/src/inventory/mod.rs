//! The normalized inventory of one AWS account: the document every rule is evaluated against.
//!
//! One collection per kind of IAM resource. Every record has a stable `id` and, where AWS has
//! one, an `arn`. Access keys, MFA devices, login profiles and inline policies are resources of
//! their own, so a rule about one key can never act on the user's other key.
//!
//! Fields documented as *derived* are computed by [`Inventory::normalize`] from the rest of the
//! document (they are recomputed whenever an inventory is loaded, so a snapshot cannot disagree
//! with itself). The JSON Schema in `schemas/inventory.schema.json` is generated from these types.

mod normalize;
pub mod snapshot;
mod split;
mod tags;

pub use tags::Tags;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The inventory format this build writes and reads.
pub const INVENTORY_FORMAT_VERSION: u32 = 1;

/// One AWS account's IAM state, normalized.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// Version of this document's format (currently 1).
    #[serde(default = "default_format_version")]
    pub format_version: u32,
    /// When the inventory was read from AWS (absent for hand-written snapshots).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated_at: Option<DateTime<Utc>>,
    /// The account itself: id, alias, password policy, root credentials.
    pub account: Account,
    /// IAM users.
    #[serde(default)]
    pub users: Vec<User>,
    /// Access keys, one record per key (a user has at most two).
    #[serde(default)]
    pub access_keys: Vec<AccessKey>,
    /// MFA devices, virtual and hardware, one record per device.
    #[serde(default)]
    pub mfa_devices: Vec<MfaDevice>,
    /// Console passwords (login profiles), one per user that has one.
    #[serde(default)]
    pub login_profiles: Vec<LoginProfile>,
    /// IAM groups.
    #[serde(default)]
    pub groups: Vec<Group>,
    /// IAM roles.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// Managed policies, AWS-managed (those attached to something) and customer-managed.
    #[serde(default)]
    pub managed_policies: Vec<ManagedPolicy>,
    /// Inline policies of users, groups and roles, one record per policy.
    #[serde(default)]
    pub inline_policies: Vec<InlinePolicy>,
}

/// What the fingerprint covers: everything but the format version and `generated_at`.
#[derive(Serialize)]
struct FingerprintView<'a> {
    account: &'a Account,
    users: &'a [User],
    access_keys: &'a [AccessKey],
    mfa_devices: &'a [MfaDevice],
    login_profiles: &'a [LoginProfile],
    groups: &'a [Group],
    roles: &'a [Role],
    managed_policies: &'a [ManagedPolicy],
    inline_policies: &'a [InlinePolicy],
}

fn default_format_version() -> u32 {
    INVENTORY_FORMAT_VERSION
}

/// The account: identity, password policy and root credentials.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The 12-digit account id. Also the record's id.
    pub id: String,
    /// `arn:aws:iam::<id>:root`.
    #[serde(default)]
    pub arn: String,
    /// The account alias, if one is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// The account password policy, or absent when none is set (AWS then applies its defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_policy: Option<PasswordPolicy>,
    /// The root user's credentials (from the credential report and the account summary).
    #[serde(default)]
    pub root: RootUser,
    /// `GetAccountSummary` counts (Users, Groups, Policies, AccountMFAEnabled, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub summary: BTreeMap<String, i64>,
}

/// What IAM tells about the root user. IAM cannot remediate root: rules about it are findings only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RootUser {
    /// Whether the root user has MFA enabled.
    #[serde(default)]
    pub mfa_enabled: bool,
    /// Whether the root user has at least one access key.
    #[serde(default)]
    pub access_keys_present: bool,
    /// Last console sign-in of the root user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_last_used_at: Option<DateTime<Utc>>,
    /// Last use of any root access key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_last_used_at: Option<DateTime<Utc>>,
}

/// The account password policy, as `GetAccountPasswordPolicy` returns it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordPolicy {
    /// Minimum password length (6 to 128).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_password_length: Option<u32>,
    /// Require at least one symbol.
    #[serde(default)]
    pub require_symbols: bool,
    /// Require at least one number.
    #[serde(default)]
    pub require_numbers: bool,
    /// Require at least one uppercase letter.
    #[serde(default)]
    pub require_uppercase_characters: bool,
    /// Require at least one lowercase letter.
    #[serde(default)]
    pub require_lowercase_characters: bool,
    /// Let users change their own password.
    #[serde(default)]
    pub allow_users_to_change_password: bool,
    /// Days until a password expires; absent means never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_password_age: Option<u32>,
    /// How many previous passwords cannot be reused; absent means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_reuse_prevention: Option<u32>,
    /// Expired passwords need an administrator reset.
    #[serde(default)]
    pub hard_expiry: bool,
}

/// An IAM user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// The user's unique id (`AIDA...`).
    pub id: String,
    /// The user's ARN.
    pub arn: String,
    /// The user name.
    pub name: String,
    /// The IAM path (`/` by default).
    #[serde(default = "default_path")]
    pub path: String,
    /// When the user was created.
    pub created_at: DateTime<Utc>,
    /// Whether the user has a console password (a login profile).
    #[serde(default)]
    pub password_enabled: bool,
    /// Last console sign-in; absent if never (or unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_last_used_at: Option<DateTime<Utc>>,
    /// When the console password was last set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_last_changed_at: Option<DateTime<Utc>>,
    /// Whether the user has at least one enabled MFA device.
    #[serde(default)]
    pub mfa_enabled: bool,
    /// Names of the groups the user belongs to.
    #[serde(default)]
    pub groups: Vec<String>,
    /// ARNs of the managed policies attached directly to the user.
    #[serde(default)]
    pub attached_policies: Vec<String>,
    /// Names of the user's inline policies.
    #[serde(default)]
    pub inline_policies: Vec<String>,
    /// ARN of the permissions boundary, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<String>,
    /// The user's tags.
    #[serde(default)]
    pub tags: Tags,
    /// Derived: ids of the user's access keys.
    #[serde(default)]
    pub access_key_ids: Vec<String>,
    /// Derived: how many of the user's access keys are active.
    #[serde(default)]
    pub active_access_key_count: u32,
    /// Derived: the latest of the last console sign-in and every key's last use; absent if never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_activity_at: Option<DateTime<Utc>>,
    /// Derived: attached managed policies whose default version grants admin access (Action `*` on Resource `*`).
    #[serde(default)]
    pub admin_attached_policies: Vec<String>,
    /// Derived: inline policies of the user that grant admin access.
    #[serde(default)]
    pub admin_inline_policies: Vec<String>,
    /// Derived: groups of the user that grant admin access through their policies.
    #[serde(default)]
    pub admin_via_groups: Vec<String>,
    /// Derived: MFA devices the user had that are no longer enabled for anyone (deactivated):
    /// unassigned devices whose `last_user` is the user, and unassigned virtual devices named
    /// after the user (serial `arn:aws:iam::<account>:mfa/<path><user name>`, the name the
    /// console gave devices before 2022 and the usual scripted one). Empty while an MFA device
    /// is enabled for the user.
    #[serde(default)]
    pub deactivated_mfa_devices: Vec<String>,
    /// IAM's service last-accessed data for the user (`GenerateServiceLastAccessedDetails`,
    /// action level), when the reader was asked for it; absent: not read (rules see unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_access: Option<Box<ServiceAccess>>,
    /// Derived: namespaces of the services the user's policies grant that IAM saw no
    /// authentication for within its tracking period; empty when the data is absent or
    /// incomplete (unknown is never unused). For "not used within N days" a rule reads
    /// `$.service_access.services[*].idle_since` with `older_than`.
    #[serde(default)]
    pub unused_services: Vec<String>,
    /// Derived at evaluation time, only when a rule reads it (never stored in snapshots): one
    /// policy document holding every statement that applies to the user: the default versions
    /// of the managed policies attached to the user and to its groups, and the inline policies
    /// of the user and its groups. Policy operators on it judge the user's effective
    /// permissions (a Deny in one policy cancels an Allow in another).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_policy: Option<Box<Value>>,
}

fn default_path() -> String {
    "/".to_string()
}

/// How a service last-accessed job ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessDataStatus {
    /// IAM finished the report: `services` is the whole answer.
    #[default]
    Complete,
    /// The job failed (IAM's `FAILED`, or a call refused): no data, a gap.
    Failed,
    /// The job did not finish within the reader's wait: no data, a gap.
    TimedOut,
}

/// IAM's service last-accessed report for one user or role (access advisor data). Only a
/// `complete` report says anything about use: a failed or timed-out one is a gap, and rules
/// see neither used nor unused services for it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceAccess {
    /// `complete`, `failed` or `timed_out`.
    pub status: AccessDataStatus,
    /// When IAM completed the report (its `JobCompletionDate`); the instant "not used within
    /// N days" is measured from when a step narrows a policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated_at: Option<DateTime<Utc>>,
    /// Why there is no data (failed or timed out), never a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Every service the entity's policies grant, as IAM reports it (complete reports only).
    #[serde(default)]
    pub services: Vec<ServiceLastAccessed>,
}

/// One service of a last-accessed report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceLastAccessed {
    /// The service namespace (`s3`, `ec2`, `iam`), lowercase.
    pub namespace: String,
    /// The service's name as IAM gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The last authenticated request to the service within IAM's tracking period; absent:
    /// none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_authenticated_at: Option<DateTime<Utc>>,
    /// The region of that request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_authenticated_region: Option<String>,
    /// Per action, for the actions IAM tracks at action level (S3, EC2, IAM, Lambda
    /// management actions, ...); empty for other services.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<ActionLastAccessed>,
    /// Derived: since when the service is idle: its last authentication, or for a service
    /// never used, the later of the entity's creation and the start of IAM's tracking period
    /// (400 days before the report). `older_than: 90d` on it means "not used for 90 days".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_since: Option<DateTime<Utc>>,
}

/// One tracked action of a last-accessed report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionLastAccessed {
    /// The action name without the service prefix (`GetObject`).
    pub action: String,
    /// The last authenticated use of the action; absent: none within the tracking period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_accessed_at: Option<DateTime<Utc>>,
    /// The region of that use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_accessed_region: Option<String>,
}

/// How long IAM tracks service access (days): a service without authentication in a report
/// is idle since at most this long before the report.
pub const ACCESS_TRACKING_DAYS: i64 = 400;

/// Whether an access key can be used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum KeyStatus {
    /// The key can sign requests.
    #[default]
    Active,
    /// The key is disabled (it can be re-activated).
    Inactive,
}

impl KeyStatus {
    /// The status as IAM spells it: `Active`, `Inactive`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::Inactive => "Inactive",
        }
    }
}

/// One access key of one user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessKey {
    /// The access key id (`AKIA...`). Never the secret: IAM never returns it.
    pub id: String,
    /// Name of the user that owns the key.
    pub user: String,
    /// ARN of the user that owns the key.
    #[serde(default)]
    pub user_arn: String,
    /// `Active` or `Inactive`.
    pub status: KeyStatus,
    /// When the key was created.
    pub created_at: DateTime<Utc>,
    /// When the key last signed a request; absent if never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<DateTime<Utc>>,
    /// The service the key was last used with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_service: Option<String>,
    /// The region the key was last used in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_region: Option<String>,
    /// Derived: when the owning user was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_created_at: Option<DateTime<Utc>>,
    /// Derived: seconds between the user's creation and the key's (small: created at user setup).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds_after_user_created: Option<i64>,
    /// Derived: whether the owning user has a console password.
    #[serde(default)]
    pub user_password_enabled: bool,
    /// Derived: how many active keys the owning user has (this one included, if active).
    #[serde(default)]
    pub user_active_key_count: u32,
    /// Derived: true for the user's most recently created active key.
    #[serde(default)]
    pub newest_active_key_of_user: bool,
    /// Derived: true for the user's most recently *used* active key, the one to keep when a
    /// user has two: the latest `last_used_at` wins (a never-used key counts as least recent);
    /// on a tie, the most recently created; then the greater key id.
    #[serde(default)]
    pub most_recently_used_active_key_of_user: bool,
    /// Derived: the owning user's tags (access keys cannot be tagged themselves).
    #[serde(default)]
    pub user_tags: Tags,
}

/// An MFA device.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaDevice {
    /// The serial number (an ARN for virtual devices). Also the record's id.
    pub id: String,
    /// The user the device is enabled for; absent for an unassigned virtual device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Whether this is a virtual (software) device.
    #[serde(default)]
    pub r#virtual: bool,
    /// When the device was enabled for its user; absent if unassigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled_at: Option<DateTime<Utc>>,
    /// For an unassigned device: the user it was last enabled for, when known (the event fold
    /// of `DeactivateMFADevice` records it; IAM's list of virtual devices does not say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_user: Option<String>,
    /// Derived: the owning user's ARN (absent for an unassigned device).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_arn: Option<String>,
    /// Derived: the owning user's tags.
    #[serde(default)]
    pub user_tags: Tags,
}

/// A user's console password. IAM never reveals the password itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginProfile {
    /// The user name (a user has at most one login profile). Also the record's id.
    pub id: String,
    /// The user name.
    pub user: String,
    /// ARN of the user.
    #[serde(default)]
    pub user_arn: String,
    /// When the login profile was created.
    pub created_at: DateTime<Utc>,
    /// Whether the user must set a new password at next sign-in.
    #[serde(default)]
    pub password_reset_required: bool,
    /// Derived: the user's last console sign-in; absent if never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_last_used_at: Option<DateTime<Utc>>,
    /// Derived: whether the user has MFA enabled.
    #[serde(default)]
    pub user_mfa_enabled: bool,
    /// Derived: the owning user's tags.
    #[serde(default)]
    pub user_tags: Tags,
}

/// An IAM group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// The group's unique id (`AGPA...`).
    pub id: String,
    /// The group's ARN.
    pub arn: String,
    /// The group name.
    pub name: String,
    /// The IAM path.
    #[serde(default = "default_path")]
    pub path: String,
    /// When the group was created.
    pub created_at: DateTime<Utc>,
    /// ARNs of the managed policies attached to the group.
    #[serde(default)]
    pub attached_policies: Vec<String>,
    /// Names of the group's inline policies.
    #[serde(default)]
    pub inline_policies: Vec<String>,
    /// Derived: names of the group's members.
    #[serde(default)]
    pub members: Vec<String>,
    /// Derived: attached managed policies that grant admin access.
    #[serde(default)]
    pub admin_attached_policies: Vec<String>,
    /// Derived: inline policies that grant admin access.
    #[serde(default)]
    pub admin_inline_policies: Vec<String>,
}

/// An IAM role.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// The role's unique id (`AROA...`).
    pub id: String,
    /// The role's ARN.
    pub arn: String,
    /// The role name.
    pub name: String,
    /// The IAM path (`/aws-service-role/...` for service-linked roles).
    #[serde(default = "default_path")]
    pub path: String,
    /// When the role was created.
    pub created_at: DateTime<Utc>,
    /// The trust policy (who may assume the role), parsed.
    #[serde(default)]
    pub trust_policy: Value,
    /// When the role was last assumed; absent if never (AWS tracks 400 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<DateTime<Utc>>,
    /// The region the role was last used in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_region: Option<String>,
    /// ARNs of the managed policies attached to the role.
    #[serde(default)]
    pub attached_policies: Vec<String>,
    /// Names of the role's inline policies.
    #[serde(default)]
    pub inline_policies: Vec<String>,
    /// ARN of the permissions boundary, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<String>,
    /// The role's tags.
    #[serde(default)]
    pub tags: Tags,
    /// IAM's service last-accessed data for the role (`GenerateServiceLastAccessedDetails`,
    /// action level), when the reader was asked for it; absent: not read (rules see unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_access: Option<Box<ServiceAccess>>,
    /// Derived: namespaces of the services the role's policies grant that IAM saw no
    /// authentication for within its tracking period; empty when the data is absent or
    /// incomplete (unknown is never unused). For "not used within N days" a rule reads
    /// `$.service_access.services[*].idle_since` with `older_than`.
    #[serde(default)]
    pub unused_services: Vec<String>,
    /// Derived: whether the role is service-linked (path `/aws-service-role/`); IAM manages those.
    #[serde(default)]
    pub service_linked: bool,
    /// Derived: attached managed policies that grant admin access.
    #[serde(default)]
    pub admin_attached_policies: Vec<String>,
    /// Derived: inline policies that grant admin access.
    #[serde(default)]
    pub admin_inline_policies: Vec<String>,
}

/// One version of a managed policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyVersion {
    /// The version id (`v1`, `v2`, ...).
    pub version_id: String,
    /// Whether this is the policy's default (effective) version.
    #[serde(default)]
    pub is_default: bool,
    /// When the version was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    /// The policy document, parsed (URL-decoded when AWS returned it encoded).
    #[serde(default)]
    pub document: Value,
}

/// A managed policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ManagedPolicy {
    /// The policy's ARN. Also the record's id (AWS-managed policies share names across partitions).
    pub id: String,
    /// The policy's ARN.
    pub arn: String,
    /// The policy name.
    pub name: String,
    /// The IAM path.
    #[serde(default = "default_path")]
    pub path: String,
    /// The policy's unique id (`ANPA...`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_id: Option<String>,
    /// The description, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether AWS owns the policy (`arn:aws:iam::aws:policy/...`). iamwarden never modifies those.
    #[serde(default)]
    pub aws_managed: bool,
    /// When the policy was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    /// When the policy was last updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    /// The default version's id.
    pub default_version_id: String,
    /// Every version with its document (at most 5).
    #[serde(default)]
    pub versions: Vec<PolicyVersion>,
    /// The policy's tags.
    #[serde(default)]
    pub tags: Tags,
    /// Derived: the default version's document.
    #[serde(default)]
    pub default_document: Value,
    /// Derived: names of the users the policy is attached to.
    #[serde(default)]
    pub attached_users: Vec<String>,
    /// Derived: names of the groups the policy is attached to.
    #[serde(default)]
    pub attached_groups: Vec<String>,
    /// Derived: names of the roles the policy is attached to.
    #[serde(default)]
    pub attached_roles: Vec<String>,
    /// Derived: how many users, groups and roles the policy is attached to.
    #[serde(default)]
    pub attachment_count: u32,
    /// Derived: whether the default version grants admin access (Action `*` on Resource `*`),
    /// counting unconditioned statements only (the `admin_access` operator counts conditioned
    /// Allows too, by default).
    #[serde(default)]
    pub admin_access: bool,
    /// Derived: why the default version's document is not a policy document (not JSON, or
    /// not a valid shape), when it is not; the `policy-document-invalid` rule reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_error: Option<String>,
}

/// What kind of identity owns an inline policy.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OwnerKind {
    /// An IAM user.
    #[default]
    User,
    /// An IAM group.
    Group,
    /// An IAM role.
    Role,
}

impl OwnerKind {
    /// The word used in ids and messages: `user`, `group`, `role`.
    pub fn as_str(self) -> &'static str {
        match self {
            OwnerKind::User => "user",
            OwnerKind::Group => "group",
            OwnerKind::Role => "role",
        }
    }
}

/// An inline policy embedded in a user, group or role.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InlinePolicy {
    /// `<owner_kind>/<owner>/<name>`, e.g. `user/alice/s3-access`.
    pub id: String,
    /// What owns the policy.
    pub owner_kind: OwnerKind,
    /// The owner's name.
    pub owner: String,
    /// The owner's ARN.
    #[serde(default)]
    pub owner_arn: String,
    /// The policy name.
    pub name: String,
    /// The policy document, parsed.
    #[serde(default)]
    pub document: Value,
    /// Derived: the owner's tags (groups have none).
    #[serde(default)]
    pub owner_tags: Tags,
    /// Derived: whether the document grants admin access (Action `*` on Resource `*`),
    /// counting unconditioned statements only.
    #[serde(default)]
    pub admin_access: bool,
    /// Derived: why the document is not a policy document (not JSON, or not a valid shape),
    /// when it is not; the `inline-policy-document-invalid` rule reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_error: Option<String>,
}

/// A record type's schema properties: every field, and those a record may lack.
#[derive(Debug, Default)]
struct SchemaFields {
    names: Vec<String>,
    optional: Vec<String>,
}

/// The kinds of resource a rule can select, one per inventory collection.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    /// `$.account`: the account itself (one record).
    Account,
    /// `$.users`.
    User,
    /// `$.access_keys`.
    AccessKey,
    /// `$.mfa_devices`.
    MfaDevice,
    /// `$.login_profiles`.
    LoginProfile,
    /// `$.groups`.
    Group,
    /// `$.roles`.
    Role,
    /// `$.managed_policies`.
    ManagedPolicy,
    /// `$.inline_policies`.
    InlinePolicy,
}

impl ResourceKind {
    /// The field names a record of this kind has, in declaration order: what rule paths,
    /// filters and templates may name. Derived once from the record types (their JSON Schema,
    /// the same that `schemas/inventory.schema.json` publishes), so a new field is known here
    /// the moment it is added to the type.
    pub fn fields(self) -> &'static [String] {
        self.schema_fields().map_or(&[], |f| f.names.as_slice())
    }

    /// The fields of [`Self::fields`] a record may lack (an `Option` in the record type, `null`
    /// in its schema): a template that reads one renders only where it is set.
    pub fn optional_fields(self) -> Vec<&'static str> {
        self.schema_fields()
            .map(|f| f.optional.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// The record type's schema properties, read once per kind for [`Self::fields`] and
    /// [`Self::optional_fields`].
    fn schema_fields(self) -> Option<&'static SchemaFields> {
        fn of<T: JsonSchema>() -> SchemaFields {
            let schema = schemars::schema_for!(T);
            let Some(props) = schema.get("properties").and_then(Value::as_object) else {
                return SchemaFields::default();
            };
            let nullable = |s: &Value| {
                let null = |t: &Value| t.as_str() == Some("null");
                s.get("type")
                    .is_some_and(|t| null(t) || t.as_array().is_some_and(|a| a.iter().any(null)))
                    || ["anyOf", "oneOf"].iter().any(|k| {
                        s.get(*k).and_then(Value::as_array).is_some_and(|alts| {
                            alts.iter().any(|a| a.get("type").is_some_and(null))
                        })
                    })
            };
            SchemaFields {
                names: props.keys().cloned().collect(),
                optional: props
                    .iter()
                    .filter(|(_, s)| nullable(s))
                    .map(|(k, _)| k.clone())
                    .collect(),
            }
        }
        static FIELDS: std::sync::OnceLock<[SchemaFields; 9]> = std::sync::OnceLock::new();
        let all = FIELDS.get_or_init(|| {
            ResourceKind::ALL.map(|k| match k {
                ResourceKind::Account => of::<Account>(),
                ResourceKind::User => of::<User>(),
                ResourceKind::AccessKey => of::<AccessKey>(),
                ResourceKind::MfaDevice => of::<MfaDevice>(),
                ResourceKind::LoginProfile => of::<LoginProfile>(),
                ResourceKind::Group => of::<Group>(),
                ResourceKind::Role => of::<Role>(),
                ResourceKind::ManagedPolicy => of::<ManagedPolicy>(),
                ResourceKind::InlinePolicy => of::<InlinePolicy>(),
            })
        });
        ResourceKind::ALL
            .iter()
            .position(|&k| k == self)
            .and_then(|i| all.get(i))
    }

    /// Every kind, in the order collections appear in the inventory.
    pub const ALL: [ResourceKind; 9] = [
        ResourceKind::Account,
        ResourceKind::User,
        ResourceKind::AccessKey,
        ResourceKind::MfaDevice,
        ResourceKind::LoginProfile,
        ResourceKind::Group,
        ResourceKind::Role,
        ResourceKind::ManagedPolicy,
        ResourceKind::InlinePolicy,
    ];

    /// The inventory collection that holds this kind (`users`, `access_keys`, ...).
    pub fn collection(self) -> &'static str {
        match self {
            ResourceKind::Account => "account",
            ResourceKind::User => "users",
            ResourceKind::AccessKey => "access_keys",
            ResourceKind::MfaDevice => "mfa_devices",
            ResourceKind::LoginProfile => "login_profiles",
            ResourceKind::Group => "groups",
            ResourceKind::Role => "roles",
            ResourceKind::ManagedPolicy => "managed_policies",
            ResourceKind::InlinePolicy => "inline_policies",
        }
    }

    /// The kind whose collection is named `name`.
    pub fn from_collection(name: &str) -> Option<ResourceKind> {
        ResourceKind::ALL
            .into_iter()
            .find(|k| k.collection() == name)
    }

    /// The singular name used in plans and messages (`access_key`).
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Account => "account",
            ResourceKind::User => "user",
            ResourceKind::AccessKey => "access_key",
            ResourceKind::MfaDevice => "mfa_device",
            ResourceKind::LoginProfile => "login_profile",
            ResourceKind::Group => "group",
            ResourceKind::Role => "role",
            ResourceKind::ManagedPolicy => "managed_policy",
            ResourceKind::InlinePolicy => "inline_policy",
        }
    }
}

impl std::fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a plan names a resource: kind, id, and where AWS has them, ARN and name.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct ResourceRef {
    /// The resource kind.
    pub kind: ResourceKind,
    /// The record's `id` in the inventory.
    pub id: String,
    /// The ARN, where AWS has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// A human name (user name, policy name, key id, ...).
    pub name: String,
}

impl Inventory {
    /// Gives back the spare capacity of every collection (a parser grows them by doubling: at
    /// 100,000 users a quarter of the users' vector is unused).
    pub fn shrink_to_fit(&mut self) {
        self.users.shrink_to_fit();
        self.access_keys.shrink_to_fit();
        self.mfa_devices.shrink_to_fit();
        self.login_profiles.shrink_to_fit();
        self.groups.shrink_to_fit();
        self.roles.shrink_to_fit();
        self.managed_policies.shrink_to_fit();
        self.inline_policies.shrink_to_fit();
    }

    /// `sha256:<hex>` of the normalized inventory (without `generated_at`, so two reads of an
    /// unchanged account have the same fingerprint).
    pub fn fingerprint(&self) -> String {
        crate::digest::sha256_of_json(&FingerprintView {
            account: &self.account,
            users: &self.users,
            access_keys: &self.access_keys,
            mfa_devices: &self.mfa_devices,
            login_profiles: &self.login_profiles,
            groups: &self.groups,
            roles: &self.roles,
            managed_policies: &self.managed_policies,
            inline_policies: &self.inline_policies,
        })
    }

    /// Number of records of `kind`.
    pub fn len_of(&self, kind: ResourceKind) -> usize {
        match kind {
            ResourceKind::Account => 1,
            ResourceKind::User => self.users.len(),
            ResourceKind::AccessKey => self.access_keys.len(),
            ResourceKind::MfaDevice => self.mfa_devices.len(),
            ResourceKind::LoginProfile => self.login_profiles.len(),
            ResourceKind::Group => self.groups.len(),
            ResourceKind::Role => self.roles.len(),
            ResourceKind::ManagedPolicy => self.managed_policies.len(),
            ResourceKind::InlinePolicy => self.inline_policies.len(),
        }
    }

    /// The record `index` of `kind` as a JSON value (what selectors and conditions see).
    pub fn record_value(&self, kind: ResourceKind, index: usize) -> Option<Value> {
        fn to<T: Serialize>(v: Option<&T>) -> Option<Value> {
            v.and_then(|r| serde_json::to_value(r).ok())
        }
        match kind {
            ResourceKind::Account => to(Some(&self.account)),
            ResourceKind::User => to(self.users.get(index)),
            ResourceKind::AccessKey => to(self.access_keys.get(index)),
            ResourceKind::MfaDevice => to(self.mfa_devices.get(index)),
            ResourceKind::LoginProfile => to(self.login_profiles.get(index)),
            ResourceKind::Group => to(self.groups.get(index)),
            ResourceKind::Role => to(self.roles.get(index)),
            ResourceKind::ManagedPolicy => to(self.managed_policies.get(index)),
            ResourceKind::InlinePolicy => to(self.inline_policies.get(index)),
        }
    }

    /// How a plan names record `index` of `kind`.
    pub fn resource_ref(&self, kind: ResourceKind, index: usize) -> Option<ResourceRef> {
        let r = |id: &str, arn: Option<&str>, name: &str| ResourceRef {
            kind,
            id: id.to_string(),
            arn: arn.filter(|a| !a.is_empty()).map(str::to_string),
            name: name.to_string(),
        };
        Some(match kind {
            ResourceKind::Account => {
                let a = &self.account;
                r(&a.id, Some(&a.arn), a.alias.as_deref().unwrap_or(&a.id))
            }
            ResourceKind::User => {
                let u = self.users.get(index)?;
                r(&u.id, Some(&u.arn), &u.name)
            }
            ResourceKind::AccessKey => {
                let k = self.access_keys.get(index)?;
                r(&k.id, None, &k.id)
            }
            ResourceKind::MfaDevice => {
                let m = self.mfa_devices.get(index)?;
                let arn = m.id.starts_with("arn:").then_some(m.id.as_str());
                r(&m.id, arn, &m.id)
            }
            ResourceKind::LoginProfile => {
                let l = self.login_profiles.get(index)?;
                r(&l.id, None, &l.user)
            }
            ResourceKind::Group => {
                let g = self.groups.get(index)?;
                r(&g.id, Some(&g.arn), &g.name)
            }
            ResourceKind::Role => {
                let x = self.roles.get(index)?;
                r(&x.id, Some(&x.arn), &x.name)
            }
            ResourceKind::ManagedPolicy => {
                let p = self.managed_policies.get(index)?;
                r(&p.id, Some(&p.arn), &p.name)
            }
            ResourceKind::InlinePolicy => {
                let p = self.inline_policies.get(index)?;
                r(&p.id, None, &p.name)
            }
        })
    }
}
