import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll } from "vitest";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/db";
import { startRecordingServer, type RecordingServer } from "../support/recording-server";
import { startNextServer, startNpmStart as startNpmStartServer, type NextServer } from "../support/next-server";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy";
import { startUpstashRestServer, type UpstashRestServer } from "../support/upstash-rest";

/**
 * The fault-injection lab: real `next start` instances on one database of the Postgres
 * server (optionally each behind its own TCP proxy to Postgres, and to Redis through the
 * Upstash REST adapter), the fault jobs of lib/jobs/fault-jobs.ts, which record every
 * handler's start and end in fault_ledger over a direct connection, and an alert webhook
 * that records what was sent. Cases audit invariants from the outside: the ledger for what
 * handlers really did, cron_job_logs for what the engine recorded, the webhook for alerts.
 */

export const LEDGER_SQL = `
CREATE TABLE IF NOT EXISTS fault_ledger (
  id bigserial PRIMARY KEY,
  job_name text NOT NULL,
  run_id uuid NOT NULL,
  slot timestamptz,
  trigger text,
  attempt integer,
  pid integer NOT NULL,
  fencing_token bigint,
  started_at timestamptz NOT NULL,
  told_at timestamptz,
  told_reason text,
  ended_at timestamptz,
  outcome text
);
CREATE TABLE IF NOT EXISTS fault_control (
  job_name text PRIMARY KEY,
  hold_ms integer NOT NULL DEFAULT 200,
  obey boolean NOT NULL DEFAULT true,
  fail_attempts integer NOT NULL DEFAULT 0,
  defer_ms integer NOT NULL DEFAULT 0,
  start_delay_ms integer NOT NULL DEFAULT 0
);`;

/** The fault jobs' lease (lib/jobs/fault-jobs.ts); CRONDECK_FAULT_LEASE_MS for a build whose jobs hold another. */
export const FAULT_LEASE_MS = Number(process.env.CRONDECK_FAULT_LEASE_MS ?? 10_000);
/** Statuses a run may rest in. */
export const TERMINAL = new Set(["completed", "failed", "timed_out", "abandoned", "skipped", "missed", "replaced", "interrupted"]);
export const FAILED = new Set(["failed", "timed_out", "abandoned", "interrupted"]);

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs the body only when a Postgres server is configured (several next start on one database); says so when it is not. */
export const describeFaults = describeWithPostgres;

export interface FaultBehaviour {
  holdMs?: number;
  obey?: boolean;
  failAttempts?: number;
  deferMs?: number;
  startDelayMs?: number;
}

export interface Instance {
  name: string;
  url: string;
  port: number;
  /** The pid of the process that runs handlers (the one to kill or freeze). */
  pid: number;
  dbProxy: TcpProxy | null;
  redisProxy: TcpProxy | null;
  /** The instance's own REST adapter when its Redis is proxied. */
  upstash: UpstashRestServer | null;
  output(): string;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  alive(): boolean;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface TriggerResult {
  instance: string;
  job: string;
  method: string;
  path: string;
  /** HTTP status; null when no answer came (connection reset, timeout). */
  status: number | null;
  body: any;
  error: string | null;
  ms: number;
}

export interface LedgerRow {
  id: number;
  job_name: string;
  run_id: string;
  slot: Date | null;
  trigger: string;
  attempt: number;
  pid: number;
  fencing_token: string | null;
  started_at: Date;
  told_at: Date | null;
  told_reason: string | null;
  ended_at: Date | null;
  outcome: string | null;
}

export interface LogRow {
  id: string;
  job_name: string;
  status: string;
  scheduled_for: Date | null;
  trigger: string;
  fencing_token: string | null;
  started_at: Date;
  completed_at: Date | null;
  error_message: string | null;
  holder: string | null;
  attempts: number | null;
  skip_reason: string | null;
}

export interface AuditOptions {
  jobs: string[];
  /** Only rows and ledger entries from this instant on (database clock). */
  since: Date;
  triggers?: TriggerResult[];
  /** Windows in which a pid was frozen (SIGSTOP .. SIGCONT): its handler was not running then. */
  frozen?: Array<{ pid: number; from: Date; to: Date }>;
  /** Triggers sent to instances that were killed or frozen meanwhile may go unanswered. */
  unansweredAllowed?: (t: TriggerResult) => boolean;
  /** Check the terminal state (after settle()). Default true. */
  terminal?: boolean;
  /** Statuses accepted as resting besides the terminal ones. */
  alsoResting?: string[];
  /** Check that every failure is dead-lettered and alerted once. Default true. */
  failures?: boolean;
}

export interface AuditReport {
  violations: string[];
  runs: number;
  handlers: number;
  skips: number;
  failures: number;
}

export class FaultLab {
  readonly secret = `crondeck-faults-${randomBytes(16).toString("hex")}`;
  readonly instances: Instance[] = [];
  private readonly deaths = new Map<number, Date>();
  private pool!: pg.Pool;

