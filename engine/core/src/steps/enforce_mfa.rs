//! `enforce_mfa` (reversible): attaches AWS's documented self-service MFA policy to a user as an
//! inline policy (`policy_name`, default `iamwarden-enforce-mfa`). Without MFA the user can still
//! sign in, see the account's password policy, change their own password and create, enable and
//! resync their own MFA device; everything else is denied until they sign in with MFA, when the
//! policy stops biting. Undo deletes the policy; a user that already has it is skipped.
//!
//! Not in-use gated: it disables no credential (the password keeps signing in, which is the
//! point: the user must be able to enroll). But a long-term access key never carries MFA, so
//! the deny also stops every request the user's keys sign (except `sts:GetSessionToken`): a user
//! with an active key is skipped unless `allow_active_keys: true`, and apply re-checks that.

use super::{
    param, params, Body, ChangeKind, Cx, Empty, ParamKind, Parts, Safety, StepInfo, StepName,
    Target,
};
use crate::inventory::{KeyStatus, ResourceKind};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The default name of the MFA policy.
pub const ENFORCE_MFA_POLICY_NAME: &str = "iamwarden-enforce-mfa";

/// `enforce_mfa`.
pub const ENFORCE: StepInfo = StepInfo {
    targets: &[ResourceKind::User],
    params: &[
        param(
            "policy_name",
            ParamKind::String,
            false,
            "default `iamwarden-enforce-mfa`",
        ),
        param(
            "allow_active_keys",
            ParamKind::Bool,
            false,
            "default false: a user with an active key is skipped (keys never carry MFA)",
        ),
    ],
    params_schema: super::schema_of::<EnforceMfaParams>,
    check_param: None,
    safety: Safety::Reversible,
    change: ChangeKind::Add,
    diff: "`+ user`: `+ inline_policy = \"iamwarden-enforce-mfa\"`, `+ effect = \"Deny all but MFA self-service unless aws:MultiFactorAuthPresent\"`",
    rank: 70,
    // The password keeps signing in (the user enrolls with it); keys are handled by the
    // expansion's own skip (`allow_active_keys`), not by the in-use guard.
    disables_credential: None,
    expand,
    verb: |b| match b {
        Body::EnforceMfa(p) => format!(
            "will need MFA for everything but enrolling (inline policy {})",
            p.params.policy_name
        ),
        _ => "will need MFA for everything but enrolling".into(),
    },
};

/// The parts of an `enforce_mfa` action.
pub type EnforceMfaParts =
    Parts<EnforceMfaActionParams, EnforceMfaPrecondition, Empty, EnforcedState>;

/// The actions a user without MFA keeps: the `NotAction` of the deny.
pub const WITHOUT_MFA: &[&str] = &[
    "iam:CreateVirtualMFADevice",
    "iam:EnableMFADevice",
    "iam:GetUser",
    "iam:ChangePassword",
    "iam:ListMFADevices",
    "iam:ListVirtualMFADevices",
    "iam:ResyncMFADevice",
    "sts:GetSessionToken",
];

/// The inline policy `enforce_mfa` attaches: AWS's documented "manage own MFA device" pattern
/// (IAM User Guide, "AWS: Allows MFA-authenticated IAM users to manage their own MFA device on
/// the Security credentials page"), its deny named `BlockMostAccessUnlessSignedInWithMFA`.
pub fn enforce_mfa_document() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowViewAccountInfo",
                "Effect": "Allow",
                "Action": ["iam:GetAccountPasswordPolicy", "iam:ListVirtualMFADevices"],
                "Resource": "*"
            },
            {
                "Sid": "AllowManageOwnPasswords",
                "Effect": "Allow",
                "Action": ["iam:ChangePassword", "iam:GetUser"],
                "Resource": "arn:aws:iam::*:user/${aws:username}"
            },
            {
                "Sid": "AllowManageOwnVirtualMFADevice",
                "Effect": "Allow",
                "Action": ["iam:CreateVirtualMFADevice"],
                "Resource": "arn:aws:iam::*:mfa/*"
            },
            {
                "Sid": "AllowManageOwnUserMFA",
                "Effect": "Allow",
                "Action": [
                    "iam:DeactivateMFADevice",
                    "iam:EnableMFADevice",
                    "iam:ListMFADevices",
                    "iam:ResyncMFADevice"
                ],
                "Resource": "arn:aws:iam::*:user/${aws:username}"
            },
            {
                "Sid": "BlockMostAccessUnlessSignedInWithMFA",
                "Effect": "Deny",
                "NotAction": WITHOUT_MFA,
                "Resource": "*",
                "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
            }
        ]
    })
}

