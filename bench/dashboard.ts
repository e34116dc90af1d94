/**
 * npx tsx bench/dashboard.ts: the dashboard API with a long history. In a fresh database
 * on the Postgres server (BENCH_DATABASE_URL, DATABASE_URL, or postgres://postgres@127.0.0.1:5432/test):
 *
 * 1. 1,000,000 cron_job_logs rows over 90 days for 12 jobs (7 every minute, the rest every
 *    5/15/60 minutes or daily; 92% completed, 4% failed, 1% timed out, 0.5% abandoned,
 *    2% skipped, 0.5% missed; log-normal durations around a per-job median), inserted with
 *    INSERT ... SELECT generate_series. One job's rows go in with the rollup trigger on, one
 *    with it off; the rest with it off, then crondeck_stats_rebuild(). (In one statement the
 *    trigger updates the same few rollup rows thousands of times in one transaction, whose
 *    dead versions cannot be pruned until it commits: bulk loads should disable it and rebuild.
 *    What matters is its cost per run on the hot path, measured next: claim + finish, on and off.)
 * 2. VACUUM ANALYZE, then p50/p95/p99 over 200 iterations (after 20 warm-up) of what the routes run:
 *    GET /api/admin/cron-jobs (jobsOverview + runningJobs) and a job's history
 *    (jobState + jobHistory, limit 50, 30 days; and 1 day), in-process.
 * 3. The same two routes over HTTP against `next start` (BENCH_HTTP=0 skips; builds if .next/ is missing).
 *
 * Prints the figures and writes bench/results/dashboard.json. Target: p95 < 100 ms.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import pg from "pg";
import { defineJob, type JobDefinition } from "../lib/cron/define-job";
import { runTrigger, type EngineDeps } from "../lib/cron/run-job";
import { PostgresRunStore } from "../lib/db/run-store";
import { jobsOverview, jobState } from "../lib/db/queries/jobs";
import { jobHistory, runningJobs } from "../lib/db/queries/runs";
import { statistics } from "../lib/db/queries/statistics";
import { openDatabase, queryRows } from "../lib/db/client";
import { migrate } from "../lib/db/migrate";
import { startNextServer } from "../tests/support/next-server";

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 200);
const WARMUP = 20;
const TOTAL_ROWS = 1_000_000;
const DAYS = 90;
const TARGET_P95_MS = 100;
const baseUrl = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** Six of the names are the app's own jobs (with CRON_DEMO=1), so the HTTP routes show them. */
const JOBS: Array<{ name: string; everyMinutes: number; medianMs: number; cron: string }> = [
  { name: "demo-pulse", everyMinutes: 1, medianMs: 40, cron: "* * * * *" },
  { name: "demo-flaky", everyMinutes: 1, medianMs: 900, cron: "* * * * *" },
  { name: "sync-inventory", everyMinutes: 1, medianMs: 2_500, cron: "* * * * *" },
  { name: "poll-webhooks", everyMinutes: 1, medianMs: 150, cron: "* * * * *" },
  { name: "refresh-cache", everyMinutes: 1, medianMs: 300, cron: "* * * * *" },
  { name: "process-queue", everyMinutes: 1, medianMs: 1_200, cron: "* * * * *" },
  { name: "send-notifications", everyMinutes: 1, medianMs: 600, cron: "* * * * *" },
  { name: "health-check", everyMinutes: 5, medianMs: 80, cron: "*/5 * * * *" },
  { name: "demo-slow", everyMinutes: 5, medianMs: 2_000, cron: "*/5 * * * *" },
  { name: "demo-stubborn", everyMinutes: 15, medianMs: 4_000, cron: "*/15 * * * *" },
  { name: "hourly-report", everyMinutes: 60, medianMs: 45_000, cron: "0 * * * *" },
  { name: "cleanup-old-logs", everyMinutes: 1440, medianMs: 120_000, cron: "0 3 * * *" },
];

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
function summary(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 100) / 100;
  return { n: s.length, p50: r(pct(s, 50)), p95: r(pct(s, 95)), p99: r(pct(s, 99)), max: r(s[s.length - 1]), mean: r(s.reduce((a, b) => a + b, 0) / s.length) };
}
const now = () => performance.now();

async function measure(fn: () => Promise<unknown>, iterations = ITERATIONS) {
  for (let i = 0; i < WARMUP; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t = now();
    await fn();
    samples.push(now() - t);
  }
  return summary(samples);
}

