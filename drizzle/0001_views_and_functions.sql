-- Views and functions from the seed's "Database Schema" section.
-- Outcome rules shared by all of them:
--   successful = completed
--   failed     = failed, timed_out, abandoned
--   a "run" for counts and rates = successful + failed (finished runs only);
--   started, queued, retry_scheduled, skipped and missed are neither.
-- Runs on Postgres 15 and on PGlite; objects are not schema-qualified.

-- Every column of the runs that started in the last 7 days, newest first.
CREATE OR REPLACE VIEW recent_cron_executions AS
SELECT l.*
FROM cron_job_logs l
WHERE l.started_at >= now() - interval '7 days'
ORDER BY l.started_at DESC, l.id DESC;
--> statement-breakpoint

-- Per job, over the last 30 days: finished runs, success rate and average duration.
-- A job appears only when it has at least one finished run in the window.
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
  (round(avg(l.duration_ms) FILTER (WHERE l.status IN ('completed', 'failed', 'timed_out', 'abandoned'))))::int AS avg_duration_ms,
  max(l.started_at) FILTER (WHERE l.status NOT IN ('skipped', 'missed')) AS last_run_at
FROM cron_job_logs l
WHERE l.started_at >= now() - interval '30 days'
GROUP BY l.job_name
HAVING count(*) FILTER (WHERE l.status IN ('completed', 'failed', 'timed_out', 'abandoned')) > 0;
--> statement-breakpoint

-- The latest 100 runs that did not succeed, newest first.
CREATE OR REPLACE VIEW failed_cron_jobs AS
SELECT
  l.id,
  l.job_name,
  l.status,
  l.started_at,
  l.completed_at,
  l.duration_ms,
  l.error_message,
  l.attempts,
  l.scheduled_for,
  l.trigger
FROM cron_job_logs l
WHERE l.status IN ('failed', 'timed_out', 'abandoned')
ORDER BY l.started_at DESC, l.id DESC
LIMIT 100;
--> statement-breakpoint

-- Every run still holding status 'started', longest-running first. The seed limited
-- this to the last hour; a run is running while it holds the status, and
-- lease_expires_at tells whether it is stale.
CREATE OR REPLACE VIEW running_cron_jobs AS
SELECT
  l.id,
  l.job_name,
  l.started_at,
  (GREATEST(0, floor(extract(epoch FROM (now() - l.started_at)))))::int AS running_duration_seconds,
  l.scheduled_for,
  l.trigger,
  l.holder,
  l.lease_expires_at
FROM cron_job_logs l
WHERE l.status = 'started'
ORDER BY l.started_at ASC, l.id ASC;
--> statement-breakpoint

-- One job's statistics over the last p_days days. Always exactly one row:
-- zero counts and NULLs when the job has no runs in the window.
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
    (round(avg(l.duration_ms) FILTER (WHERE l.status IN ('completed', 'failed', 'timed_out', 'abandoned'))))::int,
    min(l.duration_ms) FILTER (WHERE l.status IN ('completed', 'failed', 'timed_out', 'abandoned')),
    max(l.duration_ms) FILTER (WHERE l.status IN ('completed', 'failed', 'timed_out', 'abandoned')),
    max(l.started_at) FILTER (WHERE l.status NOT IN ('skipped', 'missed')),
    max(l.started_at) FILTER (WHERE l.status = 'completed'),
    max(l.started_at) FILTER (WHERE l.status IN ('failed', 'timed_out', 'abandoned'))
  FROM cron_job_logs l
  WHERE l.job_name = p_job_name
    AND l.started_at >= now() - make_interval(days => p_days)
$$;
--> statement-breakpoint

-- One job's finished runs per hour over the last p_hours hours (the current hour
-- included), oldest first; hours without runs have zero counts and a NULL average.
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
    (round(avg(l.duration_ms)))::int
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

-- Deletes runs that started more than p_days days ago, a batch at a time, and returns
-- how many it deleted. Never deletes unfinished runs (started, queued, retry_scheduled)
-- nor a run that a pending dead letter points to. Rows locked by someone else are
-- skipped, not waited for.
CREATE OR REPLACE FUNCTION cleanup_old_cron_logs(p_days integer DEFAULT 90)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
  c_batch_size CONSTANT integer := 5000;
  v_cutoff timestamptz;
  v_deleted integer;
  v_total integer := 0;
BEGIN
  IF p_days IS NULL OR p_days < 1 THEN
    RAISE EXCEPTION 'cleanup_old_cron_logs: p_days must be at least 1, got %', p_days
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  v_cutoff := now() - make_interval(days => p_days);
  LOOP
    DELETE FROM cron_job_logs
    WHERE id IN (
      SELECT o.id
      FROM cron_job_logs o
      WHERE o.started_at < v_cutoff
        AND o.status NOT IN ('started', 'queued', 'retry_scheduled')
        AND NOT EXISTS (
          SELECT 1
          FROM cron_dead_letters d
          WHERE d.run_id = o.id
            AND d.recovery_status = 'pending'
        )
      LIMIT c_batch_size
      FOR UPDATE OF o SKIP LOCKED
    );
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    v_total := v_total + v_deleted;
    EXIT WHEN v_deleted < c_batch_size;
  END LOOP;
  RETURN v_total;
END;
$$;
--> statement-breakpoint

-- Enables or disables a job: creates its config row or updates it. Returns true.
CREATE OR REPLACE FUNCTION toggle_cron_job(p_job_name text, p_enabled boolean, p_user text DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
  IF p_job_name IS NULL OR p_job_name = '' THEN
    RAISE EXCEPTION 'toggle_cron_job: p_job_name is required' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_enabled IS NULL THEN
    RAISE EXCEPTION 'toggle_cron_job: p_enabled must be true or false' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  INSERT INTO cron_job_config AS c (job_name, enabled, last_modified_at, last_modified_by)
  VALUES (p_job_name, p_enabled, now(), p_user)
  ON CONFLICT (job_name) DO UPDATE
    SET enabled = EXCLUDED.enabled,
        last_modified_at = EXCLUDED.last_modified_at,
        last_modified_by = EXCLUDED.last_modified_by;
  RETURN true;
END;
$$;
