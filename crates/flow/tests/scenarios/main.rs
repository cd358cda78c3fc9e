//! Scenario tests of the execute flow against a scripted fake cluster with simulated time
//! (see `support`). One test binary, several modules, to keep linking cheap.

mod support;

mod abort;
mod backend;
mod main_loop;
mod outcomes;
mod prepare;
mod retry;
mod robustness;
mod startup;
mod stdout;
