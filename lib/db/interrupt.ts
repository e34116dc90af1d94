import { sql } from "drizzle-orm";
import { markAbandoned } from "./abandon";
import { queryRows, type Db } from "./client";

/** The error_message of a queued run dropped because its process shut down. */
const DROPPED_MESSAGE = "dropped: the server shut down while this run waited for the lease";

/**
 * A process going away: marks `holder`'s still-running runs abandoned with `message`, frees
 * every lease it holds, and drops its queued bufferOne/replace rows (skipped: their waiter is
 * going away, and a queued row left behind would keep the job's one queued place). One
 * statement. Returns the ids of the runs it ended and of the rows it dropped.
 */
export async function interruptHolder(db: Db, holder: string, message: string): Promise<{ interrupted: string[]; dropped: string[] }> {
  const rows = await queryRows<{ id: string; kind: "interrupted" | "dropped" }>(
    db,
    sql`WITH freed AS (DELETE FROM cron_job_leases WHERE holder = ${holder} RETURNING run_id),
        interrupted AS (
          UPDATE cron_job_logs l SET ${markAbandoned(sql`${message}`)}
           WHERE l.status = 'started' AND (l.id IN (SELECT run_id FROM freed) OR l.holder = ${holder})
          RETURNING l.id),
        dropped AS (
          UPDATE cron_job_logs l
             SET status = 'skipped', skip_reason = 'already_running', completed_at = now(), duration_ms = 0, lease_expires_at = NULL,
                 error_message = ${DROPPED_MESSAGE}
           WHERE l.status = 'queued' AND l.holder = ${holder}
          RETURNING l.id)
        SELECT id, 'interrupted' AS kind FROM interrupted UNION ALL SELECT id, 'dropped' AS kind FROM dropped`,
  );
  return { interrupted: rows.filter((r) => r.kind === "interrupted").map((r) => r.id), dropped: rows.filter((r) => r.kind === "dropped").map((r) => r.id) };
}
