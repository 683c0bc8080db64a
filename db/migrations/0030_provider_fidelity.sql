-- Provider fidelity (issue 15).

-- A user's sync stopped by the provider's daily request quota (HighLevel X-RateLimit-*) is
-- recorded as rate_limited, not as a failure: the next run resumes from the stored cursor.
ALTER TABLE sync_runs DROP CONSTRAINT sync_runs_status_check;
ALTER TABLE sync_runs ADD CONSTRAINT sync_runs_status_check
    CHECK (status IN ('running', 'ok', 'rate_limited', 'error'));

-- Ignored deliveries keep what identifies them (event, call id, agent, size, SHA-256 of the
-- raw body) but not the body: transcript_updated arrives on every turn with the whole call.
ALTER TABLE webhook_inbox
    ALTER COLUMN body DROP NOT NULL,
    ADD COLUMN body_bytes integer,
    ADD COLUMN body_sha256 text;
UPDATE webhook_inbox
SET body_bytes = octet_length(body),
    body_sha256 = encode(sha256(convert_to(body, 'UTF8')), 'hex'),
    body = NULL
WHERE status = 'ignored';
ALTER TABLE webhook_inbox ADD CONSTRAINT webhook_inbox_body_kept
    CHECK (body IS NOT NULL OR (status = 'ignored' AND body_sha256 IS NOT NULL));
