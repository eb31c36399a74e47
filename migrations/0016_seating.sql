-- Seat maps: a venue's seating plans (imported in pretix's seating-plan JSON format, kept as sent
-- so the export is the same document), and an event's seats: the plan it uses, each seat's
-- category mapped to one of the event's ticket types.
CREATE TABLE seating_plans (
    id         uuid PRIMARY KEY,
    venue_id   uuid NOT NULL REFERENCES venues (id),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    document   jsonb NOT NULL,
    seat_count integer NOT NULL,
    -- The point seats are judged from by best-available (the stage), in plan coordinates.
    focus_x    double precision NOT NULL,
    focus_y    double precision NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX seating_plans_venue ON seating_plans (venue_id, created_at, id);

-- Which plan an event uses and how its categories map to the event's ticket types.
-- `seat_version` counts the changes of who holds the event's seats (bumped by every batch of
-- the reservations consumer that takes or frees one, and by a new seat map): a consumer keeps the
-- map it last wrote in memory and reads it again only when the version moved.
CREATE TABLE event_seating (
    event_id     uuid PRIMARY KEY REFERENCES events (id),
    plan_id      uuid NOT NULL REFERENCES seating_plans (id),
    categories   jsonb NOT NULL,
    seat_version bigint NOT NULL DEFAULT 0,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- An event's seats, copied from its plan when the seating is set. `row_index` numbers the plan's
-- rows in document order and `seat_index` a seat's place in its row: seats next to each other in
-- a row have consecutive indexes (best-available's adjacency, with their positions for aisles).
-- Only the reservations consumer decides who holds a seat, under the event's inventory lock.
CREATE TABLE event_seats (
    event_id       uuid NOT NULL REFERENCES events (id),
    seat_id        text NOT NULL CHECK (length(seat_id) BETWEEN 1 AND 200),
    ticket_type_id uuid NOT NULL REFERENCES ticket_types (id),
    section        text NOT NULL,
    row_label      text NOT NULL,
    number         text NOT NULL,
    category       text NOT NULL,
    row_index      integer NOT NULL,
    seat_index     integer NOT NULL,
    x              double precision NOT NULL,
    y              double precision NOT NULL,
    radius         double precision NOT NULL,
    accessible     boolean NOT NULL DEFAULT false,
    companion      boolean NOT NULL DEFAULT false,
    blocked        boolean NOT NULL DEFAULT false,
    PRIMARY KEY (event_id, seat_id)
);
CREATE INDEX event_seats_type ON event_seats (ticket_type_id);

-- The seats a booking holds. `live` is true while the booking holds them (held or confirmed);
-- the consumer clears it when the booking is cancelled or its hold expires. The partial unique
-- index is the last guard: a seat is never held or sold twice, even if code is wrong.
CREATE TABLE booking_seats (
    booking_id     uuid NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    event_id       uuid NOT NULL REFERENCES events (id),
    seat_id        text NOT NULL,
    ticket_type_id uuid NOT NULL REFERENCES ticket_types (id),
    section        text NOT NULL,
    row_label      text NOT NULL,
    number         text NOT NULL,
    live           boolean NOT NULL,
    PRIMARY KEY (booking_id, seat_id)
);
CREATE UNIQUE INDEX booking_seats_one_live ON booking_seats (event_id, seat_id) WHERE live;

