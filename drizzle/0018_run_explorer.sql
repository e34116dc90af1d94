-- 0018_run_explorer: the indexes behind the run explorer (every filter it offers reads its rows
-- newest first from an index, and pages by keyset on (started_at, id): /dashboard/admin/runs,
-- GET /api/admin/runs, lib/db/queries/run-explorer.ts).
--
-- Three indexes of 0000 change shape rather than being added beside them (the table holds
-- every run, and each index costs every insert):
-- - idx_cron_logs_started_at gains id, the keyset's tie-break: an unfiltered page is one
--   index range, whatever the page's depth. Retention's oldest-first batches walk it backwards.
-- - idx_cron_logs_status (status) served no query: a status holds a large share of the table,
--   so an index on it alone was never chosen. With started_at and id behind it, the newest
--   runs of one status are one index range.
-- - idx_cron_logs_job_status (job_name, status) gains started_at: the newest failed runs of
--   one job. Lookups by (job_name, status) use it as before.
DROP INDEX IF EXISTS idx_cron_logs_started_at;
--> statement-breakpoint
CREATE INDEX idx_cron_logs_started_at ON cron_job_logs (started_at DESC NULLS LAST, id DESC NULLS LAST);
--> statement-breakpoint
DROP INDEX IF EXISTS idx_cron_logs_status;
--> statement-breakpoint
CREATE INDEX idx_cron_logs_status ON cron_job_logs (status, started_at DESC NULLS LAST, id DESC NULLS LAST);
--> statement-breakpoint
DROP INDEX IF EXISTS idx_cron_logs_job_status;
--> statement-breakpoint
CREATE INDEX idx_cron_logs_job_status ON cron_job_logs (job_name, status, started_at DESC NULLS LAST);
--> statement-breakpoint
-- Runs an operator or a recovery started (manual, retry, replay, catchup, backfill) are a small
-- share of the table: a partial index holds only them. The scheduler's own triggers (schedule,
-- tick) are most rows, and a filter on them reads the started_at index.
CREATE INDEX IF NOT EXISTS idx_cron_logs_trigger_started ON cron_job_logs (trigger, started_at DESC NULLS LAST, id DESC NULLS LAST)
  WHERE trigger NOT IN ('schedule', 'tick');
--> statement-breakpoint
-- Error text search ("connection refused" in any failed run): a trigram index answers a
-- substring match without reading every failed run's message. pg_trgm ships with Postgres
-- and every managed service offers it; where it cannot be created (no privilege, an embedded
-- build without it), the search still works, reading the failed runs newest first.
DO $$
BEGIN
  BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
  EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm is not available (%): the run explorer searches error text without an index', SQLERRM;
  END;
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
    EXECUTE 'CREATE INDEX IF NOT EXISTS idx_cron_logs_error_trgm ON cron_job_logs USING gin (error_message gin_trgm_ops) WHERE error_message IS NOT NULL';
  END IF;
END
$$;
