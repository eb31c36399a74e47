-- A booking's event and user are checked by the reservations consumer, the only writer of
-- bookings, for a whole batch at once: it locks the event's inventory row before deciding (a
-- command for an event that does not exist is refused), and reads which of the batch's users
-- exist in one query (a command naming nobody is refused alone). The foreign keys checked the
-- same again row by row, and each check locked the referenced row (FOR KEY SHARE), so that a sale
-- of 50,000 bookings wrote a lock into 25,000 user rows; with them a single command naming a
-- missing user failed its whole batch of other people's bookings, retry after retry. Events and
-- users are never deleted (an account is anonymised, `0012_deleted_accounts.sql`).
ALTER TABLE bookings
    DROP CONSTRAINT IF EXISTS bookings_event_id_fkey,
    DROP CONSTRAINT IF EXISTS bookings_user_id_fkey;
