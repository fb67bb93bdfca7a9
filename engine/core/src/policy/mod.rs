//! IAM policy-document semantics, pure: parsing every legal shape and answering questions such
//! as "does this document allow action A on resource R" or "does it grant admin access".
//!
//! Semantics follow IAM's documented evaluation logic: action names are case-insensitive, `*`
//! and `?` are the only wildcards (`[x]` is literal), `Action`/`NotAction` and
//! `Resource`/`NotResource` may be a string or a list, `Statement` may be an object or a list,
//! and an explicit Deny overrides any Allow. `NotResource: "*"` excludes every resource and
//! `NotAction: "*"` every action: such a statement grants (or denies) nothing.
//!
//! Conditions: an Allow with a `Condition` grants whenever its condition holds, which a static
//! check cannot rule out, so it counts by default (`include_conditioned`, which rules turn off
//! with a param) and every witness it produces says so (`conditioned: aws:SourceIp`). The one
//! exception is a condition the request provably cannot meet (`iam:PassedToService` limited to
//! Lambda when the question is passing a role to EC2; a positive condition on
//! `iam:PassedToService` for an action other than `iam:PassRole`, which never carries that
//! key). A Deny with a `Condition` never cancels: it may not apply to a request.
//!
//! Policy variables (`${aws:username}`, ...) are variables only under `Version: "2012-10-17"`;
//! under `2008-10-17` or without a Version they are literal text (which no IAM user, role or
//! policy name can contain). Resources are compared with [`resource`]'s pattern algebra and the
//! catalog's resource types (see [`analysis`]).

use serde_json::Value;

pub mod analysis;
pub mod catalog;
pub mod resource;
pub mod rightsize;

/// A parse failure of a policy document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The text is neither JSON nor URL-encoded JSON.
    #[error("policy document is not JSON (also tried URL-decoding): {0}")]
    NotJson(String),
    /// The JSON is not a policy document.
    #[error("policy document: {0}")]
    Shape(String),
}

/// Allow or Deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The statement grants.
    Allow,
    /// The statement forbids, overriding any Allow.
    Deny,
}

/// A list of patterns that a statement matches (`Action`) or matches all but (`NotAction`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Patterns {
    /// `Action` / `Resource`: these patterns.
    Only(Vec<String>),
    /// `NotAction` / `NotResource`: everything except these patterns.
    AllBut(Vec<String>),
}

impl Patterns {
    /// Whether `value` is covered, with IAM wildcard semantics.
    pub fn covers(&self, value: &str, case_insensitive: bool) -> bool {
        let any = |ps: &[String]| {
            ps.iter()
                .any(|p| wildcard_match(p, value, case_insensitive))
        };
        match self {
            Patterns::Only(ps) => any(ps),
            Patterns::AllBut(ps) => !any(ps),
        }
    }
}

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The statement id, if any.
    pub sid: Option<String>,
    /// Allow or Deny.
    pub effect: Effect,
    /// `Action` or `NotAction`.
    pub actions: Patterns,
    /// `Resource` or `NotResource` (absent in trust policies: then every resource).
    pub resources: Patterns,
    /// Whether the statement has a `Condition` block.
    pub conditioned: bool,
    /// The `Condition` block, one entry per operator and key.
    pub conditions: Vec<ConditionEntry>,
    /// `Principal` (trust and resource policies), as written.
    pub principal: Option<Value>,
}

/// One `operator: {key: values}` entry of a `Condition` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionEntry {
    /// The operator as written (`StringEquals`, `ForAnyValue:StringLike`, `BoolIfExists`).
    pub operator: String,
    /// The condition key (`aws:SourceIp`).
    pub key: String,
    /// The values, as strings.
    pub values: Vec<String>,
}

impl Statement {
    /// The condition keys, sorted and unique, for "conditioned: ..." notes.
    pub fn condition_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.conditions.iter().map(|c| c.key.clone()).collect();
        keys.sort();
        keys.dedup();
        if keys.is_empty() && self.conditioned {
            keys.push("a condition".to_string());
        }
        keys
    }
}

fn parse_conditions(v: Option<&Value>) -> Vec<ConditionEntry> {
    let mut out = Vec::new();
    let Some(Value::Object(ops)) = v else {
        return out;
    };
    for (op, keys) in ops {
        let Value::Object(keys) = keys else { continue };
        for (key, vals) in keys {
            let text = |v: &Value| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let values = match vals {
                Value::Array(items) => items.iter().map(text).collect(),
                other => vec![text(other)],
            };
            out.push(ConditionEntry {
                operator: op.clone(),
                key: key.clone(),
                values,
            });
        }
    }
    out
}

/// A parsed policy document.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Document {
    /// `Version`, if given.
    pub version: Option<String>,
    /// The statements, in order.
    pub statements: Vec<Statement>,
}

