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
        include_str!("../../rules/credentials.yaml"),
    ),
    ("users.yaml", include_str!("../../rules/users.yaml")),
    ("policies.yaml", include_str!("../../rules/policies.yaml")),
    ("account.yaml", include_str!("../../rules/account.yaml")),
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
    let mut packs = Vec::new();
    for (file, text) in texts {
        match parse_pack(&text, &file) {
            Ok(p) => packs.push(p),
            Err(ds) => diags.extend(ds),
        }
    }
    if diags.is_empty() {
        Ok(packs)
    } else {
        Err(Diagnostics(diags))
    }
}

/// Loads and compiles; a broken pack never yields a partial rule set.
pub fn load_rule_set(sources: &[String]) -> Result<RuleSet, Diagnostics> {
    let packs = load_packs(sources)?;
    compile(&packs).map_err(Diagnostics)
}
