//! Questions rules ask about a policy document beyond "does it allow A on R": admin access,
//! every action of a service, PassRole on every role, NotAction/NotResource allows,
//! privilege-escalation methods, unknown actions (with "did you mean"), malformed ARNs, the
//! access levels granted on every resource, and trust policies open to any principal.
//!
//! Every check judges the *effect* of the document, not its text: an action counts on the
//! resource types the catalog gives it (`iam:CreateAccessKey` acts on users, so
//! `Resource: arn:aws:iam::*:role/*` grants it nowhere; `ec2:RunInstances` needs each of its
//! required types), resource patterns are compared as sets ([`super::resource`]), a Deny
//! removes what it covers (on a resource type, not only on `*`), `NotResource: "*"` and
//! `NotAction: "*"` grant nothing, and policy variables follow the Version.
//!
//! Every check returns its *witnesses*: the statements' actions, methods or ARNs that make it
//! hold, so a finding shows why (`s3:GetObjcet (did you mean s3:GetObject?)`), and a witness
//! that rests on a conditioned Allow names the condition keys (`iam:PassRole on *
//! (conditioned: iam:PassedToService)`). A check holds when it has witnesses. Conditions are
//! treated as in the parent module: a conditioned Allow counts with `include_conditioned`
//! (the rules' default) unless the condition provably cannot hold for the request in
//! question; a conditioned Deny never cancels.

use super::catalog::{catalog, AccessLevel};
use super::{resource, wildcard_match, Document, Effect, Patterns, Statement};
use std::collections::BTreeSet;

/// One policy check a rule can ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyCheck {
    /// Grants admin access (see [`Document::admin_witnesses`]).
    AdminAccess,
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

/// The actions that let a holder of `Allow *` grant itself anything, so that admin survives a
/// Deny that leaves one of them: attaching or putting a policy on a user, role or group, or
/// writing a new version of a policy.
pub const SELF_GRANTING_ACTIONS: [&str; 7] = [
    "iam:PutUserPolicy",
    "iam:AttachUserPolicy",
    "iam:PutRolePolicy",
    "iam:AttachRolePolicy",
    "iam:PutGroupPolicy",
    "iam:AttachGroupPolicy",
    "iam:CreatePolicyVersion",
];

/// The condition keys that limit *who* a trust statement lets in: with one of them (and a
/// positive operator) `Principal: "*"` is not any principal.
const PRINCIPAL_LIMITING_KEYS: [&str; 11] = [
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "aws:PrincipalAccount",
    "aws:PrincipalArn",
    "aws:PrincipalServiceName",
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:SourceOrgID",
    "aws:SourceOrgPaths",
    "sts:ExternalId",
    "aws:userid",
];

/// The self sentinel: `${aws:username}` / `${aws:userid}` under Version 2012-10-17.
const SELF: char = '\u{1}';

/// What a request is known to carry, for conditions that could never hold.
#[derive(Debug, Clone, Copy, Default)]
struct Request<'a> {
    /// `iam:PassedToService` of an `iam:PassRole` request (`ec2.amazonaws.com`).
    passed_to: Option<&'a str>,
}

/// Which resources a question is about.
#[derive(Debug, Clone)]
enum Target {
    /// The literal resource `*` (actions without resource types).
    Star,
    /// The resources an ARN pattern matches (a catalog resource type).
    Type(String),
}

/// A resource pattern as the analysis reads it.
struct Res {
    glob: String,
    /// Matches only the caller itself (`user/${aws:username}` under 2012-10-17).
    self_only: bool,
    /// Literal `${...}` text (no Version 2012-10-17): names no IAM resource.
    literal_var: bool,
}

fn all_stars(p: &str) -> bool {
    !p.is_empty() && p.chars().all(|c| c == '*')
}

fn is_iam_type(t: &str) -> bool {
    t.starts_with("arn:*:iam:") || t.starts_with("arn:aws:iam:")
}

fn negated(op: &str) -> bool {
    op.contains("Not")
}

