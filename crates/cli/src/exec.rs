//! `tale-sandbox exec`: one execution, the way the service runs it, with a progress bar.
//!
//! Two targets:
//! - **a real cluster**, chosen with `--kubeconfig`, `--context` or `--kube` (the service's own
//!   client rules, spec §8.1: `SANDBOX_K8S_SERVER` + `SANDBOX_K8S_TOKEN`, in-cluster, `KUBECONFIG`,
//!   `~/.kube/config`); the configuration comes from the environment (`SpawnerConfig::from_env`)
//!   with `--config FILE` on top;
//! - **the embedded test cluster** otherwise: started in-process, with a runner that prints more
//!   than `containerLogMaxSize` so that its log rotates while it is read; afterwards stdout is
//!   compared with everything the runner wrote, byte for byte (the cluster's truth).
//!
//! The response is printed as a readable summary, or with `--json` as the exact response JSON.

mod embedded;
mod progress;
mod size;

use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use clap::{Args, CommandFactory as _, FromArgMatches as _, Parser};
use tale_sandbox_contract::config::SpawnerConfig;
use tale_sandbox_contract::constants::RUNNER_CONTAINER;
use tale_sandbox_contract::wire::{ExecuteRequest, ExecuteResponse, Phase};
use tale_sandbox_execute::{
    ClientOptions, ExecuteOptions, ExecutionReport, KubernetesBackend, make_config, now_ms,
};

use progress::{Bar, Live};
use size::{grouped, human, parse_size};

/// What `tale-sandbox exec` runs, where, and how it reports.
#[derive(Args, Clone, Debug)]
pub struct ExecArgs {
    // --- Target cluster ---------------------------------------------------------------------
    /// Run against the cluster of this kubeconfig file (instead of the embedded test cluster).
    #[arg(long, value_name = "FILE", help_heading = "Real cluster")]
    pub kubeconfig: Option<PathBuf>,
    /// Run against this kubeconfig context (instead of the embedded test cluster).
    #[arg(long, value_name = "NAME", help_heading = "Real cluster")]
    pub context: Option<String>,
    /// Run against the cluster the service would use: SANDBOX_K8S_SERVER + SANDBOX_K8S_TOKEN,
    /// the in-cluster ServiceAccount, KUBECONFIG or ~/.kube/config.
    #[arg(long, help_heading = "Real cluster")]
    pub kube: bool,
    /// Namespace of the sandbox pods (overrides SANDBOX_K8S_NAMESPACE and --config).
    #[arg(long, short = 'n', value_name = "NS", help_heading = "Real cluster")]
    pub namespace: Option<String>,

    // --- Request and configuration ----------------------------------------------------------
    /// The ExecuteRequest as JSON (`-` reads stdin). Flags below override its fields.
    #[arg(long, value_name = "FILE", help_heading = "Request and configuration")]
    pub request: Option<PathBuf>,
    /// SpawnerConfig fields as JSON (camelCase, any subset), applied over the environment.
    #[arg(long, value_name = "FILE", help_heading = "Request and configuration")]
    pub config: Option<PathBuf>,
    /// `executionId` (default: `cli-<epoch ms>`).
    #[arg(long, value_name = "ID", help_heading = "Request and configuration")]
    pub execution_id: Option<String>,
    /// `language` (python, node, bash, polyglot).
    #[arg(long, help_heading = "Request and configuration")]
    pub language: Option<String>,
    /// `entryPath` (default main.py).
    #[arg(long, value_name = "PATH", help_heading = "Request and configuration")]
    pub entry_path: Option<String>,
    /// `timeoutMs`.
    #[arg(long, value_name = "MS", help_heading = "Request and configuration")]
    pub timeout_ms: Option<u64>,
    /// `stdoutMaxBytes` (embedded default: enough for the whole output, at least 32MiB).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, help_heading = "Request and configuration")]
    pub stdout_max_bytes: Option<u64>,

