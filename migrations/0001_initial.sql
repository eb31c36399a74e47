-- Evently's schema of record: accounts, venues, events with their inventory row, bookings, and the
-- consumers' inbox.

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL,
    password_hash text NOT NULL,
    name          text NOT NULL,
    role          text NOT NULL DEFAULT 'attendee' CHECK (role IN ('attendee', 'organizer', 'admin')),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE venues (
    id         uuid PRIMARY KEY,
    owner_id   uuid NOT NULL REFERENCES users (id),
    name       text NOT NULL,
    address    text NOT NULL DEFAULT '',
    city       text NOT NULL DEFAULT '',
    capacity   integer NOT NULL CHECK (capacity >= 1),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX venues_owner_idx ON venues (owner_id, created_at, id);
CREATE INDEX venues_created_idx ON venues (created_at, id);

CREATE TABLE events (
    id              uuid PRIMARY KEY,
    venue_id        uuid NOT NULL REFERENCES venues (id),
    organizer_id    uuid NOT NULL REFERENCES users (id),
    name            text NOT NULL,
    description     text NOT NULL DEFAULT '',
    category        text NOT NULL,
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL,
    capacity        integer NOT NULL CHECK (capacity >= 1),
    price_cents     bigint NOT NULL CHECK (price_cents >= 0),
    currency        char(3) NOT NULL,
    sales_start     timestamptz,
    sales_end       timestamptz,
    max_per_booking integer NOT NULL DEFAULT 10 CHECK (max_per_booking >= 1),
    hold_minutes    integer NOT NULL DEFAULT 10 CHECK (hold_minutes >= 1),
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled')),
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at)
);
CREATE INDEX events_starts_idx ON events (starts_at, id);
CREATE INDEX events_organizer_idx ON events (organizer_id);

-- The hot row of a flash sale, kept apart from the event's descriptive columns so that editing an
-- event never waits on the allocation lock. Only the reservations consumer writes it.
CREATE TABLE inventory (
    event_id uuid PRIMARY KEY REFERENCES events (id),
    capacity integer NOT NULL CHECK (capacity >= 1),
    sold     integer NOT NULL DEFAULT 0 CHECK (sold >= 0),
    held     integer NOT NULL DEFAULT 0 CHECK (held >= 0),
    -- No oversell, even if code is wrong.
    CONSTRAINT inventory_no_oversell CHECK (sold + held <= capacity)
);

CREATE TABLE bookings (
    id              uuid PRIMARY KEY,
    event_id        uuid NOT NULL REFERENCES events (id),
    user_id         uuid NOT NULL REFERENCES users (id),
    quantity        integer NOT NULL CHECK (quantity >= 1),
    status          text NOT NULL CHECK (status IN ('held', 'confirmed', 'rejected', 'waitlisted', 'cancelled', 'expired')),
    reason          text,
    amount_cents    bigint NOT NULL CHECK (amount_cents >= 0),
    currency        char(3) NOT NULL,
    hold_expires_at timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'rejected') = (reason IS NOT NULL))
);
CREATE INDEX bookings_user_idx ON bookings (user_id, created_at DESC, id DESC);
CREATE INDEX bookings_event_idx ON bookings (event_id, status);

-- The inbox: a consumer records each message it applied in the same transaction as the step, so a
-- redelivered message changes nothing.
CREATE TABLE processed_messages (
    consumer     text NOT NULL,
    message_id   text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, message_id)
);
