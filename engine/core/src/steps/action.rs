//! The plan's action (one call-level change on one resource, as the plan file holds it) and
//! what apply makes of it: the re-read's verdict ([`Check`]) and the calls that reverse it
//! ([`UndoOp`], recorded in the journal). They live with the step registry because every
//! step's apply-time half reads and returns them; `plan` and `apply` re-export them.

use super::{Body, ChangeKind, JsonParts, Part, Safety, StepName};
use crate::inventory::{OwnerKind, PasswordPolicy, ResourceRef};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// One call-level change, planned for one resource. Its step and typed parts are one
/// [`Body`]; in the plan file they are the fields `action`, `params`, `precondition`, `before`
/// and `after` (the shape of the schema's `Action`, written and read by hand so that each part is its step's
/// type and one that does not fit is refused naming the action, the step and the part).
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    /// Stable id: the same inputs always give the same id.
    pub id: String,
    /// The rules that asked for this action.
    pub rules: Vec<String>,
    /// The resource acted on.
    pub resource: ResourceRef,
    /// The step and its typed parts.
    pub body: Body,
    /// Reversible or destructive.
    pub safety: Safety,
    /// How the diff shows it.
    pub change: ChangeKind,
    /// Actions that must run first (the prerequisites of a cascade).
    pub depends_on: Vec<String>,
    /// For a cascade's prerequisite step: the id of the action it belongs to.
    pub part_of: Option<String>,
    /// Steps other rules asked for on this resource that this action makes moot.
    pub supersedes: Vec<Superseded>,
    /// Event mode: the CloudTrail `eventID`s of the events that led to this action.
    pub triggered_by: Vec<String>,
    /// Set when the action stops a credential that was used within the in-use window and a
    /// rule asking for it says `allow_in_use: true`: the last use, e.g. `access key AKIA...
    /// last used 2026-11-30, 1 day ago`. The diff shows it; apply does not re-check the window.
    pub allowed_in_use: Option<String>,
}

impl Action {
    /// An action of `body`'s step on `resource`, with the step's safety and change kind and
    /// nothing else set.
    pub fn new(
        id: impl Into<String>,
        rules: Vec<String>,
        resource: ResourceRef,
        body: Body,
    ) -> Action {
        let info = body.step().info();
        Action {
            id: id.into(),
            rules,
            resource,
            safety: info.safety,
            change: info.change,
            body,
            depends_on: Vec::new(),
            part_of: None,
            supersedes: Vec::new(),
            triggered_by: Vec::new(),
            allowed_in_use: None,
        }
    }

    /// The remediation step.
    pub fn step(&self) -> StepName {
        self.body.step()
    }

    /// `params` as the plan file writes it.
    pub fn params_json(&self) -> Value {
        self.body.params_json()
    }

    /// `precondition` as the plan file writes it.
    pub fn precondition_json(&self) -> Value {
        self.body.precondition_json()
    }

    /// `before` as the plan file writes it.
    pub fn before_json(&self) -> Value {
        self.body.before_json()
    }

    /// `after` as the plan file writes it.
    pub fn after_json(&self) -> Value {
        self.body.after_json()
    }

    /// The names every step's params may carry (the entity the action acts on, its owner),
    /// read as one view over the step's params type.
    pub fn names(&self) -> Names {
        serde_json::from_value(self.params_json()).unwrap_or_default()
    }
}

/// The names the shared checks and reports look entities up by, as a view over every step's
/// params (keys, login profiles and MFA devices name their `user`; detaches `user_name`,
/// `group_name` or `role_name`; policy steps `policy_arn`; inline policies their owner).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Names {
    /// A user (`user`).
    #[serde(default)]
    pub user: Option<String>,
    /// A detach's user (`user_name`).
    #[serde(default)]
    pub user_name: Option<String>,
    /// A detach's group (`group_name`).
    #[serde(default)]
    pub group_name: Option<String>,
    /// A detach's or quarantine's role (`role_name`).
    #[serde(default)]
    pub role_name: Option<String>,
    /// A policy (`policy_arn`).
    #[serde(default)]
    pub policy_arn: Option<String>,
    /// An inline policy's owner kind.
    #[serde(default)]
    pub owner_kind: Option<OwnerKind>,
    /// An inline policy's owner.
    #[serde(default)]
    pub owner: Option<String>,
}

