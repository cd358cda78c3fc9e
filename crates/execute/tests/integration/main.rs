//! Integration tests of the execute path against the embedded test cluster (over TLS), as one
//! test binary so that the shared harness in `common` is compiled once and wholly used.

mod backend_ops;
mod common;
mod execute;
mod faults;
mod record;
mod security;
