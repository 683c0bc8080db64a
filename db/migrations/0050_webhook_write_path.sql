-- 0050: a lighter write per webhook delivery (issue 17), every guarantee kept. bench/run's
-- "cost" rows measure what each element of the webhook's statement costs.

-- The UNIQUE constraint on calls.retell_call_id (0002) already is a btree on that column, the one
-- the upsert's ON CONFLICT uses: idx_calls_retell_call_id is a second copy, written on every
-- insert and never chosen over the first.
DROP INDEX IF EXISTS idx_calls_retell_call_id;

-- Two values (highlevel, retell): no query is served better by it than by a scan of the
-- dashboard indexes (0010), which carry source_platform as an INCLUDE column.
DROP INDEX IF EXISTS idx_calls_source_platform;

-- The large values (transcripts, word timings, the raw delivery) are TOASTed: lz4 compresses
-- them several times faster than the default pglz at about the same size. Applies to values
-- written from now on; older ones stay readable as they are.
ALTER TABLE calls
    ALTER COLUMN transcript SET COMPRESSION lz4,
    ALTER COLUMN transcript_object SET COMPRESSION lz4;

-- Word timings (transcript_object) are stored and read whole, never queried inside: json keeps
-- them checked as JSON but skips building jsonb's binary form on every write (the upsert casts
-- $14 to json). Readers get the same JSON. This rewrites calls once, when the migration runs.
ALTER TABLE calls ALTER COLUMN transcript_object TYPE json USING transcript_object::json;
ALTER TABLE webhook_inbox ALTER COLUMN body SET COMPRESSION lz4;
