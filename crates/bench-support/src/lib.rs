//! What the accumulator's benchmarks and measuring examples share: the synthetic workloads and
//! the CPU-time clocks. Not part of any shipped artifact.

pub mod cpu_time;
pub mod workload;
