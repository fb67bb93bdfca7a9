//! What undo will do, shown before it runs (and alone with `undo --dry-run`): per applied
//! action, newest first, each reversing call in words (which policy is re-attached where, which
//! key reactivated, which tags restored), the call count, and what cannot be undone. Never a
//! secret: undo restores no password and no key secret, and the journal holds none.

use crate::plan::outcome::{UndoEntry, UndoPlan};
use crate::steps::UndoOp;
use serde_json::{json, Value};
use std::io::{self, Write};

/// The API call an undo op makes, and what it does, in words.
pub fn describe_op(op: &UndoOp) -> (&'static str, String) {
    match op {
        UndoOp::UpdateAccessKey {
            user,
            access_key_id,
            status,
        } => (
            "UpdateAccessKey",
            if status == "Active" {
                format!("reactivate access key {access_key_id} of user {user}")
            } else {
                format!("set access key {access_key_id} of user {user} back to {status}")
            },
        ),
        UndoOp::UpdateLoginProfile {
            user,
            password_reset_required,
        } => (
            "UpdateLoginProfile",
            format!(
                "set password-reset-required back to {password_reset_required} on user {user}'s \
                 console login (the password itself is not touched)"
            ),
        ),
        UndoOp::AttachPolicy {
            entity,
            name,
            policy_arn,
        } => (
            attach_call(entity),
            format!("re-attach policy {policy_arn} to {entity} {name}"),
        ),
        UndoOp::PutInlinePolicy {
            entity,
            name,
            policy_name,
            document,
        } => (
            put_call(entity),
            format!(
                "put inline policy {policy_name} back on {entity} {name} (its old document, {} \
                 statement(s))",
                statements(document)
            ),
        ),
        UndoOp::DeleteInlinePolicy {
            entity,
            name,
            policy_name,
        } => (
            delete_inline_call(entity),
            format!("delete inline policy {policy_name} that apply added to {entity} {name}"),
        ),
        UndoOp::AddUserToGroup { user, group } => (
            "AddUserToGroup",
            format!("add user {user} back to group {group}"),
        ),
        UndoOp::SetDefaultPolicyVersion {
            policy_arn,
            version_id,
        } => (
            "SetDefaultPolicyVersion",
            format!("make version {version_id} the default of policy {policy_arn} again"),
        ),
        UndoOp::DeletePolicyVersion {
            policy_arn,
            version_id,
        } => (
            "DeletePolicyVersion",
            format!("delete version {version_id} of policy {policy_arn}, which apply created"),
        ),
        UndoOp::CreatePolicyVersion {
            policy_arn,
            document,
        } => (
            "CreatePolicyVersion",
            format!(
                "re-create the version of policy {policy_arn} apply deleted to make room (not \
                 as default; {} statement(s))",
                statements(document)
            ),
        ),
        UndoOp::UpdatePasswordPolicy { settings } => (
            "UpdateAccountPasswordPolicy",
            format!(
                "restore the account password policy to {}",
                compact(&serde_json::to_value(settings).unwrap_or_default())
            ),
        ),
        UndoOp::DeletePasswordPolicy => (
            "DeleteAccountPasswordPolicy",
            "delete the account password policy (the account had none before)".to_string(),
        ),
        UndoOp::Tag { kind, name, tags } => (
            tag_call(kind),
            format!(
                "restore tag(s) {} on {} {name}",
                tags.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                kind_word(kind)
            ),
        ),
        UndoOp::DeleteAccessKey {
            user,
            access_key_id,
        } => (
            "DeleteAccessKey",
            format!("delete access key {access_key_id} of user {user}, which apply created"),
        ),
        UndoOp::DeleteSecret { secret_id } => (
            "DeleteSecret",
            format!("delete secret {secret_id}, which apply created (no recovery window)"),
        ),
        UndoOp::RestoreSecretVersion {
            secret_id,
            move_to,
            remove_from,
        } => (
            "UpdateSecretVersionStage",
            format!(
                "move AWSCURRENT of secret {secret_id} back to version {move_to} (from \
                 {remove_from})"
            ),
        ),
        UndoOp::Untag { kind, name, keys } => (
            untag_call(kind),
            format!(
                "remove tag(s) {} that apply added from {} {name}",
                keys.join(", "),
                kind_word(kind)
            ),
        ),
    }
}

