//! Replays one shared test vector through the accumulator (and, for raw vectors, through the
//! TypeScript algorithm) and prints both results.

use anyhow::Context;
use clap::Args;
use serde::Deserialize;
use std::path::PathBuf;
use tale_sandbox_accumulator::typescript::TypeScriptPoller;
use tale_sandbox_accumulator::{Config, Mode, StdoutAccumulator};

/// Which vector to replay.
#[derive(Args, Clone, Debug)]
pub struct ReplayArgs {
    /// Path of a vector file (tests/vectors/*.json).
    pub vector: PathBuf,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Bytes {
    Text(String),
    Hex { hex: String },
}

impl Bytes {
    fn to_vec(&self) -> anyhow::Result<Vec<u8>> {
        Ok(match self {
            Bytes::Text(s) => s.as_bytes().to_vec(),
            Bytes::Hex { hex } => hex::decode(hex).context("bad hex chunk")?,
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Vector {
    name: String,
    description: String,
    cap_bytes: usize,
    mode: String,
    reads: Vec<Read>,
}

#[derive(Deserialize)]
struct Read {
    chunks: Vec<Bytes>,
    end: Option<bool>,
}

/// Replays the vector and prints the results.
pub fn run(args: &ReplayArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.vector).with_context(|| format!("reading {}", args.vector.display()))?;
    let v: Vector = serde_json::from_str(&text).context("not a vector file")?;
    let mode = match v.mode.as_str() {
        "raw" => Mode::Raw,
        "timestamped" => Mode::Timestamped,
        other => anyhow::bail!("unknown mode {other:?}"),
    };
    let mut acc = StdoutAccumulator::new(Config { cap_bytes: v.cap_bytes, mode })?;
    let mut ts = TypeScriptPoller::new(v.cap_bytes);
    for read in &v.reads {
        acc.begin_read();
        let mut body = Vec::new();
        for chunk in &read.chunks {
            let bytes = chunk.to_vec()?;
            acc.push(&bytes)?;
            body.extend_from_slice(&bytes);
        }
        if read.end.unwrap_or(true) {
            acc.end_read()?;
            ts.poll(&body);
        } else {
            acc.abandon_read();
        }
    }
    let out = acc.finish();
    println!("{}: {}\n", v.name, v.description);
    println!("accumulator: stdout {:?}", out.text());
    println!("             truncated {}, totalBytes {}, rotations {}, gaps {}, malformed {}", out.truncated, out.total_bytes, out.rotations, out.gaps, out.malformed);
    if mode == Mode::Raw {
        println!("TypeScript:  stdout {:?}", ts.text());
        println!("             truncated {}", ts.truncated());
    }
    Ok(())
}
