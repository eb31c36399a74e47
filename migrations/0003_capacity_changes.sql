-- A step's published outcome, kept with its inbox row when the outcome cannot be rebuilt from
-- other tables (capacity changes), so that a redelivery can publish it again.
ALTER TABLE processed_messages ADD COLUMN outcome jsonb;

-- Full-text search over events' name and description.
ALTER TABLE events ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', name || ' ' || description)) STORED;
CREATE INDEX events_search_idx ON events USING gin (search);
CREATE INDEX events_category_starts_idx ON events (category, starts_at, id);
CREATE INDEX events_venue_starts_idx ON events (venue_id, starts_at, id);
