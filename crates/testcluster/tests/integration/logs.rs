//! The log endpoint behaves like the kubelet's (shared/spec/kubelet-logs.md), over real HTTP.

use std::time::Duration;

use crate::common::*;
use bytes::Bytes;
use hyper::StatusCode;
use tale_sandbox_testcluster::kubelet_logs::Timestamp;
use tale_sandbox_testcluster::{OutputStep, RepeatStep, RunnerScenario, Scenario, Waiting};

const NS: &str = "default";

fn log_path(pod: &str, query: &str) -> String {
    format!("/api/v1/namespaces/{NS}/pods/{pod}/log?{query}")
}

fn lines(prefix: &str, count: usize) -> String {
    (0..count).map(|i| format!("{prefix}-{i:05}\n")).collect()
}

fn release_scenario(first: &str, second: &str) -> Scenario {
    Scenario {
        runner: RunnerScenario {
            output: vec![
                // Started by the test once its follow stream is open, so the first rotation cannot
                // come before it (a follow stream serves only the current file).
                OutputStep::WaitRelease { name: "start".into() },
                OutputStep::text(first),
                OutputStep::WaitRelease { name: "second".into() },
                OutputStep::text(second),
                OutputStep::WaitRelease { name: "exit".into() },
            ],
            ..RunnerScenario::default()
        },
        ..Scenario::default()
    }
}

async fn wait_for_rotation(cluster: &tale_sandbox_testcluster::TestCluster, pod: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while cluster.log_info(NS, pod, "runner").unwrap().generation == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the periodic check never rotated the log");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_follow_stream_continues_across_a_rotation_at_the_size_threshold() {
    let cluster = cluster_with(|c| {
        c.max_log_size = 4096;
        c.rotation_period = Duration::from_millis(20);
    })
    .await;
    let (first, second) = (lines("first", 200), lines("second", 50));
    run_pod(&cluster, "follow-new", release_scenario(&first, &second)).await;
    wait_for_pod(&cluster, "follow-new", "runner running", |p| {
        !container_state(p, "runner")["running"].is_null()
    })
    .await;

    let response = send(
        &cluster,
        "GET",
        &log_path("follow-new", "container=runner&follow=true"),
        &[],
        Bytes::new(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    cluster.release(NS, "follow-new", "start").unwrap();
    let mut body = response.into_body();
    let mut streamed = Vec::new();
    read_until(&mut body, &mut streamed, Duration::from_secs(5), |b| b.len() >= first.len())
        .await
        .unwrap();
    assert_eq!(streamed, first.as_bytes());

    wait_for_rotation(&cluster, "follow-new").await;
    cluster.release(NS, "follow-new", "second").unwrap();
    let expected = format!("{first}{second}");
    read_until(&mut body, &mut streamed, Duration::from_secs(5), |b| b.len() >= expected.len())
        .await
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&streamed), expected);

    // A plain read now serves only the new file.
    let plain = get(&cluster, &log_path("follow-new", "container=runner")).await;
    assert_eq!(plain.text(), second);

    cluster.release(NS, "follow-new", "exit").unwrap();
    let ended =
        read_until(&mut body, &mut streamed, Duration::from_secs(5), |_| false).await.unwrap();
    assert!(!ended, "the stream ends when the container exits");
    assert_eq!(streamed, cluster.true_stream(NS, "follow-new", "runner").unwrap());
    assert!(cluster.metrics().rotations >= 1);
}

