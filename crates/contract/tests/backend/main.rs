//! The TypeScript suites of the backend's contract (exec spec, pod spec, reap, responses, golden
//! JSON, lenient parsing), as one test binary so that the shared `fixture` (the spec §7.1 config
//! and request) is compiled once and wholly used.

mod exec_spec;
mod fixture;
mod golden;
mod lenient_parsing;
mod pod_spec;
mod reap;
mod response;
