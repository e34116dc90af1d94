import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { sql } from "drizzle-orm";
import type { JobDefinition } from "../../lib/cron/define-job";
import { JobRegistry } from "../../lib/cron/registry";
import { occurrencesBetween, slotAt } from "../../lib/cron/schedule";
import { queryRows, targetFromEnv } from "../../lib/db/client";
import { demoJobs, jobs } from "../../lib/jobs";
import type { CliContext } from "./context";
import { CliError, EXIT_FAILURE, EXIT_OK, UsageError } from "./errors";
import { formatPercent, table } from "./format";
import { intOption, stringOption, type CommandInput } from "./spec";

/**
 * The contention test: N `next start` instances share one Postgres database; every instance
 * gets `concurrency` requests in flight at once, all for the same slot at a time, so each
 * slot is fought over by every instance. The database then says whether any slot ran twice.
 */

const DEFAULT_JOB = "demo-slow";
/** demo-slow's work per run: short, so the test measures claims rather than the job. */
const DEFAULT_SLOW_MS = "50";
/** How far back slots are taken from; past this the window starts over (and every trigger is a duplicate). */
const MAX_WINDOW_MS = 366 * 86_400_000;
const STOP_GRACE_MS = 10_000;

export interface InstanceStats {
  instance: number;
  port: number;
  triggers: number;
  /** Triggers this instance ran: it won the slot and the lease. */
  locksAcquired: number;
  /** Triggers it answered with a skip: another holder had the slot or the lease. */
  locksMissed: number;
  errors: number;
  /** This instance's share of all runs. */
  participation: number | null;
}

export interface StressReport {
  ok: boolean;
  job: string;
  instances: number;
  concurrency: number;
  durationSeconds: number;
  elapsedSeconds: number;
  /** Requests sent (every one is recorded as a row: a run or a skip). */
  triggers: number;
  triggersPerSecond: number;
  /** Runs: triggers that won their slot and the job's lease. */
  executions: number;
  completed: number;
  failed: number;
  skipped: number;
  skipReasons: Record<string, number>;
  /** Slots with more than one run in the database: must be 0. */
  duplicates: number;
  duplicateSlots: Array<{ slot: string; runs: number }>;
  errors: number;
  errorSamples: string[];
  /** Share of triggers that lost (skipped). */
  contentionRate: number | null;
  /** Mean run duration recorded in the database, ms. */
  averageDurationMs: number | null;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null; max: number | null };
  slots: { touched: number; withRun: number; runBeforeTest: number };
  perInstance: InstanceStats[];
  database: { rows: number; executions: number; completed: number; failed: number; skipped: number };
  codeVersion: string;
  cleanedUp: boolean;
  problems: string[];
}

interface Instance {
  index: number;
  port: number;
  url: string;
  child: ChildProcess;
  output: string[];
  exited: Promise<void>;
  exitCode: number | null | undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolvePort(address.port) : reject(new Error("no free port"))));
    });
  });
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolveFree(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolveFree(true)));
  });
}

