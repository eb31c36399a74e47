-- Promo codes: a percent or fixed discount on an event's bookings, optionally only on some ticket
-- types (which it also unlocks when they are hidden), within a validity window, with a use limit.
-- Uses are inventory: counted by the reservations consumer, the only writer of seats, in stream
-- order; the CHECK is the last guard against a limit exceeded. A use is a booking that holds
-- seats with the code; it comes back when the booking is cancelled or its hold expires.
CREATE TABLE promo_codes (
    id               uuid PRIMARY KEY,
    event_id         uuid NOT NULL REFERENCES events (id),
    code             text NOT NULL CHECK (code ~ '^[A-Z0-9_-]{3,40}$'),
    percent_off      integer CHECK (percent_off BETWEEN 1 AND 100),
    amount_off_cents bigint CHECK (amount_off_cents > 0),
    ticket_type_ids  uuid[] NOT NULL DEFAULT '{}',
    max_uses         integer CHECK (max_uses > 0),
    uses             integer NOT NULL DEFAULT 0 CHECK (uses >= 0),
    valid_from       timestamptz,
    valid_to         timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((percent_off IS NULL) <> (amount_off_cents IS NULL)),
    CHECK (max_uses IS NULL OR uses <= max_uses),
    CHECK (valid_from IS NULL OR valid_to IS NULL OR valid_from < valid_to),
    UNIQUE (event_id, code)
);

ALTER TABLE bookings
    ADD COLUMN promo_code_id uuid REFERENCES promo_codes (id),
    ADD COLUMN discount_cents bigint NOT NULL DEFAULT 0 CHECK (discount_cents >= 0);
CREATE INDEX bookings_promo_code ON bookings (promo_code_id) WHERE promo_code_id IS NOT NULL;
