//! The remediation step registry: one line per step (in `registry!`) from which [`StepName`],
//! [`ALL_STEPS`] and every dispatch are derived, and one file per step family holding all the
//! plan side knows about its steps: targets, typed parameters (checked when packs load), safety,
//! change kind, apply rank, which credential it disables, and the plan expansion producing typed
//! parameters, precondition and before/after states.
//!
//! Each family's file also holds the apply side of its steps, in its `live` module: the check
//! that re-reads the target, the calls, the reverse for undo and undo's re-reads, generic over
//! [`crate::iam::Exec`]. The registry macro generates their dispatch over [`StepName`]; the
//! shared apply-time checks and entry points are in [`live`]; [`Action`], [`Check`] and
//! [`UndoOp`] in [`action`].
//!
//! Layer 4: below `spec`, `compile`, `eval`, `plan`, `render` and `apply`: step code imports
//! only `diag`, `digest`, `inventory`, `policy` and `iam` (and this module). `plan::build` drives
//! the expansion and keeps ordering, deduplication, supersedes and the in-use guard; `apply`
//! keeps the run loop, the dispatcher, the journal, undo and the guards.
//!
//! An action carries its step and its typed `params`, `precondition`, `before` and `after` as
//! one [`Body`] (a variant per step, generated from the registry line, which names the step's
//! [`Parts`] alias): the expansion builds it, apply's check, calls and reverse match on it, and
//! the plan file holds its parts as JSON under their old names ([`Action`]'s hand-written serde;
//! a part that does not fit its step's type is refused when the plan is read).

/// The typed parts of an action of one of the named steps, which share one [`Parts`] type
/// (`parts_of!(a, DetachUserPolicy | DetachGroupPolicy)`): a `Result` whose error, another
/// step's body, names a bug (the registry dispatches on the body's variant).
macro_rules! parts_of {
    ($a:expr, $($v:ident)|+) => {
        match &$a.body {
            $( $crate::steps::Body::$v(p) )|+ => Ok(&**p),
            #[allow(unreachable_patterns)]
            _ => Err($crate::steps::live::wrong_body($a)),
        }
    };
}

pub mod access_keys;
pub mod action;
pub mod delete_user;
pub mod detach;
pub mod enforce_mfa;
pub mod groups;
pub mod inline_policy;
pub mod live;
pub mod login_profile;
pub mod managed_policy;
pub mod mfa;
pub mod password_policy;
pub mod policy_versions;
pub mod quarantine;
pub mod rightsize;
pub mod rotate;
pub mod tags;

pub use action::{Action, Check, Names, Superseded, UndoOp};

use crate::inventory::{Inventory, ManagedPolicy, OwnerKind, ResourceKind, ResourceRef};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::collections::HashMap;

