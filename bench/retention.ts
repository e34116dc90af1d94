/**
 * npx tsx bench/retention.ts: log retention in committed batches against the old single-call
 * function, on the Postgres server (BENCH_DATABASE_URL, DATABASE_URL, or
 * postgres://postgres@127.0.0.1:5432/test).
 *
 * 1. A fresh database with BENCH_RETENTION_ROWS (300,000: the whole run takes under 2 minutes here) cron_job_logs rows spread evenly over
 *    100 days for 12 jobs (92% completed, 4% failed, 1% timed out, 1% skipped, 1% abandoned,
 *    1% missed; durations 10-5,010 ms), loaded with the rollup trigger off, then
 *    crondeck_stats_rebuild() and VACUUM ANALYZE. With 90 days kept, the oldest 10 days
 *    (about 30,000 rows) are due.
 * 2. Three copies of it (CREATE DATABASE ... TEMPLATE), each cleaned once:
 *    - `old`: 0004's delete trigger (rebuilds every touched job-day from cron_job_logs) and
 *      `SELECT cleanup_old_cron_logs(90)`: the state before 0011, one transaction;
 *    - `single-call`: 0011's trigger (subtracts the deleted rows) and the same single call;
 *    - `batches`: 0011's trigger and runRetention (lib/db/retention.ts), batches of
 *      CRON_CLEANUP_BATCH_SIZE (5,000), each committed on its own.
 *    After each, the rollups are checked against an aggregate over the rows left.
 *
 * Prints the figures and writes bench/results/retention.json.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import pg from "pg";
import { DEFAULT_QUERY_TIMEOUT_MS, openDatabase, queryRows, type Db } from "../lib/db/client";
import { migrate, readMigrations } from "../lib/db/migrate";
import { retentionPolicy, runRetention } from "../lib/db/retention";
import { parseEnv } from "../lib/env";

const ROWS = Number(process.env.BENCH_RETENTION_ROWS ?? 300_000);
const SPAN_DAYS = 100;
const KEEP_DAYS = 90;
const JOBS = 12;
const baseUrl = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
const urlOf = (name: string) => {
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return url.toString();
};

/** 0004's delete trigger function, as it was before 0011 replaced it. */
function oldDeleteTrigger(): string {
  const migration = readMigrations().find((m) => m.tag === "0004_dashboard_rollups");
  const statement = migration?.statements.find((s) => s.includes("FUNCTION crondeck_stats_on_log_delete()"));
  if (!statement) throw new Error("0004_dashboard_rollups has no crondeck_stats_on_log_delete: the benchmark's baseline is gone");
  return statement;
}

/** The rollups' totals and an aggregate over the rows themselves: equal when the rollups are right. */
async function rollupCheck(db: Db) {
  const [r] = await queryRows<Record<string, string>>(
    db,
    sql`SELECT (SELECT coalesce(sum(successes), 0) FROM cron_job_stats_daily)::text AS rollup_successes,
               (SELECT coalesce(sum(failures), 0) FROM cron_job_stats_daily)::text AS rollup_failures,
               (SELECT coalesce(sum(missed), 0) FROM cron_job_stats_daily)::text AS rollup_missed,
               (SELECT coalesce(sum(duration_sum_ms), 0) FROM cron_job_stats_hourly)::text AS rollup_sum,
               (SELECT count(*) FROM cron_job_logs WHERE status = 'completed')::text AS raw_successes,
               (SELECT count(*) FROM cron_job_logs WHERE status IN ('failed', 'timed_out', 'abandoned'))::text AS raw_failures,
               (SELECT count(*) FROM cron_job_logs WHERE status = 'missed')::text AS raw_missed,
               (SELECT coalesce(sum(duration_ms), 0) FROM cron_job_logs WHERE status IN ('completed', 'failed', 'timed_out', 'abandoned'))::text AS raw_sum,
               (SELECT count(*) FROM cron_job_logs)::text AS rows_left`,
  );
  const exact = r.rollup_successes === r.raw_successes && r.rollup_failures === r.raw_failures && r.rollup_missed === r.raw_missed && r.rollup_sum === r.raw_sum;
  return { exact, rowsLeft: Number(r.rows_left) };
}

