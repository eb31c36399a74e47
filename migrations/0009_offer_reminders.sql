-- When the "your offer expires soon" reminder went out (once per offer; cleared with the offer).
ALTER TABLE waitlist_entries ADD COLUMN reminded_at timestamptz;
