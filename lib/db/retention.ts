import { sql, type SQL } from "drizzle-orm";
import { systemClock, type Clock } from "../cron/clock";
import { RECOVERY_STATUSES, type RunStatus } from "../cron/vocabulary";
import type { Env } from "../env";
import { queryRows, type Db } from "./client";
import { SENDING } from "./alerts";
import { num, type DbNumber } from "./rows";

/**
 * Retention for every table that is history: run logs, alerts, the audit log, settled
 * dead-letter entries and ended backfills. Each batch is ONE statement on its own (no surrounding transaction),
 * so it commits when it returns: a crash, a timeout or a failed later batch keeps what the
 * earlier batches deleted, and the next cleanup goes on from there. The loop runs here, in
 * TypeScript, which works on every driver (PGlite, node-postgres, Neon's); a PROCEDURE with
 * COMMIT inside would not run over the Neon HTTP driver and could not watch the function's
 * time budget. Batches take the oldest due rows first, so the work done is a prefix in time.
 *
 * cron_monitors is state (open conditions), not history, and is never trimmed here; the
 * admin sessions and login counters are trimmed by cleanupAuthState (lib/db/maintenance.ts).
 */

/** The tables retention trims, in the order a cleanup visits them. */
export const RETENTION_TABLES = ["cron_dead_letters", "cron_alerts", "cron_audit_log", "cron_job_logs", "cron_backfills"] as const;
export type RetentionTable = (typeof RETENTION_TABLES)[number];

/** Runs in these statuses are never deleted, however old: they have not finished. */
export const UNFINISHED_RUN_STATUSES = ["started", "queued", "retry_scheduled"] as const satisfies readonly RunStatus[];
/** Dead-letter entries in these statuses have settled (their age counts from then); pending ones are never deleted. */
export const SETTLED_RECOVERY_STATUSES = RECOVERY_STATUSES.filter((s) => s !== "pending");

const DAY_MS = 86_400_000;

/** What each table keeps, in days, and how many rows one batch deletes. */
export interface RetentionPolicy {
  logDays: number;
  alertDays: number;
  auditDays: number;
  deadLetterDays: number;
  batchSize: number;
  /**
   * The longest re-alert window of any job (ms): alert rows younger than this are the rate
   * limiter's memory (lib/db/alerts.ts claimAlert looks back one window) and stay even when
   * CRON_ALERT_RETENTION_DAYS is shorter.
   */
  alertWindowMs: number;
}

export type RetentionEnv = Pick<
  Env,
  "CRON_LOG_RETENTION_DAYS" | "CRON_ALERT_RETENTION_DAYS" | "CRON_AUDIT_RETENTION_DAYS" | "CRON_DEAD_LETTER_RETENTION_DAYS" | "CRON_CLEANUP_BATCH_SIZE"
>;

/** The policy from the environment and the jobs' re-alert windows (`logDays` overrides CRON_LOG_RETENTION_DAYS, as `crondeck logs cleanup --days` does). */
export function retentionPolicy(env: RetentionEnv, jobs: Iterable<{ alerts: { reAlertAfterMs: number } }>, overrides: { logDays?: number } = {}): RetentionPolicy {
  let alertWindowMs = 0;
  for (const job of jobs) alertWindowMs = Math.max(alertWindowMs, job.alerts.reAlertAfterMs);
  return {
    logDays: overrides.logDays ?? env.CRON_LOG_RETENTION_DAYS,
    alertDays: env.CRON_ALERT_RETENTION_DAYS,
    auditDays: env.CRON_AUDIT_RETENTION_DAYS,
    deadLetterDays: env.CRON_DEAD_LETTER_RETENTION_DAYS,
    batchSize: env.CRON_CLEANUP_BATCH_SIZE,
    alertWindowMs,
  };
}

/** How one table's rules read: its key, the time its age counts from, and which rows are due before a cutoff. */
interface TableRule {
  key: SQL;
  age: SQL;
  due(cutoff: string): SQL;
}