/// Declares the steps: `Variant = "name" => family::INFO: PartsType`, each with its doc
/// comment (which is also the step's description in the rule-pack schema). `PartsType` is the
/// family's [`Parts`] alias for the step: the typed `params`, `precondition`, `before` and
/// `after` its actions carry ([`Body`]).
macro_rules! registry {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal => $fam:ident :: $info:ident : $parts:ident, )*) => {
        /// The remediation steps iamwarden can plan. The names are part of the plan-file contract.
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
            JsonSchema,
        )]
        pub enum StepName {
            $( $(#[$doc])* #[serde(rename = $name)] $variant, )*
        }

        /// Every step name, in catalog order.
        pub const ALL_STEPS: &[StepName] = &[ $( StepName::$variant, )* ];

        impl StepName {
            /// The snake_case name used in packs and plans.
            pub fn as_str(self) -> &'static str {
                match self { $( StepName::$variant => $name, )* }
            }

            /// The step's registry entry.
            pub fn info(self) -> &'static StepInfo {
                match self { $( StepName::$variant => &$fam::$info, )* }
            }
        }

        /// An action's step with its four typed parts: one variant per step, holding the
        /// [`Parts`] its family declares. Plan and apply read the same structs; the plan file
        /// holds them as the action's `action`, `params`, `precondition`, `before` and `after`.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Body {
            $( $(#[$doc])* $variant(Box<$fam::$parts>), )*
        }

        impl Body {
            /// The step.
            pub fn step(&self) -> StepName {
                match self { $( Body::$variant(_) => StepName::$variant, )* }
            }

            /// Reads `step`'s parts from JSON (a plan file's action): a part that does not fit
            /// the step's type is an error naming the part.
            pub fn from_json(step: StepName, parts: JsonParts) -> Result<Body, PartError> {
                Ok(match step {
                    $( StepName::$variant => Body::$variant(Box::new(Parts::from_json(step, parts)?)), )*
                })
            }

            /// One part, serialized.
            pub fn part_json(&self, part: Part) -> Value {
                match self { $( Body::$variant(p) => p.part_json(part), )* }
            }

            /// `params` as the plan file writes it.
            pub fn params_json(&self) -> Value {
                self.part_json(Part::Params)
            }

            /// `precondition` as the plan file writes it.
            pub fn precondition_json(&self) -> Value {
                self.part_json(Part::Precondition)
            }

            /// `before` as the plan file writes it.
            pub fn before_json(&self) -> Value {
                self.part_json(Part::Before)
            }

            /// `after` as the plan file writes it.
            pub fn after_json(&self) -> Value {
                self.part_json(Part::After)
            }

            /// Whether `other` is the same step with the same params (deduplication).
            pub fn same_params(&self, other: &Body) -> bool {
                match (self, other) {
                    $( (Body::$variant(a), Body::$variant(b)) => a.params == b.params, )*
                    _ => false,
                }
            }

            /// Writes one part as a field of the action's JSON object.
            fn serialize_part<S: serde::ser::SerializeStruct>(
                &self,
                st: &mut S,
                part: Part,
            ) -> Result<(), S::Error> {
                match self { $( Body::$variant(p) => p.serialize_part(st, part), )* }
            }
        }

        /// The step's apply-time check (its family's `live::check`).
        async fn live_check<X: crate::iam::Exec>(
            x: &X,
            a: &Action,
        ) -> Result<Check, crate::iam::StepError> {
            match &a.body { $( Body::$variant(_) => $fam::live::check(x, a).await, )* }
        }

        /// The step's calls (its family's `live::execute`).
        async fn live_execute<X: crate::iam::Exec>(
            x: &X,
            a: &Action,
            before: &Value,
        ) -> Result<Value, crate::iam::StepError> {
            match &a.body { $( Body::$variant(_) => $fam::live::execute(x, a, before).await, )* }
        }

        /// The step's reverse (its family's `live::reverse`).
        fn live_reverse(a: &Action, before: &Value, after: &Value) -> (Vec<UndoOp>, Option<String>) {
            match &a.body { $( Body::$variant(_) => $fam::live::reverse(a, before, after), )* }
        }
    };
}

