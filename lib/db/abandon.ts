import { sql, type SQL } from "drizzle-orm";

/**
 * The one way a run row becomes `abandoned`: the SET list of an `UPDATE cron_job_logs l`
 * (the alias must be `l`). It ends the run now, frees its lease expiry, and measures its
 * duration from its start; the failure path (crondeck_record_outcome, fired by the status
 * change) counts it, dead-letters it and owes its alerts. `message` is the SQL for the error
 * message, which says who ended the run and why. The sweep keeps the lease's expiry on the row
 * (the run page shows when the lease ran out); an operator's clear and a shutdown end a lease
 * that was still live, so theirs is cleared.
 *
 * Callers: the sweep (expired leases), a lease cleared by an operator, a graceful shutdown.
 */
export function markAbandoned(message: SQL, options: { keepLeaseExpiry?: boolean } = {}): SQL {
  const expiry = options.keepLeaseExpiry ? sql`` : sql`lease_expires_at = NULL,`;
  return sql`status = 'abandoned', completed_at = now(), ${expiry}
             duration_ms = (extract(epoch FROM now() - l.started_at) * 1000)::int,
             error_message = ${message}`;
}
