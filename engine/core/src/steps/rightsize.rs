//! `rightsize_policy` (reversible): least privilege from IAM's service last-accessed data. For
//! a user or role, each of its customer-managed and inline policies gets a narrowed document
//! with the services (and tracked actions) not used for `unused_for` (default `90d`) removed
//! ([`crate::policy::rightsize`]); one action per policy that changes.
//!
//! - A customer-managed policy gets a new default version (the oldest non-default version is
//!   deleted first when the policy has five, and kept so undo can recreate its document); undo
//!   sets the old default back and deletes the new version. A policy attached to anything else
//!   as well is left alone: narrowing it for one entity would cut the others.
//! - An inline policy's document is replaced; the old document is in the plan and the journal,
//!   and undo puts it back.
//! - AWS-managed policies are never touched (a skip says so: report only).
//!
//! "Not used for N days" is measured from the report's own completion time
//! (`service_access.generated_at`), so the same inventory always plans the same documents; a
//! service never used counts as idle since the entity's creation at most (a new entity's
//! services are not unused yet). Without a complete report (not read, failed, timed out)
//! nothing is planned: unknown is never unused.

use super::{
    param, params, Body, ChangeKind, Cx, ParamIssue, ParamKind, Parts, Safety, StepInfo, StepName,
    Target,
};
use crate::inventory::{
    AccessDataStatus, InlinePolicy, OwnerKind, ResourceKind, ResourceRef, ServiceAccess,
};
use crate::policy::rightsize::{narrow, Narrowed, ServiceUse, Usage};
use chrono::{DateTime, Duration, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The window when a pack gives none.
pub const DEFAULT_UNUSED_FOR: &str = "90d";

/// `rightsize_policy`.
pub const RIGHTSIZE: StepInfo = StepInfo {
    targets: &[ResourceKind::User, ResourceKind::Role],
    params: &[param(
        "unused_for",
        ParamKind::String,
        false,
        "duration, default `90d`",
    )],
    params_schema: super::schema_of::<RightsizeParams>,
    check_param: Some(check_param),
    safety: Safety::Reversible,
    change: ChangeKind::Change,
    diff: "one action per customer-managed or inline policy that narrows: `~ managed_policy` / `~ inline_policy` with the old and new `document`, `- unused_services`, `- unused_actions`, `+ added_actions` (`*` replaced by the used services), `+ left_as_is` (what could not be narrowed safely)",
    rank: 100,
    disables_credential: None,
    expand,
    verb: |b| {
        let Body::RightsizePolicy(p) = b else {
            return "will get a narrowed document".into();
        };
        let what = if p.params.policy_arn.is_some() {
            "will get a narrowed default version"
        } else {
            "will get a narrowed document"
        };
        let n = p.params.removed_actions.len();
        format!("{what} ({n} unused action patterns removed)")
    },
};

/// The parts of a `rightsize_policy` action.
pub type RightsizeParts =
    Parts<RightsizeActionParams, RightsizePrecondition, PolicyState, PolicyState>;

/// The params a pack writes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RightsizeParams {
    /// A service or action not used for this long is removed (a duration such as `90d`;
    /// default `90d`).
    #[serde(default)]
    pub unused_for: Option<String>,
}

fn check_param(name: &str, v: &Value) -> Vec<ParamIssue> {
    match (name, v.as_str()) {
        ("unused_for", Some(s)) if !s.contains("{{") => {
            match crate::ops::duration::parse_duration(s) {
                Ok(_) => Vec::new(),
                Err(e) => vec![ParamIssue {
                    key: String::new(),
                    message: e,
                    hint: None,
                }],
            }
        }
        _ => Vec::new(),
    }
}

/// The action's params: which policy, the new document and what it removes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RightsizeActionParams {
    /// The customer-managed policy (a new default version), or absent for an inline policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_arn: Option<String>,
    /// An inline policy's owner kind (`user` or `role`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_kind: Option<OwnerKind>,
    /// An inline policy's owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// An inline policy's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_name: Option<String>,
    /// The narrowed document.
    pub document: Value,
    /// The version deleted first to make room (a managed policy holds at most five).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_version_first: Option<String>,
    /// The window judged (`90d`).
    pub unused_for: String,
    /// The action patterns removed, as the old document wrote them.
    pub removed_actions: Vec<String>,
}

