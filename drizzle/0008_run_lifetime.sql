-- A holder whose fenced finish changed nothing (its lease was taken over, or the sweep closed
-- its run) still owes the run log the truth about what its handler did: this appends the
-- holder's attempts that the row does not have yet (attempt numbers above the row's highest)
-- to the row's attempt_details, the last one marked leaseLost with the run that took over.
-- Narrow on purpose: only attempt_details, only the holder's own row (id and fencing token),
-- whatever its status now; the status, error and failure bookkeeping stay the sweep's or the
-- new holder's. It runs only on that rare path, never on a winner's two round trips.
-- taken_over_by is the job's next holder: the run with the next fencing token (tokens come
-- from one sequence, so the next larger one took the lease after this holder), or this same
-- row when a resumed retry re-claimed it with a newer token.
CREATE OR REPLACE FUNCTION crondeck_note_lease_lost(p_run uuid, p_token bigint, p_attempts jsonb)
RETURNS TABLE (noted boolean, status text, taken_over_by uuid)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_row record;
  v_next uuid;
  v_new jsonb;
BEGIN
  SELECT l.job_name, l.status, l.fencing_token, l.started_at, l.attempt_details INTO v_row
    FROM cron_job_logs l WHERE l.id = p_run FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT false, NULL::text, NULL::uuid;
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
    RETURN QUERY SELECT false, v_row.status::text, v_next;
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
  RETURN QUERY SELECT true, v_row.status::text, v_next;
END $$;
