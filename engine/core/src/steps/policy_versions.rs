//! Policy-version steps on customer-managed policies (reversible): `replace_policy_document`
//! makes a new default version from `document` (deleting the oldest non-default version first
//! when the policy has five; that version is kept in the plan so undo can recreate it), and
//! `set_default_policy_version` makes another existing version the default (`version_id`,
//! default `previous`: the newest version older than the default, never a newer one).

use super::{
    customer_policy, param, params, Body, ChangeKind, Cx, ParamKind, Parts, Safety, StepInfo,
    StepName, Target,
};
use crate::inventory::ResourceKind;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `replace_policy_document`.
pub const REPLACE: StepInfo = StepInfo {
    targets: &[ResourceKind::ManagedPolicy],
    params: &[param("document", ParamKind::Object, true, "")],
    params_schema: super::schema_of::<ReplaceParams>,
    check_param: None,
    safety: Safety::Reversible,
    change: ChangeKind::Change,
    diff: "`~ managed_policy`: `default_version_id = \"v2\" -> \"(new)\"`, old and new `document`",
    rank: 100,
    disables_credential: None,
    expand,
    verb: |_| "will get a new default version".into(),
};

/// The parts of a `replace_policy_document` action.
pub type ReplaceParts =
    Parts<ReplaceActionParams, VersionPrecondition, ReplaceBefore, VersionState>;

/// `set_default_policy_version`.
pub const SET_DEFAULT: StepInfo = StepInfo {
    targets: &[ResourceKind::ManagedPolicy],
    params: &[param(
        "version_id",
        ParamKind::String,
        false,
        "default `previous`",
    )],
    params_schema: super::schema_of::<SetDefaultParams>,
    check_param: None,
    safety: Safety::Reversible,
    change: ChangeKind::Change,
    diff: "`~ managed_policy`: `default_version_id`, `document`",
    rank: 101,
    disables_credential: None,
    expand,
    verb: |b| match b {
        Body::SetDefaultPolicyVersion(p) => {
            format!("will make {} the default version", p.params.version_id)
        }
        _ => "will make another version the default".into(),
    },
};

/// The parts of a `set_default_policy_version` action.
pub type SetDefaultParts =
    Parts<SetDefaultActionParams, VersionPrecondition, VersionState, VersionState>;

/// The params of `replace_policy_document` a pack writes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceParams {
    /// The new policy document (required).
    pub document: Value,
}

/// The params of `set_default_policy_version` a pack writes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetDefaultParams {
    /// The version to make the default (default `previous`).
    #[serde(default)]
    pub version_id: Option<String>,
}

/// `replace_policy_document`'s action params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceActionParams {
    /// The policy.
    pub policy_arn: String,
    /// The new document.
    pub document: Value,
    /// The version deleted first to make room (a policy holds at most five).
    pub delete_version_first: Option<String>,
}

/// `set_default_policy_version`'s action params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetDefaultActionParams {
    /// The policy.
    pub policy_arn: String,
    /// The version made the default.
    pub version_id: String,
}

/// What apply re-reads: the default version and the policy's id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionPrecondition {
    /// The default version.
    pub default_version_id: String,
    /// The policy's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_id: Option<String>,
}

/// A default version and its document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionState {
    /// The default version (`(new)` for the one a replace creates).
    pub default_version_id: String,
    /// Its document.
    pub document: Value,
}

/// A version kept so undo can recreate it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeptVersion {
    /// The version.
    pub version_id: String,
    /// Its document.
    pub document: Value,
}

/// The policy before a replace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceBefore {
    /// The default version.
    pub default_version_id: String,
    /// Its document.
    pub document: Value,
    /// The version deleted to make room, if any.
    pub deleted_version: Option<KeptVersion>,
}

fn version_number(v: &str) -> u64 {
    v.trim_start_matches('v').parse().unwrap_or(0)
}

