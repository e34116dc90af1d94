-- The trigger's hot path, one round trip per step: claim, heartbeat, finish.
-- Functions run each statement on a fresh snapshot (READ COMMITTED), so a loser that
-- waited on a concurrent winner's row sees that row when it works out why it lost.

-- At most one queued run per job (overlap "bufferOne" and "replace").
CREATE UNIQUE INDEX IF NOT EXISTS uq_cron_logs_one_queued ON cron_job_logs (job_name) WHERE status = 'queued';
--> statement-breakpoint
-- The tick asks "does this slot have any row?" for every expected slot.
CREATE INDEX IF NOT EXISTS idx_cron_logs_job_slot ON cron_job_logs (job_name, scheduled_for);
--> statement-breakpoint
-- Due deferred retries.
CREATE INDEX IF NOT EXISTS idx_cron_logs_retry_due ON cron_job_logs (next_retry_at) WHERE status = 'retry_scheduled';
--> statement-breakpoint
-- Takes a job's lease for a run if it is free or expired. A holder whose lease expired is a
-- dead process: its run is marked abandoned first. True when the run now holds the lease.
CREATE OR REPLACE FUNCTION crondeck_take_lease(p_job text, p_run uuid, p_token bigint, p_holder text, p_expires timestamptz)
RETURNS boolean LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_leased uuid;
  v_old record;
BEGIN
  -- Lock order everywhere: the lease row first, then run rows (whose status changes feed
  -- the hourly statistics rows). Taking them the other way round can deadlock with a finish.
  SELECT k.run_id, k.holder, k.expires_at INTO v_old FROM cron_job_leases k WHERE k.job_name = p_job FOR UPDATE;
  IF FOUND AND v_old.expires_at <= now() THEN
    UPDATE cron_job_logs l
       SET status = 'abandoned', completed_at = now(),
           duration_ms = (extract(epoch FROM now() - l.started_at) * 1000)::int,
           error_message = format('lease expired %s ago; holder %s stopped heartbeating', date_trunc('second', now() - v_old.expires_at), v_old.holder)
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
CREATE OR REPLACE FUNCTION crondeck_record_skip(
  p_job text, p_trigger text, p_scheduled_for timestamptz, p_dedupe text, p_reason text,
  p_holder text, p_code_version text, p_actor text, p_run_id uuid DEFAULT NULL
) RETURNS TABLE (outcome text, reason text, run_id uuid, fencing_token bigint, started_at timestamptz, lease_expires_at timestamptz, blocking_run_id uuid)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_reason text := p_reason;
  v_run uuid;
  v_blocking uuid;
BEGIN
  -- A skip for a slot that already has its run is a duplicate delivery, whoever saw it first.
  IF p_dedupe IS NOT NULL THEN
    SELECT l.id INTO v_blocking FROM cron_job_logs l WHERE l.job_name = p_job AND l.dedupe_key = p_dedupe;
    IF FOUND THEN v_reason := 'duplicate'; END IF;
  END IF;
  IF v_blocking IS NULL THEN
    SELECT k.run_id INTO v_blocking FROM cron_job_leases k WHERE k.job_name = p_job;
  END IF;
  INSERT INTO cron_job_logs AS l (id, job_name, status, started_at, completed_at, duration_ms, attempts, scheduled_for, trigger, skip_reason, holder, code_version, actor)
  VALUES (coalesce(p_run_id, gen_random_uuid()), p_job, 'skipped', now(), now(), 0, 0, p_scheduled_for, p_trigger, v_reason, p_holder, p_code_version, p_actor)
  RETURNING l.id INTO v_run;
  RETURN QUERY SELECT 'skipped'::text, v_reason, v_run, NULL::bigint, now(), NULL::timestamptz, v_blocking;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION crondeck_claim_run(
  p_job text, p_trigger text, p_scheduled_for timestamptz, p_dedupe text, p_overlap text,
  p_enabled_default boolean, p_check_state boolean, p_lease_ms integer,
  p_holder text, p_code_version text, p_actor text, p_replay_of uuid DEFAULT NULL, p_run_id uuid DEFAULT NULL
) RETURNS TABLE (outcome text, reason text, run_id uuid, fencing_token bigint, started_at timestamptz, lease_expires_at timestamptz, blocking_run_id uuid)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_cfg record;
  v_reason text;
  v_run uuid;
  v_token bigint;
  v_expires timestamptz := now() + make_interval(secs => p_lease_ms / 1000.0);
  v_leased uuid;
  v_blocking uuid;