/** One job's scheduled runs over the window, in one INSERT ... SELECT. */
function insertJobRows(name: string, everyMinutes: number, medianMs: number, count: number) {
  return sql`INSERT INTO cron_job_logs (job_name, status, started_at, completed_at, duration_ms, error_message, attempts, scheduled_for, trigger, dedupe_key, skip_reason, holder, created_at)
    SELECT ${name}, x.status, x.t,
           x.t + (CASE WHEN x.status IN ('skipped', 'missed') THEN 0 ELSE x.d END) * interval '1 millisecond',
           CASE WHEN x.status IN ('skipped', 'missed') THEN 0 ELSE x.d END,
           CASE x.status WHEN 'failed' THEN 'upstream answered 503' WHEN 'timed_out' THEN 'timed out' WHEN 'abandoned' THEN 'lease expired' END,
           CASE WHEN x.status = 'failed' THEN 3 ELSE 1 END,
           x.slot, 'schedule', 'slot:' || to_char(x.slot AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
           CASE WHEN x.status = 'skipped' THEN 'already_running' END, 'bench:1', x.t
    FROM (
      SELECT s.slot, s.slot + (random() * 2000) * interval '1 millisecond' AS t,
             CASE WHEN s.r < 0.92 THEN 'completed' WHEN s.r < 0.96 THEN 'failed' WHEN s.r < 0.97 THEN 'timed_out'
                  WHEN s.r < 0.975 THEN 'abandoned' WHEN s.r < 0.995 THEN 'skipped' ELSE 'missed' END AS status,
             greatest(1, ${medianMs} * exp((random() + random() + random() - 1.5) * 1.2))::int AS d
      FROM (
        SELECT date_trunc('minute', now()) - make_interval(mins => ${everyMinutes} * (${count} - k)) AS slot, random() AS r
        FROM generate_series(0, ${count - 1}) AS k
      ) s
    ) x`;
}

