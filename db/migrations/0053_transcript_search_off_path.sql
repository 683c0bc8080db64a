-- 0053: transcript search indexed off the webhook's request path (issue 17). The trigram GIN
-- index over calls.transcript was written inside every delivery's transaction (and, when its
-- fast-update list filled, merged there too). The transcripts are now indexed in a side table
-- that the webhook's serving threads fill in batches after they have answered
-- (common/search.c), and search stays complete for calls not indexed yet:
--   call_transcript_pending  a row per change of a call's transcript, written in the same
--                            transaction as the change (the triggers below, every writer);
--   call_transcript_search   the transcript of every call with no pending row, trigram
--                            indexed.
-- A call matches a search when its summary does, when it has no pending row and its indexed
-- transcript does, or when it has one and its own transcript does (calls_query.c). One indexer
-- at a time (a transaction-scoped advisory lock), so an older copy never overwrites a newer.
CREATE TABLE IF NOT EXISTS call_transcript_pending (
    id bigserial PRIMARY KEY,
    call_id uuid NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_call_transcript_pending_call ON call_transcript_pending (call_id);

CREATE TABLE IF NOT EXISTS call_transcript_search (
    call_id uuid PRIMARY KEY REFERENCES calls (id) ON DELETE CASCADE,
    transcript text NOT NULL
);
ALTER TABLE call_transcript_search ALTER COLUMN transcript SET COMPRESSION lz4;
INSERT INTO call_transcript_search (call_id, transcript)
    SELECT id, transcript FROM calls WHERE transcript IS NOT NULL
    ON CONFLICT (call_id) DO NOTHING;
CREATE INDEX IF NOT EXISTS idx_call_transcript_search_trgm
    ON call_transcript_search USING gin (transcript gin_trgm_ops);
DROP INDEX IF EXISTS idx_calls_transcript_trgm;

CREATE OR REPLACE FUNCTION calls_transcript_changed() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    INSERT INTO call_transcript_pending (call_id) VALUES (NEW.id);
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER calls_transcript_inserted AFTER INSERT ON calls
    FOR EACH ROW WHEN (NEW.transcript IS NOT NULL) EXECUTE FUNCTION calls_transcript_changed();
CREATE OR REPLACE TRIGGER calls_transcript_updated AFTER UPDATE OF transcript ON calls
    FOR EACH ROW WHEN (NEW.transcript IS DISTINCT FROM OLD.transcript)
    EXECUTE FUNCTION calls_transcript_changed();

-- derived data: no frontend reads it (search goes through list-calls and call-stats)
ALTER TABLE call_transcript_pending ENABLE ROW LEVEL SECURITY;
ALTER TABLE call_transcript_search ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON FUNCTION calls_transcript_changed() FROM PUBLIC;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon')
        AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
        REVOKE ALL ON call_transcript_pending, call_transcript_search FROM anon, authenticated;
        REVOKE ALL ON SEQUENCE call_transcript_pending_id_seq FROM anon, authenticated;
        REVOKE ALL ON FUNCTION calls_transcript_changed() FROM anon, authenticated;
    END IF;
END
$$;