async function main() {
  const tag = randomBytes(3).toString("hex");
  const source = `crondeck_bench_ret_${tag}`;
  const copies = { old: `${source}_old`, singleCall: `${source}_single`, batches: `${source}_batch` };
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  const results: Record<string, unknown> = {
    when: new Date().toISOString(),
    database: "postgres server",
    machine: { cpus: cpus().length, loadavg: loadavg().map((l) => round(l)) },
    rows: ROWS,
    spanDays: SPAN_DAYS,
    keepDays: KEEP_DAYS,
    jobs: JOBS,
  };
  try {
    // --- 1. The data, once --------------------------------------------------------------
    await admin.query(`CREATE DATABASE ${source}`);
    const loaded = await openDatabase({ kind: "postgres", url: urlOf(source), queryTimeoutMs: 600_000 });
    try {
      const { db } = loaded;
      await migrate(db);
      const t0 = performance.now();
      await db.execute(sql`ALTER TABLE cron_job_logs DISABLE TRIGGER trg_cron_stats_insert`);
      await db.execute(
        sql`INSERT INTO cron_job_logs (job_name, status, started_at, completed_at, duration_ms, trigger)
            SELECT 'bench-job-' || (g % ${JOBS}), s.status, t.at, t.at, CASE WHEN s.status IN ('skipped', 'missed') THEN NULL ELSE 10 + ((g::bigint * 7919) % 5000)::int END, 'schedule'
              FROM generate_series(1, ${ROWS}::int) g
             CROSS JOIN LATERAL (SELECT now() - make_interval(days => ${SPAN_DAYS}) + (g::float8 / ${ROWS}) * make_interval(days => ${SPAN_DAYS}) AS at) t
             CROSS JOIN LATERAL (SELECT CASE WHEN g % 100 < 92 THEN 'completed' WHEN g % 100 < 96 THEN 'failed' WHEN g % 100 < 97 THEN 'timed_out'
                                             WHEN g % 100 < 98 THEN 'skipped' WHEN g % 100 < 99 THEN 'abandoned' ELSE 'missed' END AS status) s`,
      );
      await db.execute(sql`ALTER TABLE cron_job_logs ENABLE TRIGGER trg_cron_stats_insert`);
      await db.execute(sql`SELECT crondeck_stats_rebuild()`);
      await db.execute(sql`VACUUM ANALYZE`);
      const [due] = await queryRows<{ n: string }>(db, sql`SELECT count(*)::text AS n FROM cron_job_logs WHERE started_at < now() - make_interval(days => ${KEEP_DAYS})`);
      results.dueRows = Number(due.n);
      results.loadSeconds = round((performance.now() - t0) / 1000);
      console.log(`loaded ${ROWS.toLocaleString()} rows in ${results.loadSeconds} s; ${Number(due.n).toLocaleString()} due (older than ${KEEP_DAYS} days)`);
    } finally {
      await loaded.close();
    }
    for (const copy of Object.values(copies)) await admin.query(`CREATE DATABASE ${copy} TEMPLATE ${source}`);

    // --- 2. The three cleanups ----------------------------------------------------------
    // The single calls get no statement timeout (the app's default, CRON_DB_QUERY_TIMEOUT_MS 5 s,
    // would cancel them); the batches run under the app's default, as the job does.
    const run = async (name: string, database: string, queryTimeoutMs: number, clean: (db: Db) => Promise<{ deleted: number; extra?: Record<string, unknown> }>) => {
      const opened = await openDatabase({ kind: "postgres", url: urlOf(database), queryTimeoutMs });
      try {
        const { db } = opened;
        const t = performance.now();
        const { deleted, extra } = await clean(db);
        const seconds = (performance.now() - t) / 1000;
        const check = await rollupCheck(db);
        const figures = { deleted, seconds: round(seconds), rowsPerSecond: Math.round(deleted / seconds), rollupsExact: check.exact, rowsLeft: check.rowsLeft, ...extra };
        console.log(`${name.padEnd(12)} deleted ${deleted.toLocaleString()} in ${figures.seconds} s (${figures.rowsPerSecond.toLocaleString()} rows/s), rollups ${check.exact ? "exact" : "WRONG"}`);
        return figures;
      } finally {
        await opened.close();
      }
    };
    const singleCall = async (db: Db) => {
      const [r] = await queryRows<{ n: number }>(db, sql`SELECT cleanup_old_cron_logs(${KEEP_DAYS}::int) AS n`);
      return { deleted: Number(r.n), extra: { transactions: 1 } };
    };

    const old = await run("old", copies.old, 600_000, async (db) => {
      await db.execute(sql.raw(oldDeleteTrigger()));
      return singleCall(db);
    });
    const single = await run("single-call", copies.singleCall, 600_000, singleCall);
    const batches = await run("batches", copies.batches, DEFAULT_QUERY_TIMEOUT_MS, async (db) => {
      const policy = retentionPolicy(parseEnv({ CRON_LOG_RETENTION_DAYS: String(KEEP_DAYS) }), []);
      const perBatch: number[] = [];
      let last = performance.now();
      const report = await runRetention(db, policy, {
        onBatch: () => {
          const t = performance.now();
          perBatch.push(t - last);
          last = t;
        },
      });
      const logs = report.tables.find((t) => t.table === "cron_job_logs");
      const sorted = perBatch.sort((a, b) => a - b);
      return {
        deleted: logs?.deleted ?? 0,
        extra: {
          transactions: logs?.batches ?? 0,
          batchSize: policy.batchSize,
          batchMs: { p50: round(sorted[Math.floor(sorted.length / 2)] ?? 0), max: round(sorted[sorted.length - 1] ?? 0) },
          remaining: logs?.remaining,
        },
      };
    });
    results.cleanups = { old, singleCall: single, batches };
    results.batchStatementTimeoutMs = DEFAULT_QUERY_TIMEOUT_MS;
    results.speedup = {
      batchesVsOld: round(old.seconds / batches.seconds, 1),
      singleCallVsOld: round(old.seconds / single.seconds, 1),
    };
    console.log(`batches are ${(results.speedup as { batchesVsOld: number }).batchesVsOld}x the old single call's speed (and commit each batch)`);
  } finally {
    for (const name of [...Object.values(copies), source]) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
  const out = join(import.meta.dirname, "results");
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "retention.json"), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`wrote bench/results/retention.json`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
