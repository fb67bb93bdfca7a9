//! Compiling rule packs: spec types in, evaluable rules out.
//!
//! Everything that can be parsed or checked once is done here, never per resource: selectors
//! and condition paths are parsed as JSONPath, durations and regexes compiled, operands and
//! titles rendered with the rule's parameters, remediation templates registered (in strict
//! mode) and test-rendered against a sample of the selected resource so an unknown variable is
//! a load error, not a surprise in production. Every problem in every pack is collected, each
//! naming the file, rule id and field.

/// Durations (the grammar lives with the age operators).
pub use crate::ops::duration;
pub mod path;
mod template;

pub use path::CompiledPath;
pub use template::{context as template_context, ParamValue};

use crate::diag::{did_you_mean, Diagnostic};
use crate::event_name::EventName;
use crate::inventory::ResourceKind;
use crate::spec::load::LoadedPack;
use crate::spec::{ConditionSpec, ExemptSpec, IfMissing, Severity, StepName};
use chrono::Duration;
use handlebars::Handlebars;
use jsonpath_rust::parser::model::{JpQuery, Segment, Selector as JpSelector};
use jsonpath_rust::parser::parse_json_path;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// All loaded rules, ready to evaluate.
#[derive(Debug)]
pub struct RuleSet {
    /// The rules, in pack order.
    pub rules: Vec<Rule>,
    /// The packs, as plans record them.
    pub packs: Vec<PackRef>,
    /// The remediation templates.
    pub templates: Handlebars<'static>,
    /// What loads but may not do what the author meant (`validate` shows them; `--strict`
    /// fails on them).
    pub warnings: Vec<Warning>,
}

/// A pack problem that does not stop it loading, located like an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// What kind of problem.
    pub kind: WarningKind,
    /// Where, in which rule and field, and the message.
    pub at: Diagnostic,
}

/// The kinds of [`Warning`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WarningKind {
    /// A remediation template reads a resource field the record may lack (`{{resource.F}}`
    /// with `F` an optional field): the step fails to render for a resource without it.
    TemplateReadsOptionalField {
        /// The optional field.
        field: String,
    },
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", crate::diag::AsWarning(&self.at))
    }
}

impl RuleSet {
    /// Whether a rule selects on service last-accessed data (`service_access`,
    /// `unused_services`).
    pub fn reads_service_access(&self) -> bool {
        fn walk(c: &Condition) -> bool {
            match c {
                Condition::All(cs) | Condition::Any(cs) => cs.iter().any(walk),
                Condition::Not(c) => walk(c),
                Condition::Leaf(l) => {
                    std::iter::once(&l.path)
                        .chain(l.fallback.as_ref())
                        .any(|p| {
                            p.text().contains("service_access")
                                || p.text().contains("unused_services")
                        })
                }
            }
        }
        self.rules.iter().any(|r| {
            r.select.contains("service_access")
                || r.select.contains("unused_services")
                || r.when.as_ref().is_some_and(walk)
        })
    }

    /// Whether a rule plans a step that needs service last-accessed data (`rightsize_policy`):
    /// the live reader reads it then without being asked.
    pub fn acts_on_service_access(&self) -> bool {
        self.rules
            .iter()
            .any(|r| r.steps.iter().any(|s| s.name == StepName::RightsizePolicy))
    }
}

/// A rule pack as the plan records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PackRef {
    /// The pack's name.
    pub name: String,
    /// The pack's version.
    pub version: String,
    /// `sha256` of the pack's source text, hex.
    pub sha256: String,
    /// Where the pack was read from (a path, or `builtin:<file>`).
    pub source: String,
}

