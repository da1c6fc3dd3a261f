-- Escalations: a closed loop from finding to acknowledged and resolved, never lost.

CREATE TABLE escalations (
  id INTEGER PRIMARY KEY,
  client_id INTEGER NOT NULL REFERENCES clients(id),
  severity TEXT NOT NULL CHECK (severity IN ('RED', 'AMBER', 'ROUTINE')),
  reason TEXT NOT NULL,
  source TEXT NOT NULL,
  officer_id INTEGER NOT NULL REFERENCES staff(id),
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN (
    'open', 'notified', 'acknowledged', 'resolved')),
  level INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  notified_at TEXT,
  acknowledged_at TEXT,
  acknowledged_by INTEGER REFERENCES staff(id),
  ack_method TEXT,
  resolved_at TEXT,
  resolved_by INTEGER REFERENCES staff(id),
  outcome TEXT,
  note TEXT
);
-- One open escalation per client and reason: later findings attach to it.
CREATE UNIQUE INDEX escalations_one_open ON escalations(client_id, reason)
  WHERE status <> 'resolved';
CREATE INDEX escalations_status ON escalations(status, severity);

ALTER TABLE findings ADD COLUMN escalation_id INTEGER REFERENCES escalations(id);

-- Who was told, when, how: one row per person per level (the queue shows it).
CREATE TABLE escalation_notices (
  id INTEGER PRIMARY KEY,
  escalation_id INTEGER NOT NULL REFERENCES escalations(id),
  staff_id INTEGER NOT NULL REFERENCES staff(id),
  level INTEGER NOT NULL,
  channel TEXT,
  outbox_id INTEGER REFERENCES outbox(id),
  fallback_outbox_id INTEGER REFERENCES outbox(id),
  held INTEGER NOT NULL DEFAULT 0,
  at TEXT NOT NULL
);
CREATE INDEX escalation_notices_esc ON escalation_notices(escalation_id);
CREATE INDEX escalation_notices_staff ON escalation_notices(staff_id, at);
CREATE INDEX escalation_notices_outbox ON escalation_notices(outbox_id);

-- A simple duty rota: who is the duty officer (or duty supervisor) when.
CREATE TABLE rota (
  id INTEGER PRIMARY KEY,
  staff_id INTEGER NOT NULL REFERENCES staff(id),
  duty TEXT NOT NULL CHECK (duty IN ('duty_officer', 'duty_supervisor')),
  starts_at TEXT NOT NULL,
  ends_at TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX rota_when ON rota(duty, starts_at, ends_at);

ALTER TABLE staff ADD COLUMN unavailable_reason TEXT

