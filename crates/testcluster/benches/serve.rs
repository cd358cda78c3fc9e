//! Benchmarks of the test cluster binary, printed as figures (not a timed test):
//!
//! 1. follow-stream throughput: a 100 MiB runner log served over one `follow=true` stream by a
//!    single-threaded server (`--worker-threads 1`: one core), with and without timestamps;
//! 2. many follow streams: 1000 pods writing at once, each followed by its own stream, and the
//!    server's peak resident memory.
//!
//! The server runs with `--insecure-http`, so the figures measure the cluster itself, not TLS, and
//! stay comparable with those measured before the cluster served TLS.
//!
//! Full run (about 30 s; what BENCHMARKS.md reports):
//!   `cargo bench -p tale-sandbox-testcluster --bench serve`
//! (cargo bench passes `--bench`), or `SERVE_BENCH_FULL=1` with any command that runs this binary.
//! Everything else runs the quick mode (16 MiB, 100 pods: a few seconds): in particular
//! `cargo test --workspace --all-targets`, which runs benches as tests without `--bench`, and
//! `cargo bench -p tale-sandbox-testcluster --bench serve -- quick`.

use std::process::Stdio;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const MIB: u64 = 1024 * 1024;

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    async fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tale-testcluster"))
            .args(["--port", "0", "--insecure-http"])
            .args(args)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the test cluster binary starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = lines.next_line().await.expect("a line").expect("the listening line");
        let port = line
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        Server { child, port }
    }

    fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// (current, peak) resident set size in MiB, from /proc.
    fn rss_mib(&self) -> (f64, f64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
                .map_or(0.0, |kb| kb / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

async fn call(port: u16, method: &str, path: &str, body: &str) -> (u16, Bytes) {
    let response = open(port, method, path, body).await;
    let status = response.status().as_u16();
    (status, response.into_body().collect().await.expect("body").to_bytes())
}

async fn open(
    port: u16,
    method: &str,
    path: &str,
    body: &str,
) -> hyper::Response<hyper::body::Incoming> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
    tokio::spawn(connection);
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("request");
    sender.send_request(request).await.expect("response")
}

fn pod(name: &str) -> String {
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"tale.sandbox": "1"}},
        "spec": {"restartPolicy": "Never",
                 "initContainers": [{"name": "stage", "image": "spawner"}],
                 "containers": [{"name": "runner", "image": "runtime"}, {"name": "harvest", "image": "spawner"}]}
    })
    .to_string()
}

