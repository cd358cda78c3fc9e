//! `tale-sandbox`: the command-line entry point.
//!
//! The main job, `tale-sandbox` (i.e. `tale-sandbox exec`), runs one execution through the
//! execute path — on the embedded test cluster unless a real cluster is named — and checks its
//! stdout byte for byte (`exec.rs`). `tale-sandbox demo`
//! runs a container on the embedded simulated node — the kubelet model of
//! `tale-sandbox-kubelet-logs` — whose log rotates mid-run, and prints, next to the true
//! stream, what the TypeScript service's polling would return and what the accumulator
//! returns. `tale-sandbox replay <vector.json>` replays one shared test vector.

#![forbid(unsafe_code)]

mod demo;
mod exec;
mod replay;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "tale-sandbox",
    version,
    about = "Rotation-safe stdout for sandboxed Kubernetes executions"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run one execution against a cluster (default: the embedded test cluster, with a log that
    /// rotates) and show the response; on the embedded cluster, check stdout byte for byte.
    Exec(Box<exec::ExecArgs>),
    /// Simulate a run whose log rotates, and compare the TypeScript polling with the accumulator.
    Demo(demo::DemoArgs),
    /// Replay a shared test vector (tests/vectors/*.json) or a recording (`exec --record`),
    /// print what each response brought, and check the result against the file's expectation.
    Replay(replay::ReplayArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        None => exec::run(&exec::ExecArgs::default()),
        Some(Command::Exec(args)) => exec::run(&args),
        Some(Command::Demo(args)) => demo::run(&args),
        Some(Command::Replay(args)) => {
            if !replay::run(&args)? {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}
