//! `update_password_policy` (reversible): tightens the account password policy with `settings`,
//! merged over the current policy without weakening anything (minimums take the larger value,
//! the maximum age the smaller, requirements stay on). Unknown setting names are load errors.

use super::{
    param, Body, ChangeKind, Cx, ParamIssue, ParamKind, Parts, Safety, StepInfo, StepName, Target,
};
use crate::inventory::{PasswordPolicy, ResourceKind};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// `update_password_policy`.
pub const UPDATE: StepInfo = StepInfo {
    targets: &[ResourceKind::Account],
    params: &[param("settings", ParamKind::Object, true, "")],
    params_schema: super::schema_of::<PasswordParams>,
    check_param: Some(check_param),
    safety: Safety::Reversible,
    change: ChangeKind::Change,
    diff: "`~ account`: one line per setting that changes",
    rank: 5,
    disables_credential: None,
    expand,
    verb: |_| "will get a stronger password policy".into(),
};

/// The parts of an `update_password_policy` action.
pub type PasswordParts =
    Parts<PasswordActionParams, PasswordPrecondition, Option<PasswordPolicy>, PasswordPolicy>;

/// Names of the settings `update_password_policy` understands.
pub const SETTINGS: [&str; 9] = [
    "minimum_password_length",
    "require_symbols",
    "require_numbers",
    "require_uppercase_characters",
    "require_lowercase_characters",
    "allow_users_to_change_password",
    "max_password_age",
    "password_reuse_prevention",
    "hard_expiry",
];

/// The params a pack writes.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordParams {
    /// The wanted settings (required).
    pub settings: Settings,
}

/// Wanted password-policy settings. Templated settings render as text (`"14"`, `"true"`):
/// both forms are read; numbers must be whole, however written (14, 14.0, "14", "14.0").
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// At least this many characters.
    #[serde(default)]
    pub minimum_password_length: Whole,
    /// Require a symbol.
    #[serde(default)]
    pub require_symbols: Flag,
    /// Require a digit.
    #[serde(default)]
    pub require_numbers: Flag,
    /// Require an uppercase letter.
    #[serde(default)]
    pub require_uppercase_characters: Flag,
    /// Require a lowercase letter.
    #[serde(default)]
    pub require_lowercase_characters: Flag,
    /// Let users change their own password.
    #[serde(default)]
    pub allow_users_to_change_password: Flag,
    /// Passwords expire after at most this many days.
    #[serde(default)]
    pub max_password_age: Whole,
    /// Remember at least this many previous passwords.
    #[serde(default)]
    pub password_reuse_prevention: Whole,
    /// Expired passwords need an administrator.
    #[serde(default)]
    pub hard_expiry: Flag,
}

/// A whole-number setting (`None` when absent or not a whole number in `u32`).
#[derive(Debug, Clone, Copy, Default, PartialEq, JsonSchema)]
#[schemars(with = "Option<u32>")]
pub struct Whole(pub Option<u32>);

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Whole, D::Error> {
        let whole = |f: f64| {
            (f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&f)).then_some(f as u32)
        };
        Ok(Whole(match Value::deserialize(d)? {
            Value::Number(n) => n.as_f64().and_then(whole),
            Value::String(s) => s.trim().parse::<f64>().ok().and_then(whole),
            _ => None,
        }))
    }
}

/// A requirement setting: on when `true` or `"true"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, JsonSchema)]
#[schemars(with = "bool")]
pub struct Flag(pub bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Flag, D::Error> {
        Ok(Flag(match Value::deserialize(d)? {
            Value::Bool(b) => b,
            Value::String(s) => s.trim() == "true",
            _ => false,
        }))
    }
}

/// The action's params: the merged policy that will be set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordActionParams {
    /// The whole policy after the merge.
    pub settings: PasswordPolicy,
}

/// What apply re-reads: the current policy (`null`: none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordPrecondition {
    /// The policy as the plan saw it.
    pub password_policy: Option<PasswordPolicy>,
}

/// Merges wanted settings over the current policy without weakening anything.
pub fn merge_password_policy(
    current: Option<&PasswordPolicy>,
    wanted: &Settings,
) -> PasswordPolicy {
    let mut p = current.cloned().unwrap_or_default();
    if let Some(n) = wanted.minimum_password_length.0 {
        p.minimum_password_length = Some(p.minimum_password_length.map_or(n, |c| c.max(n)));
    }
    if let Some(n) = wanted.password_reuse_prevention.0 {
        p.password_reuse_prevention = Some(p.password_reuse_prevention.map_or(n, |c| c.max(n)));
    }
    if let Some(n) = wanted.max_password_age.0 {
        p.max_password_age = Some(p.max_password_age.map_or(n, |c| c.min(n)));
    }
    p.require_symbols |= wanted.require_symbols.0;
    p.require_numbers |= wanted.require_numbers.0;
    p.require_uppercase_characters |= wanted.require_uppercase_characters.0;
    p.require_lowercase_characters |= wanted.require_lowercase_characters.0;
    p.allow_users_to_change_password |= wanted.allow_users_to_change_password.0;
    p.hard_expiry |= wanted.hard_expiry.0;
    p
}

fn unknown_setting(settings: &Value) -> Option<&str> {
    settings
        .as_object()
        .and_then(|o| o.keys().find(|k| !SETTINGS.contains(&k.as_str())))
        .map(String::as_str)
}

