import { sql } from "drizzle-orm";
import { queryRows, type Db } from "./client";
import { inTransaction } from "./commands/transaction";

/**
 * cron_alerts: one row per channel and alert, which is both the delivery record and the
 * rate limit's memory. The rate-limit policy is the dispatcher's (lib/alerts/dispatcher.ts);
 * these are its statements.
 */

/**
 * Row status while a delivery is under way. It counts as "sent" for the rate limit, so a notify
 * that arrives during another's delivery is suppressed; it becomes sent or failed within the
 * channel's timeout. A process killed mid-delivery leaves it, and it then holds back that
 * job/kind's alerts for one window, as a sent row would.
 */
export const SENDING = "sending";

export interface AlertClaimRow {
  id: string | number;
  channel: string;
  status: typeof SENDING | "suppressed";
}

export interface AlertClaim {
  jobName: string;
  kind: string;
  /** A uuid or null (the caller checks it: anything else would be a Postgres error). */
  runId: string | null;
  incidentId: string | null;
  /** In the order their rows are written. */
  channels: readonly string[];
  message: string;
  at: Date;
  windowMs: number;
}

/** A channel's delivery: null error when it was delivered. */
export interface AlertDelivery {
  channel: string;
  error: string | null;
}

/**
 * The rate-limit decision, one row per channel: all `sending` when no sent or sending row of
 * this job, kind and incident exists within the window, all `suppressed` otherwise.
 *
 * The incident is `incidentId`, else the run row's incident_id; alerts without one share a
 * window per job and kind. The decision is one INSERT ... SELECT under a transaction-scoped
 * advisory lock on (job, kind), taken by its own statement first: a READ COMMITTED statement's
 * snapshot is taken when it starts, so a single statement that waited on the lock inside itself
 * would not see the rows the lock holder had just committed. Ten concurrent claims deliver once.
 */
export async function claimAlert(db: Db, c: AlertClaim): Promise<AlertClaimRow[]> {
  const at = c.at.toISOString();
  const names = sql.join(
    c.channels.map((name, i) => sql`(${name}::varchar, ${i}::int)`),
    sql`, `,
  );
  return inTransaction(db, async (tx) => {
    await queryRows(tx, sql`SELECT pg_advisory_xact_lock(hashtext(${`crondeck:alert:${c.jobName}:${c.kind}`}))`);
    return queryRows<AlertClaimRow>(
      tx,
      sql`WITH incident AS (
            SELECT coalesce(${c.incidentId}::uuid, (SELECT l.incident_id FROM cron_job_logs l WHERE l.id = ${c.runId}::uuid)) AS id
          )
          INSERT INTO cron_alerts (job_name, kind, run_id, channel, status, message, created_at, incident_id)
          SELECT ${c.jobName}, ${c.kind}, ${c.runId}::uuid, ch.channel,
                 CASE WHEN EXISTS (
                   SELECT 1 FROM cron_alerts a
                    WHERE a.job_name = ${c.jobName} AND a.kind = ${c.kind}
                      AND a.status IN ('sent', ${SENDING})
                      AND a.incident_id IS NOT DISTINCT FROM i.id
                      AND a.created_at > ${at}::timestamptz - ${c.windowMs}::int8 * interval '1 millisecond'
                 ) THEN 'suppressed' ELSE ${SENDING} END,
                 ${c.message}, ${at}::timestamptz, i.id
            FROM (VALUES ${names}) AS ch(channel, ord) CROSS JOIN incident i
           ORDER BY ch.ord
          RETURNING id, channel, status`,
    );
  });
}

/** Turns a claim's `sending` rows into sent or failed, one statement for all channels; a channel without an outcome failed as "not attempted". */
export async function settleAlerts(db: Db, claimed: readonly AlertClaimRow[], outcomes: readonly AlertDelivery[]): Promise<void> {
  const values = claimed.map((row) => {
    const outcome = outcomes.find((o) => o.channel === row.channel);
    const error = outcome ? outcome.error : "not attempted";
    return sql`(${String(row.id)}::int8, ${error === null ? "sent" : "failed"}::varchar, ${error}::text)`;
  });
  await queryRows(
    db,
    sql`UPDATE cron_alerts a SET status = v.status, error = v.error
          FROM (VALUES ${sql.join(values, sql`, `)}) AS v(id, status, error)
         WHERE a.id = v.id`,
  );
}

/** Records deliveries that had no claim (the database was down when it was tried). */
export async function recordAlerts(
  db: Db,
  alert: Pick<AlertClaim, "jobName" | "kind" | "runId" | "message" | "at">,
  outcomes: readonly AlertDelivery[],
): Promise<void> {
  const at = alert.at.toISOString();
  const values = outcomes.map(
    (o) => sql`(${alert.jobName}, ${alert.kind}, ${alert.runId}::uuid, ${o.channel}, ${o.error === null ? "sent" : "failed"}, ${o.error}::text, ${alert.message}, ${at}::timestamptz)`,
  );
  await queryRows(db, sql`INSERT INTO cron_alerts (job_name, kind, run_id, channel, status, error, message, created_at) VALUES ${sql.join(values, sql`, `)}`);
}
