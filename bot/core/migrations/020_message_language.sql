-- Issue 17: the language of each message, shown on the client's timeline. outbox.language: the
-- catalog locale the text was actually rendered from (en_GB when an unreviewed translation fell
-- back to English); NULL for words a person typed or texts not from a catalog.
-- inbound.language: a best guess at the client's words, made once on arrival from the crisis
-- screen's own normalised words (en, pl, ro, ur, pa; ur-Latn / pa-Latn romanised, pa-Guru /
-- ur-Arab by script); NULL when unclear ("ok", "7").
ALTER TABLE outbox ADD COLUMN language TEXT;
ALTER TABLE inbound ADD COLUMN language TEXT;
