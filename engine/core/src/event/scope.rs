//! What event mode must read of a live account to judge a batch of events: the resources the
//! events touched, each with only the parts the rules that react to those events look at, so a
//! batch costs a bounded number of calls per event whatever the account's size (the targeted
//! read, `iamwarden_aws::live::read_scoped`). The full account is read only when asked.
//!
//! Per event kind (the match is exhaustive: a new name in [`crate::event_name`] does not compile
//! until it says what it needs):
//!
//! | event | reads |
//! |---|---|
//! | `CreatePolicy`, `CreatePolicyVersion`, `SetDefaultPolicyVersion` | the policy with every version and its attachments |
//! | `Attach{User,Group,Role}Policy` | the owner's permissions, the attached policy's default document |
//! | `Put{User,Group,Role}Policy` | the owner's permissions (the document is in the event) |
//! | `AddUserToGroup` | the user's permissions, the group with its policies' default documents |
//! | `CreateAccessKey`, `CreateLoginProfile`, `DeactivateMFADevice` | the user with its credentials |
//! | `UpdateAssumeRolePolicy` | the role |
//! | `UpdateAccountPasswordPolicy`, `DeleteAccountPasswordPolicy` | the password policy |
//!
//! Pure: events in, a [`Scope`] out.

use super::IamEvent;
use crate::event_name::EventName;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// How much of a user to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum UserParts {
    /// The user, its groups and the names of its attached and inline policies.
    Permissions,
    /// All of [`UserParts::Permissions`], and its access keys with their last use, its login
    /// profile and its MFA devices.
    Credentials,
}

/// How much of a managed policy to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PolicyParts {
    /// The policy and its default version's document.
    Document,
    /// The policy, every version with its document, and the users, groups and roles it is
    /// attached to.
    Full,
}

/// The resources a batch of events needs read, by name (users, groups, roles) or ARN
/// (managed policies).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Users to read, with the most any event needs of each.
    pub users: BTreeMap<String, UserParts>,
    /// Groups to read (the group, its members, its attached policies with their default
    /// documents, its inline policies).
    pub groups: BTreeSet<String>,
    /// Roles to read (the role with its trust policy and last use, its attached and inline
    /// policy names).
    pub roles: BTreeSet<String>,
    /// Managed policies to read, by ARN.
    pub policies: BTreeMap<String, PolicyParts>,
    /// Whether to read the account password policy.
    pub password_policy: bool,
    /// The account the events were recorded in (`recipientAccountId`), when they say.
    pub account: Option<String>,
    /// Events whose subject could not be told from the record, with why (their fold reports
    /// them as not applied).
    pub unresolved: Vec<(String, String)>,
}

impl Scope {
    /// Whether nothing needs reading.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
            && self.groups.is_empty()
            && self.roles.is_empty()
            && self.policies.is_empty()
            && !self.password_policy
    }

    fn user(&mut self, name: &str, parts: UserParts) {
        let slot = self.users.entry(name.to_string()).or_insert(parts);
        *slot = (*slot).max(parts);
    }

    fn policy(&mut self, arn: &str, parts: PolicyParts) {
        let slot = self.policies.entry(arn.to_string()).or_insert(parts);
        *slot = (*slot).max(parts);
    }

    fn owner(&mut self, e: &IamEvent, key: &str) -> Option<()> {
        let name = text(&e.request, &[key])?;
        match key {
            "userName" => self.user(name, UserParts::Permissions),
            "groupName" => {
                self.groups.insert(name.to_string());
            }
            _ => {
                self.roles.insert(name.to_string());
            }
        }
        Some(())
    }
}

fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    cur.as_str().filter(|s| !s.is_empty())
}

/// The owner key of a `Put*Policy`/`Attach*Policy` event: `userName`, `groupName`, `roleName`.
fn owner_key(name: EventName) -> &'static str {
    let n = name.as_str();
    if n.contains("Group") {
        "groupName"
    } else if n.contains("Role") {
        "roleName"
    } else {
        "userName"
    }
}