registry! {
    /// Set an access key `Inactive` (reversible).
    DeactivateAccessKey = "deactivate_access_key" => access_keys::DEACTIVATE: DeactivateParts,
    /// Delete an access key (destructive: the secret is gone).
    DeleteAccessKey = "delete_access_key" => access_keys::DELETE: DeleteParts,
    /// Require a new console password at next sign-in, keeping the login profile (reversible).
    RequirePasswordReset = "require_password_reset" => login_profile::REQUIRE_RESET: ResetParts,
    /// Delete the console password (destructive: the password cannot be restored).
    DeleteLoginProfile = "delete_login_profile" => login_profile::DELETE: DeleteParts,
    /// Deactivate an MFA device; `delete_virtual: true` also deletes a virtual one (destructive).
    DeactivateMfaDevice = "deactivate_mfa_device" => mfa::DEACTIVATE: MfaParts,
    /// Detach managed policies from a user (param `policy_arns`, default all) (reversible).
    DetachUserPolicy = "detach_user_policy" => detach::USER: DetachParts,
    /// Detach managed policies from a group (param `policy_arns`, default all) (reversible).
    DetachGroupPolicy = "detach_group_policy" => detach::GROUP: DetachParts,
    /// Detach managed policies from a role (param `policy_arns`, default all) (reversible).
    DetachRolePolicy = "detach_role_policy" => detach::ROLE: DetachParts,
    /// Delete an inline policy; its document is kept in the plan and journal (reversible).
    DeleteInlinePolicy = "delete_inline_policy" => inline_policy::DELETE: InlineParts,
    /// Remove a user from groups (param `groups`, default all) (reversible).
    RemoveUserFromGroup = "remove_user_from_group" => groups::REMOVE: MembershipParts,
    /// Attach an inline deny-all policy to a user (param `policy_name`) (reversible).
    QuarantineUser = "quarantine_user" => quarantine::QUARANTINE: QuarantineParts,
    /// Attach an inline deny-all policy to a role (param `policy_name`); service-linked roles
    /// are never touched (reversible).
    QuarantineRole = "quarantine_role" => quarantine::QUARANTINE_ROLE: QuarantineRoleParts,
    /// Attach AWS's self-service MFA policy to a user: everything but enrolling an MFA device and
    /// changing the password is denied until the user signs in with MFA (param `policy_name`) (reversible).
    EnforceMfa = "enforce_mfa" => enforce_mfa::ENFORCE: EnforceMfaParts,
    /// Delete a user with everything AWS requires removed first (destructive).
    DeleteUser = "delete_user" => delete_user::DELETE: DeleteUserParts,
    /// Make a new default policy version from param `document` (reversible).
    ReplacePolicyDocument = "replace_policy_document" => policy_versions::REPLACE: ReplaceParts,
    /// Make another existing version the default (param `version_id`, default `previous`) (reversible).
    SetDefaultPolicyVersion = "set_default_policy_version" => policy_versions::SET_DEFAULT: SetDefaultParts,
    /// Detach a managed policy from every user, group and role (reversible).
    DetachPolicyEverywhere = "detach_policy_everywhere" => managed_policy::DETACH_EVERYWHERE: DetachEverywhereParts,
    /// Delete a customer-managed policy and its versions (destructive).
    DeletePolicy = "delete_policy" => managed_policy::DELETE: DeletePolicyParts,
    /// Tighten the account password policy (param `settings`), merged over the current one (reversible).
    UpdatePasswordPolicy = "update_password_policy" => password_policy::UPDATE: PasswordParts,
    /// Add or overwrite tags (param `tags`) (reversible).
    Tag = "tag" => tags::TAG: TagParts,
    /// Remove tags (param `keys`) (reversible).
    Untag = "untag" => tags::UNTAG: UntagParts,
    /// Narrow a user's or role's customer-managed and inline policies to what its service last-accessed data shows used within `unused_for` (reversible).
    RightsizePolicy = "rightsize_policy" => rightsize::RIGHTSIZE: RightsizeParts,
    /// Rotate an access key through Secrets Manager (param `secret_name`): a new key written
    /// only to the secret, then on a later run the old key deactivated once the new one was
    /// used or `grace` passed (reversible).
    RotateAccessKey = "rotate_access_key" => rotate::ROTATE: RotateParts,
}

impl StepName {
    /// Which credentials the step stops working, if any: the one list the in-use guard, its
    /// docs and its table test are derived from (each family declares its steps').
    ///
    /// Not disabling, on purpose: `require_password_reset` (the password still signs in once,
    /// to set a new one), `deactivate_mfa_device` (sign-in keeps working), and steps that
    /// remove permissions rather than credentials (detach, remove from group).
    pub fn disables_credential(self) -> Option<Disables> {
        self.info().disables_credential
    }
}

impl std::fmt::Display for StepName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How risky an action is; apply runs destructive actions only when explicitly allowed.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Safety {
    /// Can be undone from the journal.
    Reversible,
    /// Cannot be fully undone (deleted keys, users, passwords, policies).
    Destructive,
}

/// How the diff shows an action.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// `~`: the resource is modified.
    Change,
    /// `-`: the resource (or a part of it) is deleted.
    Delete,
    /// `+`: something is added to the resource.
    Add,
}

/// The credentials a step stops working (the in-use guard's view of a step).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disables {
    /// The access key acted on.
    AccessKey,
    /// The user's console password (keys keep working).
    Password,
    /// Everything the user signs in or signs requests with: every active key and the password.
    User,
    /// The access key acted on, once a rotation hand-off to a new key is recorded (phase two of
    /// `rotate_access_key`); phase one, which only adds a key, stops nothing.
    RotatedKey,
}

/// The type of a step parameter as a pack writes it (before templates are rendered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// `true` / `false`.
    Bool,
    /// A string (may be a template).
    String,
    /// A list of strings (globs where documented), or `{from: path}`.
    StringList,
    /// A map of strings to strings, or `{from: path}`.
    StringMap,
    /// Any JSON object (a policy document, password-policy settings).
    Object,
}

