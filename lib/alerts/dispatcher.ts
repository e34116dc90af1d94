import { sql, type SQL } from "drizzle-orm";
import { coerceError } from "../cron/errors";
import type { Db } from "../db/client";
import { formatAlertText } from "./format";
import { DEFAULT_ALERT_TIMEOUT_MS, withTimeout } from "./http-post";
import { reAlertWindowMs } from "./policy";
import { redactAlertError } from "./redact";
import type { AlertChannel, AlertEvent, AlertOutcome, AlertRouting } from "./types";

export interface AlertDispatcherOptions {
  db: Db;
  channels: AlertChannel[];
  log?: (msg: string) => void;
  /** The clock for the rate-limit window and the rows' created_at. Default the app's clock. */
  now?: () => Date;
  /** More values to scrub from recorded errors, on top of each channel's own `secrets`. */
  secrets?: readonly string[];
  /** How much longer than a channel's own timeout the dispatcher waits before recording it as failed. Default 500. */
  graceMs?: number;
}

/**
 * Row status while a delivery is under way. It counts as "sent" for the rate limit, so a notify
 * that arrives during another's delivery is suppressed; it becomes sent or failed within the
 * channel's timeout. A process killed mid-delivery leaves it, and it then holds back that
 * job/kind's alerts for one window, as a sent row would.
 */
export const SENDING = "sending";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type ClaimRow = { id: string | number; channel: string; status: string };

async function rows<T>(db: Pick<Db, "execute">, query: SQL): Promise<T[]> {
  return ((await db.execute(query)) as unknown as { rows: T[] }).rows;
}

/**
 * Sends an alert to every channel that applies, at most once per job, kind and incident per
 * `routing.reAlertAfterMs` (an auto-pause always: see reAlertWindowMs), and records each
 * channel's outcome in cron_alerts.
 *
 * The incident is the failure streak the run belongs to (event.incidentId, or the run row's
 * incident_id, written by the failure path in drizzle/0006_failure_path.sql): after a recovery a
 * new streak is a new incident, and its alerts are not held back by the last one's. Alerts
 * without a run (a missed slot) have no incident and share one window per job and kind.
 *
 * The rate limit is decided by one INSERT ... SELECT under a transaction-scoped advisory lock
 * on (job, kind): the lock is taken by its own statement first, because a READ COMMITTED
 * statement's snapshot is taken when it starts; a single statement that waited on the lock
 * inside itself would not see the rows the lock holder had just committed. The INSERT writes
 * one row per channel, `sending` when no sent/sending row exists within the window and
 * `suppressed` otherwise, so ten concurrent notifies deliver once. The transaction ends before
 * any network call; delivery outcomes then update those rows.
 *
 * Only a delivered alert starts a window: when every channel failed, the next notify tries again.
 */
export class AlertDispatcher {
  private readonly db: Db;
  private readonly channels: AlertChannel[];
  private readonly log: (msg: string) => void;
  private readonly now: () => Date;
  private readonly secrets: readonly string[];
  private readonly graceMs: number;

  constructor(opts: AlertDispatcherOptions) {
    this.db = opts.db;
    this.channels = opts.channels;
    this.log = opts.log ?? (() => {});
    this.now = opts.now ?? (() => new Date());
    this.secrets = [...(opts.secrets ?? []), ...opts.channels.flatMap((c) => c.secrets ?? [])];
    this.graceMs = opts.graceMs ?? 500;
  }

  async notify(event: AlertEvent, routing: AlertRouting): Promise<AlertOutcome> {
    const channels = this.channels.filter((channel) => {
      try {
        return channel.appliesTo(routing);
      } catch {
        return false;
      }
    });
    if (channels.length === 0) return { delivered: [], failed: [], suppressed: false };

    const message = formatAlertText(event);
    const secrets = routing.slackWebhook ? [...this.secrets, routing.slackWebhook] : this.secrets;
    let claimed: ClaimRow[] | null;
    try {
      claimed = await this.claim(event, channels, message, reAlertWindowMs(event.kind, routing.reAlertAfterMs));
    } catch (error) {
      // Alerting matters most when things are broken: with the database unreachable, send
      // without the rate limit rather than stay silent.
      this.log(`alerts: could not check the rate limit for ${event.jobName}/${event.kind}, sending anyway: ${redactAlertError(coerceError(error).message, secrets)}`);
      claimed = null;
    }
    if (claimed && claimed.some((row) => row.status === "suppressed")) {
      this.log(`alerts: ${event.jobName}/${event.kind} suppressed (already sent within ${routing.reAlertAfterMs} ms)`);
      return { delivered: [], failed: [], suppressed: true };
    }

    const outcomes = await Promise.all(channels.map((channel) => this.deliver(channel, event, routing, secrets)));
    const delivered = outcomes.filter((o) => o.error === null).map((o) => o.channel);
    const failed = outcomes.filter((o) => o.error !== null).map((o) => o.channel);
    for (const o of outcomes) if (o.error !== null) this.log(`alerts: ${event.jobName}/${event.kind} via ${o.channel} failed: ${o.error}`);

    try {
      if (claimed) await this.settle(claimed, outcomes);
      else await this.record(event, message, outcomes);
    } catch (error) {
      this.log(`alerts: could not record the outcome for ${event.jobName}/${event.kind}: ${redactAlertError(coerceError(error).message, secrets)}`);
    }
    return { delivered, failed, suppressed: false };
  }

