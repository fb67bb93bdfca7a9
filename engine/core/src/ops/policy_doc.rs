//! Policy-document operators: the value at the path is an IAM policy document (or a trust
//! policy) and the operator asks a question of it ([`crate::policy`]). All but
//! `unknown_actions` and `invalid_arns` honour `include_conditioned`. The evidence of a check
//! is what it found (its witnesses), not the whole document.

use super::{boolean, ok, Check, Compiled, Operator, Settings};
use crate::diag::did_you_mean;
use crate::policy::analysis::{escalation_method_names, PolicyCheck};
use crate::policy::catalog::{catalog, AccessLevel};
use crate::policy::Document;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `admin_access`.
pub const ADMIN_ACCESS: Operator = Operator {
    key: "admin_access",
    operand_schema: super::operand_schema::<bool>,
    operand: "`true`/`false`",
    description: "the path holds a policy document; `true` holds when it grants admin access \
                  (an Allow of every action on every resource of which a self-granting IAM \
                  action survives the Denies). Statements with a `Condition` count unless \
                  `include_conditioned: false`.",
    holds_when: "is a policy document that does (`true`) / does not (`false`) grant admin access",
    conditioned: true,
    compile: |v, s| flag(PolicyCheck::AdminAccess, v, s),
};

/// `allows`.
pub const ALLOWS: Operator = Operator {
    key: "allows",
    operand_schema: super::operand_schema::<AllowsSpec>,
    operand: "`{action, resource}`",
    description: "the path holds a policy document; holds when the document allows the given \
                  action on the given resource (IAM wildcard semantics, Deny overriding Allow).",
    holds_when: "is a policy document that allows the action on the resource",
    conditioned: true,
    compile: |v, s| {
        let field = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let action = field("action").ok_or("must give `action`")?;
        ok(Allows {
            action,
            resource: field("resource").unwrap_or_else(|| "*".to_string()),
            include_conditioned: s.include_conditioned,
        })
    },
};

/// `service_wildcards`.
pub const SERVICE_WILDCARDS: Operator = Operator {
    key: "service_wildcards",
    operand_schema: super::operand_schema::<BoolOrList>,
    operand: "`true`/`false` or a list of service prefixes",
    description: "the path holds a policy document; holds when it allows `service:*` for some \
                  service (`true`), for none (`false`), or for one of the listed services \
                  (`[iam, s3]`).",
    holds_when: "is a policy document allowing `service:*` for some service / for none / for one of those listed",
    conditioned: true,
    compile: |v, s| match v {
        Value::Bool(b) => policy(PolicyCheck::ServiceWildcards(None), *b, s),
        v => {
            let list = names(v).ok_or("must be true, false or a list of service prefixes")?;
            if let Some(bad) = list.iter().find(|s| !catalog().service_known(s)) {
                return Err(format!("unknown service prefix `{bad}`"));
            }
            policy(PolicyCheck::ServiceWildcards(Some(list)), true, s)
        }
    },
};

/// `passrole_on_any_resource`.
pub const PASSROLE_ON_ANY_RESOURCE: Operator = Operator {
    key: "passrole_on_any_resource",
    operand_schema: super::operand_schema::<bool>,
    operand: "`true`/`false`",
    description: "the document allows `iam:PassRole` with `Resource: \"*\"`.",
    holds_when: "is a policy document allowing `iam:PassRole` with `Resource: \"*\"`",
    conditioned: true,
    compile: |v, s| flag(PolicyCheck::PassroleOnAnyResource, v, s),
};

/// `not_action_allow`.
pub const NOT_ACTION_ALLOW: Operator = Operator {
    key: "not_action_allow",
    operand_schema: super::operand_schema::<bool>,
    operand: "`true`/`false`",
    description: "the document has an Allow with `NotAction`.",
    holds_when: "is a policy document with an `Allow` + `NotAction`",
    conditioned: true,
    compile: |v, s| flag(PolicyCheck::NotActionAllow, v, s),
};

/// `not_resource_allow`.
pub const NOT_RESOURCE_ALLOW: Operator = Operator {
    key: "not_resource_allow",
    operand_schema: super::operand_schema::<bool>,
    operand: "`true`/`false`",
    description: "the document has an Allow with `NotResource`.",
    holds_when: "is a policy document with an `Allow` + `NotResource`",
    conditioned: true,
    compile: |v, s| flag(PolicyCheck::NotResourceAllow, v, s),
};

/// `privilege_escalation`.
pub const PRIVILEGE_ESCALATION: Operator = Operator {
    key: "privilege_escalation",
    operand_schema: super::operand_schema::<BoolOrList>,
    operand: "`true`/`false` or a list of method names",
    description: "the document enables a known privilege-escalation method (`true`), none \
                  (`false`), or one of the listed methods (e.g. `[passrole-ec2, \
                  create-policy-version]`).",
    holds_when: "is a policy document enabling a known privilege-escalation method",
    conditioned: true,
    compile: |v, s| match v {
        Value::Bool(b) => policy(PolicyCheck::PrivilegeEscalation(None), *b, s),
        v => {
            let list = names(v).ok_or("must be true, false or a list of method names")?;
            if let Some(bad) = list
                .iter()
                .find(|m| !escalation_method_names().any(|k| k == m.as_str()))
            {
                let hint = did_you_mean(bad, escalation_method_names())
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default();
                return Err(format!(
                    "unknown privilege-escalation method `{bad}`{hint}; known: {}",
                    escalation_method_names().collect::<Vec<_>>().join(", ")
                ));
            }
            policy(PolicyCheck::PrivilegeEscalation(Some(list)), true, s)
        }
    },
};

