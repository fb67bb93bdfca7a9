//! Organizations: the pure half of multi-account runs (issue 15).
//!
//! - [`Account`] and [`parse_accounts`]: the accounts file (YAML), every error at
//!   `file:line:col`; an account's `params` and `exempt` ([`AccountExempt`]) change that
//!   account's rule set only ([`account_rules`]);
//! - [`Filter`] and [`Selection`]: `--include`/`--exclude` on id, name (`*` globs) and tag;
//! - [`Shard`]: the deterministic assignment of each account to exactly one of N shards, from
//!   `--shard I/N` or a job runner's index variable;
//! - [`report`]: the manifest and the organization report (totals per account, rule and
//!   severity; failed and suspended accounts), and the merge of shard outputs;
//! - [`render`]: the report as human text, bounded markdown and JSON, over any `io::Write`.
//!
//! Nothing here does I/O: the AWS side (ListAccounts, AssumeRole) is in iamwarden-aws and the
//! run itself (one plan per account streamed to disk) in the CLI.

pub mod render;
pub mod report;

use crate::diag::{did_you_mean, Diagnostic, Diagnostics};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// The accounts file (`--accounts FILE`) as its JSON Schema (`iamwarden schema accounts`)
/// describes it for editors and validators. The file itself is read by `parse_accounts`, which
/// reports every problem at `file:line:col`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "iamwarden accounts file")]
pub struct AccountsFile {
    /// The accounts to run, each at most once.
    pub accounts: Vec<Account>,
}

/// One member account to plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Account {
    /// The 12-digit account id, quoted (a YAML number loses leading zeros).
    #[schemars(regex(pattern = r"^[0-9]{12}$"))]
    pub id: String,
    /// A readable name (the Organizations account name, or the file's `name`).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub name: String,
    /// The role to assume in it: a role name (`OrgAudit`, `path/OrgAudit`) or an ARN template
    /// (`arn:aws:iam::{account_id}:role/OrgAudit`); `None`: the run's `--role-name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub role: Option<String>,
    /// The external id the role's trust policy requires, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub external_id: Option<String>,
    /// Tags (from the file, or the account's tags in Organizations), for the filters; a number
    /// or boolean value is read as its text.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<String, TagValue>")]
    pub tags: BTreeMap<String, String>,
    /// Per-account rule parameters: rule id -> parameter -> value (as a pack's `overrides`
    /// give them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, BTreeMap<String, Value>>,
    /// Per-account exemptions: resources (and whole rules) every loaded rule leaves alone in
    /// this account only, listed in its plan as exempt.
    #[serde(default, skip_serializing_if = "AccountExempt::is_empty")]
    pub exempt: AccountExempt,
}

/// A tag value: text, or a number or boolean, read as its text.
#[derive(JsonSchema)]
#[schemars(untagged)]
#[allow(dead_code)]
enum TagValue {
    Text(String),
    Number(f64),
    Bool(bool),
}

/// An account's `exempt:` in the accounts file: the pack language's exemptions (`arns`,
/// `names`, `tags`, as a pack's `exempt` gives them), added to every loaded rule in this account
/// only, and `rules`: rule ids whose every finding in this account is exempt. An exempt finding
/// is not dropped: the plan lists it under `skipped` with the reason, as a pack's exemption.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountExempt {
    /// ARN globs (`*`, `?`); for keys, MFA devices, login profiles and inline policies the
    /// owner's ARN is matched too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arns: Vec<String>,
    /// Resource id or name globs (a user's name also matches its keys).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// Tags (`*`: any value) on the resource or its owner.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Rule ids exempt in this account (every finding of the rule).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
}

impl AccountExempt {
    /// Whether it exempts nothing.
    pub fn is_empty(&self) -> bool {
        self.arns.is_empty()
            && self.names.is_empty()
            && self.tags.is_empty()
            && self.rules.is_empty()
    }
}