  private async deliver(channel: AlertChannel, event: AlertEvent, routing: AlertRouting, secrets: readonly string[]): Promise<{ channel: string; error: string | null }> {
    const limitMs = (channel.timeoutMs ?? DEFAULT_ALERT_TIMEOUT_MS) + this.graceMs;
    try {
      // A channel that ignores its own timeout still cannot hold up the others or the caller.
      await withTimeout(Promise.resolve().then(() => channel.send(event, routing)), limitMs, `${channel.name}: gave up after ${limitMs} ms`);
      return { channel: channel.name, error: null };
    } catch (error) {
      return { channel: channel.name, error: redactAlertError(coerceError(error).message, secrets) };
    }
  }

  /** The rate-limit decision: one row per channel, all `sending` or all `suppressed`. */
  private async claim(event: AlertEvent, channels: AlertChannel[], message: string, windowMs: number): Promise<ClaimRow[]> {
    const at = this.now().toISOString();
    const runId = event.runId && UUID_RE.test(event.runId) ? event.runId : null;
    const incidentId = event.incidentId && UUID_RE.test(event.incidentId) ? event.incidentId : null;
    const names = sql.join(
      channels.map((c, i) => sql`(${c.name}::varchar, ${i}::int)`),
      sql`, `,
    );
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${`crondeck:alert:${event.jobName}:${event.kind}`}))`);
      return rows<ClaimRow>(
        tx,
        sql`WITH incident AS (
              SELECT coalesce(${incidentId}::uuid, (SELECT l.incident_id FROM cron_job_logs l WHERE l.id = ${runId}::uuid)) AS id
            )
            INSERT INTO cron_alerts (job_name, kind, run_id, channel, status, message, created_at, incident_id)
            SELECT ${event.jobName}, ${event.kind}, ${runId}::uuid, c.channel,
                   CASE WHEN EXISTS (
                     SELECT 1 FROM cron_alerts a
                      WHERE a.job_name = ${event.jobName} AND a.kind = ${event.kind}
                        AND a.status IN ('sent', ${SENDING})
                        AND a.incident_id IS NOT DISTINCT FROM i.id
                        AND a.created_at > ${at}::timestamptz - ${windowMs}::int8 * interval '1 millisecond'
                   ) THEN 'suppressed' ELSE ${SENDING} END,
                   ${message}, ${at}::timestamptz, i.id
              FROM (VALUES ${names}) AS c(channel, ord) CROSS JOIN incident i
             ORDER BY c.ord
            RETURNING id, channel, status`,
      );
    });
  }

  /** Turns the claim's `sending` rows into sent/failed, one statement for all channels. */
  private async settle(claimed: ClaimRow[], outcomes: Array<{ channel: string; error: string | null }>): Promise<void> {
    const values = claimed.map((row) => {
      const outcome = outcomes.find((o) => o.channel === row.channel);
      const error = outcome ? outcome.error : "not attempted";
      return sql`(${String(row.id)}::int8, ${error === null ? "sent" : "failed"}::varchar, ${error}::text)`;
    });
    await this.db.execute(
      sql`UPDATE cron_alerts a SET status = v.status, error = v.error
            FROM (VALUES ${sql.join(values, sql`, `)}) AS v(id, status, error)
           WHERE a.id = v.id`,
    );
  }

  /** Records outcomes when the claim could not be written (database down during the claim). */
  private async record(event: AlertEvent, message: string, outcomes: Array<{ channel: string; error: string | null }>): Promise<void> {
    const at = this.now().toISOString();
    const runId = event.runId && UUID_RE.test(event.runId) ? event.runId : null;
    const values = outcomes.map(
      (o) => sql`(${event.jobName}, ${event.kind}, ${runId}::uuid, ${o.channel}, ${o.error === null ? "sent" : "failed"}, ${o.error}::text, ${message}, ${at}::timestamptz)`,
    );
    await this.db.execute(
      sql`INSERT INTO cron_alerts (job_name, kind, run_id, channel, status, error, message, created_at) VALUES ${sql.join(values, sql`, `)}`,
    );
  }
}
