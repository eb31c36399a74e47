-- Analytics roll-ups, maintained by the `analytics` consumer from the domain events of
-- EVENTLY_EVT (never by scanning bookings per request) and rebuilt by replaying that stream
-- (`evently analytics rebuild`). Every counter only ever grows by what one event adds, and each
-- event is applied once (its inbox row in `processed_messages`, consumer `analytics`).

-- Per event per hour (the hour an event occurred in, UTC).
CREATE TABLE analytics_event_hourly (
    event_id           uuid NOT NULL,
    hour               timestamptz NOT NULL,
    currency           text NOT NULL DEFAULT '',
    bookings_confirmed bigint NOT NULL DEFAULT 0,
    seats_sold         bigint NOT NULL DEFAULT 0,
    revenue_cents      bigint NOT NULL DEFAULT 0,
    -- Confirmed bookings cancelled afterwards, the seats they freed and the money refunded.
    cancellations      bigint NOT NULL DEFAULT 0,
    seats_freed        bigint NOT NULL DEFAULT 0,
    refunds_cents      bigint NOT NULL DEFAULT 0,
    rejections         bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, hour)
);
CREATE INDEX analytics_event_hourly_hour_idx ON analytics_event_hourly (hour);

-- Per event, all time.
CREATE TABLE analytics_event_totals (
    event_id           uuid PRIMARY KEY,
    currency           text NOT NULL DEFAULT '',
    -- The capacity last reported by the event's availability (the latest `occurred_at` wins).
    capacity           integer,
    capacity_at        timestamptz,
    bookings_confirmed bigint NOT NULL DEFAULT 0,
    seats_sold         bigint NOT NULL DEFAULT 0,
    revenue_cents      bigint NOT NULL DEFAULT 0,
    cancellations      bigint NOT NULL DEFAULT 0,
    seats_freed        bigint NOT NULL DEFAULT 0,
    refunds_cents      bigint NOT NULL DEFAULT 0,
    rejections         bigint NOT NULL DEFAULT 0,
    waitlist_joined    bigint NOT NULL DEFAULT 0,
    waitlist_offered   bigint NOT NULL DEFAULT 0,
    waitlist_claimed   bigint NOT NULL DEFAULT 0,
    waitlist_expired   bigint NOT NULL DEFAULT 0,
    waitlist_left      bigint NOT NULL DEFAULT 0,
    tickets_issued     bigint NOT NULL DEFAULT 0,
    tickets_checked_in bigint NOT NULL DEFAULT 0,
    event_cancelled_at timestamptz
);

-- The consumer's own memory of each booking: when it was confirmed and when cancelled, so that a
-- cancellation frees seats and refunds money only for a booking that had been confirmed, whatever
-- order the two events arrive in.
CREATE TABLE analytics_bookings (
    booking_id   uuid PRIMARY KEY,
    event_id     uuid NOT NULL,
    quantity     integer NOT NULL,
    amount_cents bigint NOT NULL,
    currency     text NOT NULL,
    confirmed_at timestamptz,
    cancelled_at timestamptz
);

-- The attendee list: an event's bookings of one status in creation order (cursor pagination).
CREATE INDEX bookings_event_status_created_idx ON bookings (event_id, status, created_at, id);
