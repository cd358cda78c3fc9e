//! Seeded fault injection per route, and the metrics that count it all.

use std::time::{Duration, Instant};

use crate::common::*;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::StatusCode;
use tale_sandbox_testcluster::{Fault, FaultPlan, FaultRule, OutputStep, Scenario};

fn rule(route: &str, fault: Fault) -> FaultRule {
    FaultRule {
        route: route.into(),
        name: None,
        container: None,
        probability: None,
        on_requests: None,
        max_times: None,
        fault,
    }
}

async fn finished_pod(name: &str, text: &str) -> tale_sandbox_testcluster::TestCluster {
    let cluster = cluster_with(|_| {}).await;
    run_pod(&cluster, name, Scenario::runner_output(vec![OutputStep::text(text)], 0)).await;
    wait_for_pod(&cluster, name, "Succeeded", |p| phase(p) == "Succeeded").await;
    cluster
}

#[tokio::test]
async fn scheduled_status_and_429_faults_hit_exactly_the_listed_requests() {
    let cluster = finished_pod("p", "x\n").await;
    let plan = FaultPlan {
        seed: 1,
        rules: vec![
            FaultRule {
                on_requests: Some(vec![2]),
                ..rule("pods.get", Fault::Status { code: 503 })
            },
            FaultRule {
                on_requests: Some(vec![3]),
                ..rule("pods.get", Fault::TooManyRequests { retry_after_seconds: 7 })
            },
        ],
    };
    cluster.set_faults(plan).unwrap();
    let path = "/api/v1/namespaces/default/pods/p";
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(get(&cluster, path).await);
    }
    assert_eq!(
        seen.iter().map(|r| r.status.as_u16()).collect::<Vec<_>>(),
        vec![200, 503, 429, 200]
    );
    assert_eq!(seen[1].json()["reason"], "ServiceUnavailable");
    assert_eq!(seen[2].headers["retry-after"], "7");
    assert_eq!(seen[2].json()["details"]["retryAfterSeconds"], 7);
    let metrics = cluster.metrics();
    assert_eq!(metrics.requests_with("pods.get", 503), 1);
    assert_eq!(metrics.requests_with("pods.get", 429), 1);
    assert_eq!(metrics.faults.iter().map(|f| f.count).sum::<u64>(), 2);
}