// The plan file's form of an `Action`: its JSON Schema, and what reading a plan parses before
// the step's types read the four parts. (Its doc comment is the schema's description.)
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Action")]
/// One call-level change, planned for one resource.
struct ActionJson {
    /// Stable id: the same inputs always give the same id.
    id: String,
    /// The rules that asked for this action.
    rules: Vec<String>,
    /// The remediation step.
    action: StepName,
    /// The resource acted on.
    resource: ResourceRef,
    /// The step's parameters, rendered for this resource.
    params: Value,
    /// Reversible or destructive.
    safety: Safety,
    /// How the diff shows it.
    change: ChangeKind,
    /// The observed values this action depends on; apply re-reads them and skips the action
    /// as stale when they differ.
    precondition: Value,
    /// The relevant state before.
    before: Value,
    /// The relevant state after (`null`: deleted).
    after: Value,
    /// Actions that must run first (the prerequisites of a cascade).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    depends_on: Vec<String>,
    /// For a cascade's prerequisite step: the id of the action it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    part_of: Option<String>,
    /// Steps other rules asked for on this resource that this action makes moot.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    supersedes: Vec<Superseded>,
    /// Event mode: the CloudTrail `eventID`s of the events that led to this action.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    triggered_by: Vec<String>,
    /// Set when the action stops a credential that was used within the in-use window and a
    /// rule asking for it says `allow_in_use: true`: the last use, e.g. `access key AKIA...
    /// last used 2026-11-30, 1 day ago`. The diff shows it; apply does not re-check the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    allowed_in_use: Option<String>,
}

impl Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let optional = usize::from(!self.depends_on.is_empty())
            + usize::from(self.part_of.is_some())
            + usize::from(!self.supersedes.is_empty())
            + usize::from(!self.triggered_by.is_empty())
            + usize::from(self.allowed_in_use.is_some());
        let mut st = s.serialize_struct("Action", 10 + optional)?;
        st.serialize_field("id", &self.id)?;
        st.serialize_field("rules", &self.rules)?;
        st.serialize_field("action", &self.step())?;
        st.serialize_field("resource", &self.resource)?;
        self.body.serialize_part(&mut st, Part::Params)?;
        st.serialize_field("safety", &self.safety)?;
        st.serialize_field("change", &self.change)?;
        self.body.serialize_part(&mut st, Part::Precondition)?;
        self.body.serialize_part(&mut st, Part::Before)?;
        self.body.serialize_part(&mut st, Part::After)?;
        if !self.depends_on.is_empty() {
            st.serialize_field("depends_on", &self.depends_on)?;
        }
        if let Some(p) = &self.part_of {
            st.serialize_field("part_of", p)?;
        }
        if !self.supersedes.is_empty() {
            st.serialize_field("supersedes", &self.supersedes)?;
        }
        if !self.triggered_by.is_empty() {
            st.serialize_field("triggered_by", &self.triggered_by)?;
        }
        if let Some(a) = &self.allowed_in_use {
            st.serialize_field("allowed_in_use", a)?;
        }
        st.end()
    }
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Action, D::Error> {
        let j = ActionJson::deserialize(d)?;
        let parts = JsonParts {
            params: j.params,
            precondition: j.precondition,
            before: j.before,
            after: j.after,
        };
        let body = Body::from_json(j.action, parts)
            .map_err(|e| serde::de::Error::custom(format!("action {}: {e}", j.id)))?;
        Ok(Action {
            id: j.id,
            rules: j.rules,
            resource: j.resource,
            body,
            safety: j.safety,
            change: j.change,
            depends_on: j.depends_on,
            part_of: j.part_of,
            supersedes: j.supersedes,
            triggered_by: j.triggered_by,
            allowed_in_use: j.allowed_in_use,
        })
    }
}

impl JsonSchema for Action {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Action".into()
    }

    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        ActionJson::json_schema(g)
    }
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
        /// The settings.
        settings: PasswordPolicy,
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
