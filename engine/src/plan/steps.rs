//! The remediation step catalog: for each step of the plan contract, which resources it acts
//! on, which parameters it takes, how risky it is, and where it goes in apply order.

use crate::inventory::ResourceKind;
use crate::plan::{ChangeKind, Safety};
use crate::spec::StepName;

/// The type of a step parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// `true` / `false`.
    Bool,
    /// A string (may be a template).
    String,
    /// A list of strings (globs where documented), or `{from: path}`.
    StringList,
    /// A map of strings to strings.
    StringMap,
    /// Any JSON object (a policy document, password-policy settings).
    Object,
}

impl ParamKind {
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
}

/// One parameter of a step.
#[derive(Debug, Clone, Copy)]
pub struct ParamInfo {
    /// The name.
    pub name: &'static str,
    /// The type.
    pub kind: ParamKind,
    /// Whether the step needs it.
    pub required: bool,
}

const fn p(name: &'static str, kind: ParamKind, required: bool) -> ParamInfo {
    ParamInfo {
        name,
        kind,
        required,
    }
}

/// Everything the engine knows about a step.
#[derive(Debug, Clone, Copy)]
pub struct StepInfo {
    /// The kinds of selected resource the step can be planned for.
    pub targets: &'static [ResourceKind],
    /// Its parameters.
    pub params: &'static [ParamInfo],
    /// Reversible or destructive.
    pub safety: Safety,
    /// How the diff shows it.
    pub change: ChangeKind,
    /// Position in apply order among the steps on one subject (AWS's required order for the
    /// `delete_user` cascade: login profile, keys, MFA, groups, policies, then the user).
    pub rank: u16,
    /// Which credentials the step stops working, if any: the in-use guard does not plan such a
    /// step while one of them was used within the rule's window (see [`crate::plan::in_use`]).
    pub disables_credential: Option<Disables>,
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
}

impl StepName {
    /// Every step that stops a credential working, with what it stops: the one list the
    /// in-use guard, its docs and its table test are derived from.
    ///
    /// Not in the list, on purpose: `require_password_reset` (the password still signs in
    /// once, to set a new one), `deactivate_mfa_device` (sign-in keeps working), and steps that
    /// remove permissions rather than credentials (detach, remove from group).
    pub fn disables_credential(self) -> Option<Disables> {
        match self {
            StepName::DeactivateAccessKey | StepName::DeleteAccessKey => Some(Disables::AccessKey),
            StepName::DeleteLoginProfile => Some(Disables::Password),
            StepName::QuarantineUser | StepName::DeleteUser => Some(Disables::User),
            _ => None,
        }
    }
}

use ParamKind as K;
use ResourceKind as R;

const SETTINGS_PARAMS: &[ParamInfo] = &[p("settings", K::Object, true)];
const DELETE_VIRTUAL_PARAMS: &[ParamInfo] = &[p("delete_virtual", K::Bool, false)];
const GROUPS_PARAMS: &[ParamInfo] = &[p("groups", K::StringList, false)];
const POLICY_ARNS_PARAMS: &[ParamInfo] = &[p("policy_arns", K::StringList, false)];
const POLICY_NAME_PARAMS: &[ParamInfo] = &[p("policy_name", K::String, false)];
const TAGS_PARAMS: &[ParamInfo] = &[p("tags", K::StringMap, true)];
const KEYS_PARAMS: &[ParamInfo] = &[p("keys", K::StringList, true)];
const DOCUMENT_PARAMS: &[ParamInfo] = &[p("document", K::Object, true)];
const VERSION_ID_PARAMS: &[ParamInfo] = &[p("version_id", K::String, false)];

/// The default name of the quarantine policy.
pub const QUARANTINE_POLICY_NAME: &str = "iamwarden-quarantine";

/// Every step name, in catalog order.
pub const ALL_STEPS: [StepName; 19] = [
    StepName::DeactivateAccessKey,
    StepName::DeleteAccessKey,
    StepName::RequirePasswordReset,
    StepName::DeleteLoginProfile,
    StepName::DeactivateMfaDevice,
    StepName::DetachUserPolicy,
    StepName::DetachGroupPolicy,
    StepName::DetachRolePolicy,
    StepName::DeleteInlinePolicy,
    StepName::RemoveUserFromGroup,
    StepName::QuarantineUser,
    StepName::DeleteUser,
    StepName::ReplacePolicyDocument,
    StepName::SetDefaultPolicyVersion,
    StepName::DetachPolicyEverywhere,
    StepName::DeletePolicy,
    StepName::UpdatePasswordPolicy,
    StepName::Tag,
    StepName::Untag,
];

