import type { JobContext } from "../cron/define-job";

/**
 * The fault-injection jobs' own record of what their handlers really did, kept in a table of
 * their own (fault_ledger) beside cron_job_logs, so a harness can count double runs and
 * overlaps without trusting the engine's bookkeeping. It is written over its own connection
 * (CRONDECK_FAULT_LEDGER_URL, default DATABASE_URL), never through the app's pool: a harness
 * that cuts the app's database connection still sees every handler start and end.
 *
 * How each job behaves comes from fault_control (one row per job name), so a harness can
 * change it between triggers without restarting the servers. The harness creates both tables.
 */

export interface FaultBehaviour {
  /** How long the handler works (ms). */
  holdMs: number;
  /** Stop as soon as the signal aborts (true), or keep working to holdMs regardless. */
  obey: boolean;
  /** Attempts 1..failAttempts throw. */
  failAttempts: number;
  /** Attempt 1 asks for its retry this long later (ms; 0: no deferral), beyond any invocation's budget. */
  deferMs: number;
  /** Wait this long after the claim before the handler records its start (ms). */
  startDelayMs: number;
}

const DEFAULT_BEHAVIOUR: FaultBehaviour = { holdMs: 200, obey: true, failAttempts: 0, deferMs: 0, startDelayMs: 0 };

type Pool = import("pg").Pool;
const POOL_KEY = Symbol.for("crondeck.fault-ledger");

async function ledgerPool(): Promise<Pool> {
  const holder = globalThis as { [POOL_KEY]?: Promise<Pool> };
  holder[POOL_KEY] ??= (async () => {
    const url = process.env.CRONDECK_FAULT_LEDGER_URL || process.env.DATABASE_URL;
    if (!url) throw new Error("the fault jobs need CRONDECK_FAULT_LEDGER_URL or DATABASE_URL (a Postgres server)");
    const { default: pg } = await import("pg");
    const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 5_000 });
    pool.on("error", () => {});
    return pool;
  })();
  return holder[POOL_KEY];
}

export async function behaviourOf(jobName: string): Promise<FaultBehaviour> {
  const pool = await ledgerPool();
  const { rows } = await pool.query<{ hold_ms: number; obey: boolean; fail_attempts: number; defer_ms: number; start_delay_ms: number }>(
    "SELECT hold_ms, obey, fail_attempts, defer_ms, start_delay_ms FROM fault_control WHERE job_name = $1",
    [jobName],
  );
  const row = rows[0];
  if (!row) return DEFAULT_BEHAVIOUR;
  return { holdMs: row.hold_ms, obey: row.obey, failAttempts: row.fail_attempts, deferMs: row.defer_ms, startDelayMs: row.start_delay_ms };
}

/** The fencing token of this run, from the context when the engine gives it, else from the run's row. */
function fencingTokenOf(ctx: JobContext): number | null {
  const token = (ctx as JobContext & { fencingToken?: unknown }).fencingToken;
  return typeof token === "number" || typeof token === "bigint" ? Number(token) : null;
}

/** Records the handler's start; returns the ledger row's id. */
export async function recordStart(jobName: string, ctx: JobContext): Promise<number> {
  const pool = await ledgerPool();
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO fault_ledger (job_name, run_id, slot, trigger, attempt, pid, fencing_token, started_at)
     VALUES ($1, $2::uuid, $3::timestamptz, $4, $5, $6,
             coalesce($7::bigint, (SELECT fencing_token FROM cron_job_logs WHERE id = $2::uuid)), clock_timestamp())
     RETURNING id`,
    [jobName, ctx.runId, ctx.scheduledFor?.toISOString() ?? null, ctx.trigger, ctx.attempt, process.pid, fencingTokenOf(ctx)],
  );
  return Number(rows[0]!.id);
}

/** The handler learnt through its signal that it must stop. */
export async function recordTold(id: number, reason: unknown): Promise<void> {
  const pool = await ledgerPool();
  const message = reason instanceof Error ? reason.message : String(reason);
  await pool.query("UPDATE fault_ledger SET told_at = clock_timestamp(), told_reason = $2 WHERE id = $1 AND told_at IS NULL", [id, message.slice(0, 300)]);
}

export async function recordEnd(id: number, outcome: "ok" | "aborted" | "failed"): Promise<void> {
  const pool = await ledgerPool();
  await pool.query("UPDATE fault_ledger SET ended_at = clock_timestamp(), outcome = $2 WHERE id = $1", [id, outcome]);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The handler every fault job shares: reads its behaviour, records its start, works for
 * holdMs (stopping early on abort when it obeys), records when its signal told it to stop,
 * and records its end on every exit.
 */
export async function faultHandler(jobName: string, ctx: JobContext): Promise<unknown> {
  const behaviour = await behaviourOf(jobName);
  if (behaviour.startDelayMs > 0) await sleep(behaviour.startDelayMs);
  const id = await recordStart(jobName, ctx);
  let told: Promise<void> = Promise.resolve();
  const onAbort = () => {
    told = recordTold(id, ctx.signal.reason).catch(() => {});
  };
  if (ctx.signal.aborted) onAbort();
  else ctx.signal.addEventListener("abort", onAbort, { once: true });
  let outcome: "ok" | "aborted" | "failed" = "ok";
  try {
    // Work is counted in steps, not by the wall clock: a process frozen (SIGSTOP) in the middle
    // still has its remaining steps to do when it wakes up.
    for (let done = 0; done < behaviour.holdMs; done += 25) {
      if (behaviour.obey && ctx.signal.aborted) break;
      await sleep(Math.min(25, behaviour.holdMs - done));
    }
    if (behaviour.obey && ctx.signal.aborted) outcome = "aborted";
    if (outcome === "aborted") throw new Error(`stopped on abort: ${ctx.signal.reason instanceof Error ? ctx.signal.reason.message : "aborted"}`);
    if (ctx.attempt === 1 && behaviour.deferMs > 0) {
      outcome = "failed";
      const { RetryAfterError } = await import("../cron/errors");
      throw new RetryAfterError("fault job: attempt 1 asks for a deferred retry", behaviour.deferMs);
    }
    if (ctx.attempt <= behaviour.failAttempts) {
      outcome = "failed";
      throw new Error(`fault job: attempt ${ctx.attempt} fails as told`);
    }
    return { pid: process.pid, heldMs: behaviour.holdMs };
  } finally {
    ctx.signal.removeEventListener("abort", onAbort);
    await told;
    await recordEnd(id, outcome).catch(() => {});
  }
}
