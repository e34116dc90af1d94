/**
 * npx tsx bench/run-explorer.ts: the run explorer's queries (GET /api/admin/runs, the export)
 * at 1 and 10 million runs, in a fresh database on the Postgres server (BENCH_DATABASE_URL,
 * DATABASE_URL, or postgres://postgres@127.0.0.1:5432/test). BENCH_SIZES=1000000,10000000
 * sets the sizes (each size is a history of its own, written afresh).
 *
 * The history: 100 jobs over 90 days; 93% completed, 3% failed, 1% timed out, 2% skipped, the
 * rest missed, abandoned or retry_scheduled; 95% scheduler triggers, the rest manual, retry,
 * replay, catch-up and backfill; errors from 20 messages, one of them rare (1 failed run in 500).
 * Every filter the explorer offers is timed (p50/p95 in ms over BENCH_ITERATIONS calls after a
 * warm-up, in-process through exploreRuns), with two comparisons measured in the same run:
 * - a deep page (the middle of the history) by cursor against the same page by OFFSET;
 * - an error search with the trigram index against the same search without it.
 * The machine's load average is recorded beside the figures. Prints them and writes
 * bench/results/run-explorer.json.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import pg from "pg";
import { queryRows, openDatabase, type Db } from "../lib/db/client";
import { migrate } from "../lib/db/migrate";
import { allRuns, decodeCursor, EMPTY_RUN_FILTER, exploreRuns, type RunFilter } from "../lib/db/queries/run-explorer";

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 20);
const WARMUP = 3;
const SIZES = (process.env.BENCH_SIZES ?? "1000000,10000000").split(",").map(Number);
const JOBS = 100;
const DAYS = 90;
const PAGE = 50;
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

/**
 * Rows `from` to `to` (exclusive) of the synthetic history, in one INSERT ... SELECT. Row k's
 * start spreads the rows evenly over DAYS back from now, so the newest rows are the last written.
 */
async function seed(db: Db, from: number, to: number, total: number) {
  await db.execute(sql`
    INSERT INTO cron_job_logs (job_name, status, skip_reason, trigger, started_at, completed_at, duration_ms, attempts, error_message, scheduled_for)
    SELECT 'job-' || (k % ${JOBS}),
           s.status,
           CASE WHEN s.status = 'skipped' THEN 'duplicate' END,
           CASE WHEN k % 100 < 95 THEN (CASE WHEN k % 2 = 0 THEN 'schedule' ELSE 'tick' END)
                ELSE (ARRAY['manual', 'retry', 'replay', 'catchup', 'backfill'])[1 + k % 5] END,
           t.at, t.at + interval '1 second', 1000, 1,
           CASE WHEN s.status IN ('failed', 'timed_out', 'abandoned', 'retry_scheduled')
                THEN CASE WHEN (k / 7) % 500 = 0 THEN 'TLS handshake failed: certificate has expired for api.partner.example'
                          ELSE (ARRAY['connection refused (ECONNREFUSED 10.0.0.5:5432)', 'timed out after 2 min', 'upstream answered 502 Bad Gateway',
                                      'rate limited: 429 Too Many Requests', 'deadlock detected while updating invoices', 'ETIMEDOUT reading from s3',
                                      'validation failed: customer id missing', 'out of memory in worker', 'DNS lookup failed for hooks.example',
                                      'upstream answered 503 Service Unavailable', 'permission denied for table orders', 'socket hang up',
                                      'JSON parse error at position 0', 'lock wait timeout exceeded', 'quota exceeded for the mail provider',
                                      'read ECONNRESET', 'unique violation on payments_pkey', 'the report generator crashed', 'disk full on /tmp'])[1 + (k / 7) % 19] END END,
           date_trunc('minute', t.at)
    FROM generate_series(${from}::bigint, ${to - 1}::bigint) AS k,
         LATERAL (SELECT now() - make_interval(secs => (${total}::bigint - k) * ${(DAYS * 86_400) / total}::float8) AS at) t,
         LATERAL (SELECT CASE WHEN k % 100 < 93 THEN 'completed' WHEN k % 100 < 96 THEN 'failed' WHEN k % 100 < 97 THEN 'timed_out'
                              WHEN k % 100 < 99 THEN 'skipped' ELSE (ARRAY['missed', 'abandoned', 'retry_scheduled'])[1 + (k / 100) % 3] END AS status) s`);
}