/// Parses a document given as text: raw JSON first, then URL-decoded JSON (IAM returns
/// documents RFC 3986-encoded; some endpoints do not).
pub fn parse_document_text(text: &str) -> Result<Value, PolicyError> {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return Ok(v);
    }
    let decoded = percent_decode(text).ok_or_else(|| PolicyError::NotJson(snippet(text)))?;
    serde_json::from_str::<Value>(&decoded).map_err(|_| PolicyError::NotJson(snippet(text)))
}

fn snippet(text: &str) -> String {
    let s: String = text.chars().take(60).collect();
    if s.len() < text.len() {
        format!("{s}...")
    } else {
        s
    }
}

/// Decodes `%XX` escapes (and `+` as space, as IAM's encoder never emits a literal `+`).
pub fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes.get(i) {
            Some(b'%') => {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            Some(b'+') => {
                out.push(b' ');
                i += 1;
            }
            Some(&b) => {
                out.push(b);
                i += 1;
            }
            None => break,
        }
    }
    String::from_utf8(out).ok()
}

fn string_list(v: &Value, field: &str) -> Result<Vec<String>, PolicyError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| PolicyError::Shape(format!("{field} entries must be strings")))
            })
            .collect(),
        _ => Err(PolicyError::Shape(format!(
            "{field} must be a string or a list of strings"
        ))),
    }
}

fn patterns(
    stmt: &serde_json::Map<String, Value>,
    yes: &str,
    no: &str,
    required: bool,
) -> Result<Patterns, PolicyError> {
    match (stmt.get(yes), stmt.get(no)) {
        (Some(_), Some(_)) => Err(PolicyError::Shape(format!(
            "a statement cannot have both {yes} and {no}"
        ))),
        (Some(v), None) => Ok(Patterns::Only(string_list(v, yes)?)),
        (None, Some(v)) => Ok(Patterns::AllBut(string_list(v, no)?)),
        (None, None) if required => Err(PolicyError::Shape(format!(
            "a statement needs {yes} or {no}"
        ))),
        (None, None) => Ok(Patterns::Only(vec!["*".to_string()])),
    }
}

impl Document {
    /// Parses a document value (an object, or a string holding raw or URL-encoded JSON).
    pub fn parse(value: &Value) -> Result<Document, PolicyError> {
        if let Value::String(text) = value {
            return Document::parse(&parse_document_text(text)?);
        }
        let obj = value
            .as_object()
            .ok_or_else(|| PolicyError::Shape("a policy document must be an object".into()))?;
        let version = obj
            .get("Version")
            .and_then(Value::as_str)
            .map(str::to_string);
        let raw = match obj.get("Statement") {
            Some(Value::Array(items)) => items.iter().collect::<Vec<_>>(),
            Some(v @ Value::Object(_)) => vec![v],
            Some(_) => {
                return Err(PolicyError::Shape(
                    "Statement must be an object or a list of objects".into(),
                ))
            }
            None => Vec::new(),
        };
        let mut statements = Vec::with_capacity(raw.len());
        for s in raw {
            let s = s
                .as_object()
                .ok_or_else(|| PolicyError::Shape("each Statement must be an object".into()))?;
            let effect = match s.get("Effect").and_then(Value::as_str) {
                Some("Allow") => Effect::Allow,
                Some("Deny") => Effect::Deny,
                other => {
                    return Err(PolicyError::Shape(format!(
                        "Effect must be \"Allow\" or \"Deny\", got {}",
                        other.map(|o| format!("{o:?}")).unwrap_or("nothing".into())
                    )))
                }
            };
            statements.push(Statement {
                sid: s.get("Sid").and_then(Value::as_str).map(str::to_string),
                effect,
                actions: patterns(s, "Action", "NotAction", true)?,
                resources: patterns(s, "Resource", "NotResource", false)?,
                conditioned: s
                    .get("Condition")
                    .is_some_and(|c| c.as_object().map(|m| !m.is_empty()).unwrap_or(true)),
                conditions: parse_conditions(s.get("Condition")),
                principal: s.get("Principal").cloned(),
            });
        }
        Ok(Document {
            version,
            statements,
        })
    }

    /// Whether policy variables (`${aws:username}`) are variables: only under Version
    /// `2012-10-17`; otherwise they are literal text.
    pub fn variables(&self) -> bool {
        self.version.as_deref() == Some("2012-10-17")
    }

    /// Whether the document allows `action` on the concrete `resource`: some counted Allow
    /// covers both and no unconditioned Deny covers both. `include_conditioned` decides whether
    /// Allows with a Condition count. A Deny with a Condition never cancels (it may not apply to
    /// a request), so a finding errs on the side of reporting. Under Version 2012-10-17 a
    /// policy variable in an Allow's resource may stand for anything (it counts); in a Deny's it
    /// is not known to match (it does not cancel).
    pub fn allows(&self, action: &str, resource: &str, include_conditioned: bool) -> bool {
        let vars = self.variables();
        let res_covers = |p: &Patterns, allow: bool| {
            let one = |pat: &String| {
                let pat = resolve_for_concrete(pat, vars, allow);
                wildcard_match(&pat, resource, false)
            };
            match p {
                Patterns::Only(ps) => ps.iter().any(one),
                Patterns::AllBut(ps) => !ps.iter().any(one),
            }
        };
        let allowed = self.statements.iter().any(|s| {
            s.effect == Effect::Allow
                && (include_conditioned || !s.conditioned)
                && s.actions.covers(action, true)
                && res_covers(&s.resources, true)
        });
        allowed
            && !self.statements.iter().any(|s| {
                s.effect == Effect::Deny
                    && !s.conditioned
                    && s.actions.covers(action, true)
                    && res_covers(&s.resources, false)
            })
    }

