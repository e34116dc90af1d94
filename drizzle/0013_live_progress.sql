-- 0013_live_progress: a running run's log lines and attempts reach its row as they happen, with
-- the lease heartbeats (lib/cron/lease-keeper.ts), so the run page shows progress and a crash
-- keeps the log up to the crash. Still one statement per heartbeat (issue 16 measures it):
-- the progress rides in the heartbeat's own call, never in a round trip of its own.
--
-- The log is sent as a tail: p_log_from is how many of the run's lines the holder knows are on
-- the row already, p_log_lines the lines after them. The row keeps its first p_log_from lines
-- and appends the tail, so a heartbeat sent twice (its reply was lost, the holder sends the same
-- tail again) leaves each line once, and the final finish, which writes the whole log, replaces
-- it with the same lines. A resumed retry's earlier lines are on the row already: its holder
-- starts at their count.
--
-- Fenced like the lease itself: the progress is written only while the row is this holder's
-- (its fencing token) and still started. A stale holder (the lease taken over, the sweep closed
-- the run) changes nothing; neither does a timed-out handler that lingers after its finish was
-- recorded (it keeps the lease, heartbeats go on, its row is no longer started).
CREATE OR REPLACE FUNCTION crondeck_splice_log(p_lines jsonb, p_from integer, p_tail jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    -- The usual case: the row has exactly the lines the holder knows of.
    WHEN coalesce(jsonb_array_length(p_lines), 0) = p_from THEN coalesce(p_lines, '[]'::jsonb) || p_tail
    -- A repeated tail (lost reply): keep the first p_from lines, then the tail again.
    WHEN coalesce(jsonb_array_length(p_lines), 0) > p_from THEN
      coalesce((SELECT jsonb_agg(e ORDER BY i) FROM jsonb_array_elements(p_lines) WITH ORDINALITY t(e, i) WHERE i <= p_from), '[]'::jsonb) || p_tail
    -- Fewer lines than the holder knows of (not written by this holder): append, never invent.
    ELSE coalesce(p_lines, '[]'::jsonb) || p_tail
  END
$$;
--> statement-breakpoint
DROP FUNCTION IF EXISTS crondeck_heartbeat(uuid, bigint, integer);
--> statement-breakpoint
-- Extends a live lease; tells the holder whether a "replace" trigger asked it to stop; and, when
-- the holder has progress to show, writes it in the same UPDATE of the run's row: the attempts
-- started so far (p_attempts), the finished attempts' records (p_attempt_details, null when
-- unchanged) and the log's new tail (p_log_from, p_log_lines; null when none).
-- The lease row (not the run's status) decides aliveness: a timed-out handler that ignores its
-- signal keeps the job's lease until it settles, so no new run can overlap it.
CREATE OR REPLACE FUNCTION crondeck_heartbeat(
  p_run uuid, p_token bigint, p_lease_ms integer,
  p_attempts integer DEFAULT NULL, p_attempt_details jsonb DEFAULT NULL, p_log_from integer DEFAULT NULL, p_log_lines jsonb DEFAULT NULL
) RETURNS TABLE (alive boolean, cancel_requested boolean, lease_expires_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_expires timestamptz := now() + make_interval(secs => p_lease_ms / 1000.0);
  v_cancel timestamptz;
BEGIN
  UPDATE cron_job_leases k SET expires_at = v_expires WHERE k.run_id = p_run AND k.fencing_token = p_token;
  IF FOUND THEN
    UPDATE cron_job_logs l
       SET lease_expires_at = v_expires,
           attempts = CASE WHEN p_attempts IS NOT NULL AND l.status = 'started' AND l.fencing_token = p_token
                           THEN greatest(coalesce(l.attempts, 0), p_attempts) ELSE l.attempts END,
           attempt_details = CASE WHEN p_attempt_details IS NOT NULL AND l.status = 'started' AND l.fencing_token = p_token
                                  THEN p_attempt_details ELSE l.attempt_details END,
           log_lines = CASE WHEN p_log_lines IS NOT NULL AND l.status = 'started' AND l.fencing_token = p_token
                            THEN crondeck_splice_log(l.log_lines, p_log_from, p_log_lines) ELSE l.log_lines END
     WHERE l.id = p_run RETURNING l.cancel_requested_at INTO v_cancel;
  ELSE
    -- Runs of overlap "allow" jobs hold no job lease: their own row is their lease.
    UPDATE cron_job_logs l
       SET lease_expires_at = v_expires,
           attempts = CASE WHEN p_attempts IS NOT NULL THEN greatest(coalesce(l.attempts, 0), p_attempts) ELSE l.attempts END,
           attempt_details = coalesce(p_attempt_details, l.attempt_details),
           log_lines = CASE WHEN p_log_lines IS NOT NULL THEN crondeck_splice_log(l.log_lines, p_log_from, p_log_lines) ELSE l.log_lines END
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
