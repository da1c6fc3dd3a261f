-- Reminders and the programme calendar: appointments (one-off and recurring), the pre-admission
-- course (cohorts of weekly sessions, enrolments, attendance). Every reminder, check-in and
-- follow-up itself is a `timers` row (001); these tables hold what the reminders are about.

-- A recurring appointment (the monthly depot injection): the rule, and how far ahead its
-- occurrences have been written as `appointments` rows (the daily planner tops them up).
CREATE TABLE appointment_series (
  id INTEGER PRIMARY KEY,
  client_id INTEGER NOT NULL REFERENCES clients(id),
  kind TEXT NOT NULL,
  rule TEXT NOT NULL,
  place TEXT,
  with_whom TEXT,
  starts_on TEXT NOT NULL,
  planned_until TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'ended')),
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX appointment_series_active ON appointment_series(status, planned_until);

CREATE TABLE appointments (
  id INTEGER PRIMARY KEY,
  client_id INTEGER NOT NULL REFERENCES clients(id),
  kind TEXT NOT NULL CHECK (kind IN (
    'police_assessment', 'rehab_assessment', 'community_drug_service', 'depot_injection',
    'court', 'probation', 'housing', 'other')),
  at TEXT NOT NULL,
  place TEXT,
  with_whom TEXT,
  status TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN (
    'scheduled', 'cancelled', 'attended', 'missed')),
  -- Recurring: the series rule (copied for display) and the local date this occurrence stands
  -- for, so topping up the series never writes an occurrence twice, even after a reschedule.
  recurrence TEXT,
  series_id INTEGER REFERENCES appointment_series(id),
  occurrence_on TEXT,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (series_id, occurrence_on)
);
CREATE INDEX appointments_client ON appointments(client_id, at);
CREATE INDEX appointments_upcoming ON appointments(at) WHERE status = 'scheduled';

-- Pre-admission course: a cohort is (normally) four two-hour weekly sessions.
CREATE TABLE course_cohorts (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL
);

CREATE TABLE course_sessions (
  id INTEGER PRIMARY KEY,
  cohort_id INTEGER REFERENCES course_cohorts(id),
  starts_at TEXT NOT NULL,
  ends_at TEXT NOT NULL,
  place TEXT,
  status TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled')),
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX course_sessions_upcoming ON course_sessions(starts_at) WHERE status = 'scheduled';
CREATE INDEX course_sessions_cohort ON course_sessions(cohort_id, starts_at);

-- An enrolled client is invited to their next session until admitted (stage in_rehab or later);
-- the enrolment then ends. `cohort_id` (optional) is the cohort they are invited to first.
CREATE TABLE course_enrolments (
  id INTEGER PRIMARY KEY,
  client_id INTEGER NOT NULL REFERENCES clients(id),
  cohort_id INTEGER REFERENCES course_cohorts(id),
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'ended')),
  enrolled_at TEXT NOT NULL,
  ended_at TEXT,
  end_reason TEXT,
  created_by TEXT NOT NULL
);
CREATE UNIQUE INDEX course_enrolments_one_active ON course_enrolments(client_id)
  WHERE status = 'active';

CREATE TABLE course_attendance (
  session_id INTEGER NOT NULL REFERENCES course_sessions(id),
  client_id INTEGER NOT NULL REFERENCES clients(id),
  outcome TEXT NOT NULL CHECK (outcome IN ('attended', 'missed')),
  recorded_by TEXT NOT NULL,
  at TEXT NOT NULL,
  PRIMARY KEY (session_id, client_id)
);
CREATE INDEX course_attendance_client ON course_attendance(client_id, at);

