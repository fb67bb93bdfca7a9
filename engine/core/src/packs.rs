//! Where rule packs come from: the built-in packs embedded in the binary, files, and
//! directories. `--rules builtin` names the built-ins so teams can add their own beside them.

use crate::compile::{compile, RuleSet};
use crate::diag::{Diagnostic, Diagnostics};
use crate::spec::load::{parse_pack, LoadedPack};
use std::path::{Path, PathBuf};

/// The built-in packs: (file name, source text).
pub const BUILTIN: [(&str, &str); 4] = [
    (
        "credentials.yaml",
        include_str!("../rules/credentials.yaml"),
    ),
    ("users.yaml", include_str!("../rules/users.yaml")),
    ("policies.yaml", include_str!("../rules/policies.yaml")),
    ("account.yaml", include_str!("../rules/account.yaml")),
];

/// The name that selects the built-in packs.
pub const BUILTIN_NAME: &str = "builtin";

fn is_pack_file(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    (name.ends_with(".yaml") || name.ends_with(".yml"))
        && !name.ends_with(".tests.yaml")
        && !name.ends_with(".tests.yml")
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out)?;
        } else if is_pack_file(&p) {
            out.push(p);
        }
    }
    Ok(())
}

/// Reads and parses the packs named by `sources` (paths, or `builtin`); an empty list means
/// the built-ins. Every problem in every pack is returned together.
pub fn load_packs(sources: &[String]) -> Result<Vec<LoadedPack>, Diagnostics> {
    let default = [BUILTIN_NAME.to_string()];
    let sources = if sources.is_empty() {
        &default[..]
    } else {
        sources
    };
    let mut texts: Vec<(String, String)> = Vec::new();
    let mut diags = Vec::new();
    for s in sources {
        if s == BUILTIN_NAME {
            texts.extend(
                BUILTIN
                    .iter()
                    .map(|(n, t)| (format!("builtin:{n}"), t.to_string())),
            );
            continue;
        }
        let path = Path::new(s);
        let files = if path.is_dir() {
            let mut v = Vec::new();
            if let Err(e) = walk(path, &mut v) {
                diags.push(Diagnostic::new(s, format!("cannot read directory: {e}")));
            }
            if v.is_empty() {
                diags.push(Diagnostic::new(
                    s,
                    "no rule packs (*.yaml, *.yml) in this directory",
                ));
            }
            v
        } else {
            vec![path.to_path_buf()]
        };
        for f in files {
            let shown = f.display().to_string();
            match std::fs::read_to_string(&f) {
                Ok(t) => texts.push((shown, t)),
                Err(e) => diags.push(Diagnostic::new(
                    &shown,
                    format!("cannot read rule pack: {e}"),
                )),
            }
        }
    }
    let mut packs: Vec<LoadedPack> = Vec::new();
    for (file, text) in texts {
        match parse_pack(&text, &file) {
            Ok(p) => {
                if let Err(ds) = add_with_includes(p, &mut packs, &mut Vec::new()) {
                    diags.extend(ds);
                }
            }
            Err(ds) => diags.extend(ds),
        }
    }
    if diags.is_empty() {
        Ok(packs)
    } else {
        Err(Diagnostics(diags))
    }
}

/// `major.minor.patch` as numbers (pre-release and build parts ignored).
fn version_tuple(v: &str) -> Option<(u64, u64, u64)> {
    let core = v.split(['-', '+']).next()?;
    let mut it = core.split('.').map(|p| p.parse::<u64>().ok());
    Some((it.next()??, it.next()??, it.next()??))
}