  private constructor(
    readonly database: TestDatabase,
    readonly alerts: RecordingServer,
  ) {}

  static async open(): Promise<FaultLab> {
    const database = await createTestDatabase("postgres");
    const alerts = await startRecordingServer();
    const lab = new FaultLab(database, alerts);
    lab.pool = new pg.Pool({ connectionString: database.url, max: 4 });
    lab.pool.on("error", () => {});
    await lab.pool.query(LEDGER_SQL);
    return lab;
  }

  get url(): string {
    return this.database.url!;
  }

  async query<T = any>(text: string, params: unknown[] = []): Promise<T[]> {
    return (await this.pool.query(text, params)).rows as T[];
  }

  async now(): Promise<Date> {
    const [row] = await this.query<{ now: Date }>("SELECT clock_timestamp() AS now");
    return row!.now;
  }

  async behave(job: string, behaviour: FaultBehaviour): Promise<void> {
    await this.query(
      `INSERT INTO fault_control (job_name, hold_ms, obey, fail_attempts, defer_ms, start_delay_ms) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (job_name) DO UPDATE SET hold_ms = EXCLUDED.hold_ms, obey = EXCLUDED.obey, fail_attempts = EXCLUDED.fail_attempts,
         defer_ms = EXCLUDED.defer_ms, start_delay_ms = EXCLUDED.start_delay_ms`,
      [job, behaviour.holdMs ?? 200, behaviour.obey ?? true, behaviour.failAttempts ?? 0, behaviour.deferMs ?? 0, behaviour.startDelayMs ?? 0],
    );
  }

  /** The environment every instance shares. */
  baseEnv(): Record<string, string | undefined> {
    return {
      // The shell's own database, lock store and alert settings are already left out (childEnv).
      DATABASE_URL: this.url,
      CRON_SECRET: this.secret,
      CRON_DEMO: "0",
      CRONDECK_FAULT_JOBS: "1",
      CRONDECK_FAULT_LEDGER_URL: this.url,
      ALERT_WEBHOOK_URL: `${this.alerts.url}/alerts`,
      NEXT_MANUAL_SIG_HANDLE: "true",
      CRON_SHUTDOWN_GRACE_SECONDS: "3",
    };
  }