BEGIN
  -- 1. Runtime state: disabled, paused or dead-lettered jobs skip scheduled triggers.
  IF p_check_state THEN
    SELECT c.enabled, c.paused, c.dead_lettered INTO v_cfg FROM cron_job_config c WHERE c.job_name = p_job;
    IF FOUND AND v_cfg.dead_lettered THEN v_reason := 'dead_lettered';
    ELSIF FOUND AND v_cfg.paused THEN v_reason := 'paused';
    ELSIF NOT coalesce(CASE WHEN FOUND THEN v_cfg.enabled END, p_enabled_default) THEN v_reason := 'disabled';
    END IF;
  END IF;
  -- 2. A slot that already has a row is a duplicate delivery (checked first so a loser draws no fencing token).
  IF v_reason IS NULL AND p_dedupe IS NOT NULL AND EXISTS (SELECT 1 FROM cron_job_logs l WHERE l.job_name = p_job AND l.dedupe_key = p_dedupe) THEN
    v_reason := 'duplicate';
  END IF;
  IF v_reason IS NOT NULL THEN
    RETURN QUERY SELECT * FROM crondeck_record_skip(p_job, p_trigger, p_scheduled_for, p_dedupe, v_reason, p_holder, p_code_version, p_actor, p_run_id);
    RETURN;
  END IF;

  -- 3. The run row; UNIQUE(job_name, dedupe_key) settles a race for the same slot.
  v_token := nextval('cron_fencing_token_seq');
  INSERT INTO cron_job_logs AS l (id, job_name, status, started_at, attempts, scheduled_for, trigger, dedupe_key, fencing_token, lease_expires_at, holder, code_version, actor, replay_of)
  VALUES (coalesce(p_run_id, gen_random_uuid()), p_job, 'started', now(), 0, p_scheduled_for, p_trigger, p_dedupe, v_token, v_expires, p_holder, p_code_version, p_actor, p_replay_of)
  ON CONFLICT DO NOTHING
  RETURNING l.id INTO v_run;
  IF v_run IS NULL THEN
    RETURN QUERY SELECT * FROM crondeck_record_skip(p_job, p_trigger, p_scheduled_for, p_dedupe, 'duplicate', p_holder, p_code_version, p_actor, NULL);
    RETURN;
  END IF;
  IF p_overlap = 'allow' THEN
    RETURN QUERY SELECT 'claimed'::text, NULL::text, v_run, v_token, now(), v_expires, NULL::uuid;
    RETURN;
  END IF;

  -- 4. The job's lease. A holder whose lease expired is a dead process: its run is abandoned.
  v_leased := CASE WHEN crondeck_take_lease(p_job, v_run, v_token, p_holder, v_expires) THEN v_run END;
  IF v_leased IS NOT NULL THEN
    RETURN QUERY SELECT 'claimed'::text, NULL::text, v_run, v_token, now(), v_expires, NULL::uuid;
    RETURN;
  END IF;

  -- 5. Someone holds the lease.
  SELECT k.run_id INTO v_blocking FROM cron_job_leases k WHERE k.job_name = p_job;
  IF p_overlap IN ('bufferOne', 'replace') THEN
    BEGIN
      UPDATE cron_job_logs l SET status = 'queued', fencing_token = NULL, lease_expires_at = NULL WHERE l.id = v_run;
      IF p_overlap = 'replace' THEN
        UPDATE cron_job_logs l SET cancel_requested_at = now() WHERE l.id = v_blocking AND l.status = 'started';
      END IF;
      RETURN QUERY SELECT 'queued'::text, NULL::text, v_run, NULL::bigint, now(), NULL::timestamptz, v_blocking;
      RETURN;
    EXCEPTION WHEN unique_violation THEN
      NULL; -- another run is already waiting: this one is skipped below
    END;
  END IF;
  UPDATE cron_job_logs l
     SET status = 'skipped', skip_reason = 'already_running', completed_at = now(), duration_ms = 0,
         fencing_token = NULL, lease_expires_at = NULL
   WHERE l.id = v_run;
  RETURN QUERY SELECT 'skipped'::text, 'already_running'::text, v_run, NULL::bigint, now(), NULL::timestamptz, v_blocking;
