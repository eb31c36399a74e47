//! The waitlist.