/// Which resources of a collection a rule looks at.
#[derive(Debug, Clone)]
pub enum Selection {
    /// Every record.
    All,
    /// Records passing a JSONPath filter that compiled to a native condition (the common
    /// shapes: comparisons of `@.field` with literals, `&&`, `||`, `!`).
    Native(Condition),
    /// Records passing a JSONPath filter (evaluated by jsonpath-rust over the collection).
    Filter(JpQuery),
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub enum Condition {
    /// Every child holds.
    All(Vec<Condition>),
    /// Some child holds.
    Any(Vec<Condition>),
    /// The child does not hold.
    Not(Box<Condition>),
    /// A comparison.
    Leaf(Box<Leaf>),
}

/// A compiled comparison.
#[derive(Debug, Clone)]
pub struct Leaf {
    /// Where the value is.
    pub path: CompiledPath,
    /// Where to look when `path` is missing.
    pub fallback: Option<CompiledPath>,
    /// Whether a missing value makes the leaf hold.
    pub if_missing: bool,
    /// The operator, compiled (see [`crate::ops`]).
    pub op: crate::ops::Compiled,
    /// The operator's name as written.
    pub op_name: &'static str,
    /// The operand as shown in evidence (parameters filled in).
    pub operand: std::sync::Arc<Value>,
}

/// Compiled exemptions.
#[derive(Debug, Clone, Default)]
pub struct Exempt {
    /// (ARN globs, source) pairs.
    pub arns: Vec<(String, String)>,
    /// (name globs, source) pairs.
    pub names: Vec<(String, String)>,
    /// (tag key, tag value or `*`, source).
    pub tags: Vec<(String, String, String)>,
    /// Sources that exempt every resource of the rule (an organization accounts file's
    /// `exempt.rules`: the rule's findings in that account are listed as exempt, not dropped).
    pub all: Vec<String>,
}

/// A compiled remediation step.
#[derive(Debug, Clone)]
pub struct Step {
    /// The step.
    pub name: StepName,
    /// Its parameters.
    pub params: Vec<(String, ParamValue)>,
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Index into [`RuleSet::packs`].
    pub pack: usize,
    /// The id.
    pub id: String,
    /// The id, shared by the rule's findings.
    pub shared_id: std::sync::Arc<str>,
    /// The title, parameters filled in (shared by the rule's findings).
    pub title: std::sync::Arc<str>,
    /// The severity.
    pub severity: Severity,
    /// The description.
    pub description: String,
    /// References.
    pub references: Vec<String>,
    /// Parameters with their effective values.
    pub params: Map<String, Value>,
    /// The collection selected.
    pub kind: ResourceKind,
    /// The selector as written.
    pub select: String,
    /// Which records of the collection.
    pub selection: Selection,
    /// The condition, if any.
    pub when: Option<Condition>,
    /// Exemptions (the pack's and the rule's).
    pub exempt: Exempt,
    /// Remediation steps that apply with these parameters.
    pub steps: Vec<Step>,
    /// The rule's cap on actions per plan.
    pub max_actions: Option<u32>,
    /// Event mode: the event names the rule reacts to.
    pub on_events: Vec<EventName>,
    /// The in-use guard in force for the rule's steps.
    pub in_use: InUseGuard,
}

/// The in-use guard's setting for one rule: steps that disable a credential used within
/// `window` are not planned, unless `allow`.
#[derive(Debug, Clone, PartialEq)]
pub struct InUseGuard {
    /// The window.
    pub window: Duration,
    /// The window as written (`45d`).
    pub written: String,
    /// Where the window comes from: `rule`, `pack` or `default`.
    pub source: &'static str,
    /// `allow_in_use: true`: the guard is off for this rule.
    pub allow: bool,
}

/// The in-use window when neither the rule nor its pack sets one (CIS AWS Foundations 1.12).
pub const DEFAULT_IN_USE_WINDOW: &str = "45d";

impl InUseGuard {
    /// The default guard: 45 days, not allowed in use.
    pub fn default_guard() -> InUseGuard {
        InUseGuard {
            window: Duration::days(45),
            written: DEFAULT_IN_USE_WINDOW.to_string(),
            source: "default",
            allow: false,
        }
    }

    /// How `explain` and messages show the setting.
    pub fn describe(&self) -> String {
        if self.allow {
            format!(
                "off for this rule (allow_in_use: true); window {} ({})",
                self.written, self.source
            )
        } else {
            format!("{} ({})", self.written, self.source)
        }
    }
}

/// The digest of a pack's source, as plans record it (kept here for apply until it uses
/// [`crate::digest`] directly).
pub use crate::digest::sha256_hex;

fn valid_semver(v: &str) -> bool {
    let core = v.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

fn valid_rule_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 100
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
        && id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
}

/// Field names of each kind of record, for checking paths and templates.
fn record_fields(kind: ResourceKind) -> Vec<String> {
    kind.fields().to_vec()
}

struct Ctx<'a> {
    pack: &'a LoadedPack,
    rule_index: usize,
    rule_id: String,
    diags: &'a mut Vec<Diagnostic>,
}