impl ParamKind {
    /// How the step reference names the type.
    pub fn short(self) -> &'static str {
        match self {
            ParamKind::Bool => "bool",
            ParamKind::String => "string",
            ParamKind::StringList => "list of strings",
            ParamKind::StringMap => "map of strings",
            ParamKind::Object => "object",
        }
    }

    /// How the type is named in messages.
    pub fn describe(self) -> &'static str {
        match self {
            ParamKind::Bool => "a boolean",
            ParamKind::String => "a string",
            ParamKind::StringList => "a list of strings",
            ParamKind::StringMap => "a map of strings",
            ParamKind::Object => "an object",
        }
    }

    /// Checks a parameter's value as written in a pack (`{from: ...}` allowed for lists and maps).
    pub fn check(self, v: &Value) -> Result<(), String> {
        let is_from = v.as_object().is_some_and(|o| o.contains_key("from"));
        let ok = match self {
            ParamKind::Bool => v.is_boolean(),
            ParamKind::String => v.is_string(),
            ParamKind::StringList => {
                is_from || v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
            }
            ParamKind::StringMap => {
                is_from
                    || v.as_object()
                        .is_some_and(|o| o.values().all(Value::is_string))
            }
            ParamKind::Object => v.is_object(),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("must be {}", self.describe()))
        }
    }
}

/// One parameter of a step. Each family's table is kept equal to its typed params struct's
/// schema by a test (`tests::param_tables_match_the_typed_params`).
#[derive(Debug, Clone, Copy)]
pub struct ParamInfo {
    /// The name.
    pub name: &'static str,
    /// The type.
    pub kind: ParamKind,
    /// Whether the step needs it.
    pub required: bool,
    /// What the step reference says after the type: what the value means and its default
    /// (e.g. "ARN globs, default all"; empty: nothing more to say).
    pub doc: &'static str,
}

/// Shorthand for a [`ParamInfo`].
pub const fn param(
    name: &'static str,
    kind: ParamKind,
    required: bool,
    doc: &'static str,
) -> ParamInfo {
    ParamInfo {
        name,
        kind,
        required,
        doc,
    }
}

/// A problem with one step parameter's value found when the pack loads, beyond its type.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamIssue {
    /// The key inside the parameter's value the issue is about (e.g. a setting name).
    pub key: String,
    /// The message.
    pub message: String,
    /// A did-you-mean suggestion.
    pub hint: Option<String>,
}

/// Expands one step for one target into proposals and skips.
pub type Expand = fn(StepName, &mut Cx<'_>, &Target<'_>, &Value);

/// Everything the plan side knows about a step.
#[derive(Debug, Clone, Copy)]
pub struct StepInfo {
    /// The kinds of selected resource the step can be planned for.
    pub targets: &'static [ResourceKind],
    /// Its parameters as packs write them.
    pub params: &'static [ParamInfo],
    /// The JSON Schema of the step's typed params (the parameter table is checked against it).
    pub params_schema: fn() -> schemars::Schema,
    /// Checks beyond each parameter's type, when the pack loads: (parameter, value) -> issues.
    pub check_param: Option<fn(&str, &Value) -> Vec<ParamIssue>>,
    /// Reversible or destructive.
    pub safety: Safety,
    /// How the diff shows it (an expansion may say otherwise for one action).
    pub change: ChangeKind,
    /// What the diff shows for an action of the step, in words (the step reference's "The
    /// diff shows" column).
    pub diff: &'static str,
    /// Position in apply order among the steps on one subject (AWS's required order for the
    /// `delete_user` cascade: login profile, keys, MFA, groups, policies, then the user).
    pub rank: u16,
    /// Which credentials the step stops working, if any: the in-use guard does not plan such a
    /// step while one of them was used within the rule's window.
    pub disables_credential: Option<Disables>,
    /// The plan expansion.
    pub expand: Expand,
    /// What an action of the step does, in words ("will be deactivated"), from its typed body.
    pub verb: fn(&Body) -> String,
}

/// The begin and end markers of the generated step table in `docs/rule-language.md` (§8.1).
pub const DOC_MARKERS: (&str, &str) = (
    "<!-- steps: generated from engine/src/steps (UPDATE_GOLDEN=1 cargo test --test generated) -->",
    "<!-- end of generated steps -->",
);

