//! The API server with real clients (kube-rs) and raw HTTP: objects, errors, watches, lifecycle.

use std::time::Duration;

use crate::common::*;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use hyper::StatusCode;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, Secret};
use kube::api::{Api, DeleteParams, ListParams, PostParams, WatchEvent, WatchParams};
use tale_sandbox_testcluster::{
    ContainerExit, HarvestScenario, InitScenario, OutputStep, RESULT_MARKER, RunnerScenario,
    STARTED_MARKER, Scenario, Waiting,
};

fn api_code(error: &kube::Error) -> Option<(u16, String)> {
    match error {
        kube::Error::Api(status) => Some((status.code, status.reason.clone())),
        _ => None,
    }
}

#[tokio::test]
async fn pods_are_created_listed_with_selectors_and_pages_and_deleted_with_a_lingering_termination()
{
    let cluster = cluster_with(|c| c.termination_linger = Duration::from_millis(400)).await;
    let client = cluster.kube_client().await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    for i in 0..5 {
        pods.create(
            &PostParams::default(),
            &sandbox_pod(&format!("tale-sbx-{i}"), &format!("id-{i}")),
        )
        .await
        .unwrap();
    }
    let mut other = sandbox_pod("unrelated", "x");
    other.metadata.labels = Some([("app".to_string(), "web".to_string())].into());
    pods.create(&PostParams::default(), &other).await.unwrap();

    let selected = pods.list(&ListParams::default().labels("tale.sandbox=1")).await.unwrap();
    assert_eq!(selected.items.len(), 5);
    let first_page = pods.list(&ListParams::default().limit(2)).await.unwrap();
    assert_eq!(first_page.items.len(), 2);
    let token = first_page.metadata.continue_.clone().expect("a continue token");
    let second_page =
        pods.list(&ListParams::default().limit(10).continue_token(&token)).await.unwrap();
    assert_eq!(second_page.items.len(), 4);
    assert!(second_page.metadata.continue_.is_none());

    let duplicate =
        pods.create(&PostParams::default(), &sandbox_pod("tale-sbx-0", "id-0")).await.unwrap_err();
    assert_eq!(api_code(&duplicate), Some((409, "AlreadyExists".into())));

    pods.delete(
        "tale-sbx-0",
        &DeleteParams { grace_period_seconds: Some(0), ..DeleteParams::default() },
    )
    .await
    .unwrap();
    let terminating = pods.get("tale-sbx-0").await.unwrap();
    assert!(terminating.metadata.deletion_timestamp.is_some());
    assert_eq!(terminating.metadata.deletion_grace_period_seconds, Some(0));
    // The race of W16: recreating while the old pod is still terminating.
    let recreate =
        pods.create(&PostParams::default(), &sandbox_pod("tale-sbx-0", "id-0")).await.unwrap_err();
    assert_eq!(api_code(&recreate), Some((409, "AlreadyExists".into())));
    tokio::time::sleep(Duration::from_millis(600)).await;
    let gone = pods.get("tale-sbx-0").await.unwrap_err();
    assert_eq!(api_code(&gone), Some((404, "NotFound".into())));
    pods.create(&PostParams::default(), &sandbox_pod("tale-sbx-0", "id-0")).await.unwrap();
    assert_eq!(cluster.metrics().live_pods, 6);
}

