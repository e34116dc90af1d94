import { randomBytes } from "node:crypto";
import { cleanUpStressRuns } from "../../lib/app/operations/logs";
import type { JobDefinition } from "../../lib/cron/define-job";
import { JobRegistry } from "../../lib/cron/registry";
import { occurrencesBetween, slotAt } from "../../lib/cron/schedule";
import { targetFromEnv } from "../../lib/db/client";
import { duplicateSlots, hasConfigRow, slotsRun, slotsWithRows, taggedCounts } from "../../lib/db/queries/stress";
import { demoJobs, jobs } from "../../lib/jobs";
import type { CliContext } from "./context";
import { CliError, EXIT_FAILURE, EXIT_OK, UsageError } from "./errors";
import { intOption, stringOption, type CommandInput } from "./spec";
import { ensureBuild, freePort, portIsFree, startInstance, stopInstance, trigger, waitReady, type Instance } from "./stress-instances";
import { percentile, renderReport, startProgress, type InstanceStats, type StressReport } from "./stress-report";

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

/**
 * The job's past occurrences, newest first, produced as needed: slot i is contended by every
 * instance at once. Only occurrences the execute route accepts as slots (the schedule's own).
 */
export function slotWindow(job: JobDefinition, now: Date, taken: ReadonlySet<number> = new Set()): (index: number) => Date {
  const slots: Date[] = [];
  const newest = slotAt(job.schedule, now);
  if (!newest) throw new Error(`${job.name} has no slot at or before ${now.toISOString()} (a one-time job before its slot, or a bounded job before startAt)`);
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
  const configBefore = await hasConfigRow(db, job.name);
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
    const taken = await slotsWithRows(db, job.name, new Date(Date.now() - MAX_WINDOW_MS));
    const slotOf = slotWindow(job, new Date(), new Set(taken.map((slot) => slot.getTime())));
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
  const touchedSlots = [...touched];
  // Duplicates: any run of the touched slots counts, whoever made it (an earlier test included).
  const [counts, duplicateRows, slotCounts] = await Promise.all([
    taggedCounts(db, job.name, codeVersion),
    duplicateSlots(db, job.name, touchedSlots),
    slotsRun(db, job.name, touchedSlots, codeVersion),
  ]);

  let cleanedUp = false;
  if (cleanup) {
    await cleanUpStressRuns(await ctx.ops(), ctx.actor, { jobName: job.name, codeVersion, dropConfig: !configBefore });
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
  if (counts.rows !== sent - errors) problems.push(`the database has ${counts.rows} rows for ${sent - errors} answered triggers`);

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
    duplicateSlots: duplicateRows.slice(0, 10),
    errors,
    errorSamples,
    contentionRate: sent - errors > 0 ? skipped / (sent - errors) : null,
    averageDurationMs: round(counts.averageDurationMs),
    latencyMs: { p50: round(percentile(sorted, 50)), p95: round(percentile(sorted, 95)), p99: round(percentile(sorted, 99)), max: round(sorted.at(-1) ?? null) },
    slots: { touched: touched.size, ...slotCounts },
    perInstance,
    database: { rows: counts.rows, executions: counts.executions, completed: counts.completed, failed: counts.failed, skipped: counts.skipped },
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

