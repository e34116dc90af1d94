-- 0012_dead_letter_insight: the error fingerprint that groups dead-letter reasons, and the
-- indexes behind the dead-letter insight and the duration-regression check.
--
-- crondeck_error_fingerprint is the one home of the fingerprint rule: the admin API, the
-- dashboard, `crondeck dlq insight` and the daily digest all group by it in SQL
-- (lib/db/queries/dead-letter-insight.ts). Two failures are "the same reason" when their
-- messages differ only in values: quoted values, uuids, timestamps, hex ids and numbers are
-- replaced by placeholders, in that order (a uuid holds hex runs and digits, a timestamp
-- numbers), whitespace is collapsed and the result is capped at 200 characters.
-- Postgres ARE syntax: \m / \M are word boundaries, (?=...) a lookahead; standard_conforming_strings
-- is on, so backslashes are literal in these strings. IMMUTABLE: the same text, the same fingerprint.
CREATE OR REPLACE FUNCTION crondeck_error_fingerprint(p_message text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT left(btrim(
    regexp_replace(
    regexp_replace(
    regexp_replace(
    regexp_replace(
    regexp_replace(
    regexp_replace(
    regexp_replace(coalesce(p_message, ''),
      '"[^"\n]*"|''[^''\n]*''|`[^`\n]*`', '<str>', 'g'),
      '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}', '<uuid>', 'g'),
      '\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?', '<time>', 'g'),
      '\m0[xX][0-9a-fA-F]+\M', '<hex>', 'g'),
      '\m(?=[0-9a-fA-F]*[0-9])(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\M', '<hex>', 'g'),
      '\d+(\.\d+)?', '<n>', 'g'),
      '\s+', ' ', 'g')
  ), 200)
$$;
--> statement-breakpoint
-- The regression check (lib/db/queries/regression.ts) reads the p95 of a job's last N completed
-- runs after every completed run: this partial index answers it from the index alone (duration
-- included), without touching the failed, skipped and abandoned rows in between.
CREATE INDEX IF NOT EXISTS idx_cron_logs_job_completed ON cron_job_logs (job_name, started_at DESC) INCLUDE (duration_ms) WHERE status = 'completed';
--> statement-breakpoint
-- Entries per day across all jobs (the insight's window without ?job=).
CREATE INDEX IF NOT EXISTS idx_cron_dlq_created ON cron_dead_letters (created_at DESC);
