/**
 * npx tsx bench/overview.ts: the jobs overview (GET /api/admin/cron-jobs's query) when most
 * registered jobs never ran, in a fresh database on the Postgres server (BENCH_DATABASE_URL,
 * DATABASE_URL, or postgres://postgres@127.0.0.1:5432/test).
 *
 * 400,000 cron_job_logs rows for 10 busy jobs (every minute; 3% of rows are duplicate-delivery
 * skips; busy-0 has been paused for the last PAUSED_SKIPS minutes, so its newest rows are
 * `skipped: paused` and its last run is under them), plus NEVER_RAN registered jobs with no row
 * at all (a new, disabled or weekly job), as a team's registry holds them. Timed in-process, p50/p95 over ITERATIONS calls after a warm-up:
 * - with 0017's partial index (job_name, started_at DESC) WHERE status <> 'skipped', which the
 *   last-run and last-outcome lookups walk from the newest entry (a job that never ran: one probe);
 * - the same query with that index dropped, in the same run (the ratio is the figure; the
 *   machine's load is recorded beside it).
 * Prints the figures and writes bench/results/overview.json.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import pg from "pg";
import { defineJob, type JobDefinition } from "../lib/cron/define-job";
import { jobsOverview } from "../lib/db/queries/jobs";
import { openDatabase } from "../lib/db/client";
import { migrate } from "../lib/db/migrate";

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 30);
const WARMUP = 5;
const BUSY = 10;
const ROWS_PER_BUSY = 40_000;
const NEVER_RAN = Number(process.env.BENCH_NEVER_RAN ?? 100);
const PAUSED_SKIPS = 20_000;
const baseUrl = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const round = (ms: number) => Math.round(ms * 100) / 100;

async function time(run: () => Promise<unknown>): Promise<{ p50: number; p95: number }> {
  for (let i = 0; i < WARMUP; i++) await run();
  const samples: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const t0 = performance.now();
    await run();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return { p50: round(pct(samples, 50)), p95: round(pct(samples, 95)) };
}

async function main() {
  const dbName = `crondeck_bench_overview_${randomBytes(3).toString("hex")}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(baseUrl);
  url.pathname = `/${dbName}`;
  const database = await openDatabase({ kind: "postgres", url: url.toString(), queryTimeoutMs: 120_000 });
  try {
    await migrate(database.db);
    const { db } = database;
    const job = (name: string): JobDefinition => defineJob({ name, schedule: "* * * * *", handler: () => "ok" });
    const busy = Array.from({ length: BUSY }, (_, i) => job(`busy-${i}`));
    const idle = Array.from({ length: NEVER_RAN }, (_, i) => job(`never-ran-${i}`));
    const registry = [...busy, ...idle];

    await db.execute(sql`ALTER TABLE cron_job_logs DISABLE TRIGGER trg_cron_stats_insert`);
    for (const b of busy) {
      await db.execute(
        sql`INSERT INTO cron_job_logs (job_name, status, skip_reason, started_at, completed_at, duration_ms, trigger, scheduled_for)
            SELECT ${b.name}, CASE WHEN p OR k % 33 = 0 THEN 'skipped' ELSE 'completed' END, CASE WHEN p THEN 'paused' WHEN k % 33 = 0 THEN 'duplicate' END,
                   now() - make_interval(mins => k), now() - make_interval(mins => k), 100, 'schedule', date_trunc('minute', now()) - make_interval(mins => k)
            FROM generate_series(1, ${ROWS_PER_BUSY}) AS k, LATERAL (SELECT ${b.name === "busy-0"} AND k <= ${PAUSED_SKIPS} AS p) paused`,
      );
    }
    await db.execute(sql`ALTER TABLE cron_job_logs ENABLE TRIGGER trg_cron_stats_insert`);
    await db.execute(sql`SELECT crondeck_stats_rebuild()`);
    await db.execute(sql`VACUUM ANALYZE cron_job_logs`);

    const overview = () => jobsOverview(db, registry);
    const check = await overview();
    if (check.length !== registry.length || check.filter((j) => j.lastRun).length !== BUSY) throw new Error("the overview does not list the seeded jobs as expected");
    const paused = check.find((j) => j.name === "busy-0")!;
    if (paused.lastRun?.status !== "completed" || paused.lastSkip?.reason !== "paused") throw new Error("busy-0's last run is not the one under its skips");
    const withIndex = await time(overview);
    await db.execute(sql`DROP INDEX idx_cron_logs_job_not_skipped`);
    await db.execute(sql`ANALYZE cron_job_logs`);
    const withoutIndex = await time(overview);

    const results = {
      when: new Date().toISOString(),
      database: "postgres server",
      rows: BUSY * ROWS_PER_BUSY,
      registeredJobs: registry.length,
      jobsThatNeverRan: NEVER_RAN,
      skipsAboveThePausedJobsLastRun: PAUSED_SKIPS,
      iterations: ITERATIONS,
      loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
      withPartialIndexMs: withIndex,
      withoutPartialIndexMs: withoutIndex,
      ratioP50: Math.round((withoutIndex.p50 / withIndex.p50) * 10) / 10,
    };
    console.log(JSON.stringify(results, null, 2));
    const dir = join(process.cwd(), "bench", "results");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "overview.json"), `${JSON.stringify(results, null, 2)}\n`);
  } finally {
    await database.close();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
