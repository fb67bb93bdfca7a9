//! `deactivate_mfa_device`: deactivates an MFA device; with `delete_virtual: true` a virtual
//! device is deleted too (then the diff shows a delete). Always destructive: re-enabling a
//! device needs codes from it.

use super::{
    param, params, ts, Body, ChangeKind, Cx, ParamKind, Parts, Safety, StepInfo, StepName, Target,
};
use crate::inventory::ResourceKind;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `deactivate_mfa_device`.
pub const DEACTIVATE: StepInfo = StepInfo {
    targets: &[ResourceKind::MfaDevice],
    params: &[param("delete_virtual", ParamKind::Bool, false, "default `false`")],
    params_schema: super::schema_of::<MfaParams>,
    check_param: None,
    safety: Safety::Destructive,
    change: ChangeKind::Change,
    diff: "`~ mfa_device`: `user = \"alice\" -> (none)`, `enabled = true -> false`; with `delete_virtual` on a virtual device it shows as `- mfa_device` (a delete)",
    rank: 30,
    disables_credential: None,
    expand,
    verb: |b| {
        if matches!(b, Body::DeactivateMfaDevice(p) if p.params.delete_virtual) {
            "will be deactivated and deleted".into()
        } else {
            "will be deactivated".into()
        }
    },
};

/// The parts of a `deactivate_mfa_device` action.
pub type MfaParts = Parts<MfaActionParams, MfaPrecondition, MfaState, Option<MfaState>>;

/// The params a pack writes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaParams {
    /// Also delete a virtual device (default `false`).
    #[serde(default)]
    pub delete_virtual: bool,
}

/// The action's params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaActionParams {
    /// The device's user.
    pub user: String,
    /// Whether the (virtual) device is deleted too.
    pub delete_virtual: bool,
}

/// What apply re-reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaPrecondition {
    /// The user.
    pub user: String,
    /// When the device was enabled (`null`: not known; required, so an old plan without it
    /// is refused).
    #[serde(deserialize_with = "super::present")]
    pub enabled_at: Option<String>,
    /// The user's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// A device's assignment (`after` is `null` when the device is deleted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaState {
    /// The user it is assigned to (`null` after).
    pub user: Option<String>,
    /// Enabled or not.
    pub enabled: bool,
}

fn expand(step: StepName, cx: &mut Cx<'_>, t: &Target<'_>, rendered: &Value) {
    let Some(d) = cx.inv().mfa_devices.get(t.index) else {
        return;
    };
    let Some(user) = d.user.clone() else {
        cx.skip(t.resource, step, "the device is not assigned to a user");
        return;
    };
    let wanted: MfaParams = params(rendered).unwrap_or_default();
    let delete = wanted.delete_virtual && d.r#virtual;
    let after = (!delete).then_some(MfaState {
        user: None,
        enabled: false,
    });
    let change = if delete {
        ChangeKind::Delete
    } else {
        ChangeKind::Change
    };
    let pre = MfaPrecondition {
        user: user.clone(),
        enabled_at: ts(d.enabled_at),
        user_id: cx.ix.user_id(&user),
    };
    let before = MfaState {
        user: Some(user.clone()),
        enabled: true,
    };
    let params = MfaActionParams {
        user,
        delete_virtual: delete,
    };
    let parts = Parts {
        params,
        precondition: pre,
        before,
        after,
    };
    cx.propose_as(
        change,
        t.resource.clone(),
        "",
        Body::DeactivateMfaDevice(Box::new(parts)),
    );
}

pub(crate) mod live {
    //! `deactivate_mfa_device`: apply's check and calls (it has no reverse: re-enabling a device
    //! takes two codes from it).
    use super::MfaActionParams;
    use crate::steps::live::*;

    pub(crate) async fn check<X: Exec>(x: &X, a: &Action) -> Result<Check, StepError> {
        let p: &super::MfaParts = parts_of!(a, DeactivateMfaDevice)?;
        let (user, delete_virtual, pre) = (
            p.params.user.as_str(),
            p.params.delete_virtual,
            &p.precondition,
        );
        let serial = a.resource.id.as_str();
        let devices = x.iam().mfa_devices(user).await?.unwrap_or_default();
        Ok(match devices.iter().find(|(s, _)| s == serial) {
            Some((_, enabled)) => {
                let planned = plan_ts(pre.enabled_at.as_deref());
                if planned.is_some() && enabled.is_some() && planned != *enabled {
                    return Ok(Check::Stale(format!(
                        "the device was enabled again at {} (the plan saw {})",
                        when(*enabled),
                        when(planned)
                    )));
                }
                Check::Proceed(
                    json!({"user": user, "enabled": true, "enabled_at": ts_value(*enabled)}),
                )
            }
            None if delete_virtual && x.iam().virtual_mfa_exists(serial).await? => Check::Proceed(
                json!({"user": Value::Null, "enabled": false, "virtual_device": "present"}),
            ),
            None => Check::Already(json!({"enabled": false})),
        })
    }

    /// What the check read (`before` in the journal) that the calls need.
    #[derive(Debug, serde::Deserialize)]
    struct Seen {
        /// Whether the device is enabled (a virtual device that is not is only deleted).
        enabled: bool,
    }

    pub(crate) async fn execute<X: Exec>(
        x: &X,
        a: &Action,
        before: &Value,
    ) -> Result<Value, StepError> {
        let MfaActionParams {
            user,
            delete_virtual,
        } = parts_of!(a, DeactivateMfaDevice)?.params.clone();
        let serial = a.resource.id.as_str();
        if part::<Seen>(a, "before", before)?.enabled {
            x.send(
                &a.id,
                IamCall::DeactivateMfaDevice {
                    user,
                    serial: serial.to_string(),
                },
            )
            .await?;
        }
        if delete_virtual {
            x.send(
                &a.id,
                IamCall::DeleteVirtualMfaDevice {
                    serial: serial.to_string(),
                },
            )
            .await?;
        }
        Ok(Value::Null)
    }

    pub(crate) fn reverse(
        _a: &Action,
        _before: &Value,
        _after: &Value,
    ) -> (Vec<UndoOp>, Option<String>) {
        irreversible(
        "an MFA device cannot be re-enabled without two codes from it: the user must enable MFA again",
    )
    }
}
