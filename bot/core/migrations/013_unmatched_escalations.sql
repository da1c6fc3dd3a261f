-- Issue 11, item 4: a crisis from an unknown number is an escalation like any other (RED
-- deadline, the chain, acknowledged and resolved), so client_id and officer_id may be NULL;
-- such a row names the message that raised it (inbound_id). Linking the number to a client
-- fills client_id in. SQLite cannot drop NOT NULL in place: rebuild the table (the migration
-- runner turns foreign keys off around it and checks them before committing), keeping ids, so
-- findings and escalation_notices still point at the same rows.
CREATE TABLE escalations_new (
  id INTEGER PRIMARY KEY,
  client_id INTEGER REFERENCES clients(id),
  severity TEXT NOT NULL CHECK (severity IN ('RED', 'AMBER', 'ROUTINE')),
  reason TEXT NOT NULL,
  source TEXT NOT NULL,
  officer_id INTEGER REFERENCES staff(id),
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
  note TEXT,
  inbound_id INTEGER REFERENCES inbound(id),
  CHECK (client_id IS NOT NULL OR inbound_id IS NOT NULL)
);
INSERT INTO escalations_new (id, client_id, severity, reason, source, officer_id, status, level,
  created_at, updated_at, notified_at, acknowledged_at, acknowledged_by, ack_method, resolved_at,
  resolved_by, outcome, note)
  SELECT id, client_id, severity, reason, source, officer_id, status, level, created_at,
  updated_at, notified_at, acknowledged_at, acknowledged_by, ack_method, resolved_at,
  resolved_by, outcome, note FROM escalations;
DROP TABLE escalations;
ALTER TABLE escalations_new RENAME TO escalations;
CREATE UNIQUE INDEX escalations_one_open ON escalations(client_id, reason)
  WHERE status <> 'resolved';
CREATE INDEX escalations_status ON escalations(status, severity);
CREATE INDEX escalations_inbound ON escalations(inbound_id) WHERE inbound_id IS NOT NULL;

-- Issue 11, item 3: at most one open question per person. A prompt (bot/aftercare/prompts.py)
-- started while another question is open waits with what to send (JSON: key, params, markup,
-- ttl) until the person's turn frees; `step` 'explain' marks the question that asks a mentor
-- why they are worried about the members they chose.
ALTER TABLE aftercare_prompts ADD COLUMN pending TEXT;
ALTER TABLE aftercare_prompts ADD COLUMN step TEXT;
CREATE INDEX aftercare_prompts_pending ON aftercare_prompts(client_id, id)
  WHERE pending IS NOT NULL
