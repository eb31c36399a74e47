//! Evently's end-to-end tests: real PostgreSQL, a real nats-server per test, the whole app
//! in-process. One binary, one module per capability.

mod accounts;
mod bookings;
mod events;
mod failures;
mod input;
mod notifications;
mod operations;
mod security;
mod web_push;
