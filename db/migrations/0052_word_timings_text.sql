-- 0052: word timings (calls.transcript_object) stored as the JSON text the functions write,
-- not parsed again by PostgreSQL on every write (issue 17). The webhook and the Retell sync
-- parse and check every delivery and call record in C, and write this column from json-c's
-- serialization of the checked array: PostgreSQL validating it again as json cost about as
-- much as building jsonb (bench/run's costs part). Readers get the same text
-- (transcript_object::text, get-call's word_timings). No query looks inside it.
-- This rewrites calls once, when the migration runs (json to text is an I/O conversion).
ALTER TABLE calls ALTER COLUMN transcript_object TYPE text USING transcript_object::text;
-- a type change resets a column's compression to the default (pglz; see 0051)
ALTER TABLE calls ALTER COLUMN transcript_object SET COMPRESSION lz4;