  /**
   * Starts an instance. `proxyDb` puts its database connection behind its own TCP proxy;
   * `redis` gives it the Redis pre-lock through the Upstash REST adapter ("direct", or
   * "proxied": its own adapter whose Redis connection runs through its own TCP proxy).
   */
  async start(name: string, options: { proxyDb?: boolean; redis?: "direct" | "proxied"; env?: Record<string, string | undefined>; sharedUpstash?: UpstashRestServer } = {}): Promise<Instance> {
    const dbProxy = options.proxyDb ? await startTcpProxy({ target: { host: new URL(this.url).hostname, port: Number(new URL(this.url).port || 5432) } }) : null;
    let redisProxy: TcpProxy | null = null;
    let upstash: UpstashRestServer | null = null;
    let redisEnv: Record<string, string> = {};
    if (options.redis === "proxied") {
      redisProxy = await startTcpProxy({ target: { host: "127.0.0.1", port: 6379 } });
      upstash = await startUpstashRestServer({ redisUrl: `redis://127.0.0.1:${redisProxy.port}` });
      redisEnv = { UPSTASH_REDIS_REST_URL: upstash.url, UPSTASH_REDIS_REST_TOKEN: upstash.token };
    } else if (options.redis === "direct") {
      const shared = options.sharedUpstash ?? (await this.sharedUpstash());
      redisEnv = { UPSTASH_REDIS_REST_URL: shared.url, UPSTASH_REDIS_REST_TOKEN: shared.token };
    }
    const env = { ...this.baseEnv(), ...(dbProxy ? { DATABASE_URL: dbProxy.url(this.url) } : {}), ...redisEnv, ...options.env };
    const server: NextServer = await startNextServer({ env });
    const exited = new Promise<void>((resolve) => {
      if (server.process.exitCode !== null || server.process.signalCode !== null) resolve();
      else server.process.once("exit", () => resolve());
    });
    const instance: Instance = {
      name,
      url: server.url,
      port: server.port,
      pid: server.process.pid!,
      dbProxy,
      redisProxy,
      upstash,
      output: server.output,
      exited,
      alive: () => server.process.exitCode === null && server.process.signalCode === null,
      stop: (signal) => server.stop(signal),
    };
    void exited.then(() => {
      if (!this.deaths.has(instance.pid)) this.deaths.set(instance.pid, new Date());
    });
    this.instances.push(instance);
    return instance;
  }

  private upstashShared: Promise<UpstashRestServer> | null = null;
  sharedUpstash(): Promise<UpstashRestServer> {
    this.upstashShared ??= startUpstashRestServer();
    return this.upstashShared;
  }

  /** kill -9: the process dies at once, its handlers with it. */
  async kill(instance: Instance): Promise<void> {
    process.kill(instance.pid, "SIGKILL");
    await instance.exited;
    this.deaths.set(instance.pid, new Date());
  }

  freeze(instance: Instance): Date {
    process.kill(instance.pid, "SIGSTOP");
    return new Date();
  }

  thaw(instance: Instance): Date {
    process.kill(instance.pid, "SIGCONT");
    return new Date();
  }

