//! Fault-injection tests with real processes: `evently gateway` and `evently consume` run as child
//! processes (the binary cargo builds for this test target) against a test app's PostgreSQL and
//! NATS, and are killed with SIGKILL while a booking load runs. Afterwards every booking request
//! that was acknowledged is decided exactly once and no seat is oversold.
//!
//! This test target belongs to the root package (see `[[test]]` in the root `Cargo.toml`) so that
//! cargo builds the `evently` binary for it and tells it where (`CARGO_BIN_EXE_evently`).

mod load;
mod process;

mod backup_restore;
mod cluster;
mod consumer_kill;
mod gateway_kill;
mod jetstream_store;
mod leases;
mod nats_outage;
mod poison;
mod postgres_outage;
mod postgres_restart;
