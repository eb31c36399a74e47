//! What Evently's end-to-end tests share: [`app::TestApp`] builds a whole Evently (gateway and
//! consumers in-process) against real PostgreSQL and a real nats-server of its own.

pub mod app;
pub mod flows;
pub mod load;
pub mod notify_bench;
pub mod push_service;
pub mod smtp_sink;
