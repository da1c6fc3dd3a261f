-- Issue 11: nothing a client says goes unseen.
-- The officer inbox is a view of `inbound`: a message a person must read (outside a flow, a
-- misfit answer, a photo or voice note) carries why, who it was filed to, and when it was read.
ALTER TABLE inbound ADD COLUMN inbox TEXT;            -- 'outside_flow' | 'misfit' | 'media'
ALTER TABLE inbound ADD COLUMN inbox_staff_id INTEGER REFERENCES staff(id);
ALTER TABLE inbound ADD COLUMN read_at TEXT;
ALTER TABLE inbound ADD COLUMN read_by INTEGER REFERENCES staff(id);
-- The newest outbox id when the message arrived: the timeline's true order when an answer and
-- the next question share a timestamp (they are written in one transaction).
ALTER TABLE inbound ADD COLUMN after_outbox INTEGER;
CREATE INDEX inbound_unread ON inbound(client_id) WHERE inbox IS NOT NULL AND read_at IS NULL;