/// Whether statement `s` can never apply to a request for `action` carrying `req`.
fn impossible(s: &Statement, action: &str, req: Request<'_>) -> bool {
    let passrole = action.eq_ignore_ascii_case("iam:PassRole");
    for c in &s.conditions {
        if !c.key.eq_ignore_ascii_case("iam:PassedToService") {
            continue;
        }
        let (all_values, op) = match c.operator.split_once(':') {
            Some((set, op)) => (set.eq_ignore_ascii_case("ForAllValues"), op),
            None => (false, c.operator.as_str()),
        };
        let (if_exists, op) = match op.strip_suffix("IfExists") {
            Some(op) => (true, op),
            None => (false, op),
        };
        if !op.starts_with("String") {
            continue;
        }
        if !passrole {
            // The key is absent: a positive string operator is false, unless IfExists or
            // ForAllValues (true on an empty set) or a negated operator.
            if !(all_values || if_exists || negated(op)) {
                return true;
            }
            continue;
        }
        let Some(svc) = req.passed_to else { continue };
        let hit = |v: &String| match op {
            "StringEquals" | "StringNotEquals" => v == svc,
            "StringEqualsIgnoreCase" | "StringNotEqualsIgnoreCase" => v.eq_ignore_ascii_case(svc),
            "StringLike" | "StringNotLike" => wildcard_match(v, svc, false),
            _ => true,
        };
        let any = c.values.iter().any(hit);
        if negated(op) == any {
            return true;
        }
    }
    false
}

impl Document {
    fn res(&self, raw: &str) -> Res {
        if !raw.contains("${") {
            return Res {
                glob: raw.to_string(),
                self_only: false,
                literal_var: false,
            };
        }
        if !self.variables() {
            return Res {
                glob: raw.to_string(),
                self_only: false,
                literal_var: true,
            };
        }
        let mut glob = String::new();
        let mut rest = raw;
        let mut has_self = false;
        while let Some(i) = rest.find("${") {
            glob.push_str(rest.get(..i).unwrap_or_default());
            let tail = rest.get(i..).unwrap_or_default();
            match tail.find('}') {
                Some(j) => {
                    let var = tail.get(2..j).unwrap_or_default();
                    if var.eq_ignore_ascii_case("aws:username")
                        || var.eq_ignore_ascii_case("aws:userid")
                    {
                        glob.push(SELF);
                        has_self = true;
                    } else {
                        glob.push('*');
                    }
                    rest = tail.get(j + 1..).unwrap_or_default();
                }
                None => {
                    glob.push_str(tail);
                    rest = "";
                }
            }
        }
        glob.push_str(rest);
        let resource_part = glob.splitn(6, ':').nth(5).unwrap_or(&glob);
        let self_only = has_self && !resource_part.contains(['*', '?']);
        Res {
            glob,
            self_only,
            literal_var: false,
        }
    }

    /// The usable resource patterns of a list for `target`: literal variables name no IAM
    /// resource, and with `others_only` a pattern for the caller only is left out.
    fn usable(&self, ps: &[String], target: &Target, others_only: bool) -> Vec<Res> {
        ps.iter()
            .map(|p| self.res(p))
            .filter(|r| !(others_only && r.self_only))
            .filter(|r| !(r.literal_var && matches!(target, Target::Type(t) if is_iam_type(t))))
            .collect()
    }

    /// The part of `target` statement resources `p` reach, if any.
    fn reach(&self, p: &Patterns, target: &Target, others_only: bool) -> Option<Target> {
        match (p, target) {
            (Patterns::Only(ps), Target::Star) => ps
                .iter()
                .any(|r| wildcard_match(&self.res(r).glob, "*", false))
                .then_some(Target::Star),
            (Patterns::AllBut(ps), Target::Star) => (!ps
                .iter()
                .any(|r| wildcard_match(&self.res(r).glob, "*", false)))
            .then_some(Target::Star),
            (Patterns::Only(ps), Target::Type(t)) => self
                .usable(ps, target, others_only)
                .into_iter()
                .find(|r| resource::intersects(&r.glob, t))
                .map(|r| {
                    if resource::subsumes(t, &r.glob) {
                        Target::Type(r.glob)
                    } else {
                        Target::Type(t.clone())
                    }
                }),
            (Patterns::AllBut(ps), Target::Type(t)) => {
                let excluded = self.usable(ps, target, others_only);
                (!excluded.iter().any(|x| covers_type(&x.glob, t))).then(|| target.clone())
            }
        }
    }

