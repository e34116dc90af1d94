-- The failure path: one function keeps a job's failure state for every run that ends, however
-- it ended. A failed or timed-out run reaches it through crondeck_finish_run; an abandoned run
-- (the holder crashed, was killed, froze, or lost its database, and its lease expired without a
-- recorded result; or a shutdown interrupted it; or an operator cleared its lease) reaches it
-- through a trigger on the status change, so every statement that abandons a run (the claim that
-- finds the expired lease, the tick's sweep, graceful shutdown, "locks clear") counts it the same
-- way: consecutive failures + 1, a dead-letter entry with the run's slot, the auto-pause.
--
-- Incidents: a failure streak is one incident, named by the id of the run that started it
-- (cron_job_config.incident_id while the streak lasts; cron_job_logs.incident_id on each run of
-- it, and on the success that ended it). Alert windows (reAlertAfter) apply within an incident:
-- the dispatcher suppresses a repeat only when an alert of the same kind was sent for the same
-- incident, so a new streak after a recovery alerts again.
--
-- Lock order (as in crondeck_take_lease): the lease row, then run rows, then the job's config row.

ALTER TABLE cron_job_logs ADD COLUMN IF NOT EXISTS replaced_by uuid;
--> statement-breakpoint
ALTER TABLE cron_job_logs ADD COLUMN IF NOT EXISTS failure_streak integer;
--> statement-breakpoint
ALTER TABLE cron_job_logs ADD COLUMN IF NOT EXISTS incident_id uuid;
--> statement-breakpoint
ALTER TABLE cron_job_logs ADD COLUMN IF NOT EXISTS auto_paused boolean NOT NULL DEFAULT false;
--> statement-breakpoint
ALTER TABLE cron_job_logs ADD COLUMN IF NOT EXISTS alerts_pending boolean NOT NULL DEFAULT false;
--> statement-breakpoint
-- The tick's question "which abandoned runs still owe their alerts?": a handful of rows at most.
CREATE INDEX IF NOT EXISTS idx_cron_logs_alerts_pending ON cron_job_logs (completed_at) WHERE alerts_pending;
--> statement-breakpoint
ALTER TABLE cron_job_config ADD COLUMN IF NOT EXISTS incident_id uuid;
--> statement-breakpoint
ALTER TABLE cron_job_config ADD COLUMN IF NOT EXISTS pause_after integer;
--> statement-breakpoint
ALTER TABLE cron_alerts ADD COLUMN IF NOT EXISTS incident_id uuid;
--> statement-breakpoint
-- "42s", "3m 12s", "2h 05m": durations in messages people read.
CREATE OR REPLACE FUNCTION crondeck_format_duration(p_interval interval) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN s < 60 THEN format('%ss', s)
    WHEN s < 3600 THEN format('%sm %ss', s / 60, lpad((s % 60)::text, 2, '0'))
    ELSE format('%sh %sm', s / 3600, lpad(((s % 3600) / 60)::text, 2, '0'))
  END
  FROM (SELECT greatest(0, round(extract(epoch FROM p_interval)))::bigint AS s) x
$$;
--> statement-breakpoint
-- What is known about an abandoned run, and only that: who held the lease, from when, and when
-- it expired with no result recorded. Why (a crash, a kill, a frozen process, a lost database
-- connection) is not known, so the message does not guess.
CREATE OR REPLACE FUNCTION crondeck_abandoned_message(p_holder text, p_held_from timestamptz, p_expired_at timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT format('abandoned: the lease expired with no result recorded. Holder %s held it for %s (from %s until it expired at %s, %s ago); it crashed, was killed, froze or lost its database connection, and which one is not known.',
    coalesce(p_holder, 'unknown'),
    crondeck_format_duration(p_expired_at - p_held_from),
    to_char(p_held_from AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
    to_char(p_expired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
    crondeck_format_duration(now() - p_expired_at))
$$;
--> statement-breakpoint
-- The one place a run's end changes its job's failure state. For a run that ended
-- (completed, failed, timed_out, abandoned; anything else changes nothing):
--   consecutive failures: + 1 for a failure, 0 after a success; the incident starts with the
--     first failure of a streak and ends with the success after it;
--   a dead-letter entry for a failure when p_dead_letter (NULL, for an abandoned run: yes),
--     unless the job's pause_after is 0 (the setting of a job that never dead-letters itself,
--     such as the tick), with the run's slot so a replay runs the same slot; a replay settles
--     its entry instead;
--   the auto-pause after pause_after dead-lettered runs in a row. Only runs the schedule started
--     add to it: a manual run ("run now") or a replay that fails makes its dead letter (or keeps
--     its entry) without counting, so an operator's clicks never pause a schedule. Any success
--     ends the streak and resets both counts.
-- p_pause_after: the job's deadLetter.pauseAfter (the finish passes it and it is stored), or NULL
-- to use the stored value: an abandoned run found by a claim or the sweep has no job definition
-- at hand, and uses what the job's last finish stored (3, the default, before any finish).
-- 0 means never dead-letter and never pause.
CREATE OR REPLACE FUNCTION crondeck_record_outcome(
  p_run uuid, p_job text, p_status text, p_trigger text, p_scheduled_for timestamptz, p_replay_of uuid,
  p_error text, p_stack text, p_attempts integer, p_dead_letter boolean, p_pause_after integer
) RETURNS TABLE (consecutive_failures integer, previous_failures integer, dead_letter_id uuid, auto_paused boolean, incident_id uuid)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_failed boolean := p_status IN ('failed', 'timed_out', 'abandoned');
  v_counts boolean := coalesce(p_trigger, 'schedule') NOT IN ('manual', 'replay');
  v_prev integer;
  v_open uuid;
  v_stored integer;
  v_pause_after integer;
  v_incident uuid;
  v_failures integer;
  v_dead_letters integer;
  v_dlq uuid;
  v_paused boolean := false;
BEGIN
  IF p_status NOT IN ('completed', 'failed', 'timed_out', 'abandoned') THEN
    RETURN QUERY SELECT NULL::integer, NULL::integer, NULL::uuid, false, NULL::uuid;
    RETURN;
  END IF;
  SELECT c.consecutive_failures, c.incident_id, c.pause_after INTO v_prev, v_open, v_stored
    FROM cron_job_config c WHERE c.job_name = p_job FOR UPDATE;
  v_prev := coalesce(v_prev, 0);
  v_pause_after := coalesce(p_pause_after, v_stored, 3);
  -- A failure joins the open incident or starts one; a success closes the one it ends.
  v_incident := CASE WHEN v_failed THEN CASE WHEN v_prev > 0 THEN coalesce(v_open, p_run) ELSE p_run END
                     WHEN v_prev > 0 THEN v_open END;
  -- enabled stays NULL on insert: "follow the job's definition" until someone toggles it.
  INSERT INTO cron_job_config AS c (job_name, enabled, consecutive_failures, consecutive_dead_letters, incident_id, pause_after)
  VALUES (p_job, NULL, CASE WHEN v_failed THEN 1 ELSE 0 END, 0, CASE WHEN v_failed THEN v_incident END, p_pause_after)
  ON CONFLICT (job_name) DO UPDATE
     SET consecutive_failures = CASE WHEN v_failed THEN c.consecutive_failures + 1 ELSE 0 END,
         consecutive_dead_letters = CASE WHEN v_failed THEN c.consecutive_dead_letters ELSE 0 END,
         incident_id = CASE WHEN v_failed THEN v_incident END,
         pause_after = coalesce(p_pause_after, c.pause_after)
  RETURNING c.consecutive_failures INTO v_failures;

  IF p_replay_of IS NOT NULL THEN
    -- A replay settles its dead-letter entry instead of making a new one.
    UPDATE cron_dead_letters d
       SET recovery_status = CASE WHEN p_status = 'completed' THEN 'replayed' ELSE d.recovery_status END,
           last_replay_run_id = p_run, updated_at = now(),
           resolved_at = CASE WHEN p_status = 'completed' THEN now() ELSE d.resolved_at END
     WHERE d.run_id = p_replay_of;
  ELSIF v_failed AND coalesce(p_dead_letter, true) AND v_pause_after <> 0 THEN
    INSERT INTO cron_dead_letters AS d (run_id, job_name, scheduled_for, failure_reason, error_stack, attempts)
    VALUES (p_run, p_job, p_scheduled_for, coalesce(p_error, p_status), p_stack, greatest(coalesce(p_attempts, 0), 1))
    ON CONFLICT (run_id) DO NOTHING
    RETURNING d.id INTO v_dlq;
    IF v_counts AND v_dlq IS NOT NULL THEN
      UPDATE cron_job_config c SET consecutive_dead_letters = c.consecutive_dead_letters + 1
       WHERE c.job_name = p_job
      RETURNING c.consecutive_dead_letters INTO v_dead_letters;
      IF v_pause_after > 0 AND v_dead_letters >= v_pause_after THEN
        UPDATE cron_job_config c
           SET dead_lettered = true, dead_lettered_since = now(), last_modified_at = now(), last_modified_by = 'crondeck',
               dead_letter_reason = format('paused after %s dead-lettered runs in a row; last error: %s', v_dead_letters, left(coalesce(p_error, p_status), 300))
         WHERE c.job_name = p_job AND NOT c.dead_lettered;
        v_paused := FOUND;
      END IF;
    END IF;
  END IF;
  RETURN QUERY SELECT v_failures, v_prev, v_dlq, v_paused, v_incident;
END $$;
--> statement-breakpoint
-- Every statement that marks a run abandoned goes through the failure path, and the run owes
-- its alerts (alerts_pending) until the tick, which knows the job's alert policy, sends them.
-- BEFORE the row is written, so the run's own failure columns are part of the same write.
CREATE OR REPLACE FUNCTION crondeck_on_run_abandoned() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  SELECT * INTO r FROM crondeck_record_outcome(NEW.id, NEW.job_name, 'abandoned', NEW.trigger, NEW.scheduled_for, NEW.replay_of,
                                               NEW.error_message, NEW.error_stack, NEW.attempts, NULL, NULL);
  NEW.failure_streak := r.consecutive_failures;
  NEW.incident_id := r.incident_id;
  NEW.auto_paused := r.auto_paused;
  NEW.alerts_pending := true;
  RETURN NEW;
END $$;
--> statement-breakpoint
DROP TRIGGER IF EXISTS trg_cron_run_abandoned ON cron_job_logs;
--> statement-breakpoint
CREATE TRIGGER trg_cron_run_abandoned BEFORE UPDATE OF status ON cron_job_logs
  FOR EACH ROW WHEN (NEW.status = 'abandoned' AND OLD.status IS DISTINCT FROM 'abandoned')
  EXECUTE FUNCTION crondeck_on_run_abandoned();
--> statement-breakpoint
-- Takes a job's lease for a run if it is free or expired. A holder whose lease expired left no
-- result: its run is marked abandoned first (the trigger above counts it as a failure).
-- True when the run now holds the lease.
CREATE OR REPLACE FUNCTION crondeck_take_lease(p_job text, p_run uuid, p_token bigint, p_holder text, p_expires timestamptz)
RETURNS boolean LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_leased uuid;
  v_old record;
BEGIN
  -- Lock order everywhere: the lease row first, then run rows (whose status changes feed
  -- the hourly statistics rows and the job's failure state). Taking them the other way round
  -- can deadlock with a finish.
  SELECT k.run_id, k.holder, k.acquired_at, k.expires_at INTO v_old FROM cron_job_leases k WHERE k.job_name = p_job FOR UPDATE;
  IF FOUND AND v_old.expires_at <= now() THEN
    UPDATE cron_job_logs l
       SET status = 'abandoned', completed_at = now(), lease_expires_at = NULL,
           duration_ms = (extract(epoch FROM now() - l.started_at) * 1000)::int,
           error_message = crondeck_abandoned_message(v_old.holder, v_old.acquired_at, v_old.expires_at)
     WHERE l.id = v_old.run_id AND l.status = 'started';
  END IF;
  INSERT INTO cron_job_leases AS k (job_name, run_id, fencing_token, holder, acquired_at, expires_at)
  VALUES (p_job, p_run, p_token, p_holder, now(), p_expires)
  ON CONFLICT (job_name) DO UPDATE
     SET run_id = excluded.run_id, fencing_token = excluded.fencing_token, holder = excluded.holder,
         acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
   WHERE k.expires_at <= now()
  RETURNING k.run_id INTO v_leased;
  RETURN v_leased IS NOT NULL;
END $$;
--> statement-breakpoint
-- The fenced finish: writes the outcome only while this holder's run is still running, frees
-- its lease (unless the handler is still running after a timeout), and keeps the job's failure
-- state through crondeck_record_outcome. p_status 'replaced' (overlap "replace": a newer trigger
-- took over) is terminal and not a failure: no failure count, no dead letter; the row names the
-- run that replaced it (the job's queued run, or the lease's new holder).
-- finished = false means a newer holder owns the job and nothing was written.
CREATE OR REPLACE FUNCTION crondeck_finish_run(
  p_run uuid, p_token bigint, p_status text, p_attempts integer, p_error text, p_stack text,
  p_output jsonb, p_log_lines jsonb, p_attempt_details jsonb, p_release boolean,
  p_next_retry_at timestamptz DEFAULT NULL, p_dead_letter boolean DEFAULT false, p_pause_after integer DEFAULT 3
) RETURNS TABLE (finished boolean, completed_at timestamptz, duration_ms integer, consecutive_failures integer,
                 previous_failures integer, dead_letter_id uuid, auto_paused boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_run record;
  v_out record;
BEGIN
  -- The lease first, then the run row (see crondeck_take_lease: one lock order everywhere).
  IF p_release THEN
    DELETE FROM cron_job_leases k WHERE k.run_id = p_run AND k.fencing_token = p_token;
  END IF;
  UPDATE cron_job_logs l
     SET status = p_status,
         completed_at = CASE WHEN p_status = 'retry_scheduled' THEN NULL ELSE now() END,
         duration_ms = (extract(epoch FROM now() - l.started_at) * 1000)::int,
         attempts = p_attempts, error_message = p_error, error_stack = p_stack, output = p_output,
         log_lines = p_log_lines, attempt_details = p_attempt_details, next_retry_at = p_next_retry_at,
         lease_expires_at = CASE WHEN p_release THEN NULL ELSE l.lease_expires_at END,
         replaced_by = CASE WHEN p_status = 'replaced' THEN coalesce(
           (SELECT q.id FROM cron_job_logs q WHERE q.job_name = l.job_name AND q.status = 'queued' LIMIT 1),
           (SELECT k.run_id FROM cron_job_leases k WHERE k.job_name = l.job_name AND k.run_id <> p_run)) END
   WHERE l.id = p_run AND l.fencing_token = p_token AND l.status = 'started'
  RETURNING l.job_name, l.trigger, l.scheduled_for, l.replay_of, l.duration_ms INTO v_run;
  IF NOT FOUND THEN
    RETURN QUERY SELECT false, NULL::timestamptz, NULL::integer, NULL::integer, NULL::integer, NULL::uuid, false;
    RETURN;
  END IF;
  IF p_status NOT IN ('completed', 'failed', 'timed_out') THEN
    -- retry_scheduled is not over yet (the tick resumes it); replaced is over and not a failure.
    RETURN QUERY SELECT true, CASE WHEN p_status = 'retry_scheduled' THEN NULL ELSE now() END, v_run.duration_ms,
                        NULL::integer, NULL::integer, NULL::uuid, false;
    RETURN;
  END IF;
  SELECT * INTO v_out FROM crondeck_record_outcome(p_run, v_run.job_name, p_status, v_run.trigger, v_run.scheduled_for, v_run.replay_of,
                                                   p_error, p_stack, p_attempts, p_dead_letter, p_pause_after);
  IF p_status <> 'completed' OR v_out.incident_id IS NOT NULL THEN
    UPDATE cron_job_logs l
       SET failure_streak = CASE WHEN p_status = 'completed' THEN NULL ELSE v_out.consecutive_failures END,
           incident_id = v_out.incident_id, auto_paused = v_out.auto_paused
     WHERE l.id = p_run;
  END IF;
  RETURN QUERY SELECT true, now(), v_run.duration_ms, v_out.consecutive_failures, v_out.previous_failures, v_out.dead_letter_id, v_out.auto_paused;
END $$;
--> statement-breakpoint
-- last_success_at and last_failure_at are completion times, as the seed defines them
-- (last_run_at stays the latest start).
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
    max(l.completed_at) FILTER (WHERE l.status = 'completed'),
    max(l.completed_at) FILTER (WHERE l.status IN ('failed', 'timed_out', 'abandoned'))
  FROM cron_job_logs l
  WHERE l.job_name = p_job_name
    AND l.started_at >= now() - make_interval(days => p_days)
$$;
--> statement-breakpoint
-- "Every column" of the recent runs: a view's l.* is expanded when it is created, so it is
-- recreated with the columns above (a migration that adds columns to cron_job_logs does the same).
CREATE OR REPLACE VIEW recent_cron_executions AS
SELECT l.*
FROM cron_job_logs l
WHERE l.started_at >= now() - interval '7 days'
ORDER BY l.started_at DESC, l.id DESC;
