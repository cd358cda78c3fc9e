//! `meta.k8s.io/v1` Tables, which kubectl asks for to print `get` output: the columns kubectl shows
//! for pods and secrets, with the STATUS text and ages computed as kubectl computes them.

use k8s_openapi::api::core::v1::{ContainerStatus, Pod, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde_json::{Value, json};

use crate::util::api_now;

/// Seconds since `time`, for ages.
fn age_seconds(time: Option<&Time>) -> i64 {
    let now = api_now().0;
    time.map(|t| now.as_second() - t.0.as_second()).unwrap_or(0).max(0)
}

fn column(name: &str, kind: &str, format: &str, description: &str) -> Value {
    json!({"name": name, "type": kind, "format": format, "description": description, "priority": 0})
}

/// kubectl's short duration format: `45s`, `3m12s`, `2h5m`, `4d`.
fn human_age(seconds: i64) -> String {
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 600 => format!("{}m{}s", s / 60, s % 60),
        s if s < 3 * 3600 => format!("{}m", s / 60),
        s if s < 8 * 3600 => format!("{}h{}m", s / 3600, (s % 3600) / 60),
        s if s < 48 * 3600 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

fn row_object(meta: &ObjectMeta) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta})
}

fn table(
    columns: Vec<Value>,
    rows: Vec<Value>,
    resource_version: u64,
    continue_token: Option<String>,
) -> Value {
    let mut metadata = json!({"resourceVersion": resource_version.to_string()});
    if let Some(token) = continue_token {
        metadata["continue"] = Value::String(token);
    }
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata, "columnDefinitions": columns, "rows": rows})
}

fn waiting_reason(c: &ContainerStatus) -> Option<String> {
    c.state.as_ref()?.waiting.as_ref()?.reason.clone()
}

fn terminated(c: &ContainerStatus) -> Option<(i32, Option<String>)> {
    let t = c.state.as_ref()?.terminated.as_ref()?;
    Some((t.exit_code, t.reason.clone()))
}

/// The STATUS column as kubectl computes it (simplified to the states this cluster produces).
fn pod_status_text(pod: &Pod) -> String {
    if pod.metadata.deletion_timestamp.is_some() {
        return "Terminating".to_string();
    }
    let status = pod.status.clone().unwrap_or_default();
    if let Some(reason) = status.reason.clone() {
        return reason;
    }
    let init = status.init_container_statuses.unwrap_or_default();
    for (i, c) in init.iter().enumerate() {
        match terminated(c) {
            Some((0, _)) => continue,
            Some((code, reason)) => {
                return format!("Init:{}", reason.unwrap_or_else(|| format!("ExitCode:{code}")));
            }
            None => {
                return match waiting_reason(c).filter(|r| r != "PodInitializing") {
                    Some(reason) => format!("Init:{reason}"),
                    None => format!("Init:{i}/{}", init.len()),
                };
            }
        }
    }
    let main = status.container_statuses.unwrap_or_default();
    let mut text = status.phase.unwrap_or_else(|| "Pending".to_string());
    for c in main.iter().rev() {
        if let Some(reason) = waiting_reason(c) {
            text = reason;
        } else if let Some((code, reason)) = terminated(c) {
            text = reason.unwrap_or_else(|| format!("ExitCode:{code}"));
        }
    }
    if main.iter().any(|c| c.state.as_ref().is_some_and(|s| s.running.is_some()))
        && text == "Completed"
    {
        text = "Running".to_string();
    }
    text
}

/// A Table of pods: NAME, READY, STATUS, RESTARTS, AGE.
pub(crate) fn pods(items: &[Pod], resource_version: u64, continue_token: Option<String>) -> Value {
    let columns = vec![
        column("Name", "string", "name", "Name must be unique within a namespace."),
        column(
            "Ready",
            "string",
            "",
            "The aggregate readiness state of this pod for accepting traffic.",
        ),
        column("Status", "string", "", "The aggregate status of the containers in this pod."),
        column(
            "Restarts",
            "string",
            "",
            "The number of times the containers in this pod have been restarted.",
        ),
        column(
            "Age",
            "string",
            "",
            "CreationTimestamp is a timestamp representing the server time when this object was created.",
        ),
    ];
    let rows = items
        .iter()
        .map(|pod| {
            let statuses =
                pod.status.as_ref().and_then(|s| s.container_statuses.clone()).unwrap_or_default();
            let total = pod.spec.as_ref().map_or(0, |s| s.containers.len());
            let ready = statuses.iter().filter(|c| c.ready).count();
            json!({
                "cells": [
                    pod.metadata.name.clone().unwrap_or_default(),
                    format!("{ready}/{total}"),
                    pod_status_text(pod),
                    "0",
                    human_age(age_seconds(pod.metadata.creation_timestamp.as_ref())),
                ],
                "object": row_object(&pod.metadata),
            })
        })
        .collect();
    table(columns, rows, resource_version, continue_token)
}

/// A Table of secrets: NAME, TYPE, DATA, AGE.
pub(crate) fn secrets(
    items: &[Secret],
    resource_version: u64,
    continue_token: Option<String>,
) -> Value {
    let columns = vec![
        column("Name", "string", "name", "Name must be unique within a namespace."),
        column("Type", "string", "", "Used to facilitate programmatic handling of secret data."),
        column("Data", "string", "", "Contains the secret data."),
        column(
            "Age",
            "string",
            "",
            "CreationTimestamp is a timestamp representing the server time when this object was created.",
        ),
    ];
    let rows = items
        .iter()
        .map(|secret| {
            json!({
                "cells": [
                    secret.metadata.name.clone().unwrap_or_default(),
                    secret.type_.clone().unwrap_or_else(|| "Opaque".into()),
                    secret.data.as_ref().map_or(0, |d| d.len()),
                    human_age(age_seconds(secret.metadata.creation_timestamp.as_ref())),
                ],
                "object": row_object(&secret.metadata),
            })
        })
        .collect();
    table(columns, rows, resource_version, continue_token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_print_like_kubectl() {
        assert_eq!(human_age(5), "5s");
        assert_eq!(human_age(200), "3m20s");
        assert_eq!(human_age(3600), "60m");
        assert_eq!(human_age(4 * 3600 + 120), "4h2m");
        assert_eq!(human_age(3 * 86400), "3d");
    }
}
