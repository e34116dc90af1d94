import { randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeDatabase, openDatabase, targetFromEnv } from "@/lib/db/client";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/db";
import { configureNeonForProxy, startNeonProxy } from "../support/neon-ws-proxy";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy";

/**
 * A black-holed database (a dead switch: no reply, no reset, no close) must not make a trigger
 * hang. Every statement on a server connection has a statement timeout and a client-side reply
 * timeout, connecting is bounded, and sockets have TCP keepalive: the execute route answers
 * 503 store_unavailable in seconds, never runs the handler without a confirmed claim, and
 * works again once the network heals. The route handler is called in-process (its own module),
 * with the database behind a TCP proxy that can black-hole.
 */


const SECRET = `crondeck-${randomBytes(24).toString("hex")}`;
const TIMEOUT_MS = 1_500;
/** Generous for a loaded 2-core machine: the defect is "no answer at all" (none at 120 s before). */
const ANSWER_WITHIN_MS = 20_000;
/** Drizzle wraps the driver's error ("Failed query: ...") and keeps it as the cause. */
const timedOut = (error: unknown) => /statement timeout|Query read timeout/.test(String((error as Error & { cause?: Error }).cause?.message ?? (error as Error).message));
/** The finish is retried with backoff for up to 20 s (lib/cron/run-job.ts) before it gives up. */
const FINISH_ANSWER_WITHIN_MS = 45_000;
const ISOLATED = ["DATABASE_URL", "POSTGRES_URL", "UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN", "KV_REST_API_URL", "KV_REST_API_TOKEN", "SENTRY_DSN", "SLACK_WEBHOOK_URL", "SMTP_URL", "ALERT_EMAIL_TO", "ALERT_WEBHOOK_URL", "HEALTHCHECK_URLS"];

