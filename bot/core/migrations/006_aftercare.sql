-- Aftercare groups and peer mentors (issue 7): mentors, groups, weekly meetings, attendance,
-- the questions the bot asks mentors outside the flow engine, recovery dates for milestones.

-- A graduate's mentor role. The staff row (role 'mentor') is what signs in to the panel and what
-- permissions check. The graduate stays a client: a phone number or Telegram chat has ONE owner
-- in `identities`, so the mentor is reached on the graduate's own client identity (nothing is
-- duplicated, and everything they send is still screened for crisis words first).
CREATE TABLE mentors (
  staff_id INTEGER PRIMARY KEY REFERENCES staff(id),
  client_id INTEGER NOT NULL REFERENCES clients(id),
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'stepped_down')),
  agreement_version TEXT NOT NULL,
  agreed_at TEXT NOT NULL,
  recorded_by TEXT NOT NULL,
  promoted_at TEXT NOT NULL,
  stepped_down_at TEXT,
  step_down_reason TEXT
);
CREATE UNIQUE INDEX mentors_one_active ON mentors(client_id) WHERE status = 'active';

-- A group meets weekly (weekday 0 = Monday, local HH:MM). chat_id: the Telegram group chat the
-- bot was added to and linked with a one-time code; chat_status 'removed' once the bot was
-- taken out of it (nothing is posted there any more).
CREATE TABLE aftercare_groups (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  weekday INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
  meets_at TEXT NOT NULL,
  place TEXT,
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed')),
  chat_id TEXT,
  chat_status TEXT CHECK (chat_status IN ('linked', 'removed')),
  chat_changed_at TEXT,
  planned_until TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX aftercare_groups_chat ON aftercare_groups(chat_id) WHERE chat_status = 'linked';

CREATE TABLE group_mentors (
  group_id INTEGER NOT NULL REFERENCES aftercare_groups(id),
  staff_id INTEGER NOT NULL REFERENCES staff(id),
  added_at TEXT NOT NULL,
  ended_at TEXT,
  PRIMARY KEY (group_id, staff_id)
);
CREATE INDEX group_mentors_staff ON group_mentors(staff_id);

-- A client is in at most one aftercare group at a time.
CREATE TABLE group_members (
  id INTEGER PRIMARY KEY,
  group_id INTEGER NOT NULL REFERENCES aftercare_groups(id),
  client_id INTEGER NOT NULL REFERENCES clients(id),
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'ended')),
  enrolled_at TEXT NOT NULL,
  ended_at TEXT,
  end_reason TEXT,
  created_by TEXT NOT NULL
);
CREATE UNIQUE INDEX group_members_one_active ON group_members(client_id) WHERE status = 'active';
CREATE INDEX group_members_group ON group_members(group_id, status);

-- One-time codes that link a Telegram group chat to a group (sent in the chat as /link CODE).
CREATE TABLE group_chat_codes (
  code_hash TEXT PRIMARY KEY,
  group_id INTEGER NOT NULL REFERENCES aftercare_groups(id),
  expires_at TEXT NOT NULL,
  used_at TEXT,
  used_by TEXT,
  created_at TEXT NOT NULL
);

-- Meetings are written out ahead from the weekly rule (topped up daily), one row per local date.
CREATE TABLE group_meetings (
  id INTEGER PRIMARY KEY,
  group_id INTEGER NOT NULL REFERENCES aftercare_groups(id),
  starts_at TEXT NOT NULL,
  occurrence_on TEXT NOT NULL,
  place TEXT,
  status TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled')),
  register_closed_at TEXT,
  created_at TEXT NOT NULL,
  UNIQUE (group_id, occurrence_on)
);
CREATE INDEX group_meetings_when ON group_meetings(group_id, starts_at);

CREATE TABLE meeting_attendance (
  meeting_id INTEGER NOT NULL REFERENCES group_meetings(id),
  client_id INTEGER NOT NULL REFERENCES clients(id),
  outcome TEXT NOT NULL CHECK (outcome IN ('attended', 'missed')),
  recorded_by TEXT NOT NULL,
  at TEXT NOT NULL,
  PRIMARY KEY (meeting_id, client_id)
);
CREATE INDEX meeting_attendance_client ON meeting_attendance(client_id, at);

-- A question the bot asked outside the flow engine: a mentor's register, "anyone you are worried
-- about?", the monthly wellbeing check, a client's recovery date. `client_id` is who was asked (a
-- mentor on their own client record). `roster`: JSON list of member client ids, in the numbered
-- order shown, so a reply "1 3" or a button means the same people whatever changed since.
CREATE TABLE aftercare_prompts (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('register', 'concern', 'wellbeing', 'recovery')),
  client_id INTEGER NOT NULL REFERENCES clients(id),
  staff_id INTEGER REFERENCES staff(id),
  group_id INTEGER REFERENCES aftercare_groups(id),
  meeting_id INTEGER REFERENCES group_meetings(id),
  roster TEXT,
  outbox_id INTEGER REFERENCES outbox(id),
  asked_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  answered_at TEXT
);
CREATE INDEX aftercare_prompts_open ON aftercare_prompts(client_id, asked_at)
  WHERE answered_at IS NULL;

-- Days in recovery count from a local date the client confirmed. share_in_group: they agreed to
-- a congratulation in their group chat on a milestone.
CREATE TABLE recovery_dates (
  client_id INTEGER PRIMARY KEY REFERENCES clients(id),
  since TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('proposed', 'confirmed', 'declined')),
  share_in_group INTEGER NOT NULL DEFAULT 0,
  proposed_by TEXT NOT NULL,
  proposed_at TEXT NOT NULL,
  answered_at TEXT
)
