-- The claim phase under faults: a claim whose reply was lost can be asked again with the same
-- run id and gets its own claim back; a queued bufferOne/replace row carries its own expiry
-- (lease_expires_at, which a queued row does not otherwise use), so a waiter that died, was
-- shut down or lost the database can never keep the job's one queued place for good; a
-- resumed deferred retry records the code version of the deployment that resumes it.
-- Lock order as everywhere (see crondeck_take_lease): the lease row first, then run rows.

-- Queued rows written before this migration have no expiry: give them one a route's longest
-- budget after they were queued, so they stop blocking the job's queue shortly after landing.
UPDATE cron_job_logs SET lease_expires_at = started_at + interval '15 minutes'
 WHERE status = 'queued' AND lease_expires_at IS NULL;
--> statement-breakpoint
-- Settles a job's queued rows whose expiry passed (their waiter is gone): skipped, with why.
-- Returns how many it settled. p_job NULL settles every job's (the sweep).
CREATE OR REPLACE FUNCTION crondeck_settle_expired_queued(p_job text DEFAULT NULL)
RETURNS integer LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_count integer;
BEGIN
  UPDATE cron_job_logs l
     SET status = 'skipped', skip_reason = 'already_running', completed_at = now(),
         duration_ms = (extract(epoch FROM now() - l.started_at) * 1000)::int, fencing_token = NULL,
         error_message = format('queued behind a running run; its waiter (%s) stopped waiting without dropping it, so it expired %s ago',
                                l.holder, date_trunc('second', now() - l.lease_expires_at)),
         lease_expires_at = NULL
   WHERE l.status = 'queued' AND l.lease_expires_at <= now() AND (p_job IS NULL OR l.job_name = p_job);
  GET DIAGNOSTICS v_count = ROW_COUNT;
  RETURN v_count;
END $$;
--> statement-breakpoint
-- A skip row. Idempotent on a caller-chosen id: asked again with an id that already names
-- this job's skip (a reply that was lost), it answers with that row instead of failing.
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
  v_own record;
BEGIN
  IF p_run_id IS NOT NULL THEN
    SELECT l.id, l.skip_reason, l.started_at INTO v_own FROM cron_job_logs l
     WHERE l.id = p_run_id AND l.job_name = p_job AND l.status = 'skipped' AND l.holder IS NOT DISTINCT FROM p_holder;
    IF FOUND THEN
      RETURN QUERY SELECT 'skipped'::text, v_own.skip_reason::text, v_own.id, NULL::bigint, v_own.started_at, NULL::timestamptz,
        (SELECT k.run_id FROM cron_job_leases k WHERE k.job_name = p_job);
      RETURN;
    END IF;
  END IF;
  -- A skip for a slot that already has its run is a duplicate delivery, whoever saw it first.
  IF p_dedupe IS NOT NULL THEN
    SELECT l.id INTO v_blocking FROM cron_job_logs l WHERE l.job_name = p_job AND l.dedupe_key = p_dedupe;
    IF FOUND THEN v_reason := 'duplicate'; END IF;
  END IF;
  IF v_blocking IS NULL THEN
    SELECT k.run_id INTO v_blocking FROM cron_job_leases k WHERE k.job_name = p_job;
  END IF;
  -- An id taken by some other row cannot be this skip's: the skip gets a fresh one.
  INSERT INTO cron_job_logs AS l (id, job_name, status, started_at, completed_at, duration_ms, attempts, scheduled_for, trigger, skip_reason, holder, code_version, actor)
  VALUES (CASE WHEN p_run_id IS NULL OR EXISTS (SELECT 1 FROM cron_job_logs x WHERE x.id = p_run_id) THEN gen_random_uuid() ELSE p_run_id END,
          p_job, 'skipped', now(), now(), 0, 0, p_scheduled_for, p_trigger, v_reason, p_holder, p_code_version, p_actor)
  RETURNING l.id INTO v_run;
  RETURN QUERY SELECT 'skipped'::text, v_reason, v_run, NULL::bigint, now(), NULL::timestamptz, v_blocking;
