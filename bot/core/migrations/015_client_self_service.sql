-- Issue 16: the client's own changes. PAUSE [N] skips check-ins and scales up to and including
-- this local date (YYYY-MM-DD); the 28-day watch's safety question is never skipped.
ALTER TABLE clients ADD COLUMN paused_until TEXT;
-- Discreet reminders that still say where: an alias for a place, for everyone
-- (client_id NULL) or for one client, used instead of the place in discreet wording
-- ("the usual place on Broad St"). `place` is stored folded (lower case, single spaces).
CREATE TABLE place_aliases (
  id INTEGER PRIMARY KEY,
  place TEXT NOT NULL,
  client_id INTEGER REFERENCES clients(id),
  alias TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL
);
CREATE UNIQUE INDEX place_alias_key ON place_aliases(place, COALESCE(client_id, 0));
-- The demo's simulated clock, so it survives a restart and the CLI uses it too: the offset
-- from real time, one row. Production never writes it.
CREATE TABLE demo_clock (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  offset_seconds REAL NOT NULL,
  updated_at TEXT NOT NULL
);
