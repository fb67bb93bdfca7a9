//! Console-password steps: `require_password_reset` (reversible) and `delete_login_profile`
//! (destructive). Planned on `$.login_profiles` or on `$.users` (then they land on the user's
//! login profile, so they deduplicate with the same step from a login-profile rule).

use super::{ts, Body, ChangeKind, Cx, Disables, Gone, Parts, Safety, StepInfo, StepName, Target};
use crate::inventory::ResourceKind;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `require_password_reset`.
pub const REQUIRE_RESET: StepInfo = StepInfo {
    targets: &[ResourceKind::LoginProfile, ResourceKind::User],
    params: &[],
    params_schema: super::schema_of::<super::NoParams>,
    check_param: None,
    safety: Safety::Reversible,
    change: ChangeKind::Change,
    diff: "`~ login_profile`: `password_reset_required = false -> true`",
    rank: 10,
    disables_credential: None,
    expand,
    verb: |_| "will require a password reset at next sign-in".into(),
};

/// The parts of a `require_password_reset` action.
pub type ResetParts = Parts<ProfileParams, ProfilePrecondition, ResetState, ResetState>;

/// `delete_login_profile`.
pub const DELETE: StepInfo = StepInfo {
    targets: &[ResourceKind::LoginProfile, ResourceKind::User],
    params: &[],
    params_schema: super::schema_of::<super::NoParams>,
    check_param: None,
    safety: Safety::Destructive,
    change: ChangeKind::Delete,
    diff: "`- login_profile`: `login_profile = \"present\"`, `created_at`",
    rank: 11,
    disables_credential: Some(Disables::Password),
    expand,
    verb: |_| "will be deleted (console access removed)".into(),
};

/// The parts of a `delete_login_profile` action.
pub type DeleteParts = Parts<ProfileParams, ProfilePrecondition, DeletedProfile, Gone>;

/// The action's params: the user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileParams {
    /// The user whose console password it is.
    pub user: String,
}

/// What apply re-reads about the login profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePrecondition {
    /// The user.
    pub user: String,
    /// When the password was set.
    pub created_at: Option<String>,
    /// Whether a reset is already required.
    pub password_reset_required: bool,
    /// The password's last use (`null`: never used; required, so an old plan without it is
    /// refused rather than read as "never used").
    #[serde(deserialize_with = "super::present")]
    pub password_last_used_at: Option<String>,
    /// The user's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// Whether a password reset is required.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetState {
    /// Required or not.
    pub password_reset_required: bool,
}

/// A deleted login profile, as it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeletedProfile {
    /// Always `present`.
    pub login_profile: String,
    /// When the password was set.
    pub created_at: Option<String>,
}

fn expand(step: StepName, cx: &mut Cx<'_>, t: &Target<'_>, _params: &Value) {
    let inv = cx.inv();
    let r = t.resource;
    let user = match r.kind {
        ResourceKind::User => r.name.clone(),
        _ => inv
            .login_profiles
            .get(t.index)
            .map(|l| l.user.clone())
            .unwrap_or_default(),
    };
    let Some(&li) = cx.ix.login_profiles.get(user.as_str()) else {
        cx.skip(r, step, "the user has no console password");
        return;
    };
    let Some(lp) = inv.login_profiles.get(li) else {
        return;
    };
    let Some(target) = inv.resource_ref(ResourceKind::LoginProfile, li) else {
        return;
    };
    let params = ProfileParams {
        user: lp.user.clone(),
    };
    let pre = ProfilePrecondition {
        user: lp.user.clone(),
        created_at: ts(Some(lp.created_at)),
        password_reset_required: lp.password_reset_required,
        password_last_used_at: ts(lp.password_last_used_at),
        user_id: cx.ix.user_id(&lp.user),
    };
    if step == StepName::RequirePasswordReset {
        if lp.password_reset_required {
            cx.skip(&target, step, "a password reset is already required");
            return;
        }
        let before = ResetState {
            password_reset_required: false,
        };
        let after = ResetState {
            password_reset_required: true,
        };
        let parts = Parts {
            params,
            precondition: pre,
            before,
            after,
        };
        cx.propose(target, "", Body::RequirePasswordReset(Box::new(parts)));
    } else {
        let before = DeletedProfile {
            login_profile: "present".into(),
            created_at: ts(Some(lp.created_at)),
        };
        let parts = Parts {
            params,
            precondition: pre,
            before,
            after: (),
        };
        cx.propose(target, "", Body::DeleteLoginProfile(Box::new(parts)));
    }
}