    // --- Output -----------------------------------------------------------------------------
    /// Print exactly the response JSON on stdout (the summary and verdict go to stderr).
    #[arg(long, help_heading = "Output")]
    pub json: bool,
    /// No progress bar (it is also hidden when stderr is not a terminal).
    #[arg(long, help_heading = "Output")]
    pub no_progress: bool,
    /// Record every runner-log response fed to the accumulator into FILE (a version-2 vector:
    /// replay it with `tale-sandbox replay FILE` or the replay page). Without it,
    /// TALE_SANDBOX_RECORD (a file, or a directory) switches recording on.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub record: Option<PathBuf>,

    // --- Embedded test cluster --------------------------------------------------------------
    #[command(flatten)]
    pub embedded: embedded::EmbeddedArgs,
}

impl Default for ExecArgs {
    /// The arguments of a bare `tale-sandbox exec`.
    fn default() -> Self {
        #[derive(Parser)]
        struct Bare {
            #[command(flatten)]
            args: ExecArgs,
        }
        let matches = Bare::command().get_matches_from(["tale-sandbox"]);
        Bare::from_arg_matches(&matches).expect("defaults parse").args
    }
}

impl ExecArgs {
    /// Whether a real cluster was asked for.
    fn real_cluster(&self) -> bool {
        self.kubeconfig.is_some() || self.context.is_some() || self.kube
    }
}

/// Runs `tale-sandbox exec`; exits with status 1 when the embedded run is not byte-exact
/// (or the execution did not complete).
pub fn run(args: &ExecArgs) -> anyhow::Result<()> {
    check_args(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    let ok = runtime.block_on(async {
        if args.real_cluster() { run_real(args).await } else { embedded::run(args).await }
    });
    runtime.shutdown_timeout(Duration::from_secs(2));
    if !ok? {
        std::process::exit(1);
    }
    Ok(())
}

/// The configuration: `SpawnerConfig::from_env`, then the fields of `--config`, then flags.
fn load_config(args: &ExecArgs) -> anyhow::Result<SpawnerConfig> {
    let mut cfg = SpawnerConfig::from_env(|name| std::env::var(name).ok())
        .context("invalid SANDBOX_* environment")?;
    if let Some(path) = &args.config {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read --config {}", path.display()))?;
        let patch: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("--config {} is not JSON", path.display()))?;
        anyhow::ensure!(
            patch.is_object(),
            "--config {} must hold a JSON object of SpawnerConfig fields",
            path.display()
        );
        let mut value = serde_json::to_value(&cfg)?;
        merge(&mut value, patch);
        cfg = serde_json::from_value(value)
            .with_context(|| format!("--config {} is not a valid SpawnerConfig", path.display()))?;
    }
    if let Some(namespace) = &args.namespace {
        cfg.k8s.namespace = namespace.clone();
    }
    if let Some(max) = args.stdout_max_bytes {
        anyhow::ensure!(max >= 1024, "--stdout-max-bytes must be at least 1024");
        cfg.stdout_max_bytes = max;
    }
    Ok(cfg)
}

