//! `docs/rules.md`: every built-in rule (what it finds, why, its parameters, its remediation
//! and how to opt in to each step, the events it reacts to, its references), generated from
//! the packs so the documentation cannot drift (a test compares the committed file).

use crate::spec::load::LoadedPack;
use std::fmt::Write as _;

fn one_line(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The Markdown reference of `packs`.
pub fn render(packs: &[LoadedPack]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Built-in rules\n");
    let _ = writeln!(
        out,
        "Generated from `rules/*.yaml` by `UPDATE_GOLDEN=1 cargo test --test generated`; do not edit by \
         hand. Each rule's tests are in the `.tests.yaml` beside its pack. Parameters are tuned in \
         a pack that includes the built-ins, or by copying the rule.\n"
    );
    for p in packs {
        let n = p.spec.rules.len();
        let _ = writeln!(
            out,
            "- [`{}`](#{}) ({n} rules)",
            p.spec.pack.name,
            p.spec.pack.name.replace('/', "")
        );
    }
    for p in packs {
        let meta = &p.spec.pack;
        let _ = writeln!(out, "\n## `{}`\n", meta.name);
        let _ = writeln!(
            out,
            "Version {}, `{}`. {}\n",
            meta.version,
            p.file.trim_start_matches("builtin:"),
            meta.description.trim()
        );
        for r in &p.spec.rules {
            let _ = writeln!(out, "### `{}`\n", r.id);
            let _ = writeln!(
                out,
                "**{}** · severity **{}** · selects `{}`\n",
                r.title,
                r.severity.as_str(),
                r.select
            );
            if !r.description.trim().is_empty() {
                let _ = writeln!(out, "{}\n", r.description.trim());
            }
            if !r.params.is_empty() {
                let _ = writeln!(out, "| Parameter | Default |\n|---|---|");
                for (k, v) in &r.params {
                    let _ = writeln!(out, "| `{k}` | `{}` |", one_line(v).replace('|', "\\|"));
                }
                let _ = writeln!(out);
            }
            if r.remediation.is_empty() {
                let _ = writeln!(out, "Remediation: none (report only).\n");
            } else {
                let _ = writeln!(out, "Remediation:\n");
                for s in &r.remediation {
                    let when = if s.when_params.is_empty() {
                        "always".to_string()
                    } else {
                        s.when_params
                            .iter()
                            .map(|(k, v)| format!("`{k}: {}`", one_line(v)))
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    let info = s.step.info();
                    let safety = match info.safety {
                        crate::steps::Safety::Reversible => "reversible",
                        crate::steps::Safety::Destructive => "destructive",
                    };
                    let guard = match s.step.disables_credential() {
                        None => "",
                        Some(crate::steps::Disables::AccessKey) => "; in-use guard: the key",
                        Some(crate::steps::Disables::RotatedKey) => {
                            "; in-use guard: the old key, before it is deactivated"
                        }
                        Some(crate::steps::Disables::Password) => "; in-use guard: the password",
                        Some(crate::steps::Disables::User) => {
                            "; in-use guard: the user's active keys and password"
                        }
                    };
                    let _ = writeln!(out, "- `{}` ({safety}{guard}), when {when}", s.step);
                }
                let _ = writeln!(out);
                if r.remediation
                    .iter()
                    .any(|s| s.step.disables_credential().is_some())
                {
                    let window = r
                        .in_use_window
                        .as_ref()
                        .or(meta.in_use_window.as_ref())
                        .cloned()
                        .unwrap_or_else(|| crate::compile::DEFAULT_IN_USE_WINDOW.to_string());
                    let _ = if r.allow_in_use {
                        writeln!(
                            out,
                            "In-use guard: off (`allow_in_use: true`): acts on credentials in use.\n"
                        )
                    } else {
                        writeln!(
                            out,
                            "In-use guard: a guarded step is not planned (and is listed as skipped) \
                             while its credential was used within {window}; set `in_use_window` or \
                             `allow_in_use: true` in `overrides` to change that.\n"
                        )
                    };
                }
            }
            if !r.on_events.is_empty() {
                let _ = writeln!(
                    out,
                    "Reacts to: {}.\n",
                    r.on_events
                        .iter()
                        .map(|e| format!("`{e}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            if let Some(m) = r.max_actions {
                let _ = writeln!(out, "At most {m} actions per plan.\n");
            }
            if !r.references.is_empty() {
                let _ = writeln!(out, "References: {}.\n", r.references.join("; "));
            }
        }
    }
    out
}