fn expand(step: StepName, cx: &mut Cx<'_>, t: &Target<'_>, rendered: &Value) {
    let Some(p) = customer_policy(cx, step, t) else {
        return;
    };
    let r = t.resource;
    let pre = VersionPrecondition {
        default_version_id: p.default_version_id.clone(),
        policy_id: cx.ix.entity_ids(r).policy_id,
    };
    if step == StepName::ReplacePolicyDocument {
        let doc = params::<ReplaceParams>(rendered)
            .map(|w| w.document)
            .unwrap_or(Value::Null);
        if doc == p.default_document {
            cx.skip(r, step, "the default version already has this document");
            return;
        }
        let drop = (p.versions.len() >= 5)
            .then(|| {
                p.versions
                    .iter()
                    .filter(|v| !v.is_default)
                    .min_by_key(|v| (v.created_at, v.version_id.clone()))
                    .map(|v| v.version_id.clone())
            })
            .flatten();
        let deleted_version = drop
            .as_ref()
            .and_then(|id| p.versions.iter().find(|v| &v.version_id == id))
            .map(|v| KeptVersion {
                version_id: v.version_id.clone(),
                document: v.document.clone(),
            });
        let params = ReplaceActionParams {
            policy_arn: p.arn.clone(),
            document: doc.clone(),
            delete_version_first: drop,
        };
        let before = ReplaceBefore {
            default_version_id: p.default_version_id.clone(),
            document: p.default_document.clone(),
            deleted_version,
        };
        let after = VersionState {
            default_version_id: "(new)".into(),
            document: doc,
        };
        cx.propose(
            r.clone(),
            "",
            Body::ReplacePolicyDocument(Box::new(Parts {
                params,
                precondition: pre,
                before,
                after,
            })),
        );
        return;
    }
    let wanted: SetDefaultParams = params(rendered).unwrap_or_default();
    let want = wanted.version_id.unwrap_or_else(|| "previous".into());
    let target = if want == "previous" {
        // The newest version older than the default: by creation time when both are known,
        // by version number otherwise. Never a newer one.
        let default = p.versions.iter().find(|v| v.is_default);
        let default_created = default.and_then(|v| v.created_at);
        let default_number = version_number(&p.default_version_id);
        p.versions
            .iter()
            .filter(|v| {
                !v.is_default
                    && match (v.created_at, default_created) {
                        (Some(c), Some(d)) => c <= d,
                        _ => version_number(&v.version_id) < default_number,
                    }
            })
            .max_by_key(|v| (v.created_at, version_number(&v.version_id)))
            .map(|v| v.version_id.clone())
    } else {
        p.versions
            .iter()
            .find(|v| v.version_id == want)
            .map(|v| v.version_id.clone())
    };
    let Some(target) = target else {
        cx.skip(r, step, format!("no version `{want}` to make the default"));
        return;
    };
    if target == p.default_version_id {
        cx.skip(r, step, format!("{target} is already the default"));
        return;
    }
    let doc = p
        .versions
        .iter()
        .find(|v| v.version_id == target)
        .map(|v| v.document.clone())
        .unwrap_or_default();
    let params = SetDefaultActionParams {
        policy_arn: p.arn.clone(),
        version_id: target.clone(),
    };
    let before = VersionState {
        default_version_id: p.default_version_id.clone(),
        document: p.default_document.clone(),
    };
    let after = VersionState {
        default_version_id: target,
        document: doc,
    };
    cx.propose(
        r.clone(),
        "",
        Body::SetDefaultPolicyVersion(Box::new(Parts {
            params,
            precondition: pre,
            before,
            after,
        })),
    );
}

pub(crate) mod live {
    //! `replace_policy_document` and `set_default_policy_version`: apply's check, calls (a new
    //! default version, making room when AWS's five are taken; each resolved by re-reading when
    //! unanswered, never more than one version per action) and reverse.
    use super::{KeptVersion, VersionState};
    use crate::steps::live::*;
    use serde::Deserialize;

    /// What an action of either step wants: a new default document, or another version made
    /// the default.
    enum Want {
        Document(Value),
        Version(String),
    }

    /// The action's policy and what it wants.
    fn target(a: &Action) -> Result<(String, Want), StepError> {
        Ok(match &a.body {
            Body::ReplacePolicyDocument(p) => (
                p.params.policy_arn.clone(),
                Want::Document(p.params.document.clone()),
            ),
            Body::SetDefaultPolicyVersion(p) => (
                p.params.policy_arn.clone(),
                Want::Version(p.params.version_id.clone()),
            ),
            _ => return Err(wrong_body(a)),
        })
    }