async fn wait_phase(port: u16, name: &str, phase: &str) {
    loop {
        let (_, body) =
            call(port, "GET", &format!("/api/v1/namespaces/default/pods/{name}"), "").await;
        let pod: serde_json::Value = serde_json::from_slice(&body).expect("pod JSON");
        if pod["status"]["phase"] == phase {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Reads a body to its end; returns the byte count.
async fn drain(response: hyper::Response<hyper::body::Incoming>) -> u64 {
    let mut body = response.into_body();
    let mut total = 0u64;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.expect("frame").into_data() {
            total += data.len() as u64;
        }
    }
    total
}

async fn follow_throughput(total_mib: u64, rounds: usize) {
    let line = format!("{}\n", "0123456789".repeat(10)); // 101-byte lines
    let total = total_mib * MIB;
    let server = Server::start(&[
        "--worker-threads",
        "1",
        "--no-log-history",
        "--max-log-size",
        "4294967296",
    ])
    .await;
    let scenario = serde_json::json!({"runner": {"output": [{"repeat": {"pattern": line, "totalBytes": total}}]}}).to_string();
    assert_eq!(call(server.port, "PUT", "/sim/v1/default-scenario", &scenario).await.0, 204);
    let written = Instant::now();
    assert_eq!(
        call(server.port, "POST", "/api/v1/namespaces/default/pods", &pod("big")).await.0,
        201
    );
    wait_phase(server.port, "big", "Succeeded").await;
    println!(
        "follow throughput: {total_mib} MiB log of 101-byte lines written by the simulated runner in {:.2} s",
        written.elapsed().as_secs_f64()
    );
    let lines = total.div_ceil(line.len() as u64);
    for (label, query, expected) in
        [("plain", "", total), ("timestamps=true", "&timestamps=true", total + 31 * lines)]
    {
        let mut rates = Vec::new();
        for _ in 0..rounds {
            let started = Instant::now();
            let response = open(
                server.port,
                "GET",
                &format!(
                    "/api/v1/namespaces/default/pods/big/log?container=runner&follow=true{query}"
                ),
                "",
            )
            .await;
            let bytes = drain(response).await;
            let seconds = started.elapsed().as_secs_f64();
            assert_eq!(bytes, expected, "the whole log is served");
            rates.push(bytes as f64 / seconds / 1e6);
        }
        rates.sort_by(f64::total_cmp);
        println!(
            "follow throughput ({label}): {:.1} MiB in one follow stream, one server thread: median {:.0} MB/s, best {:.0} MB/s over {rounds} runs",
            expected as f64 / MIB as f64,
            rates[rates.len() / 2],
            rates[rates.len() - 1]
        );
    }
    let (rss, peak) = server.rss_mib();
    println!(
        "follow throughput: server RSS {rss:.0} MiB (peak {peak:.0} MiB) holding the {total_mib} MiB log"
    );
}

async fn many_follow_streams(pods: usize, per_pod_bytes: u64) {
    let server = Server::start(&["--no-log-history"]).await;
    let port = server.port;
    let line = format!("{:<63}\n", "a log line written by one of many busy sandbox pods");
    assert_eq!(line.len(), 64);
    let scenario = serde_json::json!({"runner": {"output": [
        {"repeat": {"pattern": line, "totalBytes": per_pod_bytes, "chunkBytes": 640, "bytesPerSecond": 8192}}]}})
    .to_string();
    assert_eq!(call(port, "PUT", "/sim/v1/default-scenario", &scenario).await.0, 204);
    let started = Instant::now();
    let mut followers = tokio::task::JoinSet::new();
    for i in 0..pods {
        let name = format!("busy-{i:04}");
        assert_eq!(call(port, "POST", "/api/v1/namespaces/default/pods", &pod(&name)).await.0, 201);
        followers.spawn(async move {
            let path =
                format!("/api/v1/namespaces/default/pods/{name}/log?container=runner&follow=true");
            loop {
                let response = open(port, "GET", &path, "").await;
                if response.status() == 200 {
                    return drain(response).await;
                }
                // 400 until the runner has started.
                let _ = response.into_body().collect().await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
    }
    let sampler = tokio::spawn(async move {
        let mut most_streams = 0i64;
        loop {
            let (_, body) = call(port, "GET", "/sim/v1/metrics", "").await;
            let metrics: serde_json::Value = serde_json::from_slice(&body).expect("metrics");
            most_streams = most_streams.max(metrics["openLogStreams"].as_i64().unwrap_or(0));
            if most_streams > 0 && metrics["openLogStreams"] == 0 {
                return most_streams;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut complete = 0;
    while let Some(bytes) = followers.join_next().await {
        if bytes.expect("follower") == per_pod_bytes {
            complete += 1;
        }
    }
    let most_streams = sampler.await.expect("sampler");
    let (rss, peak) = server.rss_mib();
    println!(
        "many follow streams: {pods} pods each writing {} KiB at 8 KiB/s, {pods} follow streams ({most_streams} open at once at most), \
         {complete}/{pods} received their whole log, in {:.1} s; server peak RSS {peak:.0} MiB (now {rss:.0} MiB)",
        per_pod_bytes / 1024,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(complete, pods, "every stream got every byte");
}

/// How big a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// 16 MiB, 100 pods: a smoke run that proves the benchmark still works.
    Quick,
    /// 100 MiB in five rounds, 1000 pods: the figures BENCHMARKS.md reports.
    Full,
}

/// `quick` on the command line always wins; then `SERVE_BENCH_FULL=1` or cargo bench's `--bench` flag
/// ask for the full run; anything else (`cargo test --all-targets`) gets the quick one.
fn choose_mode(args: &[String], full_env: Option<&str>) -> Mode {
    if args.iter().any(|a| a == "quick") {
        Mode::Quick
    } else if full_env == Some("1") || args.iter().any(|a| a == "--bench") {
        Mode::Full
    } else {
        Mode::Quick
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = choose_mode(&args, std::env::var("SERVE_BENCH_FULL").ok().as_deref());
    println!(
        "serve bench: {mode:?} run (full: `cargo bench -p tale-sandbox-testcluster --bench serve` or SERVE_BENCH_FULL=1)"
    );
    // The client runs on its own thread; the server is a separate process.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        match mode {
            Mode::Quick => {
                follow_throughput(16, 1).await;
                many_follow_streams(100, 16 * 1024).await;
            }
            Mode::Full => {
                follow_throughput(100, 5).await;
                many_follow_streams(1000, 64 * 1024).await;
            }
        }
    });
}
