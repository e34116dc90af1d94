-- A holder whose fenced finish changed nothing (its lease was taken over, or the sweep closed
-- its run) still owes the run log the truth about what its handler did: this appends the
-- holder's attempts that the row does not have yet (attempt numbers above the row's highest)
-- to the row's attempt_details, the last one marked leaseLost with the run that took over.
-- Narrow on purpose: only attempt_details, only the holder's own row (id and fencing token),
-- whatever its status now; the status, error and failure bookkeeping stay the sweep's or the
-- new holder's. It runs only on that rare path, never on a winner's two round trips.
-- A retried finish whose first try committed but whose reply was lost also lands here (its
-- second try finds the run no longer started): already_finished says the row carries this
-- holder's token and the very status it wrote, so the caller reports its result as recorded,
-- with the failure bookkeeping read back (the count before it is not known any more).
-- taken_over_by is the job's next holder: the run with the next fencing token (tokens come
-- from one sequence, so the next larger one took the lease after this holder), or this same
-- row when a resumed retry re-claimed it with a newer token.
DROP FUNCTION IF EXISTS crondeck_note_lease_lost(uuid, bigint, jsonb);
--> statement-breakpoint
CREATE OR REPLACE FUNCTION crondeck_note_lease_lost(p_run uuid, p_token bigint, p_attempts jsonb, p_status text)
RETURNS TABLE (noted boolean, already_finished boolean, status text, taken_over_by uuid, completed_at timestamptz, duration_ms integer,
               consecutive_failures integer, dead_letter_id uuid, auto_paused boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_row record;
  v_next uuid;
  v_new jsonb;
BEGIN
  SELECT l.job_name, l.status, l.fencing_token, l.started_at, l.completed_at, l.duration_ms, l.attempt_details INTO v_row
    FROM cron_job_logs l WHERE l.id = p_run FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT false, false, NULL::text, NULL::uuid, NULL::timestamptz, NULL::integer, NULL::integer, NULL::uuid, false;
    RETURN;
  END IF;
  IF v_row.fencing_token = p_token AND v_row.status = p_status THEN
    RETURN QUERY SELECT true, true, v_row.status::text, NULL::uuid, v_row.completed_at, v_row.duration_ms,
      (SELECT c.consecutive_failures FROM cron_job_config c WHERE c.job_name = v_row.job_name),
      (SELECT d.id FROM cron_dead_letters d WHERE d.run_id = p_run),
      coalesce((SELECT c.dead_lettered AND c.dead_lettered_since >= v_row.started_at FROM cron_job_config c WHERE c.job_name = v_row.job_name), false);
    RETURN;
  END IF;
  IF v_row.fencing_token IS NOT NULL AND v_row.fencing_token > p_token THEN
    v_next := p_run;
  ELSE
    SELECT l.id INTO v_next FROM cron_job_logs l
     WHERE l.job_name = v_row.job_name AND l.id <> p_run AND l.fencing_token > p_token AND l.started_at >= v_row.started_at
     ORDER BY l.fencing_token LIMIT 1;
  END IF;
  IF v_row.fencing_token IS DISTINCT FROM p_token THEN
    RETURN QUERY SELECT false, false, v_row.status::text, v_next, NULL::timestamptz, NULL::integer, NULL::integer, NULL::uuid, false;
    RETURN;
  END IF;
  SELECT coalesce(jsonb_agg(e ORDER BY (e->>'attempt')::int), '[]'::jsonb) INTO v_new
    FROM jsonb_array_elements(coalesce(p_attempts, '[]'::jsonb)) e
   WHERE (e->>'attempt')::int > coalesce((SELECT max((o->>'attempt')::int) FROM jsonb_array_elements(coalesce(v_row.attempt_details, '[]'::jsonb)) o), 0);
  IF jsonb_array_length(v_new) > 0 THEN
    v_new := jsonb_set(v_new, ARRAY[(jsonb_array_length(v_new) - 1)::text],
                       v_new -> (jsonb_array_length(v_new) - 1) || jsonb_build_object('leaseLost', true, 'takenOverBy', v_next));
  END IF;
  UPDATE cron_job_logs l SET attempt_details = coalesce(l.attempt_details, '[]'::jsonb) || v_new WHERE l.id = p_run;
  RETURN QUERY SELECT true, false, v_row.status::text, v_next, NULL::timestamptz, NULL::integer, NULL::integer, NULL::uuid, false;
END $$;
