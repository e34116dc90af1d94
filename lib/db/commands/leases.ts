import { sql, type SQL } from "drizzle-orm";
import type { Actor } from "../../cron/vocabulary";
import { markAbandoned } from "../abandon";
import { queryRows, type Db } from "../client";
import { iso, num, type DbNumber, type DbTime } from "../rows";
import { writeAudit } from "./audit";

/** A lease that was freed, with what its run became. */
export interface ClearedLease {
  jobName: string;
  runId: string;
  holder: string;
  acquiredAt: string;
  /** It had expired already (its holder stopped heartbeating). */
  wasStale: boolean;
  /** Its run was still `started` and is now `abandoned`. */
  runAbandoned: boolean;
}

export type ClearLockResult =
  | ({ cleared: true } & ClearedLease)
  | { cleared: false; reason: "not_found" }
  | { cleared: false; reason: "live"; jobName: string; runId: string; expiresInSeconds: number; holder: string };

/** Which leases to clear: one job's, the one held by a run, or all. */
export type LeaseSelector = { jobName: string } | { runId: string } | { all: true };

interface ClearRow {
  job_name: string;
  run_id: string;
  holder: string;
  acquired_at: DbTime;
  was_stale: boolean;
  run_abandoned: boolean;
  cleared: boolean;
  expires_in_s: DbNumber;
}

function whereOf(selector: LeaseSelector): SQL {
  if ("jobName" in selector) return sql`k.job_name = ${selector.jobName}`;
  if ("runId" in selector) return sql`k.run_id = ${selector.runId}::uuid`;
  return sql`true`;
}

/**
 * Frees the selected leases and marks their runs abandoned ("cleared by <actor>"), in one
 * statement, so no trigger can slip in between. A live lease (not yet expired) is cleared
 * only with `force`: its holder may still be running, and finds out at its next heartbeat
 * (the run is no longer "started", so its fenced finish writes nothing). By run id, a started
 * run that holds no job lease (overlap "allow") is ended the same way, by its own expiry.
 * Returns the freed leases and the live ones that stayed.
 */
async function clearLeases(db: Db, selector: LeaseSelector, actorName: string, force: boolean): Promise<ClearRow[]> {
  const where = whereOf(selector);
  const loneRun = "runId" in selector ? sql`l.id = ${selector.runId}::uuid` : sql`false`;
  // A run's own expiry may be unknown (NULL): nothing says its holder is alive, so it counts as expired.
  const expired = (alias: string) => sql`coalesce(${sql.raw(alias)}.expires_at <= now(), true)`;
  const message = sql`format('cleared by %s: the lease of holder %s (taken %s ago) was %s', ${actorName}::text, g.holder,
    date_trunc('second', now() - g.acquired_at),
    CASE WHEN ${expired("g")} THEN format('expired %s ago', date_trunc('second', now() - coalesce(g.expires_at, now()))) ELSE 'still live' END)`;
  // The UNION's later parts read the snapshot from before the DELETE: they show the live
  // leases that stayed, and must leave out the ones the DELETE took.
  return queryRows<ClearRow>(
    db,
    sql`WITH gone AS (
          DELETE FROM cron_job_leases k WHERE ${where} AND (${force} OR k.expires_at <= now())
          RETURNING k.job_name, k.run_id, k.holder, k.acquired_at, k.expires_at
        ), lone AS (
          SELECT l.job_name, l.id AS run_id, l.holder, l.started_at AS acquired_at, l.lease_expires_at AS expires_at
          FROM cron_job_logs l
          WHERE ${loneRun} AND l.status = 'started' AND NOT EXISTS (SELECT 1 FROM cron_job_leases k WHERE k.run_id = l.id)
        ), freed AS (
          SELECT * FROM gone UNION ALL SELECT * FROM lone o WHERE ${force} OR ${expired("o")}
        ), run AS (
          UPDATE cron_job_logs l SET ${markAbandoned(message)}
            FROM freed g
           WHERE l.id = g.run_id AND l.status = 'started'
          RETURNING l.id
        )
        SELECT g.job_name, g.run_id, g.holder, g.acquired_at, ${expired("g")} AS was_stale,
               EXISTS (SELECT 1 FROM run r WHERE r.id = g.run_id) AS run_abandoned, true AS cleared, 0 AS expires_in_s
        FROM freed g
        UNION ALL
        SELECT k.job_name, k.run_id, k.holder, k.acquired_at, false, false, false, floor(extract(epoch FROM k.expires_at - now()))::int
        FROM cron_job_leases k
        WHERE ${where} AND NOT EXISTS (SELECT 1 FROM gone g WHERE g.job_name = k.job_name)
        UNION ALL
        SELECT o.job_name, o.run_id, o.holder, o.acquired_at, false, false, false, floor(extract(epoch FROM o.expires_at - now()))::int
        FROM lone o
        WHERE NOT (${force} OR ${expired("o")})
        ORDER BY 1`,
  );
}

const toCleared = (r: ClearRow): ClearedLease => ({
  jobName: r.job_name,
  runId: r.run_id,
  holder: r.holder,
  acquiredAt: iso(r.acquired_at),
  wasStale: Boolean(r.was_stale),
  runAbandoned: Boolean(r.run_abandoned),
});

function resultOf(row: ClearRow | undefined): ClearLockResult {
  if (!row) return { cleared: false, reason: "not_found" };
  if (!row.cleared) return { cleared: false, reason: "live", jobName: row.job_name, runId: row.run_id, expiresInSeconds: num(row.expires_in_s), holder: row.holder };
  return { cleared: true, ...toCleared(row) };
}

/** Clears the lease of one job, or the one a run holds, with its audit row (lock.clear) when it was cleared. */
export async function clearLease(tx: Db, actor: Actor, input: { lease: { jobName: string } | { runId: string }; force: boolean }): Promise<ClearLockResult> {
  const [row] = await clearLeases(tx, input.lease, actor.name, input.force);
  const result = resultOf(row);
  if (result.cleared) {
    const { jobName, runId, holder, wasStale, runAbandoned } = result;
    await writeAudit(tx, actor, "lock.clear", jobName, { runId, holder, wasStale, runAbandoned, forced: input.force });
  }
  return result;
}

/** Clears every lease, live ones included, with one audit row (lock.clear, target null) when there was any. */
export async function clearAllLeases(tx: Db, actor: Actor): Promise<ClearedLease[]> {
  const cleared = (await clearLeases(tx, { all: true }, actor.name, true)).map(toCleared);
  if (cleared.length > 0) await writeAudit(tx, actor, "lock.clear", null, { all: true, count: cleared.length, forced: true, leases: cleared });
  return cleared;
}