#[tokio::test]
async fn a_watch_from_a_resource_version_sees_every_later_change_of_the_selected_pods() {
    let cluster = cluster_with(|_| {}).await;
    let client = cluster.kube_client().await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let listed = pods.list(&ListParams::default()).await.unwrap();
    let rv = listed.metadata.resource_version.unwrap();
    let mut events =
        pods.watch(&WatchParams::default().labels("tale.sandbox=1"), &rv).await.unwrap().boxed();
    run_pod(&cluster, "watched", Scenario::default()).await;
    let mut ignored = sandbox_pod("ignored", "y");
    ignored.metadata.labels = None;
    pods.create(&PostParams::default(), &ignored).await.unwrap();
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !seen
        .iter()
        .any(|(kind, phase): &(String, String)| kind == "MODIFIED" && phase == "Succeeded")
    {
        let event = tokio::time::timeout_at(deadline, events.try_next())
            .await
            .expect("events in time")
            .unwrap()
            .unwrap();
        let (kind, pod) = match event {
            WatchEvent::Added(p) => ("ADDED", p),
            WatchEvent::Modified(p) => ("MODIFIED", p),
            WatchEvent::Deleted(p) => ("DELETED", p),
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(pod.metadata.name.as_deref(), Some("watched"), "the selector filters");
        seen.push((kind.to_string(), pod.status.and_then(|s| s.phase).unwrap_or_default()));
    }
    assert_eq!(seen[0], ("ADDED".to_string(), "Pending".to_string()));
    pods.delete("watched", &DeleteParams::default()).await.unwrap();
    let mut deleted = false;
    while !deleted {
        let event = tokio::time::timeout_at(deadline, events.try_next())
            .await
            .expect("events in time")
            .unwrap()
            .unwrap();
        deleted = matches!(event, WatchEvent::Deleted(_));
    }
    // A resumed watch from the original version replays history.
    let replay = pods.watch(&WatchParams::default().labels("tale.sandbox=1"), &rv).await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(2), replay.boxed().try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(first, WatchEvent::Added(_)));
}

#[tokio::test]
async fn secrets_support_create_get_replace_list_and_delete() {
    let cluster = cluster_with(|_| {}).await;
    let client = cluster.kube_client().await.unwrap();
    let secrets: Api<Secret> = Api::namespaced(client, "default");
    let secret: Secret = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "tale-sbx-0123456789abcdef-spec", "labels": {"tale.sandbox": "1", "tale.sandbox/role": "exec-spec"}},
        "type": "Opaque",
        "stringData": {"spec.json": "{\"req\":{}}"}
    }))
    .unwrap();
    let created = secrets.create(&PostParams::default(), &secret).await.unwrap();
    assert_eq!(created.data.as_ref().unwrap()["spec.json"].0, b"{\"req\":{}}");
    assert!(created.string_data.is_none(), "stringData is folded into data");
    let duplicate = secrets.create(&PostParams::default(), &secret).await.unwrap_err();
    assert_eq!(api_code(&duplicate), Some((409, "AlreadyExists".into())));

    let mut replacement = secret.clone();
    replacement.string_data = Some([("spec.json".to_string(), "{\"req\":2}".to_string())].into());
    let replaced = secrets
        .replace("tale-sbx-0123456789abcdef-spec", &PostParams::default(), &replacement)
        .await
        .unwrap();
    assert_eq!(replaced.data.as_ref().unwrap()["spec.json"].0, b"{\"req\":2}");
    assert_eq!(replaced.metadata.uid, created.metadata.uid);
    let mut stale = replacement.clone();
    stale.metadata.resource_version = created.metadata.resource_version.clone();
    let conflict = secrets
        .replace("tale-sbx-0123456789abcdef-spec", &PostParams::default(), &stale)
        .await
        .unwrap_err();
    assert_eq!(api_code(&conflict), Some((409, "Conflict".into())));
    let missing = secrets
        .replace("nope", &PostParams::default(), &{
            let mut s = replacement.clone();
            s.metadata.name = Some("nope".into());
            s
        })
        .await
        .unwrap_err();
    assert_eq!(api_code(&missing), Some((404, "NotFound".into())));

    assert_eq!(
        secrets.list(&ListParams::default().labels("tale.sandbox=1")).await.unwrap().items.len(),
        1
    );
    assert_eq!(
        secrets.list(&ListParams::default().labels("tale.sandbox=2")).await.unwrap().items.len(),
        0
    );
    let deleted =
        secrets.delete("tale-sbx-0123456789abcdef-spec", &DeleteParams::default()).await.unwrap();
    assert!(deleted.is_right(), "a Status, not the object");
    let gone = secrets
        .delete("tale-sbx-0123456789abcdef-spec", &DeleteParams::default())
        .await
        .unwrap_err();
    assert_eq!(api_code(&gone), Some((404, "NotFound".into())));
    assert_eq!(cluster.metrics().live_secrets, 0);
}

