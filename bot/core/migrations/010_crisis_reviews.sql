-- The crisis screen's review loop (issue 12): an officer marks an inbound message "should have
-- alerted" or "false alarm"; supervisors review the list monthly (with CSV export) against
-- config/crisis.toml and config/crisis_frames.toml. One verdict per message and staff member
-- (marking again changes it).
CREATE TABLE crisis_reviews (
  id INTEGER PRIMARY KEY,
  inbound_id INTEGER NOT NULL REFERENCES inbound(id),
  client_id INTEGER REFERENCES clients(id),
  staff_id INTEGER NOT NULL REFERENCES staff(id),
  verdict TEXT NOT NULL CHECK (verdict IN ('should_have_alerted', 'false_alarm')),
  screened TEXT NOT NULL,
  note TEXT,
  at TEXT NOT NULL,
  UNIQUE (inbound_id, staff_id)
);
CREATE INDEX crisis_reviews_at ON crisis_reviews(at);
