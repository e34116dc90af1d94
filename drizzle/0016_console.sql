-- 0016_console: a run that did not finish stays out of duration statistics.
--
-- An abandoned run's duration_ms is the time from its start until the sweep or a claim found
-- its lease expired, not how long the job took: one such run of hours among hundreds of
-- one-second runs moves the average by minutes while the p95 stays put (issue 15 saw "avg
-- 11 min 47 s against p95 1 min 11 s"). Durations
-- count for runs whose holder recorded their end: completed, failed and timed out (a timed-out
-- run's duration is the real time it was given, its timeout). Abandoned runs still count as
-- failures and in the abandoned column; only duration_sum_ms, duration_count and
-- duration_hist leave them out, and so do the seed views and functions that average durations.
-- The rollups are rebuilt at the end so existing data follows the rule.
-- The rule, in one place: a run's duration counts when its holder recorded the end.
CREATE OR REPLACE FUNCTION crondeck_counts_duration(p_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$ SELECT p_status IN ('completed', 'failed', 'timed_out') $$;

--> statement-breakpoint
CREATE OR REPLACE FUNCTION crondeck_stats_apply(p_job text, p_started timestamptz, p_status text, p_duration integer, p_sign integer)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_ok integer := CASE WHEN p_status = 'completed' THEN p_sign ELSE 0 END;
  v_fail integer := CASE WHEN p_status IN ('failed', 'timed_out', 'abandoned') THEN p_sign ELSE 0 END;
  v_timed integer := CASE WHEN p_status = 'timed_out' THEN p_sign ELSE 0 END;
  v_aband integer := CASE WHEN p_status = 'abandoned' THEN p_sign ELSE 0 END;
  v_missed integer := CASE WHEN p_status = 'missed' THEN p_sign ELSE 0 END;
  v_timed_run boolean := crondeck_counts_duration(p_status) AND p_duration IS NOT NULL;
  v_idx integer := CASE WHEN v_timed_run THEN crondeck_duration_bucket(p_duration) END;
  v_sum bigint := CASE WHEN v_timed_run THEN p_sign * p_duration::bigint ELSE 0 END;
  v_count integer := CASE WHEN v_timed_run THEN p_sign ELSE 0 END;
BEGIN
    INSERT INTO cron_job_stats_hourly AS s (job_name, bucket, successes, failures, timed_out, abandoned, missed, duration_sum_ms, duration_count, duration_hist)
    VALUES (p_job, date_trunc('hour', p_started, 'UTC'), v_ok, v_fail, v_timed, v_aband, v_missed, v_sum, v_count, CASE WHEN v_idx IS NOT NULL THEN array_fill(p_sign, ARRAY[1], ARRAY[v_idx]) END)
    ON CONFLICT (job_name, bucket) DO UPDATE SET
      successes = s.successes + v_ok, failures = s.failures + v_fail, timed_out = s.timed_out + v_timed, abandoned = s.abandoned + v_aband,
      missed = s.missed + v_missed, duration_sum_ms = s.duration_sum_ms + v_sum, duration_count = s.duration_count + v_count,
      duration_hist = crondeck_hist_add(s.duration_hist, v_idx, p_sign);
    INSERT INTO cron_job_stats_daily AS s (job_name, bucket, successes, failures, timed_out, abandoned, missed, duration_sum_ms, duration_count, duration_hist)
    VALUES (p_job, date_trunc('day', p_started, 'UTC'), v_ok, v_fail, v_timed, v_aband, v_missed, v_sum, v_count, CASE WHEN v_idx IS NOT NULL THEN array_fill(p_sign, ARRAY[1], ARRAY[v_idx]) END)
    ON CONFLICT (job_name, bucket) DO UPDATE SET
      successes = s.successes + v_ok, failures = s.failures + v_fail, timed_out = s.timed_out + v_timed, abandoned = s.abandoned + v_aband,
      missed = s.missed + v_missed, duration_sum_ms = s.duration_sum_ms + v_sum, duration_count = s.duration_count + v_count,
      duration_hist = crondeck_hist_add(s.duration_hist, v_idx, p_sign);
END $$;

--> statement-breakpoint
CREATE OR REPLACE FUNCTION crondeck_stats_rebuild(p_jobs text[] DEFAULT NULL, p_days timestamptz[] DEFAULT NULL)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  v_rows integer;
BEGIN
  IF p_jobs IS NULL THEN
    DELETE FROM cron_job_stats_hourly;
    DELETE FROM cron_job_stats_daily;
  ELSE
    DELETE FROM cron_job_stats_hourly s USING unnest(p_jobs, p_days) AS a(job_name, day)
     WHERE s.job_name = a.job_name AND s.bucket >= a.day AND s.bucket < a.day + interval '24 hours';
    DELETE FROM cron_job_stats_daily s USING unnest(p_jobs, p_days) AS a(job_name, day)
     WHERE s.job_name = a.job_name AND s.bucket = a.day;
  END IF;
  INSERT INTO cron_job_stats_hourly (job_name, bucket, successes, failures, timed_out, abandoned, missed, duration_sum_ms, duration_count, duration_hist)
  SELECT l.job_name, date_trunc('hour', l.started_at, 'UTC') AS bucket,
         count(*) FILTER (WHERE l.status = 'completed'),
         count(*) FILTER (WHERE l.status IN ('failed', 'timed_out', 'abandoned')),
         count(*) FILTER (WHERE l.status = 'timed_out'),
         count(*) FILTER (WHERE l.status = 'abandoned'),
         count(*) FILTER (WHERE l.status = 'missed'),
         coalesce(sum(l.duration_ms) FILTER (WHERE crondeck_counts_duration(l.status)), 0),
         count(l.duration_ms) FILTER (WHERE crondeck_counts_duration(l.status)),
         crondeck_hist_agg(crondeck_duration_bucket(l.duration_ms), 1) FILTER (WHERE crondeck_counts_duration(l.status) AND l.duration_ms IS NOT NULL)
    FROM cron_job_logs l
   WHERE l.status IN ('completed', 'failed', 'timed_out', 'abandoned', 'missed')
     AND (p_jobs IS NULL OR EXISTS (
           SELECT 1 FROM unnest(p_jobs, p_days) AS a(job_name, day)
            WHERE l.job_name = a.job_name AND l.started_at >= a.day AND l.started_at < a.day + interval '24 hours'))
   GROUP BY 1, 2;
  GET DIAGNOSTICS v_rows = ROW_COUNT;
  -- Days from their hours: counts add up, histograms merge index by index.
  INSERT INTO cron_job_stats_daily (job_name, bucket, successes, failures, timed_out, abandoned, missed, duration_sum_ms, duration_count, duration_hist)
  SELECT h.job_name, h.day, sum(h.successes), sum(h.failures), sum(h.timed_out), sum(h.abandoned), sum(h.missed),
         sum(h.duration_sum_ms), sum(h.duration_count),
         (SELECT crondeck_hist_agg(x.idx, x.n) FROM (
            SELECT array_lower(s.duration_hist, 1) + u.ord::int - 1 AS idx, sum(u.n)::int AS n
            FROM cron_job_stats_hourly s CROSS JOIN LATERAL unnest(s.duration_hist) WITH ORDINALITY AS u(n, ord)
            WHERE s.job_name = h.job_name AND s.bucket >= h.day AND s.bucket < h.day + interval '24 hours' AND u.n IS NOT NULL AND u.n <> 0
            GROUP BY 1) x)
    FROM (SELECT s.*, date_trunc('day', s.bucket, 'UTC') AS day FROM cron_job_stats_hourly s) h
   WHERE p_jobs IS NULL OR EXISTS (SELECT 1 FROM unnest(p_jobs, p_days) AS a(job_name, day) WHERE h.job_name = a.job_name AND h.day = a.day)
   GROUP BY h.job_name, h.day;
  RETURN v_rows;
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
           coalesce(sum(o.duration_ms) FILTER (WHERE crondeck_counts_duration(o.status)), 0)::bigint AS duration_sum_ms,
           count(o.duration_ms) FILTER (WHERE crondeck_counts_duration(o.status))::int AS duration_count,
           crondeck_hist_agg(crondeck_duration_bucket(o.duration_ms), 1) FILTER (WHERE crondeck_counts_duration(o.status) AND o.duration_ms IS NOT NULL) AS hist
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
           coalesce(sum(o.duration_ms) FILTER (WHERE crondeck_counts_duration(o.status)), 0)::bigint AS duration_sum_ms,
           count(o.duration_ms) FILTER (WHERE crondeck_counts_duration(o.status))::int AS duration_count,
           crondeck_hist_agg(crondeck_duration_bucket(o.duration_ms), 1) FILTER (WHERE crondeck_counts_duration(o.status) AND o.duration_ms IS NOT NULL) AS hist
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

--> statement-breakpoint
CREATE OR REPLACE VIEW cron_job_success_rates AS
SELECT
  l.job_name,
  (count(*) FILTER (WHERE l.status = 'completed'))::int AS successful_runs,
  (count(*) FILTER (WHERE l.status IN ('failed', 'timed_out', 'abandoned')))::int AS failed_runs,
  (count(*) FILTER (WHERE l.status IN ('completed', 'failed', 'timed_out', 'abandoned')))::int AS total_runs,
  round(
    100.0 * count(*) FILTER (WHERE l.status = 'completed')
      / NULLIF(count(*) FILTER (WHERE l.status IN ('completed', 'failed', 'timed_out', 'abandoned')), 0),
    2
  ) AS success_rate_percentage,
  (round(avg(l.duration_ms) FILTER (WHERE crondeck_counts_duration(l.status))))::int AS avg_duration_ms,
  max(l.started_at) FILTER (WHERE l.status NOT IN ('skipped', 'missed')) AS last_run_at
FROM cron_job_logs l
WHERE l.started_at >= now() - interval '30 days'
GROUP BY l.job_name
HAVING count(*) FILTER (WHERE l.status IN ('completed', 'failed', 'timed_out', 'abandoned')) > 0;

--> statement-breakpoint
CREATE OR REPLACE FUNCTION get_cron_job_stats(p_job_name text, p_days integer DEFAULT 30)
RETURNS TABLE (
  total_runs integer,
  successful_runs integer,
  failed_runs integer,
  success_rate numeric,
  avg_duration_ms integer,
  min_duration_ms integer,
  max_duration_ms integer,
  last_run_at timestamptz,
  last_success_at timestamptz,
  last_failure_at timestamptz
)
LANGUAGE sql
STABLE
AS $$
  SELECT
    (count(*) FILTER (WHERE l.status IN ('completed', 'failed', 'timed_out', 'abandoned')))::int,
    (count(*) FILTER (WHERE l.status = 'completed'))::int,
    (count(*) FILTER (WHERE l.status IN ('failed', 'timed_out', 'abandoned')))::int,
    round(
      100.0 * count(*) FILTER (WHERE l.status = 'completed')
        / NULLIF(count(*) FILTER (WHERE l.status IN ('completed', 'failed', 'timed_out', 'abandoned')), 0),
      2
    ),
    (round(avg(l.duration_ms) FILTER (WHERE crondeck_counts_duration(l.status))))::int,
    min(l.duration_ms) FILTER (WHERE crondeck_counts_duration(l.status)),
    max(l.duration_ms) FILTER (WHERE crondeck_counts_duration(l.status)),
    max(l.started_at) FILTER (WHERE l.status NOT IN ('skipped', 'missed')),
    max(l.completed_at) FILTER (WHERE l.status = 'completed'),
    max(l.completed_at) FILTER (WHERE l.status IN ('failed', 'timed_out', 'abandoned'))
  FROM cron_job_logs l
  WHERE l.job_name = p_job_name
    AND l.started_at >= now() - make_interval(days => p_days)
$$;

--> statement-breakpoint
CREATE OR REPLACE FUNCTION get_cron_job_timeline(p_job_name text, p_hours integer DEFAULT 24)
RETURNS TABLE (
  time_bucket timestamptz,
  executions integer,
  successes integer,
  failures integer,
  avg_duration_ms integer
)
LANGUAGE sql
STABLE
AS $$
  WITH buckets AS (
    SELECT b AS bucket
    FROM generate_series(
      date_trunc('hour', now()) - make_interval(hours => p_hours - 1),
      date_trunc('hour', now()),
      interval '1 hour'
    ) AS b
  )
  SELECT
    bk.bucket,
    (count(l.id))::int,
    (count(l.id) FILTER (WHERE l.status = 'completed'))::int,
    (count(l.id) FILTER (WHERE l.status IN ('failed', 'timed_out', 'abandoned')))::int,
    (round(avg(l.duration_ms) FILTER (WHERE crondeck_counts_duration(l.status))))::int
  FROM buckets bk
  LEFT JOIN cron_job_logs l
    ON l.job_name = p_job_name
   AND l.started_at >= bk.bucket
   AND l.started_at < bk.bucket + interval '1 hour'
   AND l.status IN ('completed', 'failed', 'timed_out', 'abandoned')
  GROUP BY bk.bucket
  ORDER BY bk.bucket
$$;

--> statement-breakpoint
SELECT crondeck_stats_rebuild();