    /// Whether the document grants admin access (see [`Document::admin_witnesses`]).
    pub fn admin_access(&self, include_conditioned: bool) -> bool {
        !self.admin_witnesses(include_conditioned).is_empty()
    }
}

/// A resource pattern for matching one concrete ARN: under Version 2012-10-17 a `${...}`
/// variable becomes `*` in an Allow (it may stand for anything) and a character no ARN has in a
/// Deny (not known to match); otherwise the text is literal.
fn resolve_for_concrete(pat: &str, variables: bool, allow: bool) -> String {
    if !variables || !pat.contains("${") {
        return pat.to_string();
    }
    let fill = if allow { "*" } else { "\u{0}" };
    let mut out = String::new();
    let mut rest = pat;
    while let Some(i) = rest.find("${") {
        out.push_str(rest.get(..i).unwrap_or_default());
        match rest.get(i..).and_then(|r| r.find('}')) {
            Some(j) => {
                out.push_str(fill);
                rest = rest.get(i + j + 1..).unwrap_or_default();
            }
            None => {
                out.push_str(rest.get(i..).unwrap_or_default());
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters and `?` exactly
/// one; every other character (including `[`) is literal.
pub fn wildcard_match(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let eq = |a: char, b: char| {
        if case_insensitive {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match (p.get(pi), t.get(ti)) {
            (Some('*'), _) => {
                star = Some((pi, ti));
                pi += 1;
            }
            (Some('?'), _) => {
                pi += 1;
                ti += 1;
            }
            (Some(&pc), Some(&tc)) if eq(pc, tc) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wildcards() {
        let cases = [
            ("*", "anything", true, true),
            ("iam:*", "IAM:PassRole", true, true),
            ("iam:*", "IAM:PassRole", false, false),
            ("s3:Get?bject", "s3:GetObject", true, true),
            ("s3:Get?bject", "s3:GetObjject", true, false),
            ("s3:[G]etObject", "s3:GetObject", true, false),
            ("s3:[G]etObject", "s3:[G]etObject", true, true),
            ("a*b*c", "aXXbYYc", false, true),
            ("a*b*c", "aXXbYY", false, false),
            ("", "", false, true),
            ("", "x", false, false),
            (
                "arn:aws:iam::*:user/break-glass-*",
                "arn:aws:iam::1:user/break-glass-1",
                false,
                true,
            ),
        ];
        for (p, t, ci, want) in cases {
            assert_eq!(wildcard_match(p, t, ci), want, "{p} vs {t}");
        }
    }

    fn doc(v: Value) -> Document {
        match Document::parse(&v) {
            Ok(d) => d,
            Err(e) => unreachable!("{e}"),
        }
    }

    #[test]
    fn admin_shapes() {
        let cases = [
            (
                json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}),
                true,
            ),
            (
                json!({"Statement": [{"Effect": "Allow", "Action": ["*:*"], "Resource": ["*"]}]}),
                true,
            ),
            (
                json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
                false,
            ),
            (
                json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b/*"}]}),
                false,
            ),
            (
                json!({"Statement": [{"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}]}),
                true,
            ),
            (
                json!({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}),
                false,
            ),
            (
                json!({"Statement": [
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {"Effect": "Deny", "Action": "*", "Resource": "*"}]}),
                false,
            ),
            (
                json!({"Statement": [
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]}),
                true,
            ),
            (
                json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}),
                false,
            ),
        ];
        for (d, want) in cases {
            assert_eq!(doc(d.clone()).admin_access(false), want, "{d}");
        }
        let conditioned = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]});
        assert!(doc(conditioned).admin_access(true));
    }

    #[test]
    fn allows_with_deny() {
        let d = doc(json!({"Statement": [
            {"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:Delete*", "Resource": "*"}]}));
        assert!(d.allows("IAM:PassRole", "arn:aws:iam::1:role/x", false));
        assert!(!d.allows("iam:DeleteUser", "arn:aws:iam::1:user/x", false));
        assert!(!d.allows("s3:GetObject", "*", false));
    }

    #[test]
    fn url_encoded_text() {
        let v = parse_document_text(
            "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D",
        );
        assert_eq!(v, Ok(json!({"Version": "2012-10-17", "Statement": []})));
        assert!(matches!(
            parse_document_text("%ZZ"),
            Err(PolicyError::NotJson(_))
        ));
        assert!(
            Document::parse(&json!({"Statement": {"Effect": "Maybe", "Action": "*"}})).is_err()
        );
    }
}