/// The rule set of one account: `rules` as compiled from the packs, with the account's `params`
/// (recompiled, checked as a pack's `overrides`) and its `exempt` added to every rule (the
/// source each reason names is `origin`). `None` when the account changes nothing (use the
/// shared set). A parameter or rule id no loaded rule has is an error naming `origin`.
pub fn account_rules(
    packs: &[crate::spec::load::LoadedPack],
    account: &Account,
    origin: &str,
) -> Result<Option<crate::compile::RuleSet>, Diagnostics> {
    if account.params.is_empty() && account.exempt.is_empty() {
        return Ok(None);
    }
    let mut set = if account.params.is_empty() {
        crate::compile::compile(packs).map_err(Diagnostics)?
    } else {
        crate::packs::with_params(packs, &account.params, origin)?
    };
    let known: Vec<String> = set.rules.iter().map(|r| r.id.clone()).collect();
    let unknown: Vec<Diagnostic> = account
        .exempt
        .rules
        .iter()
        .filter(|r| !known.contains(r))
        .map(|r| {
            Diagnostic::new(origin, format!("exempt.rules: no loaded rule `{r}`"))
                .hint(did_you_mean(r, known.iter().map(String::as_str)))
        })
        .collect();
    if !unknown.is_empty() {
        return Err(Diagnostics(unknown));
    }
    let e = &account.exempt;
    let source = format!("accounts file, account {}", account.id);
    for rule in &mut set.rules {
        let x = &mut rule.exempt;
        x.arns
            .extend(e.arns.iter().map(|a| (a.clone(), source.clone())));
        x.names
            .extend(e.names.iter().map(|n| (n.clone(), source.clone())));
        x.tags.extend(
            e.tags
                .iter()
                .map(|(k, v)| (k.clone(), v.clone(), source.clone())),
        );
        if e.rules.contains(&rule.id) {
            x.all.push(source.clone());
        }
    }
    Ok(Some(set))
}

impl Account {
    /// An account with only an id and a name (as ListAccounts gives it).
    pub fn new(id: &str, name: &str) -> Account {
        Account {
            id: id.to_string(),
            name: name.to_string(),
            role: None,
            external_id: None,
            tags: BTreeMap::new(),
            params: BTreeMap::new(),
            exempt: AccountExempt::default(),
        }
    }

    /// The ARN of the role to assume: the account's own `role` or `default_role`, a name
    /// (`OrgAudit`, `ops/OrgAudit`) made into `arn:<partition>:iam::<id>:role/<name>`, or an
    /// ARN template with `{account_id}` filled in.
    pub fn role_arn(&self, default_role: &str, partition: &str) -> String {
        let role = self.role.as_deref().unwrap_or(default_role);
        if role.starts_with("arn:") {
            role.replace("{account_id}", &self.id)
        } else {
            format!(
                "arn:{partition}:iam::{}:role/{}",
                self.id,
                role.trim_start_matches('/')
            )
        }
    }
}

/// Whether `id` is a 12-digit account id.
pub fn is_account_id(id: &str) -> bool {
    id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())
}

const ACCOUNT_KEYS: [&str; 7] = [
    "id",
    "name",
    "role",
    "external_id",
    "tags",
    "params",
    "exempt",
];

