import { hostname } from "node:os";
import { clearEveryLease, clearJobLease } from "../../lib/app/operations/leases";
import { JOB_NAME_RE } from "../../lib/cron/define-job";
import { isUuid } from "../../lib/cron/ids";
import { locks, type LockInfo } from "../../lib/db/queries/leases";
import { statistics } from "../../lib/db/queries/statistics";
import type { ClearedLease } from "../../lib/db/commands/leases";
import { frequentTimeouts } from "../../lib/db/queries/cli-locks";
import type { CliContext } from "./context";
import { EXIT_OK, UsageError } from "./errors";
import { formatRatio, formatSeconds, formatTime, table } from "./format";
import type { CommandInput } from "./spec";

export type HolderProcess = "running" | "not_running" | "other_host";

/**
 * Whether a self-hosted holder ("host:pid") is still alive, when it is on this host: signal 0
 * checks the pid without touching it (ESRCH: gone; EPERM: alive, another user's). A Vercel
 * holder ("deployment/region") or another host cannot be checked from here.
 */
export function holderProcess(holder: string, host = hostname()): HolderProcess {
  const match = /^(.+):(\d+)$/.exec(holder);
  if (!match || match[1] !== host) return "other_host";
  const pid = Number(match[2]);
  if (pid === process.pid) return "running";
  try {
    process.kill(pid, 0);
    return "running";
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH" ? "not_running" : "running";
  }
}

/** A lease as the CLI shows it: the dashboard's, plus whether its holder still runs on this host. */
export interface CliLockInfo extends Omit<LockInfo, "heldSeconds" | "run"> {
  heldForSeconds: number;
  /** The lease ran out by the database clock (`stale` also counts a holder that is gone). */
  expired: boolean;
  holderProcess: HolderProcess;
  warnings: string[];
  run: { status: string | null; trigger: string | null; scheduledFor: string | null };
}

/** The leases (the dashboard's query), plus what only a terminal on this host can tell: whether the holder still runs. */
export async function readLocks(ctx: CliContext): Promise<CliLockInfo[]> {
  const { db } = await ctx.database();
  return (await locks(db)).map((l) => {
    const process = holderProcess(l.holder);
    const warnings: string[] = [];
    if (l.stale) warnings.push(`STALE: expired ${formatSeconds(-l.expiresInSeconds)} ago`);
    if (process === "not_running") warnings.push(`${l.stale ? "" : "STALE: "}holder process not running`);
    if (l.run?.status && l.run.status !== "started") warnings.push(`run is ${l.run.status}`);
    const { heldSeconds, run: _run, ...lease } = l;
    return {
      ...lease,
      heldForSeconds: heldSeconds,
      expired: l.stale,
      holderProcess: process,
      stale: l.stale || process === "not_running",
      warnings,
      run: { status: l.run?.status ?? null, trigger: l.run?.trigger ?? null, scheduledFor: l.run?.scheduledFor ?? null },
    };
  });
}

export async function locksList(ctx: CliContext, input: CommandInput, staleOnly: boolean): Promise<number> {
  const all = await readLocks(ctx);
  const locks = staleOnly ? all.filter((l) => l.stale) : all;
  const verbose = input.options.verbose === true;
  const stale = all.filter((l) => l.stale).length;
  ctx.out.result({ ok: true, total: locks.length, stale: staleOnly ? locks.length : stale, locks }, () => {
    if (locks.length === 0) return staleOnly ? "No stale leases." : "No leases held: no job is running.";
    const columns = ["JOB", "HOLDER", "ACQUIRED", "HELD FOR", "EXPIRES IN", ...(verbose ? ["RUN", "TOKEN", "TRIGGER", "SLOT", "RUN STATUS"] : []), "WARNING"];
    const rows = locks.map((l) => [
      l.jobName,
      l.holder,
      formatTime(l.acquiredAt),
      formatSeconds(l.heldForSeconds),
      l.expired ? "expired" : formatSeconds(l.expiresInSeconds),
      ...(verbose ? [l.runId, String(l.fencingToken), l.run.trigger ?? "-", formatTime(l.run.scheduledFor), l.run.status ?? "(no run row)"] : []),
      l.warnings.join("; ") || "",
    ]);
    const summary = `${locks.length} lease${locks.length === 1 ? "" : "s"}${staleOnly ? " stale" : ` held, ${stale} stale`}.`;
    const hint = stale > 0 ? " `crondeck locks clear <job>` frees one now; the tick's sweep frees expired ones within a minute." : "";
    return [table(columns, rows), "", summary + hint];
  });
  return EXIT_OK;
}

