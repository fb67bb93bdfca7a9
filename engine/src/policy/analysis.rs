//! Questions rules ask about a policy document beyond "does it allow A on R": wildcards on
//! whole services, PassRole on any role, NotAction/NotResource allows, privilege-escalation
//! methods, unknown actions (with "did you mean"), malformed ARNs, the access levels granted on
//! every resource, and trust policies open to any principal.
//!
//! Every check returns its *witnesses*: the statements' actions, methods or ARNs that make it
//! hold, so a finding shows why (`s3:GetObjcet (did you mean s3:GetObject?)`). A check holds
//! when it has witnesses. Conditions are treated as in [`Document::allows`]: an Allow with a
//! `Condition` counts only with `include_conditioned`; a Deny with one never cancels.

use super::catalog::{catalog, AccessLevel};
use super::{Document, Effect, Patterns, Statement};
use std::collections::BTreeSet;

/// One policy check a rule can ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyCheck {
    /// Allows `service:*` (on any resource) for any service, or for the listed ones.
    ServiceWildcards(Option<Vec<String>>),
    /// Allows `iam:PassRole` with `Resource: "*"` (any role to any service).
    PassroleOnAnyResource,
    /// Has an Allow with `NotAction`.
    NotActionAllow,
    /// Has an Allow with `NotResource`.
    NotResourceAllow,
    /// Enables a known privilege-escalation method (any, or one of the listed).
    PrivilegeEscalation(Option<Vec<String>>),
    /// Names actions the IAM catalog does not know.
    UnknownActions,
    /// Names resources that are not `*` and not well-formed ARNs of a known service.
    InvalidArns,
    /// Grants one of these access levels on every resource (`Resource: "*"`).
    AccessLevel(Vec<AccessLevel>),
    /// A trust policy that lets any principal assume the role (`Principal: "*"` or
    /// `{"AWS": "*"}`).
    AnyPrincipal,
}

/// A privilege-escalation method: a name and the actions that must all be allowed.
#[derive(Debug, Clone, Copy)]
pub struct EscalationMethod {
    /// A stable name rules can list.
    pub name: &'static str,
    /// Every action the method needs.
    pub actions: &'static [&'static str],
    /// The method works on other identities only: a key or password for oneself
    /// (`${aws:username}`) gains nothing.
    pub others_only: bool,
}

/// The known privilege-escalation methods (Rhino Security Labs' list).
pub const ESCALATION_METHODS: &[EscalationMethod] = &[
    m("create-policy-version", &["iam:CreatePolicyVersion"]),
    m(
        "set-default-policy-version",
        &["iam:SetDefaultPolicyVersion"],
    ),
    m("passrole-ec2", &["iam:PassRole", "ec2:RunInstances"]),
    m("create-access-key", &["iam:CreateAccessKey"]),
    m("create-login-profile", &["iam:CreateLoginProfile"]),
    m("update-login-profile", &["iam:UpdateLoginProfile"]),
    m("attach-user-policy", &["iam:AttachUserPolicy"]),
    m("attach-group-policy", &["iam:AttachGroupPolicy"]),
    m("attach-role-policy", &["iam:AttachRolePolicy"]),
    m("put-user-policy", &["iam:PutUserPolicy"]),
    m("put-group-policy", &["iam:PutGroupPolicy"]),
    m("put-role-policy", &["iam:PutRolePolicy"]),
    m("add-user-to-group", &["iam:AddUserToGroup"]),
    m(
        "update-assume-role-policy",
        &["iam:UpdateAssumeRolePolicy", "sts:AssumeRole"],
    ),
    m(
        "passrole-lambda-invoke",
        &[
            "iam:PassRole",
            "lambda:CreateFunction",
            "lambda:InvokeFunction",
        ],
    ),
    m(
        "passrole-lambda-event-source",
        &[
            "iam:PassRole",
            "lambda:CreateFunction",
            "lambda:CreateEventSourceMapping",
        ],
    ),
    m(
        "passrole-lambda-add-permission",
        &[
            "iam:PassRole",
            "lambda:CreateFunction",
            "lambda:AddPermission",
        ],
    ),
    m(
        "lambda-update-function-code",
        &["lambda:UpdateFunctionCode"],
    ),
    m(
        "lambda-update-function-configuration",
        &["lambda:UpdateFunctionConfiguration"],
    ),
    m(
        "passrole-glue-dev-endpoint",
        &["iam:PassRole", "glue:CreateDevEndpoint"],
    ),
    m("glue-update-dev-endpoint", &["glue:UpdateDevEndpoint"]),
    m(
        "passrole-cloudformation",
        &["iam:PassRole", "cloudformation:CreateStack"],
    ),
    m(
        "passrole-datapipeline",
        &[
            "iam:PassRole",
            "datapipeline:CreatePipeline",
            "datapipeline:PutPipelineDefinition",
        ],
    ),
    m(
        "codestar-project-from-template",
        &["codestar:CreateProjectFromTemplate"],
    ),
    m(
        "passrole-codestar",
        &["iam:PassRole", "codestar:CreateProject"],
    ),
    m(
        "sagemaker-presigned-notebook-url",
        &["sagemaker:CreatePresignedNotebookInstanceUrl"],
    ),
    m(
        "passrole-sagemaker-notebook",
        &["iam:PassRole", "sagemaker:CreateNotebookInstance"],
    ),
];

