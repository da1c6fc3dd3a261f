-- Issue 18: several instances may share a PostgreSQL database. An outbox row being sent is
-- claimed until `claimed_until` (now + O2R_CLAIM_LEASE); a row still 'sending' after that is
-- taken back by any instance (its sender died) and queued again with maybe_sent.
ALTER TABLE outbox ADD COLUMN claimed_until TEXT;
CREATE INDEX outbox_sending ON outbox(claimed_until) WHERE status = 'sending'