/// Deep merge of JSON objects: `patch` wins, objects merge key by key.
fn merge(base: &mut serde_json::Value, patch: serde_json::Value) {
    match (base, patch) {
        (serde_json::Value::Object(base), serde_json::Value::Object(patch)) => {
            for (key, value) in patch {
                match base.get_mut(&key) {
                    Some(slot) => merge(slot, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (slot, value) => *slot = value,
    }
}

/// The request: `--request` (or a minimal python request), then the flags.
fn load_request(args: &ExecArgs) -> anyhow::Result<ExecuteRequest> {
    let mut value: serde_json::Value = match &args.request {
        Some(path) => {
            let text = if path.as_os_str() == "-" {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context("cannot read the request from stdin")?;
                text
            } else {
                std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read --request {}", path.display()))?
            };
            serde_json::from_str(&text).context("the request is not JSON")?
        }
        None => serde_json::json!({
            "executionId": format!("cli-{}", now_ms()),
            "organizationId": "tale-cli",
            "language": "python",
            "entryPath": "main.py",
            "outputUploadSlots": [],
            "outputUrlEndpoint": "http://127.0.0.1:9/output-url",
            "reportUploadedEndpoint": "http://127.0.0.1:9/report-uploaded",
        }),
    };
    let fields = value.as_object_mut().context("the request must be a JSON object")?;
    if let Some(id) = &args.execution_id {
        fields.insert("executionId".into(), id.clone().into());
    }
    if let Some(language) = &args.language {
        fields.insert("language".into(), language.clone().into());
    }
    if let Some(entry) = &args.entry_path {
        fields.insert("entryPath".into(), entry.clone().into());
    }
    if let Some(timeout) = args.timeout_ms {
        fields.insert("timeoutMs".into(), timeout.into());
    }
    let req = ExecuteRequest::from_json(&value.to_string())
        .map_err(|e| anyhow::anyhow!("invalid ExecuteRequest: {e}"))?;
    req.check_backend_acceptance()
        .map_err(|e| anyhow::anyhow!("the request would be rejected: {e}"))?;
    Ok(req)
}

/// A client from `config` (kube's retries off) that counts the runner's follow streams.
fn counting_client(mut config: kube::Config, live: Arc<Live>) -> anyhow::Result<kube::Client> {
    config.default_retry = false;
    let builder = kube::client::ClientBuilder::try_from(config)
        .context("cannot build the Kubernetes client")?;
    let layer = tower::util::MapRequestLayer::new(move |req: http::Request<kube::client::Body>| {
        if is_runner_follow(req.uri()) {
            live.follow_streams.fetch_add(1, Ordering::Relaxed);
        }
        req
    });
    Ok(builder.with_layer(&layer).build())
}

/// `GET .../pods/<pod>/log?container=runner&follow=true...`
fn is_runner_follow(uri: &http::Uri) -> bool {
    let query = uri.query().unwrap_or("");
    let has = |pair: &str| query.split('&').any(|p| p == pair);
    uri.path().ends_with("/log")
        && has("follow=true")
        && has(&format!("container={RUNNER_CONTAINER}"))
}

/// The phase name as the wire spells it.
fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Preparing => "preparing",
        Phase::Installing => "installing",
        Phase::Running => "running",
        Phase::Completed => "completed",
    }
}

/// What one execution returned, plus what the CLI saw of it.
pub(crate) struct Run {
    pub response: ExecuteResponse,
    pub report: ExecutionReport,
    /// The live stdout deltas, concatenated (kept only when asked).
    pub deltas: Option<String>,
    pub wall: Duration,
}

/// What to keep of a run besides its response.
pub(crate) struct RunHow {
    /// Keep the live stdout deltas (for the check against the truth).
    pub keep_deltas: bool,
    /// Record the runner-log responses into this file (`--record`).
    pub record: Option<PathBuf>,
}

/// Executes `req` on `backend` with the progress bar.
async fn execute_with_progress(
    backend: &KubernetesBackend,
    cfg: &SpawnerConfig,
    req: ExecuteRequest,
    live: Arc<Live>,
    bar: &Bar,
    how: RunHow,
    poll: impl Fn(&Live),
) -> Run {
    let RunHow { keep_deltas, record } = how;
    let started = std::time::Instant::now();
    let mut opts = ExecuteOptions::new(now_ms());
    opts.record = record;
    let phases = live.clone();
    opts.on_phase = Some(Box::new(move |phase| phases.set_phase(phase_name(phase))));
    let deltas = Arc::new(std::sync::Mutex::new(String::new()));
    let sink = deltas.clone();
    let counter = live.clone();
    opts.on_stdout_delta = Some(Box::new(move |text: String| {
        counter.stdout_bytes.fetch_add(text.len() as u64, Ordering::Relaxed);
        if keep_deltas && let Ok(mut all) = sink.lock() {
            all.push_str(&text);
        }
    }));
    // Ctrl-C cancels the execution (the flow still deletes its pod and Secret).
    let cancel = opts.cancel.clone();
    let interrupt = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            cancel.cancel();
        }
    });
    live.set_phase("creating pod");
    let execution = backend.execute(cfg, req, opts);
    tokio::pin!(execution);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let outcome = loop {
        tokio::select! {
            outcome = &mut execution => break outcome,
            _ = tick.tick() => {
                poll(&live);
                bar.update(&live);
            }
        }
    };
    interrupt.abort();
    poll(&live);
    live.set_phase("done");
    bar.update(&live);
    let deltas =
        keep_deltas.then(|| std::mem::take(&mut *deltas.lock().unwrap_or_else(|e| e.into_inner())));
    Run { response: outcome.response, report: outcome.report, deltas, wall: started.elapsed() }
}

