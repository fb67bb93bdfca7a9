//! Least-privilege rewriting, pure: a policy document with the services (and tracked actions)
//! an entity did not use removed, from IAM's service last-accessed data.
//!
//! Only Allow statements with an `Action` are narrowed; everything else in the document (Sid,
//! Resource, Condition, Deny statements, unknown keys) is kept as it is. Per action pattern:
//! - `service:...` whose service IAM reports as unused: removed (the whole service);
//! - `service:Action` (no wildcard) whose service is used but whose action IAM tracks and saw
//!   no use of: removed (action level);
//! - `service:*`, `service:Get*` of a used service: kept (untracked actions may be in use);
//! - a service IAM does not report (unknown is never unused): kept;
//! - `*` (or `*:*`): replaced by `service:*` of each used service IAM reports (the report lists
//!   every service the entity's policies grant, so nothing used is lost);
//! - a pattern with a wildcard in its service part (`s*:Get*`) or no service: kept, noted.
//!
//! A statement with `NotAction` cannot be narrowed safely (it grants everything it does not
//! list, including services IAM may not report): it is kept and noted. A statement whose
//! actions are all removed is dropped. When nothing would be left, [`narrow`] says so instead
//! of returning an empty policy.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// What an entity used, judged for one window (the caller decides "within N days").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    /// Service namespace (lowercase) -> its use.
    pub services: BTreeMap<String, ServiceUse>,
}

/// One service's use within the window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceUse {
    /// Whether the service was used within the window.
    pub used: bool,
    /// The actions IAM tracks for the service (lowercase names without the prefix) -> used
    /// within the window; empty when IAM has no action-level data for it.
    pub actions: BTreeMap<String, bool>,
}

/// The narrowed document and what changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Narrowed {
    /// The new document.
    pub document: Value,
    /// Service namespaces whose actions were removed.
    pub removed_services: Vec<String>,
    /// Action patterns removed (as written in the document), services and actions alike.
    pub removed_actions: Vec<String>,
    /// Action patterns added (`service:*` replacing `*`).
    pub added_actions: Vec<String>,
    /// Statements or patterns left as they are because they cannot be narrowed safely.
    pub left_alone: Vec<String>,
}

impl Narrowed {
    /// Whether the document changed.
    pub fn changed(&self) -> bool {
        !self.removed_actions.is_empty() || !self.added_actions.is_empty()
    }
}

/// Why a document could not be narrowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NarrowError {
    /// Not a policy document (no `Statement`).
    #[error("not a policy document: no Statement")]
    NotADocument,
    /// Every Allow would be removed: the entity used nothing this policy grants.
    #[error("nothing this policy allows was used: narrowing would leave no statement")]
    NothingLeft,
}

/// What one action pattern becomes.
enum Fate {
    Keep,
    Remove { service: Option<String> },
    Replace(Vec<String>),
    Unsafe(String),
}

fn judge(pattern: &str, usage: &Usage) -> Fate {
    let p = pattern.trim();
    if p == "*" || p == "*:*" {
        let used: Vec<String> = usage
            .services
            .iter()
            .filter(|(_, u)| u.used)
            .map(|(s, _)| format!("{s}:*"))
            .collect();
        return Fate::Replace(used);
    }
    let Some((service, action)) = p.split_once(':') else {
        return Fate::Unsafe(format!("`{p}` names no service"));
    };
    if service.contains(['*', '?']) {
        return Fate::Unsafe(format!("`{p}` has a wildcard in its service"));
    }
    let service = service.to_ascii_lowercase();
    let Some(u) = usage.services.get(&service) else {
        return Fate::Keep;
    };
    if !u.used {
        return Fate::Remove {
            service: Some(service),
        };
    }
    if action.contains(['*', '?']) {
        return Fate::Keep;
    }
    match u.actions.get(&action.to_ascii_lowercase()) {
        Some(false) => Fate::Remove { service: None },
        _ => Fate::Keep,
    }
}

fn label(i: usize, st: &serde_json::Map<String, Value>) -> String {
    match st.get("Sid").and_then(Value::as_str) {
        Some(sid) if !sid.is_empty() => format!("statement {sid}"),
        _ => format!("statement {}", i + 1),
    }
}