#[tokio::test]
async fn probability_faults_are_reproducible_from_the_seed() {
    let cluster = finished_pod("p", "x\n").await;
    let plan = FaultPlan {
        seed: 42,
        rules: vec![FaultRule { probability: Some(0.3), ..rule("*", Fault::Status { code: 500 }) }],
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        cluster.set_faults(plan.clone()).unwrap();
        let mut codes = Vec::new();
        for _ in 0..40 {
            codes.push(get(&cluster, "/api/v1/namespaces/default/pods/p").await.status.as_u16());
        }
        runs.push(codes);
    }
    assert_eq!(runs[0], runs[1]);
    let failures = runs[0].iter().filter(|&&c| c == 500).count();
    assert!((3..=25).contains(&failures), "{failures} of 40 at p=0.3");
    // Control routes are never disturbed.
    assert_eq!(get(&cluster, "/sim/v1/metrics").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_reset_closes_the_connection_without_a_response() {
    let cluster = finished_pod("p", "x\n").await;
    cluster
        .set_faults(FaultPlan {
            seed: 0,
            rules: vec![FaultRule { max_times: Some(1), ..rule("pods.log", Fault::Reset) }],
        })
        .unwrap();
    let path = "/api/v1/namespaces/default/pods/p/log?container=runner";
    let error = request(&cluster, "GET", path, &[], Bytes::new()).await.err().expect("no response");
    assert!(!error.is_empty());
    assert_eq!(get(&cluster, path).await.text(), "x\n", "only the first request is reset");
    assert_eq!(cluster.metrics().requests_with("pods.log", 0), 1);
}

#[tokio::test]
async fn a_log_body_can_be_cut_cleanly_or_abruptly_after_n_bytes() {
    let text: String = (0..100).map(|i| format!("line {i}\n")).collect();
    let cluster = finished_pod("p", &text).await;
    let path = "/api/v1/namespaces/default/pods/p/log?container=runner";
    let cut = |abrupt| FaultPlan {
        seed: 0,
        rules: vec![FaultRule {
            container: Some("runner".into()),
            max_times: Some(1),
            ..rule("pods.log", Fault::CutBody { after_bytes: 25, abrupt })
        }],
    };
    cluster.set_faults(cut(false)).unwrap();
    let clean = get(&cluster, path).await;
    assert_eq!(clean.status, StatusCode::OK);
    assert_eq!(clean.text(), text[..25]);
    cluster.set_faults(cut(true)).unwrap();
    let response = send(&cluster, "GET", path, &[], Bytes::new()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let mut received = Vec::new();
    let outcome = read_until(&mut body, &mut received, Duration::from_secs(5), |_| false).await;
    assert!(outcome.is_err(), "an abrupt cut is an incomplete body: {outcome:?}");
    assert_eq!(received, text.as_bytes()[..25]);
    assert_eq!(get(&cluster, path).await.text(), text);
}

#[tokio::test]
async fn stall_and_slow_faults_delay_the_response() {
    let text = "y".repeat(2000);
    let cluster = finished_pod("p", &text).await;
    let path = "/api/v1/namespaces/default/pods/p/log?container=runner";
    cluster
        .set_faults(FaultPlan {
            seed: 0,
            rules: vec![FaultRule {
                max_times: Some(1),
                ..rule("pods.log", Fault::Stall { ms: 300 })
            }],
        })
        .unwrap();
    let started = Instant::now();
    assert_eq!(get(&cluster, path).await.text(), text);
    assert!(started.elapsed() >= Duration::from_millis(300));
    cluster
        .set_faults(FaultPlan {
            seed: 0,
            rules: vec![rule("pods.log", Fault::Slow { bytes_per_second: 4000 })],
        })
        .unwrap();
    let started = Instant::now();
    let response = send(&cluster, "GET", path, &[], Bytes::new()).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body.len(), 2000);
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "2000 bytes at 4000 B/s take about half a second"
    );
}

#[tokio::test]
async fn metrics_count_log_bytes_per_container_and_live_objects() {
    let cluster = finished_pod("p", "hello\n").await;
    for _ in 0..3 {
        get(&cluster, "/api/v1/namespaces/default/pods/p/log?container=runner").await;
    }
    get(&cluster, "/api/v1/namespaces/default/pods/p/log?container=runner&timestamps=true").await;
    let metrics = cluster.metrics();
    assert_eq!(metrics.log_bytes_of("p", "runner"), 3 * 6 + 31 + 6);
    assert_eq!(metrics.requests_with("pods.log", 200), 4);
    assert_eq!(metrics.live_pods, 1);
    let over_http = get(&cluster, "/sim/v1/metrics").await.json();
    assert_eq!(over_http["livePods"], 1);
    assert!(
        over_http["logBytes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["container"] == "runner" && l["bytes"] == 55)
    );
}

#[tokio::test]
async fn control_endpoints_validate_what_they_are_given() {
    let cluster = cluster_with(|_| {}).await;
    let port = &cluster;
    let bad_scenario = request(
        port,
        "PUT",
        "/sim/v1/scenarios/x",
        &[],
        r#"{"runner": {"output": [{"write": {"base64": "%%"}}]}}"#,
    )
    .await
    .unwrap();
    assert_eq!(bad_scenario.status, StatusCode::BAD_REQUEST);
    let unknown_field =
        request(port, "PUT", "/sim/v1/scenarios/x", &[], r#"{"runnr": {}}"#).await.unwrap();
    assert_eq!(unknown_field.status, StatusCode::BAD_REQUEST);
    let bad_faults = request(
        port,
        "PUT",
        "/sim/v1/faults",
        &[],
        r#"{"rules": [{"route": "*", "probability": 3, "fault": "reset"}]}"#,
    )
    .await
    .unwrap();
    assert_eq!(bad_faults.status, StatusCode::BAD_REQUEST);
    let good = request(
        port,
        "PUT",
        "/sim/v1/scenarios/x",
        &[],
        r#"{"runner": {"output": [{"write": {"text": "hi\n"}}]}}"#,
    )
    .await
    .unwrap();
    assert_eq!(good.status, StatusCode::NO_CONTENT);
    assert_eq!(
        get(port, "/sim/v1/scenarios/x").await.json()["runner"]["output"][0]["write"]["text"],
        "hi\n"
    );
    assert_eq!(
        request(
            port,
            "POST",
            "/sim/v1/namespaces/default/pods/none/containers/runner/rotate",
            &[],
            Bytes::new()
        )
        .await
        .unwrap()
        .status,
        StatusCode::NOT_FOUND
    );
}
