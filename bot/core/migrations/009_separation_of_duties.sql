-- Separation of duties for staff accounts.

-- One-time set-password links: an admin (or the operator's CLI) issues one, the person sets
-- their own password with it. Only a SHA-256 of the token is stored; single use, expiring,
-- and a newer link revokes older unused ones.
CREATE TABLE staff_setup_links (
  id INTEGER PRIMARY KEY,
  staff_id INTEGER NOT NULL REFERENCES staff(id),
  token_hash TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  used_at TEXT,
  revoked_at TEXT
);
CREATE INDEX staff_setup_links_staff ON staff_setup_links(staff_id);

-- A change to a role with more case access (or a new account with case access) waits here
-- for a supervisor's decision. from_role NULL: a new (or reactivated) account, inactive until
-- approved.
CREATE TABLE role_requests (
  id INTEGER PRIMARY KEY,
  staff_id INTEGER NOT NULL REFERENCES staff(id),
  from_role TEXT,
  to_role TEXT NOT NULL CHECK (to_role IN ('officer', 'supervisor', 'admin', 'mentor')),
  requested_by TEXT NOT NULL,
  requested_at TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'declined')),
  decided_by TEXT,
  decided_at TEXT
);
CREATE UNIQUE INDEX role_requests_one_pending ON role_requests(staff_id) WHERE status = 'pending';
