-- Money returned: one row per refunded booking (the primary key makes a refund happen once).
CREATE TABLE refunds (
    booking_id   uuid PRIMARY KEY REFERENCES bookings (id),
    amount_cents bigint NOT NULL CHECK (amount_cents >= 0),
    currency     char(3) NOT NULL,
    reason       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
