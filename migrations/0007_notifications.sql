-- Notifications: channel preferences, in-app notifications, Web Push subscriptions, and the
-- delivery ledger that makes each (domain event, recipient, channel, target) happen once.

CREATE TABLE notification_preferences (
    user_id    uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    email      boolean NOT NULL DEFAULT true,
    push       boolean NOT NULL DEFAULT true,
    in_app     boolean NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- In-app notifications, as listed by GET /me/notifications. The id is derived from
-- (source, user), so a replayed domain event cannot add a second row.
CREATE TABLE notifications (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       text NOT NULL,
    title      text NOT NULL,
    body       text NOT NULL,
    data       jsonb NOT NULL DEFAULT '{}',
    source_id  text NOT NULL,
    read_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_user_idx ON notifications (user_id, created_at DESC, id DESC);
CREATE INDEX notifications_unread_idx ON notifications (user_id, created_at DESC, id DESC)
    WHERE read_at IS NULL;

CREATE TABLE push_subscriptions (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    endpoint   text NOT NULL,
    p256dh     text NOT NULL,
    auth       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, endpoint)
);

-- The delivery ledger. A row is claimed (`pending`) before the send and marked `sent` after it; a
-- redelivered domain event finds it `sent` (or `failed`, `skipped`) and sends nothing. `target` is
-- the push subscription id for push, '' otherwise. `claimed_until` is a lease: a `pending` row whose
-- lease is still running is being sent by someone else.
CREATE TABLE notification_deliveries (
    source_id     text NOT NULL,
    user_id       uuid NOT NULL,
    channel       text NOT NULL CHECK (channel IN ('in_app', 'email', 'push')),
    target        text NOT NULL DEFAULT '',
    kind          text NOT NULL,
    status        text NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'skipped')),
    attempts      integer NOT NULL DEFAULT 0,
    last_error    text,
    claimed_until timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_id, user_id, channel, target)
);
CREATE INDEX notification_deliveries_open_idx ON notification_deliveries (status, updated_at)
    WHERE status IN ('pending', 'failed');
