//! The global output switches, `--quiet` and `--no-color` (with `NO_COLOR`), set once when
//! the arguments are parsed and read wherever a notice is printed or colour is decided.
//! `--quiet` silences progress and notices on stderr; errors, warnings, `--stats` and the
//! requested output (stdout, and watch's event log) are never silenced.

use std::sync::atomic::{AtomicBool, Ordering};

static QUIET: AtomicBool = AtomicBool::new(false);
static NO_COLOR: AtomicBool = AtomicBool::new(false);

/// Records the global flags (called once, right after parsing).
pub(crate) fn set(quiet: bool, no_color: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
    NO_COLOR.store(no_color, Ordering::Relaxed);
}

/// Whether `--quiet` was given.
pub(crate) fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Whether colour is off by request: `--no-color`, or `NO_COLOR` set and not empty
/// (<https://no-color.org>).
pub(crate) fn no_color() -> bool {
    NO_COLOR.load(Ordering::Relaxed) || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Prints a notice (progress, "Saved ...", "note: ...") on stderr unless `--quiet`.
macro_rules! notice {
    ($($arg:tt)*) => {
        if !$crate::cli::output::quiet() {
            eprintln!($($arg)*);
        }
    };
}
pub(crate) use notice;