const fn m(name: &'static str, actions: &'static [&'static str]) -> EscalationMethod {
    let others_only = matches!(
        name.as_bytes(),
        b"create-access-key" | b"create-login-profile" | b"update-login-profile"
    );
    EscalationMethod {
        name,
        actions,
        others_only,
    }
}

/// The escalation method names, for validation and "did you mean".
pub fn escalation_method_names() -> impl Iterator<Item = &'static str> {
    ESCALATION_METHODS.iter().map(|m| m.name)
}

fn counts(s: &Statement, include_conditioned: bool) -> bool {
    include_conditioned || !s.conditioned
}

fn allow_statements(doc: &Document, include_conditioned: bool) -> impl Iterator<Item = &Statement> {
    doc.statements
        .iter()
        .filter(move |s| s.effect == Effect::Allow && counts(s, include_conditioned))
}

impl Document {
    /// Whether some counted Allow grants `action` on some resource of the action's service
    /// (a `Resource: "*"` always counts; `arn:aws:s3:::bucket` never counts for `iam:` actions),
    /// and no unconditioned Deny takes it away on every resource. With `others_only`,
    /// resources limited to the caller itself (`${aws:username}`) do not count.
    pub fn allows_somewhere(
        &self,
        action: &str,
        include_conditioned: bool,
        others_only: bool,
    ) -> bool {
        let prefix = action.split(':').next().unwrap_or_default();
        let applies = |r: &str| {
            if others_only && r.contains("${aws:username}") {
                return false;
            }
            if r == "*" {
                return true;
            }
            match r.split(':').nth(2) {
                Some(svc) if !svc.contains(['*', '?']) => {
                    svc.eq_ignore_ascii_case(prefix)
                        || (prefix.eq_ignore_ascii_case("sts") && svc == "iam")
                }
                _ => true,
            }
        };
        let allowed = allow_statements(self, include_conditioned).any(|s| {
            s.actions.covers(action, true)
                && match &s.resources {
                    Patterns::Only(rs) => rs.iter().any(|r| applies(r)),
                    Patterns::AllBut(_) => true,
                }
        });
        allowed
            && !self.statements.iter().any(|s| {
                s.effect == Effect::Deny
                    && !s.conditioned
                    && s.actions.covers(action, true)
                    && matches!(&s.resources, Patterns::Only(ps) if ps.iter().any(|r| r == "*"))
            })
    }

    /// The witnesses of `check`; the check holds when there are any.
    pub fn check(&self, check: &PolicyCheck, include_conditioned: bool) -> Vec<String> {
        match check {
            PolicyCheck::ServiceWildcards(only) => {
                self.service_wildcards(include_conditioned, only.as_deref())
            }
            PolicyCheck::PassroleOnAnyResource => {
                if self.passrole_on_any_resource(include_conditioned) {
                    vec!["iam:PassRole on *".to_string()]
                } else {
                    Vec::new()
                }
            }
            PolicyCheck::NotActionAllow => allow_statements(self, include_conditioned)
                .filter_map(|s| match &s.actions {
                    Patterns::AllBut(ps) => Some(format!("Allow NotAction {}", ps.join(", "))),
                    Patterns::Only(_) => None,
                })
                .collect(),
            PolicyCheck::NotResourceAllow => allow_statements(self, include_conditioned)
                .filter_map(|s| match &s.resources {
                    Patterns::AllBut(ps) => Some(format!("Allow NotResource {}", ps.join(", "))),
                    Patterns::Only(_) => None,
                })
                .collect(),
            PolicyCheck::PrivilegeEscalation(only) => self
                .privilege_escalation(include_conditioned)
                .into_iter()
                .filter(|m| only.as_ref().is_none_or(|o| o.iter().any(|x| x == m)))
                .map(str::to_string)
                .collect(),
            PolicyCheck::UnknownActions => self
                .unknown_actions()
                .into_iter()
                .map(|(a, s)| match s {
                    Some(s) => format!("{a} (did you mean {s}?)"),
                    None => a,
                })
                .collect(),
            PolicyCheck::InvalidArns => self.invalid_arns(),
            PolicyCheck::AccessLevel(levels) => {
                let granted = self.access_levels_on_any_resource(include_conditioned, levels);
                levels
                    .iter()
                    .filter(|l| granted.contains(l))
                    .map(|l| format!("{} on *", l.as_str()))
                    .collect()
            }
            PolicyCheck::AnyPrincipal => allow_statements(self, include_conditioned)
                .filter(|s| s.principal.as_ref().is_some_and(any_principal))
                .map(|s| match &s.sid {
                    Some(sid) => format!("statement {sid} trusts any principal"),
                    None => "a statement trusts any principal".to_string(),
                })
                .collect(),
        }
    }