    pub(crate) async fn check<X: Exec>(x: &X, a: &Action) -> Result<Check, StepError> {
        let (arn, want) = target(a)?;
        let pre = match &a.body {
            Body::ReplacePolicyDocument(p) => p.precondition.clone(),
            Body::SetDefaultPolicyVersion(p) => p.precondition.clone(),
            _ => return Err(wrong_body(a)),
        };
        let Some(current) = x.iam().policy_default(&arn).await? else {
            return Ok(Check::Stale(format!("policy {arn} no longer exists")));
        };
        let planned = pre.default_version_id;
        let current_doc = x.iam().policy_document(&arn, &current).await?;
        let already = match &want {
            Want::Document(doc) => current_doc == *doc,
            Want::Version(v) => current == *v,
        };
        if already {
            return Ok(Check::Already(json!({"default_version_id": current})));
        }
        if current != planned {
            return Ok(Check::Stale(format!(
                "the policy's default version is {current} now; the plan saw {planned}"
            )));
        }
        Ok(Check::Proceed(
            json!({"default_version_id": current, "document": current_doc}),
        ))
    }

    /// `before` is the check's read (a [`VersionState`]).
    pub(crate) async fn execute<X: Exec>(
        x: &X,
        a: &Action,
        before: &Value,
    ) -> Result<Value, StepError> {
        let id = a.id.as_str();
        let (arn, want) = target(a)?;
        let arn = arn.as_str();
        let doc = match want {
            Want::Version(version_id) => {
                let call = IamCall::SetDefaultPolicyVersion {
                    policy_arn: arn.to_string(),
                    version_id,
                };
                x.send(id, call).await?;
                return Ok(Value::Null);
            }
            Want::Document(doc) => doc,
        };
        let planned_default = part::<VersionState>(a, "before", before)?.default_version_id;
        let versions = x.iam().policy_versions(arn).await?;
        let mut deleted = Value::Null;
        if versions.len() >= 5 {
            // AWS keeps five versions: drop the oldest non-default one (kept for undo).
            if let Some((vid, _, _)) = versions.iter().find(|(_, d, _)| !d) {
                let old = x.iam().policy_document(arn, vid).await?;
                delete_version_once(x, id, arn, vid).await?;
                deleted = json!({"version_id": vid, "document": old});
            }
        }
        let created = create_default_version_once(x, id, arn, &doc, &planned_default).await?;
        Ok(json!({"created_version_id": created, "deleted_version": deleted}))
    }

    /// The journal's `before` of an applied action, as reverse reads it: the default version
    /// the check saw (absent when the action was found applied by a re-read).
    #[derive(Debug, Default, Deserialize)]
    struct Previous {
        #[serde(default)]
        default_version_id: Option<String>,
    }

    /// The journal's `after` of an applied replace: what [`execute`] returned (the version
    /// created, the version deleted to make room), or, when a re-read found it applied, the
    /// check's `{"default_version_id": ...}`.
    #[derive(Debug, Default, Deserialize)]
    struct Outcome {
        #[serde(default)]
        created_version_id: Option<String>,
        #[serde(default)]
        default_version_id: Option<String>,
        #[serde(default)]
        deleted_version: Option<KeptVersion>,
    }