#[tokio::test]
async fn persistent_volume_claims_can_be_created_and_read() {
    let cluster = cluster_with(|_| {}).await;
    let pvcs: Api<PersistentVolumeClaim> =
        Api::namespaced(cluster.kube_client().await.unwrap(), "default");
    let pvc: PersistentVolumeClaim = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "tale-pip-0123456789abcdef", "labels": {"tale.sandbox-cache": "1"}},
        "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "2Gi"}}}
    }))
    .unwrap();
    let missing = pvcs.get("tale-pip-0123456789abcdef").await.unwrap_err();
    assert_eq!(api_code(&missing), Some((404, "NotFound".into())));
    pvcs.create(&PostParams::default(), &pvc).await.unwrap();
    let read = pvcs.get("tale-pip-0123456789abcdef").await.unwrap();
    assert_eq!(read.status.unwrap().phase.as_deref(), Some("Bound"));
    let again = pvcs.create(&PostParams::default(), &pvc).await.unwrap_err();
    assert_eq!(api_code(&again), Some((409, "AlreadyExists".into())));
}

async fn expect_status(raw: Raw, code: u16, reason: &str) -> serde_json::Value {
    assert_eq!(raw.status.as_u16(), code, "{}", raw.text());
    let status = raw.json();
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["apiVersion"], "v1");
    assert_eq!(status["status"], "Failure");
    assert_eq!(status["code"], code);
    assert_eq!(status["reason"], reason, "{}", raw.text());
    status
}