/// The step table of `docs/rule-language.md` (markdown, between [`DOC_MARKERS`]), from each
/// step's [`StepInfo`]: its targets, parameters, safety and what its diff shows.
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| Step | Applies to | Params | Safety | The diff shows |\n|---|---|---|---|---|\n",
    );
    for step in ALL_STEPS {
        let info = step.info();
        let targets: Vec<String> = info
            .targets
            .iter()
            .map(|k| format!("`{}`", k.collection()))
            .collect();
        let params: Vec<String> = info
            .params
            .iter()
            .map(|p| {
                let mut about = vec![p.kind.short()];
                if p.required {
                    about.push("required");
                }
                if !p.doc.is_empty() {
                    about.push(p.doc);
                }
                format!("`{}` ({})", p.name, about.join(", "))
            })
            .collect();
        let params = if params.is_empty() {
            "—".to_string()
        } else {
            params.join("; ")
        };
        let safety = match info.safety {
            Safety::Reversible => "reversible",
            Safety::Destructive => "destructive",
        };
        out.push_str(&format!(
            "| `{step}` | {} | {params} | {safety} | {} |\n",
            targets.join(", "),
            info.diff
        ));
    }
    out
}

/// `text` with the part between [`DOC_MARKERS`] replaced by [`markdown_table`]; `None` when
/// the markers are missing.
pub fn splice_doc(text: &str) -> Option<String> {
    let (begin, end) = DOC_MARKERS;
    let start = text.find(begin)? + begin.len();
    let stop = start + text.get(start..)?.find(end)?;
    Some(format!(
        "{}\n{}{}",
        text.get(..start)?,
        markdown_table(),
        text.get(stop..)?
    ))
}

/// The four parts of an action, typed by its step: each family declares one alias per step
/// (`pub type DeactivateParts = Parts<KeyParams, KeyPrecondition, StatusState, StatusState>`),
/// which the registry line names.
#[derive(Debug, Clone, PartialEq)]
pub struct Parts<P, Q, B, A> {
    /// `params`: what the calls need.
    pub params: P,
    /// `precondition`: the observed values apply re-reads.
    pub precondition: Q,
    /// `before`: the relevant state before.
    pub before: B,
    /// `after`: the relevant state after.
    pub after: A,
}

impl<P, Q, B, A> Parts<P, Q, B, A>
where
    P: Serialize + DeserializeOwned,
    Q: Serialize + DeserializeOwned,
    B: Serialize + DeserializeOwned,
    A: Serialize + DeserializeOwned,
{
    /// Reads the parts from JSON, naming the part that does not fit.
    fn from_json(step: StepName, j: JsonParts) -> Result<Self, PartError> {
        fn one<T: DeserializeOwned>(step: StepName, part: Part, v: Value) -> Result<T, PartError> {
            serde_json::from_value(v).map_err(|e| PartError {
                step,
                part,
                message: e.to_string(),
            })
        }
        Ok(Parts {
            params: one(step, Part::Params, j.params)?,
            precondition: one(step, Part::Precondition, j.precondition)?,
            before: one(step, Part::Before, j.before)?,
            after: one(step, Part::After, j.after)?,
        })
    }

    fn part_json(&self, part: Part) -> Value {
        match part {
            Part::Params => to_value(&self.params),
            Part::Precondition => to_value(&self.precondition),
            Part::Before => to_value(&self.before),
            Part::After => to_value(&self.after),
        }
    }

    fn serialize_part<S: serde::ser::SerializeStruct>(
        &self,
        st: &mut S,
        part: Part,
    ) -> Result<(), S::Error> {
        let name = part.name();
        match part {
            Part::Params => st.serialize_field(name, &self.params),
            Part::Precondition => st.serialize_field(name, &self.precondition),
            Part::Before => st.serialize_field(name, &self.before),
            Part::After => st.serialize_field(name, &self.after),
        }
    }
}

/// One of an action's four typed parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// `params`.
    Params,
    /// `precondition`.
    Precondition,
    /// `before`.
    Before,
    /// `after`.
    After,
}

impl Part {
    /// The field's name in the plan file.
    pub fn name(self) -> &'static str {
        match self {
            Part::Params => "params",
            Part::Precondition => "precondition",
            Part::Before => "before",
            Part::After => "after",
        }
    }
}

/// An action's four parts as JSON (a plan file's action before its step's types read it).
#[derive(Debug, Clone, PartialEq)]
pub struct JsonParts {
    /// `params`.
    pub params: Value,
    /// `precondition`.
    pub precondition: Value,
    /// `before`.
    pub before: Value,
    /// `after`.
    pub after: Value,
}

/// A part of an action that does not fit its step's type.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("`{}` does not fit the {step} step's type: {message}", part.name())]
pub struct PartError {
    /// The step.
    pub step: StepName,
    /// The part.
    pub part: Part,
    /// What serde said.
    pub message: String,
}

/// The JSON Schema of `T` (a step's typed params).
pub fn schema_of<T: JsonSchema>() -> schemars::Schema {
    schemars::schema_for!(T)
}