/// Whether to draw the bar.
fn bar_hidden(args: &ExecArgs) -> bool {
    args.no_progress || !std::io::stderr().is_terminal()
}

/// A real cluster: no truth to compare with; succeeds when the execution completed.
async fn run_real(args: &ExecArgs) -> anyhow::Result<bool> {
    let cfg = load_config(args)?;
    let req = load_request(args)?;
    let options = ClientOptions {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
        namespace: args.namespace.clone(),
    };
    let config = make_config(&options, |name| std::env::var(name).ok()).await?;
    let server = config.cluster_url.to_string();
    let live = Live::new("connecting");
    let client = counting_client(config, live.clone())?;
    let backend = KubernetesBackend::from_client(cfg.clone(), client);
    backend.init().await?;
    let mut out = Output::new(args.json);
    out.line(format!(
        "tale-sandbox exec: execution {} in namespace {} of {server}",
        req.execution_id, cfg.k8s.namespace
    ));
    let bar = Bar::new(None, bar_hidden(args));
    let run = execute_with_progress(
        &backend,
        &cfg,
        req,
        live.clone(),
        &bar,
        RunHow { keep_deltas: false, record: args.record.clone() },
        |_| {},
    )
    .await;
    bar.finish();
    out.json(&run.response)?;
    out.summary(&run, &live, &cfg);
    let completed = run.response.status == tale_sandbox_contract::wire::ExecutionStatus::Completed;
    out.line(format!(
        "verdict    {} (no byte-exact check on a real cluster: it has no truth endpoint)",
        if completed { "completed" } else { "NOT completed" }
    ));
    Ok(completed)
}

/// Where the output goes: the summary on stdout, or on stderr with `--json`.
pub(crate) struct Output {
    json: bool,
}

impl Output {
    pub fn new(json: bool) -> Self {
        Output { json }
    }

    /// One summary line.
    pub fn line(&mut self, text: impl AsRef<str>) {
        if self.json {
            eprintln!("{}", text.as_ref());
        } else {
            println!("{}", text.as_ref());
        }
    }

    /// With `--json`: the response JSON, exactly, on stdout.
    pub fn json(&mut self, response: &ExecuteResponse) -> anyhow::Result<()> {
        if self.json {
            let mut stdout = std::io::stdout().lock();
            serde_json::to_writer(&mut stdout, response)?;
            stdout.write_all(b"\n")?;
            stdout.flush()?;
        }
        Ok(())
    }

