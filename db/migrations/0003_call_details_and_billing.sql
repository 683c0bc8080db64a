-- 0003: what the webhook and the syncs store beyond the plan's columns, and the one billing rule.
ALTER TABLE calls
    ADD COLUMN provider_agent_id text,
    ADD COLUMN call_type text CHECK (call_type IN ('phone_call', 'web_call')),
    ADD COLUMN direction text CHECK (direction IN ('inbound', 'outbound')),
    ADD COLUMN call_status text,
    ADD COLUMN disconnection_reason text,
    ADD COLUMN transcript_object jsonb,
    ADD COLUMN call_analysis jsonb,
    ADD COLUMN sentiment text,
    ADD COLUMN call_successful boolean,
    ADD COLUMN in_voicemail boolean,
    ADD COLUMN latency jsonb,
    ADD COLUMN agent_version integer,
    -- how complete the stored data is (1 started, 2 ended, 3 analysed): an event of a lower rank
    -- only fills gaps, so late or repeated deliveries never regress a field
    ADD COLUMN data_rank smallint NOT NULL DEFAULT 0;

ALTER TABLE agents
    ADD COLUMN voice_id text,
    ADD COLUMN language text,
    ADD COLUMN is_published boolean,
    ADD COLUMN version integer;

-- Billing: seconds rounded up to the account's increment, times the per-minute rate of the
-- call's kind, in numeric (never float); NULL when the user has no billing account.
CREATE FUNCTION billing_call_cost(p_user uuid, p_call_type text, p_direction text, p_seconds integer)
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
CREATE TABLE webhook_inbox (
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
CREATE INDEX idx_webhook_inbox_unassigned ON webhook_inbox (provider_agent_id) WHERE status = 'unassigned';
CREATE INDEX idx_webhook_inbox_call ON webhook_inbox (call_id);

-- Where each user's sync stands, per provider, and what each run did.
CREATE TABLE sync_state (
    user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    provider text NOT NULL,
    cursor_ms bigint,
    last_sync_at timestamptz,
    last_status text,
    last_error text,
    PRIMARY KEY (user_id, provider)
);

CREATE TABLE sync_runs (
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
CREATE INDEX idx_sync_runs_user ON sync_runs (user_id, started_at DESC);

-- Every use of a stored provider secret: who, which service, why, when (never the secret).
CREATE TABLE key_usage_audit (
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
CREATE INDEX idx_key_usage_audit_user ON key_usage_audit (user_id, used_at DESC);
