//! Remediation parameters: literal values, handlebars templates over the resource (registered
//! once, strict mode), and `{from: "$.path"}` references into the resource.

use super::CompiledPath;
use crate::inventory::ResourceKind;
use handlebars::{Handlebars, RenderError, RenderErrorReason};
use serde_json::{Map, Value};

/// A compiled parameter value.
#[derive(Debug, Clone)]
pub enum ParamValue {
    /// Used as written.
    Literal(Value),
    /// A registered template; renders to a string.
    Template(String),
    /// A value taken from the resource.
    From(CompiledPath),
    /// A list whose items may be templates.
    List(Vec<ParamValue>),
    /// An object whose values may be templates.
    Object(Vec<(String, ParamValue)>),
}

/// Compiles a parameter, registering its templates under names derived from `name`.
pub fn compile_param(
    v: &Value,
    name: &str,
    hb: &mut Handlebars<'static>,
) -> Result<ParamValue, String> {
    match v {
        Value::String(s) if s.contains("{{") => {
            hb.register_template_string(name, s)
                .map_err(|e| format!("template `{s}` does not compile: {e}"))?;
            Ok(ParamValue::Template(name.to_string()))
        }
        Value::Object(m) if m.len() == 1 && m.contains_key("from") => {
            let path = m.get("from").and_then(Value::as_str).ok_or_else(|| {
                "`from` must be a JSONPath string such as `$.admin_attached_policies`".to_string()
            })?;
            CompiledPath::compile(path).map(ParamValue::From)
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, x)| compile_param(x, &format!("{name}[{i}]"), hb))
            .collect::<Result<Vec<_>, _>>()
            .map(ParamValue::List),
        Value::Object(m) => m
            .iter()
            .map(|(k, x)| compile_param(x, &format!("{name}.{k}"), hb).map(|p| (k.clone(), p)))
            .collect::<Result<Vec<_>, _>>()
            .map(ParamValue::Object),
        other => Ok(ParamValue::Literal(other.clone())),
    }
}

/// Describes a render error in words a rule author understands.
pub fn describe_error(e: &RenderError) -> String {
    match e.reason() {
        RenderErrorReason::MissingVariable(Some(v)) => format!("unknown variable `{v}`"),
        _ => e.to_string(),
    }
}

/// Test-renders every template of a parameter against a sample of the selected resource, so an
/// unknown variable is an error when the pack loads. Sub-paths of a known field (`tags.team`)
/// cannot be known in advance and are accepted.
pub fn check_param(
    p: &ParamValue,
    hb: &Handlebars<'static>,
    kind: ResourceKind,
    fields: &[String],
    params: &Map<String, Value>,
) -> Result<(), String> {
    match p {
        ParamValue::Literal(_) => Ok(()),
        ParamValue::From(path) => match path.first_field() {
            Some(f) if !fields.iter().any(|x| x == f) => {
                Err(format!("`{}` has no field `{f}`", kind.collection()))
            }
            _ => Ok(()),
        },
        ParamValue::List(items) => items
            .iter()
            .try_for_each(|i| check_param(i, hb, kind, fields, params)),
        ParamValue::Object(items) => items
            .iter()
            .try_for_each(|(_, i)| check_param(i, hb, kind, fields, params)),
        ParamValue::Template(name) => {
            let resource: Map<String, Value> = fields
                .iter()
                .map(|f| (f.clone(), Value::Object(Map::new())))
                .collect();
            let ctx = context(
                &Value::Object(resource),
                params,
                "rule",
                "123456789012",
                None,
                "1970-01-01T00:00:00Z",
            );
            match hb.render(name, &ctx) {
                Ok(_) => Ok(()),
                Err(e) => match e.reason() {
                    RenderErrorReason::MissingVariable(Some(v)) => {
                        let mut parts = v.split('.');
                        let root = parts.next().unwrap_or_default();
                        let first = parts.next().unwrap_or_default();
                        let deeper = parts.next().is_some();
                        if root == "resource" && fields.iter().any(|f| f == first) && deeper {
                            Ok(())
                        } else if root == "resource" {
                            Err(format!(
                                "unknown variable `{v}`: `{}` has no field `{first}`",
                                kind.collection()
                            ))
                        } else {
                            Err(format!(
                                "unknown variable `{v}` (templates see `resource`, `params`, `rule`, `account` and `now`)"
                            ))
                        }
                    }
                    // Helpers fail on the sample's placeholder values (`lookup` of a missing
                    // key); only unknown variables are load errors.
                    _ => Ok(()),
                },
            }
        }
    }
}

