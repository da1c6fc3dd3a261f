-- PostgreSQL's version of 013_unmatched_escalations.sql: what SQLite needs a table rebuild for
-- is an ALTER here, ending on the same columns in the same order.
ALTER TABLE escalations ALTER COLUMN client_id DROP NOT NULL;
ALTER TABLE escalations ALTER COLUMN officer_id DROP NOT NULL;
ALTER TABLE escalations ADD COLUMN inbound_id BIGINT REFERENCES inbound(id);
ALTER TABLE escalations ADD CONSTRAINT escalations_client_or_inbound
  CHECK (client_id IS NOT NULL OR inbound_id IS NOT NULL);
CREATE INDEX escalations_inbound ON escalations(inbound_id) WHERE inbound_id IS NOT NULL;

ALTER TABLE aftercare_prompts ADD COLUMN pending TEXT;
ALTER TABLE aftercare_prompts ADD COLUMN step TEXT;
CREATE INDEX aftercare_prompts_pending ON aftercare_prompts(client_id, id)
  WHERE pending IS NOT NULL
