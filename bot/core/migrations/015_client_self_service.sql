-- Issue 16: the client's own changes. PAUSE [N] skips check-ins and scales up to and including
-- this local date (YYYY-MM-DD); the 28-day watch's safety question is never skipped.
ALTER TABLE clients ADD COLUMN paused_until TEXT;