/// What the events need read. Events of other accounts than the first one named are read as
/// the caller's account (event mode judges one account at a time).
pub fn scope(events: &[IamEvent]) -> Scope {
    use EventName as E;
    let mut s = Scope::default();
    for e in events {
        if s.account.is_none() {
            s.account = e.account.clone().filter(|a| !a.is_empty());
        }
        let found: Option<()> = match e.name {
            E::CreatePolicy => {
                let arn = text(&e.response, &["policy", "arn"])
                    .map(str::to_string)
                    .or_else(|| {
                        let name = text(&e.request, &["policyName"])?;
                        let path = text(&e.request, &["path"]).unwrap_or("/");
                        let account = e.account.as_deref().filter(|a| !a.is_empty())?;
                        Some(format!("arn:aws:iam::{account}:policy{path}{name}"))
                    });
                arn.map(|a| s.policy(&a, PolicyParts::Full))
            }
            E::CreatePolicyVersion | E::SetDefaultPolicyVersion => {
                text(&e.request, &["policyArn"]).map(|a| s.policy(a, PolicyParts::Full))
            }
            E::PutUserPolicy | E::PutGroupPolicy | E::PutRolePolicy => {
                s.owner(e, owner_key(e.name))
            }
            E::AttachUserPolicy | E::AttachGroupPolicy | E::AttachRolePolicy => {
                let arn = text(&e.request, &["policyArn"]);
                arn.map(|a| s.policy(a, PolicyParts::Document))
                    .and_then(|()| s.owner(e, owner_key(e.name)))
            }
            E::AddUserToGroup => s
                .owner(e, "userName")
                .and_then(|()| s.owner(e, "groupName")),
            E::CreateAccessKey => text(&e.response, &["accessKey", "userName"])
                .or_else(|| text(&e.request, &["userName"]))
                .map(|u| s.user(u, UserParts::Credentials)),
            E::CreateLoginProfile | E::DeactivateMFADevice => {
                text(&e.request, &["userName"]).map(|u| s.user(u, UserParts::Credentials))
            }
            E::UpdateAssumeRolePolicy => s.owner(e, "roleName"),
            E::UpdateAccountPasswordPolicy | E::DeleteAccountPasswordPolicy => {
                s.password_policy = true;
                Some(())
            }
        };
        if found.is_none() {
            s.unresolved.push((
                e.id.clone(),
                format!("{} names no resource this reader can look up", e.name),
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(name: EventName, request: Value, response: Value) -> IamEvent {
        IamEvent {
            id: format!("id-{}", name.as_str()),
            name,
            time: chrono::DateTime::from_timestamp(0, 0).unwrap_or_default(),
            account: Some("123456789012".into()),
            actor: None,
            request,
            response,
        }
    }

    #[test]
    fn each_kind_names_what_it_touches() {
        use EventName as E;
        let events = vec![
            ev(
                E::CreatePolicy,
                json!({"policyName": "p", "path": "/x/"}),
                Value::Null,
            ),
            ev(
                E::AttachUserPolicy,
                json!({"userName": "alice", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
                Value::Null,
            ),
            ev(
                E::CreateAccessKey,
                Value::Null,
                json!({"accessKey": {"userName": "alice", "accessKeyId": "AKIA1"}}),
            ),
            ev(
                E::AddUserToGroup,
                json!({"userName": "bob", "groupName": "admins"}),
                Value::Null,
            ),
            ev(
                E::UpdateAssumeRolePolicy,
                json!({"roleName": "r"}),
                Value::Null,
            ),
            ev(E::DeleteAccountPasswordPolicy, Value::Null, Value::Null),
        ];
        let s = scope(&events);
        assert_eq!(
            s.policies.get("arn:aws:iam::123456789012:policy/x/p"),
            Some(&PolicyParts::Full)
        );
        assert_eq!(
            s.policies
                .get("arn:aws:iam::aws:policy/AdministratorAccess"),
            Some(&PolicyParts::Document)
        );
        // Credentials win over permissions for the same user.
        assert_eq!(s.users.get("alice"), Some(&UserParts::Credentials));
        assert_eq!(s.users.get("bob"), Some(&UserParts::Permissions));
        assert!(s.groups.contains("admins"));
        assert!(s.roles.contains("r"));
        assert!(s.password_policy);
        assert_eq!(s.account.as_deref(), Some("123456789012"));
        assert!(s.unresolved.is_empty());
    }

    #[test]
    fn an_event_without_its_subject_is_unresolved() {
        let s = scope(&[ev(EventName::CreateLoginProfile, json!({}), Value::Null)]);
        assert!(s.is_empty());
        assert_eq!(s.unresolved.len(), 1);
        assert!(
            s.unresolved[0].1.contains("CreateLoginProfile"),
            "{:?}",
            s.unresolved
        );
    }

    #[test]
    fn a_full_policy_read_is_not_lowered_by_a_later_attach() {
        let arn = "arn:aws:iam::123456789012:policy/p";
        let s = scope(&[
            ev(
                EventName::CreatePolicyVersion,
                json!({"policyArn": arn}),
                Value::Null,
            ),
            ev(
                EventName::AttachRolePolicy,
                json!({"roleName": "r", "policyArn": arn}),
                Value::Null,
            ),
        ]);
        assert_eq!(s.policies.get(arn), Some(&PolicyParts::Full));
    }
}
