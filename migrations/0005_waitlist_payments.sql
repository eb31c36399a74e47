-- Timed and multi-step flows: seats held for waitlist offers, the waitlist, payments with one
-- refund per payment, processed webhooks, and the indexes the sweeper polls.

-- Seats held for open waitlist offers count against capacity like sold and held seats.
ALTER TABLE inventory ADD COLUMN offered integer NOT NULL DEFAULT 0 CHECK (offered >= 0);
ALTER TABLE inventory DROP CONSTRAINT inventory_no_oversell;
ALTER TABLE inventory ADD CONSTRAINT inventory_no_oversell CHECK (sold + held + offered <= capacity);

-- How long a waitlist offer stays open, per event.
ALTER TABLE events ADD COLUMN offer_minutes integer NOT NULL DEFAULT 30 CHECK (offer_minutes >= 1);

-- The sweeper's view of holds that are due.
CREATE INDEX bookings_hold_due_idx ON bookings (hold_expires_at) WHERE status = 'held';

CREATE TABLE waitlist_entries (
    id               uuid PRIMARY KEY,
    event_id         uuid NOT NULL REFERENCES events (id),
    user_id          uuid NOT NULL REFERENCES users (id),
    quantity         integer NOT NULL CHECK (quantity >= 1),
    status           text NOT NULL CHECK (status IN ('waiting', 'offered', 'claimed', 'expired', 'left')),
    -- Join order: taken from a sequence when the entry is written (under the event's lock).
    position         bigserial NOT NULL,
    -- How many times later, smaller entries were served past this one (multi-seat rule).
    passed           integer NOT NULL DEFAULT 0 CHECK (passed >= 0),
    offer_expires_at timestamptz,
    -- The booking the entry came from (waitlist_if_sold_out) or that its claim created.
    booking_id       uuid REFERENCES bookings (id),
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'offered') = (offer_expires_at IS NOT NULL) OR status IN ('claimed', 'expired', 'left'))
);
-- One active entry per user and event.
CREATE UNIQUE INDEX waitlist_active_key ON waitlist_entries (event_id, user_id)
    WHERE status IN ('waiting', 'offered');
CREATE INDEX waitlist_queue_idx ON waitlist_entries (event_id, position) WHERE status = 'waiting';
CREATE INDEX waitlist_offer_due_idx ON waitlist_entries (offer_expires_at) WHERE status = 'offered';
CREATE INDEX waitlist_user_idx ON waitlist_entries (user_id, created_at DESC, id DESC);
CREATE UNIQUE INDEX waitlist_booking_key ON waitlist_entries (booking_id) WHERE booking_id IS NOT NULL;

-- Money received: one row per provider payment (its id derives from the provider's payment id).
CREATE TABLE payments (
    id                  uuid PRIMARY KEY,
    booking_id          uuid NOT NULL REFERENCES bookings (id),
    provider            text NOT NULL,
    provider_payment_id text NOT NULL,
    amount_cents        bigint NOT NULL CHECK (amount_cents >= 0),
    currency            char(3) NOT NULL,
    -- `applied`: it paid the booking; `refunded`: it arrived too late (or twice) and was refunded.
    status              text NOT NULL CHECK (status IN ('applied', 'refunded')),
    created_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, provider_payment_id)
);
CREATE INDEX payments_booking_idx ON payments (booking_id);

-- Money returned: one refund per payment (the unique key makes a refund happen once). Rows from
-- before payments existed keep their booking id and no payment.
ALTER TABLE refunds DROP CONSTRAINT refunds_pkey;
ALTER TABLE refunds ADD COLUMN payment_id uuid REFERENCES payments (id);
-- Set once the provider confirmed the refund; the sweeper retries those still unset.
ALTER TABLE refunds ADD COLUMN provider_refund_id text;
ALTER TABLE refunds ADD COLUMN refunded_at timestamptz;
CREATE UNIQUE INDEX refunds_payment_key ON refunds (payment_id);
CREATE UNIQUE INDEX refunds_legacy_booking_key ON refunds (booking_id) WHERE payment_id IS NULL;
CREATE INDEX refunds_booking_idx ON refunds (booking_id);
CREATE INDEX refunds_pending_idx ON refunds (created_at) WHERE refunded_at IS NULL AND payment_id IS NOT NULL;

-- Provider webhooks already applied: a replayed delivery changes nothing.
CREATE TABLE webhook_events (
    provider    text NOT NULL,
    event_id    text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, event_id)
);
