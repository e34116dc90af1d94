-- 0011_retention: the rollups follow a log-retention delete by subtracting the deleted rows,
-- instead of rebuilding the job-days they were in.
--
-- Retention (lib/db/retention.ts) deletes cron_job_logs in batches, each its own statement and
-- its own transaction. 0004's statement trigger rebuilt every touched job-day from
-- cron_job_logs, and that rebuild reads the whole table through its EXISTS filter: issue 16
-- measured 398,560 of 400,000 rows removed by filter to rebuild one job-day, and 156 s for a
-- week's cleanup at 3 million rows (2.6 s with the trigger off). The rollups equal an aggregate
-- over the rows in a rolled-up final status (0004's invariant), so a deleted row's share is
-- known from the row itself: its hour, day, status and duration. The trigger groups the
-- statement's transition table by (job, hour) and (job, day) and takes those sums out: the
-- cost is one pass over the batch plus one update per touched rollup row, whatever the size
-- of cron_job_logs. Rollup rows left with nothing in them are deleted, as a rebuild would
-- leave them out. crondeck_stats_rebuild stays for a repair by hand.
--
-- A deleted row is locked by its DELETE, so no update of it (final -> final) can run between
-- the subtraction and the commit; concurrent finishes of other rows add through their own
-- upserts on the same rollup rows, which the UPDATE below waits for and then adds to.

-- Adds p_other, index by index and times p_sign, into the sparse histogram p_hist.
CREATE OR REPLACE FUNCTION crondeck_hist_merge(p_hist integer[], p_other integer[], p_sign integer) RETURNS integer[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  i integer;
BEGIN
  IF p_other IS NULL THEN RETURN p_hist; END IF;
  FOR i IN array_lower(p_other, 1) .. array_upper(p_other, 1) LOOP
    IF p_other[i] IS NOT NULL AND p_other[i] <> 0 THEN
      p_hist := crondeck_hist_add(p_hist, i, p_sign * p_other[i]);
    END IF;
  END LOOP;
  RETURN p_hist;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION crondeck_stats_on_log_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  -- The deleted rows' shares per (job, hour).
  WITH gone AS (
    SELECT o.job_name, date_trunc('hour', o.started_at, 'UTC') AS bucket,
           count(*) FILTER (WHERE o.status = 'completed')::int AS successes,
           count(*) FILTER (WHERE o.status IN ('failed', 'timed_out', 'abandoned'))::int AS failures,
           count(*) FILTER (WHERE o.status = 'timed_out')::int AS timed_out,
           count(*) FILTER (WHERE o.status = 'abandoned')::int AS abandoned,
           count(*) FILTER (WHERE o.status = 'missed')::int AS missed,
           coalesce(sum(o.duration_ms) FILTER (WHERE o.status IN ('completed', 'failed', 'timed_out', 'abandoned')), 0)::bigint AS duration_sum_ms,
           count(o.duration_ms) FILTER (WHERE o.status IN ('completed', 'failed', 'timed_out', 'abandoned'))::int AS duration_count,
           crondeck_hist_agg(crondeck_duration_bucket(o.duration_ms), 1) FILTER (WHERE o.status IN ('completed', 'failed', 'timed_out', 'abandoned') AND o.duration_ms IS NOT NULL) AS hist
      FROM old_rows o
     WHERE o.status IN ('completed', 'failed', 'timed_out', 'abandoned', 'missed')
     GROUP BY 1, 2
  )
  UPDATE cron_job_stats_hourly s
     SET successes = s.successes - g.successes, failures = s.failures - g.failures, timed_out = s.timed_out - g.timed_out,
         abandoned = s.abandoned - g.abandoned, missed = s.missed - g.missed, duration_sum_ms = s.duration_sum_ms - g.duration_sum_ms,
         duration_count = s.duration_count - g.duration_count, duration_hist = crondeck_hist_merge(s.duration_hist, g.hist, -1)
    FROM gone g
   WHERE s.job_name = g.job_name AND s.bucket = g.bucket;

  -- The same per (job, day).
  WITH gone AS (
    SELECT o.job_name, date_trunc('day', o.started_at, 'UTC') AS bucket,
           count(*) FILTER (WHERE o.status = 'completed')::int AS successes,
           count(*) FILTER (WHERE o.status IN ('failed', 'timed_out', 'abandoned'))::int AS failures,
           count(*) FILTER (WHERE o.status = 'timed_out')::int AS timed_out,
           count(*) FILTER (WHERE o.status = 'abandoned')::int AS abandoned,
           count(*) FILTER (WHERE o.status = 'missed')::int AS missed,
           coalesce(sum(o.duration_ms) FILTER (WHERE o.status IN ('completed', 'failed', 'timed_out', 'abandoned')), 0)::bigint AS duration_sum_ms,
           count(o.duration_ms) FILTER (WHERE o.status IN ('completed', 'failed', 'timed_out', 'abandoned'))::int AS duration_count,
           crondeck_hist_agg(crondeck_duration_bucket(o.duration_ms), 1) FILTER (WHERE o.status IN ('completed', 'failed', 'timed_out', 'abandoned') AND o.duration_ms IS NOT NULL) AS hist
      FROM old_rows o
     WHERE o.status IN ('completed', 'failed', 'timed_out', 'abandoned', 'missed')
     GROUP BY 1, 2
  )
  UPDATE cron_job_stats_daily s
     SET successes = s.successes - g.successes, failures = s.failures - g.failures, timed_out = s.timed_out - g.timed_out,
         abandoned = s.abandoned - g.abandoned, missed = s.missed - g.missed, duration_sum_ms = s.duration_sum_ms - g.duration_sum_ms,
         duration_count = s.duration_count - g.duration_count, duration_hist = crondeck_hist_merge(s.duration_hist, g.hist, -1)
    FROM gone g
   WHERE s.job_name = g.job_name AND s.bucket = g.bucket;

  -- Rollup rows the delete emptied go, as a rebuild would not write them.
  DELETE FROM cron_job_stats_hourly s
   USING (SELECT DISTINCT o.job_name, date_trunc('hour', o.started_at, 'UTC') AS bucket FROM old_rows o
           WHERE o.status IN ('completed', 'failed', 'timed_out', 'abandoned', 'missed')) g
   WHERE s.job_name = g.job_name AND s.bucket = g.bucket
     AND s.successes = 0 AND s.failures = 0 AND s.missed = 0 AND s.duration_count = 0;
  DELETE FROM cron_job_stats_daily s
   USING (SELECT DISTINCT o.job_name, date_trunc('day', o.started_at, 'UTC') AS bucket FROM old_rows o
           WHERE o.status IN ('completed', 'failed', 'timed_out', 'abandoned', 'missed')) g
   WHERE s.job_name = g.job_name AND s.bucket = g.bucket
     AND s.successes = 0 AND s.failures = 0 AND s.missed = 0 AND s.duration_count = 0;
  RETURN NULL;
END $$;