END $$;
--> statement-breakpoint
-- Moves a queued run into the lease once it is free; 'waiting' while it is held.
CREATE OR REPLACE FUNCTION crondeck_promote_run(p_run uuid, p_lease_ms integer, p_holder text)
RETURNS TABLE (outcome text, fencing_token bigint, started_at timestamptz, lease_expires_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_job text;
  v_token bigint;
  v_expires timestamptz := now() + make_interval(secs => p_lease_ms / 1000.0);
  v_leased uuid;
BEGIN
  SELECT l.job_name INTO v_job FROM cron_job_logs l WHERE l.id = p_run AND l.status = 'queued';
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'gone'::text, NULL::bigint, NULL::timestamptz, NULL::timestamptz;
    RETURN;
  END IF;
  v_token := nextval('cron_fencing_token_seq');
  v_leased := CASE WHEN crondeck_take_lease(v_job, p_run, v_token, p_holder, v_expires) THEN p_run END;
  IF v_leased IS NULL THEN
    RETURN QUERY SELECT 'waiting'::text, NULL::bigint, NULL::timestamptz, NULL::timestamptz;
    RETURN;
  END IF;
  UPDATE cron_job_logs l SET status = 'started', started_at = now(), fencing_token = v_token, lease_expires_at = v_expires, holder = p_holder
   WHERE l.id = p_run;
  RETURN QUERY SELECT 'claimed'::text, v_token, now(), v_expires;
END $$;
--> statement-breakpoint
-- Extends a live lease; tells the holder whether a "replace" trigger asked it to stop.
-- The lease row (not the run's status) decides: a timed-out handler that ignores its
-- signal keeps the job's lease until it settles, so no new run can overlap it.
CREATE OR REPLACE FUNCTION crondeck_heartbeat(p_run uuid, p_token bigint, p_lease_ms integer)
RETURNS TABLE (alive boolean, cancel_requested boolean, lease_expires_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_expires timestamptz := now() + make_interval(secs => p_lease_ms / 1000.0);
  v_cancel timestamptz;
BEGIN
  UPDATE cron_job_leases k SET expires_at = v_expires WHERE k.run_id = p_run AND k.fencing_token = p_token;
  IF FOUND THEN
    UPDATE cron_job_logs l SET lease_expires_at = v_expires WHERE l.id = p_run RETURNING l.cancel_requested_at INTO v_cancel;
  ELSE
    -- Runs of overlap "allow" jobs hold no job lease: their own row is their lease.
    UPDATE cron_job_logs l SET lease_expires_at = v_expires
     WHERE l.id = p_run AND l.fencing_token = p_token AND l.status = 'started' AND l.lease_expires_at > now()
       AND NOT EXISTS (SELECT 1 FROM cron_job_leases k WHERE k.run_id = p_run)
    RETURNING l.cancel_requested_at INTO v_cancel;
    IF NOT FOUND THEN
      RETURN QUERY SELECT false, false, NULL::timestamptz;
      RETURN;
    END IF;
  END IF;
  RETURN QUERY SELECT true, v_cancel IS NOT NULL, v_expires;
END $$;
--> statement-breakpoint
-- The fenced finish: writes the outcome only while this holder's run is still running,
-- frees its lease (unless the handler is still running after a timeout), and keeps the
-- job's failure state: consecutive failures, a dead-letter entry for a run that exhausted
-- its retries, and the auto-pause after p_pause_after dead-lettered runs in a row.
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
  v_duration integer;
  v_prev integer := 0;
  v_failures integer := 0;
  v_dead_letters integer := 0;
  v_dlq uuid;
  v_paused boolean := false;
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
         lease_expires_at = CASE WHEN p_release THEN NULL ELSE l.lease_expires_at END
   WHERE l.id = p_run AND l.fencing_token = p_token AND l.status = 'started'
  RETURNING l.job_name, l.scheduled_for, l.replay_of, l.duration_ms INTO v_run;
  IF NOT FOUND THEN
    RETURN QUERY SELECT false, NULL::timestamptz, NULL::integer, NULL::integer, NULL::integer, NULL::uuid, false;
    RETURN;
  END IF;
  IF p_status = 'retry_scheduled' THEN
    -- Not over yet: the tick resumes it. Failure state changes when it really ends.
    RETURN QUERY SELECT true, NULL::timestamptz, v_run.duration_ms, NULL::integer, NULL::integer, NULL::uuid, false;
    RETURN;
  END IF;

  SELECT c.consecutive_failures INTO v_prev FROM cron_job_config c WHERE c.job_name = v_run.job_name FOR UPDATE;
  v_prev := coalesce(v_prev, 0);
  -- enabled stays NULL on insert: "follow the job's definition" until someone toggles it.
  INSERT INTO cron_job_config AS c (job_name, enabled, consecutive_failures, consecutive_dead_letters)
  VALUES (v_run.job_name, NULL, CASE WHEN p_status = 'completed' THEN 0 ELSE 1 END, 0)
  ON CONFLICT (job_name) DO UPDATE
     SET consecutive_failures = CASE WHEN p_status = 'completed' THEN 0 ELSE c.consecutive_failures + 1 END,
         consecutive_dead_letters = CASE WHEN p_status = 'completed' THEN 0 ELSE c.consecutive_dead_letters END
  RETURNING c.consecutive_failures INTO v_failures;

  IF v_run.replay_of IS NOT NULL THEN
    -- A replay settles its dead-letter entry instead of making a new one.
    UPDATE cron_dead_letters d
       SET recovery_status = CASE WHEN p_status = 'completed' THEN 'replayed' ELSE d.recovery_status END,
           last_replay_run_id = p_run, updated_at = now(),
           resolved_at = CASE WHEN p_status = 'completed' THEN now() ELSE d.resolved_at END
     WHERE d.run_id = v_run.replay_of;
  ELSIF p_status <> 'completed' AND p_dead_letter THEN
    INSERT INTO cron_dead_letters AS d (run_id, job_name, scheduled_for, failure_reason, error_stack, attempts)
    VALUES (p_run, v_run.job_name, v_run.scheduled_for, coalesce(p_error, p_status), p_stack, p_attempts)
    ON CONFLICT (run_id) DO NOTHING
    RETURNING d.id INTO v_dlq;
    UPDATE cron_job_config c SET consecutive_dead_letters = c.consecutive_dead_letters + 1
     WHERE c.job_name = v_run.job_name
    RETURNING c.consecutive_dead_letters INTO v_dead_letters;
    IF v_dead_letters >= p_pause_after THEN
      UPDATE cron_job_config c
         SET dead_lettered = true, dead_lettered_since = now(), last_modified_at = now(), last_modified_by = 'crondeck',
             dead_letter_reason = format('paused after %s dead-lettered runs in a row; last error: %s', v_dead_letters, left(coalesce(p_error, p_status), 300))
       WHERE c.job_name = v_run.job_name AND NOT c.dead_lettered;
      v_paused := FOUND;
    END IF;
  END IF;
  RETURN QUERY SELECT true, now(), v_run.duration_ms, v_failures, v_prev, v_dlq, v_paused;
END $$;
--> statement-breakpoint
-- Frees a lease after a timed-out handler finally settled.
CREATE OR REPLACE FUNCTION crondeck_release_lease(p_run uuid, p_token bigint)
RETURNS boolean LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  UPDATE cron_job_logs l SET lease_expires_at = NULL WHERE l.id = p_run AND l.fencing_token = p_token;
  DELETE FROM cron_job_leases k WHERE k.run_id = p_run AND k.fencing_token = p_token;
  RETURN FOUND;
END $$;
--> statement-breakpoint
-- Resumes a run whose retry was deferred (status retry_scheduled), under the job's lease.
-- 'busy' while another run holds the lease (the tick tries again), 'gone' once it resumed elsewhere.
CREATE OR REPLACE FUNCTION crondeck_claim_retry(p_run uuid, p_lease_ms integer, p_holder text)
RETURNS TABLE (outcome text, job_name text, fencing_token bigint, started_at timestamptz, lease_expires_at timestamptz,
               scheduled_for timestamptz, attempts integer, attempt_details jsonb, log_lines jsonb, blocking_run_id uuid)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_row record;
  v_token bigint;
  v_expires timestamptz := now() + make_interval(secs => p_lease_ms / 1000.0);
  v_leased uuid;
BEGIN
  SELECT l.id, l.job_name, l.scheduled_for, l.attempts, l.attempt_details, l.log_lines INTO v_row
    FROM cron_job_logs l WHERE l.id = p_run AND l.status = 'retry_scheduled' FOR UPDATE SKIP LOCKED;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'gone'::text, NULL::text, NULL::bigint, NULL::timestamptz, NULL::timestamptz, NULL::timestamptz, NULL::integer, NULL::jsonb, NULL::jsonb, NULL::uuid;
    RETURN;
  END IF;
  v_token := nextval('cron_fencing_token_seq');
  v_leased := CASE WHEN crondeck_take_lease(v_row.job_name, p_run, v_token, p_holder, v_expires) THEN p_run END;
  IF v_leased IS NULL THEN
    RETURN QUERY SELECT 'busy'::text, v_row.job_name::text, NULL::bigint, NULL::timestamptz, NULL::timestamptz, v_row.scheduled_for, v_row.attempts, NULL::jsonb, NULL::jsonb,
      (SELECT k.run_id FROM cron_job_leases k WHERE k.job_name = v_row.job_name);
    RETURN;
  END IF;
  UPDATE cron_job_logs l
     SET status = 'started', fencing_token = v_token, lease_expires_at = v_expires, holder = p_holder, next_retry_at = NULL
   WHERE l.id = p_run;
  RETURN QUERY SELECT 'claimed'::text, v_row.job_name::text, v_token, now(), v_expires, v_row.scheduled_for, v_row.attempts, v_row.attempt_details, v_row.log_lines, NULL::uuid;
END $$;

