//! Helpers shared by the integration tests: raw HTTP(S) requests to a cluster (over TLS when it serves
//! TLS, trusting its CA like any client would), and pods shaped like the sandbox service's with
//! scenarios attached.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{HeaderMap, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use k8s_openapi::api::core::v1::Pod;
use rustls::pki_types::ServerName;
use tale_sandbox_testcluster::{ClusterConfig, Scenario, TestCluster};

/// A response read to its end.
pub struct Raw {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Raw {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// Sends one request on a fresh connection (TLS when the cluster serves it) and returns the response
/// head, its body unread.
pub async fn send(
    cluster: &TestCluster,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Result<Response<Incoming>, String> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", cluster.port()))
        .await
        .map_err(|e| e.to_string())?;
    let mut sender = match cluster.tls_client_config() {
        None => {
            let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(connection);
            sender
        }
        Some(config) => {
            let name = ServerName::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST).into());
            let stream = tokio_rustls::TlsConnector::from(config)
                .connect(name, stream)
                .await
                .map_err(|e| format!("TLS: {e}"))?;
            let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(connection);
            sender
        }
    };
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", format!("127.0.0.1:{}", cluster.port()));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(body.into())).map_err(|e| e.to_string())?;
    sender.send_request(request).await.map_err(|e| e.to_string())
}

/// Sends one request and reads the whole body.
pub async fn request(
    cluster: &TestCluster,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Result<Raw, String> {
    let response = send(cluster, method, path, headers, body).await?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok(Raw { status: parts.status, headers: parts.headers, body })
}

pub async fn get(cluster: &TestCluster, path: &str) -> Raw {
    request(cluster, "GET", path, &[], Bytes::new()).await.expect("request")
}

pub async fn post_json(cluster: &TestCluster, path: &str, body: &str) -> Raw {
    request(cluster, "POST", path, &[("content-type", "application/json")], body.to_string())
        .await
        .expect("request")
}

/// Reads body chunks until the stream ends, `predicate` says stop, or `limit` elapses.
pub async fn read_until(
    body: &mut Incoming,
    collected: &mut Vec<u8>,
    limit: Duration,
    mut predicate: impl FnMut(&[u8]) -> bool,
) -> Result<bool, String> {
    let deadline = tokio::time::Instant::now() + limit;
    while !predicate(collected) {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => {
                return Err(format!("timed out after {limit:?} with {} bytes", collected.len()));
            }
            Ok(None) => return Ok(false),
            Ok(Some(frame)) => frame.map_err(|e| e.to_string())?,
        };
        if let Ok(data) = frame.into_data() {
            collected.extend_from_slice(&data);
        }
    }
    Ok(true)
}

/// A pod shaped like the service's (§4.4 of the spec, trimmed to what the cluster looks at).
pub fn sandbox_pod(name: &str, execution_id: &str) -> Pod {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "labels": {"tale.sandbox": "1", "tale.sandbox/role": "runtime"},
            "annotations": {"tale.dev/execution-id": execution_id, "tale.dev/organization-id": "org", "tale.dev/started-at": "1700000000000"}
        },
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 0,
            "initContainers": [{"name": "stage", "image": "spawner:latest", "command": ["bun", "/app/src/backend/kubernetes/k8s-stage.ts"]}],
            "containers": [
                {"name": "runner", "image": "runtime:latest", "command": ["/bin/sh", "-c", "true"]},
                {"name": "harvest", "image": "spawner:latest", "command": ["bun", "/app/src/backend/kubernetes/k8s-harvest.ts"]}
            ]
        }
    }))
    .expect("valid pod")
}

pub fn pod_json(name: &str, execution_id: &str) -> String {
    serde_json::to_string(&sandbox_pod(name, execution_id)).unwrap()
}

/// Starts a cluster with `config` tweaked by `f`.
pub async fn cluster_with(f: impl FnOnce(&mut ClusterConfig)) -> TestCluster {
    let mut config = ClusterConfig::default();
    f(&mut config);
    TestCluster::start(config).await.expect("cluster starts")
}

/// Creates a sandbox pod through the API with `scenario` attached to its execution id.
pub async fn run_pod(cluster: &TestCluster, name: &str, scenario: Scenario) {
    let id = format!("exec-{name}");
    cluster.set_scenario(&id, scenario).expect("scenario");
    let response =
        post_json(cluster, "/api/v1/namespaces/default/pods", &pod_json(name, &id)).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
}

/// Polls the pod until `predicate` holds (bounded).
pub async fn wait_for_pod(
    cluster: &TestCluster,
    name: &str,
    what: &str,
    predicate: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let pod = get(cluster, &format!("/api/v1/namespaces/default/pods/{name}")).await;
        if pod.status == StatusCode::OK && predicate(&pod.json()) {
            return pod.json();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "pod {name} never reached: {what}; last: {}",
            pod.text()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The state of a container in a pod JSON.
pub fn container_state<'a>(pod: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    for list in ["initContainerStatuses", "containerStatuses"] {
        if let Some(items) = pod["status"][list].as_array()
            && let Some(c) = items.iter().find(|c| c["name"] == name)
        {
            return &c["state"];
        }
    }
    &serde_json::Value::Null
}

pub fn phase(pod: &serde_json::Value) -> &str {
    pod["status"]["phase"].as_str().unwrap_or("")
}

/// A path in the temporary directory that no other test (or test process) uses.
pub fn temp_path(name: &str) -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("tale-testcluster-{}-{n}-{name}", std::process::id()))
}