/// Parses an accounts file:
///
/// ```yaml
/// accounts:
///   - id: "111111111111"        # quoted: a YAML number loses leading zeros
///     name: prod
///     role: OrgAudit            # optional: a role name or an ARN template with {account_id}
///     external_id: team-7f3a    # optional
///     tags: {env: prod}         # optional, for --include/--exclude tag:KEY=VALUE
///     params:                   # optional: per-account rule parameters
///       access-key-unused: {days: 120}
///     exempt:                   # optional: left alone in this account only (listed as exempt)
///       names: [ci-deploy]      # resource id or name globs (arns:, tags: as a pack's exempt)
///       rules: [console-user-without-mfa]  # every finding of these rules
/// ```
///
/// Every problem is reported, each at `file:line:col`.
pub fn parse_accounts(file: &str, text: &str) -> Result<Vec<Account>, Diagnostics> {
    use crate::spec::{limits, load};
    // The same linear pre-pass packs get, before any YAML parser runs on the text.
    if let Err(e) = limits::check(text, &limits::ACCOUNTS) {
        return Err(Diagnostics(vec![load::limit_diagnostic(text, file, &e)]));
    }
    let (doc, locs) = match crate::spec::yaml::parse(text) {
        Ok(d) => (d.value, d.locations),
        Err(e) => return Err(Diagnostics(vec![e.diagnostic(text, file)])),
    };
    let mut errors = Vec::new();
    let err = |pointer: &str, key: bool, message: String| {
        let d = Diagnostic::new(file, message);
        let pos = if key {
            locs.key(pointer)
        } else {
            locs.nearest(pointer)
        };
        match pos {
            Some(p) => d.at(text, p.line, p.col),
            None => d,
        }
    };
    let Some(top) = doc.as_object() else {
        return Err(Diagnostics(vec![err(
            "",
            false,
            "an accounts file is a mapping with an `accounts:` list".into(),
        )]));
    };
    for k in top.keys().filter(|k| *k != "accounts") {
        errors.push(
            err(
                &format!("/{k}"),
                true,
                format!("unknown key `{k}` (an accounts file has only `accounts`)"),
            )
            .hint(did_you_mean(k, ["accounts"])),
        );
    }
    let Some(list) = top.get("accounts").and_then(Value::as_array) else {
        errors.push(err(
            "",
            false,
            "`accounts:` must be a list of accounts".into(),
        ));
        return Err(Diagnostics(errors));
    };
    let mut accounts = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, entry) in list.iter().enumerate() {
        let at = format!("/accounts/{i}");
        let Some(m) = entry.as_object() else {
            errors.push(err(
                &at,
                false,
                "an account is a mapping with an `id`".into(),
            ));
            continue;
        };
        for k in m.keys().filter(|k| !ACCOUNT_KEYS.contains(&k.as_str())) {
            errors.push(
                err(
                    &format!("{at}/{k}"),
                    true,
                    format!(
                        "unknown key `{k}` (an account has: {})",
                        ACCOUNT_KEYS.join(", ")
                    ),
                )
                .hint(did_you_mean(k, ACCOUNT_KEYS)),
            );
        }
        let id = match m.get("id") {
            Some(Value::String(s)) if is_account_id(s) => s.clone(),
            Some(Value::Number(n)) => {
                errors.push(err(
                    &format!("{at}/id"),
                    false,
                    format!("account id {n} is a number: quote it (\"{n:0>12}\"), YAML drops leading zeros"),
                ));
                continue;
            }
            Some(v) => {
                errors.push(err(
                    &format!("{at}/id"),
                    false,
                    format!("`{}` is not a 12-digit account id", text_of(v)),
                ));
                continue;
            }
            None => {
                errors.push(err(&at, false, "the account has no `id`".into()));
                continue;
            }
        };
        if let Some(first) = seen.insert(id.clone(), i) {
            errors.push(err(
                &format!("{at}/id"),
                false,
                format!("account {id} is listed twice (also at accounts[{first}])"),
            ));
        }
        let string = |key: &str, errors: &mut Vec<Diagnostic>| -> Option<String> {
            match m.get(key) {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                Some(_) => {
                    errors.push(err(
                        &format!("{at}/{key}"),
                        false,
                        format!("`{key}` must be a non-empty string"),
                    ));
                    None
                }
            }
        };
        let name = string("name", &mut errors).unwrap_or_default();
        let role = string("role", &mut errors);
        if let Some(r) = &role {
            if r.starts_with("arn:") && r.split(':').count() != 6 {
                errors.push(err(
                    &format!("{at}/role"),
                    false,
                    format!("`{r}` is not a role ARN (arn:aws:iam::{{account_id}}:role/NAME)"),
                ));
            }
        }
        let external_id = string("external_id", &mut errors);
        let mut tags = BTreeMap::new();
        match m.get("tags") {
            None | Some(Value::Null) => {}
            Some(Value::Object(t)) => {
                for (k, v) in t {
                    match v {
                        Value::String(s) => {
                            tags.insert(k.clone(), s.clone());
                        }
                        Value::Number(_) | Value::Bool(_) => {
                            tags.insert(k.clone(), v.to_string());
                        }
                        _ => errors.push(err(
                            &format!("{at}/tags/{k}"),
                            false,
                            format!("tag `{k}` must have a string value"),
                        )),
                    }
                }
            }
            Some(_) => errors.push(err(
                &format!("{at}/tags"),
                false,
                "`tags` must be a mapping of tag keys to values".into(),
            )),
        }
        let mut params = BTreeMap::new();
        match m.get("params") {
            None | Some(Value::Null) => {}
            Some(Value::Object(p)) => {
                for (rule, v) in p {
                    match v.as_object() {
                        Some(ps) => {
                            params.insert(
                                rule.clone(),
                                ps.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                            );
                        }
                        None => errors.push(err(
                            &format!("{at}/params/{rule}"),
                            false,
                            format!("params of rule `{rule}` must be a mapping of parameter names to values"),
                        )),
                    }
                }
            }
            Some(_) => errors.push(err(
                &format!("{at}/params"),
                false,
                "`params` must be a mapping of rule ids to parameters".into(),
            )),
        }
        let exempt = match m.get("exempt") {
            None | Some(Value::Null) => AccountExempt::default(),
            Some(v) => match serde_json::from_value::<AccountExempt>(v.clone()) {
                Ok(e) => e,
                Err(e) => {
                    errors.push(err(
                        &format!("{at}/exempt"),
                        false,
                        format!(
                            "`exempt`: {e} (it has: arns, names, tags, rules; lists of globs, \
                             a mapping of tags, a list of rule ids)"
                        ),
                    ));
                    AccountExempt::default()
                }
            },
        };
        accounts.push(Account {
            id,
            name,
            role,
            external_id,
            tags,
            params,
            exempt,
        });
    }
    if errors.is_empty() {
        Ok(accounts)
    } else {
        Err(Diagnostics(errors))
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One `--include`/`--exclude` filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// `id:111111111111`
    Id(String),
    /// `name:prod-*` (`*` matches any run of characters; case-sensitive).
    Name(String),
    /// `tag:KEY=VALUE` (`*` globs in the value), or `tag:KEY` (the tag is present).
    Tag(String, Option<String>),
}

