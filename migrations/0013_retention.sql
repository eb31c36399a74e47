-- Bounded growth: the sweeper deletes inbox rows and in-app notifications older than their
-- retention (consumers/src/retention.rs). Both tables are written in time order, so a BRIN index
-- (a few pages for millions of rows) finds the old rows without a B-tree entry per row.
CREATE INDEX processed_messages_processed_at_brin ON processed_messages USING brin (processed_at);
CREATE INDEX notifications_created_at_brin ON notifications USING brin (created_at);