/// The optional fields of `kind` (see [`ResourceKind::optional_fields`]) the templates of a
/// parameter read unguarded, each with the JSON pointer of its template inside the parameter
/// (`""` for the parameter itself, `/team` for a key of it): each field is left out of a sample
/// resource that has every other field, and a render that then misses exactly
/// `resource.FIELD` reads it.
pub fn optional_reads(
    p: &ParamValue,
    hb: &Handlebars<'static>,
    kind: ResourceKind,
    fields: &[String],
    params: &Map<String, Value>,
) -> Vec<(String, String)> {
    let mut names = Vec::new();
    p.template_names(String::new(), &mut names);
    let mut out = Vec::new();
    if names.is_empty() {
        return out;
    }
    for field in kind.optional_fields() {
        let resource: Map<String, Value> = fields
            .iter()
            .filter(|f| f.as_str() != field)
            .map(|f| (f.clone(), Value::Object(Map::new())))
            .collect();
        let ctx = context(
            &Value::Object(resource),
            params,
            "rule",
            "123456789012",
            None,
            "1970-01-01T00:00:00Z",
        );
        let wanted = format!("resource.{field}");
        for (name, pointer) in &names {
            if let Err(e) = hb.render(name, &ctx) {
                if matches!(
                    e.reason(),
                    RenderErrorReason::MissingVariable(Some(v))
                        if *v == wanted || v.starts_with(&format!("{wanted}."))
                ) {
                    out.push((field.to_string(), pointer.clone()));
                }
            }
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

/// The data templates are rendered with.
pub fn context(
    resource: &Value,
    params: &Map<String, Value>,
    rule_id: &str,
    account_id: &str,
    account_alias: Option<&str>,
    now: &str,
) -> Value {
    serde_json::json!({
        "resource": resource,
        "params": params,
        "rule": { "id": rule_id },
        "account": { "id": account_id, "alias": account_alias },
        "now": now,
    })
}

impl ParamValue {
    /// The registered names of every template in the parameter, each with its JSON pointer
    /// below `at`.
    fn template_names(&self, at: String, out: &mut Vec<(String, String)>) {
        match self {
            ParamValue::Template(name) => out.push((name.clone(), at)),
            ParamValue::List(items) => items
                .iter()
                .enumerate()
                .for_each(|(i, p)| p.template_names(format!("{at}/{i}"), out)),
            ParamValue::Object(items) => items.iter().for_each(|(k, p)| {
                let token = k.replace('~', "~0").replace('/', "~1");
                p.template_names(format!("{at}/{token}"), out)
            }),
            ParamValue::Literal(_) | ParamValue::From(_) => {}
        }
    }

    /// Whether rendering needs the template context.
    pub fn has_template(&self) -> bool {
        match self {
            ParamValue::Template(_) => true,
            ParamValue::List(items) => items.iter().any(ParamValue::has_template),
            ParamValue::Object(items) => items.iter().any(|(_, p)| p.has_template()),
            ParamValue::Literal(_) | ParamValue::From(_) => false,
        }
    }

    /// Renders the parameter for one resource.
    pub fn render(
        &self,
        hb: &Handlebars<'static>,
        ctx: &Value,
        record: &Value,
    ) -> Result<Value, String> {
        match self {
            ParamValue::Literal(v) => Ok(v.clone()),
            ParamValue::Template(name) => hb
                .render(name, ctx)
                .map(Value::String)
                .map_err(|e| describe_error(&e)),
            ParamValue::From(path) => {
                let vals = path.values(record);
                Ok(match vals.as_slice() {
                    [] => Value::Null,
                    [one] => (*one).clone(),
                    many => Value::Array(many.iter().map(|v| (*v).clone()).collect()),
                })
            }
            ParamValue::List(items) => items
                .iter()
                .map(|i| i.render(hb, ctx, record))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            ParamValue::Object(items) => items
                .iter()
                .map(|(k, i)| i.render(hb, ctx, record).map(|v| (k.clone(), v)))
                .collect::<Result<Map<_, _>, _>>()
                .map(Value::Object),
        }
    }
}