END $$;
--> statement-breakpoint
-- The caller's own earlier claim for run id p_run, if the row with that id is one: the reply
-- of a claim that committed can be lost (a reset connection), and the caller asks again with
-- the same id. Its own claim is a row of this job and holder that never ran a handler
-- (attempts = 0: every finish writes at least 1) and still holds a live lease. Run ids are
-- chosen per trigger (crypto.randomUUID()), so no other trigger can name this row.
-- Returns the claim row's outcome ('claimed', 'queued' or 'skipped'), or no row: not ours.
CREATE OR REPLACE FUNCTION crondeck_own_claim(p_job text, p_run uuid, p_holder text, p_overlap text)
RETURNS TABLE (outcome text, reason text, run_id uuid, fencing_token bigint, started_at timestamptz, lease_expires_at timestamptz, blocking_run_id uuid)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_own record;
BEGIN
  SELECT l.id, l.status, l.skip_reason, l.fencing_token, l.started_at, l.lease_expires_at, l.attempts INTO v_own
    FROM cron_job_logs l WHERE l.id = p_run AND l.job_name = p_job AND l.holder IS NOT DISTINCT FROM p_holder;
  IF NOT FOUND THEN RETURN; END IF;
  IF v_own.status = 'started' AND v_own.attempts = 0 AND (
       CASE WHEN p_overlap = 'allow' THEN v_own.lease_expires_at > now()
            ELSE EXISTS (SELECT 1 FROM cron_job_leases k WHERE k.job_name = p_job AND k.run_id = p_run AND k.fencing_token = v_own.fencing_token AND k.expires_at > now()) END) THEN
    RETURN QUERY SELECT 'claimed'::text, NULL::text, v_own.id, v_own.fencing_token, v_own.started_at,
      coalesce((SELECT k.expires_at FROM cron_job_leases k WHERE k.job_name = p_job AND k.run_id = p_run), v_own.lease_expires_at), NULL::uuid;
  ELSIF v_own.status = 'queued' AND v_own.lease_expires_at > now() THEN
    RETURN QUERY SELECT 'queued'::text, NULL::text, v_own.id, NULL::bigint, v_own.started_at, NULL::timestamptz,
      (SELECT k.run_id FROM cron_job_leases k WHERE k.job_name = p_job);
  ELSIF v_own.status = 'skipped' THEN
    RETURN QUERY SELECT 'skipped'::text, v_own.skip_reason::text, v_own.id, NULL::bigint, v_own.started_at, NULL::timestamptz,
      (SELECT k.run_id FROM cron_job_leases k WHERE k.job_name = p_job);
  END IF;
