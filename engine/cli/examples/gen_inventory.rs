//! Writes a synthetic inventory (see `iamwarden_test_support::synth`) as compact JSON, for benchmarks.
//!
//! ```text
//! cargo run --release --example gen_inventory -- USERS OUT.json [SEED]
//! ```

use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "usage: gen_inventory USERS OUT.json [SEED]";

fn run(args: &[String]) -> Result<(), String> {
    let (users, out, seed) = match args {
        [users, out] => (users, out, None),
        [users, out, seed] => (users, out, Some(seed)),
        _ => return Err(USAGE.to_string()),
    };
    let users: usize = users
        .parse()
        .map_err(|e| format!("USERS {users:?}: {e}\n{USAGE}"))?;
    let seed: u64 = match seed {
        Some(s) => s.parse().map_err(|e| format!("SEED {s:?}: {e}\n{USAGE}"))?,
        None => 1,
    };

    let start = Instant::now();
    let inv = iamwarden_test_support::synth::generate(users, seed);
    let generated = start.elapsed();

    let file = File::create(out).map_err(|e| format!("{out}: {e}"))?;
    let mut w = BufWriter::new(file);
    serde_json::to_writer(&mut w, &inv).map_err(|e| format!("{out}: {e}"))?;
    w.flush().map_err(|e| format!("{out}: {e}"))?;
    drop(w);
    let size = std::fs::metadata(out)
        .map_err(|e| format!("{out}: {e}"))?
        .len();

    println!(
        "{out}: {size} bytes ({:.1} MB); {} users, {} access keys, {} groups, {} roles, \
         {} managed policies, {} inline policies; seed {seed}; generated in {:.2?}, written in {:.2?}",
        size as f64 / 1_000_000.0,
        inv.users.len(),
        inv.access_keys.len(),
        inv.groups.len(),
        inv.roles.len(),
        inv.managed_policies.len(),
        inv.inline_policies.len(),
        generated,
        start.elapsed() - generated,
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen_inventory: {e}");
            ExitCode::FAILURE
        }
    }
}