fn attach_call(entity: &str) -> &'static str {
    match entity {
        "group" => "AttachGroupPolicy",
        "role" => "AttachRolePolicy",
        _ => "AttachUserPolicy",
    }
}

fn put_call(entity: &str) -> &'static str {
    match entity {
        "group" => "PutGroupPolicy",
        "role" => "PutRolePolicy",
        _ => "PutUserPolicy",
    }
}

fn delete_inline_call(entity: &str) -> &'static str {
    match entity {
        "group" => "DeleteGroupPolicy",
        "role" => "DeleteRolePolicy",
        _ => "DeleteUserPolicy",
    }
}

fn tag_call(kind: &str) -> &'static str {
    match kind {
        "role" => "TagRole",
        "managed_policy" => "TagPolicy",
        _ => "TagUser",
    }
}

fn untag_call(kind: &str) -> &'static str {
    match kind {
        "role" => "UntagRole",
        "managed_policy" => "UntagPolicy",
        _ => "UntagUser",
    }
}

fn kind_word(kind: &str) -> &str {
    match kind {
        "managed_policy" => "policy",
        k => k,
    }
}

fn statements(doc: &Value) -> usize {
    match doc.get("Statement") {
        Some(Value::Array(a)) => a.len(),
        Some(_) => 1,
        None => 0,
    }
}

fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// What undo does with one entry.
enum Fate<'a> {
    Reverse(&'a [UndoOp]),
    Done,
    Irreversible(String),
}

fn fate(e: &UndoEntry) -> Fate<'_> {
    if e.already_undone {
        Fate::Done
    } else if e.ops.is_empty() {
        Fate::Irreversible(
            e.irreversible
                .clone()
                .unwrap_or_else(|| "nothing was recorded to reverse it".to_string()),
        )
    } else {
        Fate::Reverse(&e.ops)
    }
}

/// The counts under the diff: calls, actions reversed, irreversible, already undone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UndoCounts {
    /// Calls undo will make.
    pub calls: usize,
    /// Actions it reverses.
    pub reversed: usize,
    /// Actions that cannot be undone.
    pub irreversible: usize,
    /// Actions an earlier undo already reversed.
    pub already_undone: usize,
}

/// Counts `plan`'s entries.
pub fn counts(plan: &UndoPlan) -> UndoCounts {
    let mut c = UndoCounts::default();
    for e in &plan.entries {
        match fate(e) {
            Fate::Reverse(ops) => {
                c.reversed += 1;
                c.calls += ops.len();
            }
            Fate::Done => c.already_undone += 1,
            Fate::Irreversible(_) => c.irreversible += 1,
        }
    }
    c
}

/// The undo diff for people. `journal` names the file it was read from.
pub fn human(plan: &UndoPlan, journal: &str, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "Undo of {journal} (plan {}, account {}), newest first:",
        plan.plan_sha256, plan.account_id
    )?;
    writeln!(out)?;
    for e in &plan.entries {
        match fate(e) {
            Fate::Reverse(ops) => {
                writeln!(out, "  ~ undo {} {}  [{}]", e.step, e.target, e.action)?;
                for op in ops {
                    let (call, what) = describe_op(op);
                    writeln!(out, "      {call}: {what}")?;
                }
                if let Some(note) = &e.irreversible {
                    writeln!(out, "      ! not restored: {note}")?;
                }
            }
            Fate::Done => writeln!(
                out,
                "  = {} {}  [{}]: undone by an earlier undo run",
                e.step, e.target, e.action
            )?,
            Fate::Irreversible(why) => writeln!(
                out,
                "  ! cannot undo {} {}  [{}]: {why}",
                e.step, e.target, e.action
            )?,
        }
    }
    let c = counts(plan);
    writeln!(out)?;
    writeln!(
        out,
        "Undo: {} call(s) to reverse {} action(s); {} cannot be undone; {} undone already.",
        c.calls, c.reversed, c.irreversible, c.already_undone
    )
}