/// What apply re-reads: the document is the one the plan narrowed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RightsizePrecondition {
    /// sha256 hex of the document the plan narrowed.
    pub document_sha256: String,
    /// A managed policy's default version then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_version_id: Option<String>,
    /// A managed policy's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_id: Option<String>,
    /// An inline policy owner's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
}

/// A policy's document before or after, with what the diff shows of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyState {
    /// The document.
    pub document: Value,
    /// Before: the services whose every action goes (the diff shows them as removed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unused_services: Vec<String>,
    /// Before: the action patterns that go.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unused_actions: Vec<String>,
    /// After: the patterns added (`service:*` of each used service, replacing `*`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub added_actions: Vec<String>,
    /// After: what could not be narrowed safely and is kept as it was.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_as_is: Vec<String>,
}

/// Whether a service or action idle since `idle_since` (or last used at `last`) counts as
/// used within the window ending at `at`.
fn used_since(t: Option<DateTime<Utc>>, cutoff: DateTime<Utc>) -> bool {
    t.is_some_and(|t| t > cutoff)
}

/// The usage of one entity within `window` before its report.
pub fn usage_of(data: &ServiceAccess, created_at: DateTime<Utc>, window: Duration) -> Usage {
    let at = data.generated_at.unwrap_or(created_at);
    let cutoff = at - window;
    let tracking_start = at - Duration::days(crate::inventory::ACCESS_TRACKING_DAYS);
    let never = tracking_start.max(created_at);
    let mut u = Usage::default();
    for s in &data.services {
        let idle = s.last_authenticated_at.or(s.idle_since).or(Some(never));
        let actions = s
            .actions
            .iter()
            .map(|a| {
                (
                    a.action.to_ascii_lowercase(),
                    used_since(a.last_accessed_at.or(Some(never)), cutoff),
                )
            })
            .collect();
        u.services.insert(
            s.namespace.to_ascii_lowercase(),
            ServiceUse {
                used: used_since(idle, cutoff),
                actions,
            },
        );
    }
    u
}