function clearedJson(rows: readonly ClearedLease[]) {
  return rows.map((r) => ({ jobName: r.jobName, runId: r.runId, holder: r.holder, acquiredAt: r.acquiredAt, runAbandoned: r.runAbandoned }));
}

/** The admin API's lease clearing: a stale lease clears at once, a live one only with --force. */
export async function locksClear(ctx: CliContext, input: CommandInput): Promise<number> {
  const target = input.args[0];
  const byRun = isUuid(target);
  if (!byRun && !JOB_NAME_RE.test(target)) {
    throw new UsageError(`"${target}" is neither a job name nor a run id: give the job (\`crondeck locks list\` shows the held ones) or the run id (\`crondeck locks list --verbose\`)`, "invalid_argument");
  }
  const lease = byRun ? { runId: target.toLowerCase() } : { jobName: target };
  const cleared = await clearJobLease(await ctx.ops(), ctx.actor, { lease, force: input.options.force === true });
  ctx.out.result({ ok: true, cleared: clearedJson([cleared]) }, () =>
    `cleared the lease of ${cleared.jobName} (held by ${cleared.holder} since ${formatTime(cleared.acquiredAt)})${cleared.runAbandoned ? `; run ${cleared.runId} marked abandoned` : ""}`,
  );
  return EXIT_OK;
}

export async function locksClearAll(ctx: CliContext, input: CommandInput): Promise<number> {
  if (input.options.force !== true) {
    throw new UsageError(
      "refusing to clear every lease without --force: handlers still running lose their lease, so their jobs can run twice at once. Check `crondeck locks list`, then run `crondeck locks clear-all --force`",
      "force_required",
    );
  }
  const rows = await clearEveryLease(await ctx.ops(), ctx.actor, { force: true });
  ctx.out.result({ ok: true, cleared: clearedJson(rows) }, () =>
    rows.length === 0 ? "No leases held: nothing to clear." : [`cleared ${rows.length} lease${rows.length === 1 ? "" : "s"}:`, ...rows.map((r) => `  ${r.jobName} (held by ${r.holder})${r.runAbandoned ? `, run ${r.runId} abandoned` : ""}`)],
  );
  return EXIT_OK;
}

/** The dashboard's statistics (GET /api/admin/statistics) for the last 24 hours, and the jobs that time out often. */
export async function locksStats(ctx: CliContext, _input: CommandInput): Promise<number> {
  const { db } = await ctx.database();
  const [day, frequent] = await Promise.all([statistics(db, { hours: 24 }), frequentTimeouts(db, { days: 7, atLeast: 2 })]);
  const { overall } = day;
  const executions = overall.total - overall.skipped - overall.missed - overall.queued;
  const stats = {
    ok: true,
    windowHours: day.windowHours,
    executions,
    completed: overall.completed,
    failed: overall.failed,
    timeouts: overall.timedOut,
    abandoned: overall.abandoned,
    skipped: overall.skipped,
    /** Triggers that lost to another run: it held the lease, or the slot had its run already. */
    lockMisses: day.locks.missed,
    timeoutRate: executions > 0 ? overall.timedOut / executions : null,
    currentlyLocked: day.locks.held - day.locks.stale,
    staleLeases: day.locks.stale,
    frequentTimeouts: frequent,
  };
  ctx.out.result(stats, () => {
    const lines = [
      "Last 24 hours",
      table(
        ["", { header: "", right: true }],
        [
          ["executions", stats.executions],
          ["completed", stats.completed],
          ["failed", stats.failed],
          ["timeouts", stats.timeouts],
          ["abandoned", stats.abandoned],
          ["skipped", stats.skipped],
          ["  lost to another run", stats.lockMisses],
          ["timeout rate", formatRatio(stats.timeoutRate)],
          ["currently locked", stats.currentlyLocked],
          ["stale leases", stats.staleLeases],
        ],
      )
        .split("\n")
        .slice(1)
        .map((l) => `  ${l}`)
        .join("\n"),
      "",
    ];
    if (stats.frequentTimeouts.length === 0) lines.push("No job timed out twice or more in the last 7 days.");
    else {
      lines.push("Frequent timeouts (last 7 days, 2 or more):");
      lines.push(table(["JOB", { header: "TIMEOUTS", right: true }, "LAST TIMEOUT"], stats.frequentTimeouts.map((f) => [f.jobName, f.timeouts, formatTime(f.lastTimeoutAt)])).replace(/^/gm, "  "));
    }
    return lines;
  });
  return EXIT_OK;
}
