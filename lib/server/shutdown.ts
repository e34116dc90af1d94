import { sql } from "drizzle-orm";
import type { TriggerOutcome } from "../cron/run-job";
import { queryRows, type Database } from "../db/client";

/**
 * Graceful shutdown for a self-hosted `next start` (npm start sets NEXT_MANUAL_SIG_HANDLE so
 * Next.js leaves SIGTERM/SIGINT to us): stop taking triggers (503), give running handlers
 * CRON_SHUTDOWN_GRACE_SECONDS to finish, then mark what is still running as interrupted and
 * free its leases, print the process's statistics and exit.
 */
export interface ProcessStats {
  executed: number;
  completed: number;
  failed: number;
  skipped: number;
  locksAcquired: number;
  locksMissed: number;
  leasesExpired: number;
}

interface ShutdownState {
  shuttingDown: boolean;
  running: Set<string>;
  stats: ProcessStats;
  installed: boolean;
}

const KEY = Symbol.for("crondeck.shutdown");
function state(): ShutdownState {
  const g = globalThis as { [KEY]?: ShutdownState };
  g[KEY] ??= {
    shuttingDown: false,
    running: new Set(),
    stats: { executed: 0, completed: 0, failed: 0, skipped: 0, locksAcquired: 0, locksMissed: 0, leasesExpired: 0 },
    installed: false,
  };
  return g[KEY];
}

export function isShuttingDown(): boolean {
  return state().shuttingDown;
}

export function processStats(): ProcessStats {
  return { ...state().stats };
}

/** Counts one trigger's outcome in this process's statistics. */
export function recordOutcome(outcome: TriggerOutcome): void {
  const s = state().stats;
  if (outcome.kind === "skipped") {
    s.skipped++;
    if (outcome.reason === "already_running" || outcome.reason === "duplicate") s.locksMissed++;
    return;
  }
  s.executed++;
  s.locksAcquired++;
  if (outcome.run.status === "completed") s.completed++;
  else if (outcome.run.status !== "retry_scheduled") s.failed++;
  if (!outcome.run.recorded) s.leasesExpired++;
}

export function runStarted(runId: string): void {
  state().running.add(runId);
}

export function runSettled(runId: string): void {
  state().running.delete(runId);
}

/** The statistics block printed at exit. */
export function formatStats(stats: ProcessStats): string {
  const finished = stats.completed + stats.failed;
  const rate = finished ? ((stats.completed / finished) * 100).toFixed(1) : "n/a";
  const attempts = stats.locksAcquired + stats.locksMissed;
  const contention = attempts ? ((stats.locksMissed / attempts) * 100).toFixed(1) : "0.0";
  return [
    "Crondeck statistics for this process:",
    `  jobs executed:    ${stats.executed}`,
    `  completed:        ${stats.completed}`,
    `  failed:           ${stats.failed}`,
    `  skipped:          ${stats.skipped}`,
    `  success rate:     ${rate}${rate === "n/a" ? "" : "%"}`,
    `  locks acquired:   ${stats.locksAcquired}`,
    `  locks missed:     ${stats.locksMissed}`,
    `  leases expired:   ${stats.leasesExpired}`,
    `  contention rate:  ${contention}%`,
  ].join("\n");
}

/** Marks this holder's still-running runs interrupted and frees every lease it holds. */
export async function interruptHolder(database: Database, holder: string, graceSeconds: number): Promise<string[]> {
  const rows = await queryRows<{ id: string }>(
    database.db,
    sql`WITH freed AS (DELETE FROM cron_job_leases WHERE holder = ${holder} RETURNING run_id)
        UPDATE cron_job_logs l
           SET status = 'abandoned', completed_at = now(), lease_expires_at = NULL,
               duration_ms = (extract(epoch FROM now() - l.started_at) * 1000)::int,
               error_message = ${`interrupted: the server shut down and the handler did not finish within the ${graceSeconds}s grace period`}
         WHERE l.status = 'started' AND (l.id IN (SELECT run_id FROM freed) OR l.holder = ${holder})
        RETURNING l.id`,
  );
  return rows.map((r) => r.id);
}

/**
 * Installs the SIGTERM/SIGINT handlers once per process. `open` gives the database and this
 * process's holder name when there is one to clean up (nothing is opened just to shut down).
 */
export function installGracefulShutdown(opts: {
  graceSeconds: number;
  open: () => Promise<{ database: Database; holder: string } | null>;
  log?: (line: string) => void;
  exit?: (code: number) => void;
}): void {
  const s = state();
  if (s.installed) return;
  s.installed = true;
  const log = opts.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const onSignal = async (signal: NodeJS.Signals) => {
    if (s.shuttingDown) return;
    s.shuttingDown = true;
    log(`[crondeck] ${signal}: no new triggers; waiting up to ${opts.graceSeconds}s for ${s.running.size} running job(s)`);
    const deadline = Date.now() + opts.graceSeconds * 1000;
    while (s.running.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    try {
      const opened = await opts.open();
      if (opened) {
        const interrupted = await interruptHolder(opened.database, opened.holder, opts.graceSeconds);
        if (interrupted.length) log(`[crondeck] marked ${interrupted.length} run(s) interrupted and released their leases: ${interrupted.join(", ")}`);
        await opened.database.close().catch(() => {});
      }
    } catch (error) {
      log(`[crondeck] could not record interrupted runs: ${(error as Error).message}`);
    }
    log(formatStats(s.stats));
    // The last handlers have returned, but Next.js may still be writing their responses.
    await new Promise((r) => setTimeout(r, 250));
    exit(0);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}
