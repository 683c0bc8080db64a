-- 0003: what the webhook and the syncs store beyond the plan's columns, and the one billing rule.
-- Adoption-safe: columns and tables only if absent, the function replaced (it is ours).
ALTER TABLE calls
    ADD COLUMN IF NOT EXISTS provider_agent_id text,
    ADD COLUMN IF NOT EXISTS call_type text CHECK (call_type IN ('phone_call', 'web_call')),
    ADD COLUMN IF NOT EXISTS direction text CHECK (direction IN ('inbound', 'outbound')),
    ADD COLUMN IF NOT EXISTS call_status text,
    ADD COLUMN IF NOT EXISTS disconnection_reason text,
    ADD COLUMN IF NOT EXISTS transcript_object jsonb,
    ADD COLUMN IF NOT EXISTS call_analysis jsonb,
    ADD COLUMN IF NOT EXISTS sentiment text,
    ADD COLUMN IF NOT EXISTS call_successful boolean,
    ADD COLUMN IF NOT EXISTS in_voicemail boolean,
    ADD COLUMN IF NOT EXISTS latency jsonb,
    ADD COLUMN IF NOT EXISTS agent_version integer,
    -- how complete the stored data is (1 started, 2 ended, 3 analysed): an event of a lower rank
    -- only fills gaps, so late or repeated deliveries never regress a field
    ADD COLUMN IF NOT EXISTS data_rank smallint NOT NULL DEFAULT 0;

ALTER TABLE agents
    ADD COLUMN IF NOT EXISTS voice_id text,
    ADD COLUMN IF NOT EXISTS language text,
    ADD COLUMN IF NOT EXISTS is_published boolean,
    ADD COLUMN IF NOT EXISTS version integer;

-- Billing: seconds rounded up to the account's increment, times the per-minute rate of the
-- call's kind, in numeric (never float); NULL when the user has no billing account.
CREATE OR REPLACE FUNCTION billing_call_cost(p_user uuid, p_call_type text, p_direction text, p_seconds integer)
RETURNS numeric
LANGUAGE sql STABLE
AS $$
    SELECT round(
        (CASE
            WHEN p_call_type = 'web_call' THEN b.web_call_rate_per_minute
            WHEN p_direction = 'outbound' THEN b.outbound_rate_per_minute
            ELSE b.inbound_rate_per_minute
        END)
        * (ceil(greatest(p_seconds, 0)::numeric / b.billing_increment_seconds) * b.billing_increment_seconds)
        / 60, 4)
    FROM billing_accounts b
    WHERE b.user_id = p_user AND p_seconds IS NOT NULL
$$;

-- Every verified provider delivery, kept raw with what became of it.
CREATE TABLE IF NOT EXISTS webhook_inbox (
    id bigserial PRIMARY KEY,
    provider text NOT NULL DEFAULT 'retell',
    event text NOT NULL,
    call_id text,
    provider_agent_id text,
    user_id uuid REFERENCES auth.users (id) ON DELETE SET NULL,
    body text NOT NULL,
    signature_ts bigint,
    status text NOT NULL CHECK (status IN ('applied', 'unassigned', 'ignored')),
    received_at timestamptz NOT NULL DEFAULT now(),
    applied_at timestamptz
);
CREATE INDEX IF NOT EXISTS idx_webhook_inbox_unassigned ON webhook_inbox (provider_agent_id) WHERE status = 'unassigned';
CREATE INDEX IF NOT EXISTS idx_webhook_inbox_call ON webhook_inbox (call_id);

-- Where each user's sync stands, per provider, and what each run did.
CREATE TABLE IF NOT EXISTS sync_state (
    user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    provider text NOT NULL,
    cursor_ms bigint,
    last_sync_at timestamptz,
    last_status text,
    last_error text,
    PRIMARY KEY (user_id, provider)
);

CREATE TABLE IF NOT EXISTS sync_runs (
    id bigserial PRIMARY KEY,
    user_id uuid REFERENCES auth.users (id) ON DELETE SET NULL,
    provider text NOT NULL,
    trigger text NOT NULL CHECK (trigger IN ('schedule', 'manual', 'cli')),
    requested_by uuid,
    worker text,
    status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'ok', 'error')),
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    calls_seen integer NOT NULL DEFAULT 0,
    calls_inserted integer NOT NULL DEFAULT 0,
    calls_updated integer NOT NULL DEFAULT 0,
    pages integer NOT NULL DEFAULT 0,
    retries integer NOT NULL DEFAULT 0,
    error text
);
CREATE INDEX IF NOT EXISTS idx_sync_runs_user ON sync_runs (user_id, started_at DESC);

-- Every use of a stored provider secret: who, which service, why, when (never the secret).
CREATE TABLE IF NOT EXISTS key_usage_audit (
    id bigserial PRIMARY KEY,
    user_id uuid,
    service text NOT NULL,
    actor_id uuid,
    actor_kind text NOT NULL,
    purpose text NOT NULL,
    function_name text NOT NULL,
    request_id text,
    used_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_key_usage_audit_user ON key_usage_audit (user_id, used_at DESC);
