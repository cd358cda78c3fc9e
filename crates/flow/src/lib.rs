//! The execute flow of the Kubernetes backend (spec §1) as a sans-I/O state machine.
#![warn(missing_docs)]
