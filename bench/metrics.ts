/**
 * npx tsx bench/metrics.ts: the cost of one GET /api/metrics scrape with a long history. In a
 * fresh database on the Postgres server (BENCH_DATABASE_URL, DATABASE_URL, or
 * postgres://postgres@127.0.0.1:5432/test):
 *
 * 1. 1,000,000 cron_job_logs rows over 90 days for 12 jobs (every minute to daily; 92% completed,
 *    4% failed, 1% timed out, 0.5% abandoned, 2% skipped as duplicate / already running, 0.5%
 *    missed; triggers schedule, tick, manual, retry), 20,000 cron_alerts rows, 5,000 dead
 *    letters, a held lease; inserted with the rollup trigger off, then crondeck_stats_rebuild()
 *    and VACUUM ANALYZE (bench/dashboard.ts explains why).
 * 2. p50/p95/p99 over BENCH_ITERATIONS (default 200, after 20 warm-up) of what the route does:
 *    metricsSnapshot + tickHealth + the exposition text, in-process; and each part alone.
 * 3. For comparison, the naive scrape: the same figures by GROUP BY over every row.
 *
 * Prints the figures and writes bench/results/metrics.json.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import pg from "pg";
import { openDatabase, queryRows } from "../lib/db/client";
import { migrate } from "../lib/db/migrate";
import { metricsSnapshot } from "../lib/db/queries/metrics";
import { tickHealth } from "../lib/db/queries/tick-health";
import { crondeckMetrics, METRICS_WINDOW_HOURS } from "../lib/metrics/crondeck";
import { exposition } from "../lib/metrics/exposition";

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 200);
const WARMUP = 20;
const TOTAL_ROWS = 1_000_000;
const DAYS = 90;
const baseUrl = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

const JOBS: Array<{ name: string; everyMinutes: number; medianMs: number }> = [
  { name: "demo-pulse", everyMinutes: 1, medianMs: 40 },
  { name: "demo-flaky", everyMinutes: 1, medianMs: 900 },
  { name: "sync-inventory", everyMinutes: 1, medianMs: 2_500 },
  { name: "poll-webhooks", everyMinutes: 1, medianMs: 150 },
  { name: "refresh-cache", everyMinutes: 1, medianMs: 300 },
  { name: "process-queue", everyMinutes: 1, medianMs: 1_200 },
  { name: "send-notifications", everyMinutes: 1, medianMs: 600 },
  { name: "health-check", everyMinutes: 5, medianMs: 80 },
  { name: "demo-slow", everyMinutes: 5, medianMs: 2_000 },
  { name: "demo-stubborn", everyMinutes: 15, medianMs: 4_000 },
  { name: "hourly-report", everyMinutes: 60, medianMs: 45_000 },
  { name: "cleanup-old-logs", everyMinutes: 1440, medianMs: 120_000 },
];

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
function summary(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 100) / 100;
  return { n: s.length, p50: r(pct(s, 50)), p95: r(pct(s, 95)), p99: r(pct(s, 99)), max: r(s[s.length - 1]) };
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

function insertJobRows(name: string, everyMinutes: number, medianMs: number, count: number) {
  return sql`INSERT INTO cron_job_logs (job_name, status, started_at, completed_at, duration_ms, attempts, scheduled_for, trigger, dedupe_key, skip_reason, holder)
    SELECT ${name}, x.status, x.t,
           x.t + (CASE WHEN x.status IN ('skipped', 'missed') THEN 0 ELSE x.d END) * interval '1 millisecond',
           CASE WHEN x.status IN ('skipped', 'missed') THEN 0 ELSE x.d END, 1, x.slot,
           CASE WHEN x.r2 < 0.85 THEN 'schedule' WHEN x.r2 < 0.9 THEN 'tick' WHEN x.r2 < 0.95 THEN 'manual' ELSE 'retry' END,
           'slot:' || to_char(x.slot AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
           CASE WHEN x.status = 'skipped' THEN (CASE WHEN x.r2 < 0.5 THEN 'duplicate' ELSE 'already_running' END) END, 'bench:1'
    FROM (
      SELECT s.slot, s.slot + (random() * 2000) * interval '1 millisecond' AS t, random() AS r2,
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
  const dbName = `crondeck_bench_metrics_${randomBytes(3).toString("hex")}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(baseUrl);
  url.pathname = `/${dbName}`;
  // The scrape is measured with the production statement timeout; the bulk load needs longer.
  const database = await openDatabase({ kind: "postgres", url: url.toString() });
  const loader = await openDatabase({ kind: "postgres", url: url.toString(), poolSize: 1, queryTimeoutMs: 900_000 });
  const results: Record<string, unknown> = { when: new Date().toISOString(), database: "postgres server", iterations: ITERATIONS };
  try {
    await migrate(database.db);
    let db = loader.db;
    let t = now();
    const perJob = JOBS.map((j) => Math.floor((DAYS * 1440) / j.everyMinutes));
    await db.execute(sql`ALTER TABLE cron_job_logs DISABLE TRIGGER trg_cron_stats_insert`);
    for (let i = 0; i < JOBS.length; i++) await db.execute(insertJobRows(JOBS[i].name, JOBS[i].everyMinutes, JOBS[i].medianMs, perJob[i]));
    const extra = TOTAL_ROWS - perJob.reduce((a, b) => a + b, 0);
    await db.execute(
      sql`INSERT INTO cron_job_logs (job_name, status, started_at, completed_at, duration_ms, attempts, trigger, skip_reason, holder)
          SELECT ${JOBS[0].name}, 'skipped', t, t, 0, 0, 'schedule', 'duplicate', 'bench:2'
          FROM (SELECT now() - random() * interval '${sql.raw(String(DAYS))} days' AS t FROM generate_series(1, ${extra})) s`,
    );
    await db.execute(sql`ALTER TABLE cron_job_logs ENABLE TRIGGER trg_cron_stats_insert`);
    const [running] = await queryRows<{ id: string }>(db, sql`INSERT INTO cron_job_logs (job_name, status, started_at, holder, lease_expires_at) VALUES ('sync-inventory', 'started', now() - interval '20 seconds', 'bench:3', now() + interval '40 seconds') RETURNING id`);
    await db.execute(sql`INSERT INTO cron_job_leases (job_name, run_id, fencing_token, holder, expires_at) VALUES ('sync-inventory', ${running.id}::uuid, 1, 'bench:3', now() + interval '40 seconds')`);
    await db.execute(sql`INSERT INTO cron_job_logs (job_name, status, started_at, completed_at, duration_ms, trigger, holder, output)
                         SELECT 'crondeck-tick', 'completed', now() - k * interval '1 minute', now() - k * interval '1 minute', 30, 'tick', 'bench:4', '{"errors": []}'::jsonb FROM generate_series(1, 1440) k`);
    await db.execute(sql`INSERT INTO cron_alerts (job_name, kind, channel, status, created_at)
                         SELECT ${JOBS[1].name}, 'failure', (ARRAY['slack', 'email', 'webhook', 'sentry'])[1 + k % 4], (ARRAY['sent', 'sent', 'suppressed', 'failed'])[1 + (k / 4) % 4], now() - k * interval '5 minutes' FROM generate_series(1, 20000) k`);
    await db.execute(sql`INSERT INTO cron_dead_letters (run_id, job_name, failure_reason, recovery_status)
                         SELECT gen_random_uuid(), ${JOBS[1].name}, 'upstream answered 503', CASE WHEN k % 10 = 0 THEN 'pending' ELSE 'resolved' END FROM generate_series(1, 5000) k`);
    await queryRows(db, sql`SELECT crondeck_stats_rebuild()`);
    await db.execute(sql`VACUUM ANALYZE`);
    const [{ n }] = await queryRows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM cron_job_logs`);
    db = database.db;
    results.load = { rows: Number(n), jobs: JOBS.length, days: DAYS, alerts: 20_000, deadLetters: 5_000, loadMs: Math.round(now() - t) };
    console.log("loaded:", JSON.stringify(results.load));

    const jobs = [...JOBS.map((j) => j.name), "crondeck-tick"];
    let bytes = 0;
    let series = 0;
    const scrape = async () => {
      const at = new Date();
      const started = now();
      const [snapshot, tick] = await Promise.all([metricsSnapshot(db, { jobs, now: at, windowHours: METRICS_WINDOW_HOURS }), tickHealth(db, { now: at, expectedEveryMs: 60_000, graceMs: 60_000 })]);
      const text = exposition(crondeckMetrics(snapshot, tick, now() - started));
      bytes = text.length;
      series = text.split("\n").filter((l) => l && !l.startsWith("#")).length;
    };
    results.scrapeMs = await measure(scrape);
    results.exposition = { bytes, series };
    results.partsMs = {
      metricsSnapshot: await measure(() => metricsSnapshot(db, { jobs, now: new Date(), windowHours: METRICS_WINDOW_HOURS })),
      tickHealth: await measure(() => tickHealth(db, { now: new Date(), expectedEveryMs: 60_000, graceMs: 60_000 })),
    };
    // What reading the same figures from every row would cost (not what the route does).
    results.naiveFullScanMs = await measure(
      () => queryRows(db, sql`SELECT job_name, trigger, status, skip_reason, count(*), sum(duration_ms) FROM cron_job_logs GROUP BY 1, 2, 3, 4`),
      Math.min(ITERATIONS, 20),
    );
    console.log(JSON.stringify(results, null, 2));
    const dir = join(import.meta.dirname, "results");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "metrics.json"), `${JSON.stringify(results, null, 2)}\n`);
  } finally {
    await loader.close();
    await database.close();
    // BENCH_KEEP=1 leaves the database for EXPLAIN (its name is printed).
    if (process.env.BENCH_KEEP === "1") console.log(`kept database ${dbName}`);
    else await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
}

await main();
