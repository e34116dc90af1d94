import { AsyncLocalStorage } from "node:async_hooks";
import type { TriggerOutcome } from "../cron/run-job";
import { LOCK_MISS_REASONS } from "../cron/vocabulary";
import type { Database } from "../db/client";
import { interruptHolder as interruptHolderRuns } from "../db/interrupt";

/**
 * Graceful shutdown for a self-hosted `next start` (scripts/start.mjs, which `npm start`, the
 * systemd unit and the Docker image run as the process that gets the signal, sets
 * NEXT_MANUAL_SIG_HANDLE so Next.js leaves SIGTERM/SIGINT to us): stop taking triggers (503), stop queued runs waiting
 * (EngineDeps.stopping), give running handlers CRON_SHUTDOWN_GRACE_SECONDS to finish, then mark
 * what is still running as interrupted, free its leases and drop its queued rows, answer every
 * caller still waiting, print the process's statistics and exit.
 */
export interface ProcessStats {
  /** Runs this process claimed: completed + failed + interrupted (+ retries scheduled). */
  executed: number;
  completed: number;
  failed: number;
  /** Runs still running when the grace period ended: recorded abandoned by the shutdown. */
  interrupted: number;
  skipped: number;
  locksAcquired: number;
  locksMissed: number;
  leasesExpired: number;
}

interface ShutdownState {
  shuttingDown: boolean;
  running: Set<string>;
  /** Runs the shutdown recorded as interrupted: their late outcome is not counted again. */
  interrupted: Set<string>;
  stats: ProcessStats;
  installed: boolean;
  stopping: AbortController;
  /** Requests still waiting for their response, each answered before the process exits. */
  waiting: Set<{ runIds: string[]; answer: (interruption: Interruption) => void }>;
  /** The runs started by the current request (one per module copy would split across bundles). */
  requestRuns: AsyncLocalStorage<string[]>;
}

const KEY = Symbol.for("crondeck.shutdown");
function state(): ShutdownState {
  const g = globalThis as { [KEY]?: ShutdownState };
  g[KEY] ??= {
    shuttingDown: false,
    running: new Set(),
    interrupted: new Set(),
    stats: { executed: 0, completed: 0, failed: 0, interrupted: 0, skipped: 0, locksAcquired: 0, locksMissed: 0, leasesExpired: 0 },
    installed: false,
    stopping: new AbortController(),
    waiting: new Set(),
    requestRuns: new AsyncLocalStorage(),
  };
  return g[KEY];
}

export function isShuttingDown(): boolean {
  return state().shuttingDown;
}

/** Aborts when this process starts shutting down (EngineDeps.stopping: queued runs stop waiting). */
export function stoppingSignal(): AbortSignal {
  return state().stopping.signal;
}

/** Counts one trigger's outcome in this process's statistics. */
export function recordOutcome(outcome: TriggerOutcome): void {
  const s = state().stats;
  if (outcome.kind === "skipped") {
    s.skipped++;
    if ((LOCK_MISS_REASONS as readonly string[]).includes(outcome.reason)) s.locksMissed++;
    return;
  }
  // Held back before any claim (a dependency still running): nothing ran, nothing to count.
  if (outcome.kind === "waiting") return;
  // Counted already, as interrupted, by the shutdown that closed it.
  if (state().interrupted.has(outcome.run.id)) return;
  s.executed++;
  s.locksAcquired++;
  if (outcome.run.status === "completed") s.completed++;
  else if (outcome.run.status !== "retry_scheduled" && outcome.run.status !== "replaced") s.failed++;
  if (!outcome.run.recorded) s.leasesExpired++;
}

export function runStarted(runId: string): void {
  state().running.add(runId);
  // The request this run belongs to, so a shutdown can tell its caller which run it interrupted.
  state().requestRuns.getStore()?.push(runId);
}

export function runSettled(runId: string): void {
  state().running.delete(runId);
}

/** What a caller whose run outlived the grace period is told: the fields of an error response. */
export interface Interruption {
  status: 503;
  code: "interrupted";
  message: string;
  details?: { runIds: string[]; status: "abandoned" };
}

function interruptionOf(runIds: string[], graceSeconds: number): Interruption {
  return {
    status: 503,
    code: "interrupted",
    message: `The server shut down while this run was in progress and it did not finish within the ${graceSeconds}s grace period; it is recorded as abandoned (interrupted) and its lease is free. Retry against another instance or after the restart.`,
    ...(runIds.length ? { details: { runIds, status: "abandoned" as const } } : {}),
  };
}