async function main() {
  const dbName = `crondeck_bench_dash_${randomBytes(3).toString("hex")}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(baseUrl);
  url.pathname = `/${dbName}`;
  const database = await openDatabase({ kind: "postgres", url: url.toString() });
  const results: Record<string, unknown> = { when: new Date().toISOString(), database: "postgres server", iterations: ITERATIONS, targetP95Ms: TARGET_P95_MS };
  try {
    await migrate(database.db);
    const { db } = database;

    // --- 1. Data -------------------------------------------------------------------------
    const perJob = JOBS.map((j) => Math.floor((DAYS * 1440) / j.everyMinutes));
    const scheduled = perJob.reduce((a, b) => a + b, 0);
    const extraSkips = TOTAL_ROWS - scheduled; // duplicate deliveries of the busiest job, at random times
    const load: Record<string, unknown> = {};

    // The same job shape twice, trigger on and off, to price the rollup trigger per row.
    let t = now();
    await db.execute(insertJobRows(JOBS[0].name, JOBS[0].everyMinutes, JOBS[0].medianMs, perJob[0]));
    const withTriggerMs = now() - t;
    await db.execute(sql`ALTER TABLE cron_job_logs DISABLE TRIGGER trg_cron_stats_insert`);
    t = now();
    await db.execute(insertJobRows(JOBS[1].name, JOBS[1].everyMinutes, JOBS[1].medianMs, perJob[1]));
    const withoutTriggerMs = now() - t;
    load.rollupTrigger = {
      rows: perJob[0],
      insertWithTriggerMs: Math.round(withTriggerMs),
      insertWithoutTriggerMs: Math.round(withoutTriggerMs),
      triggerCostPerRowUs: Math.round(((withTriggerMs - withoutTriggerMs) / perJob[0]) * 1000 * 10) / 10,
    };

    t = now();
    for (let i = 2; i < JOBS.length; i++) await db.execute(insertJobRows(JOBS[i].name, JOBS[i].everyMinutes, JOBS[i].medianMs, perJob[i]));
    await db.execute(
      sql`INSERT INTO cron_job_logs (job_name, status, started_at, completed_at, duration_ms, attempts, trigger, skip_reason, holder)
          SELECT ${JOBS[0].name}, 'skipped', t, t, 0, 0, 'schedule', 'duplicate', 'bench:2'
          FROM (SELECT now() - random() * interval '${sql.raw(String(DAYS))} days' AS t FROM generate_series(1, ${extraSkips})) s`,
    );
    // Something running now, and one stale lease, as a live system has.
    const [running] = await queryRows<{ id: string }>(db, sql`INSERT INTO cron_job_logs (job_name, status, started_at, holder, lease_expires_at) VALUES ('sync-inventory', 'started', now() - interval '20 seconds', 'bench:3', now() + interval '40 seconds') RETURNING id`);
    await db.execute(sql`INSERT INTO cron_job_leases (job_name, run_id, fencing_token, holder, expires_at) VALUES ('sync-inventory', ${running.id}::uuid, 1, 'bench:3', now() + interval '40 seconds')`);
    const bulkMs = now() - t;
    await db.execute(sql`ALTER TABLE cron_job_logs ENABLE TRIGGER trg_cron_stats_insert`);
    t = now();
    const [{ rows: rollupRows }] = await queryRows<{ rows: number }>(db, sql`SELECT crondeck_stats_rebuild() AS rows`);
    const [{ days: dailyRows }] = await queryRows<{ days: number }>(db, sql`SELECT count(*)::int AS days FROM cron_job_stats_daily`);
    const rebuildMs = now() - t;
    // VACUUM: the trigger-on load and the rebuild leave dead rollup rows that autovacuum
    // would reclaim on a live system; measure the steady state.
    t = now();
    await db.execute(sql`VACUUM ANALYZE`);
    const analyzeMs = now() - t;
    const [{ n }] = await queryRows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM cron_job_logs`);
    const [check] = await queryRows<{ raw: number; rollup: number }>(
      db,
      sql`SELECT (SELECT count(*) FROM cron_job_logs WHERE status IN ('completed', 'failed', 'timed_out', 'abandoned', 'missed'))::int AS raw,
                 (SELECT sum(successes + failures + missed) FROM cron_job_stats_hourly)::int AS rollup`,
    );
    if (check.raw !== check.rollup) throw new Error(`rollup (${check.rollup}) does not match the raw rows (${check.raw})`);
    Object.assign(load, {
      rows: Number(n),
      jobs: JOBS.length,
      days: DAYS,
      bulkInsertWithoutTriggerMs: Math.round(bulkMs),
      rebuildRollupMs: Math.round(rebuildMs),
      rollupHourlyRows: Number(rollupRows),
      rollupDailyRows: Number(dailyRows),
      vacuumAnalyzeMs: Math.round(analyzeMs),
    });
    results.load = load;

    // The trigger on the hot path: claim + fenced finish of a no-op job (one transaction each,
    // as in production), rollup trigger on and off, alternating rounds.
    const engineDeps: EngineDeps = { runs: new PostgresRunStore(db), holder: "bench:4", codeVersion: null };
    const noop = defineJob({ name: "bench-noop", schedule: "* * * * *", handler: () => {} });
    let slot = Date.UTC(2026, 0, 1);
    const runOnce = async () => {
      const o = await runTrigger(engineDeps, { job: noop, trigger: "schedule", scheduledFor: new Date((slot += 60_000)), budgetMs: 60_000 });
      if (o.kind !== "ran") throw new Error("expected a run");
    };
    const on: number[] = [];
    const off: number[] = [];
    for (let i = 0; i < 50; i++) await runOnce();
    for (let round = 0; round < 6; round++) {
      const enabled = round % 2 === 1;
      await db.execute(enabled ? sql`ALTER TABLE cron_job_logs ENABLE TRIGGER trg_cron_stats_update` : sql`ALTER TABLE cron_job_logs DISABLE TRIGGER trg_cron_stats_update`);
      for (let i = 0; i < 100; i++) {
        const t0 = now();
        await runOnce();
        (enabled ? on : off).push(now() - t0);
      }
    }
    await db.execute(sql`ALTER TABLE cron_job_logs ENABLE TRIGGER trg_cron_stats_update`);
    await db.execute(sql`DELETE FROM cron_job_logs WHERE job_name = 'bench-noop'`);
    results.hotPathClaimFinishMs = { rollupTriggerOn: summary(on), rollupTriggerOff: summary(off) };
    console.log("loaded:", JSON.stringify(load));

    // --- 2. In-process -------------------------------------------------------------------
    const defs: JobDefinition[] = JOBS.map((j) => defineJob({ name: j.name, schedule: j.cron, handler: () => {} }));
    const busiest = JOBS[0].name;
    const overview = () => Promise.all([jobsOverview(db, defs), runningJobs(db)]);
    const history = (days: number) => () => Promise.all([jobState(db, busiest, true), jobHistory(db, busiest, { limit: 50, days })]);
    const sample = await overview();
    if (sample[0].length !== JOBS.length) throw new Error("overview lost jobs");
    results.inProcessMs = {
      cronJobsList: await measure(overview),
      jobHistory30d: await measure(history(30)),
      jobHistory1d: await measure(history(1)),
      statistics24h: await measure(() => statistics(db)),
    };
    results.sample = {
      job: sample[0].find((o) => o.name === busiest),
      note: "the busiest job's row of GET /api/admin/cron-jobs",
    };
    results.plans = await explainAll(url.toString(), defs, busiest);
    console.log("in-process:", JSON.stringify(results.inProcessMs, null, 2));

    // --- 3. Over HTTP --------------------------------------------------------------------
    if (process.env.BENCH_HTTP !== "0") results.httpMs = await benchHttp(url.toString(), busiest);
  } finally {
    await database.close();
    if (process.env.BENCH_KEEP !== "1") await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    else console.log(`kept database ${dbName}`);
    await admin.end();
  }
  const inProcess = results.inProcessMs as Record<string, { p95: number }>;
  const http = results.httpMs as Record<string, { p95: number }> | undefined;
  results.meetsTarget = [inProcess.cronJobsList, inProcess.jobHistory30d, http?.cronJobsList, http?.jobHistory30d].every((s) => !s || s.p95 < TARGET_P95_MS);
  mkdirSync(join("bench", "results"), { recursive: true });
  writeFileSync(join("bench", "results", "dashboard.json"), `${JSON.stringify(results, null, 2)}\n`);
  console.log(JSON.stringify({ load: results.load, inProcessMs: results.inProcessMs, httpMs: results.httpMs, meetsTarget: results.meetsTarget }, null, 2));
  console.log("written to bench/results/dashboard.json");
}