/** A child's environment: undefined removes a variable (spawn would pass the string "undefined"). */
function withoutUndefined(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * The job's past occurrences, newest first, produced as needed: slot i is contended by every
 * instance at once. Only occurrences the execute route accepts as slots (the schedule's own).
 */
export function slotWindow(job: JobDefinition, now: Date, taken: ReadonlySet<number> = new Set()): (index: number) => Date {
  const slots: Date[] = [];
  const newest = slotAt(job.schedule, now);
  let upper = new Date(newest.getTime() - 1);
  if (!taken.has(newest.getTime())) slots.push(newest);
  let exhausted = false;
  return (index: number) => {
    while (!exhausted && slots.length <= index) {
      // Walk back 6 hours at a time: at most 720 occurrences (minutes, some repeated by a fall-back).
      const from = new Date(Math.max(upper.getTime() - 6 * 3_600_000, now.getTime() - MAX_WINDOW_MS));
      const batch = occurrencesBetween(job.schedule, from, upper, 5_000).reverse();
      if (from.getTime() <= now.getTime() - MAX_WINDOW_MS) exhausted = true;
      for (const candidate of batch) if (!taken.has(candidate.getTime())) slots.push(candidate);
      upper = from;
    }
    // Every slot of the window taken already: contend for the newest anyway (all duplicates).
    if (slots.length === 0) slots.push(newest);
    return slots[index % slots.length];
  };
}

async function ensureBuild(ctx: CliContext): Promise<void> {
  if (existsSync(resolve(ctx.root, ".next/BUILD_ID"))) return;
  ctx.out.note("no build in .next/: running `next build` first...");
  const child = spawn(process.execPath, [resolve(ctx.root, "node_modules/next/dist/bin/next"), "build"], {
    cwd: ctx.root,
    env: withoutUndefined({ ...process.env, NODE_ENV: undefined, NEXT_TELEMETRY_DISABLED: "1" }),
    // The build's output goes to stderr: stdout is the report's alone.
    stdio: ["ignore", "pipe", "inherit"],
  });
  child.stdout!.pipe(process.stderr);
  const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
  if (code !== 0 || !existsSync(resolve(ctx.root, ".next/BUILD_ID"))) throw new CliError("build_failed", `next build failed (exit code ${code}): fix the build, then run the stress test again`);
}

function startInstance(ctx: CliContext, index: number, port: number, env: Record<string, string | undefined>): Instance {
  const child = spawn(process.execPath, [resolve(ctx.root, "node_modules/next/dist/bin/next"), "start", "-p", String(port), "-H", "127.0.0.1"], {
    cwd: ctx.root,
    env: withoutUndefined(env),
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group: a Ctrl-C in the terminal reaches the CLI, which stops the instances in order.
    detached: true,
  });
  const output: string[] = [];
  const keep = (chunk: string) => {
    output.push(chunk);
    if (output.length > 200) output.splice(0, output.length - 200);
  };
  child.stdout!.setEncoding("utf8").on("data", keep);
  child.stderr!.setEncoding("utf8").on("data", keep);
  const instance: Instance = { index, port, url: `http://127.0.0.1:${port}`, child, output, exitCode: undefined, exited: Promise.resolve() };
  instance.exited = new Promise((r) =>
    child.once("exit", (code) => {
      instance.exitCode = code;
      r();
    }),
  );
  return instance;
}

async function waitReady(instance: Instance, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (instance.exitCode !== undefined) throw new CliError("instance_failed", `instance ${instance.index + 1} (next start on port ${instance.port}) exited with code ${instance.exitCode}:\n${instance.output.join("").slice(-2_000)}`);
    if (Date.now() > deadline) throw new CliError("instance_failed", `instance ${instance.index + 1} did not answer on ${instance.url}/api/health within ${timeoutMs / 1000}s:\n${instance.output.join("").slice(-2_000)}`);
    try {
      const response = await fetch(`${instance.url}/api/health`, { signal: AbortSignal.timeout(5_000) });
      await response.body?.cancel();
      return;
    } catch {
      await sleep(100);
    }
  }
}

async function stopInstance(instance: Instance): Promise<void> {
  if (instance.exitCode !== undefined) return;
  instance.child.kill("SIGTERM");
  const killer = setTimeout(() => instance.child.kill("SIGKILL"), STOP_GRACE_MS);
  await instance.exited;
  clearTimeout(killer);
}

type Outcome = { kind: "ran"; ok: boolean; slot: string } | { kind: "skipped"; reason: string } | { kind: "error"; message: string };

async function trigger(url: string, secret: string): Promise<Outcome> {
  let response: Response;
  try {
    response = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${secret}`, "user-agent": "crondeck-stress/1.0" }, signal: AbortSignal.timeout(30_000) });
  } catch (error) {
    return { kind: "error", message: (error as Error).message };
  }
  const text = await response.text();
  let body: { skipped?: boolean; reason?: string; execution?: { status?: string; scheduledFor?: string }; code?: string } | undefined;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (response.status === 200 && body?.skipped) return { kind: "skipped", reason: body.reason ?? "unknown" };
  if ((response.status === 200 || response.status === 500) && body?.execution?.status && !body.skipped) {
    return { kind: "ran", ok: body.execution.status === "completed", slot: body.execution.scheduledFor ?? "" };
  }
  return { kind: "error", message: `HTTP ${response.status}${body?.code ? ` ${body.code}` : ""}` };
}

export async function stress(ctx: CliContext, input: CommandInput): Promise<number> {
  const instances = intOption(input, "instances", 3, { min: 1, max: 16 });
  const concurrency = intOption(input, "concurrency", 20, { min: 1, max: 200 });
  const durationSeconds = intOption(input, "duration", 60, { min: 1, max: 3_600 });
  const portBase = input.options["port-base"] === undefined ? null : intOption(input, "port-base", 0, { min: 1_024, max: 65_535 - instances });
  const jobName = stringOption(input, "job") ?? DEFAULT_JOB;
  const cleanup = input.options.cleanup === true;

  const env = ctx.env();
  const target = targetFromEnv(env);
  if (target.kind === "pglite") {
    throw new CliError(
      "postgres_required",
      "stress needs a Postgres server that every instance shares: set DATABASE_URL=postgres://user:password@host:5432/db. PGlite is one process per data directory, so instances would not see each other's claims.",
    );
  }
  // The instances run with CRON_DEMO=1, so the demo jobs are there whatever this shell says.
  const job = new JobRegistry([...jobs, ...demoJobs]).get(jobName);
  if (!job) throw new UsageError(`unknown job "${jobName}": run \`crondeck jobs list\` (with CRON_DEMO=1 for the demo jobs), or leave --job out for ${DEFAULT_JOB}`, "job_not_found");

  // The database first: it must answer, and be migrated before the instances race to do it.
  const { db } = await ctx.database();
  await ensureBuild(ctx);

  const ports: number[] = [];
  for (let i = 0; i < instances; i++) {
    const port = portBase === null ? await freePort() : portBase + i;
    if (portBase !== null && !(await portIsFree(port))) throw new CliError("port_in_use", `port ${port} is in use: choose another --port-base, or leave it out to use free ports`);
    ports.push(port);
  }
  const secret = randomBytes(32).toString("hex");
  const codeVersion = `stress-${randomBytes(4).toString("hex")}`;
  const [configBefore] = await queryRows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM cron_job_config WHERE job_name = ${job.name}`);
  const instanceEnv: Record<string, string | undefined> = {
    ...process.env,
    NODE_ENV: undefined,
    NEXT_TELEMETRY_DISABLED: "1",
    // Like `npm start`: Crondeck's graceful shutdown handles SIGTERM.
    NEXT_MANUAL_SIG_HANDLE: "true",
    CRON_SHUTDOWN_GRACE_SECONDS: "5",
    CRON_SECRET: secret,
    CRON_SECRET_PREVIOUS: undefined,
    CRON_DEMO: "1",
    CRON_DEMO_SLOW_MS: process.env.CRON_DEMO_SLOW_MS || DEFAULT_SLOW_MS,
    VERCEL_ENV: undefined,
    // Every row the test creates carries this, so the report (and --cleanup) finds exactly those.
    VERCEL_GIT_COMMIT_SHA: undefined,
    CRONDECK_CODE_VERSION: codeVersion,
    __NEXT_PROCESSED_ENV: undefined,
  };

  const started: Instance[] = [];
  let interrupted = false;
  let progress: { stop(): void } | undefined;
  const stopAll = () => Promise.all(started.map(stopInstance));
  const killLeftovers = () => {
    for (const i of started) if (i.exitCode === undefined) i.child.kill("SIGKILL");
  };
  const onSignal = () => {
    if (interrupted) {
      // A second Ctrl-C: no more waiting.
      killLeftovers();
      process.exit(130);
    }
    interrupted = true;
    ctx.out.note("\ninterrupted: stopping the triggers and the instances (Ctrl-C again to kill them)...");
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("exit", killLeftovers);

  const perInstance: InstanceStats[] = ports.map((port, i) => ({ instance: i + 1, port, triggers: 0, locksAcquired: 0, locksMissed: 0, errors: 0, participation: null }));
  const skipReasons: Record<string, number> = {};
  const errorSamples: string[] = [];
  const latencies: number[] = [];
  const touched = new Set<string>();
  const runsPerSlot = new Map<string, number>();
  let sent = 0;
  let completed = 0;
  let failed = 0;
  let t0 = Date.now();
  let elapsedMs = 0;

  try {
    ctx.out.note(`starting ${instances} instance${instances === 1 ? "" : "s"} of next start on port${instances === 1 ? "" : "s"} ${ports.join(", ")} (${job.name}, rows tagged ${codeVersion})...`);
    for (let i = 0; i < instances; i++) started.push(startInstance(ctx, i, ports[i], instanceEnv));
    await Promise.all(started.map((instance) => waitReady(instance, 90_000)));
    if (interrupted) throw new CliError("interrupted", "interrupted before the test started");
    // Load the execute route in every instance before the clock starts (a bad slot is refused before any claim).
    await Promise.all(started.map((i) => fetch(`${i.url}/api/cron/execute/${job.name}?slot=warm-up`, { method: "POST", headers: { authorization: `Bearer ${secret}` } }).then((r) => r.body?.cancel()).catch(() => {})));

    const fanout = instances * concurrency;
    // Slots that already have a row (an earlier test, real runs) are left out: each contended slot starts free.
    const windowStart = new Date(Date.now() - MAX_WINDOW_MS).toISOString();
    const takenRows = await queryRows<{ slot: string | Date }>(
      db,
      sql`SELECT DISTINCT scheduled_for AS slot FROM cron_job_logs WHERE job_name = ${job.name} AND scheduled_for >= ${windowStart}::timestamptz`,
    );
    const slotOf = slotWindow(job, new Date(), new Set(takenRows.map((r) => new Date(r.slot).getTime())));
    let next = 0;
    progress = startProgress(ctx, durationSeconds, () => ({ sent, completed, failed, perInstance }));
    t0 = Date.now();
    const deadline = t0 + durationSeconds * 1000;

    // One worker per request in flight; trigger k goes to instance k % N for slot floor(k / fanout),
    // so the fanout triggers of one slot reach every instance together.
    const worker = async () => {
      while (!interrupted && Date.now() < deadline) {
        const k = next++;
        const stats = perInstance[k % instances];
        const slot = slotOf(Math.floor(k / fanout)).toISOString();
        touched.add(slot);
        const url = `${started[k % instances].url}/api/cron/execute/${job.name}?trigger=schedule&slot=${encodeURIComponent(slot)}`;
        const begin = performance.now();
        const outcome = await trigger(url, secret);
        latencies.push(performance.now() - begin);
        sent++;
        stats.triggers++;
        if (outcome.kind === "ran") {
          stats.locksAcquired++;
          if (outcome.ok) completed++;
          else failed++;
          runsPerSlot.set(slot, (runsPerSlot.get(slot) ?? 0) + 1);
        } else if (outcome.kind === "skipped") {
          stats.locksMissed++;
          skipReasons[outcome.reason] = (skipReasons[outcome.reason] ?? 0) + 1;
        } else {
          stats.errors++;
          if (errorSamples.length < 5) errorSamples.push(`instance ${stats.instance}: ${outcome.message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: fanout }, worker));
    elapsedMs = Date.now() - t0;
  } finally {
    progress?.stop();
    await stopAll();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("exit", killLeftovers);
  }

  // The database is the judge: every trigger left a row tagged with codeVersion.
  const touchedJson = JSON.stringify([...touched]);
  const [counts] = await queryRows<Record<string, number | null>>(
    db,
    sql`SELECT count(*)::int AS rows,
               count(*) FILTER (WHERE status NOT IN ('skipped', 'missed'))::int AS executions,
               count(*) FILTER (WHERE status = 'completed')::int AS completed,
               count(*) FILTER (WHERE status IN ('failed', 'timed_out', 'abandoned'))::int AS failed,
               count(*) FILTER (WHERE status = 'skipped')::int AS skipped,
               avg(duration_ms) FILTER (WHERE status NOT IN ('skipped', 'missed'))::float8 AS avg_duration_ms
        FROM cron_job_logs WHERE job_name = ${job.name} AND code_version = ${codeVersion}`,
  );
  // Duplicates: any run of the touched slots counts, whoever made it (an earlier test included).
  const duplicateRows = await queryRows<{ slot: string | Date; runs: number }>(
    db,
    sql`SELECT scheduled_for AS slot, count(*)::int AS runs FROM cron_job_logs
        WHERE job_name = ${job.name} AND status NOT IN ('skipped', 'missed')
          AND scheduled_for IN (SELECT value::timestamptz FROM jsonb_array_elements_text(${touchedJson}::jsonb))
        GROUP BY scheduled_for HAVING count(*) > 1 ORDER BY scheduled_for DESC`,
  );
  const [slotCounts] = await queryRows<{ with_run: number; before: number }>(
    db,
    sql`SELECT count(DISTINCT scheduled_for) FILTER (WHERE status NOT IN ('skipped', 'missed'))::int AS with_run,
               count(DISTINCT scheduled_for) FILTER (WHERE status NOT IN ('skipped', 'missed') AND code_version IS DISTINCT FROM ${codeVersion})::int AS before
        FROM cron_job_logs WHERE job_name = ${job.name}
          AND scheduled_for IN (SELECT value::timestamptz FROM jsonb_array_elements_text(${touchedJson}::jsonb))`,
  );

  let cleanedUp = false;
  if (cleanup) {
    await db.transaction(async (tx) => {
      const tagged = sql`SELECT id FROM cron_job_logs WHERE code_version = ${codeVersion}`;
      await tx.execute(sql`DELETE FROM cron_job_leases WHERE run_id IN (${tagged})`);
      await tx.execute(sql`DELETE FROM cron_dead_letters WHERE run_id IN (${tagged})`);
      await tx.execute(sql`DELETE FROM cron_alerts WHERE run_id IN (${tagged})`);
      await tx.execute(sql`DELETE FROM cron_job_logs WHERE code_version = ${codeVersion}`);
      if (Number(configBefore.n) === 0) await tx.execute(sql`DELETE FROM cron_job_config WHERE job_name = ${job.name}`);
    });
    cleanedUp = true;
  }

  const executions = perInstance.reduce((n, s) => n + s.locksAcquired, 0);
  for (const s of perInstance) s.participation = executions > 0 ? s.locksAcquired / executions : null;
  const errors = perInstance.reduce((n, s) => n + s.errors, 0);
  const skipped = perInstance.reduce((n, s) => n + s.locksMissed, 0);
  const sorted = latencies.sort((a, b) => a - b);
  const round = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10);
  const clientDuplicates = [...runsPerSlot.values()].filter((n) => n > 1).length;
  const duplicates = Math.max(duplicateRows.length, clientDuplicates);

  const problems: string[] = [];
  if (duplicates > 0) problems.push(`${duplicates} slot${duplicates === 1 ? "" : "s"} ran more than once: the claim is broken`);
  if (errors > 0) problems.push(`${errors} trigger${errors === 1 ? "" : "s"} got no valid answer (${errorSamples.join("; ")})`);
  if (executions === 0 && sent > 0) problems.push("no trigger ran: every slot was taken already (run with --cleanup, or wait for new slots) or every instance refused");
  if (interrupted) problems.push("interrupted before the end");
  if (Number(counts.rows) !== sent - errors) problems.push(`the database has ${counts.rows} rows for ${sent - errors} answered triggers`);

  const report: StressReport = {
    ok: problems.length === 0,
    job: job.name,
    instances,
    concurrency,
    durationSeconds,
    elapsedSeconds: Math.round(elapsedMs / 100) / 10,
    triggers: sent,
    triggersPerSecond: elapsedMs > 0 ? Math.round((sent / elapsedMs) * 10_000) / 10 : 0,
    executions,
    completed,
    failed,
    skipped,
    skipReasons,
    duplicates,
    duplicateSlots: duplicateRows.slice(0, 10).map((d) => ({ slot: new Date(d.slot).toISOString(), runs: Number(d.runs) })),
    errors,
    errorSamples,
    contentionRate: sent - errors > 0 ? skipped / (sent - errors) : null,
    averageDurationMs: round(counts.avg_duration_ms === null ? null : Number(counts.avg_duration_ms)),
    latencyMs: { p50: round(percentile(sorted, 50)), p95: round(percentile(sorted, 95)), p99: round(percentile(sorted, 99)), max: round(sorted.at(-1) ?? null) },
    slots: { touched: touched.size, withRun: Number(slotCounts.with_run), runBeforeTest: Number(slotCounts.before) },
    perInstance,
    database: { rows: Number(counts.rows), executions: Number(counts.executions), completed: Number(counts.completed), failed: Number(counts.failed), skipped: Number(counts.skipped) },
    codeVersion,
    cleanedUp,
    problems,
  };

  if (errors > 0) {
    // What the instances said is the first thing to look at when a trigger got no valid answer.
    for (const instance of started) {
      if (perInstance[instance.index].errors === 0) continue;
      const tail = ctx.redact(instance.output.join("")).split("\n").slice(-30).join("\n");
      ctx.out.note(`--- instance ${instance.index + 1} (port ${instance.port}), last lines of its output:\n${tail}\n---`);
    }
  }
  ctx.out.result({ ...report }, () => renderReport(report));
  // Only a duplicate is the claim's failure; anything else is a failed test run all the same.
  return report.ok ? EXIT_OK : EXIT_FAILURE;
}