    /// The readable summary of the response and the flow's report.
    pub fn summary(&mut self, run: &Run, live: &Live, cfg: &SpawnerConfig) {
        let r = &run.response;
        let status = serde_json::to_value(r.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let exit = r.exit_code.map_or("none".to_string(), |c| c.to_string());
        let mut line =
            format!("response   status {status}, exit code {exit}, durationMs {}", r.duration_ms);
        if let Some(code) = r.error_code {
            line.push_str(&format!(", errorCode {}", code.as_str()));
        }
        self.line(line);
        if let Some(message) = &r.error_message {
            self.line(format!("           errorMessage: {message}"));
        }
        let stdout = decode(&r.stdout_base64);
        let stderr = decode(&r.stderr_base64);
        self.line(format!(
            "stdout     {} bytes ({}), truncated: {} (stdoutMaxBytes {})",
            grouped(stdout.len() as u64),
            human(stdout.len() as u64),
            yes_no(r.truncated.stdout),
            human(cfg.stdout_max_bytes)
        ));
        if !stdout.is_empty() {
            self.line(format!("           first line: {}", preview(first_line(&stdout))));
            self.line(format!("           last line:  {}", preview(last_line(&stdout))));
        }
        self.line(format!(
            "stderr     {} bytes, truncated: {}",
            grouped(stderr.len() as u64),
            yes_no(r.truncated.stderr)
        ));
        if !stderr.is_empty() {
            self.line(format!("           {}", preview(last_line(&stderr))));
        }
        if let Some(t) = &r.timing {
            self.line(format!(
                "timing     stage {} ms, execute {} ms, harvest {} ms, upload {} ms",
                t.stage_ms, t.execute_ms, t.harvest_ms, t.upload_ms
            ));
        }
        let f = &run.report.flow;
        self.line(format!(
            "flow       runner log read {} in {} follow stream(s): {} reconnect(s), {} stall(s), {} poll(s), {} tail check(s) ({} proved the end); rotations seen {}, gaps {}",
            human(f.log_bytes.runner),
            f.stdout_streams,
            f.stdout_reconnects,
            f.stdout_stalls,
            f.stdout_polls,
            f.stdout_tail_checks,
            f.stdout_tail_confirmed,
            f.rotations,
            f.gaps
        ));
        if !stdout.is_empty() {
            self.line(format!(
                "           {:.2} log bytes read per stdout byte (CRI timestamps included); client saw {} follow request(s)",
                f.log_bytes.runner as f64 / stdout.len() as f64,
                live.follow_streams.load(Ordering::Relaxed)
            ));
        }
        if let Some(path) = &run.report.recording {
            self.line(format!(
                "recording  {} ({} response(s); replay: tale-sandbox replay {})",
                path.display(),
                f.stdout_streams + f.stdout_polls,
                path.display()
            ));
        }
        let cleanup = run.report.cleanup_ms.map_or("-".to_string(), |ms| format!("{ms} ms"));
        self.line(format!(
            "           wall time {:.1} s, cleanup {cleanup}",
            run.wall.as_secs_f64()
        ));
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// The response's base64 field decoded (empty when it is not base64).
pub(crate) fn decode(b64: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(b64).unwrap_or_default()
}

fn first_line(bytes: &[u8]) -> &[u8] {
    bytes.split(|b| *b == b'\n').next().unwrap_or(bytes)
}

fn last_line(bytes: &[u8]) -> &[u8] {
    let trimmed = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    trimmed.rsplit(|b| *b == b'\n').next().unwrap_or(trimmed)
}

/// At most 100 characters of a line, escaped.
pub(crate) fn preview(line: &[u8]) -> String {
    let lossy = String::from_utf8_lossy(line);
    // A slice may cut a character at either end: not worth a replacement character.
    let text = lossy.trim_matches('\u{FFFD}');
    let mut out: String = text.chars().take(100).flat_map(char::escape_debug).collect();
    if text.chars().count() > 100 {
        out.push('…');
    }
    out
}

/// Refuses a combination that cannot work, before anything starts.
fn check_args(args: &ExecArgs) -> anyhow::Result<()> {
    if args.real_cluster() && args.embedded.was_customized() {
        bail!(
            "the embedded-cluster flags (--size, --rate, --cut-stream-every, ...) do not apply to a real cluster"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runner_follow_requests_are_recognised() {
        let follow: http::Uri =
            "/api/v1/namespaces/ns/pods/p/log?container=runner&follow=true&timestamps=true"
                .parse()
                .unwrap();
        let read: http::Uri =
            "/api/v1/namespaces/ns/pods/p/log?container=harvest&tailLines=10".parse().unwrap();
        assert!(is_runner_follow(&follow));
        assert!(!is_runner_follow(&read));
    }

    #[test]
    fn config_files_merge_over_the_defaults() {
        let mut base = serde_json::to_value(SpawnerConfig::default()).unwrap();
        merge(&mut base, serde_json::json!({"stdoutMaxBytes": 4096, "k8s": {"namespace": "x"}}));
        let cfg: SpawnerConfig = serde_json::from_value(base).unwrap();
        assert_eq!(cfg.stdout_max_bytes, 4096);
        assert_eq!(cfg.k8s.namespace, "x");
        assert_eq!(cfg.k8s.workspace_size_limit, SpawnerConfig::default().k8s.workspace_size_limit);
    }

    #[test]
    fn bare_exec_uses_the_embedded_cluster() {
        let args = ExecArgs::default();
        assert!(!args.real_cluster());
        assert!(!args.embedded.was_customized());
    }
}
