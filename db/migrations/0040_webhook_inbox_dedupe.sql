-- 0040 (issue 16, finding 7): a verified delivery is stored once. A replay of the same signed
-- body inside the 5-minute signature window used to add an inbox row and a key-use audit row
-- each time (20 replays of one 2 MB delivery: 41.5 MB). The webhook stores the SHA-256 of every
-- delivery's bytes (body_sha256 of 0030 is kept for ignored deliveries only) with ON CONFLICT
-- DO NOTHING, and writes the audit row only when the inbox row is new. Rows stored before this
-- migration have no hash and never conflict, so the index builds whatever they hold.
ALTER TABLE webhook_inbox ADD COLUMN IF NOT EXISTS delivery_sha256 bytea;
CREATE UNIQUE INDEX IF NOT EXISTS idx_webhook_inbox_delivery_sha256
    ON webhook_inbox (provider, delivery_sha256);