/// The part of an action that is absent (`after` of a deletion): JSON `null`.
pub type Gone = ();

/// An empty state (`{}`): nothing of the kind before, or nothing left after.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// The params of a step that takes none, as written in a pack.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// The ids of the entity an action acts on that its precondition carries (apply compares them,
/// so an entity re-created under the same name is stale). At most one is set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntityIds {
    /// A user's id.
    pub user_id: Option<String>,
    /// A group's id.
    pub group_id: Option<String>,
    /// A role's id.
    pub role_id: Option<String>,
    /// A managed policy's id.
    pub policy_id: Option<String>,
}

/// Reads an `Option` field of an action part that must be present, `null` allowed
/// (`#[serde(deserialize_with = "super::present")]`): a `null` (e.g. a key never used) stays
/// apart from a field an old plan lacks, which is an error naming the field, never "never used".
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    Option::<T>::deserialize(d)
}

/// A timestamp as plans write it: RFC 3339, whole seconds, `Z`.
pub fn ts(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// The globs of a `policy_arns`/`groups` parameter: absent means every one; a `{from: ...}`
/// that found nothing (`null`) means none, never "all".
#[derive(Debug, Clone, Default, PartialEq, JsonSchema)]
#[schemars(with = "Vec<String>")]
pub enum Globs {
    /// Absent: every one.
    #[default]
    All,
    /// These globs (none when a `{from: ...}` found nothing).
    List(Vec<String>),
}

impl<'de> Deserialize<'de> for Globs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Globs, D::Error> {
        Ok(Globs::List(strings(&Value::deserialize(d)?)))
    }
}

impl Globs {
    /// Whether `name` matches one of the globs.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            Globs::All => true,
            Globs::List(g) => g
                .iter()
                .any(|g| crate::policy::wildcard_match(g, name, false)),
        }
    }
}

/// The strings of a rendered list parameter: a string is a list of one, anything else none.
pub fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// Reads a step's rendered parameters into its typed params (the rendered object; templates
/// and `{from: ...}` are already resolved). `None` when they do not fit, which the load checks
/// rule out for every value a pack can write.
pub fn params<T: DeserializeOwned + Default>(v: &Value) -> Option<T> {
    match v {
        Value::Null => Some(T::default()),
        other => serde_json::from_value(other.clone()).ok(),
    }
}

/// The stable id of the action `step` on `resource` (qualified by `q`).
pub fn action_id(step: StepName, r: &ResourceRef, q: &str) -> String {
    let key = format!("{}|{}|{}|{q}", step.as_str(), r.kind.as_str(), r.id);
    format!("act-{}", crate::digest::short_id(key.as_bytes(), 6))
}

/// Lookups over one inventory that expansions share (built once per plan).
pub struct Index<'a> {
    /// The inventory.
    pub inv: &'a Inventory,
    /// User name -> index of its login profile.
    pub login_profiles: HashMap<&'a str, usize>,
    /// Access key id -> user name.
    pub key_owner: HashMap<&'a str, &'a str>,
    /// MFA device id -> user name.
    pub mfa_owner: HashMap<&'a str, &'a str>,
    /// Inline policy id -> (owner kind, owner name).
    pub inline_owner: HashMap<&'a str, (OwnerKind, &'a str)>,
    /// User name -> index in `inv.users`.
    pub users: HashMap<&'a str, usize>,
    /// Access key id -> index in `inv.access_keys`.
    pub keys: HashMap<&'a str, usize>,
    /// (kind, name) -> id of users, groups and roles, and ("policy", ARN) -> policy id.
    entity_ids: HashMap<(&'static str, &'a str), &'a str>,
    /// User name -> what it owns; built on first use (only the steps that act on a whole
    /// user need it), so a step that walks a user's records never scans the whole account.
    owned: std::sync::OnceLock<HashMap<&'a str, Owned>>,
    /// Where each policy sits; built on first use, like `owned`.
    policies: std::sync::OnceLock<PolicyPositions<'a>>,
}

/// Managed policy ARN -> index in `inv.managed_policies`; inline policy id -> index in
/// `inv.inline_policies`.
#[derive(Debug, Default)]
struct PolicyPositions<'a> {
    managed: HashMap<&'a str, usize>,
    inline: HashMap<&'a str, usize>,
}