    /// Whether statement resources `p` hold every resource of `target`.
    fn covers(&self, p: &Patterns, target: &Target, others_only: bool) -> bool {
        match (p, target) {
            (_, Target::Star) => self.reach(p, target, others_only).is_some(),
            (Patterns::Only(ps), Target::Type(t)) => self
                .usable(ps, target, others_only)
                .iter()
                .any(|r| covers_type(&r.glob, t)),
            (Patterns::AllBut(ps), Target::Type(t)) => !self
                .usable(ps, target, others_only)
                .iter()
                .any(|x| resource::intersects(&x.glob, t)),
        }
    }

    /// Whether an unconditioned Deny removes `action` on all of `region`.
    fn denied(&self, action: &str, region: &Target, others_only: bool) -> bool {
        self.statements.iter().any(|s| {
            s.effect == Effect::Deny
                && !s.conditioned
                && s.actions.covers(action, true)
                && self.covers(&s.resources, region, others_only)
        })
    }

    /// The condition keys of the best counted Allow that grants `action` on some of `target`
    /// (empty: unconditionally), not removed there by a Deny; `None` when none does.
    fn grant(
        &self,
        action: &str,
        target: &Target,
        req: Request<'_>,
        others_only: bool,
        include_conditioned: bool,
    ) -> Option<Vec<String>> {
        self.statements
            .iter()
            .filter(|s| s.effect == Effect::Allow && (include_conditioned || !s.conditioned))
            .filter(|s| s.actions.covers(action, true) && !impossible(s, action, req))
            .filter_map(|s| {
                let region = self.reach(&s.resources, target, others_only)?;
                (!self.denied(action, &region, others_only)).then(|| s.condition_keys())
            })
            .min_by_key(Vec::len)
    }

    /// [`Document::grant`] over the catalog's resource types of `action`: every required type
    /// (or, with none required, any type; with no types, the resource `*`). An action the
    /// catalog does not know is asked about any resource. With `others_only`, a resource of
    /// type `user` must be someone other than the caller.
    fn grant_action(
        &self,
        action: &str,
        req: Request<'_>,
        others_only: bool,
        include_conditioned: bool,
    ) -> Option<Vec<String>> {
        let types = catalog().resource_types(action);
        let ask = |arn: &str, name: &str| {
            let others = others_only && name == "user";
            self.grant(
                action,
                &Target::Type(arn.to_string()),
                req,
                others,
                include_conditioned,
            )
        };
        match types {
            // Unknown to the catalog: any resource of the action's own service.
            None => {
                let svc = action.split(':').next().unwrap_or("*");
                ask(&format!("arn:*:{svc}:*:*:*"), "")
            }
            Some(ts) if ts.is_empty() => {
                self.grant(action, &Target::Star, req, false, include_conditioned)
            }
            Some(ts) => {
                let required: Vec<_> = ts.iter().filter(|t| t.required).collect();
                if required.is_empty() {
                    ts.iter()
                        .filter_map(|t| ask(&t.arn, &t.name))
                        .min_by_key(Vec::len)
                        .or_else(|| {
                            self.grant(action, &Target::Star, req, false, include_conditioned)
                        })
                } else {
                    let mut keys = Vec::new();
                    for t in required {
                        keys.extend(ask(&t.arn, &t.name)?);
                    }
                    keys.sort();
                    keys.dedup();
                    Some(keys)
                }
            }
        }
    }

    /// Whether some counted Allow grants `action` on some resource of its resource types (the
    /// catalog's), not removed by an unconditioned Deny. With `others_only`, resources limited
    /// to the caller itself (`${aws:username}` under Version 2012-10-17) do not count.
    pub fn allows_somewhere(
        &self,
        action: &str,
        include_conditioned: bool,
        others_only: bool,
    ) -> bool {
        self.grant_action(action, Request::default(), others_only, include_conditioned)
            .is_some()
    }