function renderReport(r: StressReport): string[] {
  const lines = [
    `Contention test: ${r.job}, ${r.instances} instance${r.instances === 1 ? "" : "s"} x ${r.concurrency} in flight, ${r.elapsedSeconds}s`,
    "",
    table(
      ["", { header: "", right: true }],
      [
        ["triggers", `${r.triggers} (${r.triggersPerSecond}/s)`],
        ["executions", r.executions],
        ["  completed", r.completed],
        ["  failed", r.failed],
        ["skipped", r.skipped],
        ...Object.entries(r.skipReasons).map(([reason, n]) => [`  ${reason}`, n]),
        ["duplicates", `${r.duplicates}${r.duplicates === 0 ? " (checked per slot in the database)" : " !!"}`],
        ["errors", r.errors],
        ["contention rate", formatPercent(r.contentionRate)],
        ["average run duration", r.averageDurationMs === null ? "-" : `${r.averageDurationMs} ms`],
        ["latency p50 / p95 / p99", `${r.latencyMs.p50 ?? "-"} / ${r.latencyMs.p95 ?? "-"} / ${r.latencyMs.p99 ?? "-"} ms`],
        ["slots contended", `${r.slots.touched} (${r.slots.withRun} ran${r.slots.runBeforeTest ? `, ${r.slots.runBeforeTest} had run before the test` : ""})`],
      ],
    )
      .split("\n")
      .slice(1)
      .map((l) => `  ${l}`)
      .join("\n"),
    "",
    table(
      ["INSTANCE", "PORT", { header: "TRIGGERS", right: true }, { header: "LOCKS ACQUIRED", right: true }, { header: "LOCKS MISSED", right: true }, { header: "ERRORS", right: true }, { header: "PARTICIPATION", right: true }],
      r.perInstance.map((s) => [s.instance, s.port, s.triggers, s.locksAcquired, s.locksMissed, s.errors, formatPercent(s.participation)]),
    ).replace(/^/gm, "  "),
    "",
    r.cleanedUp ? `Rows tagged ${r.codeVersion} deleted (--cleanup).` : `Rows are tagged code_version = '${r.codeVersion}' (--cleanup deletes them).`,
  ];
  lines.push(r.ok ? "PASS: no slot ran twice." : `FAIL: ${r.problems.join("; ")}`);
  return lines;
}