  /** Calls the execute route; never throws (a missing answer is a result too). */
  async trigger(
    instance: Instance,
    job: string,
    options: { method?: "GET" | "POST"; query?: Record<string, string>; timeoutMs?: number; headers?: Record<string, string> } = {},
  ): Promise<TriggerResult> {
    const method = options.method ?? "GET";
    const qs = options.query ? `?${new URLSearchParams(options.query)}` : "";
    const path = `/api/cron/execute/${job}${qs}`;
    const t0 = Date.now();
    try {
      const response = await fetch(`${instance.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.secret}`, ...options.headers },
        signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      });
      const text = await response.text();
      let body: any = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: kept as text, the audit reports it
      }
      return { instance: instance.name, job, method, path, status: response.status, body, error: null, ms: Date.now() - t0 };
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      return { instance: instance.name, job, method, path, status: null, body: null, error: cause?.code ?? (error as Error).name ?? "error", ms: Date.now() - t0 };
    }
  }

  async tick(instance: Instance): Promise<TriggerResult> {
    const t0 = Date.now();
    try {
      const response = await fetch(`${instance.url}/api/cron/tick`, { method: "POST", headers: { authorization: `Bearer ${this.secret}` }, signal: AbortSignal.timeout(60_000) });
      const body = await response.json().catch(() => null);
      return { instance: instance.name, job: "tick", method: "POST", path: "/api/cron/tick", status: response.status, body, error: null, ms: Date.now() - t0 };
    } catch (error) {
      return { instance: instance.name, job: "tick", method: "POST", path: "/api/cron/tick", status: null, body: null, error: (error as Error).name, ms: Date.now() - t0 };
    }
  }

  /** Polls until `check` returns a value (not undefined/null/false) or the time is up. */
  async waitFor<T>(what: string, check: () => Promise<T | null | undefined | false>, timeoutMs = 20_000, everyMs = 10): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(everyMs);
    }
  }

  /** The ledger entry of a handler of `job` that started since `since` (and matches `where`). */
  waitForHandler(job: string, since: Date, where: (row: LedgerRow) => boolean = () => true, timeoutMs = 20_000): Promise<LedgerRow> {
    return this.waitFor(`a handler of ${job}`, async () => (await this.ledger([job], since)).find(where), timeoutMs);
  }

  /** A claimed (started) run row of `job` since `since`. */
  waitForClaim(job: string, since: Date, timeoutMs = 20_000): Promise<LogRow> {
    return this.waitFor(
      `a claim of ${job}`,
      async () => (await this.query<LogRow>("SELECT * FROM cron_job_logs WHERE job_name = $1 AND started_at >= $2 AND status = 'started' LIMIT 1", [job, since]))[0],
      timeoutMs,
      5,
    );
  }

  async ledger(jobs: string[], since: Date): Promise<LedgerRow[]> {
    return this.query<LedgerRow>("SELECT * FROM fault_ledger WHERE job_name = ANY($1) AND started_at >= $2 ORDER BY started_at, id", [jobs, since]);
  }

  async logs(jobs: string[], since: Date): Promise<LogRow[]> {
    return this.query<LogRow>("SELECT * FROM cron_job_logs WHERE job_name = ANY($1) AND started_at >= $2 ORDER BY started_at", [jobs, since]);
  }

  async run(id: string): Promise<LogRow | undefined> {
    return (await this.query<LogRow>("SELECT * FROM cron_job_logs WHERE id = $1::uuid", [id]))[0];
  }

  /**
   * Lets every lease of a dead or cut-off holder expire (lease + a second), then calls the
   * tick once on a live instance: afterwards every run must be terminal.
   */
  async settle(live: Instance, leaseMs = FAULT_LEASE_MS): Promise<TriggerResult> {
    const [row] = await this.query<{ latest: Date | null }>("SELECT max(expires_at) AS latest FROM cron_job_leases");
    const [run] = await this.query<{ latest: Date | null }>("SELECT max(lease_expires_at) AS latest FROM cron_job_logs WHERE status = 'started'");
    const now = await this.now();
    const latest = Math.max(row?.latest?.getTime() ?? 0, run?.latest?.getTime() ?? 0, now.getTime());
    const wait = Math.min(leaseMs + 1_000, latest - now.getTime() + 1_000);
    if (wait > 0) await sleep(wait);
    const tick = await this.tick(live);
    // The tick runs once a minute: a second call within the minute is a duplicate that does
    // nothing. When something is still owed (a run not terminal, a failure not alerted), the
    // tick that counts is the next minute's.
    if (tick.body?.skipped && (await this.owed())) {
      await sleep(60_000 - (Date.now() % 60_000) + 500);
      return this.tick(live);
    }
    return tick;
  }

  /** Whether a fault job's run is not terminal, or failed without an alert. */
  private async owed(): Promise<boolean> {
    const rows = await this.query<{ id: string; status: string }>("SELECT id, status FROM cron_job_logs WHERE job_name LIKE 'fault-%' AND status NOT IN ('completed', 'skipped', 'missed', 'replaced')");
    return rows.some((row) => !TERMINAL.has(row.status) || (FAILED.has(row.status) && this.alertsFor(row.id).size === 0));
  }

  /** Alerts the webhook received for a run, by kind. */
  alertsFor(runId: string): Map<string, number> {
    const counts = new Map<string, number>();
    for (const request of this.alerts.requests) {
      const payload = request.json as { runId?: string; kind?: string } | undefined;
      if (payload?.runId === runId) counts.set(payload.kind ?? "?", (counts.get(payload.kind ?? "?") ?? 0) + 1);
    }
    return counts;
  }

  /** Checks the promises over the rows and ledger entries of `jobs` since `since`. */
  async audit(options: AuditOptions): Promise<AuditReport> {
    const violations: string[] = [];
    const logs = await this.logs(options.jobs, options.since);
    const ledger = await this.ledger(options.jobs, options.since);
    const byId = new Map(logs.map((row) => [row.id, row]));
    const runs = logs.filter((row) => !["skipped", "missed", "queued"].includes(row.status));
    const skips = logs.filter((row) => row.status === "skipped");

    // One run per slot, by the engine's rows and by the handlers' own ledger.
    const perSlot = new Map<string, Set<string>>();
    for (const row of runs) {
      if (!row.scheduled_for) continue;
      const key = `${row.job_name}@${row.scheduled_for.toISOString()}`;
      perSlot.set(key, (perSlot.get(key) ?? new Set()).add(row.id));
    }
    for (const entry of ledger) {
      if (!entry.slot) continue;
      const key = `${entry.job_name}@${entry.slot.toISOString()}`;
      perSlot.set(key, (perSlot.get(key) ?? new Set()).add(entry.run_id));
    }
    for (const [slot, ids] of perSlot) if (ids.size > 1) violations.push(`slot ${slot} ran ${ids.size} times (${[...ids].join(", ")})`);

    // No handler without a claim.
    for (const entry of ledger) {
      const row = byId.get(entry.run_id) ?? (await this.run(entry.run_id));
      if (!row) violations.push(`handler of ${entry.job_name} (pid ${entry.pid}) ran for run ${entry.run_id}, which has no row`);
      else if (row.status === "skipped" || row.status === "queued") violations.push(`handler of ${entry.job_name} ran for run ${entry.run_id}, recorded ${row.status}`);
    }

    // No overlap of two runs of one job outside a frozen holder.
    const now = await this.now();
    const frozen = options.frozen ?? [];
    const endOf = (entry: LedgerRow) => entry.ended_at ?? this.deaths.get(entry.pid) ?? now;
    const running = (entry: LedgerRow, from: number, to: number): Array<[number, number]> => {
      // The part of [from, to] in which the entry's process was not frozen.
      let parts: Array<[number, number]> = [[from, to]];
      for (const f of frozen.filter((w) => w.pid === entry.pid)) {
        parts = parts.flatMap(([a, b]): Array<[number, number]> => {
          const fa = f.from.getTime();
          const fb = f.to.getTime();
          if (fb <= a || fa >= b) return [[a, b]];
          const out: Array<[number, number]> = [];
          if (fa > a) out.push([a, fa]);
          if (fb < b) out.push([fb, b]);
          return out;
        });
      }
      return parts;
    };
    for (let i = 0; i < ledger.length; i++) {
      for (let j = i + 1; j < ledger.length; j++) {
        const a = ledger[i]!;
        const b = ledger[j]!;
        if (a.job_name !== b.job_name || a.run_id === b.run_id) continue;
        const from = Math.max(a.started_at.getTime(), b.started_at.getTime());
        const to = Math.min(endOf(a).getTime(), endOf(b).getTime());
        if (from >= to) continue;
        const both = running(a, from, to).flatMap(([x, y]) => running(b, x, y));
        const ms = both.reduce((sum, [x, y]) => sum + (y - x), 0);
        if (ms > 0) violations.push(`${a.job_name}: run ${a.run_id} (pid ${a.pid}) and run ${b.run_id} (pid ${b.pid}) overlapped for ${ms} ms`);
      }
    }

    // Every trigger a run or a logged skip; every answer JSON with a stable code.
    for (const t of options.triggers ?? []) {
      if (t.status === null) {
        if (!options.unansweredAllowed?.(t)) violations.push(`${t.method} ${t.path} on ${t.instance} got no answer (${t.error}) after ${t.ms} ms`);
        continue;
      }
      if (typeof t.body !== "object" || t.body === null) {
        violations.push(`${t.method} ${t.path} on ${t.instance} answered ${t.status} without a JSON body`);
        continue;
      }
      const id: string | undefined = t.body.execution?.id;
      if (t.status >= 200 && t.status < 300) {
        if (!id) {
          violations.push(`${t.method} ${t.path} on ${t.instance} answered ${t.status} without a run id`);
          continue;
        }
        const row = byId.get(id) ?? (await this.run(id));
        if (!row) violations.push(`${t.path} on ${t.instance} answered ${t.status} for run ${id}, which has no row`);
        else if (t.body.skipped && row.status !== "skipped") violations.push(`${t.path} answered skipped (${t.body.reason}) for run ${id}, recorded ${row.status}`);
        else if (!t.body.skipped && t.body.execution?.status !== row.status && row.status !== "completed")
          violations.push(`${t.path} answered ${t.body.execution?.status} for run ${id}, recorded ${row.status}`);
      } else if (typeof t.body.code !== "string" && typeof t.body.error !== "string") {
        violations.push(`${t.method} ${t.path} on ${t.instance} answered ${t.status} without a code`);
      }
      const text = JSON.stringify(t.body);
      if (/\n\s+at |node_modules|\.ts:\d+/.test(text)) violations.push(`${t.path} on ${t.instance} answered a stack trace`);
    }

    // Every run terminal.
    if (options.terminal !== false) {
      const resting = new Set([...TERMINAL, ...(options.alsoResting ?? [])]);
      for (const row of logs) if (!resting.has(row.status)) violations.push(`run ${row.id} of ${row.job_name} is still ${row.status}`);
    }

    // Every failure counted (a dead letter) and alerted once.
    const failures = logs.filter((row) => FAILED.has(row.status));
    if (options.failures !== false) {
      // Alerts are sent after the answer; give them a moment.
      await sleep(500);
      for (const row of failures) {
        const [dead] = await this.query<{ n: number }>("SELECT count(*)::int AS n FROM cron_dead_letters WHERE run_id = $1::uuid", [row.id]);
        if (!dead || dead.n !== 1) violations.push(`${row.status} run ${row.id} of ${row.job_name} has ${dead?.n ?? 0} dead-letter entries (expected 1)`);
        const alerts = this.alertsFor(row.id);
        if (alerts.size === 0) {
          const stored = await this.query<{ kind: string; status: string }>("SELECT kind, status FROM cron_alerts WHERE run_id = $1::uuid", [row.id]);
          const [state] = await this.query<{ consecutive_failures: number }>("SELECT consecutive_failures FROM cron_job_config WHERE job_name = $1", [row.job_name]);
          violations.push(
            `${row.status} run ${row.id} of ${row.job_name} was never alerted (${(row.error_message ?? "").slice(0, 120)}; cron_alerts: ${JSON.stringify(stored)}; consecutive failures now ${state?.consecutive_failures ?? "?"})`,
          );
        }
        for (const [kind, n] of alerts) if (n > 1) violations.push(`${row.status} run ${row.id} of ${row.job_name} was alerted ${n} times (${kind})`);
      }
    }

    return { violations, runs: runs.length, handlers: ledger.length, skips: skips.length, failures: failures.length };
  }

  async close(): Promise<void> {
    for (const instance of this.instances) {
      if (instance.alive()) {
        try {
          process.kill(instance.pid, "SIGCONT");
        } catch {
          // already gone
        }
        await instance.stop("SIGKILL").catch(() => {});
      }
      await instance.dbProxy?.close().catch(() => {});
      await instance.upstash?.close().catch(() => {});
      await instance.redisProxy?.close().catch(() => {});
    }
    if (this.upstashShared) await (await this.upstashShared).close().catch(() => {});
    await this.alerts.close().catch(() => {});
    await this.pool?.end().catch(() => {});
    await this.database.dispose().catch(() => {});
  }
}