async function main() {
  const dbName = `crondeck_bench_explorer_${randomBytes(3).toString("hex")}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(baseUrl);
  url.pathname = `/${dbName}`;
  const database = await openDatabase({ kind: "postgres", url: url.toString(), queryTimeoutMs: 3_600_000 });
  const results: Record<string, unknown>[] = [];
  try {
    await migrate(database.db);
    const { db } = database;
    // Loading is quicker without the indexes; they are built once the rows are in, as 0018 defines them.
    const indexes = await queryRows<{ indexname: string; indexdef: string }>(
      db,
      sql`SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'cron_job_logs' AND indexname <> 'cron_job_logs_pkey'`,
    );
    if (!indexes.some((i) => i.indexname === "idx_cron_logs_error_trgm")) throw new Error("the trigram index is missing: is pg_trgm available?");
    await db.execute(sql`ALTER TABLE cron_job_logs DISABLE TRIGGER USER`);
    let loaded = 0;
    for (const size of SIZES) {
      const t0 = performance.now();
      for (const i of indexes) await db.execute(sql.raw(`DROP INDEX IF EXISTS ${i.indexname}`));
      // Each size is its own history over DAYS: the table is emptied and written again.
      await db.execute(sql`TRUNCATE cron_job_logs CASCADE`);
      for (let from = 0; from < size; from += 1_000_000) await seed(db, from, Math.min(size, from + 1_000_000), size);
      await db.execute(sql`SET maintenance_work_mem = '1GB'`);
      for (const i of indexes) await db.execute(sql.raw(i.indexdef));
      await db.execute(sql`VACUUM ANALYZE cron_job_logs`);
      loaded = size;
      const loadSeconds = Math.round((performance.now() - t0) / 100) / 10;

      const page = (filter: Partial<RunFilter>) => () => exploreRuns(db, { ...EMPTY_RUN_FILTER, ...filter }, null, PAGE);
      const [{ id: someId }] = await queryRows<{ id: string }>(db, sql`SELECT id FROM cron_job_logs ORDER BY started_at DESC LIMIT 1 OFFSET 12345`);
      const now = Date.now();
      // The middle of the history: a cursor there, and the OFFSET that reaches the same page.
      const middle = Math.floor(size / 2);
      const [mid] = await queryRows<{ at: string; id: string }>(
        db,
        sql`SELECT to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at, id FROM cron_job_logs ORDER BY started_at DESC NULLS LAST, id DESC NULLS LAST OFFSET ${middle} LIMIT 1`,
      );
      const cursor = decodeCursor(Buffer.from(`${mid.at}|${mid.id}`).toString("base64url"), "after");
      const timings: Record<string, { p50: number; p95: number }> = {
        "newest page, no filter": await time(page({})),
        "deep page (middle of the history) by cursor": await time(() => exploreRuns(db, EMPTY_RUN_FILTER, { after: cursor }, PAGE)),
        "deep page by OFFSET (naive)": await time(() =>
          queryRows(db, sql`SELECT id, job_name, status, started_at FROM cron_job_logs ORDER BY started_at DESC NULLS LAST, id DESC NULLS LAST OFFSET ${middle} LIMIT ${PAGE}`),
        ),
        "one job": await time(page({ jobs: ["job-7"] })),
        "three jobs": await time(page({ jobs: ["job-1", "job-42", "job-99"] })),
        "status failed": await time(page({ statuses: ["failed"] })),
        "statuses failed, timed out, abandoned": await time(page({ statuses: ["failed", "timed_out", "abandoned"] })),
        "one job, status failed": await time(page({ jobs: ["job-7"], statuses: ["failed"] })),
        "trigger manual": await time(page({ triggers: ["manual"] })),
        "trigger schedule": await time(page({ triggers: ["schedule"] })),
        "one day, 45 days ago": await time(page({ from: new Date(now - 45 * 86_400_000), to: new Date(now - 44 * 86_400_000) })),
        "one job, status failed, last 7 days, deep in a day": await time(page({ jobs: ["job-7"], statuses: ["failed"], from: new Date(now - 7 * 86_400_000), to: new Date(now - 6 * 86_400_000) })),
        "error text, common (502)": await time(page({ error: "502" })),
        "error text, rare (certificate has expired)": await time(page({ error: "certificate has expired" })),
        "error text, no match": await time(page({ error: "no such message anywhere" })),
        "run id prefix (8 hex digits)": await time(page({ id: someId.slice(0, 8) })),
        "export 10,000 runs of one status (keyset batches of 1,000)": await time(async () => {
          let n = 0;
          for await (const batch of allRuns(db, { ...EMPTY_RUN_FILTER, statuses: ["failed"] }, { max: 10_000 })) n += batch.runs.length;
          if (n !== 10_000) throw new Error(`the export read ${n} runs`);
        }),
      };
      // The same error searches without the trigram index (the plan an install without pg_trgm gets).
      await db.execute(sql`DROP INDEX idx_cron_logs_error_trgm`);
      await db.execute(sql`ANALYZE cron_job_logs`);
      timings["error text, rare, without the trigram index"] = await time(page({ error: "certificate has expired" }));
      timings["error text, no match, without the trigram index"] = await time(page({ error: "no such message anywhere" }));
      await db.execute(sql.raw(indexes.find((i) => i.indexname === "idx_cron_logs_error_trgm")!.indexdef));
      await db.execute(sql`ANALYZE cron_job_logs`);

      const [sizes] = await queryRows<{ table_bytes: string; index_bytes: string }>(
        db,
        sql`SELECT pg_table_size('cron_job_logs') AS table_bytes, pg_indexes_size('cron_job_logs') AS index_bytes`,
      );
      const ratio = (a: string, b: string) => Math.round((timings[a].p50 / timings[b].p50) * 10) / 10;
      const entry = {
        rows: size,
        loadSeconds,
        tableMB: Math.round(Number(sizes.table_bytes) / 1e6),
        indexesMB: Math.round(Number(sizes.index_bytes) / 1e6),
        loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
        pageSize: PAGE,
        timingsMs: timings,
        offsetOverCursorP50: ratio("deep page by OFFSET (naive)", "deep page (middle of the history) by cursor"),
        rareSearchWithoutOverWithTrigramP50: ratio("error text, rare, without the trigram index", "error text, rare (certificate has expired)"),
        slowestFilterP95: Object.entries(timings)
          .filter(([k]) => !k.includes("naive") && !k.includes("without") && !k.startsWith("export"))
          .sort((a, b) => b[1].p95 - a[1].p95)[0],
      };
      console.log(JSON.stringify(entry, null, 2));
      results.push(entry);
    }
    const out = { when: new Date().toISOString(), database: "postgres server", iterations: ITERATIONS, loadedRows: loaded, sizes: results };
    const dir = join(process.cwd(), "bench", "results");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "run-explorer.json"), `${JSON.stringify(out, null, 2)}\n`);
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