/// The params a pack writes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnforceMfaParams {
    /// The inline policy's name (default `iamwarden-enforce-mfa`).
    #[serde(default)]
    pub policy_name: Option<String>,
    /// Attach it to a user with an active access key too, whose key-signed requests it then
    /// denies (a long-term key carries no MFA) (default `false`: such a user is skipped).
    #[serde(default)]
    pub allow_active_keys: bool,
}

/// The action's params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnforceMfaActionParams {
    /// The user.
    pub user: String,
    /// The inline policy's name.
    pub policy_name: String,
    /// The MFA policy ([`enforce_mfa_document`]).
    pub document: Value,
}

/// What apply re-reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnforceMfaPrecondition {
    /// The policy name that must not exist yet.
    pub inline_policy_absent: String,
    /// Set when the plan required the user to hold no active access key (`allow_active_keys`
    /// false): apply finds the action stale when one appeared.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_active_keys: bool,
    /// The user's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// The policy after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnforcedState {
    /// The policy's name.
    pub inline_policy: String,
    /// What it does, in words.
    pub effect: String,
}

fn expand(step: StepName, cx: &mut Cx<'_>, t: &Target<'_>, rendered: &Value) {
    let Some(u) = cx.inv().users.get(t.index) else {
        return;
    };
    let Some(wanted) = params::<EnforceMfaParams>(rendered) else {
        cx.skip(t.resource, step, "the parameters do not fit the step");
        return;
    };
    let name = wanted
        .policy_name
        .unwrap_or_else(|| ENFORCE_MFA_POLICY_NAME.to_string());
    if u.inline_policies.contains(&name) {
        cx.skip(
            t.resource,
            step,
            format!("MFA already enforced (inline policy {name} exists)"),
        );
        return;
    }
    if !wanted.allow_active_keys {
        let keys = &cx.inv().access_keys;
        let active: Vec<&str> = cx
            .ix
            .owned_by(&u.name)
            .keys
            .iter()
            .filter_map(|&i| keys.get(i))
            .filter(|k| k.status == KeyStatus::Active)
            .map(|k| k.id.as_str())
            .collect();
        if !active.is_empty() {
            cx.skip(
                t.resource,
                step,
                format!(
                    "the user has an active access key ({}): the MFA policy would deny every \
                     request it signs; set `allow_active_keys: true` to enforce anyway",
                    active.join(", ")
                ),
            );
            return;
        }
    }
    let pre = EnforceMfaPrecondition {
        inline_policy_absent: name.clone(),
        no_active_keys: !wanted.allow_active_keys,
        user_id: cx.ix.entity_ids(t.resource).user_id,
    };
    let after = EnforcedState {
        inline_policy: name.clone(),
        effect: "Deny all but MFA self-service unless aws:MultiFactorAuthPresent".into(),
    };
    let params = EnforceMfaActionParams {
        user: u.name.clone(),
        policy_name: name,
        document: enforce_mfa_document(),
    };
    cx.propose(
        t.resource.clone(),
        "",
        Body::EnforceMfa(Box::new(Parts {
            params,
            precondition: pre,
            before: Empty {},
            after,
        })),
    );
}

pub(crate) mod live {
    //! `enforce_mfa`: apply's check (the user, the policy, no active key appeared), calls and
    //! reverse (delete the MFA policy).
    use crate::steps::live::*;