impl Ctx<'_> {
    /// A diagnostic at `/rules/N/<rel>` naming the field `field` (for a warning).
    fn at(&self, rel: &str, field: &str, msg: impl Into<String>) -> Diagnostic {
        let pointer = format!("/rules/{}/{}", self.rule_index, rel);
        self.pack
            .diag_at(pointer.trim_end_matches('/'), msg)
            .rule(&self.rule_id)
            .field(field)
    }

    /// Records an error at `/rules/N/<rel>`, naming the field `field`.
    fn err(&mut self, rel: &str, field: &str, msg: impl Into<String>, hint: Option<String>) {
        let pointer = format!("/rules/{}/{}", self.rule_index, rel);
        let d = self
            .pack
            .diag_at(pointer.trim_end_matches('/'), msg)
            .rule(&self.rule_id)
            .field(field)
            .hint(hint);
        self.diags.push(d);
    }
}

/// Compiles loaded packs into a rule set, or returns every problem found.
pub fn compile(packs: &[LoadedPack]) -> Result<RuleSet, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut templates = Handlebars::new();
    templates.set_strict_mode(true);
    templates.register_escape_fn(handlebars::no_escape);
    let mut rules = Vec::new();
    let mut pack_refs = Vec::new();
    let mut seen_ids: HashMap<String, String> = HashMap::new();
    let mut warnings = Vec::new();
    let mut seen_packs: HashMap<String, String> = HashMap::new();

    for (pi, pack) in packs.iter().enumerate() {
        let meta = &pack.spec.pack;
        if !valid_semver(&meta.version) {
            diags.push(
                pack.diag_at(
                    "/pack/version",
                    format!(
                        "pack version `{}` is not a semantic version (MAJOR.MINOR.PATCH)",
                        meta.version
                    ),
                )
                .field("pack.version"),
            );
        }
        if let Some(prev) = seen_packs.insert(meta.name.clone(), pack.file.clone()) {
            diags.push(
                pack.diag_at(
                    "/pack/name",
                    format!("pack `{}` is also loaded from {prev}", meta.name),
                )
                .field("pack.name"),
            );
        }
        pack_refs.push(PackRef {
            name: meta.name.clone(),
            version: meta.version.clone(),
            sha256: sha256_hex(pack.text.as_bytes()),
            source: pack.file.clone(),
        });
        let pack_exempt = meta.exempt.clone().unwrap_or_default();
        let mut pack_guard = InUseGuard::default_guard();
        if let Some(w) = &meta.in_use_window {
            match duration::parse_duration(w) {
                Ok(d) => {
                    pack_guard.window = d;
                    pack_guard.written = w.trim().to_string();
                    pack_guard.source = "pack";
                }
                Err(e) => diags.push(
                    pack.diag_at("/pack/in_use_window", e)
                        .field("pack.in_use_window"),
                ),
            }
        }

        for (ri, spec) in pack.spec.rules.iter().enumerate() {
            let mut cx = Ctx {
                pack,
                rule_index: ri,
                rule_id: spec.id.clone(),
                diags: &mut diags,
            };
            if !valid_rule_id(&spec.id) {
                cx.err(
                    "id",
                    "id",
                    format!("rule id `{}` must be lower-case letters, digits, `-`, `_` or `.`, starting with a letter", spec.id),
                    None,
                );
            }
            if let Some(prev) = seen_ids.insert(spec.id.clone(), pack.file.clone()) {
                cx.err(
                    "id",
                    "id",
                    format!("rule id `{}` is already defined in {prev}", spec.id),
                    None,
                );
            }
            let params: Map<String, Value> = spec
                .params
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let param_ctx = serde_json::json!({ "params": params });

            let title = match render_once(&spec.title, &param_ctx) {
                Ok(t) => t,
                Err(e) => {
                    cx.err("title", "title", e, None);
                    spec.title.clone()
                }
            };

            let Some((kind, selection)) = compile_selector(&spec.select, &mut cx) else {
                continue;
            };
            let fields = record_fields(kind);
            let when = spec.when.as_ref().and_then(|c| {
                compile_condition(c, "when", "when", &param_ctx, &fields, kind, &mut cx)
            });

            let mut exempt = Exempt::default();
            let source_pack = format!("pack {}", meta.name);
            add_exempt(&mut exempt, &pack_exempt, &source_pack);
            if let Some(e) = &spec.exempt {
                add_exempt(&mut exempt, e, &format!("rule {}", spec.id));
            }

            let mut steps = Vec::new();
            for (si, st) in spec.remediation.iter().enumerate() {
                let rel = format!("remediation/{si}");
                let field = format!("remediation[{si}]");
                let mut enabled = true;
                for (name, want) in &st.when_params {
                    match params.get(name) {
                        None => cx.err(
                            &format!("{rel}/when_params/{name}"),
                            &format!("{field}.when_params.{name}"),
                            format!("`{name}` is not a parameter of this rule"),
                            did_you_mean(name, params.keys().map(String::as_str)),
                        ),
                        Some(v) => {
                            enabled &= v == want
                                || matches!((v.as_f64(), want.as_f64()), (Some(a), Some(b)) if a == b)
                        }
                    }
                }
                let info = st.step.info();
                if !info.targets.contains(&kind) {
                    let targets: Vec<&str> = info.targets.iter().map(|k| k.collection()).collect();
                    let extra = if st.step == StepName::DeactivateAccessKey
                        || st.step == StepName::DeleteAccessKey
                    {
                        " so that each key is judged on its own, never a user's other key"
                    } else {
                        ""
                    };
                    cx.err(
                        &format!("{rel}/step"),
                        &format!("{field}.step"),
                        format!(
                            "`{}` acts on {}, but this rule selects `$.{}`: select {}{extra}",
                            st.step,
                            targets.join(" or "),
                            kind.collection(),
                            targets
                                .iter()
                                .map(|t| format!("`$.{t}`"))
                                .collect::<Vec<_>>()
                                .join(" or ")
                        ),
                        None,
                    );
                    continue;
                }
                let mut compiled = Vec::new();
                for pinfo in info.params {
                    if pinfo.required && !st.params.contains_key(pinfo.name) {
                        cx.err(
                            &format!("{rel}/params"),
                            &format!("{field}.params"),
                            format!(
                                "`{}` needs the parameter `{}` ({})",
                                st.step,
                                pinfo.name,
                                pinfo.kind.describe()
                            ),
                            None,
                        );
                    }
                }
                for (name, value) in &st.params {
                    let prel = format!("{rel}/params/{name}");
                    let pfield = format!("{field}.params.{name}");
                    let Some(pinfo) = info.params.iter().find(|p| p.name == name) else {
                        let known: Vec<&str> = info.params.iter().map(|p| p.name).collect();
                        cx.err(
                            &prel,
                            &pfield,
                            if known.is_empty() {
                                format!("`{}` takes no parameters", st.step)
                            } else {
                                format!(
                                    "`{}` has no parameter `{name}` (it takes: {})",
                                    st.step,
                                    known.join(", ")
                                )
                            },
                            did_you_mean(name, known.iter().copied()),
                        );
                        continue;
                    };
                    // A parameter that is exactly `{{params.X}}` takes the rule param's value
                    // with its type (a whole policy document, a list of groups).
                    let whole_param = value.as_str().is_some_and(|t| {
                        let t = t.trim();
                        t.starts_with("{{params.")
                            && t.ends_with("}}")
                            && t.matches("{{").count() == 1
                    });
                    let resolved;
                    let value = if whole_param {
                        match render_operand(value, &param_ctx) {
                            Ok(v) => {
                                resolved = v;
                                &resolved
                            }
                            Err(e) => {
                                cx.err(&prel, &pfield, e, did_you_mean_param(value, &param_ctx));
                                continue;
                            }
                        }
                    } else {
                        value
                    };
                    if let Err(e) = pinfo.kind.check(value) {
                        cx.err(&prel, &pfield, e, None);
                        continue;
                    }
                    for issue in info.check_param.map_or_else(Vec::new, |c| c(name, value)) {
                        cx.err(
                            &format!("{prel}/{}", issue.key),
                            &format!("{pfield}.{}", issue.key),
                            issue.message,
                            issue.hint,
                        );
                    }
                    let tname = format!("{}#{si}#{name}", spec.id);
                    match template::compile_param(value, &tname, &mut templates) {
                        Ok(pv) => {
                            if let Err(e) =
                                template::check_param(&pv, &templates, kind, &fields, &params)
                            {
                                cx.err(&prel, &pfield, e, None);
                            }
                            for (field, inner) in
                                template::optional_reads(&pv, &templates, kind, &fields, &params)
                            {
                                let sub = crate::spec::load::pointer_to_field(&inner);
                                let wfield = if sub.is_empty() {
                                    pfield.clone()
                                } else if sub.starts_with('[') {
                                    format!("{pfield}{sub}")
                                } else {
                                    format!("{pfield}.{sub}")
                                };
                                let msg = format!(
                                    "template reads optional field `{field}`: the step is not \
                                     planned for a {} that lacks it (guard it with \
                                     {{{{#if resource.{field}}}}}...{{{{else}}}}...{{{{/if}}}})",
                                    kind.as_str()
                                );
                                warnings.push(Warning {
                                    at: cx.at(&format!("{prel}{inner}"), &wfield, msg),
                                    kind: WarningKind::TemplateReadsOptionalField { field },
                                });
                            }
                            compiled.push((name.clone(), pv));
                        }
                        Err(e) => cx.err(&prel, &pfield, e, None),
                    }
                }
                if enabled {
                    steps.push(Step {
                        name: st.step,
                        params: compiled,
                    });
                }
            }

            let mut in_use = InUseGuard {
                allow: spec.allow_in_use,
                ..pack_guard.clone()
            };
            if let Some(w) = &spec.in_use_window {
                match duration::parse_duration(w) {
                    Ok(d) => {
                        in_use.window = d;
                        in_use.written = w.trim().to_string();
                        in_use.source = "rule";
                    }
                    Err(e) => cx.err("in_use_window", "in_use_window", e, None),
                }
            }

            rules.push(Rule {
                pack: pi,
                id: spec.id.clone(),
                shared_id: spec.id.as_str().into(),
                title: title.into(),
                severity: spec.severity,
                description: spec.description.clone(),
                references: spec.references.clone(),
                params,
                kind,
                select: spec.select.clone(),
                selection,
                when,
                exempt,
                steps,
                max_actions: spec.max_actions,
                on_events: spec.on_events.clone(),
                in_use,
            });
        }
    }
    if diags.is_empty() {
        Ok(RuleSet {
            rules,
            packs: pack_refs,
            templates,
            warnings,
        })
    } else {
        Err(diags)
    }
}

