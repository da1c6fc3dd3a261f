-- Delivery you can trust: retry horizons, fallbacks to the other channel, reachability.

-- When the first attempt was claimed: the retry horizon (O2R_RETRY_HORIZON) and the Twilio
-- "did it already go?" lookup count from here, not from queueing (quiet hours hold rows).
ALTER TABLE outbox ADD COLUMN first_attempt_at TEXT;
-- A safety message re-sent on the person's other channel after this row failed.
ALTER TABLE outbox ADD COLUMN fallback_of INTEGER REFERENCES outbox(id);
CREATE UNIQUE INDEX outbox_fallback_once ON outbox(fallback_of) WHERE fallback_of IS NOT NULL;

-- Per identity (a person on one channel): failed deliveries in a row since the last good one;
-- `unreachable_since` is set once they reach the threshold (one finding per episode) and
-- cleared by the next delivered message.
ALTER TABLE identities ADD COLUMN delivery_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE identities ADD COLUMN failing_since TEXT;
ALTER TABLE identities ADD COLUMN unreachable_since TEXT;
