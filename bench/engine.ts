/**
 * npm run bench: the trigger's cost, measured on the Postgres server (BENCH_DATABASE_URL,
 * DATABASE_URL, or postgres://postgres@127.0.0.1:5432/test), in a fresh database.
 * Prints the figures and writes bench/results/engine.json.
 *
 * - the floor: SELECT 1 round-trip time of the same pool
 * - per-run overhead of a no-op job in-process (claim + finish), p50/p95/p99
 * - database round trips per run for a winner and for a loser (queries counted by drizzle's logger)
 * - loser latency under a burst of 100 concurrent triggers of one slot
 * - per-run overhead over HTTP against `next start` (when BENCH_HTTP is not 0; builds if needed)
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import pg from "pg";
import { defineJob } from "../lib/cron/define-job";
import { runTrigger, type EngineDeps } from "../lib/cron/run-job";
import { openDatabase } from "../lib/db/client";
import { migrate } from "../lib/db/migrate";
import { PostgresRunStore } from "../lib/db/run-store";

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 500);
const baseUrl = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
function summary(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return { n: s.length, p50: r(pct(s, 50)), p95: r(pct(s, 95)), p99: r(pct(s, 99)), mean: r(s.reduce((a, b) => a + b, 0) / s.length) };
}
const now = () => performance.now();

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function main() {
  const dbName = `crondeck_bench_${randomBytes(3).toString("hex")}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(baseUrl);
  url.pathname = `/${dbName}`;
  let queries = 0;
  const database = await openDatabase({ kind: "postgres", url: url.toString() }, { logger: { logQuery: () => void queries++ } });
  const results: Record<string, unknown> = { when: new Date().toISOString(), database: "postgres server", iterations: ITERATIONS };
  try {
    await migrate(database.db);
    const { db } = database;

    // The floor.
    for (let i = 0; i < 50; i++) await db.execute(sql`SELECT 1`);
    const rtt: number[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      const t = now();
      await db.execute(sql`SELECT 1`);
      rtt.push(now() - t);
    }
    results.roundTripMs = summary(rtt);

    const deps: EngineDeps = { runs: new PostgresRunStore(db), holder: "bench:1", codeVersion: "bench" };
    const noop = defineJob({ name: "bench-noop", schedule: "* * * * *", handler: () => {} });

    // Per-run overhead in-process: each iteration a new slot, so each is a winner.
    const base = Date.UTC(2026, 0, 1);
    const overhead: number[] = [];
    for (let i = 0; i < ITERATIONS + 50; i++) {
      const t = now();
      const o = await runTrigger(deps, { job: noop, trigger: "schedule", scheduledFor: new Date(base + i * 60_000), budgetMs: 60_000 });
      if (o.kind !== "ran") throw new Error("expected a winner");
      if (i >= 50) overhead.push(now() - t);
    }
    results.inProcessRunMs = summary(overhead);

    // Round trips: one winner, then one loser of the same slot.
    const slot = new Date(base - 60_000);
    queries = 0;
    await runTrigger(deps, { job: noop, trigger: "schedule", scheduledFor: slot, budgetMs: 60_000 });
    const winnerQueries = queries;
    queries = 0;
    const loser = await runTrigger(deps, { job: noop, trigger: "schedule", scheduledFor: slot, budgetMs: 60_000 });
    if (loser.kind !== "skipped") throw new Error("expected a loser");
    results.roundTrips = { winner: winnerQueries, loser: queries, target: { winner: 2, loser: 1 } };

    // A burst of 100 concurrent triggers of one slot, repeated: loser latency.
    const slow = defineJob({ name: "bench-burst", schedule: "* * * * *", handler: () => new Promise((r) => setTimeout(r, 20)) });
    const loserMs: number[] = [];
    let winners = 0;
    for (let round = 0; round < 10; round++) {
      const s = new Date(base + round * 60_000);
      await Promise.all(
        Array.from({ length: 100 }, async () => {
          const t = now();
          const o = await runTrigger(deps, { job: slow, trigger: "schedule", scheduledFor: s, budgetMs: 60_000 });
          if (o.kind === "skipped") loserMs.push(now() - t);
          else winners++;
        }),
      );
    }
    results.burst100LoserMs = { ...summary(loserMs), winners, rounds: 10, poolSize: 10 };

    if (process.env.BENCH_HTTP !== "0") results.http = await benchHttp(url.toString());
  } finally {
    await database.close();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
  mkdirSync(join("bench", "results"), { recursive: true });
  writeFileSync(join("bench", "results", "engine.json"), `${JSON.stringify(results, null, 2)}\n`);
  console.log(JSON.stringify(results, null, 2));
  console.log("written to bench/results/engine.json");
}

/** A no-op-ish trigger over HTTP against `next start`: health-check is the lightest built-in job. */
async function benchHttp(databaseUrl: string) {
  if (!existsSync(".next/BUILD_ID")) {
    const build = spawnSync(process.execPath, ["node_modules/next/dist/bin/next", "build"], { stdio: "inherit" });
    if (build.status !== 0) throw new Error("next build failed");
  }
  const port = await freePort();
  const secret = randomBytes(24).toString("hex");
  const server = spawn(process.execPath, ["node_modules/next/dist/bin/next", "start", "-p", String(port)], {
    env: { ...process.env, DATABASE_URL: databaseUrl, CRON_SECRET: secret, CRON_DEMO: "0" },
    stdio: "ignore",
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 300; i++) {
      try {
        if ((await fetch(`${base}/api/health`)).status) break;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const call = (extra: Record<string, string> = {}) =>
      fetch(`${base}/api/cron/execute/health-check`, { method: "POST", headers: { authorization: `Bearer ${secret}`, ...extra } });
    for (let i = 0; i < 30; i++) await (await call()).text();
    const runs: number[] = [];
    const refused: number[] = [];
    const n = Math.min(ITERATIONS, 300);
    for (let i = 0; i < n; i++) {
      let t = now();
      await (await call()).text();
      runs.push(now() - t);
      t = now();
      await (await fetch(`${base}/api/cron/execute/health-check`, { method: "POST", headers: { authorization: "Bearer wrong" } })).text();
      refused.push(now() - t);
    }
    return { manualRunMs: summary(runs), refusedAuthMs: summary(refused), note: "health-check over HTTP includes its own SELECT 1; refusedAuthMs is the HTTP floor (no database)" };
  } finally {
    server.kill("SIGTERM");
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