    /// Services whose every action is allowed by a `service:*` pattern (`*` alone is admin,
    /// reported by [`Document::admin_access`], not here). With `only`, just those services.
    pub fn service_wildcards(
        &self,
        include_conditioned: bool,
        only: Option<&[String]>,
    ) -> Vec<String> {
        let mut out = BTreeSet::new();
        for s in allow_statements(self, include_conditioned) {
            if let Patterns::Only(ps) = &s.actions {
                for p in ps {
                    let Some((svc, rest)) = p.split_once(':') else {
                        continue;
                    };
                    if rest != "*" || svc.contains(['*', '?']) {
                        continue;
                    }
                    let svc = svc.to_ascii_lowercase();
                    if only.is_none_or(|o| o.iter().any(|x| x.eq_ignore_ascii_case(&svc))) {
                        out.insert(format!("{svc}:*"));
                    }
                }
            }
        }
        out.into_iter()
            .filter(|w| {
                // A Deny of the whole service on every resource cancels it.
                !self.statements.iter().any(|s| {
                    s.effect == Effect::Deny
                        && !s.conditioned
                        && matches!(&s.actions, Patterns::Only(ps) if ps.iter().any(|p| p.eq_ignore_ascii_case(w) || p == "*"))
                        && matches!(&s.resources, Patterns::Only(rs) if rs.iter().any(|r| r == "*"))
                })
            })
            .collect()
    }

    /// Whether `iam:PassRole` is allowed with `Resource: "*"` (or a `NotResource`).
    pub fn passrole_on_any_resource(&self, include_conditioned: bool) -> bool {
        let any_resource = |p: &Patterns| match p {
            Patterns::Only(ps) => ps.iter().any(|r| r == "*"),
            Patterns::AllBut(_) => true,
        };
        allow_statements(self, include_conditioned)
            .any(|s| s.actions.covers("iam:PassRole", true) && any_resource(&s.resources))
            && self.allows("iam:PassRole", "*", include_conditioned)
    }

