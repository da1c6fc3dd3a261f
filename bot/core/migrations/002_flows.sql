-- Conversation state lives here, not in python-telegram-bot: sessions, answers, scores, findings.

CREATE TABLE flow_sessions (
  id INTEGER PRIMARY KEY,
  client_id INTEGER NOT NULL REFERENCES clients(id),
  flow_id TEXT NOT NULL,
  flow_version INTEGER NOT NULL,
  state TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN (
    'active', 'waiting', 'completed', 'expired', 'interrupted', 'stopped', 'skipped')),
  officer_started INTEGER NOT NULL DEFAULT 0,
  cause TEXT,
  started_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  ended_at TEXT
);
-- One active flow per client, enforced by the database itself.
CREATE UNIQUE INDEX flow_sessions_one_active ON flow_sessions(client_id) WHERE status = 'active';
CREATE INDEX flow_sessions_waiting ON flow_sessions(client_id, id) WHERE status = 'waiting';

CREATE TABLE answers (
  id INTEGER PRIMARY KEY,
  client_id INTEGER NOT NULL REFERENCES clients(id),
  session_id INTEGER REFERENCES flow_sessions(id),
  flow_id TEXT NOT NULL,
  question_key TEXT NOT NULL,
  raw_text TEXT,
  value TEXT,
  status TEXT NOT NULL,
  inbound_id INTEGER REFERENCES inbound(id),
  at TEXT NOT NULL
);
CREATE INDEX answers_client_question ON answers(client_id, question_key, at);

CREATE TABLE scores (
  id INTEGER PRIMARY KEY,
  client_id INTEGER NOT NULL REFERENCES clients(id),
  session_id INTEGER REFERENCES flow_sessions(id),
  scale_id TEXT NOT NULL,
  total REAL,
  detail TEXT NOT NULL,
  at TEXT NOT NULL
);
CREATE INDEX scores_client_scale ON scores(client_id, scale_id, at);

CREATE TABLE findings (
  id INTEGER PRIMARY KEY,
  client_id INTEGER NOT NULL REFERENCES clients(id),
  severity TEXT NOT NULL CHECK (severity IN ('RED', 'AMBER', 'YELLOW', 'ROUTINE')),
  reason TEXT NOT NULL,
  detail TEXT,
  source TEXT NOT NULL,
  session_id INTEGER REFERENCES flow_sessions(id),
  inbound_id INTEGER REFERENCES inbound(id),
  at TEXT NOT NULL
);
CREATE INDEX findings_client ON findings(client_id, at)