/**
 * Runs a cron route's handler so that its caller always gets an answer: normally the handler's
 * own response; if the process shuts down first (the run outlived the grace period), a 503
 * naming the interrupted run (`respond` turns the interruption into the response), sent before
 * the process exits instead of a connection reset.
 */
export function answerBeforeExit(handle: () => Promise<Response>, respond: (interruption: Interruption) => Response): Promise<Response> {
  const s = state();
  const runIds: string[] = [];
  return new Promise<Response>((resolve, reject) => {
    const entry = { runIds, answer: (i: Interruption) => resolve(respond(i)) };
    s.waiting.add(entry);
    s.requestRuns.run(runIds, handle).then(resolve, reject).finally(() => s.waiting.delete(entry));
  });
}

/** The statistics block printed at exit. */
export function formatStats(stats: ProcessStats): string {
  const finished = stats.completed + stats.failed + stats.interrupted;
  const rate = finished ? ((stats.completed / finished) * 100).toFixed(1) : "n/a";
  const attempts = stats.locksAcquired + stats.locksMissed;
  const contention = attempts ? ((stats.locksMissed / attempts) * 100).toFixed(1) : "0.0";
  return [
    "Crondeck statistics for this process:",
    `  jobs executed:    ${stats.executed}`,
    `  completed:        ${stats.completed}`,
    `  failed:           ${stats.failed}`,
    `  interrupted:      ${stats.interrupted}`,
    `  skipped:          ${stats.skipped}`,
    `  success rate:     ${rate}${rate === "n/a" ? "" : "%"}`,
    `  locks acquired:   ${stats.locksAcquired}`,
    `  locks missed:     ${stats.locksMissed}`,
    `  leases expired:   ${stats.leasesExpired}`,
    `  contention rate:  ${contention}%`,
  ].join("\n");
}

/** The error_message of a run the shutdown interrupted. */
function interruptedMessage(graceSeconds: number): string {
  return `interrupted: the server shut down and the handler did not finish within the ${graceSeconds}s grace period`;
}

/**
 * Marks this holder's still-running runs interrupted (status abandoned), frees every lease it
 * holds, and drops its queued rows (lib/db/interrupt.ts). Returns the interrupted runs.
 */
export function interruptHolder(database: Database, holder: string, graceSeconds: number): Promise<{ interrupted: string[]; dropped: string[] }> {
  return interruptHolderRuns(database.db, holder, interruptedMessage(graceSeconds));
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
    s.stopping.abort(new Error(`the server is shutting down (${signal})`));
    log(`[crondeck] ${signal}: no new triggers; waiting up to ${opts.graceSeconds}s for ${s.running.size} running job(s)`);
    const deadline = Date.now() + opts.graceSeconds * 1000;
    while (s.running.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    // What still runs is interrupted, whether or not the database can record it.
    const interrupted = new Set(s.running);
    try {
      const opened = await opts.open();
      if (opened) {
        const closed = await interruptHolder(opened.database, opened.holder, opts.graceSeconds);
        for (const id of closed.interrupted) interrupted.add(id);
        if (closed.interrupted.length) log(`[crondeck] marked ${closed.interrupted.length} run(s) interrupted and released their leases: ${closed.interrupted.join(", ")}`);
        if (closed.dropped.length) log(`[crondeck] dropped ${closed.dropped.length} queued run(s): ${closed.dropped.join(", ")}`);
        await opened.database.close().catch(() => {});
      }
    } catch (error) {
      log(`[crondeck] could not record interrupted runs: ${(error as Error).message.split("\n")[0]}`);
    }
    for (const id of interrupted) {
      if (s.interrupted.has(id)) continue;
      s.interrupted.add(id);
      s.stats.interrupted++;
      s.stats.executed++;
      s.stats.locksAcquired++;
    }
    // Callers still waiting (their run outlived the grace period) get an answer, not a reset.
    const waiting = [...s.waiting];
    for (const entry of waiting) entry.answer(interruptionOf(entry.runIds, opts.graceSeconds));
    log(formatStats(s.stats));
    // The responses are written by Next.js after the handlers return: give it a moment.
    await new Promise((r) => setTimeout(r, waiting.length ? 500 : 250));
    exit(0);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}
