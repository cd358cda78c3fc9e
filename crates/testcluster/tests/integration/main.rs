//! The test cluster's integration tests, in one test binary (one link instead of one per file): the
//! API with kube-rs and raw HTTP, the kubelet's log semantics, fault injection, and TLS with tokens.

mod api;
mod common;
mod faults;
mod logs;
mod tls;
