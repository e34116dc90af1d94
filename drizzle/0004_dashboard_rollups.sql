-- Hourly and daily rollups of finished runs, so the dashboard reads aggregates that grow
-- with time buckets instead of scanning every run.
--
-- Measured with 1,000,000 runs (bench/dashboard.ts): a 30-day window read from hourly rows
-- alone is 720 rows per job whose histograms unnest to ~11 elements each, about 90,000
-- elements for 12 jobs and 30-40 ms before anything else. So a window reads whole UTC days
-- from cron_job_stats_daily and only its ragged first hours from cron_job_stats_hourly: at
-- most 30 + 23 rows per job. The hourly table also serves the 48-hour timeline.
--
-- Tables cron_job_stats_hourly and cron_job_stats_daily (not in lib/db/schema.ts: only SQL
-- reads and writes them), the same columns; bucket is the UTC hour, or the UTC day, that
-- the runs started in (started_at, truncated):
--   successes             runs that completed
--   failures              runs that failed, timed out or were abandoned (the seed views' outcome rules)
--   timed_out, abandoned  the parts of failures with those statuses
--   missed                missed-slot rows (not a run)
--   duration_sum_ms, duration_count
--                         over finished runs (successes + failures) with a duration: avg = sum / count
--   duration_hist         counts of those durations in fixed log-scale buckets, 4 per doubling:
--                         index 0 holds 0 ms, index i >= 1 holds [2^((i-1)/4), 2^(i/4)) ms
--                         (crondeck_duration_bucket). Stored sparse: the array's lower bound is the
--                         lowest index in use (e.g. '[38:41]={3,NULL,7,1}'), so a job whose runs all
--                         take 1-2 s keeps a handful of elements, not 125. A p95 read from it is the
--                         geometric middle of its bucket: within about 9% (2^(1/8)) of the exact value.
-- Skip rows (duplicate deliveries, overlaps, paused jobs) are not rolled up: a burst of 100
-- triggers for one slot makes 99 skip rows at once, and counting them here would queue all
-- 99 losers on the same two rollup rows (measured: loser p50 +25-30 ms in a 100-burst).
-- A job page counts its skips from cron_job_logs through idx_cron_logs_job_skipped (below);
-- the 24-hour statistics count them from the rows of the day.
--
-- Kept exact by triggers on cron_job_logs: the rollups always equal an aggregate over the
-- rows that are in a rolled-up final status now. A row counts once it is in one (completed,
-- failed, timed_out, abandoned, missed), whether it was inserted that way (missed slots,
-- imported rows) or reached it by an update (the fenced finish, the abandoned-run sweep).
-- An update of a row already final takes its old values out before adding the new ones, so a
-- final -> final change (or a repeated write of the same status) never counts twice; updates
-- between other states (started, queued, retry_scheduled, skipped, heartbeats) do nothing. Deleting
-- rows (log retention) recomputes the hours and days they were in; TRUNCATE empties both.
CREATE TABLE IF NOT EXISTS cron_job_stats_hourly (
  job_name varchar(100) NOT NULL,
  bucket timestamptz NOT NULL,
  successes integer NOT NULL DEFAULT 0,
  failures integer NOT NULL DEFAULT 0,
  timed_out integer NOT NULL DEFAULT 0,
  abandoned integer NOT NULL DEFAULT 0,
  missed integer NOT NULL DEFAULT 0,
  duration_sum_ms bigint NOT NULL DEFAULT 0,
  duration_count integer NOT NULL DEFAULT 0,
  duration_hist integer[],
  PRIMARY KEY (job_name, bucket)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS cron_job_stats_daily (
  job_name varchar(100) NOT NULL,
  bucket timestamptz NOT NULL,
  successes integer NOT NULL DEFAULT 0,
  failures integer NOT NULL DEFAULT 0,
  timed_out integer NOT NULL DEFAULT 0,
  abandoned integer NOT NULL DEFAULT 0,
  missed integer NOT NULL DEFAULT 0,
  duration_sum_ms bigint NOT NULL DEFAULT 0,
  duration_count integer NOT NULL DEFAULT 0,
  duration_hist integer[],
  PRIMARY KEY (job_name, bucket)
);
--> statement-breakpoint
-- The histogram index of a duration: 0 for 0 ms, else 1 + floor(4 * log2(ms)) (at most 125 for an int).
CREATE OR REPLACE FUNCTION crondeck_duration_bucket(p_ms integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN p_ms IS NULL THEN NULL WHEN p_ms < 1 THEN 0 ELSE 1 + floor(4 * ln(p_ms::float8) / ln(2::float8))::int END
$$;
--> statement-breakpoint
-- Adds p_n at index p_idx of a sparse histogram (the array grows either way, gaps are NULL).
CREATE OR REPLACE FUNCTION crondeck_hist_add(p_hist integer[], p_idx integer, p_n integer) RETURNS integer[]
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF p_idx IS NULL THEN RETURN p_hist; END IF;
  p_hist[p_idx] := coalesce(p_hist[p_idx], 0) + p_n;
  RETURN p_hist;
END $$;
--> statement-breakpoint
-- crondeck_hist_agg(index, count): builds a sparse histogram from (index, count) pairs.
CREATE OR REPLACE AGGREGATE crondeck_hist_agg(integer, integer) (SFUNC = crondeck_hist_add, STYPE = integer[]);
--> statement-breakpoint
-- Adds (p_sign = 1) or takes out (p_sign = -1) one row in a final status, in its hour and its day.
CREATE OR REPLACE FUNCTION crondeck_stats_apply(p_job text, p_started timestamptz, p_status text, p_duration integer, p_sign integer)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_ok integer := CASE WHEN p_status = 'completed' THEN p_sign ELSE 0 END;
  v_fail integer := CASE WHEN p_status IN ('failed', 'timed_out', 'abandoned') THEN p_sign ELSE 0 END;
  v_timed integer := CASE WHEN p_status = 'timed_out' THEN p_sign ELSE 0 END;
  v_aband integer := CASE WHEN p_status = 'abandoned' THEN p_sign ELSE 0 END;
  v_missed integer := CASE WHEN p_status = 'missed' THEN p_sign ELSE 0 END;
  v_timed_run boolean := p_status IN ('completed', 'failed', 'timed_out', 'abandoned') AND p_duration IS NOT NULL;
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
CREATE OR REPLACE FUNCTION crondeck_stats_on_log_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.status IN ('completed', 'failed', 'timed_out', 'abandoned', 'missed') THEN
    PERFORM crondeck_stats_apply(OLD.job_name, OLD.started_at, OLD.status, OLD.duration_ms, -1);
  END IF;
  IF NEW.status IN ('completed', 'failed', 'timed_out', 'abandoned', 'missed') THEN
    PERFORM crondeck_stats_apply(NEW.job_name, NEW.started_at, NEW.status, NEW.duration_ms, 1);
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
-- Rebuilds the rollup rows from cron_job_logs: of the given jobs' days (p_days, UTC
-- midnights, paired with p_jobs), or of everything when p_jobs is NULL. Returns the hourly rows written.
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
         coalesce(sum(l.duration_ms) FILTER (WHERE l.status IN ('completed', 'failed', 'timed_out', 'abandoned')), 0),
         count(l.duration_ms) FILTER (WHERE l.status IN ('completed', 'failed', 'timed_out', 'abandoned')),
         crondeck_hist_agg(crondeck_duration_bucket(l.duration_ms), 1) FILTER (WHERE l.status IN ('completed', 'failed', 'timed_out', 'abandoned') AND l.duration_ms IS NOT NULL)
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
DECLARE
  v_jobs text[];
  v_days timestamptz[];
BEGIN
  SELECT array_agg(a.job_name), array_agg(a.day) INTO v_jobs, v_days
    FROM (SELECT DISTINCT o.job_name::text AS job_name, date_trunc('day', o.started_at, 'UTC') AS day
            FROM old_rows o WHERE o.status IN ('completed', 'failed', 'timed_out', 'abandoned', 'missed')) a;
  IF v_jobs IS NOT NULL THEN
    PERFORM crondeck_stats_rebuild(v_jobs, v_days);
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION crondeck_stats_on_log_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE cron_job_stats_hourly, cron_job_stats_daily;
  RETURN NULL;
END $$;
--> statement-breakpoint
-- Row triggers with WHEN clauses: a claim (status started) or a heartbeat never calls a function.
DROP TRIGGER IF EXISTS trg_cron_stats_insert ON cron_job_logs;
--> statement-breakpoint
CREATE TRIGGER trg_cron_stats_insert AFTER INSERT ON cron_job_logs
  FOR EACH ROW WHEN (NEW.status IN ('completed', 'failed', 'timed_out', 'abandoned', 'missed'))
  EXECUTE FUNCTION crondeck_stats_on_log_change();
--> statement-breakpoint
DROP TRIGGER IF EXISTS trg_cron_stats_update ON cron_job_logs;
--> statement-breakpoint
CREATE TRIGGER trg_cron_stats_update AFTER UPDATE OF status, started_at, duration_ms, job_name ON cron_job_logs
  FOR EACH ROW WHEN (
    (OLD.status IN ('completed', 'failed', 'timed_out', 'abandoned', 'missed')
      OR NEW.status IN ('completed', 'failed', 'timed_out', 'abandoned', 'missed'))
    AND (OLD.status IS DISTINCT FROM NEW.status OR OLD.started_at IS DISTINCT FROM NEW.started_at
      OR OLD.duration_ms IS DISTINCT FROM NEW.duration_ms OR OLD.job_name IS DISTINCT FROM NEW.job_name))
  EXECUTE FUNCTION crondeck_stats_on_log_change();
--> statement-breakpoint
-- Statement level with a transition table: log retention deletes thousands of rows per statement.
DROP TRIGGER IF EXISTS trg_cron_stats_delete ON cron_job_logs;
--> statement-breakpoint
CREATE TRIGGER trg_cron_stats_delete AFTER DELETE ON cron_job_logs
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
  EXECUTE FUNCTION crondeck_stats_on_log_delete();
--> statement-breakpoint
DROP TRIGGER IF EXISTS trg_cron_stats_truncate ON cron_job_logs;
--> statement-breakpoint
CREATE TRIGGER trg_cron_stats_truncate AFTER TRUNCATE ON cron_job_logs
  FOR EACH STATEMENT EXECUTE FUNCTION crondeck_stats_on_log_truncate();
--> statement-breakpoint
-- Backfill. The triggers above already hold a lock that keeps writers out until this
-- migration commits, so no run can finish between the backfill and the first trigger call.
SELECT crondeck_stats_rebuild();
--> statement-breakpoint
-- A job's skips over a window, counted from the index alone (skips are not rolled up, see above).
CREATE INDEX IF NOT EXISTS idx_cron_logs_job_skipped ON cron_job_logs (job_name, started_at) WHERE status = 'skipped';
--> statement-breakpoint
-- The audit page lists by action too.
CREATE INDEX IF NOT EXISTS idx_cron_audit_action_created ON cron_audit_log (action, created_at DESC);