pub(crate) mod live {
    //! `require_password_reset` and `delete_login_profile`: apply's check, calls and reverse.
    use super::{ProfileParams, ProfilePrecondition};
    use crate::steps::live::*;

    /// The action's params and precondition (both steps share them).
    fn parts(a: &Action) -> Result<(&ProfileParams, &ProfilePrecondition), StepError> {
        match &a.body {
            Body::RequirePasswordReset(p) => Ok((&p.params, &p.precondition)),
            Body::DeleteLoginProfile(p) => Ok((&p.params, &p.precondition)),
            _ => Err(wrong_body(a)),
        }
    }

    pub(crate) async fn check<X: Exec>(x: &X, a: &Action) -> Result<Check, StepError> {
        let (params, pre) = parts(a)?;
        let user = params.user.as_str();
        // A console password used since the plan was made is not the unused one the plan judged.
        let planned = plan_ts(pre.password_last_used_at.as_deref());
        let used = x.iam().user(user).await?.and_then(|u| u.password_last_used);
        if used > planned {
            return Ok(Check::Stale(format!(
                "the password was used at {} since the plan saw its last use ({})",
                when(used),
                when(planned)
            )));
        }
        Ok(match x.iam().login_profile(user).await? {
            None if a.step() == StepName::DeleteLoginProfile => {
                Check::Already(json!({"login_profile": "absent"}))
            }
            None => Check::Stale(format!("user {user} no longer has a console password")),
            Some((_, true)) if a.step() == StepName::RequirePasswordReset => {
                Check::Already(json!({"password_reset_required": true}))
            }
            Some((created, reset)) => Check::Proceed(json!({
                "login_profile": "present",
                "created_at": ts_value(created),
                "password_reset_required": reset,
            })),
        })
    }

    /// `UpdateLoginProfile` with only the reset flag (no password: AWS keeps the current one).
    pub(crate) fn reset_call(user: &str, reset_required: bool) -> IamCall {
        IamCall::UpdateLoginProfile {
            user: user.to_string(),
            reset_required,
        }
    }

    pub(crate) async fn execute<X: Exec>(
        x: &X,
        a: &Action,
        _before: &Value,
    ) -> Result<Value, StepError> {
        let user = parts(a)?.0.user.as_str();
        let call = if a.step() == StepName::DeleteLoginProfile {
            IamCall::DeleteLoginProfile {
                user: user.to_string(),
            }
        } else {
            reset_call(user, true)
        };
        x.send(&a.id, call).await?;
        Ok(Value::Null)
    }

    pub(crate) fn reverse(
        a: &Action,
        _before: &Value,
        _after: &Value,
    ) -> (Vec<UndoOp>, Option<String>) {
        if a.step() == StepName::DeleteLoginProfile {
            return irreversible(
            "a deleted console password cannot be restored (IAM never returns passwords): create a new login profile",
        );
        }
        (
            vec![UndoOp::UpdateLoginProfile {
                user: parts(a).map(|(p, _)| p.user.clone()).unwrap_or_default(),
                password_reset_required: false,
            }],
            None,
        )
    }

    /// Whether the login profile's reset flag is this now (undo's re-read).
    pub(crate) async fn has_reset<X: Exec>(
        x: &X,
        user: &str,
        reset: bool,
    ) -> Result<bool, StepError> {
        Ok(x.iam()
            .login_profile(user)
            .await?
            .is_some_and(|(_, r)| r == reset))
    }
}