/// The undo diff as JSON: every entry with its fate and each op with its call and words.
pub fn json(plan: &UndoPlan, journal: &str, out: &mut dyn Write) -> io::Result<()> {
    let c = counts(plan);
    let entries: Vec<Value> = plan
        .entries
        .iter()
        .map(|e| {
            let (status, why) = match fate(e) {
                Fate::Reverse(_) => ("undo", e.irreversible.clone()),
                Fate::Done => ("already_undone", None),
                Fate::Irreversible(why) => ("irreversible", Some(why)),
            };
            let ops: Vec<Value> = if e.already_undone {
                Vec::new()
            } else {
                e.ops
                    .iter()
                    .map(|op| {
                        let (call, what) = describe_op(op);
                        json!({"call": call, "does": what, "op": op})
                    })
                    .collect()
            };
            json!({
                "action": e.action,
                "step": e.step,
                "target": e.target,
                "status": status,
                "calls": ops,
                "irreversible": why,
            })
        })
        .collect();
    let doc = json!({
        "journal": journal,
        "plan_sha256": plan.plan_sha256,
        "account_id": plan.account_id,
        "entries": entries,
        "summary": {
            "calls": c.calls,
            "reversed": c.reversed,
            "irreversible": c.irreversible,
            "already_undone": c.already_undone,
        },
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use std::collections::BTreeMap;

    const ARN: &str = "arn:aws:iam::123456789012:policy/Admin";

    fn entry(action: &str, step: &str, target: &str, ops: Vec<UndoOp>) -> UndoEntry {
        UndoEntry {
            action: action.into(),
            step: step.into(),
            target: target.into(),
            ops,
            irreversible: None,
            already_undone: false,
        }
    }

    /// One entry per kind of op, an irreversible one, a partial one and one undone already.
    fn sample() -> UndoPlan {
        let mut partial = entry(
            "a-quarantine",
            "quarantine_user",
            "mallory",
            vec![
                UndoOp::DeleteInlinePolicy {
                    entity: "user".into(),
                    name: "mallory".into(),
                    policy_name: "iamwarden-quarantine".into(),
                },
                UndoOp::Untag {
                    kind: "user".into(),
                    name: "mallory".into(),
                    keys: vec!["iamwarden:quarantined".into()],
                },
            ],
        );
        partial.irreversible = Some("the console password was deleted".into());
        let mut gone = entry("a-delete-key", "delete_access_key", "AKIAOLD", Vec::new());
        gone.irreversible = Some("a deleted access key cannot be restored".into());
        let mut done = entry(
            "a-old",
            "deactivate_access_key",
            "AKIADONE",
            vec![UndoOp::UpdateAccessKey {
                user: "carol".into(),
                access_key_id: "AKIADONE".into(),
                status: "Active".into(),
            }],
        );
        done.already_undone = true;
        UndoPlan {
            plan_sha256: "sha256:0123abcd".into(),
            account_id: "123456789012".into(),
            entries: vec![
                entry(
                    "a-key",
                    "deactivate_access_key",
                    "AKIAEXAMPLE1",
                    vec![UndoOp::UpdateAccessKey {
                        user: "alice".into(),
                        access_key_id: "AKIAEXAMPLE1".into(),
                        status: "Active".into(),
                    }],
                ),
                entry(
                    "a-detach",
                    "detach_user_policy",
                    "bob",
                    vec![UndoOp::AttachPolicy {
                        entity: "user".into(),
                        name: "bob".into(),
                        policy_arn: ARN.into(),
                    }],
                ),
                entry(
                    "a-group",
                    "remove_user_from_group",
                    "bob",
                    vec![UndoOp::AddUserToGroup {
                        user: "bob".into(),
                        group: "admins".into(),
                    }],
                ),
                entry(
                    "a-inline",
                    "delete_inline_policy",
                    "ci-role",
                    vec![UndoOp::PutInlinePolicy {
                        entity: "role".into(),
                        name: "ci-role".into(),
                        policy_name: "wide".into(),
                        document: json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
                    }],
                ),
                entry(
                    "a-version",
                    "replace_policy_document",
                    "Admin",
                    vec![
                        UndoOp::SetDefaultPolicyVersion {
                            policy_arn: ARN.into(),
                            version_id: "v1".into(),
                        },
                        UndoOp::DeletePolicyVersion {
                            policy_arn: ARN.into(),
                            version_id: "v2".into(),
                        },
                        UndoOp::CreatePolicyVersion {
                            policy_arn: ARN.into(),
                            document: json!({"Statement": []}),
                        },
                    ],
                ),
                entry(
                    "a-pw",
                    "set_password_policy",
                    "account",
                    vec![UndoOp::UpdatePasswordPolicy {
                        settings: crate::inventory::PasswordPolicy {
                            minimum_password_length: Some(8),
                            ..Default::default()
                        },
                    }],
                ),
                entry(
                    "a-pw-new",
                    "set_password_policy",
                    "account",
                    vec![UndoOp::DeletePasswordPolicy],
                ),
                entry(
                    "a-login",
                    "enforce_password_reset",
                    "dave",
                    vec![UndoOp::UpdateLoginProfile {
                        user: "dave".into(),
                        password_reset_required: false,
                    }],
                ),
                entry(
                    "a-tag",
                    "untag",
                    "ci-role",
                    vec![UndoOp::Tag {
                        kind: "role".into(),
                        name: "ci-role".into(),
                        tags: BTreeMap::from([("owner".to_string(), "team-a".to_string())]),
                    }],
                ),
                entry(
                    "a-rotate",
                    "rotate_access_key",
                    "AKIAROT",
                    vec![
                        UndoOp::DeleteAccessKey {
                            user: "erin".into(),
                            access_key_id: "AKIANEW".into(),
                        },
                        UndoOp::RestoreSecretVersion {
                            secret_id: "arn:aws:secretsmanager:us-east-1:123456789012:secret:erin"
                                .into(),
                            move_to: "v-old".into(),
                            remove_from: "v-new".into(),
                        },
                        UndoOp::DeleteSecret {
                            secret_id: "arn:aws:secretsmanager:us-east-1:123456789012:secret:new"
                                .into(),
                        },
                    ],
                ),
                partial,
                gone,
                done,
            ],
        }
    }

    fn golden(name: &str, got: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/golden")
            .join(name);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, got).unwrap();
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            got,
            want,
            "{} differs (UPDATE_GOLDEN=1 cargo test -p iamwarden-core --lib render::undo)",
            path.display()
        );
    }

    #[test]
    fn the_undo_diff_names_every_call_and_what_cannot_be_undone() {
        let mut out = Vec::new();
        human(&sample(), "plan.json.journal.jsonl", &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        golden("undo-dry-run.txt", &text);
        assert!(text.contains(
            "AttachUserPolicy: re-attach policy arn:aws:iam::123456789012:policy/Admin to user bob"
        ));
        assert!(text.contains("UpdateAccessKey: reactivate access key AKIAEXAMPLE1 of user alice"));
        assert!(text.contains("! cannot undo delete_access_key AKIAOLD"));
        assert!(text.contains("! not restored: the console password was deleted"));
        assert!(text.contains(
            "Undo: 16 call(s) to reverse 11 action(s); 1 cannot be undone; 1 undone already."
        ));
    }

    #[test]
    fn the_json_form_carries_the_same_counts_and_calls() {
        let mut out = Vec::new();
        json(&sample(), "j.jsonl", &mut out).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["summary"]["calls"], 16);
        assert_eq!(v["summary"]["irreversible"], 1);
        assert_eq!(v["entries"][0]["calls"][0]["call"], "UpdateAccessKey");
        assert_eq!(v["entries"][0]["calls"][0]["op"]["status"], "Active");
        assert_eq!(v["entries"][11]["status"], "irreversible");
        assert_eq!(v["entries"][12]["status"], "already_undone");
        assert_eq!(v["entries"][12]["calls"], json!([]));
    }
}
