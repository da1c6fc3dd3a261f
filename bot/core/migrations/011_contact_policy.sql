-- The contact policy (bot/core/contact.py): a client in custody gets nothing automated; their
-- officer is told instead. Set with `o2r client custody REF on|off`; a custody release clears it.
ALTER TABLE clients ADD COLUMN in_custody_since TEXT;
