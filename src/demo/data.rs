//! What the demo creates: its accounts (known passwords: a demo is for a laptop, not the
//! internet), venues and events.

/// A demo account: email, password, name.
pub type Account = (&'static str, &'static str, &'static str);

pub const ORGANISER: Account = (
    "organiser@demo.evently.test",
    "stage-door-2026",
    "Olivia Organiser",
);
pub const ATTENDEE: Account = (
    "attendee@demo.evently.test",
    "front-row-seat-42",
    "Ada Attendee",
);
pub const FANS: [Account; 3] = [
    (
        "fan.one@demo.evently.test",
        "waiting-in-line-7",
        "Finn Early",
    ),
    (
        "fan.two@demo.evently.test",
        "waiting-in-line-7",
        "Farah Hopeful",
    ),
    (
        "fan.three@demo.evently.test",
        "waiting-in-line-7",
        "Felix Patient",
    ),
];

/// Venues: name, address, city, capacity.
pub const VENUES: [(&str, &str, &str, i32); 3] = [
    ("Riverside Hall", "12 Quai des Arts", "Lyon", 400),
    ("The Old Cinema", "3 Picture House Lane", "Bristol", 150),
    ("Harbour Stage", "Kaiweg 8", "Hamburg", 800),
];

/// An event of the demo.
pub struct EventSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub category: &'static str,
    pub venue: usize,
    pub days_ahead: u64,
    pub capacity: i32,
    pub price_cents: i64,
}

pub const EVENTS: [EventSpec; 6] = [
    EventSpec {
        name: "Jazz on the River",
        description: "A quartet, the river at dusk and the best acoustics in town.",
        category: "music",
        venue: 0,
        days_ahead: 9,
        capacity: 300,
        price_cents: 2500,
    },
    EventSpec {
        name: "Open Source Evening",
        description: "Five short talks by the people who maintain the tools you use every day.",
        category: "conference",
        venue: 2,
        days_ahead: 5,
        capacity: 120,
        price_cents: 0,
    },
    EventSpec {
        name: "Stand-up Night",
        description: "Four comedians, one microphone, no mercy.",
        category: "comedy",
        venue: 1,
        days_ahead: 14,
        capacity: 120,
        price_cents: 1500,
    },
    EventSpec {
        name: "Family Science Fair",
        description: "Experiments to try, robots to build and a planetarium show.",
        category: "family",
        venue: 2,
        days_ahead: 21,
        capacity: 500,
        price_cents: 0,
    },
    EventSpec {
        name: "Midnight Film Marathon",
        description: "Three cult classics back to back, popcorn included. Sold out: join the waitlist.",
        category: "film",
        venue: 1,
        days_ahead: 12,
        capacity: 3,
        price_cents: 0,
    },
    EventSpec {
        name: "Sourdough Workshop",
        description: "Bake your own loaf from starter to crust, in a small group.",
        category: "workshop",
        venue: 0,
        days_ahead: 30,
        capacity: 12,
        price_cents: 4500,
    },
];
/// Which of `EVENTS` the attendee holds tickets for, and which one sells out.
pub const TICKETED: usize = 1;
pub const SOLD_OUT: usize = 4;
