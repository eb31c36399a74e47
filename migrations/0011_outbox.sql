-- Events the gateway commits with its own writes (a check-in at the door) and must still publish.
-- The row is written in the same transaction as the write; the gateway publishes at once and
-- deletes the row on the PubAck. A row that stays (NATS was away, the gateway died) is published by
-- the sweeper, oldest first, with the same `Nats-Msg-Id`, so a copy within the stream's duplicate
-- window is dropped and a later one is dropped by the consumers' inbox.
CREATE TABLE outbox (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject text NOT NULL,
    message_id text NOT NULL,
    payload bytea NOT NULL,
    traceparent text,
    created_at timestamptz NOT NULL DEFAULT now()
);
