-- Foundation: people, identities, inbound log, outbox, opt-outs, audit, link codes, timers.
-- Timestamps are UTC text 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (bot.clock.iso), so they sort as text.

CREATE TABLE staff (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('officer', 'supervisor', 'admin', 'mentor')),
  username TEXT UNIQUE,
  password_hash TEXT,
  available INTEGER NOT NULL DEFAULT 1,
  active INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL
);

CREATE TABLE clients (
  id INTEGER PRIMARY KEY,
  ref TEXT NOT NULL UNIQUE,
  first_name TEXT NOT NULL,
  officer_id INTEGER NOT NULL REFERENCES staff(id),
  stage TEXT NOT NULL DEFAULT 'referral' CHECK (stage IN (
    'referral', 'engagement', 'police_assessment', 'rehab_assessment', 'pre_admission',
    'in_rehab', 'completed', 'discharged_early', 'aftercare',
    'diverted', 'inactive', 'withdrawn', 'deceased')),
  status TEXT NOT NULL DEFAULT 'referral_waiting' CHECK (status IN (
    'referral_waiting', 'active', 'inactive', 'withdrawn')),
  area TEXT,
  referral_source TEXT,
  language TEXT NOT NULL DEFAULT 'en_GB',
  consent_at TEXT,
  consent_wording TEXT,
  consent_method TEXT,
  -- Discreet wording until the client says their phone is private: the safe default.
  discreet INTEGER NOT NULL DEFAULT 1,
  codeword TEXT,
  preferred_channel TEXT,
  checkin_time TEXT,
  quiet_start TEXT,
  quiet_end TEXT,
  heightened_until TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX clients_officer ON clients(officer_id);

CREATE TABLE stage_history (
  id INTEGER PRIMARY KEY,
  client_id INTEGER NOT NULL REFERENCES clients(id),
  from_stage TEXT,
  to_stage TEXT NOT NULL,
  reason TEXT NOT NULL,
  actor TEXT NOT NULL,
  at TEXT NOT NULL
);
CREATE INDEX stage_history_client ON stage_history(client_id, at);

-- A person can have several: an SMS number (E.164), a Telegram chat id, a simulator handle.
CREATE TABLE identities (
  id INTEGER PRIMARY KEY,
  client_id INTEGER REFERENCES clients(id),
  staff_id INTEGER REFERENCES staff(id),
  channel TEXT NOT NULL CHECK (channel IN ('sms', 'telegram', 'sim')),
  address TEXT NOT NULL,
  active INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  CHECK ((client_id IS NULL) <> (staff_id IS NULL))
);
CREATE UNIQUE INDEX identities_active_address ON identities(channel, address) WHERE active = 1;
CREATE INDEX identities_client ON identities(client_id);
CREATE INDEX identities_staff ON identities(staff_id);

-- Our own record of opt-outs, per identity (a client on one channel), not only the provider's.
CREATE TABLE opt_outs (
  identity_id INTEGER PRIMARY KEY REFERENCES identities(id),
  opted_out_at TEXT NOT NULL,
  reason TEXT NOT NULL
);

-- Every inbound message or update, stored before the webhook is answered; provider id dedupes.
CREATE TABLE inbound (
  id INTEGER PRIMARY KEY,
  channel TEXT NOT NULL,
  provider_id TEXT NOT NULL,
  address TEXT NOT NULL,
  kind TEXT NOT NULL DEFAULT 'text',
  body TEXT NOT NULL DEFAULT '',
  payload TEXT,
  identity_id INTEGER REFERENCES identities(id),
  client_id INTEGER REFERENCES clients(id),
  staff_id INTEGER REFERENCES staff(id),
  received_at TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'received' CHECK (status IN (
    'received', 'processed', 'unmatched', 'ignored', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  processed_at TEXT,
  error TEXT,
  UNIQUE (channel, provider_id)
);
CREATE INDEX inbound_client ON inbound(client_id, received_at);
CREATE INDEX inbound_pending ON inbound(status) WHERE status IN ('received', 'failed');
CREATE INDEX inbound_address ON inbound(channel, address);

-- Every outbound message, written in the same transaction as the change that caused it.
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY,
  channel TEXT NOT NULL CHECK (channel IN ('sms', 'telegram', 'sim')),
  address TEXT NOT NULL,
  identity_id INTEGER REFERENCES identities(id),
  client_id INTEGER REFERENCES clients(id),
  staff_id INTEGER REFERENCES staff(id),
  -- send: a new message; edit: replace the text of message `edit_of`; answer_callback: the
  -- small notice Telegram shows when a button is pressed (`ref` holds the callback query id).
  op TEXT NOT NULL DEFAULT 'send' CHECK (op IN ('send', 'edit', 'answer_callback')),
  ref TEXT,
  body TEXT NOT NULL,
  message_key TEXT,
  reply_markup TEXT,
  edit_of INTEGER REFERENCES outbox(id),
  priority INTEGER NOT NULL DEFAULT 0,
  safety INTEGER NOT NULL DEFAULT 0,
  segments INTEGER,
  status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN (
    'queued', 'sending', 'sent', 'failed', 'cancelled')),
  delivery_status TEXT,
  provider_id TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  maybe_sent INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT NOT NULL,
  last_error TEXT,
  dedupe_key TEXT UNIQUE,
  cause TEXT,
  created_at TEXT NOT NULL,
  sent_at TEXT,
  updated_at TEXT NOT NULL
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE status = 'queued';
CREATE INDEX outbox_recipient_open ON outbox(channel, address, id) WHERE status IN ('queued', 'sending');
CREATE INDEX outbox_provider ON outbox(provider_id);
CREATE INDEX outbox_client ON outbox(client_id, created_at);

CREATE TABLE outbox_attempts (
  id INTEGER PRIMARY KEY,
  outbox_id INTEGER NOT NULL REFERENCES outbox(id),
  at TEXT NOT NULL,
  outcome TEXT NOT NULL,
  detail TEXT
);
CREATE INDEX outbox_attempts_row ON outbox_attempts(outbox_id);

CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  object_kind TEXT,
  object_id INTEGER,
  detail TEXT
);
CREATE INDEX audit_object ON audit_log(object_kind, object_id);

-- One-time codes that link a Telegram chat to a person. Only a hash is stored.
CREATE TABLE link_codes (
  code_hash TEXT PRIMARY KEY,
  client_id INTEGER REFERENCES clients(id),
  staff_id INTEGER REFERENCES staff(id),
  expires_at TEXT NOT NULL,
  used_at TEXT,
  used_by TEXT,
  created_at TEXT NOT NULL
);

-- Every timer is a row: flow timeouts, reminders, missed-check-in windows, ack deadlines.
CREATE TABLE timers (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  client_id INTEGER REFERENCES clients(id),
  due_at TEXT NOT NULL,
  payload TEXT NOT NULL DEFAULT '{}',
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN (
    'pending', 'done', 'cancelled', 'dropped', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  outcome TEXT,
  created_at TEXT NOT NULL,
  done_at TEXT
);
CREATE INDEX timers_due ON timers(due_at) WHERE status = 'pending';
CREATE INDEX timers_client ON timers(client_id, kind);

-- Liveness of the background loops, for /healthz (a row, so the CLI can read it too).
CREATE TABLE heartbeats (
  name TEXT PRIMARY KEY,
  at TEXT NOT NULL
)
