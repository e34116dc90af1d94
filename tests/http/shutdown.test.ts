import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { startNextServer } from "../support/next-server";

/**
 * Graceful shutdown of a real `next start` (with NEXT_MANUAL_SIG_HANDLE, as `npm start` sets
 * it): new triggers get 503, a job that finishes within the grace period completes, one that
 * does not is marked interrupted with its lease freed, and the statistics are printed.
 */
process.env.TEST_DATABASE_URL ||= "postgres://postgres@127.0.0.1:5432/test";
const SECRET = `crondeck-${randomBytes(24).toString("hex")}`;
const AUTH = { authorization: `Bearer ${SECRET}` };

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase("postgres");
});
afterAll(async () => {
  await database?.dispose();
});

const serverEnv = (slowMs: number, graceSeconds: number) => ({
  DATABASE_URL: database.url,
  POSTGRES_URL: undefined,
  UPSTASH_REDIS_REST_URL: undefined,
  KV_REST_API_URL: undefined,
  SENTRY_DSN: undefined,
  CRON_SECRET: SECRET,
  CRON_DEMO: "1",
  CRON_DEMO_SLOW_MS: String(slowMs),
  CRON_SHUTDOWN_GRACE_SECONDS: String(graceSeconds),
  NEXT_MANUAL_SIG_HANDLE: "true",
});

async function rows(sql: string) {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

it("lets a running job finish within the grace period, refuses new triggers meanwhile, and prints statistics", async () => {
  const server = await startNextServer({ env: serverEnv(2_500, 10) });
  await fetch(`${server.url}/api/cron/execute/health-check`, { method: "POST", headers: AUTH }).then((r) => r.text());
  const running = fetch(`${server.url}/api/cron/execute/demo-slow`, { method: "POST", headers: AUTH }).then(async (r) => ({ status: r.status, body: await r.json() }));
  await new Promise((r) => setTimeout(r, 700));
  const exited = server.stop("SIGTERM");
  await new Promise((r) => setTimeout(r, 300));
  const refused = await fetch(`${server.url}/api/cron/execute/health-check`, { method: "POST", headers: AUTH });
  expect(refused.status).toBe(503);
  expect(await refused.json()).toMatchObject({ code: "shutting_down" });
  const finished = await running;
  expect(finished.status).toBe(200);
  expect(finished.body.execution.status).toBe("completed");
  expect(await exited).toBe(0);
  expect(server.output()).toMatch(/jobs executed:\s+2/);
  expect(server.output()).toMatch(/completed:\s+2/);
  expect(server.output()).toMatch(/success rate:\s+100\.0%/);
  const [run] = await rows(`SELECT status FROM cron_job_logs WHERE job_name = 'demo-slow' ORDER BY started_at DESC LIMIT 1`);
  expect(run.status).toBe("completed");
});

it("marks a job still running after the grace period as interrupted and frees its lease", async () => {
  const server = await startNextServer({ env: serverEnv(4_500, 1) });
  const pending = fetch(`${server.url}/api/cron/execute/demo-slow`, { method: "POST", headers: AUTH }).catch((error) => error);
  await new Promise((r) => setTimeout(r, 800));
  const started = Date.now();
  expect(await server.stop("SIGTERM")).toBe(0);
  expect(Date.now() - started).toBeLessThan(4_000);
  await pending;
  const [run] = await rows(`SELECT status, error_message FROM cron_job_logs WHERE job_name = 'demo-slow' ORDER BY started_at DESC LIMIT 1`);
  expect(run.status).toBe("abandoned");
  expect(run.error_message).toContain("interrupted");
  expect(await rows(`SELECT * FROM cron_job_leases WHERE job_name = 'demo-slow'`)).toEqual([]);
  expect(server.output()).toMatch(/marked 1 run\(s\) interrupted/);
});
