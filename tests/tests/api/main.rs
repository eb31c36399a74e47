//! Evently's end-to-end tests: real PostgreSQL, a real nats-server per test, the whole app
//! in-process. One binary, one module per capability.

mod accounts;
mod analytics;
mod attendees;
mod bookings;
mod contracts;
mod cookie_sessions;
mod events;
mod failures;
mod input;
mod live_user;
mod my_data;
mod notifications;
mod operations;
mod payments;
mod promo_codes;
mod push_safety;
mod retention;
mod seating;
mod security;
mod text_input;
mod ticket_types;
mod tickets;
mod waitlist;
mod waitlist_events;
mod web_app;
mod web_push;