fn expand(step: StepName, cx: &mut Cx<'_>, t: &Target<'_>, rendered: &Value) {
    let inv = cx.inv();
    let r = t.resource;
    let (owner_kind, name, created_at, data, attached, inline, service_linked) = match r.kind {
        ResourceKind::User => match inv.users.get(t.index) {
            Some(u) => (
                OwnerKind::User,
                &u.name,
                u.created_at,
                u.service_access.as_deref(),
                &u.attached_policies,
                &u.inline_policies,
                false,
            ),
            None => return,
        },
        ResourceKind::Role => match inv.roles.get(t.index) {
            Some(x) => (
                OwnerKind::Role,
                &x.name,
                x.created_at,
                x.service_access.as_deref(),
                &x.attached_policies,
                &x.inline_policies,
                x.service_linked,
            ),
            None => return,
        },
        _ => return,
    };
    if service_linked {
        cx.skip(r, step, "IAM manages the policies of service-linked roles");
        return;
    }
    let Some(wanted) = params::<RightsizeParams>(rendered) else {
        cx.skip(r, step, "the parameters do not fit the step");
        return;
    };
    let unused_for = wanted
        .unused_for
        .unwrap_or_else(|| DEFAULT_UNUSED_FOR.to_string());
    let window = match crate::ops::duration::parse_duration(&unused_for) {
        Ok(w) => w,
        Err(e) => {
            cx.skip(r, step, format!("unused_for `{unused_for}`: {e}"));
            return;
        }
    };
    let data = match data {
        None => {
            cx.skip(
                r,
                step,
                "no service last-accessed data for it (read the account with last-accessed data)",
            );
            return;
        }
        Some(d) if d.status != AccessDataStatus::Complete => {
            let why = d.error.as_deref().unwrap_or("no data");
            cx.skip(
                r,
                step,
                format!(
                    "its service last-accessed report is {}: {why}; unknown is never unused",
                    match d.status {
                        AccessDataStatus::Failed => "failed",
                        _ => "timed out",
                    }
                ),
            );
            return;
        }
        Some(d) => d,
    };
    let usage = usage_of(data, created_at, window);
    for arn in attached {
        if super::is_aws_managed(arn) {
            cx.skip(
                r,
                step,
                format!("{arn} is AWS-managed: never modified (report only)"),
            );
            continue;
        }
        let Some((pr, p)) = cx
            .ix
            .managed_policy(arn)
            .and_then(|i| Some((i, inv.managed_policies.get(i)?)))
        else {
            cx.skip(r, step, format!("{arn} is not in the inventory"));
            continue;
        };
        if p.attachment_count > 1 {
            cx.skip(
                r,
                step,
                format!(
                    "{arn} is attached to {} entities: narrowing it for one would cut the others",
                    p.attachment_count
                ),
            );
            continue;
        }
        let Some(n) = narrowed(cx, r, step, arn, &p.default_document, &usage) else {
            continue;
        };
        let drop = (p.versions.len() >= 5)
            .then(|| {
                p.versions
                    .iter()
                    .filter(|v| !v.is_default)
                    .min_by_key(|v| (v.created_at, v.version_id.clone()))
                    .map(|v| v.version_id.clone())
            })
            .flatten();
        let params = RightsizeActionParams {
            policy_arn: Some(p.arn.clone()),
            owner_kind: None,
            owner: None,
            policy_name: None,
            document: n.document.clone(),
            delete_version_first: drop,
            unused_for: unused_for.clone(),
            removed_actions: n.removed_actions.clone(),
        };
        let pre = RightsizePrecondition {
            document_sha256: crate::digest::document_sha256(&p.default_document),
            default_version_id: Some(p.default_version_id.clone()),
            policy_id: p.policy_id.clone(),
            owner_id: None,
        };
        let Some(res) = inv.resource_ref(ResourceKind::ManagedPolicy, pr) else {
            continue;
        };
        cx.propose(res, "", body(params, pre, states(&p.default_document, &n)));
    }
    for pname in inline {
        let id = format!("{}/{name}/{pname}", owner_kind.as_str());
        let Some((i, p)) = cx
            .ix
            .inline_policy(&id)
            .and_then(|i| Some((i, inv.inline_policies.get(i)?)))
        else {
            continue;
        };
        let Some(n) = narrowed(cx, r, step, &id, &p.document, &usage) else {
            continue;
        };
        let Some(res) = inv.resource_ref(ResourceKind::InlinePolicy, i) else {
            continue;
        };
        propose_inline(cx, res, p, &n, &unused_for);
    }
}

fn propose_inline(
    cx: &mut Cx<'_>,
    res: ResourceRef,
    p: &InlinePolicy,
    n: &Narrowed,
    unused_for: &str,
) {
    let params = RightsizeActionParams {
        policy_arn: None,
        owner_kind: Some(p.owner_kind),
        owner: Some(p.owner.clone()),
        policy_name: Some(p.name.clone()),
        document: n.document.clone(),
        delete_version_first: None,
        unused_for: unused_for.to_string(),
        removed_actions: n.removed_actions.clone(),
    };
    let pre = RightsizePrecondition {
        document_sha256: crate::digest::document_sha256(&p.document),
        default_version_id: None,
        policy_id: None,
        owner_id: cx.ix.owner_id(p.owner_kind, &p.owner),
    };
    cx.propose(res, "", body(params, pre, states(&p.document, n)));
}