    /// The witnesses of `check`; the check holds when there are any. A witness that needs a
    /// conditioned Allow says so: `iam:PassRole on * (conditioned: iam:PassedToService)`.
    pub fn check(&self, check: &PolicyCheck, include_conditioned: bool) -> Vec<String> {
        match check {
            PolicyCheck::AdminAccess => self.admin_witnesses(include_conditioned),
            PolicyCheck::ServiceWildcards(only) => {
                self.service_wildcards(include_conditioned, only.as_deref())
            }
            PolicyCheck::PassroleOnAnyResource => self.passrole_witnesses(include_conditioned),
            PolicyCheck::NotActionAllow => self
                .granting_allows(include_conditioned)
                .filter(|s| matches!(&s.actions, Patterns::AllBut(_)))
                .map(|s| with_conditions(describe(s), s))
                .collect(),
            PolicyCheck::NotResourceAllow => self
                .granting_allows(include_conditioned)
                .filter(|s| matches!(&s.resources, Patterns::AllBut(_)))
                .map(|s| with_conditions(describe(s), s))
                .collect(),
            PolicyCheck::PrivilegeEscalation(only) => self
                .escalation_witnesses(include_conditioned)
                .into_iter()
                .filter(|(m, _)| only.as_ref().is_none_or(|o| o.iter().any(|x| x == m)))
                .map(|(m, keys)| note(m.to_string(), &keys))
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
            PolicyCheck::AnyPrincipal => self
                .statements
                .iter()
                .filter(|s| s.effect == Effect::Allow && (include_conditioned || !s.conditioned))
                .filter(|s| s.principal.as_ref().is_some_and(any_principal))
                .filter(|s| {
                    !s.conditions.iter().any(|c| {
                        !negated(&c.operator)
                            && PRINCIPAL_LIMITING_KEYS
                                .iter()
                                .any(|k| k.eq_ignore_ascii_case(&c.key))
                    })
                })
                .map(|s| {
                    let w = match &s.sid {
                        Some(sid) => format!("statement {sid} trusts any principal"),
                        None => "a statement trusts any principal".to_string(),
                    };
                    with_conditions(w, s)
                })
                .collect(),
        }
    }

    /// Counted Allows that grant something: not `NotAction: "*"`, not `NotResource: "*"`, not
    /// an empty list, and not all cancelled by an unconditioned `Deny * on *`.
    fn granting_allows(&self, include_conditioned: bool) -> impl Iterator<Item = &Statement> {
        let deny_all = self.statements.iter().any(|s| {
            s.effect == Effect::Deny
                && !s.conditioned
                && matches!(&s.actions, Patterns::Only(ps) if ps.iter().any(|p| all_stars(p) || p == "*:*"))
                && matches!(&s.resources, Patterns::Only(ps) if ps.iter().any(|p| all_stars(p)))
        });
        self.statements.iter().filter(move |s| {
            !deny_all
                && s.effect == Effect::Allow
                && (include_conditioned || !s.conditioned)
                && match &s.actions {
                    Patterns::Only(ps) => !ps.is_empty(),
                    Patterns::AllBut(ps) => !ps.iter().any(|p| all_stars(p) || p == "*:*"),
                }
                && match &s.resources {
                    Patterns::Only(ps) => !ps.is_empty(),
                    Patterns::AllBut(ps) => !ps.iter().any(|p| all_stars(p)),
                }
        })
    }

