//! Build script: the git commit `iamwarden --version` prints, as `IAMWARDEN_GIT_COMMIT` (the
//! short hash of HEAD). Built from a crates.io tarball, or anywhere without git or without the
//! repository, it is `unknown`: this script never fails the build. It reruns only when HEAD or
//! the branch it points at moves.

use std::path::{Path, PathBuf};
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// The short hash of HEAD, and the files whose change moves it; `None` unless this crate is
/// inside the iamwarden repository (a tarball unpacked inside some other repository is not).
fn commit(manifest_dir: &Path) -> Option<(String, Vec<PathBuf>)> {
    let top = PathBuf::from(git(manifest_dir, &["rev-parse", "--show-toplevel"])?);
    let workspace = manifest_dir.join("../..");
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if !same(&top, &workspace) || !workspace.join("engine/cli/build.rs").exists() {
        return None;
    }
    let hash = git(manifest_dir, &["rev-parse", "--short", "HEAD"])?;
    let mut watch = Vec::new();
    let mut paths = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(branch) = git(manifest_dir, &["symbolic-ref", "-q", "HEAD"]) {
        paths.push(branch);
    }
    for p in paths {
        if let Some(path) = git(
            manifest_dir,
            &["rev-parse", "--path-format=absolute", "--git-path", &p],
        ) {
            watch.push(PathBuf::from(path));
        }
    }
    Some((hash, watch))
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_default();
    let hash = match commit(&manifest_dir) {
        Some((hash, watch)) => {
            for path in watch.iter().filter(|p| p.exists()) {
                println!("cargo:rerun-if-changed={}", path.display());
            }
            hash
        }
        None => "unknown".to_string(),
    };
    println!("cargo:rustc-env=IAMWARDEN_GIT_COMMIT={hash}");
}