/** Prints a case's figures in the one format the closing notes quote. */
export function reportCase(name: string, iterations: number, report: { violations: string[] } & Partial<AuditReport>, extra = ""): string {
  const line = `case ${name}: ${iterations} iterations, ${report.violations.length} violations${report.runs !== undefined ? ` (${report.runs} runs, ${report.handlers} handlers, ${report.skips} skips, ${report.failures} failures)` : ""}${extra ? `; ${extra}` : ""}`;
  console.log(line);
  for (const violation of report.violations.slice(0, 20)) console.log(`  violation: ${violation}`);
  return line;
}

/** One lab per file: opened before the file's cases, closed after. */
export function useLab(): () => FaultLab {
  let lab: FaultLab | undefined;
  beforeAll(async () => {
    lab = await FaultLab.open();
  });
  afterAll(async () => {
    await lab?.close();
  });
  return () => {
    if (!lab) throw new Error("the lab is not open");
    return lab;
  };
}

/**
 * `npm start` as a supervisor runs it (npm, its shell, then next start), for the shutdown
 * case: the signal goes to npm's own process.
 */
export async function startNpmStart(env: Record<string, string | undefined>): Promise<{ child: ChildProcess; url: string; port: number; output(): string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> }> {
  const server = await startNpmStartServer({ env });
  const child = server.process;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  return { child, url: server.url, port: server.port, output: server.output, exited };
}