/// The records one user owns, as indices into the inventory's collections, in inventory order.
#[derive(Debug, Default)]
pub struct Owned {
    /// Its access keys (`inv.access_keys`).
    pub keys: Vec<usize>,
    /// Its assigned MFA devices (`inv.mfa_devices`).
    pub mfa_devices: Vec<usize>,
    /// Its inline policies (`inv.inline_policies`).
    pub inline_policies: Vec<usize>,
}

/// What a user without records owns.
static NOTHING: Owned = Owned {
    keys: Vec::new(),
    mfa_devices: Vec::new(),
    inline_policies: Vec::new(),
};

impl<'a> Index<'a> {
    /// Indexes `inv`.
    pub fn new(inv: &'a Inventory) -> Index<'a> {
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
            users: inv
                .users
                .iter()
                .enumerate()
                .map(|(i, u)| (u.name.as_str(), i))
                .collect(),
            keys: inv
                .access_keys
                .iter()
                .enumerate()
                .map(|(i, k)| (k.id.as_str(), i))
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
            owned: std::sync::OnceLock::new(),
            policies: std::sync::OnceLock::new(),
        }
    }

    fn policies(&self) -> &PolicyPositions<'a> {
        self.policies.get_or_init(|| {
            // The first record wins when a snapshot repeats one, as a scan from the start would.
            let mut at = PolicyPositions::default();
            for (i, p) in self.inv.managed_policies.iter().enumerate() {
                at.managed.entry(p.arn.as_str()).or_insert(i);
            }
            for (i, p) in self.inv.inline_policies.iter().enumerate() {
                at.inline.entry(p.id.as_str()).or_insert(i);
            }
            at
        })
    }

    /// The index in `inv.managed_policies` of the policy with this ARN.
    pub fn managed_policy(&self, arn: &str) -> Option<usize> {
        self.policies().managed.get(arn).copied()
    }

    /// The index in `inv.inline_policies` of the inline policy with this id
    /// (`<owner kind>/<owner>/<name>`).
    pub fn inline_policy(&self, id: &str) -> Option<usize> {
        self.policies().inline.get(id).copied()
    }

    /// The records `user` owns (its keys, assigned MFA devices and inline policies).
    pub fn owned_by(&self, user: &str) -> &Owned {
        let owned = self.owned.get_or_init(|| {
            let inv = self.inv;
            let mut m: HashMap<&'a str, Owned> = HashMap::new();
            for (i, k) in inv.access_keys.iter().enumerate() {
                m.entry(k.user.as_str()).or_default().keys.push(i);
            }
            for (i, d) in inv.mfa_devices.iter().enumerate() {
                if let Some(u) = d.user.as_deref() {
                    m.entry(u).or_default().mfa_devices.push(i);
                }
            }
            for (i, p) in inv.inline_policies.iter().enumerate() {
                if p.owner_kind == OwnerKind::User {
                    m.entry(p.owner.as_str())
                        .or_default()
                        .inline_policies
                        .push(i);
                }
            }
            m
        });
        owned.get(user).unwrap_or(&NOTHING)
    }

    fn lookup(&self, kind: &'static str, name: &str) -> Option<String> {
        self.entity_ids
            .get(&(kind, name))
            .filter(|id| !id.is_empty())
            .map(|id| (*id).to_string())
    }

    /// The id of the user named `name`, when the inventory knows it.
    pub fn user_id(&self, name: &str) -> Option<String> {
        self.lookup("user", name)
    }

    /// The id of an inline policy's owner (`owner_id`).
    pub fn owner_id(&self, kind: OwnerKind, name: &str) -> Option<String> {
        let k = match kind {
            OwnerKind::User => "user",
            OwnerKind::Group => "group",
            OwnerKind::Role => "role",
        };
        self.lookup(k, name)
    }

    /// The id of the user, group, role or managed policy `r` itself.
    pub fn entity_ids(&self, r: &ResourceRef) -> EntityIds {
        let own = || Some(r.id.clone()).filter(|id| !id.is_empty());
        match r.kind {
            ResourceKind::User => EntityIds {
                user_id: own(),
                ..EntityIds::default()
            },
            ResourceKind::Group => EntityIds {
                group_id: own(),
                ..EntityIds::default()
            },
            ResourceKind::Role => EntityIds {
                role_id: own(),
                ..EntityIds::default()
            },
            ResourceKind::ManagedPolicy => EntityIds {
                policy_id: self.lookup("policy", r.arn.as_deref().unwrap_or(r.id.as_str())),
                ..EntityIds::default()
            },
            _ => EntityIds::default(),
        }
    }

    /// The subject an action is grouped under: its owning user, group, role, policy or account.
    pub fn subject(&self, r: &ResourceRef) -> (u8, String) {
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

/// The record a step is planned for: its collection, its index there, and its reference.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// The collection.
    pub kind: ResourceKind,
    /// The record's index in it.
    pub index: usize,
    /// The record.
    pub resource: &'a ResourceRef,
}