#[tokio::test]
async fn with_the_old_kubelet_switch_a_follow_stream_gets_nothing_after_rotation_and_ends_at_exit()
{
    let cluster = cluster_with(|c| {
        c.max_log_size = 4096;
        c.rotation_period = Duration::from_millis(20);
        c.follow_continues_after_rotation = false;
    })
    .await;
    let (first, second) = (lines("first", 200), lines("second", 50));
    run_pod(&cluster, "follow-old", release_scenario(&first, &second)).await;
    wait_for_pod(&cluster, "follow-old", "runner running", |p| {
        !container_state(p, "runner")["running"].is_null()
    })
    .await;
    let response = send(
        &cluster,
        "GET",
        &log_path("follow-old", "container=runner&follow=true"),
        &[],
        Bytes::new(),
    )
    .await
    .unwrap();
    cluster.release(NS, "follow-old", "start").unwrap();
    let mut body = response.into_body();
    let mut streamed = Vec::new();
    read_until(&mut body, &mut streamed, Duration::from_secs(5), |b| b.len() >= first.len())
        .await
        .unwrap();
    wait_for_rotation(&cluster, "follow-old").await;
    cluster.release(NS, "follow-old", "second").unwrap();
    // The new file fills up, the stream stays silent.
    let result =
        read_until(&mut body, &mut streamed, Duration::from_millis(300), |b| b.len() > first.len())
            .await;
    assert!(result.is_err(), "no bytes after the rotation: {result:?}");
    assert_eq!(get(&cluster, &log_path("follow-old", "container=runner")).await.text(), second);
    cluster.release(NS, "follow-old", "exit").unwrap();
    let ended =
        read_until(&mut body, &mut streamed, Duration::from_secs(5), |_| false).await.unwrap();
    assert!(!ended);
    assert_eq!(String::from_utf8_lossy(&streamed), first);
}

/// Splits a `timestamps=true` body into (timestamp, rest-of-line) pairs.
fn timestamped_lines(body: &str) -> Vec<(Timestamp, String)> {
    body.split_inclusive('\n')
        .map(|line| {
            let (ts, rest) = line.split_once(' ').expect("a timestamp prefix");
            assert_eq!(ts.len(), 30, "nine fraction digits: {ts}");
            (Timestamp::parse_rfc3339(ts).expect("RFC 3339"), rest.to_string())
        })
        .collect()
}

#[tokio::test]
async fn a_40_kib_line_is_stored_as_partial_records_and_served_as_one_line_with_one_timestamp() {
    let cluster = cluster_with(|_| {}).await;
    let scenario = Scenario {
        runner: RunnerScenario {
            output: vec![
                OutputStep::Repeat(RepeatStep {
                    pattern: "abcdefghij".into(),
                    total_bytes: 40 * 1024,
                    chunk_bytes: 5000,
                    ..RepeatStep::default()
                }),
                OutputStep::text("\nafter\n"),
            ],
            ..RunnerScenario::default()
        },
        ..Scenario::default()
    };
    let expected_line: String = "abcdefghij".repeat(4097)[..40 * 1024].to_string();
    run_pod(&cluster, "long-line", scenario).await;
    wait_for_pod(&cluster, "long-line", "Succeeded", |p| phase(p) == "Succeeded").await;
    let info = cluster.log_info(NS, "long-line", "runner").unwrap();
    assert!(info.current_records >= 4, "the line is split into several CRI records: {info:?}");
    // The exit time, with nanoseconds, at or after the last record.
    assert!(info.exited);
    let exited_at = info.exited_at.as_deref().expect("exit time of an exited container");
    assert_eq!(exited_at.len(), "2024-05-01T10:20:30.123456789Z".len(), "{exited_at}");
    let served = get(&cluster, &log_path("long-line", "container=runner&timestamps=true")).await;
    let parsed = timestamped_lines(&served.text());
    assert_eq!(parsed.len(), 2);
    assert_eq!(parsed[0].1, format!("{expected_line}\n"));
    assert_eq!(parsed[1].1, "after\n");
}

