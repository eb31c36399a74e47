-- A deleted account keeps its row (bookings, payments and tickets still point at it, so the
-- accounting adds up) with its name and email shredded; `deleted_at` says it is gone, and the
-- attendee lists and the notifications leave it out.
ALTER TABLE users ADD COLUMN deleted_at timestamptz;
