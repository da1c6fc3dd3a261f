-- Admin panel: sign-in sessions, sign-in attempts (throttling that survives restarts), TOTP second
-- factor, officer notes, programme settings (dashboard parameters), caseload imports.

-- A session is a random token in an HttpOnly cookie; only its SHA-256 is stored, so a copy of the
-- database does not hand out live sessions. stage 'totp': password given, code still owed.
CREATE TABLE admin_sessions (
  id_hash TEXT PRIMARY KEY,
  staff_id INTEGER NOT NULL REFERENCES staff(id),
  stage TEXT NOT NULL CHECK (stage IN ('totp', 'full')),
  created_at TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  ip TEXT,
  user_agent TEXT,
  flash TEXT,
  revoked_at TEXT
);
CREATE INDEX admin_sessions_staff ON admin_sessions(staff_id);

-- Every sign-in attempt, for lock-out per username and per client address.
CREATE TABLE login_attempts (
  id INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  username TEXT NOT NULL,
  ip TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'bad_password', 'bad_code', 'locked'))
);
CREATE INDEX login_attempts_user ON login_attempts(username, at);
CREATE INDEX login_attempts_ip ON login_attempts(ip, at);

-- Optional second factor. confirmed_at NULL: enrolment started, not yet proven with a code.
-- last_step stops a code being used twice within its 30-second window.
CREATE TABLE staff_totp (
  staff_id INTEGER PRIMARY KEY REFERENCES staff(id),
  secret TEXT NOT NULL,
  confirmed_at TEXT,
  last_step INTEGER,
  created_at TEXT NOT NULL
);

CREATE TABLE client_notes (
  id INTEGER PRIMARY KEY,
  client_id INTEGER NOT NULL REFERENCES clients(id),
  staff_id INTEGER NOT NULL REFERENCES staff(id),
  body TEXT NOT NULL,
  at TEXT NOT NULL
);
CREATE INDEX client_notes_client ON client_notes(client_id, at);

-- Programme settings an admin may change (for example the retail-theft estimate's parameters).
CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL
);

-- An uploaded caseload spreadsheet: previewed first, then applied whole in one transaction.
CREATE TABLE caseload_imports (
  id INTEGER PRIMARY KEY,
  staff_id INTEGER NOT NULL REFERENCES staff(id),
  filename TEXT,
  content TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'previewed' CHECK (status IN ('previewed', 'applied')),
  created_at TEXT NOT NULL,
  applied_at TEXT,
  created_count INTEGER
)
