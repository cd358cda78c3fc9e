//! The sandbox's Kubernetes execute path: the kube client and the tokio driver of the execute flow.
#![warn(missing_docs)]
