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

/** A handler's start as the ledger records it. */
export interface LedgerStart {
  jobName: string;
  runId: string;
  slot: Date | null;
  trigger: string;
  attempt: number;
  pid: number;
  /** The run's fencing token, as the engine hands it to the handler. */
  fencingToken: number;
}

export type LedgerOutcome = "ok" | "aborted" | "failed";

type Pool = import("pg").Pool;
const POOL_KEY = Symbol.for("crondeck.fault-ledger");

/** One pool per process, opened on first use against `url` (a Postgres server). */
async function ledgerPool(url: string | undefined): Promise<Pool> {
  const holder = globalThis as { [POOL_KEY]?: Promise<Pool> };
  holder[POOL_KEY] ??= (async () => {
    if (!url) throw new Error("the fault jobs need CRONDECK_FAULT_LEDGER_URL or DATABASE_URL (a Postgres server)");
    const { default: pg } = await import("pg");
    const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 5_000 });
    pool.on("error", () => {});
    return pool;
  })();
  return holder[POOL_KEY];
}

/** The ledger's statements over its own connection to `url`. */
export function faultLedger(url: string | undefined) {
  return {
    async behaviourOf(jobName: string): Promise<FaultBehaviour> {
      const pool = await ledgerPool(url);
      const { rows } = await pool.query<{ hold_ms: number; obey: boolean; fail_attempts: number; defer_ms: number; start_delay_ms: number }>(
        "SELECT hold_ms, obey, fail_attempts, defer_ms, start_delay_ms FROM fault_control WHERE job_name = $1",
        [jobName],
      );
      const row = rows[0];
      if (!row) return DEFAULT_BEHAVIOUR;
      return { holdMs: row.hold_ms, obey: row.obey, failAttempts: row.fail_attempts, deferMs: row.defer_ms, startDelayMs: row.start_delay_ms };
    },

    /** Records the handler's start; returns the ledger row's id. */
    async recordStart(s: LedgerStart): Promise<number> {
      const pool = await ledgerPool(url);
      const { rows } = await pool.query<{ id: string }>(
        `INSERT INTO fault_ledger (job_name, run_id, slot, trigger, attempt, pid, fencing_token, started_at)
         VALUES ($1, $2::uuid, $3::timestamptz, $4, $5, $6, $7::bigint, clock_timestamp())
         RETURNING id`,
        [s.jobName, s.runId, s.slot?.toISOString() ?? null, s.trigger, s.attempt, s.pid, s.fencingToken],
      );
      return Number(rows[0]!.id);
    },

    /** The handler learnt through its signal that it must stop. */
    async recordTold(id: number, message: string): Promise<void> {
      const pool = await ledgerPool(url);
      await pool.query("UPDATE fault_ledger SET told_at = clock_timestamp(), told_reason = $2 WHERE id = $1 AND told_at IS NULL", [id, message.slice(0, 300)]);
    },

    async recordEnd(id: number, outcome: LedgerOutcome): Promise<void> {
      const pool = await ledgerPool(url);
      await pool.query("UPDATE fault_ledger SET ended_at = clock_timestamp(), outcome = $2 WHERE id = $1", [id, outcome]);
    },
  };
}