    /// Why the document grants admin access, empty when it does not. Admin: a counted Allow of
    /// every action (`*`, `*:*`, or a NotAction) on every resource (`*`, or a NotResource that
    /// is not `*`), of which at least one self-granting action ([`SELF_GRANTING_ACTIONS`]:
    /// putting or attaching a policy, writing a policy version) survives the unconditioned
    /// Denies on every resource of its type: whoever holds it can grant itself whatever a Deny
    /// took away (by rewriting this very policy). The witnesses name the Allow, its
    /// conditions, and what each Deny removes (`Deny removes s3:* on *`).
    pub fn admin_witnesses(&self, include_conditioned: bool) -> Vec<String> {
        let every_action = |p: &Patterns| match p {
            Patterns::Only(ps) => ps.iter().any(|a| all_stars(a) || a == "*:*"),
            Patterns::AllBut(ps) => !ps.iter().any(|a| all_stars(a) || a == "*:*"),
        };
        let every_resource = |p: &Patterns| match p {
            Patterns::Only(ps) => ps.iter().any(|r| all_stars(r)),
            Patterns::AllBut(ps) => !ps.iter().any(|r| all_stars(r)),
        };
        let survives = |s: &Statement, action: &str| {
            s.actions.covers(action, true)
                && catalog()
                    .resource_types(action)
                    .unwrap_or_default()
                    .iter()
                    .all(|t| {
                        let target = Target::Type(t.arn.clone());
                        self.covers(&s.resources, &target, false)
                            && !self.denied(action, &target, false)
                    })
        };
        let Some(allow) = self
            .statements
            .iter()
            .filter(|s| s.effect == Effect::Allow && (include_conditioned || !s.conditioned))
            .filter(|s| every_action(&s.actions) && every_resource(&s.resources))
            .filter(|s| SELF_GRANTING_ACTIONS.iter().any(|a| survives(s, a)))
            .min_by_key(|s| s.conditions.len())
        else {
            return Vec::new();
        };
        let mut out = vec![with_conditions(describe(allow), allow)];
        for d in self.statements.iter().filter(|s| s.effect == Effect::Deny) {
            let what = describe(d);
            let what = what.strip_prefix("Deny ").unwrap_or(&what);
            if d.conditioned {
                out.push(format!(
                    "a conditioned Deny of {what} does not cancel (conditioned: {})",
                    d.condition_keys().join(", ")
                ));
            } else {
                out.push(format!("Deny removes {what}"));
            }
        }
        out
    }

    /// Services whose every action (each on some resource of its catalog resource types) the
    /// document grants: `service:*`, `*` less a Deny of other services, a NotAction leaving the
    /// service, ... With `only`, just those services; otherwise every service some Allow names
    /// (or every service, when an Allow has a wildcard service or a NotAction).
    pub fn service_wildcards(
        &self,
        include_conditioned: bool,
        only: Option<&[String]>,
    ) -> Vec<String> {
        let services: Vec<String> = match only {
            Some(list) => list.iter().map(|s| s.to_ascii_lowercase()).collect(),
            None => {
                let mut set = BTreeSet::new();
                let mut every = false;
                for s in self.statements.iter().filter(|s| s.effect == Effect::Allow) {
                    match &s.actions {
                        Patterns::AllBut(_) => every = true,
                        Patterns::Only(ps) => {
                            for p in ps {
                                match p.split_once(':') {
                                    Some((svc, _)) if !svc.contains(['*', '?']) => {
                                        set.insert(svc.to_ascii_lowercase());
                                    }
                                    _ => every = true,
                                }
                            }
                        }
                    }
                }
                if every {
                    catalog()
                        .service_prefixes()
                        .map(str::to_ascii_lowercase)
                        .collect()
                } else {
                    set.into_iter().collect()
                }
            }
        };
        let mut out = Vec::new();
        for svc in services {
            let mut actions = Vec::new();
            catalog().for_each_match(&format!("{svc}:*"), |a, _| {
                actions.push(a.to_string());
                true
            });
            if actions.is_empty() {
                continue;
            }
            let mut keys = Vec::new();
            let mut all = true;
            for a in &actions {
                match self.grant_action(a, Request::default(), false, include_conditioned) {
                    Some(k) => keys.extend(k),
                    None => {
                        all = false;
                        break;
                    }
                }
            }
            if all {
                keys.sort();
                keys.dedup();
                out.push(note(format!("{svc}:*"), &keys));
            }
        }
        out
    }

    /// Whether `iam:PassRole` is allowed on every role (see [`Document::passrole_witnesses`]).
    pub fn passrole_on_any_resource(&self, include_conditioned: bool) -> bool {
        !self.passrole_witnesses(include_conditioned).is_empty()
    }

