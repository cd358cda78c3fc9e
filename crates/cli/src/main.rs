//! `tale-sandbox`: the command-line entry point.
//!
//! Until the execute path exists, the main job (`tale-sandbox`, i.e. `tale-sandbox demo`)
//! runs a container on the embedded simulated node — the kubelet model of
//! `tale-sandbox-kubelet-logs` — whose log rotates mid-run, and prints, next to the true
//! stream, what the TypeScript service's polling would return and what the accumulator
//! returns. `tale-sandbox replay <vector.json>` replays one shared test vector.

#![forbid(unsafe_code)]

mod demo;
mod replay;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "tale-sandbox", version, about = "Rotation-safe stdout for sandboxed Kubernetes executions")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a run whose log rotates, and compare the TypeScript polling with the accumulator.
    Demo(demo::DemoArgs),
    /// Replay a shared test vector (tests/vectors/*.json) and print the results.
    Replay(replay::ReplayArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        None => demo::run(&demo::DemoArgs::default()),
        Some(Command::Demo(args)) => demo::run(&args),
        Some(Command::Replay(args)) => replay::run(&args),
    }
}