impl Filter {
    /// Parses `id:…`, `name:…`, `tag:KEY[=VALUE]`; a bare 12-digit id is `id:`.
    pub fn parse(text: &str) -> Result<Filter, String> {
        let bad = || {
            format!("`{text}` is not a filter: id:ACCOUNT_ID, name:GLOB, tag:KEY or tag:KEY=GLOB")
        };
        if is_account_id(text) {
            return Ok(Filter::Id(text.to_string()));
        }
        let (kind, rest) = text.split_once(':').ok_or_else(bad)?;
        if rest.is_empty() {
            return Err(bad());
        }
        match kind {
            "id" if is_account_id(rest) => Ok(Filter::Id(rest.to_string())),
            "id" => Err(format!("`{rest}` is not a 12-digit account id")),
            "name" => Ok(Filter::Name(rest.to_string())),
            "tag" => Ok(match rest.split_once('=') {
                Some((k, v)) => Filter::Tag(k.to_string(), Some(v.to_string())),
                None => Filter::Tag(rest.to_string(), None),
            }),
            _ => Err(bad()),
        }
    }

    /// Whether the account matches.
    pub fn matches(&self, a: &Account) -> bool {
        match self {
            Filter::Id(id) => a.id == *id,
            Filter::Name(g) => glob(g, &a.name),
            Filter::Tag(k, None) => a.tags.contains_key(k),
            Filter::Tag(k, Some(v)) => a.tags.get(k).is_some_and(|t| glob(v, t)),
        }
    }
}