// Every rule's column is qualified with the alias `t`; the age column has an index (the
// batches' ORDER BY ... LIMIT walks it from the oldest end): idx_cron_logs_started_at,
// idx_cron_alerts_created, idx_cron_audit_created. cron_dead_letters is small (settled
// entries live 30 days) and is filtered through idx_cron_dlq_status_created.
const RULES: Record<RetentionTable, TableRule> = {
  cron_job_logs: {
    key: sql`t.id`,
    age: sql`t.started_at`,
    // The rules cleanup_old_cron_logs keeps (0001): unfinished runs, and runs a pending
    // dead-letter entry points to (replay needs them). Runs of settled entries may go.
    due: (cutoff) => sql`t.started_at < ${cutoff}::timestamptz
      AND t.status NOT IN (${sql.join(UNFINISHED_RUN_STATUSES.map((s) => sql`${s}`), sql`, `)})
      AND NOT EXISTS (SELECT 1 FROM cron_dead_letters d WHERE d.run_id = t.id AND d.recovery_status = 'pending')`,
  },
  cron_alerts: {
    key: sql`t.id`,
    age: sql`t.created_at`,
    // A `sending` row is a delivery under way (or one a killed process left, which holds its
    // window as a sent row would): never deleted, whatever its age.
    due: (cutoff) => sql`t.created_at < ${cutoff}::timestamptz AND t.status <> ${SENDING}`,
  },
  cron_audit_log: {
    key: sql`t.id`,
    age: sql`t.created_at`,
    due: (cutoff) => sql`t.created_at < ${cutoff}::timestamptz`,
  },
  // An ended backfill is the record of its runs: it goes with them (CRON_LOG_RETENTION_DAYS after
  // it ended); a running one never (its runner resumes it). The audit log keeps who started it.
  cron_backfills: {
    key: sql`t.id`,
    age: sql`coalesce(t.finished_at, t.updated_at)`,
    due: (cutoff) => sql`t.status <> 'running' AND coalesce(t.finished_at, t.updated_at) < ${cutoff}::timestamptz`,
  },
  cron_dead_letters: {
    key: sql`t.id`,
    // When it settled: resolved_at (replayed, marked failed), else its last change.
    age: sql`coalesce(t.resolved_at, t.updated_at)`,
    due: (cutoff) =>
      sql`t.recovery_status IN (${sql.join(SETTLED_RECOVERY_STATUSES.map((s) => sql`${s}`), sql`, `)}) AND coalesce(t.resolved_at, t.updated_at) < ${cutoff}::timestamptz`,
  },
};

/** The cutoff of each table at `now`: rows older than it are due. */
export function retentionCutoffs(policy: RetentionPolicy, now: Date): Record<RetentionTable, Date> {
  const daysAgo = (days: number) => new Date(now.getTime() - days * DAY_MS);
  return {
    cron_job_logs: daysAgo(policy.logDays),
    cron_alerts: new Date(Math.min(daysAgo(policy.alertDays).getTime(), now.getTime() - policy.alertWindowMs)),
    cron_audit_log: daysAgo(policy.auditDays),
    cron_dead_letters: daysAgo(policy.deadLetterDays),
    cron_backfills: daysAgo(policy.logDays),
  };
}

function days(policy: RetentionPolicy, table: RetentionTable): number {
  return { cron_job_logs: policy.logDays, cron_alerts: policy.alertDays, cron_audit_log: policy.auditDays, cron_dead_letters: policy.deadLetterDays, cron_backfills: policy.logDays }[table];
}

/**
 * Deletes up to `limit` of the oldest due rows of `table`, in one statement (so one
 * transaction when `db` is not inside one). Rows another transaction holds locked are skipped,
 * not waited for. Returns how many it deleted.
 */
export async function deleteRetentionBatch(db: Db, table: RetentionTable, cutoff: Date, limit: number): Promise<number> {
  const rule = RULES[table];
  const name = sql.raw(table);
  const [row] = await queryRows<{ n: DbNumber }>(
    db,
    sql`WITH gone AS (
          DELETE FROM ${name} WHERE id IN (
            SELECT ${rule.key} FROM ${name} t WHERE ${rule.due(cutoff.toISOString())}
             ORDER BY ${rule.age} LIMIT ${limit} FOR UPDATE OF t SKIP LOCKED)
          RETURNING 1)
        SELECT count(*) AS n FROM gone`,
  );
  return num(row?.n);
}

/** How many rows of `table` are due before `cutoff` (and not deleted yet). */
export async function countDue(db: Db, table: RetentionTable, cutoff: Date): Promise<number> {
  const [row] = await queryRows<{ n: DbNumber }>(db, sql`SELECT count(*) AS n FROM ${sql.raw(table)} t WHERE ${RULES[table].due(cutoff.toISOString())}`);
  return num(row?.n);
}

