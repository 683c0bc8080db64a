-- 0010: indexes for the dashboard's read API (list-calls, call-stats) at a million calls.
-- Both walk calls newest first by (started_at DESC, id DESC), the keyset of list-calls' cursor.
-- The INCLUDE columns are what call-stats sums, so its scans are index-only (no heap visits).

-- A client's calls are their assigned agents' calls (user_agents): list-calls reads each
-- agent's newest page from here, call-stats each agent's date range. Admins filtering by
-- agent use it too. (calls.user_id is the owner for provider sync, not who may see a call,
-- so no index leads with it.)
CREATE INDEX IF NOT EXISTS idx_calls_agent_started
    ON calls (agent_id, started_at DESC, id DESC)
    INCLUDE (source_platform, duration_seconds, cost, sentiment, call_successful);

-- Admins without a user: every call newest first, and date ranges across everyone.
CREATE INDEX IF NOT EXISTS idx_calls_started
    ON calls (started_at DESC, id DESC)
    INCLUDE (source_platform, duration_seconds, cost, sentiment, call_successful);

-- call-stats groups by the UTC day of started_at; without statistics on that expression the
-- planner expects one group per call and plans a sort of the whole range.
CREATE STATISTICS IF NOT EXISTS calls_started_day
    ON ((started_at AT TIME ZONE 'UTC')::date) FROM calls;

-- Search (q) is ILIKE '%text%' on summary and transcript: only trigram indexes serve a
-- pattern with a leading wildcard. pg_trgm is a trusted extension shipped with PostgreSQL
-- (and available on Supabase), so the database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX IF NOT EXISTS idx_calls_summary_trgm
    ON calls USING gin (summary gin_trgm_ops);
CREATE INDEX IF NOT EXISTS idx_calls_transcript_trgm
    ON calls USING gin (transcript gin_trgm_ops);
