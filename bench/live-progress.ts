/**
 * npx tsx bench/live-progress.ts: what live progress adds to the lease heartbeat (issue 13
 * item 5; the heartbeat is the hot path issue 16 measures). On the Postgres server
 * (BENCH_DATABASE_URL, DATABASE_URL, or postgres://postgres@127.0.0.1:5432/test) in a fresh
 * database, and on an in-memory PGlite; one crondeck_heartbeat call each:
 *
 * - a heartbeat alone (no progress: what a run that logs nothing sends, as before)
 * - a heartbeat with the attempt count only (the regular heartbeat of a silent run)
 * - with a tail of 1 line and of 10 lines (120 characters each) appended to a row whose log
 *   grows up to the 200-line cap (a new run is claimed when it is full)
 * - a repeated tail (a heartbeat whose reply was lost, sent again): the row keeps its first
 *   n lines and appends the tail, with 150 lines on the row
 *
 * Prints the figures and writes bench/results/live-progress.json.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { LogLine, RunProgress } from "../lib/cron/run-store";
import { openDatabase, type Database } from "../lib/db/client";
import { migrate } from "../lib/db/migrate";
import { PostgresRunStore } from "../lib/db/run-store";

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 1_000);
const baseUrl = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const LEASE_MS = 3_600_000;

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
function summary(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return { n: s.length, p50: r(pct(s, 50)), p95: r(pct(s, 95)), p99: r(pct(s, 99)), mean: r(s.reduce((a, b) => a + b, 0) / s.length) };
}

const line = (i: number): LogLine => ({ at: new Date().toISOString(), message: `processed batch ${i}: ${"ok ".repeat(36)}`.slice(0, 120) });

async function measure(database: Database) {
  const store = new PostgresRunStore(database.db);
  const job = `bench-live-${randomBytes(3).toString("hex")}`;
  const claim = async () => {
    const c = await store.claim({
      jobName: job, trigger: "manual", scheduledFor: null, dedupeKey: null, overlap: "allow", enabledByDefault: true, checkState: false,
      leaseMs: LEASE_MS, holder: "bench:1", codeVersion: null, actor: null, runId: randomUUID(),
    });
    if (c.outcome !== "claimed") throw new Error(`no claim: ${c.outcome}`);
    return c;
  };
  // The variants take turns, one call each per round, so a loaded machine slows them alike.
  const quiet = await claim();
  const streaming = (perBeat: number) => {
    let run: Awaited<ReturnType<typeof claim>> | null = null;
    let onRow = 0;
    return {
      prepare: async () => {
        if (!run || onRow + perBeat > 200) {
          run = await claim();
          onRow = 0;
        }
      },
      beat: async () => {
        const progress: RunProgress = { attempts: 1, attemptDetails: null, logFrom: onRow, logLines: Array.from({ length: perBeat }, (_, i) => line(onRow + i)) };
        await store.heartbeat(run!.runId, run!.fencingToken, LEASE_MS, progress);
        onRow += perBeat;
      },
    };
  };
  const repeated = await claim();
  await store.heartbeat(repeated.runId, repeated.fencingToken, LEASE_MS, { attempts: 1, attemptDetails: null, logFrom: 0, logLines: Array.from({ length: 150 }, (_, i) => line(i)) });
  const tail = Array.from({ length: 5 }, (_, i) => line(150 + i));
  const one = streaming(1);
  const ten = streaming(10);
  const variants: Array<{ name: string; prepare?: () => Promise<void>; beat: () => Promise<unknown> }> = [
    { name: "heartbeatAloneMs", beat: () => store.heartbeat(quiet.runId, quiet.fencingToken, LEASE_MS) },
    { name: "heartbeatWithAttemptCountMs", beat: () => store.heartbeat(quiet.runId, quiet.fencingToken, LEASE_MS, { attempts: 1, attemptDetails: null, logFrom: 0, logLines: [] }) },
    { name: "heartbeatWithOneLineMs", ...one },
    { name: "heartbeatWithTenLinesMs", ...ten },
    // Every call after the first finds 155 lines for a tail from 150: the slice path.
    { name: "heartbeatRepeatedTailOn150LinesMs", beat: () => store.heartbeat(repeated.runId, repeated.fencingToken, LEASE_MS, { attempts: 1, attemptDetails: null, logFrom: 150, logLines: tail }) },
  ];
  const samples = new Map(variants.map((v) => [v.name, [] as number[]]));
  for (let round = -50; round < ITERATIONS; round++) {
    for (const v of variants) {
      await v.prepare?.();
      const t0 = performance.now();
      await v.beat();
      if (round >= 0) samples.get(v.name)!.push(performance.now() - t0);
    }
  }
  const figures = Object.fromEntries([...samples].map(([name, s]) => [name, summary(s)]));

  return { ...figures, bytesPerLine: Buffer.byteLength(JSON.stringify(line(1))) };
}

async function main() {
  const results: Record<string, unknown> = {
    when: new Date().toISOString(),
    iterations: ITERATIONS,
    note: "one crondeck_heartbeat round trip each, ms; the variants take turns, so load slows them alike: compare them with each other, and read the load average",
    machine: { cpus: cpus().length, loadAverageAtStart: loadavg().map((x) => Math.round(x * 100) / 100) },
  };

  const dbName = `crondeck_bench_${randomBytes(3).toString("hex")}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(baseUrl);
  url.pathname = `/${dbName}`;
  const server = await openDatabase({ kind: "postgres", url: url.toString() });
  try {
    await migrate(server.db);
    results.postgres = await measure(server);
  } finally {
    await server.close();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }

  const pglite = await openDatabase({ kind: "pglite", dataDir: null });
  try {
    await migrate(pglite.db);
    results.pglite = await measure(pglite);
  } finally {
    await pglite.close();
  }

  console.log(JSON.stringify(results, null, 2));
  const dir = join(process.cwd(), "bench", "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "live-progress.json"), `${JSON.stringify(results, null, 2)}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