    pub(crate) async fn check<X: Exec>(x: &X, a: &Action) -> Result<Check, StepError> {
        let parts: &super::EnforceMfaParts = parts_of!(a, EnforceMfa)?;
        let (p, pre) = (&parts.params, &parts.precondition);
        let (user, name) = (p.user.as_str(), p.policy_name.as_str());
        let Some(keys) = x.iam().access_keys(user).await? else {
            return Ok(Check::Stale(format!("user {user} no longer exists")));
        };
        let existing = x.iam().inline("user", user, name).await?;
        if existing.as_ref() == Some(&p.document) {
            return Ok(Check::Already(json!({"inline_policy": name})));
        }
        if existing.is_some() {
            return Ok(Check::Stale(format!(
                "user {user} has an inline policy named {name} with another document"
            )));
        }
        let active: Vec<String> = keys
            .into_iter()
            .filter(|(_, status)| status == "Active")
            .map(|(id, _)| id)
            .collect();
        if pre.no_active_keys && !active.is_empty() {
            return Ok(Check::Stale(format!(
                "user {user} has an active access key now ({}): the MFA policy would deny \
                 every request it signs",
                active.join(", ")
            )));
        }
        Ok(Check::Proceed(json!({"inline_policy_absent": name})))
    }

    pub(crate) async fn execute<X: Exec>(
        x: &X,
        a: &Action,
        _before: &Value,
    ) -> Result<Value, StepError> {
        let p = &parts_of!(a, EnforceMfa)?.params;
        x.send(
            &a.id,
            IamCall::put_inline("user", &p.user, &p.policy_name, &p.document),
        )
        .await?;
        Ok(Value::Null)
    }