/// `doc` with what `usage` shows unused removed (see the module docs).
pub fn narrow(doc: &Value, usage: &Usage) -> Result<Narrowed, NarrowError> {
    let statements: Vec<Value> = match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(Value::Object(o)) => vec![Value::Object(o.clone())],
        _ => return Err(NarrowError::NotADocument),
    };
    let mut out = Narrowed {
        document: Value::Null,
        removed_services: Vec::new(),
        removed_actions: Vec::new(),
        added_actions: Vec::new(),
        left_alone: Vec::new(),
    };
    let mut removed_services = BTreeSet::new();
    let mut kept: Vec<Value> = Vec::new();
    let mut allows_left = 0usize;
    for (i, st) in statements.iter().enumerate() {
        let Some(obj) = st.as_object() else {
            kept.push(st.clone());
            continue;
        };
        let allow = obj.get("Effect").and_then(Value::as_str) == Some("Allow");
        if !allow {
            kept.push(st.clone());
            continue;
        }
        if obj.contains_key("NotAction") {
            out.left_alone.push(format!(
                "{} uses NotAction and cannot be narrowed safely: left as it is",
                label(i, obj)
            ));
            kept.push(st.clone());
            allows_left += 1;
            continue;
        }
        let (patterns, was_string) = match obj.get("Action") {
            Some(Value::String(s)) => (vec![s.clone()], true),
            Some(Value::Array(a)) => (
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
                false,
            ),
            _ => {
                kept.push(st.clone());
                allows_left += 1;
                continue;
            }
        };
        let mut actions: Vec<String> = Vec::new();
        for p in patterns {
            match judge(&p, usage) {
                Fate::Keep => actions.push(p),
                Fate::Unsafe(why) => {
                    out.left_alone
                        .push(format!("{}: {why}: kept", label(i, obj)));
                    actions.push(p);
                }
                Fate::Remove { service } => {
                    if let Some(s) = service {
                        removed_services.insert(s);
                    }
                    out.removed_actions.push(p);
                }
                Fate::Replace(with) => {
                    out.removed_actions.push(p);
                    for w in with {
                        out.added_actions.push(w.clone());
                        actions.push(w);
                    }
                }
            }
        }
        let mut seen = BTreeSet::new();
        actions.retain(|a| seen.insert(a.to_ascii_lowercase()));
        if actions.is_empty() {
            continue;
        }
        let mut obj = obj.clone();
        let value = match (was_string, actions.len()) {
            (true, 1) => Value::String(actions.remove(0)),
            _ => Value::Array(actions.into_iter().map(Value::String).collect()),
        };
        obj.insert("Action".into(), value);
        kept.push(Value::Object(obj));
        allows_left += 1;
    }
    // Services whose every pattern went: reported as removed services.
    out.removed_services = removed_services.into_iter().collect();
    if allows_left == 0 {
        return Err(NarrowError::NothingLeft);
    }
    let mut document = doc.clone();
    if let Some(o) = document.as_object_mut() {
        o.insert("Statement".into(), Value::Array(kept));
    }
    out.document = document;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn usage(used: &[&str], unused: &[&str], actions: &[(&str, &str, bool)]) -> Usage {
        let mut u = Usage::default();
        for s in used {
            u.services.insert(
                s.to_string(),
                ServiceUse {
                    used: true,
                    actions: BTreeMap::new(),
                },
            );
        }
        for s in unused {
            u.services.insert(s.to_string(), ServiceUse::default());
        }
        for (s, a, used) in actions {
            if let Some(x) = u.services.get_mut(*s) {
                x.actions.insert(a.to_ascii_lowercase(), *used);
            }
        }
        u
    }

    fn doc(statements: Value) -> Value {
        json!({"Version": "2012-10-17", "Statement": statements})
    }

    #[test]
    fn an_unused_service_is_removed_and_a_used_one_kept() {
        let d = doc(
            json!([{"Effect": "Allow", "Action": ["s3:*", "ec2:Describe*", "sqs:SendMessage"], "Resource": "*"}]),
        );
        let n = narrow(&d, &usage(&["s3"], &["ec2", "sqs"], &[])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(n.document["Statement"][0]["Action"], json!(["s3:*"]));
        assert_eq!(n.removed_services, vec!["ec2", "sqs"]);
        assert_eq!(n.removed_actions, vec!["ec2:Describe*", "sqs:SendMessage"]);
        assert!(n.changed());
        assert_eq!(n.document["Statement"][0]["Resource"], json!("*"));
        assert_eq!(n.document["Version"], json!("2012-10-17"));
    }

    #[test]
    fn a_tracked_unused_action_is_removed_but_wildcards_of_a_used_service_stay() {
        let d = doc(
            json!({"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:List*", "s3:DeleteBucket"], "Resource": "*"}),
        );
        let u = usage(
            &["s3"],
            &[],
            &[
                ("s3", "GetObject", true),
                ("s3", "PutObject", false),
                ("s3", "ListBucket", false),
            ],
        );
        let n = narrow(&d, &u).unwrap_or_else(|e| panic!("{e}"));
        // DeleteBucket is not tracked: kept; List* is a wildcard: kept.
        assert_eq!(
            n.document["Statement"][0]["Action"],
            json!(["s3:GetObject", "s3:List*", "s3:DeleteBucket"])
        );
        assert_eq!(n.removed_actions, vec!["s3:PutObject"]);
        assert!(n.removed_services.is_empty());
    }

    #[test]
    fn action_names_and_services_are_case_insensitive() {
        let d = doc(
            json!({"Effect": "Allow", "Action": ["S3:getobject", "EC2:RunInstances"], "Resource": "*"}),
        );
        let u = usage(&["s3"], &["ec2"], &[("s3", "GetObject", false)]);
        let n = narrow(&d, &u);
        assert_eq!(n, Err(NarrowError::NothingLeft));
    }

    #[test]
    fn star_becomes_the_used_services() {
        let d = doc(json!({"Effect": "Allow", "Action": "*", "Resource": "*"}));
        let n = narrow(&d, &usage(&["s3", "ec2"], &["iam", "kms"], &[]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            n.document["Statement"][0]["Action"],
            json!(["ec2:*", "s3:*"])
        );
        assert_eq!(n.removed_actions, vec!["*"]);
        assert_eq!(n.added_actions, vec!["ec2:*", "s3:*"]);
    }

    #[test]
    fn a_single_string_action_stays_a_string() {
        let d = doc(json!({"Effect": "Allow", "Action": "*:*", "Resource": "*"}));
        let n = narrow(&d, &usage(&["s3"], &["iam"], &[])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(n.document["Statement"][0]["Action"], json!("s3:*"));
    }

    #[test]
    fn not_action_deny_and_unknown_services_are_left_alone() {
        let d = doc(json!([
            {"Sid": "Broad", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "ec2:*", "Resource": "*"},
            {"Effect": "Allow", "Action": ["newsvc:Do", "s*:Get*"], "Resource": "*"}
        ]));
        let n = narrow(&d, &usage(&["s3"], &["ec2", "iam"], &[])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(n.document, d);
        assert!(!n.changed());
        assert!(n
            .left_alone
            .iter()
            .any(|l| l.contains("statement Broad uses NotAction")));
        assert!(n
            .left_alone
            .iter()
            .any(|l| l.contains("wildcard in its service")));
    }

    #[test]
    fn a_statement_with_nothing_left_is_dropped_and_conditions_are_kept() {
        let d = doc(json!([
            {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"},
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::b/*",
             "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
        ]));
        let n = narrow(&d, &usage(&["s3"], &["sqs"], &[])).unwrap_or_else(|e| panic!("{e}"));
        let st = n.document["Statement"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(st.len(), 1);
        assert_eq!(
            st[0]["Condition"]["Bool"]["aws:SecureTransport"],
            json!("true")
        );
    }

    #[test]
    fn nothing_left_and_no_statement_are_errors() {
        let d = doc(json!({"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}));
        assert_eq!(
            narrow(&d, &usage(&[], &["sqs"], &[])),
            Err(NarrowError::NothingLeft)
        );
        assert_eq!(
            narrow(&json!({"Version": "2012-10-17"}), &Usage::default()),
            Err(NarrowError::NotADocument)
        );
        // `*` with no used service: nothing left either.
        let star = doc(json!({"Effect": "Allow", "Action": "*", "Resource": "*"}));
        assert_eq!(
            narrow(&star, &usage(&[], &["s3"], &[])),
            Err(NarrowError::NothingLeft)
        );
    }
}