/// Load-time check of `settings`: every setting name is known.
fn check_param(name: &str, value: &Value) -> Vec<ParamIssue> {
    if name != "settings" {
        return Vec::new();
    }
    value
        .as_object()
        .map(|o| o.keys())
        .into_iter()
        .flatten()
        .filter(|k| !SETTINGS.contains(&k.as_str()))
        .map(|k| ParamIssue {
            key: k.clone(),
            message: format!(
                "unknown password-policy setting `{k}` (settings: {})",
                SETTINGS.join(", ")
            ),
            hint: crate::diag::did_you_mean(k, SETTINGS.iter().copied()),
        })
        .collect()
}

fn expand(step: StepName, cx: &mut Cx<'_>, t: &Target<'_>, rendered: &Value) {
    let r = t.resource;
    let raw = rendered.get("settings").unwrap_or(&Value::Null);
    if let Some(bad) = unknown_setting(raw) {
        cx.skip(r, step, format!("unknown password-policy setting `{bad}`"));
        return;
    }
    let wanted: Settings = serde_json::from_value(raw.clone()).unwrap_or_default();
    let current = cx.inv().account.password_policy.as_ref();
    let merged = merge_password_policy(current, &wanted);
    if Some(&merged) == current {
        cx.skip(r, step, "the password policy already meets these settings");
        return;
    }
    let pre = PasswordPrecondition {
        password_policy: current.cloned(),
    };
    let params = PasswordActionParams {
        settings: merged.clone(),
    };
    let parts = Parts {
        params,
        precondition: pre,
        before: current.cloned(),
        after: merged,
    };
    cx.propose(r.clone(), "", Body::UpdatePasswordPolicy(Box::new(parts)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(v: Value) -> Settings {
        serde_json::from_value(v).unwrap_or_default()
    }

    #[test]
    fn merging_never_weakens_and_reads_rendered_text() {
        let current = PasswordPolicy {
            minimum_password_length: Some(16),
            max_password_age: Some(30),
            require_symbols: true,
            ..PasswordPolicy::default()
        };
        let wanted = settings(json!({
            "minimum_password_length": "14",
            "max_password_age": 90.0,
            "password_reuse_prevention": "24.0",
            "require_symbols": false,
            "require_numbers": "true",
        }));
        let m = merge_password_policy(Some(&current), &wanted);
        assert_eq!(m.minimum_password_length, Some(16));
        assert_eq!(m.max_password_age, Some(30));
        assert_eq!(m.password_reuse_prevention, Some(24));
        assert!(m.require_symbols && m.require_numbers);
        assert_eq!(
            settings(json!({"minimum_password_length": 14.5})).minimum_password_length,
            Whole(None)
        );
    }

    #[test]
    fn the_setting_names_are_the_typed_settings_fields() {
        let schema = schemars::schema_for!(Settings);
        let props: Vec<&str> = schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let mut want = SETTINGS.to_vec();
        want.sort_unstable();
        let mut got = props;
        got.sort_unstable();
        assert_eq!(got, want);
    }

    #[test]
    fn an_unknown_setting_is_a_load_issue_with_a_suggestion() {
        let issues = check_param("settings", &json!({"minimum_length": 14}));
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].key, "minimum_length");
        assert!(issues[0]
            .message
            .starts_with("unknown password-policy setting `minimum_length`"));
        assert_eq!(
            issues[0]
                .hint
                .as_deref()
                .map(|h| h.contains("minimum_password_length")),
            Some(true)
        );
        assert!(check_param("settings", &json!({"hard_expiry": true})).is_empty());
    }
}

pub(crate) mod live {
    //! `update_password_policy`: apply's check, calls and reverse (the settings before, or no
    //! policy at all). Reads the action through its typed [`super::PasswordParts`].

    use super::PasswordPrecondition;
    use crate::steps::live::*;

    /// The state read now, as `before` records it (the precondition's shape).
    fn state(current: Option<PasswordPolicy>) -> Value {
        serde_json::to_value(PasswordPrecondition {
            password_policy: current,
        })
        .unwrap_or(Value::Null)
    }

    pub(crate) async fn check<X: Exec>(x: &X, a: &Action) -> Result<Check, StepError> {
        let parts: &super::PasswordParts = parts_of!(a, UpdatePasswordPolicy)?;
        let (params, pre) = (&parts.params, &parts.precondition);
        let current = x.iam().password_policy().await?;
        if current.as_ref() == Some(&params.settings) {
            return Ok(Check::Already(state(current)));
        }
        if current != pre.password_policy {
            return Ok(Check::Stale(
                "the account password policy changed since the plan was made".into(),
            ));
        }
        Ok(Check::Proceed(state(current)))
    }

    pub(crate) async fn execute<X: Exec>(
        x: &X,
        a: &Action,
        _before: &Value,
    ) -> Result<Value, StepError> {
        let settings = parts_of!(a, UpdatePasswordPolicy)?.params.settings.clone();
        x.send(&a.id, IamCall::UpdateAccountPasswordPolicy { settings })
            .await?;
        Ok(Value::Null)
    }

    pub(crate) fn reverse(
        a: &Action,
        before: &Value,
        _after: &Value,
    ) -> (Vec<UndoOp>, Option<String>) {
        match part::<PasswordPrecondition>(a, "before", before) {
            Ok(PasswordPrecondition {
                password_policy: None,
            }) => (vec![UndoOp::DeletePasswordPolicy], None),
            Ok(PasswordPrecondition {
                password_policy: Some(p),
            }) => (vec![UndoOp::UpdatePasswordPolicy { settings: p }], None),
            Err(e) => irreversible(&format!("the policy before is not known: {e}")),
        }
    }
}