describeWithPostgres("a black-holed database", () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let direct: pg.Pool;
  const saved: Record<string, string | undefined> = {};
  let route: typeof import("@/app/api/cron/execute/[jobName]/route");

  beforeAll(async () => {
    database = await createTestDatabase("postgres");
    const target = new URL(database.url!);
    proxy = await startTcpProxy({ target: { host: target.hostname, port: Number(target.port || 5432) } });
    direct = new pg.Pool({ connectionString: database.url, max: 2 });
    for (const key of [...ISOLATED, "CRON_SECRET", "CRON_DEMO", "CRON_DEMO_SLOW_MS", "CRON_DB_QUERY_TIMEOUT_MS"]) saved[key] = process.env[key];
    for (const key of ISOLATED) delete process.env[key];
    Object.assign(process.env, { DATABASE_URL: proxy.url(database.url!), CRON_SECRET: SECRET, CRON_DEMO: "1", CRON_DEMO_SLOW_MS: "1500", CRON_DB_QUERY_TIMEOUT_MS: String(TIMEOUT_MS) });
    // A new object: loadEnv parses the environment again instead of answering from its cache.
    process.env = { ...process.env };
    await closeDatabase();
    route = await import("@/app/api/cron/execute/[jobName]/route");
  });
  afterAll(async () => {
    proxy?.heal();
    await closeDatabase().catch(() => {});
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    process.env = { ...process.env };
    await direct?.end();
    await proxy?.close();
    await database?.dispose();
  });

  const trigger = async (job: string) => {
    const started = Date.now();
    const response = await route.POST(new Request(`http://127.0.0.1/api/cron/execute/${job}`, { method: "POST", headers: { authorization: `Bearer ${SECRET}` } }), {
      params: Promise.resolve({ jobName: job }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any>, ms: Date.now() - started };
  };
  const completedRuns = async (job: string) =>
    Number((await direct.query("SELECT count(*)::int AS n FROM cron_job_logs WHERE job_name = $1 AND status = 'completed'", [job])).rows[0].n);

  it("gives a server target the query timeout (and PGlite none)", () => {
    const target = targetFromEnv({ DATABASE_URL: "postgres://u@h:5432/d", PGLITE_DIR: ".data/pglite", CRON_DB_QUERY_TIMEOUT_MS: 2_500 });
    expect(target).toMatchObject({ kind: "postgres", queryTimeoutMs: 2_500 });
    expect(targetFromEnv({ POSTGRES_URL: "postgres://u@h:5432/d", PGLITE_DIR: ".data/pglite", CRON_DB_QUERY_TIMEOUT_MS: 2_500 })).toMatchObject({ kind: "neon", queryTimeoutMs: 2_500 });
    const embedded = targetFromEnv({ PGLITE_DIR: ".data/pglite", CRON_DB_QUERY_TIMEOUT_MS: 2_500 });
    expect(embedded.kind).toBe("pglite");
    expect(embedded).not.toHaveProperty("queryTimeoutMs");
  });

  it("cancels a statement that runs past the timeout, on a server that is up", async () => {
    const opened = await openDatabase({ kind: "postgres", url: database.url!, queryTimeoutMs: 300 });
    try {
      const started = Date.now();
      await expect(opened.db.execute(sql`SELECT pg_sleep(5)`)).rejects.toSatisfy(timedOut);
      expect(Date.now() - started).toBeLessThan(3_000);
      // ...but migrations run without it.
      await expect(opened.withoutTimeouts!((db) => db.execute(sql`SELECT pg_sleep(0.6)`))).resolves.toBeDefined();
      // ...and the connection is usable afterwards with its timeout back.
      await expect(opened.db.execute(sql`SELECT pg_sleep(1)`)).rejects.toSatisfy(timedOut);
    } finally {
      await opened.close();
    }
  });

  it("gives the Neon driver the same statement timeout, and migrates it without one", async () => {
    const pgTarget = new URL(database.url!);
    const neonProxy = await startNeonProxy({ pgHost: pgTarget.hostname, pgPort: Number(pgTarget.port || 5432) });
    configureNeonForProxy(neonProxy.port);
    const opened = await openDatabase({ kind: "neon", url: database.url!, queryTimeoutMs: 300 });
    try {
      await expect(opened.db.execute(sql`SELECT pg_sleep(5)`)).rejects.toSatisfy(timedOut);
      await expect(opened.withoutTimeouts!((db) => db.execute(sql`SELECT pg_sleep(0.6)`))).resolves.toBeDefined();
      await expect(opened.db.execute(sql`SELECT pg_sleep(1)`)).rejects.toSatisfy(timedOut);
    } finally {
      await opened.close();
      await neonProxy.close();
    }
  });

  it("answers 503 store_unavailable within a bounded time when the claim gets no reply, runs no handler, and works again after heal", async () => {
    const warm = await trigger("health-check");
    expect(warm.body.execution?.status ?? warm.body).toBeDefined();
    expect(warm.status).toBeLessThan(503);
    const before = await completedRuns("demo-pulse");

    proxy.blackhole();
    const cut = await trigger("demo-pulse");
    expect(cut.status).toBe(503);
    expect(cut.body).toMatchObject({ success: false, code: "store_unavailable" });
    expect(JSON.stringify(cut.body)).not.toMatch(/postgres:\/\/|at .*\.ts:\d+/);
    expect(cut.ms).toBeLessThan(ANSWER_WITHIN_MS);

    // A second trigger while still black-holed is bounded too (it does not queue behind the first).
    const again = await trigger("demo-pulse");
    expect(again.status).toBe(503);
    expect(again.ms).toBeLessThan(ANSWER_WITHIN_MS);

    console.info(`[db-timeouts] black-holed claim answered ${cut.status} in ${cut.ms} ms, the next in ${again.ms} ms (query timeout ${TIMEOUT_MS} ms)`);
    proxy.heal();
    await new Promise((r) => setTimeout(r, 500));
    // The handler never ran for the triggers whose claim was not confirmed.
    expect(await completedRuns("demo-pulse")).toBe(before);
    const healed = await trigger("health-check");
    expect(healed.status).toBeLessThan(503);
    expect(healed.body.success).toBe(true);
  });

  it("answers within a bounded time when the database goes silent while the handler runs (heartbeat and finish)", { timeout: 90_000 }, async () => {
    const pending = trigger("demo-slow");
    await new Promise((r) => setTimeout(r, 400));
    proxy.blackhole();
    const answer = await pending;
    proxy.heal();
    console.info(`[db-timeouts] black-holed during the handler: answered ${answer.status} ${answer.body.code} in ${answer.ms} ms`);
    expect(answer.ms).toBeLessThan(FINISH_ANSWER_WITHIN_MS);
    expect(answer.status).toBeGreaterThanOrEqual(500);
    expect(typeof answer.body.code).toBe("string");
    await new Promise((r) => setTimeout(r, 500));
    const healed = await trigger("health-check");
    expect(healed.status).toBeLessThan(503);
  });
});
