-- Ticket types: an event can sell several kinds of ticket (general, VIP, student, early bird),
-- each with its price, its own quota and optional sales window and per-booking limit; a hidden
-- type is not listed to the public. The event's capacity (`inventory`) still caps the sum: a seat
-- counts against its type's quota and against the event. Counts are kept by the reservations
-- consumer, the only writer of seats; the CHECK is the last guard against overselling a type.
CREATE TABLE ticket_types (
    id              uuid PRIMARY KEY,
    event_id        uuid NOT NULL REFERENCES events (id),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description     text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    price_cents     bigint NOT NULL CHECK (price_cents >= 0),
    quota           integer NOT NULL CHECK (quota >= 0),
    sold            integer NOT NULL DEFAULT 0 CHECK (sold >= 0),
    held            integer NOT NULL DEFAULT 0 CHECK (held >= 0),
    sales_start     timestamptz,
    sales_end       timestamptz,
    max_per_booking integer CHECK (max_per_booking BETWEEN 1 AND 100),
    hidden          boolean NOT NULL DEFAULT false,
    position        integer NOT NULL DEFAULT 0,
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (sold + held <= quota),
    CHECK (sales_start IS NULL OR sales_end IS NULL OR sales_start < sales_end),
    UNIQUE (event_id, name)
);
CREATE INDEX ticket_types_event ON ticket_types (event_id, position, id);

-- What a booking holds, by ticket type, at the price it was booked at.
CREATE TABLE booking_lines (
    booking_id       uuid NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    ticket_type_id   uuid NOT NULL REFERENCES ticket_types (id),
    quantity         integer NOT NULL CHECK (quantity > 0),
    unit_price_cents bigint NOT NULL CHECK (unit_price_cents >= 0),
    PRIMARY KEY (booking_id, ticket_type_id)
);
CREATE INDEX booking_lines_type ON booking_lines (ticket_type_id);
