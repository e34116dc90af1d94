import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "@/lib/db/client";
import { createAppDatabase, createTestDatabase, describeWithPostgres, type AppDatabase, type TestDatabase } from "../support/db";
import { rawRequest } from "../support/http";
import { compareSamples, expectedSamples, parseScrape, sampleKey } from "../support/metrics-oracle";
import { startNextServer, type NextServer } from "../support/next-server";
import { serverJobs } from "../support/registry";

/**
 * GET /api/metrics through `next start`: the token's rules and the methods on any database;
 * on a Postgres server, a scrape after real triggers (runs, a duplicate delivery, the tick)
 * and stored alerts and dead letters, read with a real Prometheus parser and checked sample for
 * sample against exact aggregates over the rows the server wrote.
 */

const TOKEN = `metricsToken-${Date.now().toString(36)}-Q1q1q1q1`;
const CRON = `cronSecret-${Date.now().toString(36)}-W2w2w2w2`;
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe("GET /api/metrics: the token and the methods", () => {
  let app: AppDatabase;
  let server: NextServer;
  beforeAll(async () => {
    app = await createAppDatabase();
    server = await startNextServer({ env: { ...app.env, METRICS_TOKEN: TOKEN, CRON_SECRET: CRON } });
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await app?.dispose();
  });

  it("answers the Prometheus text format to the right bearer token", async () => {
    const reply = await rawRequest(server.url, "GET", "/api/metrics", { headers: bearer(TOKEN) });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(reply.headers["cache-control"]).toContain("no-store");
    const { samples } = parseScrape(reply.text);
    expect(samples.get(sampleKey("crondeck_runs_total", { job: "health-check", status: "completed" }))).toBe(0);
    expect(samples.get(sampleKey("crondeck_tick_expected_interval_seconds"))).toBeGreaterThan(0);
  });

  it("refuses a missing, wrong, malformed or over-long token with a JSON 401 that names the header", async () => {
    for (const headers of [{}, bearer("wrong"), bearer(`${TOKEN}x`), { authorization: TOKEN }, { authorization: `Basic ${TOKEN}` }, bearer(CRON), bearer("x".repeat(5_000))]) {
      const reply = await rawRequest(server.url, "GET", "/api/metrics", { headers });
      expect(reply.status, JSON.stringify(headers).slice(0, 80)).toBe(401);
      expect(reply.body).toMatchObject({ success: false, code: "unauthorized" });
      expect(reply.body.message ?? reply.body.error).toMatch(/METRICS_TOKEN/);
      expect(reply.text).not.toContain(TOKEN);
    }
  });

  it("answers other methods 405 with Allow, HEAD like GET without a body", async () => {
    for (const method of ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"]) {
      const reply = await rawRequest(server.url, method, "/api/metrics", { headers: bearer(TOKEN) });
      expect(reply.status, method).toBe(405);
      expect(reply.headers.allow).toBe("GET, HEAD");
      expect(reply.body).toMatchObject({ code: "method_not_allowed" });
    }
    const head = await rawRequest(server.url, "HEAD", "/api/metrics", { headers: bearer(TOKEN) });
    expect(head.status).toBe(200);
    expect(head.text).toBe("");
  });
});

