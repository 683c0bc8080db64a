-- 0051: word timings (calls.transcript_object) compressed with lz4 again. 0050 set lz4 on the
-- column and then changed its type to json: ALTER COLUMN ... TYPE resets a column's compression
-- to the default (pglz), so every delivery's largest value was compressed with pglz after all
-- (perf of the webhook's statement: pglz_compress was its largest single cost). Values written
-- from now on are lz4; older ones stay readable as they are.
ALTER TABLE calls ALTER COLUMN transcript_object SET COMPRESSION lz4;
