//! Per-execution wall time of `KubernetesBackend::execute` called directly from Rust, for the
//! side-by-side with the Node binding in `tests/bench/backend-overhead.mjs` (which starts the
//! `tale-testcluster` binary, runs this example against it and the same scenario through the
//! addon). Prints one JSON line: `{"runs":N,"medianMs":..,"p90Ms":..}`.
//!
//! ```text
//! cargo run --release -p tale-sandbox-execute --example overhead -- <kubeconfig> <runs> <id-prefix>
//! ```
//! Each execution id is `<id-prefix><i>`; the caller sets their scenario (or the default one).

use std::time::Instant;

use tale_sandbox_contract::config::SpawnerConfig;
use tale_sandbox_contract::wire::ExecuteRequest;
use tale_sandbox_execute::{ClientOptions, ExecuteOptions, KubernetesBackend, now_ms};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: overhead <kubeconfig> <runs> <id-prefix>";
    let kubeconfig = args.next().ok_or(usage)?;
    let runs: usize = args.next().ok_or(usage)?.parse()?;
    let prefix = args.next().ok_or(usage)?;
    let cfg = SpawnerConfig::default();
    let options = ClientOptions { kubeconfig: Some(kubeconfig.into()), ..Default::default() };
    let backend = KubernetesBackend::new_with_env(cfg.clone(), options, |_| None).await?;
    let mut times = Vec::with_capacity(runs);
    for i in 0..runs {
        let req = ExecuteRequest::from_json(&format!(
            r#"{{"executionId":"{prefix}{i}","organizationId":"org_1","language":"python","entryPath":"main.py","outputUploadSlots":[],"outputUrlEndpoint":"http://p/1","reportUploadedEndpoint":"http://p/2"}}"#
        ))?;
        let began = Instant::now();
        let outcome = backend.execute(&cfg, req, ExecuteOptions::new(now_ms())).await;
        times.push(began.elapsed().as_secs_f64() * 1000.0);
        let status = serde_json::to_value(outcome.response.status)?;
        if status != "completed" {
            return Err(format!("execution {i} ended {status}").into());
        }
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(r#"{{"runs":{runs},"medianMs":{:.2},"p90Ms":{:.2}}}"#, at(0.5), at(0.9));
    Ok(())
}
