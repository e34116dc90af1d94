import { hostname } from "node:os";
import { sql } from "drizzle-orm";
import { JOB_NAME_RE } from "../../lib/cron/define-job";
import { locks } from "../../lib/db/admin-queries";
import { queryRows } from "../../lib/db/client";
import type { CliContext } from "./context";
import { CliError, EXIT_OK, UsageError } from "./errors";
import { formatPercent, formatSeconds, formatTime, iso, table } from "./format";
import type { CommandInput } from "./spec";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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

export interface LockInfo {
  jobName: string;
  runId: string;
  fencingToken: number;
  holder: string;
  acquiredAt: string;
  expiresAt: string;
  heldForSeconds: number;
  /** Negative once expired. */
  expiresInSeconds: number;
  expired: boolean;
  holderProcess: HolderProcess;
  stale: boolean;
  warnings: string[];
  run: { status: string | null; trigger: string | null; scheduledFor: string | null };
}

/** The leases (the dashboard's query), plus what only a terminal on this host can tell: whether the holder still runs. */
export async function readLocks(ctx: CliContext): Promise<LockInfo[]> {
  const { db } = await ctx.database();
  return (await locks(db)).map((l) => {
    const process = holderProcess(l.holder);
    const warnings: string[] = [];
    if (l.stale) warnings.push(`STALE: expired ${formatSeconds(-l.expiresInSeconds)} ago`);
    if (process === "not_running") warnings.push(`${l.stale ? "" : "STALE: "}holder process not running`);
    if (l.run?.status && l.run.status !== "started") warnings.push(`run is ${l.run.status}`);
    return {
      jobName: l.jobName,
      runId: l.runId,
      fencingToken: l.fencingToken,
      holder: l.holder,
      acquiredAt: l.acquiredAt,
      expiresAt: l.expiresAt,
      heldForSeconds: l.heldSeconds,
      expiresInSeconds: l.expiresInSeconds,
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

interface ClearedRow {
  job_name: string;
  run_id: string;
  holder: string;
  acquired_at: string | Date;
  expires_at: string | Date | null;
  run_abandoned: boolean;
}

/**
 * Frees leases and ends their runs in one statement (plus the audit row), so no trigger can
 * slip in between: `where` picks the leases; `runId` also ends a lease-less run of an
 * overlap "allow" job.
 */
async function clearLeases(ctx: CliContext, where: ReturnType<typeof sql>, runId: string | null, all: boolean): Promise<ClearedRow[]> {
  const { db } = await ctx.database();
  return queryRows<ClearedRow>(
    db,
    sql`WITH freed AS (
          DELETE FROM cron_job_leases k WHERE ${where}
          RETURNING k.job_name, k.run_id, k.holder, k.acquired_at, k.expires_at
        ), ended AS (
          UPDATE cron_job_logs l
             SET status = 'abandoned', completed_at = now(), lease_expires_at = NULL,
                 duration_ms = (extract(epoch FROM now() - l.started_at) * 1000)::int,
                 error_message = format('cleared by cli (%s); the lease was held by %s for %s', ${ctx.actor}::text,
                   coalesce((SELECT f.holder FROM freed f WHERE f.run_id = l.id), l.holder), date_trunc('second', now() - l.started_at))
           WHERE l.status = 'started' AND (l.id IN (SELECT run_id FROM freed) OR l.id = ${runId}::uuid)
          RETURNING l.id, l.job_name, l.holder, l.started_at
        ), cleared AS (
          SELECT f.job_name, f.run_id, f.holder, f.acquired_at, f.expires_at, EXISTS (SELECT 1 FROM ended e WHERE e.id = f.run_id) AS run_abandoned FROM freed f
          UNION ALL
          SELECT e.job_name, e.id, e.holder, e.started_at, NULL, true FROM ended e WHERE NOT EXISTS (SELECT 1 FROM freed f WHERE f.run_id = e.id)
        ), audit AS (
          INSERT INTO cron_audit_log (actor, action, target, detail)
          SELECT ${ctx.actor}, 'lock.clear', CASE WHEN NOT ${all}::boolean THEN min(c.job_name) END,
                 jsonb_build_object('all', ${all}::boolean, 'count', count(*), 'leases', jsonb_agg(jsonb_build_object('job', c.job_name, 'runId', c.run_id, 'holder', c.holder, 'acquiredAt', c.acquired_at, 'runAbandoned', c.run_abandoned)))
          FROM cleared c HAVING count(*) > 0
        )
        SELECT * FROM cleared ORDER BY job_name`,
  );
}

function clearedJson(rows: ClearedRow[]) {
  return rows.map((r) => ({ jobName: r.job_name, runId: r.run_id, holder: r.holder, acquiredAt: iso(r.acquired_at), runAbandoned: r.run_abandoned }));
}

export async function locksClear(ctx: CliContext, input: CommandInput): Promise<number> {
  const target = input.args[0];
  const byRun = UUID_RE.test(target);
  if (!byRun && !JOB_NAME_RE.test(target)) {
    throw new UsageError(`"${target}" is neither a job name nor a run id: give the job (\`crondeck locks list\` shows the held ones) or the run id (\`crondeck locks list --verbose\`)`, "invalid_argument");
  }
  const rows = await clearLeases(ctx, byRun ? sql`k.run_id = ${target}::uuid` : sql`k.job_name = ${target}`, byRun ? target : null, false);
  if (rows.length === 0) {
    if (!byRun) ctx.job(target); // an unknown name says so, with the fix
    throw new CliError("not_locked", byRun ? `no lease and no running run with id ${target}: nothing to clear (\`crondeck locks list --verbose\`)` : `${target} holds no lease: nothing to clear (\`crondeck locks list\`)`);
  }
  ctx.out.result({ ok: true, cleared: clearedJson(rows) }, () =>
    rows.map((r) => `cleared the lease of ${r.job_name} (held by ${r.holder} since ${formatTime(r.acquired_at)})${r.run_abandoned ? `; run ${r.run_id} marked abandoned` : ""}`),
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
  const rows = await clearLeases(ctx, sql`true`, null, true);
  ctx.out.result({ ok: true, cleared: clearedJson(rows) }, () =>
    rows.length === 0 ? "No leases held: nothing to clear." : [`cleared ${rows.length} lease${rows.length === 1 ? "" : "s"}:`, ...rows.map((r) => `  ${r.job_name} (held by ${r.holder})${r.run_abandoned ? `, run ${r.run_id} abandoned` : ""}`)],
  );
  return EXIT_OK;
}

export async function locksStats(ctx: CliContext, _input: CommandInput): Promise<number> {
  const { db } = await ctx.database();
  const [day] = await queryRows<Record<string, number>>(
    db,
    sql`SELECT count(*) FILTER (WHERE status NOT IN ('skipped', 'missed', 'queued'))::int AS executions,
               count(*) FILTER (WHERE status = 'completed')::int AS completed,
               count(*) FILTER (WHERE status = 'failed')::int AS failed,
               count(*) FILTER (WHERE status = 'timed_out')::int AS timeouts,
               count(*) FILTER (WHERE status = 'abandoned')::int AS abandoned,
               count(*) FILTER (WHERE status = 'skipped')::int AS skipped,
               count(*) FILTER (WHERE status = 'skipped' AND skip_reason = 'already_running')::int AS lock_misses
        FROM cron_job_logs WHERE started_at > now() - interval '24 hours'`,
  );
  const [leases] = await queryRows<{ locked: number; stale: number }>(
    db,
    sql`SELECT count(*) FILTER (WHERE expires_at > now())::int AS locked, count(*) FILTER (WHERE expires_at <= now())::int AS stale FROM cron_job_leases`,
  );
  const frequent = await queryRows<{ job_name: string; timeouts: number; last_timeout_at: string | Date }>(
    db,
    sql`SELECT job_name, count(*)::int AS timeouts, max(coalesce(completed_at, started_at)) AS last_timeout_at
        FROM cron_job_logs WHERE status = 'timed_out' AND started_at > now() - interval '7 days'
        GROUP BY job_name HAVING count(*) >= 2 ORDER BY count(*) DESC, job_name`,
  );
  const executions = Number(day.executions);
  const stats = {
    ok: true,
    windowHours: 24,
    executions,
    completed: Number(day.completed),
    failed: Number(day.failed),
    timeouts: Number(day.timeouts),
    abandoned: Number(day.abandoned),
    skipped: Number(day.skipped),
    lockMisses: Number(day.lock_misses),
    timeoutRate: executions > 0 ? Number(day.timeouts) / executions : null,
    currentlyLocked: Number(leases.locked),
    staleLeases: Number(leases.stale),
    frequentTimeouts: frequent.map((f) => ({ jobName: f.job_name, timeouts: Number(f.timeouts), lastTimeoutAt: iso(f.last_timeout_at) })),
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
          ["  lock held elsewhere", stats.lockMisses],
          ["timeout rate", formatPercent(stats.timeoutRate)],
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