describeWithPostgres("GET /api/metrics against the database the server writes", () => {
  let database: TestDatabase;
  let reader: Database;
  let server: NextServer;
  const jobs = [...serverJobs().names, "crondeck-tick"];

  beforeAll(async () => {
    database = await createTestDatabase("postgres", { migrate: false });
    server = await startNextServer({ env: { DATABASE_URL: database.url, METRICS_TOKEN: TOKEN, CRON_SECRET: CRON, CRON_PLAN: "pro" } });
    reader = await openDatabase({ kind: "postgres", url: database.url! });
    const cron = bearer(CRON);
    // Real triggers: manual runs, a scheduled slot and its duplicate delivery, the tick.
    for (let i = 0; i < 3; i++) expect((await rawRequest(server.url, "POST", "/api/cron/execute/health-check", { headers: cron })).status).toBe(200);
    // health-check runs every 5 minutes: the slot before the current one.
    const slot = new Date(Math.floor(Date.now() / 300_000) * 300_000 - 300_000).toISOString();
    const first = await rawRequest(server.url, "POST", `/api/cron/execute/health-check?trigger=tick&slot=${slot}`, { headers: cron });
    expect(first.status, first.text).toBe(200);
    const again = await rawRequest(server.url, "POST", `/api/cron/execute/health-check?trigger=tick&slot=${slot}`, { headers: cron });
    expect(again.body).toMatchObject({ skipped: true, reason: "duplicate" });
    const tick = await rawRequest(server.url, "POST", "/api/cron/tick", { headers: cron });
    expect(tick.status, tick.text).toBe(200);
    // What the alert path and the dead-letter queue would have written, with known counts.
    for (const [channel, status] of [["slack", "sent"], ["slack", "suppressed"], ["email", "failed"], ["webhook", "sent"]]) {
      await reader.db.execute(sql`INSERT INTO cron_alerts (job_name, kind, channel, status) VALUES ('health-check', 'failure', ${channel}, ${status})`);
    }
    await reader.db.execute(sql`INSERT INTO cron_dead_letters (run_id, job_name, failure_reason) VALUES (gen_random_uuid(), 'health-check', 'boom'), (gen_random_uuid(), 'health-check', 'boom')`);
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
    await reader?.close();
    await database?.dispose();
  });

  it("parses with a real Prometheus parser and matches the database sample for sample", async () => {
    let problems: string[] = [];
    // A tick's dispatches may still be landing: the scrape and the aggregates are compared
    // until both are read with nothing written in between (a few tries).
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = Date.now();
      const reply = await rawRequest(server.url, "GET", "/api/metrics", { headers: bearer(TOKEN) });
      expect(reply.status, reply.text).toBe(200);
      const { samples } = parseScrape(reply.text);
      const expected = await expectedSamples(reader.db, { jobs, now: new Date(), windowHours: 24, tick: { expectedEverySeconds: 60, late: false } });
      problems = compareSamples(samples, expected, { ignore: ["crondeck_tick_lag_seconds"] });
      // The lag is the server's clock at the scrape minus the tick's last start.
      const last = expected.get(sampleKey("crondeck_tick_last_run_timestamp_seconds"))!;
      const lag = samples.get(sampleKey("crondeck_tick_lag_seconds"))!;
      expect(lag).toBeGreaterThanOrEqual(before / 1000 - last - 1);
      expect(lag).toBeLessThanOrEqual(Date.now() / 1000 - last + 1);
      if (problems.length === 0) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(problems).toEqual([]);
  });

  it("counts what the triggers did", async () => {
    const { samples } = parseScrape((await rawRequest(server.url, "GET", "/api/metrics", { headers: bearer(TOKEN) })).text);
    const v = (name: string, labels: Record<string, string> = {}) => samples.get(sampleKey(name, labels));
    expect(v("crondeck_runs_total", { job: "health-check", status: "completed" })).toBe(4);
    expect(v("crondeck_runs_last_24h", { job: "health-check", trigger: "manual", status: "completed" })).toBe(3);
    expect(v("crondeck_skips_last_24h", { job: "health-check", reason: "duplicate" })).toBe(1);
    expect(v("crondeck_claim_losers_last_24h", { job: "health-check", reason: "duplicate" })).toBe(1);
    expect(v("crondeck_claims_last_24h", { job: "health-check" })).toBeGreaterThanOrEqual(5);
    expect(v("crondeck_run_duration_seconds_count", { job: "health-check" })).toBe(4);
    expect(v("crondeck_dead_letters_pending", { job: "health-check" })).toBe(2);
    expect(v("crondeck_alerts_total", { channel: "slack", status: "suppressed" })).toBe(1);
    expect(v("crondeck_tick_late")).toBe(0);
    expect(v("crondeck_last_success_timestamp_seconds", { job: "health-check" })).toBeGreaterThan(Date.now() / 1000 - 300);
  });
});