/// The narrowed document of one policy, or `None` with a skip saying why not.
fn narrowed(
    cx: &mut Cx<'_>,
    r: &ResourceRef,
    step: StepName,
    what: &str,
    doc: &Value,
    usage: &Usage,
) -> Option<Narrowed> {
    match narrow(doc, usage) {
        Err(e) => {
            cx.skip(r, step, format!("{what}: {e}"));
            None
        }
        Ok(n) if !n.changed() => {
            let mut why = format!("{what}: nothing it grants is unused");
            if !n.left_alone.is_empty() {
                why.push_str(&format!(" ({})", n.left_alone.join("; ")));
            }
            cx.skip(r, step, why);
            None
        }
        Ok(n) => Some(n),
    }
}

/// The action's body from its parts.
fn body(
    params: RightsizeActionParams,
    precondition: RightsizePrecondition,
    (before, after): (PolicyState, PolicyState),
) -> Body {
    Body::RightsizePolicy(Box::new(Parts {
        params,
        precondition,
        before,
        after,
    }))
}

fn states(old: &Value, n: &Narrowed) -> (PolicyState, PolicyState) {
    (
        PolicyState {
            document: old.clone(),
            unused_services: n.removed_services.clone(),
            unused_actions: n.removed_actions.clone(),
            added_actions: Vec::new(),
            left_as_is: Vec::new(),
        },
        PolicyState {
            document: n.document.clone(),
            unused_services: Vec::new(),
            unused_actions: Vec::new(),
            added_actions: n.added_actions.clone(),
            left_as_is: n.left_alone.clone(),
        },
    )
}

pub(crate) mod live {
    //! `rightsize_policy`: apply's check (the document is still the one narrowed), calls (a
    //! new default version through `policy_versions`' once-only creation, or the inline
    //! document put) and reverse (the old default back and the new version deleted, or the old
    //! inline document put back).
    use super::RightsizeActionParams;
    use crate::steps::live::*;
    use crate::steps::policy_versions::live::{create_default_version_once, delete_version_once};

    fn params_of(a: &Action) -> Result<RightsizeActionParams, StepError> {
        Ok(parts_of!(a, RightsizePolicy)?.params.clone())
    }

    /// An inline target's owner kind, owner and policy name (missing: a malformed plan).
    fn inline_target(
        p: &RightsizeActionParams,
        a: &Action,
    ) -> Result<(&'static str, String, String), StepError> {
        match (&p.owner_kind, &p.owner, &p.policy_name) {
            (Some(k), Some(o), Some(n)) => Ok((k.as_str(), o.clone(), n.clone())),
            _ => Err(StepError::Plan(format!(
                "{}: `params` names neither a policy_arn nor an inline policy's owner_kind, owner and policy_name",
                a.id
            ))),
        }
    }

    pub(crate) async fn check<X: Exec>(x: &X, a: &Action) -> Result<Check, StepError> {
        let p = params_of(a)?;
        let pre = &parts_of!(a, RightsizePolicy)?.precondition;
        let want = p.document.clone();
        if let Some(arn) = p.policy_arn.as_deref() {
            let Some(current) = x.iam().policy_default(arn).await? else {
                return Ok(Check::Stale(format!("policy {arn} no longer exists")));
            };
            let doc = x.iam().policy_document(arn, &current).await?;
            if doc == want {
                return Ok(Check::Already(json!({"default_version_id": current})));
            }
            let planned = pre.default_version_id.as_deref().unwrap_or_default();
            if current != planned || crate::digest::document_sha256(&doc) != pre.document_sha256 {
                return Ok(Check::Stale(format!(
                    "the policy's default version is {current} with the document it has now; \
                     the plan narrowed {planned}"
                )));
            }
            return Ok(Check::Proceed(
                json!({"default_version_id": current, "document": doc}),
            ));
        }
        let (kind, owner, name) = inline_target(&p, a)?;
        Ok(match x.iam().inline(kind, &owner, &name).await? {
            None => Check::Stale(format!(
                "{kind} {owner} has no inline policy {name} any more"
            )),
            Some(doc) if doc == want => Check::Already(json!({"policy_name": name})),
            Some(doc) if crate::digest::document_sha256(&doc) != pre.document_sha256 => {
                Check::Stale("the inline policy's document changed since the plan was made".into())
            }
            Some(doc) => Check::Proceed(json!({"policy_name": name, "document": doc})),
        })
    }

