//! The plan's action (one call-level change on one resource, as the plan file holds it) and
//! what apply makes of it: the re-read's verdict ([`Check`]) and the calls that reverse it
//! ([`UndoOp`], recorded in the journal). They live with the step registry because every
//! step's apply-time half reads and returns them; `plan` and `apply` re-export them.

use super::{ChangeKind, Safety, StepName};
use crate::inventory::ResourceRef;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// One call-level change, planned for one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// Stable id: the same inputs always give the same id.
    pub id: String,
    /// The rules that asked for this action.
    pub rules: Vec<String>,
    /// The remediation step.
    pub action: StepName,
    /// The resource acted on.
    pub resource: ResourceRef,
    /// The step's parameters, rendered for this resource.
    pub params: Value,
    /// Reversible or destructive.
    pub safety: Safety,
    /// How the diff shows it.
    pub change: ChangeKind,
    /// The observed values this action depends on; apply re-reads them and skips the action
    /// as stale when they differ.
    pub precondition: Value,
    /// The relevant state before.
    pub before: Value,
    /// The relevant state after (`null`: deleted).
    pub after: Value,
    /// Actions that must run first (the prerequisites of a cascade).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// For a cascade's prerequisite step: the id of the action it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_of: Option<String>,
    /// Steps other rules asked for on this resource that this action makes moot.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supersedes: Vec<Superseded>,
    /// Event mode: the CloudTrail `eventID`s of the events that led to this action.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggered_by: Vec<String>,
    /// Set when the action stops a credential that was used within the in-use window and a
    /// rule asking for it says `allow_in_use: true`: the last use, e.g. `access key AKIA...
    /// last used 2026-11-30, 1 day ago`. The diff shows it; apply does not re-check the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_in_use: Option<String>,
}

/// A planned step that a stronger action replaced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Superseded {
    /// The step that is not planned.
    pub action: StepName,
    /// The rules that asked for it.
    pub rules: Vec<String>,
}

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

/// A call that reverses (part of) an applied action. Recorded in the journal when the action
/// is applied; `undo` makes these calls in reverse order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum UndoOp {
    /// `UpdateAccessKey` back to a status.
    UpdateAccessKey {
        /// The key's user.
        user: String,
        /// The key.
        access_key_id: String,
        /// `Active` or `Inactive`.
        status: String,
    },
    /// `UpdateLoginProfile` with `PasswordResetRequired` (never a password).
    UpdateLoginProfile {
        /// The user.
        user: String,
        /// The flag to restore.
        password_reset_required: bool,
    },
    /// Attach a managed policy to a user, group or role.
    AttachPolicy {
        /// `user`, `group` or `role`.
        entity: String,
        /// Its name.
        name: String,
        /// The policy.
        policy_arn: String,
    },
    /// Put an inline policy back with its old document.
    PutInlinePolicy {
        /// `user`, `group` or `role`.
        entity: String,
        /// Its name.
        name: String,
        /// The policy's name.
        policy_name: String,
        /// The document.
        document: Value,
    },
    /// Delete an inline policy iamwarden added (the quarantine policy).
    DeleteInlinePolicy {
        /// `user`, `group` or `role`.
        entity: String,
        /// Its name.
        name: String,
        /// The policy's name.
        policy_name: String,
    },
    /// `AddUserToGroup`.
    AddUserToGroup {
        /// The user.
        user: String,
        /// The group.
        group: String,
    },
    /// `SetDefaultPolicyVersion`.
    SetDefaultPolicyVersion {
        /// The policy.
        policy_arn: String,
        /// The version to make the default.
        version_id: String,
    },
    /// `DeletePolicyVersion` (of a version apply created).
    DeletePolicyVersion {
        /// The policy.
        policy_arn: String,
        /// The version.
        version_id: String,
    },
    /// `CreatePolicyVersion` (not default): re-creates a version apply deleted to make room.
    CreatePolicyVersion {
        /// The policy.
        policy_arn: String,
        /// The old version's document.
        document: Value,
    },
    /// `UpdateAccountPasswordPolicy` with every setting.
    UpdatePasswordPolicy {
        /// The settings (the inventory's password-policy shape).
        settings: Value,
    },
    /// `DeleteAccountPasswordPolicy` (there was none before).
    DeletePasswordPolicy,
    /// Set tags again.
    Tag {
        /// `user`, `role` or `managed_policy`.
        kind: String,
        /// The user or role name, or the policy ARN.
        name: String,
        /// The tags.
        tags: BTreeMap<String, String>,
    },
    /// `DeleteAccessKey` of a key apply created (the rotation's new key).
    DeleteAccessKey {
        /// The key's user.
        user: String,
        /// The key.
        access_key_id: String,
    },
    /// Secrets Manager `DeleteSecret` (no recovery window) of a secret apply created.
    DeleteSecret {
        /// The secret's ARN.
        secret_id: String,
    },
    /// Secrets Manager `UpdateSecretVersionStage`: `AWSCURRENT` back to the version that was
    /// current before apply put a new one.
    RestoreSecretVersion {
        /// The secret's ARN.
        secret_id: String,
        /// The version that was current before.
        move_to: String,
        /// The version apply wrote.
        remove_from: String,
    },
    /// Remove tags apply added.
    Untag {
        /// `user`, `role` or `managed_policy`.
        kind: String,
        /// The user or role name, or the policy ARN.
        name: String,
        /// The keys.
        keys: Vec<String>,
    },
}