fn add_exempt(out: &mut Exempt, spec: &ExemptSpec, source: &str) {
    out.arns
        .extend(spec.arns.iter().map(|a| (a.clone(), source.to_string())));
    out.names
        .extend(spec.names.iter().map(|a| (a.clone(), source.to_string())));
    out.tags.extend(
        spec.tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone(), source.to_string())),
    );
}

/// Renders a template once against `ctx` (strict): titles and operands with `{{params.X}}`.
fn render_once(text: &str, ctx: &Value) -> Result<String, String> {
    if !text.contains("{{") {
        return Ok(text.to_string());
    }
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(handlebars::no_escape);
    hb.render_template(text, ctx)
        .map_err(|e| format!("template `{text}`: {}", template::describe_error(&e)))
}

/// Fills `{{params.X}}` into an operand. An operand that is exactly `{{params.X}}` takes the
/// parameter's value with its type (`ge: "{{params.min}}"` compares numbers when `min` is a
/// number); any other template renders to text (`"{{params.days}}d"`).
fn render_operand(v: &Value, ctx: &Value) -> Result<Value, String> {
    match v {
        Value::String(s) if s.contains("{{") => {
            let inner = s
                .trim()
                .strip_prefix("{{")
                .and_then(|x| x.strip_suffix("}}"))
                .map(str::trim)
                .and_then(|x| x.strip_prefix("params."))
                .filter(|name| name.chars().all(|c| c.is_alphanumeric() || c == '_'));
            if let Some(raw) = inner.and_then(|name| ctx.get("params").and_then(|p| p.get(name))) {
                return Ok(raw.clone());
            }
            render_once(s, ctx).map(Value::String)
        }
        Value::Array(items) => items
            .iter()
            .map(|i| render_operand(i, ctx))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

fn compile_selector(select: &str, cx: &mut Ctx<'_>) -> Option<(ResourceKind, Selection)> {
    let shape_help = "a selector picks whole resources of one collection: `$.<collection>`, `$.<collection>[*]` or `$.<collection>[?(<filter>)]`";
    let q = match parse_json_path(select.trim()) {
        Ok(q) => q,
        Err(e) => {
            cx.err(
                "select",
                "select",
                format!("invalid JSONPath `{select}`: {e}"),
                None,
            );
            return None;
        }
    };
    let collections: Vec<&str> = ResourceKind::ALL.iter().map(|k| k.collection()).collect();
    let mut segs = q.segments.iter();
    let name = match segs.next() {
        Some(Segment::Selector(JpSelector::Name(n))) => n.clone(),
        _ => {
            cx.err(
                "select",
                "select",
                format!("`{select}`: {shape_help}"),
                None,
            );
            return None;
        }
    };
    let Some(kind) = ResourceKind::from_collection(&name) else {
        cx.err(
            "select",
            "select",
            format!(
                "unknown collection `{name}` (collections: {})",
                collections.join(", ")
            ),
            did_you_mean(&name, collections.iter().copied()),
        );
        return None;
    };
    let rest: Vec<Segment> = segs.cloned().collect();
    let selection = match rest.as_slice() {
        [] => Selection::All,
        [Segment::Selector(JpSelector::Wildcard)] if kind != ResourceKind::Account => {
            Selection::All
        }
        [Segment::Selector(JpSelector::Filter(f))] if kind != ResourceKind::Account => {
            match native_filter(f) {
                Some(c) => Selection::Native(c),
                None => Selection::Filter(JpQuery::new(rest)),
            }
        }
        _ => {
            let msg = if kind == ResourceKind::Account {
                "`$.account` selects the account itself; put conditions in `when`".to_string()
            } else {
                format!("`{select}`: {shape_help}; put conditions on nested values in `when`")
            };
            cx.err("select", "select", msg, None);
            return None;
        }
    };
    if let Selection::Native(c) = &selection {
        let fields = record_fields(kind);
        let mut unknown = Vec::new();
        leaf_fields(c, &mut unknown);
        unknown.retain(|f| !fields.iter().any(|x| x == f));
        if let Some(f) = unknown.first() {
            cx.err(
                "select",
                "select",
                format!("the filter names `{f}`, which `{}` does not have (see `iamwarden schema inventory`)", kind.collection()),
                did_you_mean(f, fields.iter().map(String::as_str)),
            );
            return None;
        }
    }
    Some((kind, selection))
}

/// The first field of every leaf path in a condition.
fn leaf_fields(c: &Condition, out: &mut Vec<String>) {
    match c {
        Condition::All(cs) | Condition::Any(cs) => cs.iter().for_each(|x| leaf_fields(x, out)),
        Condition::Not(x) => leaf_fields(x, out),
        Condition::Leaf(l) => {
            if let Some(f) = l.path.first_field() {
                out.push(f.to_string());
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn compile_condition(
    c: &ConditionSpec,
    rel: &str,
    field: &str,
    params: &Value,
    fields: &[String],
    kind: ResourceKind,
    cx: &mut Ctx<'_>,
) -> Option<Condition> {
    let forms = [
        c.all.is_some(),
        c.any.is_some(),
        c.not.is_some(),
        c.path.is_some(),
    ];
    let nforms = forms.iter().filter(|b| **b).count();
    let ops = operators(c);
    if nforms != 1 {
        let msg = if nforms == 0 && !ops.is_empty() {
            format!(
                "the operator `{}` needs a `path` to compare",
                ops.first().map(|o| o.0).unwrap_or_default()
            )
        } else if nforms == 0 {
            "a condition needs one of `all`, `any`, `not`, or a `path` with an operator".to_string()
        } else {
            "a condition has exactly one of `all`, `any`, `not`, or `path`: split it with `all:`"
                .to_string()
        };
        cx.err(rel, field, msg, None);
        return None;
    }
    let children =
        |list: &Vec<ConditionSpec>, key: &str, cx: &mut Ctx<'_>| -> Option<Vec<Condition>> {
            if list.is_empty() {
                cx.err(
                    &format!("{rel}/{key}"),
                    &format!("{field}.{key}"),
                    format!("`{key}` needs at least one condition"),
                    None,
                );
                return None;
            }
            let mut out = Vec::new();
            let mut ok = true;
            for (i, ch) in list.iter().enumerate() {
                match compile_condition(
                    ch,
                    &format!("{rel}/{key}/{i}"),
                    &format!("{field}.{key}[{i}]"),
                    params,
                    fields,
                    kind,
                    cx,
                ) {
                    Some(x) => out.push(x),
                    None => ok = false,
                }
            }
            ok.then_some(out)
        };
    if c.path.is_none() {
        let stray: Vec<&str> = ops
            .iter()
            .map(|o| o.0)
            .chain(
                [
                    ("fallback", c.fallback.is_some()),
                    ("if_missing", c.if_missing.is_some()),
                    ("include_conditioned", c.include_conditioned.is_some()),
                ]
                .iter()
                .filter(|x| x.1)
                .map(|x| x.0),
            )
            .collect();
        if let Some(s) = stray.first() {
            cx.err(
                &format!("{rel}/{s}"),
                &format!("{field}.{s}"),
                format!("`{s}` belongs in a leaf with a `path`, not beside `all`/`any`/`not`"),
                None,
            );
            return None;
        }
    }
    if let Some(list) = &c.all {
        return children(list, "all", cx).map(Condition::All);
    }
    if let Some(list) = &c.any {
        return children(list, "any", cx).map(Condition::Any);
    }
    if let Some(inner) = &c.not {
        return compile_condition(
            inner,
            &format!("{rel}/not"),
            &format!("{field}.not"),
            params,
            fields,
            kind,
            cx,
        )
        .map(|x| Condition::Not(Box::new(x)));
    }
    // A leaf.
    let path_text = c.path.as_deref().unwrap_or_default();
    let path = match CompiledPath::compile(path_text) {
        Ok(p) => p,
        Err(e) => {
            cx.err(&format!("{rel}/path"), &format!("{field}.path"), e, None);
            return None;
        }
    };
    let check_field = |p: &CompiledPath, key: &str, cx: &mut Ctx<'_>| -> bool {
        match p.first_field() {
            Some(f) if !fields.iter().any(|x| x == f) => {
                cx.err(
                    &format!("{rel}/{key}"),
                    &format!("{field}.{key}"),
                    format!(
                        "`{}` has no field `{f}` (see `iamwarden schema inventory`)",
                        kind.collection()
                    ),
                    did_you_mean(f, fields.iter().map(String::as_str)),
                );
                false
            }
            _ => true,
        }
    };
    if !check_field(&path, "path", cx) {
        return None;
    }
    let fallback = match &c.fallback {
        None => None,
        Some(t) => match CompiledPath::compile(t) {
            Ok(p) => {
                if !check_field(&p, "fallback", cx) {
                    return None;
                }
                Some(p)
            }
            Err(e) => {
                cx.err(
                    &format!("{rel}/fallback"),
                    &format!("{field}.fallback"),
                    e,
                    None,
                );
                return None;
            }
        },
    };
    if ops.len() != 1 {
        let msg = if ops.is_empty() {
            format!(
                "the leaf on `{path_text}` needs an operator ({})",
                crate::ops::keys().collect::<Vec<_>>().join(", ")
            )
        } else {
            format!(
                "a leaf has exactly one operator, found {}: use `all:` to combine them",
                ops.iter()
                    .map(|o| format!("`{}`", o.0))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        cx.err(rel, field, msg, None);
        return None;
    }
    let (op_name, raw) = ops.into_iter().next()?;
    let orel = format!("{rel}/{op_name}");
    let ofield = format!("{field}.{op_name}");
    let operand = match render_operand(&raw, params) {
        Ok(v) => v,
        Err(e) => {
            cx.err(&orel, &ofield, e, did_you_mean_param(&raw, params));
            return None;
        }
    };
    // Conditioned Allows count unless a rule says otherwise: they grant whenever the
    // condition holds (issue 10).
    let include_conditioned = match &c.include_conditioned {
        None => true,
        Some(crate::spec::BoolOrTemplate::Bool(b)) => *b,
        Some(crate::spec::BoolOrTemplate::Template(t)) => {
            match render_operand(&Value::String(t.clone()), params) {
                Ok(Value::Bool(b)) => b,
                Ok(other) => {
                    cx.err(
                        &format!("{rel}/include_conditioned"),
                        &format!("{field}.include_conditioned"),
                        format!("must be true or false, got {other}"),
                        None,
                    );
                    return None;
                }
                Err(e) => {
                    cx.err(
                        &format!("{rel}/include_conditioned"),
                        &format!("{field}.include_conditioned"),
                        e,
                        None,
                    );
                    return None;
                }
            }
        }
    };
    let result: Result<crate::ops::Compiled, String> = match crate::ops::lookup(op_name) {
        Some(o) => (o.compile)(
            &operand,
            crate::ops::Settings {
                include_conditioned,
            },
        ),
        None => Err(format!("unknown operator `{op_name}`")),
    };
    let conditioned = crate::ops::lookup(op_name).is_some_and(|o| o.conditioned);
    if c.include_conditioned.is_some() && !conditioned {
        cx.err(
            &format!("{rel}/include_conditioned"),
            &format!("{field}.include_conditioned"),
            format!(
                "`include_conditioned` only applies to the policy-document operators ({})",
                crate::ops::conditioned_keys()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None,
        );
        return None;
    }
    match result {
        Ok(op) => Some(Condition::Leaf(Box::new(Leaf {
            path,
            fallback,
            if_missing: c.if_missing == Some(IfMissing::Match),
            op,
            op_name,
            operand: std::sync::Arc::new(operand),
        }))),
        Err(e) => {
            cx.err(&orel, &ofield, e, None);
            None
        }
    }
}

fn did_you_mean_param(raw: &Value, params: &Value) -> Option<String> {
    let text = raw.as_str()?;
    let start = text.find("params.")? + "params.".len();
    let name: String = text
        .get(start..)?
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    let names: Vec<String> = params.get("params")?.as_object()?.keys().cloned().collect();
    did_you_mean(&name, names.iter().map(String::as_str))
}

/// The operators set on a condition, with their raw operands, in registry order.
fn operators(c: &ConditionSpec) -> Vec<(&'static str, Value)> {
    c.operators.clone()
}

/// Translates a JSONPath filter into a native condition when every comparison is between a
/// field chain of the current node (`@.a.b`) and a literal, with RFC 9535 semantics for missing
/// values (`!=` holds, every other comparison fails). Anything else stays with jsonpath-rust.
fn native_filter(f: &jsonpath_rust::parser::model::Filter) -> Option<Condition> {
    use jsonpath_rust::parser::model::{
        Comparable, Comparison, Filter, FilterAtom, Literal, SingularQuery, SingularQuerySegment,
    };
    match f {
        Filter::Or(items) => items
            .iter()
            .map(native_filter)
            .collect::<Option<Vec<_>>>()
            .map(Condition::Any),
        Filter::And(items) => items
            .iter()
            .map(native_filter)
            .collect::<Option<Vec<_>>>()
            .map(Condition::All),
        Filter::Atom(FilterAtom::Filter { expr, not }) => {
            let c = native_filter(expr)?;
            Some(if *not { Condition::Not(Box::new(c)) } else { c })
        }
        Filter::Atom(FilterAtom::Comparison(cmp)) => {
            let (op, l, r) = match cmp.as_ref() {
                Comparison::Eq(l, r) => ("eq", l, r),
                Comparison::Ne(l, r) => ("ne", l, r),
                Comparison::Gt(l, r) => ("gt", l, r),
                Comparison::Gte(l, r) => ("ge", l, r),
                Comparison::Lt(l, r) => ("lt", l, r),
                Comparison::Lte(l, r) => ("le", l, r),
            };
            let flip = |op: &'static str| match op {
                "gt" => "lt",
                "ge" => "le",
                "lt" => "gt",
                "le" => "ge",
                o => o,
            };
            let (segs, lit, op) = match (l, r) {
                (Comparable::SingularQuery(SingularQuery::Current(s)), Comparable::Literal(x)) => {
                    (s, x, op)
                }
                (Comparable::Literal(x), Comparable::SingularQuery(SingularQuery::Current(s))) => {
                    (s, x, flip(op))
                }
                _ => return None,
            };
            let value = match lit {
                Literal::Int(i) => Value::from(*i),
                Literal::Float(x) => Value::from(*x),
                Literal::String(s) => Value::String(s.clone()),
                Literal::Bool(b) => Value::Bool(*b),
                Literal::Null => return None,
            };
            let mut text = String::from("@");
            let steps = segs
                .iter()
                .map(|s| match s {
                    SingularQuerySegment::Name(n) => {
                        text.push('.');
                        text.push_str(n);
                        path::Step::Name(n.clone())
                    }
                    SingularQuerySegment::Index(i) => {
                        text.push_str(&format!("[{i}]"));
                        path::Step::Index(*i)
                    }
                })
                .collect();
            use crate::ops::comparison::{Compare, Kind};
            let kind = match op {
                "eq" => Kind::Eq,
                "ne" => Kind::Ne,
                "gt" => Kind::Gt,
                "ge" => Kind::Ge,
                "lt" => Kind::Lt,
                _ => Kind::Le,
            };
            Some(Condition::Leaf(Box::new(Leaf {
                path: CompiledPath::from_steps(text, steps),
                fallback: None,
                if_missing: op == "ne",
                op: Compare::compiled(kind, &value),
                op_name: match op {
                    "eq" => "eq",
                    "ne" => "ne",
                    "gt" => "gt",
                    "ge" => "ge",
                    "lt" => "lt",
                    _ => "le",
                },
                operand: std::sync::Arc::new(value),
            })))
        }
        Filter::Atom(FilterAtom::Test { .. }) => None,
    }
}