/** The execution time of each statement, as the planner ran it once (for the record). */
async function explainAll(databaseUrl: string, defs: JobDefinition[], busiest: string) {
  const out: Record<string, string> = {};
  const logger = { queries: [] as Array<{ query: string; params: unknown[] }> };
  const probe = await openDatabase({ kind: "postgres", url: databaseUrl, poolSize: 1 }, {
    logger: { logQuery: (query, params) => void logger.queries.push({ query, params }) },
  });
  try {
    await jobsOverview(probe.db, defs);
    await jobHistory(probe.db, busiest, { limit: 50, days: 30 });
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      for (const [i, q] of logger.queries.entries()) {
        const plan = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${q.query}`, q.params as unknown[]);
        const top = (plan.rows[0]["QUERY PLAN"] as Array<{ "Execution Time": number; "Planning Time": number }>)[0];
        const label = ["cronJobsList: jobsOverview", "jobHistory: runs (limit 50)", "jobHistory: stats", "jobHistory: timeline"][i] ?? `query ${i}`;
        out[label] = `planning ${top["Planning Time"].toFixed(2)} ms, execution ${top["Execution Time"].toFixed(2)} ms`;
      }
    } finally {
      await client.end();
    }
  } finally {
    await probe.close();
  }
  return out;
}

async function benchHttp(databaseUrl: string, busiest: string) {
  if (!existsSync(".next/BUILD_ID")) {
    const build = spawnSync(process.execPath, ["node_modules/next/dist/bin/next", "build"], { stdio: "inherit" });
    if (build.status !== 0) throw new Error("next build failed");
  }
  const token = randomBytes(24).toString("hex");
  const server = await startNextServer({
    env: {
      DATABASE_URL: databaseUrl,
      ADMIN_TOKEN: token,
      CRON_SECRET: randomBytes(24).toString("hex"),
      CRON_DEMO: "1",
    },
  });
  try {
    const get = async (path: string) => {
      const response = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      const text = await response.text();
      if (response.status !== 200) throw new Error(`${path}: ${response.status} ${text.slice(0, 300)}`);
      return text;
    };
    const list = JSON.parse(await get("/api/admin/cron-jobs")) as { jobs: unknown[] };
    return {
      cronJobsList: await measure(() => get("/api/admin/cron-jobs")),
      jobHistory30d: await measure(() => get(`/api/admin/cron-jobs/${busiest}/history?limit=50&days=30`)),
      jobHistory1d: await measure(() => get(`/api/admin/cron-jobs/${busiest}/history?limit=50&days=1`)),
      note: `next start with CRON_DEMO=1: the list shows the app's ${list.jobs.length} jobs (over the same 1,000,000-row table); bearer auth`,
    };
  } finally {
    await server.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