/// Adds `pack` after the packs it includes (each pack once, cycles refused), then applies its
/// overrides to the included rules.
fn add_with_includes(
    pack: LoadedPack,
    out: &mut Vec<LoadedPack>,
    stack: &mut Vec<String>,
) -> Result<(), Vec<Diagnostic>> {
    if out.iter().any(|p| p.file == pack.file) {
        return Ok(());
    }
    if let Some(req) = &pack.spec.pack.requires_iamwarden {
        let have = env!("CARGO_PKG_VERSION");
        match (version_tuple(req), version_tuple(have)) {
            (Some(r), Some(h)) if h >= r => {}
            (Some(_), _) => {
                return Err(vec![pack.diag_at(
                    "/pack/requires_iamwarden",
                    format!(
                        "pack {} requires iamwarden {req} or newer; this is {have}",
                        pack.spec.pack.name
                    ),
                )])
            }
            (None, _) => {
                return Err(vec![pack.diag_at(
                    "/pack/requires_iamwarden",
                    format!("`{req}` is not a version (write MAJOR.MINOR.PATCH, e.g. 0.1.0)"),
                )])
            }
        }
    }
    if stack.contains(&pack.file) {
        return Err(vec![pack.diag_at(
            "/include",
            format!("include cycle: {} -> {}", stack.join(" -> "), pack.file),
        )]);
    }
    stack.push(pack.file.clone());
    let mut diags = Vec::new();
    let first_included = out.len();
    let mut direct: Vec<String> = Vec::new();
    for (i, inc) in pack.spec.include.iter().enumerate() {
        let pointer = format!("/include/{i}");
        let sources: Vec<(String, String)> = if inc == BUILTIN_NAME {
            BUILTIN
                .iter()
                .map(|(n, t)| (format!("builtin:{n}"), t.to_string()))
                .collect()
        } else if let Some(name) = inc.strip_prefix("builtin/") {
            match BUILTIN
                .iter()
                .find(|(n, _)| n.trim_end_matches(".yaml") == name)
            {
                Some((n, t)) => vec![(format!("builtin:{n}"), t.to_string())],
                None => {
                    let names: Vec<String> = BUILTIN
                        .iter()
                        .map(|(n, _)| format!("builtin/{}", n.trim_end_matches(".yaml")))
                        .collect();
                    diags.push(
                        pack.diag_at(
                            &pointer,
                            format!("no built-in pack `{inc}` (there are: {})", names.join(", ")),
                        )
                        .hint(crate::diag::did_you_mean(
                            inc,
                            names.iter().map(String::as_str),
                        )),
                    );
                    continue;
                }
            }
        } else if pack.file.starts_with("builtin:") {
            diags.push(pack.diag_at(&pointer, "built-in packs include only built-in packs"));
            continue;
        } else {
            let base = Path::new(&pack.file).parent().unwrap_or(Path::new("."));
            let path = base.join(inc);
            match std::fs::read_to_string(&path) {
                Ok(t) => vec![(path.display().to_string(), t)],
                Err(e) => {
                    diags.push(pack.diag_at(
                        &pointer,
                        format!("cannot read the included pack {}: {e}", path.display()),
                    ));
                    continue;
                }
            }
        };
        for (file, text) in sources {
            direct.push(file.clone());
            match parse_pack(&text, &file) {
                Ok(p) => {
                    if let Err(ds) = add_with_includes(p, out, stack) {
                        diags.extend(ds);
                    }
                }
                Err(ds) => diags.extend(ds),
            }
        }
    }
    stack.pop();
    // Overrides apply to every rule this pack brought in (directly or through its includes).
    for (rule_id, o) in &pack.spec.overrides {
        let pointer = format!("/overrides/{rule_id}");
        let mine = |i: usize, p: &LoadedPack| i >= first_included || direct.contains(&p.file);
        let target = out
            .iter_mut()
            .enumerate()
            .filter(|(i, p)| mine(*i, p))
            .find_map(|(_, p)| {
                p.spec
                    .rules
                    .iter()
                    .position(|r| &r.id == rule_id)
                    .map(|i| (p, i))
            });
        let Some((p, i)) = target else {
            let ids: Vec<String> = out
                .iter()
                .enumerate()
                .filter(|(i, p)| mine(*i, p))
                .flat_map(|(_, p)| p.spec.rules.iter().map(|r| r.id.clone()))
                .collect();
            diags.push(
                pack.diag_at(&pointer, format!("overrides: no included rule `{rule_id}`"))
                    .hint(crate::diag::did_you_mean(
                        rule_id,
                        ids.iter().map(String::as_str),
                    )),
            );
            continue;
        };
        if o.disabled {
            p.spec.rules.remove(i);
            continue;
        }
        let Some(rule) = p.spec.rules.get_mut(i) else {
            continue;
        };
        for (k, v) in &o.params {
            if !rule.params.contains_key(k) {
                let known: Vec<&str> = rule.params.keys().map(String::as_str).collect();
                diags.push(
                    pack.diag_at(
                        &format!("{pointer}/params/{k}"),
                        format!(
                            "rule {rule_id} has no parameter `{k}` (it has: {})",
                            known.join(", ")
                        ),
                    )
                    .hint(crate::diag::did_you_mean(k, known.iter().copied())),
                );
                continue;
            }
            rule.params.insert(k.clone(), v.clone());
        }
        if let Some(sev) = o.severity {
            rule.severity = sev;
        }
        if let Some(w) = &o.in_use_window {
            match crate::compile::duration::parse_duration(w) {
                Ok(_) => rule.in_use_window = Some(w.clone()),
                Err(e) => diags.push(pack.diag_at(&format!("{pointer}/in_use_window"), e)),
            }
        }
        if let Some(allow) = o.allow_in_use {
            rule.allow_in_use = allow;
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    out.push(pack);
    Ok(())
}

/// Loads and compiles; a broken pack never yields a partial rule set.
pub fn load_rule_set(sources: &[String]) -> Result<RuleSet, Diagnostics> {
    let packs = load_packs(sources)?;
    compile(&packs).map_err(Diagnostics)
}

/// The rule set `packs` compile to with some rules' parameters set otherwise (an organization
/// accounts file's per-account `params`: rule id -> parameter -> value). A rule id or a
/// parameter that no loaded rule has is an error naming `origin` (never silently planned
/// without it); the value is checked by compiling, as a pack's own is.
pub fn with_params(
    packs: &[LoadedPack],
    params: &std::collections::BTreeMap<
        String,
        std::collections::BTreeMap<String, serde_json::Value>,
    >,
    origin: &str,
) -> Result<RuleSet, Diagnostics> {
    let mut packs = packs.to_vec();
    let mut diags = Vec::new();
    for (rule_id, values) in params {
        let rule = packs
            .iter_mut()
            .rev()
            .find_map(|p| p.spec.rules.iter_mut().find(|r| &r.id == rule_id));
        let Some(rule) = rule else {
            diags.push(Diagnostic::new(
                origin,
                format!("params: no loaded rule `{rule_id}`"),
            ));
            continue;
        };
        for (k, v) in values {
            if !rule.params.contains_key(k) {
                let known: Vec<&str> = rule.params.keys().map(String::as_str).collect();
                diags.push(
                    Diagnostic::new(
                        origin,
                        format!(
                            "params: rule {rule_id} has no parameter `{k}` (it has: {})",
                            known.join(", ")
                        ),
                    )
                    .hint(crate::diag::did_you_mean(k, known.iter().copied())),
                );
                continue;
            }
            rule.params.insert(k.clone(), v.clone());
        }
    }
    if !diags.is_empty() {
        return Err(Diagnostics(diags));
    }
    compile(&packs).map_err(Diagnostics)
}
