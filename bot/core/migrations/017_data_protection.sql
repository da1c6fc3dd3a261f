-- Issue 19: data protection. Legal hold (nothing of the client's is purged or erased while it is
-- set), erasure marker, purge markers on message rows, why a sign-in was switched off, and the
-- counts that outlive the rows they were made from.
ALTER TABLE clients ADD COLUMN legal_hold_reason TEXT;
ALTER TABLE clients ADD COLUMN legal_hold_at TEXT;
ALTER TABLE clients ADD COLUMN legal_hold_by INTEGER REFERENCES staff(id);
ALTER TABLE clients ADD COLUMN erased_at TEXT;
ALTER TABLE inbound ADD COLUMN purged_at TEXT;
ALTER TABLE outbox ADD COLUMN purged_at TEXT;
-- 'dormant': the access review removed the password (no sign-in for the configured days).
ALTER TABLE staff ADD COLUMN disabled_reason TEXT;

-- Counts kept when rows are deleted: (what, UTC day, a dimension such as the action) -> n.
CREATE TABLE retention_tallies (
  metric TEXT NOT NULL,
  day TEXT NOT NULL,
  dimension TEXT NOT NULL DEFAULT '',
  n INTEGER NOT NULL,
  PRIMARY KEY (metric, day, dimension)
)