    /// The escalation methods whose every action the document allows somewhere.
    pub fn privilege_escalation(&self, include_conditioned: bool) -> Vec<&'static str> {
        // Services some counted Allow can grant at all; `None`: any (a wildcard service part
        // or a NotAction). Methods needing another service are ruled out without matching.
        let mut services: Option<BTreeSet<String>> = Some(BTreeSet::new());
        for s in allow_statements(self, include_conditioned) {
            match &s.actions {
                Patterns::AllBut(_) => services = None,
                Patterns::Only(ps) => {
                    for p in ps {
                        match p.split_once(':') {
                            Some((svc, _)) if !svc.contains(['*', '?']) => {
                                if let Some(set) = services.as_mut() {
                                    set.insert(svc.to_ascii_lowercase());
                                }
                            }
                            _ => services = None,
                        }
                    }
                }
            }
        }
        let possible = |a: &str| {
            services.as_ref().is_none_or(|set| {
                a.split(':')
                    .next()
                    .is_some_and(|svc| set.contains(&svc.to_ascii_lowercase()))
            })
        };
        ESCALATION_METHODS
            .iter()
            .filter(|m| m.actions.iter().all(|a| possible(a)))
            .filter(|m| {
                m.actions
                    .iter()
                    .all(|a| self.allows_somewhere(a, include_conditioned, m.others_only))
            })
            .map(|m| m.name)
            .collect()
    }

    /// Action patterns (in `Action` or `NotAction`) that match no action of the catalog, each
    /// with the closest known action when there is one.
    pub fn unknown_actions(&self) -> Vec<(String, Option<String>)> {
        let cat = catalog();
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for s in &self.statements {
            let ps = match &s.actions {
                Patterns::Only(ps) | Patterns::AllBut(ps) => ps,
            };
            for p in ps {
                if p == "*" || !seen.insert(p.clone()) {
                    continue;
                }
                let known = if p.contains(['*', '?']) {
                    cat.matches_any(p)
                } else {
                    cat.action(p).is_some()
                };
                if !known {
                    let hint = if p.contains(['*', '?']) {
                        None
                    } else {
                        cat.suggest(p)
                    };
                    out.push((p.clone(), hint));
                }
            }
        }
        out
    }

    /// `Resource`/`NotResource` entries that are neither `*` nor a well-formed ARN
    /// (`arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`, a known partition and service
    /// namespace, a 12-digit, empty or wildcard account, and a resource part).
    pub fn invalid_arns(&self) -> Vec<String> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for s in &self.statements {
            let ps = match &s.resources {
                Patterns::Only(ps) | Patterns::AllBut(ps) => ps,
            };
            for r in ps {
                if r == "*" || !seen.insert(r.clone()) {
                    continue;
                }
                if let Some(why) = arn_problem(r) {
                    out.push(format!("{r} ({why})"));
                }
            }
        }
        out
    }

    /// Which of `wanted` access levels the document grants on every resource: some catalog
    /// action of that level is covered by a counted Allow with `Resource: "*"` (or a
    /// NotResource) and not taken away by an unconditioned Deny on `*`. Stops as soon as every
    /// wanted level is found.
    pub fn access_levels_on_any_resource(
        &self,
        include_conditioned: bool,
        wanted: &[AccessLevel],
    ) -> BTreeSet<AccessLevel> {
        let cat = catalog();
        let mut levels = BTreeSet::new();
        let any_resource = |p: &Patterns| match p {
            Patterns::Only(ps) => ps.iter().any(|r| r == "*"),
            Patterns::AllBut(_) => true,
        };
        for s in allow_statements(self, include_conditioned).filter(|s| any_resource(&s.resources))
        {
            let patterns: Vec<&str> = match &s.actions {
                Patterns::Only(ps) => ps.iter().map(String::as_str).collect(),
                Patterns::AllBut(_) => vec!["*"],
            };
            for p in patterns {
                cat.for_each_match(p, |action, level| {
                    if wanted.contains(&level)
                        && !levels.contains(&level)
                        && s.actions.covers(action, true)
                        && self.allows(action, "*", include_conditioned)
                    {
                        levels.insert(level);
                    }
                    wanted.iter().any(|w| !levels.contains(w))
                });
                if wanted.iter().all(|w| levels.contains(w)) {
                    return levels;
                }
            }
        }
        levels
    }
}

/// `Principal: "*"`, `{"AWS": "*"}` or a list holding `*`.
fn any_principal(p: &serde_json::Value) -> bool {
    use serde_json::Value;
    let star = |v: &Value| match v {
        Value::String(s) => s == "*",
        Value::Array(items) => items.iter().any(|i| i.as_str() == Some("*")),
        _ => false,
    };
    match p {
        Value::Object(m) => m.get("AWS").is_some_and(star),
        other => star(other),
    }
}

/// Why `arn` is not a well-formed ARN, if it is not.
pub fn arn_problem(arn: &str) -> Option<String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [head, partition, service, region, account, resource] = parts.as_slice() else {
        return Some("an ARN has six colon-separated parts".into());
    };
    if *head != "arn" {
        return Some("an ARN starts with `arn:`".into());
    }
    let wild = |s: &str| s.contains(['*', '?']);
    if !wild(partition)
        && !matches!(
            *partition,
            "aws"
                | "aws-cn"
                | "aws-us-gov"
                | "aws-iso"
                | "aws-iso-b"
                | "aws-iso-e"
                | "aws-iso-f"
                | "aws-eusc"
        )
    {
        return Some(format!("unknown partition `{partition}`"));
    }
    if !wild(service) && !catalog().arn_namespace_known(service) {
        return Some(format!("unknown service `{service}`"));
    }
    if !wild(region)
        && !region.is_empty()
        && !region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Some(format!("malformed region `{region}`"));
    }
    let account_ok = account.is_empty()
        || wild(account)
        || *account == "aws"
        || (account.len() == 12 && account.chars().all(|c| c.is_ascii_digit()));
    if !account_ok {
        return Some(format!("malformed account `{account}` (12 digits)"));
    }
    if resource.is_empty() {
        return Some("no resource part".into());
    }
    None
}