/// `*` matches any run of characters (none included); everything else matches itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for p in middle {
        match rest.find(p) {
            Some(i) => rest = rest.get(i + p.len()..).unwrap_or_default(),
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// The account filters of a run: an account is selected when it matches some include (or
/// there are none) and no exclude.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// `--include` filters (any may match).
    pub include: Vec<Filter>,
    /// `--exclude` filters (none may match).
    pub exclude: Vec<Filter>,
}

impl Selection {
    /// Whether the account is selected.
    pub fn selects(&self, a: &Account) -> bool {
        (self.include.is_empty() || self.include.iter().any(|f| f.matches(a)))
            && !self.exclude.iter().any(|f| f.matches(a))
    }
}

/// One shard of N: 0-based index `index` (0 ≤ index < count), as Kubernetes Indexed Jobs
/// (`JOB_COMPLETION_INDEX`) and AWS Batch array jobs (`AWS_BATCH_JOB_ARRAY_INDEX`) number
/// them. `--shard 0/4` … `--shard 3/4` together cover every account exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// This shard's index, from 0.
    pub index: u32,
    /// How many shards there are.
    pub count: u32,
}

/// The variables a shard index is read from, in this order, when `--shard` gives only `N`.
pub const SHARD_INDEX_VARS: [&str; 3] = [
    "IAMWARDEN_SHARD_INDEX",
    "JOB_COMPLETION_INDEX",
    "AWS_BATCH_JOB_ARRAY_INDEX",
];

impl Shard {
    /// The whole organization in one shard.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Parses `I/N` (0-based I), or `N` alone with the index read from the first of
    /// [`SHARD_INDEX_VARS`] that `env` has.
    pub fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let num = |s: &str, what: &str| {
            s.trim()
                .parse::<u32>()
                .map_err(|_| format!("shard `{text}`: {what} `{s}` is not a number"))
        };
        let (index, count) = match text.split_once('/') {
            Some((i, n)) => (num(i, "index")?, num(n, "count")?),
            None => {
                let count = num(text, "count")?;
                let Some((var, value)) = SHARD_INDEX_VARS
                    .iter()
                    .find_map(|v| env(v).map(|x| (*v, x)))
                else {
                    return Err(format!(
                        "shard `{text}` gives only the count; set the index with I/{text} or one of {}",
                        SHARD_INDEX_VARS.join(", ")
                    ));
                };
                let index = value
                    .trim()
                    .parse::<u32>()
                    .map_err(|_| format!("{var}=`{value}` is not a shard index"))?;
                (index, count)
            }
        };
        if count == 0 {
            return Err(format!("shard `{text}`: the count must be at least 1"));
        }
        if index >= count {
            return Err(format!(
                "shard `{text}`: the index is 0-based and must be below {count} (0/{count} … {}/{count})",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }

    /// The shard (0-based) an account id belongs to among `count`: the first 8 bytes of the
    /// SHA-256 of the id, big-endian, modulo `count`. The same on every machine and release.
    pub fn of(account_id: &str, count: u32) -> u32 {
        let d = Sha256::digest(account_id.as_bytes());
        let mut b = [0u8; 8];
        b.copy_from_slice(d.get(..8).unwrap_or(&[0; 8]));
        (u64::from_be_bytes(b) % u64::from(count.max(1))) as u32
    }

    /// Whether this shard plans the account.
    pub fn contains(&self, account_id: &str) -> bool {
        Shard::of(account_id, self.count) == self.index
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The accounts this run plans, in id order: selected by the filters and in the shard.
pub fn choose(accounts: Vec<Account>, selection: &Selection, shard: Shard) -> Vec<Account> {
    let mut seen = BTreeSet::new();
    let mut out: Vec<Account> = accounts
        .into_iter()
        .filter(|a| selection.selects(a) && shard.contains(&a.id))
        .filter(|a| seen.insert(a.id.clone()))
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

#[cfg(test)]
mod tests;
