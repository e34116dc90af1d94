import { defineJob } from "../cron/define-job";
import { getDatabase } from "../db/client";
import { runCleanup } from "../db/maintenance";
import { retentionPolicy, type RetentionReport } from "../db/retention";
import { loadEnv } from "../env";
import { currentRegistry } from "./current-registry";

/**
 * How long one run may delete: 90 s of the 2 m timeout, leaving room to count what is left,
 * trim the authentication tables and record the run. Batches commit one by one, so what a run
 * did not reach waits for the next one, and a run cut short keeps what it deleted.
 */
export const CLEANUP_BUDGET_MS = 90_000;

/** One line per table: what was deleted, what is still due, and why it stopped. */
export function retentionLines(report: RetentionReport): string[] {
  return report.tables.map((t) => {
    const why = t.status === "failed" ? `, failed: ${t.error}` : t.status === "stopped" ? ", stopped by the time budget" : "";
    return `${t.table}: deleted ${t.deleted} older than ${t.retentionDays} days in ${t.batches} batch${t.batches === 1 ? "" : "es"}, ${t.remaining} still due${why}`;
  });
}

/**
 * Weekly: retention for every history table (lib/db/retention.ts): runs older than
 * CRON_LOG_RETENTION_DAYS (90; running runs and runs behind pending dead letters stay),
 * alerts older than CRON_ALERT_RETENTION_DAYS (90; never inside a re-alert window), audit rows
 * older than CRON_AUDIT_RETENTION_DAYS (365), dead-letter entries settled more than
 * CRON_DEAD_LETTER_RETENTION_DAYS ago (30); then ended admin sessions and old login counters.
 */
export default defineJob({
  name: "cleanup-old-logs",
  schedule: "0 0 * * 0",
  description: "Delete runs, alerts, audit rows and settled dead letters past their retention (CRON_*_RETENTION_DAYS)",
  category: "cleanup",
  // Within the execute route's 300 s maxDuration, with room for an in-request retry after a
  // quick failure; the delete is idempotent, so a timed-out attempt's work is kept by the next.
  timeout: "2m",
  retries: 2,
  backoff: { strategy: "exponential", delay: "5s", factor: 2, max: "5m", jitter: true },
  handler: async (ctx) => {
    const env = loadEnv();
    const { db } = await getDatabase(env);
    // The registry imports this file, so it is read as the process last built it (no import cycle).
    const policy = retentionPolicy(env, currentRegistry()?.list() ?? []);
    const report = await runCleanup(db, policy, { budgetMs: CLEANUP_BUDGET_MS, signal: ctx.signal });
    for (const line of retentionLines(report)) ctx.log(line);
    ctx.log(`auth: ${report.auth.sessions} ended sessions, ${report.auth.loginAttempts} login counters deleted`);
    const failed = report.tables.filter((t) => t.status === "failed");
    // A failed table fails the run (alerted, retried); the other tables' deletes are kept.
    if (failed.length > 0) throw new Error(`retention failed for ${failed.map((t) => `${t.table} (${t.error})`).join(", ")}; ${report.deleted} rows deleted before`);
    return report;
  },
});