    /// `DeletePolicyVersion`; an unanswered attempt is resolved by listing the versions (gone:
    /// done; still there: sent once more).
    pub(crate) async fn delete_version_once<X: Exec>(
        x: &X,
        id: &str,
        arn: &str,
        vid: &str,
    ) -> Result<(), StepError> {
        let call = IamCall::DeletePolicyVersion {
            policy_arn: arn.to_string(),
            version_id: vid.to_string(),
        };
        let mut sent = 0;
        loop {
            sent += 1;
            match x.send(id, call.clone()).await {
                Ok(_) => return Ok(()),
                Err(e) if e.is_unknown() => {
                    x.wait_settle().await;
                    let still = has_version(x, arn, vid)
                        .await
                        .map_err(|re| unresolved(&e, &re))?;
                    if !still {
                        return Ok(());
                    }
                    if sent >= 2 {
                        return Err(resolved_failure(
                            &e,
                            &format!("version {vid} still exists: not applied"),
                        ));
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// `CreatePolicyVersion` as the default (not idempotent: each accepted call is a new
    /// version). An unanswered attempt is resolved by reading the default version: the
    /// planned document is the default -> created (that version); the default is still the
    /// one the plan saw -> not created, sent once more; anything else -> failed. Never more
    /// than one version per action.
    pub(crate) async fn create_default_version_once<X: Exec>(
        x: &X,
        id: &str,
        arn: &str,
        doc: &Value,
        planned_default: &str,
    ) -> Result<String, StepError> {
        let call = IamCall::CreatePolicyVersion {
            policy_arn: arn.to_string(),
            set_as_default: true,
            document: doc.clone(),
        };
        let mut sent = 0;
        loop {
            sent += 1;
            match x.send(id, call.clone()).await {
                Ok(crate::iam::CallOk::CreatedVersion(v)) => return Ok(v),
                Ok(_) => return Ok(String::new()),
                Err(e) if e.is_unknown() => {
                    x.wait_settle().await;
                    let reread = async {
                        let Some(current) = x.iam().policy_default(arn).await? else {
                            return Ok::<_, StepError>((None, Value::Null));
                        };
                        let d = x.iam().policy_document(arn, &current).await?;
                        Ok((Some(current), d))
                    };
                    let (current, current_doc) = reread.await.map_err(|re| unresolved(&e, &re))?;
                    match current {
                        Some(v) if current_doc == *doc => return Ok(v),
                        Some(v) if v == planned_default && sent < 2 => {}
                        Some(v) if v == planned_default => {
                            return Err(resolved_failure(
                                &e,
                                &format!("the default version is still {v}: not applied"),
                            ))
                        }
                        Some(v) => {
                            return Err(resolved_failure(
                                &e,
                                &format!(
                                    "the default version is {v} with another document: neither \
                                 the planned state nor the state before"
                                ),
                            ))
                        }
                        None => return Err(resolved_failure(&e, "the policy no longer exists")),
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    pub(crate) fn reverse(
        a: &Action,
        before: &Value,
        after: &Value,
    ) -> (Vec<UndoOp>, Option<String>) {
        let arn = match target(a) {
            Ok((arn, _)) => arn,
            Err(e) => return irreversible(&e.to_string()),
        };
        let before: Previous = part(a, "before", before).unwrap_or_default();
        let mut ops = Vec::new();
        let mut note = None;
        if let Some(prev) = before.default_version_id {
            ops.push(UndoOp::SetDefaultPolicyVersion {
                policy_arn: arn.clone(),
                version_id: prev,
            });
        }
        if a.step() == StepName::ReplacePolicyDocument {
            let after: Outcome = part(a, "after", after).unwrap_or_default();
            if let Some(v) = after.created_version_id.or(after.default_version_id) {
                ops.push(UndoOp::DeletePolicyVersion {
                    policy_arn: arn.clone(),
                    version_id: v,
                });
            }
            if let Some(d) = after.deleted_version {
                ops.push(UndoOp::CreatePolicyVersion {
                    policy_arn: arn.clone(),
                    document: d.document,
                });
                note = Some(format!(
                    "version {} was deleted to make room; undo re-creates its document under a new version id",
                    d.version_id
                ));
            }
        }
        (ops, note)
    }

    /// Whether the policy has this version now.
    pub(crate) async fn has_version<X: Exec>(
        x: &X,
        arn: &str,
        vid: &str,
    ) -> Result<bool, StepError> {
        Ok(x.iam()
            .policy_versions(arn)
            .await?
            .iter()
            .any(|(v, _, _)| v == vid))
    }

    /// How many versions of the policy hold this document.
    pub(crate) async fn copies<X: Exec>(
        x: &X,
        arn: &str,
        document: &Value,
    ) -> Result<usize, StepError> {
        let mut n = 0;
        for (v, _, _) in x.iam().policy_versions(arn).await? {
            if x.iam().policy_document(arn, &v).await? == *document {
                n += 1;
            }
        }
        Ok(n)
    }
}