#[tokio::test]
async fn limit_bytes_cuts_the_output_anywhere_including_timestamps_and_characters() {
    let cluster = cluster_with(|_| {}).await;
    run_pod(
        &cluster,
        "limits",
        Scenario::runner_output(vec![OutputStep::text("héllo €uro\nsecond line\n")], 0),
    )
    .await;
    wait_for_pod(&cluster, "limits", "Succeeded", |p| phase(p) == "Succeeded").await;
    let full = get(&cluster, &log_path("limits", "container=runner&timestamps=true")).await.body;
    assert_eq!(full.len(), 2 * 31 + "héllo €uro\nsecond line\n".len());
    for limit in [1usize, 12, 31, 33, 42, 43, full.len() - 1, full.len(), full.len() + 10] {
        let cut = get(
            &cluster,
            &log_path("limits", &format!("container=runner&timestamps=true&limitBytes={limit}")),
        )
        .await;
        assert_eq!(cut.status, StatusCode::OK);
        assert_eq!(cut.body, full[..limit.min(full.len())], "limitBytes={limit}");
    }
    // Byte 33 ends inside `é` (31-byte prefix, `h`, first byte of `é`).
    let cut = get(&cluster, &log_path("limits", "container=runner&limitBytes=2")).await;
    assert_eq!(cut.body.as_ref(), &[b'h', 0xC3]);
}

#[tokio::test]
async fn since_time_has_second_precision_and_can_start_with_the_tail_of_a_line() {
    let cluster = cluster_with(|_| {}).await;
    let scenario = Scenario::runner_output(
        vec![
            OutputStep::text("early\nhead-"),
            OutputStep::Sleep { ms: 1100 },
            OutputStep::text("tail\nlate\n"),
        ],
        0,
    );
    run_pod(&cluster, "since", scenario).await;
    wait_for_pod(&cluster, "since", "Succeeded", |p| phase(p) == "Succeeded").await;
    let full = get(&cluster, &log_path("since", "container=runner&timestamps=true")).await.text();
    let parsed = timestamped_lines(&full);
    assert_eq!(
        parsed.iter().map(|(_, l)| l.as_str()).collect::<Vec<_>>(),
        ["early\n", "head-tail\n", "late\n"]
    );
    let late = parsed[2].0;
    let since = late.floor_to_second().to_rfc3339_nanos();
    let since_second = format!("{}Z", &since[..19]);
    let served = get(
        &cluster,
        &log_path("since", &format!("container=runner&timestamps=true&sinceTime={since_second}")),
    )
    .await;
    assert_eq!(served.text(), format!("tail\n{} late\n", late.to_rfc3339_nanos()));
    // A sub-second sinceTime is floored: the same response.
    let precise = late.to_rfc3339_nanos();
    let served = get(
        &cluster,
        &log_path("since", &format!("container=runner&timestamps=true&sinceTime={precise}")),
    )
    .await;
    assert_eq!(served.text(), format!("tail\n{} late\n", late.to_rfc3339_nanos()));
    // sinceSeconds far back returns everything.
    assert_eq!(
        get(&cluster, &log_path("since", "container=runner&timestamps=true&sinceSeconds=3600"))
            .await
            .text(),
        full
    );
}

#[tokio::test]
async fn tail_lines_counts_records_and_is_applied_before_limit_bytes() {
    let cluster = cluster_with(|c| c.log.max_record_bytes = 4).await;
    run_pod(
        &cluster,
        "tail",
        Scenario::runner_output(vec![OutputStep::text("one\ntwo\nthree!\n")], 0),
    )
    .await;
    wait_for_pod(&cluster, "tail", "Succeeded", |p| phase(p) == "Succeeded").await;
    let read = |q: &'static str| {
        let port = &cluster;
        async move { get(port, &log_path("tail", &format!("container=runner&{q}"))).await.text() }
    };
    assert_eq!(read("tailLines=2").await, "three!\n");
    assert_eq!(read("tailLines=1").await, "e!\n");
    assert_eq!(read("tailLines=3&limitBytes=5").await, "two\nt");
    assert_eq!(read("tailLines=0").await, "");
}

