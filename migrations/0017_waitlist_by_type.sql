-- The waitlist by ticket type: an entry of an event that sells ticket types waits for one type,
-- and seats freed of that type are offered to the first person waiting for it. A type's seats
-- held for open offers count against its quota like the event's (`inventory.offered`).
ALTER TABLE waitlist_entries ADD COLUMN ticket_type_id uuid REFERENCES ticket_types (id);
CREATE INDEX waitlist_type_queue_idx ON waitlist_entries (ticket_type_id, position)
    WHERE status = 'waiting' AND ticket_type_id IS NOT NULL;

ALTER TABLE ticket_types ADD COLUMN offered integer NOT NULL DEFAULT 0 CHECK (offered >= 0);
ALTER TABLE ticket_types DROP CONSTRAINT IF EXISTS ticket_types_check;
ALTER TABLE ticket_types ADD CONSTRAINT ticket_types_counts CHECK (sold + held + offered <= quota);