END $$;
--> statement-breakpoint
DROP FUNCTION IF EXISTS crondeck_claim_run(text, text, timestamptz, text, text, boolean, boolean, integer, text, text, text, uuid, uuid);
--> statement-breakpoint
-- p_queue_ms: how long a queued row keeps its place (the waiter's budget plus the time its
-- drop may take); past it the row counts as dropped, and the next trigger settles it.
CREATE OR REPLACE FUNCTION crondeck_claim_run(
  p_job text, p_trigger text, p_scheduled_for timestamptz, p_dedupe text, p_overlap text,
  p_enabled_default boolean, p_check_state boolean, p_lease_ms integer,
  p_holder text, p_code_version text, p_actor text, p_replay_of uuid DEFAULT NULL, p_run_id uuid DEFAULT NULL,
  p_queue_ms integer DEFAULT NULL
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
-- Moves a queued run into the lease once it is free; 'waiting' while it is held, 'gone' when
-- the row is no longer queued (dropped, or expired: then it is settled here). Asked again by
-- its waiter after a lost reply, it answers with the claim it made.
CREATE OR REPLACE FUNCTION crondeck_promote_run(p_run uuid, p_lease_ms integer, p_holder text)
RETURNS TABLE (outcome text, fencing_token bigint, started_at timestamptz, lease_expires_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_row record;
  v_found boolean;
  v_token bigint;
  v_expires timestamptz := now() + make_interval(secs => p_lease_ms / 1000.0);
  v_leased uuid;
BEGIN
  SELECT l.job_name, l.status, l.lease_expires_at, l.attempts, l.fencing_token, l.started_at, l.holder INTO v_row FROM cron_job_logs l WHERE l.id = p_run;
  v_found := FOUND;
  IF v_found AND v_row.status = 'started' AND v_row.attempts = 0 AND v_row.holder IS NOT DISTINCT FROM p_holder THEN
    RETURN QUERY SELECT 'claimed'::text, k.fencing_token, v_row.started_at, k.expires_at FROM cron_job_leases k
      WHERE k.job_name = v_row.job_name AND k.run_id = p_run AND k.fencing_token = v_row.fencing_token AND k.expires_at > now();
    IF FOUND THEN RETURN; END IF;
  END IF;
  IF NOT v_found OR v_row.status <> 'queued' THEN
    RETURN QUERY SELECT 'gone'::text, NULL::bigint, NULL::timestamptz, NULL::timestamptz;
    RETURN;
  END IF;
  IF v_row.lease_expires_at <= now() THEN
    PERFORM crondeck_settle_expired_queued(v_row.job_name);
    RETURN QUERY SELECT 'gone'::text, NULL::bigint, NULL::timestamptz, NULL::timestamptz;
    RETURN;
  END IF;
  v_token := nextval('cron_fencing_token_seq');
  v_leased := CASE WHEN crondeck_take_lease(v_row.job_name, p_run, v_token, p_holder, v_expires) THEN p_run END;
  IF v_leased IS NULL THEN
    RETURN QUERY SELECT 'waiting'::text, NULL::bigint, NULL::timestamptz, NULL::timestamptz;
    RETURN;
  END IF;
  UPDATE cron_job_logs l SET status = 'started', started_at = now(), fencing_token = v_token, lease_expires_at = v_expires, holder = p_holder
   WHERE l.id = p_run;
  RETURN QUERY SELECT 'claimed'::text, v_token, now(), v_expires;
END $$;
--> statement-breakpoint
-- A waiter gives up its queued run: skipped. It also undoes a promotion whose reply it never
-- got (started by this holder, no handler ran), freeing that lease, so no phantom run keeps
-- the job until its lease expires. True when a row changed.
CREATE OR REPLACE FUNCTION crondeck_drop_queued(p_run uuid, p_holder text)
RETURNS boolean LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  -- The lease row first (the lock order), only for a promotion of this waiter's row.
  DELETE FROM cron_job_leases k USING cron_job_logs l
   WHERE l.id = p_run AND k.job_name = l.job_name AND k.run_id = p_run
     AND l.status = 'started' AND l.attempts = 0 AND l.holder IS NOT DISTINCT FROM p_holder;
  UPDATE cron_job_logs l
     SET status = 'skipped', skip_reason = 'already_running', completed_at = now(),
         duration_ms = (extract(epoch FROM now() - l.started_at) * 1000)::int, fencing_token = NULL, lease_expires_at = NULL
   WHERE l.id = p_run
     AND (l.status = 'queued' OR (l.status = 'started' AND l.attempts = 0 AND l.holder IS NOT DISTINCT FROM p_holder
                                  AND NOT EXISTS (SELECT 1 FROM cron_job_leases k WHERE k.run_id = p_run)));
  RETURN FOUND;
END $$;
--> statement-breakpoint
DROP FUNCTION IF EXISTS crondeck_claim_retry(uuid, integer, text);
--> statement-breakpoint
-- Resumes a run whose retry was deferred (status retry_scheduled), under the job's lease, and
-- records the code version of the deployment that resumes it (it may be newer than the first
-- attempt's). 'busy' while another run holds the lease (the tick tries again), 'gone' once it
-- resumed elsewhere.
CREATE OR REPLACE FUNCTION crondeck_claim_retry(p_run uuid, p_lease_ms integer, p_holder text, p_code_version text DEFAULT NULL)
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
     SET status = 'started', fencing_token = v_token, lease_expires_at = v_expires, holder = p_holder, next_retry_at = NULL,
         code_version = coalesce(p_code_version, l.code_version)
   WHERE l.id = p_run;
  RETURN QUERY SELECT 'claimed'::text, v_row.job_name::text, v_token, now(), v_expires, v_row.scheduled_for, v_row.attempts, v_row.attempt_details, v_row.log_lines, NULL::uuid;
END $$;
