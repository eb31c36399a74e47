-- Tickets: one per seat of a confirmed booking, issued by the `tickets` consumer. The QR payload
-- is signed once at issue (it names its key id, so rotation leaves it valid while the old public
-- key is kept). Check-in is one conditional UPDATE, so two scanners can never both admit.

-- Ticket numbers are this sequence passed through a bijection (runtime/src/tickets/number.rs):
-- unique by construction.
CREATE SEQUENCE ticket_number_seq AS bigint MINVALUE 1 CACHE 100;

CREATE TABLE tickets (
    id            uuid PRIMARY KEY,
    booking_id    uuid NOT NULL REFERENCES bookings (id),
    event_id      uuid NOT NULL REFERENCES events (id),
    user_id       uuid NOT NULL REFERENCES users (id),
    seat_index    integer NOT NULL CHECK (seat_index >= 0),
    ticket_number text NOT NULL UNIQUE,
    qr_payload    text NOT NULL,
    key_id        text NOT NULL,
    status        text NOT NULL DEFAULT 'valid' CHECK (status IN ('valid', 'void')),
    issued_at     timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    voided_at     timestamptz,
    checked_in_at timestamptz,
    checked_in_by uuid REFERENCES users (id),
    -- The last guard of "one ticket per seat": a redelivery or a second instance inserts nothing.
    CONSTRAINT tickets_one_per_seat UNIQUE (booking_id, seat_index),
    CHECK ((status = 'void') = (voided_at IS NOT NULL))
);
CREATE INDEX tickets_event_idx ON tickets (event_id, checked_in_at);
CREATE INDEX tickets_user_idx ON tickets (user_id);
