/**
 * The cost of the tick's monitors step (late, long-run and threshold monitors for every job),
 * on the Postgres server (BENCH_DATABASE_URL, DATABASE_URL, or postgres://postgres@127.0.0.1:5432/test,
 * in a database of its own that it drops afterwards) and on in-memory PGlite, for 50 and 500 jobs
 * (BENCH_MONITOR_JOBS="50,500") with 190 runs each (one a minute, 5% failed): the median of five
 * ticks when nothing is late or over, and when every job is late, with the store calls per tick
 * (the round trips: they must not grow with the number of jobs).
 *
 *   npx tsx bench/monitors.ts
 *
 * Prints the figures and writes bench/results/monitors.json.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import pg from "pg";
import { defineJob } from "../lib/cron/define-job";
import { openDatabase, type Database } from "../lib/db/client";
import { migrate } from "../lib/db/migrate";
import { PostgresMonitorStore } from "../lib/db/queries/monitors";
import { parseEnv } from "../lib/env";
import { evaluateMonitors } from "../lib/monitors/evaluate";
import { monitorSettingsFromEnv } from "../lib/monitors/policy";

const JOB_COUNTS = (process.env.BENCH_MONITOR_JOBS ?? "50,500").split(",").map(Number);
const baseUrl = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const urlOf = (name: string) => {
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return url.toString();
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(database: Database, kind: string) {
  const db = database.db;
  const now = new Date();
  const out: unknown[] = [];
  for (const jobs of JOB_COUNTS) {
    await db.execute(sql`TRUNCATE cron_job_logs, cron_job_config, cron_monitors`);
    const defs = Array.from({ length: jobs }, (_, i) => defineJob({ name: `bench-${i}`, schedule: "* * * * *", handler: () => {} }));
    for (let lo = 0; lo < jobs; lo += 25) {
      await db.execute(sql`INSERT INTO cron_job_logs (job_name, status, started_at, completed_at, duration_ms, scheduled_for, dedupe_key, trigger)
        SELECT 'bench-' || j, CASE WHEN m % 20 = 0 THEN 'failed' ELSE 'completed' END, date_trunc('minute', ${now.toISOString()}::timestamptz) - m * interval '1 minute',
               date_trunc('minute', ${now.toISOString()}::timestamptz) - m * interval '1 minute', 10,
               date_trunc('minute', ${now.toISOString()}::timestamptz) - m * interval '1 minute', 'slot:' || m, 'schedule'
          FROM generate_series(${lo}::int, ${Math.min(jobs, lo + 25) - 1}::int) j, generate_series(-10, 179) m`);
    }
    await db.execute(sql`ANALYZE cron_job_logs`);
    const store = new PostgresMonitorStore(db);
    let trips = 0;
    const counted = new Proxy(store, {
      get: (target, prop) => {
        const value = (target as unknown as Record<PropertyKey, unknown>)[prop];
        return typeof value === "function" ? (...args: unknown[]) => (trips++, (value as (...a: unknown[]) => unknown).apply(target, args)) : value;
      },
    });
    const deps = { store: counted, notify: async () => ({ delivered: [], failed: [], suppressed: false }), settings: monitorSettingsFromEnv(parseEnv({})), graceMs: 60_000, system: { jobName: "crondeck-tick", category: "system" } };
    const input = (minutes: number) => ({ now: new Date(now.getTime() + minutes * 60_000), jobs: defs.map((job) => ({ job, state: "enabled" as const })) });
    await evaluateMonitors(deps, input(0)); // first sight: the bookmarks
    for (const [label, from] of [["nothing late or over", 1], ["every job late", 20]] as const) {
      const times: number[] = [];
      let calls = 0;
      for (let t = from; t < from + 5; t++) {
        trips = 0;
        const t0 = performance.now();
        await evaluateMonitors(deps, input(t));
        times.push(performance.now() - t0);
        calls = trips;
      }
      const row = { database: kind, jobs, runs: jobs * 190, case: label, storeCallsPerTick: calls, medianMs: Math.round(median(times)), maxMs: Math.round(Math.max(...times)) };
      console.log(JSON.stringify(row));
      out.push(row);
    }
  }
  return out;
}

async function main() {
  const results: unknown[] = [];
  const name = `crondeck_bench_monitors_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  try {
    const server = await openDatabase({ kind: "postgres", url: urlOf(name), queryTimeoutMs: 60_000 });
    await migrate(server.db);
    results.push(...(await measure(server, "postgres")));
    await server.close();
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
  const embedded = await openDatabase({ kind: "pglite", dataDir: null });
  await migrate(embedded.db);
  results.push(...(await measure(embedded, "pglite")));
  await embedded.close();
  const file = join(import.meta.dirname, "results", "monitors.json");
  mkdirSync(join(import.meta.dirname, "results"), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ measuredAt: new Date().toISOString(), cpus: cpus().length, loadAverage: loadavg().map((x) => Math.round(x * 10) / 10), results }, null, 2)}\n`);
  console.log(`written to ${file}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