#[tokio::test]
async fn bad_requests_get_status_errors() {
    let cluster = cluster_with(|_| {}).await;
    let port = &cluster;
    let pods = "/api/v1/namespaces/default/pods";
    expect_status(post_json(port, pods, "{not json").await, 400, "BadRequest").await;
    expect_status(post_json(port, pods, "[1, 2]").await, 400, "BadRequest").await;
    expect_status(post_json(port, pods, r#"{"metadata": {"name": "x"}}"#).await, 400, "BadRequest")
        .await;
    let secret_as_pod = r#"{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}}"#;
    let status = expect_status(post_json(port, pods, secret_as_pod).await, 400, "BadRequest").await;
    assert!(status["message"].as_str().unwrap().contains("cannot be handled as a Pod"));
    let wrong_type = r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": 5}}"#;
    expect_status(post_json(port, pods, wrong_type).await, 400, "BadRequest").await;
    let status =
        expect_status(post_json(port, pods, &pod_json("Bad_Name", "e")).await, 422, "Invalid")
            .await;
    assert_eq!(status["details"]["causes"][0]["field"], "metadata.name");
    assert_eq!(status["details"]["name"], "Bad_Name");
    let no_containers = r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}, "spec": {"containers": []}}"#;
    expect_status(post_json(port, pods, no_containers).await, 422, "Invalid").await;
    expect_status(
        post_json(port, "/api/v1/namespaces/Bad_NS/pods", &pod_json("ok", "e")).await,
        422,
        "Invalid",
    )
    .await;
    let other_ns =
        pod_json("ok", "e").replace(r#""name":"ok""#, r#""name":"ok","namespace":"other""#);
    expect_status(post_json(port, pods, &other_ns).await, 400, "BadRequest").await;
    expect_status(get(port, &format!("{pods}?labelSelector=a%20in%20b")).await, 400, "BadRequest")
        .await;
    expect_status(get(port, &format!("{pods}?limit=lots")).await, 400, "BadRequest").await;
    expect_status(get(port, &format!("{pods}?watch=sometimes")).await, 400, "BadRequest").await;
    expect_status(
        get(port, &format!("{pods}?fieldSelector=status.phase%3DRunning")).await,
        400,
        "BadRequest",
    )
    .await;
    expect_status(get(port, &format!("{pods}?continue=garbage!")).await, 400, "BadRequest").await;
    let dry_run = request(
        port,
        "POST",
        &format!("{pods}?dryRun=All"),
        &[("content-type", "application/json")],
        pod_json("dry", "e"),
    )
    .await
    .unwrap();
    expect_status(dry_run, 400, "BadRequest").await;
    expect_status(get(port, "/api/v1/namespaces/default/configmaps").await, 404, "NotFound").await;
    expect_status(
        request(port, "PATCH", &format!("{pods}/x"), &[], Bytes::new()).await.unwrap(),
        405,
        "MethodNotAllowed",
    )
    .await;
    let protobuf = request(
        port,
        "POST",
        pods,
        &[("content-type", "application/vnd.kubernetes.protobuf")],
        Bytes::from_static(b"k8s\0"),
    )
    .await
    .unwrap();
    expect_status(protobuf, 415, "UnsupportedMediaType").await;
    let huge = format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{{\"name\":\"{}\"}}}}",
        "a".repeat(4 << 20)
    );
    expect_status(post_json(port, pods, &huge).await, 413, "RequestEntityTooLarge").await;
    expect_status(
        request(port, "DELETE", &format!("{pods}/x"), &[], "{oops").await.unwrap(),
        400,
        "BadRequest",
    )
    .await;
    expect_status(
        request(port, "DELETE", &format!("{pods}/x"), &[], Bytes::new()).await.unwrap(),
        404,
        "NotFound",
    )
    .await;
    // The server is still healthy after all that.
    assert_eq!(get(port, "/healthz").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_configured_token_is_required_on_api_routes() {
    let cluster = cluster_with(|c| c.token = Some("s3cret".into())).await;
    let port = &cluster;
    expect_status(get(port, "/api/v1/namespaces/default/pods").await, 401, "Unauthorized").await;
    let wrong = request(
        port,
        "GET",
        "/api/v1/namespaces/default/pods",
        &[("authorization", "Bearer nope")],
        Bytes::new(),
    )
    .await
    .unwrap();
    expect_status(wrong, 401, "Unauthorized").await;
    let right = request(
        port,
        "GET",
        "/api/v1/namespaces/default/pods",
        &[("authorization", "Bearer s3cret")],
        Bytes::new(),
    )
    .await
    .unwrap();
    assert_eq!(right.status, StatusCode::OK);
    assert_eq!(
        get(port, "/version").await.status,
        StatusCode::UNAUTHORIZED,
        "anonymous requests are refused everywhere"
    );
    assert_eq!(
        get(port, "/sim/v1/metrics").await.status,
        StatusCode::OK,
        "but the control routes stay open"
    );
    // The kubeconfig carries the token, so kube-rs gets in.
    let pods: Api<Pod> = Api::namespaced(cluster.kube_client().await.unwrap(), "default");
    assert!(pods.list(&ListParams::default()).await.unwrap().items.is_empty());
    assert_eq!(cluster.metrics().requests_with("pods.list", 401), 2);
}

#[tokio::test]
async fn garbage_on_the_socket_does_not_hurt_the_server() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A TLS hello at a plain HTTP server, and plain HTTP at a TLS server.
    let cases: [(bool, &[u8]); 2] = [
        (true, b"\x16\x03\x01 not http at all\r\n\r\n"),
        (false, b"GET /version HTTP/1.1\r\nhost: x\r\n\r\n"),
    ];
    for (plain_http, garbage) in cases {
        let cluster = cluster_with(|c| c.plain_http = plain_http).await;
        let mut socket =
            tokio::net::TcpStream::connect(("127.0.0.1", cluster.port())).await.unwrap();
        socket.write_all(garbage).await.unwrap();
        let mut answer = Vec::new();
        let read =
            tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut answer)).await;
        assert!(
            read.is_ok(),
            "plain_http={plain_http}: the connection is closed, not left hanging"
        );
        assert_eq!(get(&cluster, "/version").await.status, StatusCode::OK);
    }
}

fn harvest_line(log: &str, marker: &str) -> Option<serde_json::Value> {
    let line = log.lines().rev().find(|l| l.starts_with(marker))?;
    serde_json::from_str(line[marker.len()..].trim()).ok()
}

#[tokio::test]
async fn a_successful_run_goes_through_the_phases_and_the_harvest_prints_its_protocol_lines() {
    let cluster = cluster_with(|_| {}).await;
    let scenario = Scenario {
        schedule_delay_ms: 50,
        runner: RunnerScenario {
            output: vec![OutputStep::text("PHASE: running\nhi\n")],
            user_exit_code: 3,
            stderr: "boom\n".into(),
            ..RunnerScenario::default()
        },
        ..Scenario::default()
    };
    run_pod(&cluster, "happy", scenario).await;
    let pending = get(&cluster, "/api/v1/namespaces/default/pods/happy").await.json();
    assert_eq!(phase(&pending), "Pending");
    assert!(pending["status"]["containerStatuses"].is_null(), "not scheduled yet");
    let pod = wait_for_pod(&cluster, "happy", "Succeeded", |p| phase(p) == "Succeeded").await;
    for name in ["stage", "runner", "harvest"] {
        let terminated = &container_state(&pod, name)["terminated"];
        assert_eq!(terminated["exitCode"], 0, "{name}");
        assert_eq!(terminated["reason"], "Completed");
        assert!(terminated["finishedAt"].as_str().unwrap().ends_with('Z'));
    }
    let log =
        get(&cluster, "/api/v1/namespaces/default/pods/happy/log?container=harvest").await.text();
    assert_eq!(
        harvest_line(&log, STARTED_MARKER).unwrap(),
        serde_json::json!({"exitCode": 3, "timedOut": false})
    );
    let result = harvest_line(&log, RESULT_MARKER).unwrap();
    assert_eq!(result["exitCode"], 3);
    assert_eq!(result["stderr"], "boom\n");
    assert_eq!(
        get(&cluster, "/api/v1/namespaces/default/pods/happy/log?container=runner").await.text(),
        "PHASE: running\nhi\n"
    );
}

#[tokio::test]
async fn a_killed_runner_terminates_with_its_reason_and_the_harvest_times_out() {
    let cluster = cluster_with(|_| {}).await;
    let scenario = Scenario {
        runner: RunnerScenario {
            output: vec![OutputStep::text("allocating\n")],
            killed: Some(ContainerExit { exit_code: 137, reason: Some("OOMKilled".into()) }),
            ..RunnerScenario::default()
        },
        harvest: HarvestScenario { runner_timeout_ms: 200, ..HarvestScenario::default() },
        ..Scenario::default()
    };
    run_pod(&cluster, "oom", scenario).await;
    let pod = wait_for_pod(&cluster, "oom", "Failed", |p| phase(p) == "Failed").await;
    assert_eq!(container_state(&pod, "runner")["terminated"]["exitCode"], 137);
    assert_eq!(container_state(&pod, "runner")["terminated"]["reason"], "OOMKilled");
    let log =
        get(&cluster, "/api/v1/namespaces/default/pods/oom/log?container=harvest").await.text();
    assert_eq!(
        harvest_line(&log, STARTED_MARKER).unwrap(),
        serde_json::json!({"exitCode": 124, "timedOut": true})
    );
}

#[tokio::test]
async fn image_errors_eviction_and_unschedulable_pods_look_like_the_real_thing() {
    let cluster = cluster_with(|_| {}).await;
    let image = Scenario {
        stage: InitScenario {
            waiting: Some(Waiting {
                reason: "ErrImagePull".into(),
                message: Some("pull access denied".into()),
            }),
            ..InitScenario::default()
        },
        ..Scenario::default()
    };
    run_pod(&cluster, "image", image).await;
    let config_error = Scenario {
        runner: RunnerScenario {
            waiting: Some(Waiting { reason: "CreateContainerConfigError".into(), message: None }),
            ..RunnerScenario::default()
        },
        ..Scenario::default()
    };
    run_pod(&cluster, "config", config_error).await;
    let evicted = Scenario {
        runner: RunnerScenario { hang: true, ..RunnerScenario::default() },
        evict_after_ms: Some(100),
        ..Scenario::default()
    };
    run_pod(&cluster, "evicted", evicted).await;
    run_pod(
        &cluster,
        "never",
        Scenario { unschedulable: Some("0/1 nodes are available".into()), ..Scenario::default() },
    )
    .await;

    let pod = wait_for_pod(&cluster, "image", "stage waiting", |p| {
        container_state(p, "stage")["waiting"]["reason"] == "ErrImagePull"
    })
    .await;
    assert_eq!(container_state(&pod, "stage")["waiting"]["reason"], "ErrImagePull");
    assert_eq!(container_state(&pod, "stage")["waiting"]["message"], "pull access denied");
    assert_eq!(phase(&pod), "Pending");
    let pod = wait_for_pod(&cluster, "config", "runner waiting", |p| {
        container_state(p, "runner")["waiting"]["reason"] == "CreateContainerConfigError"
    })
    .await;
    assert_eq!(phase(&pod), "Pending");
    let pod = wait_for_pod(&cluster, "evicted", "Failed", |p| phase(p) == "Failed").await;
    assert_eq!(pod["status"]["reason"], "Evicted");
    assert!(pod["status"]["message"].as_str().unwrap().contains("low on resource"));
    assert_eq!(container_state(&pod, "runner")["terminated"]["exitCode"], 137);
    let pod = wait_for_pod(&cluster, "never", "unschedulable", |p| {
        p["status"]["conditions"][0]["reason"] == "Unschedulable"
    })
    .await;
    assert_eq!(phase(&pod), "Pending");
    assert_eq!(pod["status"]["conditions"][0]["status"], "False");
    assert!(pod["spec"]["nodeName"].is_null());
}

#[tokio::test]
async fn deleting_a_running_pod_kills_its_containers_and_ends_follow_streams() {
    let cluster = cluster_with(|c| c.termination_linger = Duration::from_millis(200)).await;
    run_pod(
        &cluster,
        "doomed",
        Scenario {
            runner: RunnerScenario {
                output: vec![OutputStep::text("working\n")],
                hang: true,
                ..RunnerScenario::default()
            },
            ..Scenario::default()
        },
    )
    .await;
    wait_for_pod(&cluster, "doomed", "running", |p| phase(p) == "Running").await;
    let response = send(
        &cluster,
        "GET",
        "/api/v1/namespaces/default/pods/doomed/log?container=runner&follow=true",
        &[],
        Bytes::new(),
    )
    .await
    .unwrap();
    let mut body = response.into_body();
    let mut streamed = Vec::new();
    read_until(&mut body, &mut streamed, Duration::from_secs(5), |b| b.ends_with(b"working\n"))
        .await
        .unwrap();
    let deleted = request(
        &cluster,
        "DELETE",
        "/api/v1/namespaces/default/pods/doomed?gracePeriodSeconds=0",
        &[],
        Bytes::new(),
    )
    .await
    .unwrap();
    assert_eq!(deleted.status, StatusCode::OK);
    assert!(deleted.json()["metadata"]["deletionTimestamp"].is_string());
    let ended =
        read_until(&mut body, &mut streamed, Duration::from_secs(5), |_| false).await.unwrap();
    assert!(!ended, "the follow stream ends");
    let pod = get(&cluster, "/api/v1/namespaces/default/pods/doomed").await.json();
    assert_eq!(container_state(&pod, "runner")["terminated"]["exitCode"], 137);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        get(&cluster, "/api/v1/namespaces/default/pods/doomed").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(cluster.metrics().open_log_streams, 0);
}

#[tokio::test]
async fn discovery_answers_what_clients_ask() {
    let cluster = cluster_with(|_| {}).await;
    let version = get(&cluster, "/version").await.json();
    assert_eq!(version["major"], "1");
    let api = get(&cluster, "/api").await.json();
    assert_eq!(api["kind"], "APIVersions");
    assert_eq!(api["versions"][0], "v1");
    let resources = get(&cluster, "/api/v1").await.json();
    let names: Vec<&str> = resources["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    for wanted in ["pods", "pods/log", "secrets", "persistentvolumeclaims", "namespaces"] {
        assert!(names.contains(&wanted), "{wanted} in {names:?}");
    }
    assert_eq!(get(&cluster, "/apis").await.json()["kind"], "APIGroupList");
    let client = cluster.kube_client().await.unwrap();
    let info = client.apiserver_version().await.unwrap();
    assert_eq!(info.major, "1");
}