/// One action an expansion proposes, before deduplication.
#[derive(Debug, Clone)]
pub struct Proposed {
    /// The resource acted on.
    pub resource: ResourceRef,
    /// Distinguishes several actions of one step on one resource (the policy ARN a detach
    /// removes, the group a membership is removed from).
    pub qualifier: String,
    /// How the diff shows it.
    pub change: ChangeKind,
    /// The step's typed parts.
    pub body: Body,
    /// For a cascade's prerequisite step: the id of the action it belongs to.
    pub part_of: Option<String>,
}

impl Proposed {
    /// The step, as its body's type says.
    pub fn step(&self) -> StepName {
        self.body.step()
    }
}

/// A step that is not planned for a resource, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Skip {
    /// The resource.
    pub resource: ResourceRef,
    /// The step.
    pub step: StepName,
    /// Why.
    pub reason: String,
}

/// An expansion's context and output.
pub struct Cx<'a> {
    /// The inventory and its lookups.
    pub ix: &'a Index<'a>,
    /// Set when the in-use guard is in force for the step being expanded and the step stops a
    /// whole user: the window's start, which the precondition carries (`in_use_since`) so
    /// apply re-checks against the same instant.
    pub in_use_since: Option<DateTime<Utc>>,
    /// The evaluation clock (`--now`), for steps that wait (a rotation's grace period).
    pub now: Option<DateTime<Utc>>,
    /// The proposals.
    pub out: Vec<Proposed>,
    /// The skips.
    pub skips: Vec<Skip>,
}

impl<'a> Cx<'a> {
    /// A context over `ix`.
    pub fn new(ix: &'a Index<'a>) -> Cx<'a> {
        Cx {
            ix,
            in_use_since: None,
            now: None,
            out: Vec::new(),
            skips: Vec::new(),
        }
    }

    /// The inventory.
    pub fn inv(&self) -> &'a Inventory {
        self.ix.inv
    }

    /// Records that `step` is not planned for `resource`.
    pub fn skip(&mut self, resource: &ResourceRef, step: StepName, reason: impl Into<String>) {
        self.skips.push(Skip {
            resource: resource.clone(),
            step,
            reason: reason.into(),
        });
    }

    /// Proposes one action (its step is the body's).
    pub fn propose(&mut self, resource: ResourceRef, qualifier: &str, body: Body) {
        let change = body.step().info().change;
        self.propose_as(change, resource, qualifier, body);
    }

    /// [`Cx::propose`] with a change kind other than the step's.
    pub fn propose_as(
        &mut self,
        change: ChangeKind,
        resource: ResourceRef,
        qualifier: &str,
        body: Body,
    ) {
        self.out.push(Proposed {
            resource,
            qualifier: qualifier.to_string(),
            change,
            body,
            part_of: None,
        });
    }
}

/// A typed part as JSON (the step structs serialize infallibly: string keys, no non-finite floats).
fn to_value<T: Serialize>(x: &T) -> Value {
    serde_json::to_value(x).unwrap_or(Value::Null)
}

/// Expands `step` for `target` with its rendered `params`.
pub fn expand(step: StepName, cx: &mut Cx<'_>, target: &Target<'_>, params: &Value) {
    (step.info().expand)(step, cx, target, params)
}

/// A customer-managed policy a policy step may change: `None` (with a skip) for an AWS-managed
/// one, which iamwarden never modifies or deletes.
pub(crate) fn customer_policy<'a>(
    cx: &mut Cx<'a>,
    step: StepName,
    t: &Target<'_>,
) -> Option<&'a ManagedPolicy> {
    let p = cx.inv().managed_policies.get(t.index)?;
    if p.aws_managed {
        cx.skip(
            t.resource,
            step,
            "AWS-managed policies are never modified or deleted",
        );
        return None;
    }
    Some(p)
}

/// Whether `arn` names an AWS-managed policy (`arn:aws:iam::aws:policy/...`).
pub fn is_aws_managed(arn: &str) -> bool {
    arn.split(':').nth(4) == Some("aws")
}

#[cfg(test)]
pub(crate) mod tests;
