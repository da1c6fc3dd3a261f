-- Issue 15, item 6: the 'evaluator' staff role (the dashboard and its CSVs only, aggregated,
-- small counts suppressed). staff.role and role_requests.to_role are CHECK-constrained and
-- SQLite cannot change a CHECK in place: rebuild both tables keeping ids (the migration runner
-- turns foreign keys off around it and checks them before committing). PostgreSQL needs only
-- ALTER TABLE ... DROP CONSTRAINT / ADD CONSTRAINT for the same change.
CREATE TABLE staff_new (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('officer', 'supervisor', 'admin', 'mentor', 'evaluator')),
  username TEXT UNIQUE,
  password_hash TEXT,
  available INTEGER NOT NULL DEFAULT 1,
  active INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  unavailable_reason TEXT,
  disabled_reason TEXT
);
INSERT INTO staff_new (id, name, role, username, password_hash, available, active, created_at,
  unavailable_reason, disabled_reason)
  SELECT id, name, role, username, password_hash, available, active, created_at,
  unavailable_reason, disabled_reason FROM staff;
DROP TABLE staff;
ALTER TABLE staff_new RENAME TO staff;

CREATE TABLE role_requests_new (
  id INTEGER PRIMARY KEY,
  staff_id INTEGER NOT NULL REFERENCES staff(id),
  from_role TEXT,
  to_role TEXT NOT NULL CHECK (to_role IN ('officer', 'supervisor', 'admin', 'mentor',
    'evaluator')),
  requested_by TEXT NOT NULL,
  requested_at TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'declined')),
  decided_by TEXT,
  decided_at TEXT
);
INSERT INTO role_requests_new (id, staff_id, from_role, to_role, requested_by, requested_at,
  status, decided_by, decided_at)
  SELECT id, staff_id, from_role, to_role, requested_by, requested_at, status, decided_by,
  decided_at FROM role_requests;
DROP TABLE role_requests;
ALTER TABLE role_requests_new RENAME TO role_requests;
CREATE UNIQUE INDEX role_requests_one_pending ON role_requests(staff_id) WHERE status = 'pending'
