-- 0014_schedules: what issue 14's schedule features keep in the database.
--
-- cron_job_logs.input: a run's input (run-now, backfill, replay), as validated by the job's
-- input schema; NULL: the job's default input. A dead-letter entry's input is its run's.
--
-- cron_job_config: skip-next (skip_slots, the slots an operator asked to skip, and who asked),
-- snooze (snoozed_until, why and who: a maintenance window; every slot before it is skipped),
-- and the run-time overrides (overrides: the fields an operator changed without a redeploy,
-- as lib/overrides validates them; who and when).
--
-- crondeck_claim_run gains both skips in its state check (only for the schedule's own
-- triggers, as disabled and paused are; an operator's run-now, replay or backfill runs anyway)
-- and stores the run's input. Still one statement per claim.
ALTER TABLE cron_job_logs ADD COLUMN IF NOT EXISTS input jsonb;
--> statement-breakpoint
ALTER TABLE cron_job_config
  ADD COLUMN IF NOT EXISTS skip_slots timestamptz[] NOT NULL DEFAULT '{}',
  ADD COLUMN IF NOT EXISTS skip_requested_by text,
  ADD COLUMN IF NOT EXISTS snoozed_until timestamptz,
  ADD COLUMN IF NOT EXISTS snooze_reason text,
  ADD COLUMN IF NOT EXISTS snoozed_by text,
  ADD COLUMN IF NOT EXISTS overrides jsonb,
  ADD COLUMN IF NOT EXISTS overrides_at timestamptz,
  ADD COLUMN IF NOT EXISTS overrides_by text;
--> statement-breakpoint
DROP FUNCTION IF EXISTS crondeck_claim_run(text, text, timestamptz, text, text, boolean, boolean, integer, text, text, text, uuid, uuid, integer);
--> statement-breakpoint
CREATE OR REPLACE FUNCTION crondeck_claim_run(
  p_job text, p_trigger text, p_scheduled_for timestamptz, p_dedupe text, p_overlap text,
  p_enabled_default boolean, p_check_state boolean, p_lease_ms integer,
  p_holder text, p_code_version text, p_actor text, p_replay_of uuid DEFAULT NULL, p_run_id uuid DEFAULT NULL,
  p_queue_ms integer DEFAULT NULL, p_input jsonb DEFAULT NULL
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
  v_own record;
  v_actor text := p_actor;
BEGIN
  -- 0. The caller asking again after a lost reply gets its own claim back. The engine always
  --    chooses the id, so this is one primary-key probe on every claim, inside the same round
  --    trip: the price of a claim that is safe to repeat.
  IF p_run_id IS NOT NULL THEN
    SELECT * INTO v_own FROM crondeck_own_claim(p_job, p_run_id, p_holder, p_overlap);
    IF FOUND THEN
      RETURN QUERY SELECT v_own.outcome, v_own.reason, v_own.run_id, v_own.fencing_token, v_own.started_at, v_own.lease_expires_at, v_own.blocking_run_id;
      RETURN;
    END IF;
  END IF;
  -- 1. Runtime state: disabled, paused or dead-lettered jobs skip scheduled triggers; so does a
  --    snoozed job (until snoozed_until) and a slot an operator asked to skip (skip-next). Those
  --    two skips carry the operator who asked for them as their actor.
  IF p_check_state THEN
    SELECT c.enabled, c.paused, c.dead_lettered, c.snoozed_until, c.snoozed_by, c.skip_slots, c.skip_requested_by
      INTO v_cfg FROM cron_job_config c WHERE c.job_name = p_job;
    IF FOUND AND v_cfg.dead_lettered THEN v_reason := 'dead_lettered';
    ELSIF FOUND AND v_cfg.paused THEN v_reason := 'paused';
    ELSIF NOT coalesce(CASE WHEN FOUND THEN v_cfg.enabled END, p_enabled_default) THEN v_reason := 'disabled';
    ELSIF FOUND AND v_cfg.snoozed_until IS NOT NULL AND coalesce(p_scheduled_for, now()) < v_cfg.snoozed_until THEN
      v_reason := 'snoozed'; v_actor := coalesce(v_cfg.snoozed_by, p_actor);
    ELSIF FOUND AND p_scheduled_for IS NOT NULL AND p_scheduled_for = ANY (v_cfg.skip_slots) THEN
      v_reason := 'skip_requested'; v_actor := coalesce(v_cfg.skip_requested_by, p_actor);
    END IF;
  END IF;
  -- 2. A slot that already has a row is a duplicate delivery (checked first so a loser draws no fencing token).
  IF v_reason IS NULL AND p_dedupe IS NOT NULL AND EXISTS (SELECT 1 FROM cron_job_logs l WHERE l.job_name = p_job AND l.dedupe_key = p_dedupe) THEN
    v_reason := 'duplicate';
  END IF;
  IF v_reason IS NOT NULL THEN
    RETURN QUERY SELECT * FROM crondeck_record_skip(p_job, p_trigger, p_scheduled_for, p_dedupe, v_reason, p_holder, p_code_version, v_actor, p_run_id);
    RETURN;
  END IF;

  -- 3. The run row; UNIQUE(job_name, dedupe_key) settles a race for the same slot.
  v_token := nextval('cron_fencing_token_seq');
  INSERT INTO cron_job_logs AS l (id, job_name, status, started_at, attempts, scheduled_for, trigger, dedupe_key, fencing_token, lease_expires_at, holder, code_version, actor, replay_of, input)
  VALUES (coalesce(p_run_id, gen_random_uuid()), p_job, 'started', now(), 0, p_scheduled_for, p_trigger, p_dedupe, v_token, v_expires, p_holder, p_code_version, p_actor, p_replay_of, p_input)
  ON CONFLICT DO NOTHING
  RETURNING l.id INTO v_run;
  IF v_run IS NULL THEN
    -- The conflict may be the caller's own first try, which committed while this one waited
    -- on it (a reset connection whose statement still ran): this statement sees it now.
    IF p_run_id IS NOT NULL THEN
      SELECT * INTO v_own FROM crondeck_own_claim(p_job, p_run_id, p_holder, p_overlap);
      IF FOUND THEN
        RETURN QUERY SELECT v_own.outcome, v_own.reason, v_own.run_id, v_own.fencing_token, v_own.started_at, v_own.lease_expires_at, v_own.blocking_run_id;
        RETURN;
      END IF;
    END IF;
    RETURN QUERY SELECT * FROM crondeck_record_skip(p_job, p_trigger, p_scheduled_for, p_dedupe, 'duplicate', p_holder, p_code_version, p_actor, p_run_id);
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
    -- A queued row whose waiter is gone no longer holds the job's one queued place.
    PERFORM crondeck_settle_expired_queued(p_job);
    BEGIN
      UPDATE cron_job_logs l
         SET status = 'queued', fencing_token = NULL,
             lease_expires_at = now() + make_interval(secs => coalesce(p_queue_ms, p_lease_ms) / 1000.0)
       WHERE l.id = v_run;
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
-- "Every column" of the recent runs: the view's l.* was expanded when it was created, so it is
-- recreated to carry the new input column too.
CREATE OR REPLACE VIEW recent_cron_executions AS
SELECT l.*
FROM cron_job_logs l
WHERE l.started_at >= now() - interval '7 days'
ORDER BY l.started_at DESC, l.id DESC;
