//! `replace_policy_document` and `set_default_policy_version`: apply's check, calls (a new
//! default version, making room when AWS's five are taken; each resolved by re-reading when
//! unanswered, never more than one version per action) and reverse.

use super::*;

pub(super) async fn check<I: Iam>(x: &Executor<I>, a: &Action) -> Result<Check, StepError> {
    let arn = param(a, "policy_arn")?;
    let Some(current) = x.policy_default(arn).await? else {
        return Ok(Check::Stale(format!("policy {arn} no longer exists")));
    };
    let planned = a
        .precondition
        .get("default_version_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let current_doc = x.policy_document(arn, &current).await?;
    if a.action == StepName::ReplacePolicyDocument {
        let want = a.params.get("document").cloned().unwrap_or(Value::Null);
        if current_doc == want {
            return Ok(Check::Already(json!({"default_version_id": current})));
        }
    } else if Some(current.as_str()) == a.params.get("version_id").and_then(Value::as_str) {
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

pub(super) async fn execute<I: Iam>(
    x: &Executor<I>,
    a: &Action,
    before: &Value,
) -> Result<Value, StepError> {
    let id = a.id.as_str();
    let arn = param(a, "policy_arn")?;
    if a.action == StepName::SetDefaultPolicyVersion {
        let call = IamCall::SetDefaultPolicyVersion {
            policy_arn: arn.to_string(),
            version_id: param(a, "version_id")?.to_string(),
        };
        x.send(id, call).await?;
        return Ok(Value::Null);
    }
    let doc = a.params.get("document").cloned().unwrap_or(Value::Null);
    let planned_default = before
        .get("default_version_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let versions = x.policy_versions(arn).await?;
    let mut deleted = Value::Null;
    if versions.len() >= 5 {
        // AWS keeps five versions: drop the oldest non-default one (kept for undo).
        if let Some((vid, _, _)) = versions.iter().find(|(_, d, _)| !d) {
            let old = x.policy_document(arn, vid).await?;
            delete_version_once(x, id, arn, vid).await?;
            deleted = json!({"version_id": vid, "document": old});
        }
    }
    let created = create_default_version_once(x, id, arn, &doc, planned_default).await?;
    Ok(json!({"created_version_id": created, "deleted_version": deleted}))
}

/// `DeletePolicyVersion`; an unanswered attempt is resolved by listing the versions (gone:
/// done; still there: sent once more).
async fn delete_version_once<I: Iam>(
    x: &Executor<I>,
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
async fn create_default_version_once<I: Iam>(
    x: &Executor<I>,
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
            Ok(crate::iam::CallOk::Empty) => return Ok(String::new()),
            Err(e) if e.is_unknown() => {
                x.wait_settle().await;
                let reread = async {
                    let Some(current) = x.policy_default(arn).await? else {
                        return Ok::<_, StepError>((None, Value::Null));
                    };
                    let d = x.policy_document(arn, &current).await?;
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

pub(super) fn reverse(a: &Action, before: &Value, after: &Value) -> (Vec<UndoOp>, Option<String>) {
    let arn = param_or_empty(a, "policy_arn");
    let mut ops = Vec::new();
    let mut note = None;
    if let Some(prev) = before.get("default_version_id").and_then(Value::as_str) {
        ops.push(UndoOp::SetDefaultPolicyVersion {
            policy_arn: arn.clone(),
            version_id: prev.to_string(),
        });
    }
    if a.action == StepName::ReplacePolicyDocument {
        let created = after
            .get("created_version_id")
            .or_else(|| after.get("default_version_id"))
            .and_then(Value::as_str);
        if let Some(v) = created {
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
    }
    (ops, note)
}

/// Whether the policy has this version now.
pub(super) async fn has_version<I: Iam>(
    x: &Executor<I>,
    arn: &str,
    vid: &str,
) -> Result<bool, StepError> {
    Ok(x.policy_versions(arn)
        .await?
        .iter()
        .any(|(v, _, _)| v == vid))
}

/// How many versions of the policy hold this document.
pub(super) async fn copies<I: Iam>(
    x: &Executor<I>,
    arn: &str,
    document: &Value,
) -> Result<usize, StepError> {
    let mut n = 0;
    for (v, _, _) in x.policy_versions(arn).await? {
        if x.policy_document(arn, &v).await? == *document {
            n += 1;
        }
    }
    Ok(n)
}
