//! Replays one shared test vector through the accumulator (and, for raw vectors, through the
//! TypeScript algorithm) and prints both results.

use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use tale_sandbox_accumulator::{Mode, StdoutAccumulator};
use tale_sandbox_baseline::TypeScriptPoller;
use tale_sandbox_vectors::Vector;

/// Which vector to replay.
#[derive(Args, Clone, Debug)]
pub struct ReplayArgs {
    /// Path of a vector file (tests/vectors/*.json).
    pub vector: PathBuf,
}

/// Replays the vector and prints the results.
pub fn run(args: &ReplayArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.vector)
        .with_context(|| format!("reading {}", args.vector.display()))?;
    let v = Vector::parse(&text).context("not a vector file")?;
    let mut acc = StdoutAccumulator::new(v.config())?;
    let mut ts = TypeScriptPoller::new(v.cap_bytes);
    for read in &v.reads {
        acc.begin_read();
        let mut body = Vec::new();
        for chunk in &read.chunks {
            acc.push(chunk)?;
            body.extend_from_slice(chunk);
        }
        if read.ended() {
            acc.end_read()?;
            ts.poll(&body);
        } else {
            acc.abandon_read();
        }
    }
    let out = acc.finish();
    println!("{}: {}\n", v.name, v.description);
    println!("accumulator: stdout {:?}", out.text());
    println!(
        "             truncated {}, totalBytes {}, rotations {}, gaps {}, malformed {}",
        out.truncated, out.total_bytes, out.rotations, out.gaps, out.malformed
    );
    if v.mode == Mode::Raw {
        println!("TypeScript:  stdout {:?}", ts.text());
        println!("             truncated {}", ts.truncated());
    }
    Ok(())
}