/// `unknown_actions`.
pub const UNKNOWN_ACTIONS: Operator = Operator {
    key: "unknown_actions",
    operand_schema: super::operand_schema::<bool>,
    operand: "`true`/`false`",
    description: "the document names actions the shipped IAM action catalog does not know (a \
                  typo such as `s3:GetObjcet`; the evidence says what was probably meant).",
    holds_when: "is a policy document naming actions the IAM catalog does not know",
    conditioned: false,
    compile: |v, s| flag(PolicyCheck::UnknownActions, v, s),
};

/// `invalid_arns`.
pub const INVALID_ARNS: Operator = Operator {
    key: "invalid_arns",
    operand_schema: super::operand_schema::<bool>,
    operand: "`true`/`false`",
    description: "the document names resources that are neither `*` nor well-formed ARNs of a \
                  known service.",
    holds_when: "is a policy document naming resources that are not well-formed ARNs",
    conditioned: false,
    compile: |v, s| flag(PolicyCheck::InvalidArns, v, s),
};

/// `grants_access_level`.
pub const GRANTS_ACCESS_LEVEL: Operator = Operator {
    key: "grants_access_level",
    operand_schema: super::operand_schema::<StringOrList>,
    operand: "a level or a list",
    description: "the document grants one of these access levels on every resource \
                  (`Resource: \"*\"`): `read`, `write`, `list`, `tagging`, \
                  `permissions_management`.",
    holds_when: "is a policy document granting that access level on every resource",
    conditioned: true,
    compile: |v, s| {
        let list = names(v).ok_or("must be an access level or a list of them")?;
        let levels = list
            .iter()
            .map(|l| {
                AccessLevel::parse(l).ok_or_else(|| {
                    format!("unknown access level `{l}` (read, write, list, tagging, permissions_management)")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        policy(PolicyCheck::AccessLevel(levels), true, s)
    },
};

/// `any_principal`.
pub const ANY_PRINCIPAL: Operator = Operator {
    key: "any_principal",
    operand_schema: super::operand_schema::<bool>,
    operand: "`true`/`false`",
    description: "the path holds a trust policy; holds when it lets any principal assume the \
                  role (`Principal: \"*\"` or `{\"AWS\": \"*\"}`).",
    holds_when: "is a trust policy letting any principal assume the role",
    conditioned: true,
    compile: |v, s| flag(PolicyCheck::AnyPrincipal, v, s),
};

/// A check with a `true`/`false` operand.
fn flag(check: PolicyCheck, operand: &Value, s: Settings) -> Result<Compiled, String> {
    policy(check, boolean(operand)?, s)
}

fn policy(check: PolicyCheck, want: bool, s: Settings) -> Result<Compiled, String> {
    ok(Policy {
        check,
        want,
        include_conditioned: s.include_conditioned,
    })
}

/// One name or a list of names.
fn names(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => None,
    }
}

/// A policy check with witnesses (see [`crate::policy::analysis`]).
#[derive(Debug, Clone)]
pub struct Policy {
    check: PolicyCheck,
    /// Whether the check must find something (`true`) or nothing (`false`).
    want: bool,
    include_conditioned: bool,
}

impl Check for Policy {
    fn holds(&self, v: &Value, _now: DateTime<Utc>) -> bool {
        Document::parse(v)
            .is_ok_and(|d| d.check(&self.check, self.include_conditioned).is_empty() != self.want)
    }

    fn evidence(&self, values: &[&Value]) -> Option<Value> {
        let mut found: Vec<Value> = Vec::new();
        for d in values.iter().filter_map(|v| Document::parse(v).ok()) {
            for w in d.check(&self.check, self.include_conditioned) {
                let w = Value::String(w);
                if !found.contains(&w) {
                    found.push(w);
                }
            }
        }
        Some(Value::Array(found))
    }
}

/// `allows`: the document allows an action on a resource.
#[derive(Debug, Clone)]
pub struct Allows {
    action: String,
    resource: String,
    include_conditioned: bool,
}

impl Check for Allows {
    fn holds(&self, v: &Value, _now: DateTime<Utc>) -> bool {
        Document::parse(v)
            .is_ok_and(|d| d.allows(&self.action, &self.resource, self.include_conditioned))
    }
}

/// `true`/`false`, or a list of names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum BoolOrList {
    /// Any (`true`) or none (`false`).
    Bool(bool),
    /// One of these.
    List(Vec<String>),
    /// A `{{params.NAME}}` template that renders to one of the above.
    Template(String),
}

/// One name, or a list of names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum StringOrList {
    /// One.
    One(String),
    /// Any of these.
    List(Vec<String>),
}

/// The operand of `allows`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AllowsSpec {
    /// The action, e.g. `iam:PassRole`.
    pub action: String,
    /// The resource ARN (default `*`).
    #[serde(default = "star")]
    pub resource: String,
}

fn star() -> String {
    "*".to_string()
}