/** The live line on stderr: rewritten in place on a terminal, a line every 5 s otherwise. */
function startProgress(ctx: CliContext, durationSeconds: number, read: () => { sent: number; completed: number; failed: number; perInstance: InstanceStats[] }) {
  const tty = Boolean(process.stderr.isTTY);
  const t0 = Date.now();
  const render = () => {
    const s = read();
    const elapsed = (Date.now() - t0) / 1000;
    const missed = s.perInstance.reduce((n, i) => n + i.locksMissed, 0);
    const errors = s.perInstance.reduce((n, i) => n + i.errors, 0);
    return `  ${elapsed.toFixed(0).padStart(String(durationSeconds).length)}s/${durationSeconds}s  ${s.sent} triggers (${elapsed > 0 ? Math.round(s.sent / elapsed) : 0}/s)  ran ${s.completed + s.failed} (failed ${s.failed})  skipped ${missed}  errors ${errors}`;
  };
  const timer = setInterval(
    () => {
      if (tty) process.stderr.write(`\r${render().padEnd(100)}`);
      else ctx.out.note(render());
    },
    tty ? 250 : 5_000,
  );
  return {
    stop() {
      clearInterval(timer);
      if (tty) process.stderr.write(`\r${render().padEnd(100)}\n`);
      else ctx.out.note(render());
    },
  };
}