/**
 * One table's part of a cleanup. `status`: `done` (a batch came back short: nothing due is
 * left but rows locked at that moment), `stopped` (the time budget or the caller's signal
 * ended it first: `remaining` rows wait for the next cleanup), `failed` (a batch failed:
 * what earlier batches deleted stays deleted).
 */
export interface RetentionTableReport {
  table: RetentionTable;
  status: "done" | "stopped" | "failed";
  retentionDays: number;
  /** Rows older than this were due (ISO 8601). */
  cutoff: string;
  deleted: number;
  batches: number;
  /** Due rows still there after this cleanup (0 when it could not be counted after a failure). */
  remaining: number;
  /** Why a batch failed (the database's message, without the statement). */
  error?: string;
}

export interface RetentionReport {
  /** Every table visited ran to the end (none stopped, none failed). */
  complete: boolean;
  deleted: number;
  remaining: number;
  elapsedMs: number;
  tables: RetentionTableReport[];
}

export interface RetentionRunOptions {
  /** The cutoffs count back from here. Default: the clock's now. */
  now?: Date;
  /** Measures the time budget. Default: the system clock. */
  clock?: Clock;
  /**
   * Milliseconds the whole cleanup may take. A batch starts only if the longest batch so far
   * still fits; then the due rows left are counted. Null or absent: no limit.
   */
  budgetMs?: number | null;
  /** Stops before the next batch when it aborts (the job's timeout). */
  signal?: AbortSignal;
  /** Called after each committed batch (progress for the job's log). */
  onBatch?: (table: RetentionTable, deleted: number) => void;
}

/**
 * Runs retention over every table in {@link RETENTION_TABLES} order, batch by batch, each
 * batch committing on its own. Settled dead-letter entries go first, so runs that only they
 * kept may go with the logs in the same cleanup. A failure in one table is reported and the
 * others still run. Never call it inside a transaction: the batches would no longer commit
 * one by one.
 */
export async function runRetention(db: Db, policy: RetentionPolicy, options: RetentionRunOptions = {}): Promise<RetentionReport> {
  const clock = options.clock ?? systemClock;
  const read = () => clock.monotonic?.() ?? clock.now();
  const started = read();
  const now = options.now ?? new Date(clock.now());
  const cutoffs = retentionCutoffs(policy, now);
  const budget = options.budgetMs ?? Infinity;
  let longestBatchMs = 0;
  const tables: RetentionTableReport[] = [];

  for (const table of RETENTION_TABLES) {
    const cutoff = cutoffs[table];
    const report: RetentionTableReport = { table, status: "done", retentionDays: days(policy, table), cutoff: cutoff.toISOString(), deleted: 0, batches: 0, remaining: 0 };
    tables.push(report);
    try {
      for (;;) {
        if (options.signal?.aborted || read() - started + longestBatchMs > budget) {
          report.status = "stopped";
          break;
        }
        const before = read();
        const deleted = await deleteRetentionBatch(db, table, cutoff, policy.batchSize);
        longestBatchMs = Math.max(longestBatchMs, read() - before);
        report.batches++;
        report.deleted += deleted;
        if (deleted > 0) options.onBatch?.(table, deleted);
        if (deleted < policy.batchSize) break;
      }
    } catch (error) {
      report.status = "failed";
      report.error = databaseMessage(error);
    }
    // Counted even when done: a short batch can leave rows that were locked at that moment.
    report.remaining = await countDue(db, table, cutoff).catch(() => report.remaining);
  }
  return {
    complete: tables.every((t) => t.status === "done"),
    deleted: tables.reduce((n, t) => n + t.deleted, 0),
    remaining: tables.reduce((n, t) => n + t.remaining, 0),
    elapsedMs: Math.round(read() - started),
    tables,
  };
}

/**
 * The database's own message of a failed statement, with its SQLSTATE: drizzle wraps it in
 * an error whose message repeats the whole statement and its parameters, which a report,
 * a log line or an audit row must not carry.
 */
function databaseMessage(error: unknown): string {
  let inner: unknown = error;
  for (let depth = 0; depth < 5; depth++) {
    const cause = (inner as { cause?: unknown } | null)?.cause;
    if (!cause) break;
    inner = cause;
  }
  const e = inner as { code?: unknown; message?: unknown };
  const message = typeof e?.message === "string" ? e.message : String(inner);
  const code = typeof e?.code === "string" && /^[0-9A-Z]{5}$/.test(e.code) ? `${e.code}: ` : "";
  return `${code}${message.split("\n")[0]}`.slice(0, 300);
}