impl StepName {
    /// The snake_case name used in packs and plans.
    pub fn as_str(self) -> &'static str {
        match self {
            StepName::DeactivateAccessKey => "deactivate_access_key",
            StepName::DeleteAccessKey => "delete_access_key",
            StepName::RequirePasswordReset => "require_password_reset",
            StepName::DeleteLoginProfile => "delete_login_profile",
            StepName::DeactivateMfaDevice => "deactivate_mfa_device",
            StepName::DetachUserPolicy => "detach_user_policy",
            StepName::DetachGroupPolicy => "detach_group_policy",
            StepName::DetachRolePolicy => "detach_role_policy",
            StepName::DeleteInlinePolicy => "delete_inline_policy",
            StepName::RemoveUserFromGroup => "remove_user_from_group",
            StepName::QuarantineUser => "quarantine_user",
            StepName::DeleteUser => "delete_user",
            StepName::ReplacePolicyDocument => "replace_policy_document",
            StepName::SetDefaultPolicyVersion => "set_default_policy_version",
            StepName::DetachPolicyEverywhere => "detach_policy_everywhere",
            StepName::DeletePolicy => "delete_policy",
            StepName::UpdatePasswordPolicy => "update_password_policy",
            StepName::Tag => "tag",
            StepName::Untag => "untag",
        }
    }

    /// The step's catalog entry.
    pub fn info(self) -> StepInfo {
        use ChangeKind::{Add, Change, Delete};
        use Safety::{Destructive, Reversible};
        let disables_credential = self.disables_credential();
        let s = |targets, params, safety, change, rank| StepInfo {
            targets,
            params,
            safety,
            change,
            rank,
            disables_credential,
        };
        match self {
            StepName::UpdatePasswordPolicy => {
                s(&[R::Account], SETTINGS_PARAMS, Reversible, Change, 5)
            }
            StepName::RequirePasswordReset => {
                s(&[R::LoginProfile, R::User], &[], Reversible, Change, 10)
            }
            StepName::DeleteLoginProfile => {
                s(&[R::LoginProfile, R::User], &[], Destructive, Delete, 11)
            }
            StepName::DeactivateAccessKey => s(&[R::AccessKey], &[], Reversible, Change, 20),
            StepName::DeleteAccessKey => s(&[R::AccessKey], &[], Destructive, Delete, 21),
            StepName::DeactivateMfaDevice => s(
                &[R::MfaDevice],
                DELETE_VIRTUAL_PARAMS,
                Destructive,
                Change,
                30,
            ),
            StepName::RemoveUserFromGroup => s(&[R::User], GROUPS_PARAMS, Reversible, Change, 40),
            StepName::DetachUserPolicy => s(&[R::User], POLICY_ARNS_PARAMS, Reversible, Change, 50),
            StepName::DetachGroupPolicy => {
                s(&[R::Group], POLICY_ARNS_PARAMS, Reversible, Change, 50)
            }
            StepName::DetachRolePolicy => s(&[R::Role], POLICY_ARNS_PARAMS, Reversible, Change, 50),
            StepName::DeleteInlinePolicy => s(&[R::InlinePolicy], &[], Reversible, Delete, 60),
            StepName::QuarantineUser => s(&[R::User], POLICY_NAME_PARAMS, Reversible, Add, 70),
            StepName::Tag => s(
                &[R::User, R::Role, R::ManagedPolicy],
                TAGS_PARAMS,
                Reversible,
                Change,
                80,
            ),
            StepName::Untag => s(
                &[R::User, R::Role, R::ManagedPolicy],
                KEYS_PARAMS,
                Reversible,
                Change,
                81,
            ),
            StepName::DeleteUser => s(&[R::User], &[], Destructive, Delete, 90),
            StepName::ReplacePolicyDocument => s(
                &[R::ManagedPolicy],
                DOCUMENT_PARAMS,
                Reversible,
                Change,
                100,
            ),
            StepName::SetDefaultPolicyVersion => s(
                &[R::ManagedPolicy],
                VERSION_ID_PARAMS,
                Reversible,
                Change,
                101,
            ),
            StepName::DetachPolicyEverywhere => {
                s(&[R::ManagedPolicy], &[], Reversible, Change, 110)
            }
            StepName::DeletePolicy => s(&[R::ManagedPolicy], &[], Destructive, Delete, 120),
        }
    }
}

impl std::fmt::Display for StepName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