    pub(crate) async fn execute<X: Exec>(
        x: &X,
        a: &Action,
        before: &Value,
    ) -> Result<Value, StepError> {
        let id = a.id.as_str();
        let p = params_of(a)?;
        let doc = p.document.clone();
        if let Some(arn) = p.policy_arn.as_deref() {
            let planned_default = before
                .get("default_version_id")
                .and_then(Value::as_str)
                .unwrap_or_default();
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
            let created = create_default_version_once(x, id, arn, &doc, planned_default).await?;
            return Ok(json!({"created_version_id": created, "deleted_version": deleted}));
        }
        let (kind, owner, name) = inline_target(&p, a)?;
        x.send(id, IamCall::put_inline(kind, &owner, &name, &doc))
            .await?;
        Ok(Value::Null)
    }

    pub(crate) fn reverse(
        a: &Action,
        before: &Value,
        after: &Value,
    ) -> (Vec<UndoOp>, Option<String>) {
        let p = match params_of(a) {
            Ok(p) => p,
            Err(e) => return irreversible(&e.to_string()),
        };
        if let Some(arn) = p.policy_arn.clone() {
            let mut ops = Vec::new();
            let mut note = None;
            match before.get("default_version_id").and_then(Value::as_str) {
                Some(prev) => ops.push(UndoOp::SetDefaultPolicyVersion {
                    policy_arn: arn.clone(),
                    version_id: prev.to_string(),
                }),
                None => return irreversible("the default version before was not recorded"),
            }
            // `default_version_id`: an interrupted earlier run's call landed, and the
            // check found the narrowed document as the default.
            if let Some(v) = after
                .get("created_version_id")
                .or_else(|| after.get("default_version_id"))
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
            {
                ops.push(UndoOp::DeletePolicyVersion {
                    policy_arn: arn.clone(),
                    version_id: v.to_string(),
                });
            }
            if let Some(d) = after.get("deleted_version").filter(|d| !d.is_null()) {
                if let Some(doc) = d.get("document") {
                    ops.push(UndoOp::CreatePolicyVersion {
                        policy_arn: arn.clone(),
                        document: doc.clone(),
                    });
                }
                note = Some(format!(
                    "version {} was deleted to make room; undo re-creates its document under a new version id",
                    d.get("version_id").and_then(Value::as_str).unwrap_or("?")
                ));
            }
            return (ops, note);
        }
        let (kind, owner, name) = match inline_target(&p, a) {
            Ok(t) => t,
            Err(e) => return irreversible(&e.to_string()),
        };
        match before.get("document") {
            Some(doc) => (
                vec![UndoOp::PutInlinePolicy {
                    entity: kind.into(),
                    name: owner,
                    policy_name: name,
                    document: doc.clone(),
                }],
                None,
            ),
            None => irreversible("the inline document before was not recorded"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{Inventory, ManagedPolicy, PolicyVersion, Role, ServiceLastAccessed};
    use crate::steps::tests::expand_one;
    use serde_json::json;

    const P: &str = "arn:aws:iam::123456789012:policy/shared";

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap_or_default()
    }

    /// A role with `shared` attached (attached to `others` more) and last-accessed data.
    fn inv(status: AccessDataStatus, others: usize, doc: Value) -> Inventory {
        let mut inv = Inventory::default();
        for i in 0..=others {
            inv.roles.push(Role {
                id: format!("AROA{i}"),
                arn: format!("arn:aws:iam::123456789012:role/r{i}"),
                name: format!("r{i}"),
                created_at: t("2024-01-01T00:00:00Z"),
                attached_policies: vec![P.into(), "arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
                service_access: Some(Box::new(ServiceAccess {
                    status,
                    generated_at: Some(t("2026-11-01T00:00:00Z")),
                    error: Some("boom".into()).filter(|_| status != AccessDataStatus::Complete),
                    services: vec![
                        ServiceLastAccessed {
                            namespace: "s3".into(),
                            last_authenticated_at: Some(t("2026-10-30T00:00:00Z")),
                            ..ServiceLastAccessed::default()
                        },
                        ServiceLastAccessed {
                            namespace: "sqs".into(),
                            ..ServiceLastAccessed::default()
                        },
                    ],
                })),
                ..Role::default()
            });
        }
        inv.managed_policies.push(ManagedPolicy {
            id: P.into(),
            arn: P.into(),
            name: "shared".into(),
            default_version_id: "v1".into(),
            versions: vec![PolicyVersion {
                version_id: "v1".into(),
                is_default: true,
                created_at: None,
                document: doc,
            }],
            ..ManagedPolicy::default()
        });
        inv.normalize();
        inv
    }

    fn doc(actions: Value) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]})
    }

    fn run(inv: &Inventory, params: Value) -> (Vec<super::super::Proposed>, Vec<String>) {
        expand_one(
            inv,
            StepName::RightsizePolicy,
            ResourceKind::Role,
            0,
            &params,
        )
    }

    #[test]
    fn a_policy_of_one_role_is_narrowed_and_aws_managed_ones_are_report_only() {
        let (out, skips) = run(
            &inv(AccessDataStatus::Complete, 0, doc(json!(["s3:*", "sqs:*"]))),
            Value::Null,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].body.params_json()["document"], doc(json!(["s3:*"])));
        assert_eq!(out[0].body.params_json()["unused_for"], json!("90d"));
        assert_eq!(out[0].resource.kind, ResourceKind::ManagedPolicy);
        assert_eq!(
            skips,
            ["arn:aws:iam::aws:policy/ReadOnlyAccess is AWS-managed: never modified (report only)"]
        );
    }

    #[test]
    fn a_shared_policy_is_left_alone() {
        let (out, skips) = run(
            &inv(AccessDataStatus::Complete, 1, doc(json!(["s3:*", "sqs:*"]))),
            Value::Null,
        );
        assert!(out.is_empty());
        assert!(
            skips.iter().any(|s| s.contains("attached to 2 entities")),
            "{skips:?}"
        );
    }

    #[test]
    fn a_failed_or_timed_out_report_plans_nothing() {
        for status in [AccessDataStatus::Failed, AccessDataStatus::TimedOut] {
            let (out, skips) = run(&inv(status, 0, doc(json!("sqs:*"))), Value::Null);
            assert!(out.is_empty());
            assert!(skips[0].contains("unknown is never unused"), "{skips:?}");
        }
    }

    #[test]
    fn nothing_left_or_nothing_unused_is_a_skip_and_the_window_is_a_param() {
        let (out, skips) = run(
            &inv(AccessDataStatus::Complete, 0, doc(json!("sqs:*"))),
            Value::Null,
        );
        assert!(out.is_empty());
        assert!(
            skips
                .iter()
                .any(|s| s.contains("nothing this policy allows was used")),
            "{skips:?}"
        );
        let (out, skips) = run(
            &inv(AccessDataStatus::Complete, 0, doc(json!("s3:*"))),
            Value::Null,
        );
        assert!(out.is_empty());
        assert!(
            skips
                .iter()
                .any(|s| s.contains("nothing it grants is unused")),
            "{skips:?}"
        );
        // A window longer than IAM's record: sqs is idle since 2024-01-01 (the role's
        // creation is before the tracking start, so since 2025-09-27): not 800 days.
        let (out, _) = run(
            &inv(AccessDataStatus::Complete, 0, doc(json!(["s3:*", "sqs:*"]))),
            json!({"unused_for": "800d"}),
        );
        assert!(out.is_empty());
    }

    #[test]
    fn the_window_param_is_checked_at_load() {
        assert!(check_param("unused_for", &json!("90d")).is_empty());
        assert!(check_param("unused_for", &json!("{{params.days}}d")).is_empty());
        assert_eq!(check_param("unused_for", &json!("ninety")).len(), 1);
    }
}