    pub(crate) fn reverse(
        a: &Action,
        _before: &Value,
        _after: &Value,
    ) -> (Vec<UndoOp>, Option<String>) {
        match parts_of!(a, EnforceMfa).map(|p| p.params.clone()) {
            Ok(p) => (
                vec![UndoOp::DeleteInlinePolicy {
                    entity: "user".into(),
                    name: p.user,
                    policy_name: p.policy_name,
                }],
                None,
            ),
            Err(e) => irreversible(&e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{AccessKey, Inventory, User};
    use crate::policy::{Document, Effect};
    use crate::steps::tests::expand_one;

    const ALICE: &str = "arn:aws:iam::123456789012:user/alice";

    /// The statements that apply to a request by `user` with or without MFA: a statement's
    /// `BoolIfExists aws:MultiFactorAuthPresent` condition decided for that request (an absent
    /// key counts as matching, which is what `IfExists` means), `${aws:username}` filled in.
    /// `crate::policy` answers the rest (wildcards, `NotAction`, deny over allow).
    fn for_request(doc: &Value, user: &str, mfa: bool) -> Document {
        let mut out = doc.clone();
        let statements = out
            .get_mut("Statement")
            .and_then(Value::as_array_mut)
            .unwrap();
        statements.retain_mut(|s| {
            let Some(cond) = s.as_object_mut().unwrap().remove("Condition") else {
                return true;
            };
            let want = cond["BoolIfExists"]["aws:MultiFactorAuthPresent"]
                .as_str()
                .expect("the only condition the pattern uses");
            assert_eq!(cond.as_object().unwrap().len(), 1);
            want == mfa.to_string()
        });
        let text = out.to_string().replace("${aws:username}", user);
        Document::parse(&serde_json::from_str(&text).unwrap()).unwrap()
    }

    fn denied(d: &Document, action: &str, resource: &str) -> bool {
        d.statements.iter().any(|s| {
            s.effect == Effect::Deny
                && s.actions.covers(action, true)
                && s.resources.covers(resource, false)
        })
    }

    #[test]
    fn without_mfa_the_user_can_enroll_and_nothing_else() {
        let d = for_request(&enforce_mfa_document(), "alice", false);
        let own_mfa = "arn:aws:iam::123456789012:mfa/alice";
        assert!(d.allows("iam:CreateVirtualMFADevice", own_mfa, false));
        assert!(!denied(&d, "iam:CreateVirtualMFADevice", own_mfa));
        for action in [
            "iam:EnableMFADevice",
            "iam:ResyncMFADevice",
            "iam:ChangePassword",
        ] {
            assert!(d.allows(action, ALICE, false), "{action}");
        }
        assert!(denied(&d, "s3:GetObject", "arn:aws:s3:::bucket/key"));
        assert!(!d.allows("s3:GetObject", "arn:aws:s3:::bucket/key", false));
        // Someone else's MFA and deactivating one's own device need MFA.
        let bob = "arn:aws:iam::123456789012:user/bob";
        assert!(!d.allows("iam:EnableMFADevice", bob, false));
        assert!(!d.allows("iam:DeactivateMFADevice", ALICE, false));
        assert!(denied(&d, "iam:CreateAccessKey", ALICE));
    }

    #[test]
    fn with_mfa_nothing_is_denied() {
        let d = for_request(&enforce_mfa_document(), "alice", true);
        assert!(d.statements.iter().all(|s| s.effect == Effect::Allow));
        for (action, resource) in [
            ("s3:GetObject", "arn:aws:s3:::bucket/key"),
            ("iam:CreateAccessKey", ALICE),
            ("ec2:RunInstances", "*"),
        ] {
            assert!(!denied(&d, action, resource), "{action}");
        }
        assert!(d.allows("iam:DeactivateMFADevice", ALICE, false));
    }

    fn inventory(key: Option<KeyStatus>, inline: &[&str]) -> Inventory {
        let mut inv = Inventory {
            users: vec![User {
                id: "AIDAALICE".into(),
                arn: ALICE.into(),
                name: "alice".into(),
                inline_policies: inline.iter().map(|s| s.to_string()).collect(),
                ..User::default()
            }],
            access_keys: key
                .map(|status| AccessKey {
                    id: "AKIAALICE".into(),
                    user: "alice".into(),
                    status,
                    ..AccessKey::default()
                })
                .into_iter()
                .collect(),
            ..Inventory::default()
        };
        inv.normalize();
        inv
    }

    #[test]
    fn plans_the_policy_for_a_user_without_keys() {
        let inv = inventory(Some(KeyStatus::Inactive), &[]);
        let (out, skips) = expand_one(
            &inv,
            StepName::EnforceMfa,
            ResourceKind::User,
            0,
            &Value::Null,
        );
        assert!(skips.is_empty(), "{skips:?}");
        let [a] = out.as_slice() else {
            panic!("{out:?}")
        };
        assert_eq!(a.body.params_json()["policy_name"], ENFORCE_MFA_POLICY_NAME);
        assert_eq!(a.body.params_json()["document"], enforce_mfa_document());
        assert_eq!(
            a.body.precondition_json(),
            json!({"inline_policy_absent": ENFORCE_MFA_POLICY_NAME, "no_active_keys": true,
                   "user_id": "AIDAALICE"})
        );
    }

    #[test]
    fn skips_a_user_that_has_it_and_one_with_an_active_key() {
        let inv = inventory(None, &[ENFORCE_MFA_POLICY_NAME]);
        let (out, skips) = expand_one(
            &inv,
            StepName::EnforceMfa,
            ResourceKind::User,
            0,
            &Value::Null,
        );
        assert!(out.is_empty());
        assert!(skips[0].contains("already enforced"), "{skips:?}");

        let inv = inventory(Some(KeyStatus::Active), &[]);
        let (out, skips) = expand_one(
            &inv,
            StepName::EnforceMfa,
            ResourceKind::User,
            0,
            &Value::Null,
        );
        assert!(out.is_empty());
        assert!(skips[0].contains("AKIAALICE"), "{skips:?}");
        let (out, _) = expand_one(
            &inv,
            StepName::EnforceMfa,
            ResourceKind::User,
            0,
            &json!({"allow_active_keys": true, "policy_name": "mfa"}),
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].body.params_json()["policy_name"], "mfa");
        assert_eq!(out[0].body.precondition_json().get("no_active_keys"), None);
    }
}
