//! `tale-testcluster`: the embedded Kubernetes test cluster as a process, for kubectl, Node tests and
//! people. It serves HTTPS with a CA of its own unless started with `--insecure-http`, can write a
//! kubeconfig and the CA to files, prints one `listening on <url>` line once it accepts connections,
//! and stops on SIGINT or SIGTERM.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tale_sandbox_testcluster::{ClusterConfig, FaultPlan, Scenario, TestCluster};

/// Runs a Kubernetes API server with a simulated kubelet on 127.0.0.1 until interrupted.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Port on 127.0.0.1 (0 = pick a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Write a kubeconfig for this cluster to this file (server URL, CA, token, namespace).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Write the cluster's CA certificate (PEM) to this file, for `kubectl --certificate-authority`,
    /// `SANDBOX_K8S_CAFILE` or `NODE_EXTRA_CA_CERTS`. Refused with --insecure-http.
    #[arg(long, conflicts_with = "insecure_http")]
    ca_file: Option<PathBuf>,
    /// Serve plain HTTP instead of HTTPS (kubectl then refuses to send a --token).
    #[arg(long)]
    insecure_http: bool,
    /// Require `Authorization: Bearer <TOKEN>` on every request but the /sim/v1 control routes.
    #[arg(long)]
    token: Option<String>,
    /// Namespace of the kubeconfig context.
    #[arg(long, default_value = "default")]
    namespace: String,
    /// The kubelet's containerLogMonitorInterval: how often log sizes are checked, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    rotation_period_ms: u64,
    /// The kubelet's containerLogMaxSize: a checked log at least this big (bytes) is rotated.
    #[arg(long, default_value_t = 10 * 1024 * 1024)]
    max_log_size: u64,
    /// The kubelet's containerLogMaxFiles: log files kept per container, the current one included.
    #[arg(long, default_value_t = 5)]
    max_log_files: usize,
    /// Longest CRI record content before a line is split into partial records.
    #[arg(long, default_value_t = 16 * 1024)]
    max_record_bytes: usize,
    /// Old kubelet (< 1.29): follow streams stop receiving data after a rotation.
    #[arg(long)]
    follow_stops_at_rotation: bool,
    /// Model the reported follow data loss at rotation (kubernetes#126564).
    #[arg(long)]
    follow_loses_unread: bool,
    /// How long deleted pods stay visible as terminating, in milliseconds.
    #[arg(long, default_value_t = 0)]
    termination_linger_ms: u64,
    /// Do not keep each container's full output for `/sim/v1/.../truth` (saves memory).
    #[arg(long)]
    no_log_history: bool,
    /// Default scenario (JSON) for pods without one.
    #[arg(long)]
    default_scenario: Option<String>,
    /// Fault plan (JSON) in force from the start.
    #[arg(long)]
    faults: Option<String>,
    /// Threads serving requests and running pods (default: one per core); 1 = a single-threaded server.
    #[arg(long)]
    worker_threads: Option<usize>,
}

fn config_from(args: &Args) -> Result<ClusterConfig, String> {
    let mut config = ClusterConfig {
        port: args.port,
        plain_http: args.insecure_http,
        token: args.token.clone(),
        default_namespace: args.namespace.clone(),
        rotation_period: Duration::from_millis(args.rotation_period_ms),
        max_log_size: args.max_log_size,
        follow_continues_after_rotation: !args.follow_stops_at_rotation,
        follow_loses_unread_on_rotation: args.follow_loses_unread,
        termination_linger: Duration::from_millis(args.termination_linger_ms),
        ..ClusterConfig::default()
    };
    config.log.max_files = args.max_log_files;
    config.log.max_record_bytes = args.max_record_bytes;
    config.log.keep_history = !args.no_log_history;
    if let Some(text) = &args.default_scenario {
        config.default_scenario = serde_json::from_str::<Scenario>(text)
            .map_err(|e| format!("--default-scenario is not a scenario: {e}"))?;
    }
    if let Some(text) = &args.faults {
        config.faults = serde_json::from_str::<FaultPlan>(text)
            .map_err(|e| format!("--faults is not a fault plan: {e}"))?;
    }
    Ok(config)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match args.worker_threads {
        Some(1) => tokio::runtime::Builder::new_current_thread().enable_all().build(),
        Some(0) => {
            eprintln!("tale-testcluster: --worker-threads must be at least 1");
            return ExitCode::from(2);
        }
        Some(n) => {
            tokio::runtime::Builder::new_multi_thread().worker_threads(n).enable_all().build()
        }
        None => tokio::runtime::Builder::new_multi_thread().enable_all().build(),
    };
    match runtime {
        Ok(runtime) => runtime.block_on(run(args)),
        Err(e) => {
            eprintln!("tale-testcluster: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> ExitCode {
    let config = match config_from(&args) {
        Ok(config) => config,
        Err(why) => {
            eprintln!("tale-testcluster: {why}");
            return ExitCode::from(2);
        }
    };
    let cluster = match TestCluster::start(config).await {
        Ok(cluster) => cluster,
        Err(e) => {
            eprintln!("tale-testcluster: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(path) = &args.kubeconfig
        && let Err(e) = cluster.write_kubeconfig(path)
    {
        eprintln!("tale-testcluster: cannot write kubeconfig {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    if let Some(path) = &args.ca_file
        && let Err(e) = cluster.write_ca_file(path)
    {
        eprintln!("tale-testcluster: cannot write the CA certificate to {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    // One machine-readable line on stdout: what a parent process (Node tests) waits for.
    println!("listening on {}", cluster.url());
    let interrupted = async {
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(term) => term,
                    Err(_) => return std::future::pending().await,
                };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    };
    interrupted.await;
    cluster.shutdown();
    ExitCode::SUCCESS
}