    /// The Allows of `iam:PassRole` on every role of the account: `*`, `arn:aws:iam::*:role/*`,
    /// `arn:aws:iam::123456789012:role/*`, `arn:aws:iam::*:*`, `arn:*`, or a NotResource that
    /// excludes no role; not taken away from every role by an unconditioned Deny.
    pub fn passrole_witnesses(&self, include_conditioned: bool) -> Vec<String> {
        let role = catalog()
            .resource_types("iam:PassRole")
            .and_then(|ts| ts.into_iter().next())
            .map(|t| t.arn)
            .unwrap_or_else(|| "arn:*:iam::*:role/*".to_string());
        let target = Target::Type(role);
        self.statements
            .iter()
            .filter(|s| s.effect == Effect::Allow && (include_conditioned || !s.conditioned))
            .filter(|s| s.actions.covers("iam:PassRole", true))
            .filter(|s| !impossible(s, "iam:PassRole", Request::default()))
            .filter(|s| self.covers(&s.resources, &target, false))
            .filter(|_| !self.denied("iam:PassRole", &target, false))
            .map(|s| {
                let on = match &s.resources {
                    Patterns::Only(ps) => ps.join(", "),
                    Patterns::AllBut(ps) => format!("NotResource {}", ps.join(", ")),
                };
                with_conditions(format!("iam:PassRole on {on}"), s)
            })
            .collect()
    }

    /// The escalation methods whose every action the document allows somewhere.
    pub fn privilege_escalation(&self, include_conditioned: bool) -> Vec<&'static str> {
        self.escalation_witnesses(include_conditioned)
            .into_iter()
            .map(|(m, _)| m)
            .collect()
    }

    /// The escalation methods whose every action is granted on a resource of its type (an
    /// `iam:PassRole` for the service the method starts, so a condition limiting
    /// `iam:PassedToService` to another service rules the method out), with the condition keys
    /// the grants depend on.
    fn escalation_witnesses(&self, include_conditioned: bool) -> Vec<(&'static str, Vec<String>)> {
        // Services some counted Allow can grant at all; `None`: any (a wildcard service part
        // or a NotAction). Methods needing another service are ruled out without matching.
        let mut services: Option<BTreeSet<String>> = Some(BTreeSet::new());
        for s in self
            .statements
            .iter()
            .filter(|s| s.effect == Effect::Allow && (include_conditioned || !s.conditioned))
        {
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
        let mut out = Vec::new();
        for m in ESCALATION_METHODS
            .iter()
            .filter(|m| m.actions.iter().all(|a| possible(a)))
        {
            let started = m
                .actions
                .iter()
                .find(|a| !a.starts_with("iam:"))
                .and_then(|a| a.split(':').next())
                .map(|svc| format!("{svc}.amazonaws.com"));
            let req = Request {
                passed_to: started.as_deref(),
            };
            let mut keys = Vec::new();
            let mut all = true;
            for a in m.actions {
                match self.grant_action(a, req, m.others_only, include_conditioned) {
                    Some(k) => keys.extend(k),
                    None => {
                        all = false;
                        break;
                    }
                }
            }
            if all {
                keys.sort();
                keys.dedup();
                out.push((m.name, keys));
            }
        }
        out
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
            Patterns::AllBut(ps) => !ps.iter().any(|r| all_stars(r)),
        };
        for s in self
            .statements
            .iter()
            .filter(|s| s.effect == Effect::Allow && (include_conditioned || !s.conditioned))
            .filter(|s| any_resource(&s.resources))
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

/// Whether pattern `p` holds every resource of catalog type `t` within the partition and
/// account `p` names (an identity policy acts in its own account).
fn covers_type(p: &str, t: &str) -> bool {
    resource::subsumes(p, &resource::within_account_of(t, p))
}

/// `witness (conditioned: k1, k2)` when there are keys.
fn note(witness: String, keys: &[String]) -> String {
    if keys.is_empty() {
        witness
    } else {
        format!("{witness} (conditioned: {})", keys.join(", "))
    }
}

fn with_conditions(witness: String, s: &Statement) -> String {
    note(witness, &s.condition_keys())
}

/// `Allow * on *`, `Deny NotAction iam:* on NotResource arn:...`.
fn describe(s: &Statement) -> String {
    let effect = match s.effect {
        Effect::Allow => "Allow",
        Effect::Deny => "Deny",
    };
    let actions = match &s.actions {
        Patterns::Only(ps) => ps.join(", "),
        Patterns::AllBut(ps) => format!("NotAction {}", ps.join(", ")),
    };
    let resources = match &s.resources {
        Patterns::Only(ps) => ps.join(", "),
        Patterns::AllBut(ps) => format!("NotResource {}", ps.join(", ")),
    };
    format!("{effect} {actions} on {resources}")
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