#[tokio::test]
async fn log_errors_are_statuses_like_the_apiservers() {
    let cluster = cluster_with(|_| {}).await;
    let stuck = Scenario {
        runner: RunnerScenario {
            waiting: Some(Waiting { reason: "ImagePullBackOff".into(), message: None }),
            ..RunnerScenario::default()
        },
        ..Scenario::default()
    };
    run_pod(&cluster, "stuck", stuck).await;
    wait_for_pod(&cluster, "stuck", "runner waiting", |p| {
        container_state(p, "runner")["waiting"]["reason"] == "ImagePullBackOff"
    })
    .await;
    let port = &cluster;
    let check = |path: String, code: u16, reason: &'static str, text: &'static str| async move {
        let r = get(port, &path).await;
        assert_eq!(r.status.as_u16(), code, "{path}: {}", r.text());
        let status = r.json();
        assert_eq!(status["kind"], "Status");
        assert_eq!(status["reason"], reason, "{path}");
        assert!(
            status["message"].as_str().unwrap().contains(text),
            "{path}: {}",
            status["message"]
        );
    };
    check(
        log_path("stuck", "container=runner"),
        400,
        "BadRequest",
        "is waiting to start: ImagePullBackOff",
    )
    .await;
    check(log_path("missing", "container=runner"), 404, "NotFound", "pods \"missing\" not found")
        .await;
    check(log_path("stuck", "container=nope"), 400, "BadRequest", "container nope is not valid")
        .await;
    check(log_path("stuck", ""), 400, "BadRequest", "a container name must be specified").await;
    check(
        log_path("stuck", "container=stage&previous=true"),
        400,
        "BadRequest",
        "previous terminated container",
    )
    .await;
    check(log_path("stuck", "container=stage&follow=maybe"), 400, "BadRequest", "follow").await;
    check(log_path("stuck", "container=stage&tailLines=-1"), 422, "Invalid", "tailLines").await;
    check(log_path("stuck", "container=stage&limitBytes=0"), 422, "Invalid", "limitBytes").await;
    check(log_path("stuck", "container=stage&limitBytes=ten"), 400, "BadRequest", "limitBytes")
        .await;
    check(log_path("stuck", "container=stage&sinceTime=yesterday"), 400, "BadRequest", "sinceTime")
        .await;
    check(
        log_path("stuck", "container=stage&sinceSeconds=5&sinceTime=2024-01-01T00:00:00Z"),
        422,
        "Invalid",
        "at most one",
    )
    .await;
    // The init container did run: its (empty) log is served.
    assert_eq!(get(port, &log_path("stuck", "container=stage")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_stage_failure_is_visible_in_the_status_and_its_log_tail() {
    let cluster = cluster_with(|_| {}).await;
    let failing = Scenario {
        stage: tale_sandbox_testcluster::InitScenario {
            output: vec![OutputStep::text(
                "downloading\nstep 2\nstep 3\nstep 4\nstep 5\nerror: download of code.py failed: 403\n",
            )],
            exit_code: 1,
            ..Default::default()
        },
        ..Scenario::default()
    };
    run_pod(&cluster, "stage-fails", failing).await;
    let pod = wait_for_pod(&cluster, "stage-fails", "Failed", |p| phase(p) == "Failed").await;
    let stage = container_state(&pod, "stage");
    assert_eq!(stage["terminated"]["exitCode"], 1);
    assert_eq!(stage["terminated"]["reason"], "Error");
    assert!(stage["terminated"]["finishedAt"].as_str().is_some());
    assert_eq!(container_state(&pod, "runner")["waiting"]["reason"], "PodInitializing");
    let tail =
        get(&cluster, &log_path("stage-fails", "container=stage&tailLines=5&limitBytes=4096"))
            .await;
    assert_eq!(
        tail.text(),
        "step 2\nstep 3\nstep 4\nstep 5\nerror: download of code.py failed: 403\n"
    );
    // The runner never started: its log is refused.
    assert_eq!(
        get(&cluster, &log_path("stage-fails", "container=runner")).await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn the_reported_rotation_loss_can_be_switched_on() {
    // Single-threaded test runtime: the writes and the rotation below happen with no stream activity
    // in between, so the stream has not read "lost" when its file rotates.
    let cluster = cluster_with(|c| c.follow_loses_unread_on_rotation = true).await;
    let scenario = Scenario {
        runner: RunnerScenario {
            output: vec![
                OutputStep::text("seen\n"),
                OutputStep::WaitRelease { name: "exit".into() },
            ],
            ..RunnerScenario::default()
        },
        ..Scenario::default()
    };
    run_pod(&cluster, "lossy", scenario).await;
    wait_for_pod(&cluster, "lossy", "runner running", |p| {
        !container_state(p, "runner")["running"].is_null()
    })
    .await;
    let response = send(
        &cluster,
        "GET",
        &log_path("lossy", "container=runner&follow=true"),
        &[],
        Bytes::new(),
    )
    .await
    .unwrap();
    let mut body = response.into_body();
    let mut streamed = Vec::new();
    read_until(&mut body, &mut streamed, Duration::from_secs(5), |b| b == b"seen\n").await.unwrap();
    let stdout = tale_sandbox_testcluster::kubelet_logs::Stream::Stdout;
    cluster.write_log(NS, "lossy", "runner", stdout, b"lost\n").unwrap();
    cluster.rotate_log(NS, "lossy", "runner").unwrap();
    cluster.write_log(NS, "lossy", "runner", stdout, b"after\n").unwrap();
    cluster.release(NS, "lossy", "exit").unwrap();
    read_until(&mut body, &mut streamed, Duration::from_secs(5), |_| false).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&streamed), "seen\nafter\n");
    assert_eq!(cluster.true_stream(NS, "lossy", "runner").unwrap(), b"seen\nlost\nafter\n");
}

/// The cluster's account of what no read served: a follow stream ended cleanly at a line end by a
/// fault, more written, then a rotation before any other read: exactly those bytes are unserved,
/// and a read of the rotated file's records before the rotation (here: a second stream) serves
/// them.
/// Runs `pod` with `release_scenario(first, second)`, releases both writes, and waits until the
/// runner has written them.
async fn write_both(
    cluster: &tale_sandbox_testcluster::TestCluster,
    pod: &str,
    first: &str,
    second: &str,
) {
    run_pod(cluster, pod, release_scenario(first, second)).await;
    wait_for_pod(cluster, pod, "runner running", |p| {
        !container_state(p, "runner")["running"].is_null()
    })
    .await;
    cluster.release(NS, pod, "start").unwrap();
    cluster.release(NS, pod, "second").unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let full = format!("{first}{second}");
    while cluster.true_stream(NS, pod, "runner").unwrap() != full.as_bytes() {
        assert!(tokio::time::Instant::now() < deadline, "the runner never wrote");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn records_no_read_served_before_their_file_rotated_are_counted() {
    use tale_sandbox_testcluster::{Fault, FaultPlan, FaultRule};
    let cluster = cluster_with(|c| c.rotation_period = Duration::from_secs(3600)).await;
    let (first, second) = (lines("first", 20), lines("second", 3));
    write_both(&cluster, "unserved", &first, &second).await;
    // The stream is ended cleanly after the first lines: the second ones are not served.
    cluster
        .set_faults(FaultPlan {
            seed: 0,
            rules: vec![FaultRule {
                route: "pods.log".into(),
                name: None,
                container: Some("runner".into()),
                probability: None,
                on_requests: None,
                max_times: Some(1),
                fault: Fault::CutBody { after_bytes: first.len() as u64, abrupt: false },
            }],
        })
        .unwrap();
    let follow = log_path("unserved", "container=runner&follow=true");
    assert_eq!(get(&cluster, &follow).await.text(), first);
    let info = cluster.log_info(NS, "unserved", "runner").unwrap();
    assert_eq!((info.unserved_records, info.unserved_bytes), (0, 0), "nothing rotated yet");
    cluster.rotate_log(NS, "unserved", "runner").unwrap();
    let info = cluster.log_info(NS, "unserved", "runner").unwrap();
    assert_eq!((info.unserved_records, info.unserved_bytes), (3, second.len() as u64));

    // Another pod whose log is read to its end before the rotation: nothing is unserved.
    write_both(&cluster, "served", &first, &second).await;
    let path = log_path("served", "container=runner");
    assert_eq!(get(&cluster, &path).await.text(), format!("{first}{second}"));
    cluster.rotate_log(NS, "served", "runner").unwrap();
    let info = cluster.log_info(NS, "served", "runner").unwrap();
    assert_eq!((info.unserved_records, info.unserved_bytes), (0, 0));
}

/// The request log of the log route: every request of a pod, with its query, status, faults,
/// bytes sent and rendered, where in the log it read and how it ended; the pod's rotations and
/// exits; the same over HTTP (`/sim/v1/.../log-requests`).
#[tokio::test]
async fn the_log_route_keeps_a_request_log_per_pod() {
    use tale_sandbox_testcluster::{Fault, FaultPlan, FaultRule, LogRequestEnd};
    let cluster = cluster_with(|c| c.rotation_period = Duration::from_secs(3600)).await;
    let (first, second) = (lines("first", 20), lines("second", 3));
    write_both(&cluster, "logged", &first, &second).await;
    let rule = |on: u64, fault: Fault| FaultRule {
        route: "pods.log".into(),
        name: None,
        container: None,
        probability: None,
        on_requests: Some(vec![on]),
        max_times: None,
        fault,
    };
    cluster
        .set_faults(FaultPlan {
            seed: 0,
            rules: vec![
                rule(1, Fault::CutBody { after_bytes: first.len() as u64, abrupt: false }),
                rule(2, Fault::Status { code: 500 }),
            ],
        })
        .unwrap();
    let follow = log_path("logged", "container=runner&follow=true");
    assert_eq!(get(&cluster, &follow).await.text(), first);
    let plain = log_path("logged", "container=runner&timestamps=true");
    assert_eq!(get(&cluster, &plain).await.status, StatusCode::INTERNAL_SERVER_ERROR);
    let body = get(&cluster, &plain).await.text();
    assert!(body.ends_with(" second-00002\n"), "{body}");
    cluster.rotate_log(NS, "logged", "runner").unwrap();

    let log = cluster.log_requests(NS, "logged");
    let requests = &log.requests;
    assert_eq!(requests.len(), 3, "{log:#?}");
    let (cut, refused, read) = (&requests[0], &requests[1], &requests[2]);
    assert!(cut.seq < refused.seq && refused.seq < read.seq);
    assert_eq!(cut.query, "container=runner&follow=true");
    assert_eq!(cut.container.as_deref(), Some("runner"));
    assert_eq!(cut.faults, vec![Fault::CutBody { after_bytes: first.len() as u64, abrupt: false }]);
    assert_eq!(
        (cut.status, cut.end, cut.bytes_sent),
        (200, LogRequestEnd::Cut, first.len() as u64)
    );
    assert!(cut.bytes_rendered >= cut.bytes_sent);
    assert_eq!(cut.start, Some((0, 0)));
    assert!(cut.ended_at_ms >= cut.started_at_ms);
    assert_eq!((refused.status, refused.end, refused.bytes_sent), (500, LogRequestEnd::Refused, 0));
    assert_eq!(refused.faults, vec![Fault::Status { code: 500 }]);
    assert_eq!((read.status, read.end), (200, LogRequestEnd::Eof));
    assert_eq!(read.bytes_sent, body.len() as u64);
    assert_eq!(read.bytes_rendered, read.bytes_sent);
    assert_eq!(read.file_at_start, Some((0, 23)));
    assert_eq!(read.end_position, Some((0, 23)));
    assert_eq!(log.rotations.len(), 1);
    assert_eq!((log.rotations[0].container.as_str(), log.rotations[0].generation), ("runner", 0));
    assert_eq!(log.rotations[0].records, 23);

    // Over HTTP, with the same fields.
    let json =
        get(&cluster, &format!("/sim/v1/namespaces/{NS}/pods/logged/log-requests")).await.json();
    assert_eq!(json["requests"][0]["end"], "cut");
    assert_eq!(json["requests"][0]["bytesSent"], first.len() as u64);
    assert_eq!(json["requests"][1]["status"], 500);
    assert_eq!(json["requests"][2]["end"], "eof");
    assert_eq!(json["rotations"][0]["generation"], 0);
    // A pod never read has an empty log.
    let none = get(&cluster, &format!("/sim/v1/namespaces/{NS}/pods/nobody/log-requests")).await;
    assert_eq!(none.json()["requests"], serde_json::json!([]));
}
