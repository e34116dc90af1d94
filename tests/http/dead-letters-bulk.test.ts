import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { rawRequest, type RawReply } from "../support/http";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/db";
import { startNextServer, type NextServer } from "../support/next-server";

/**
 * Bulk dead-letter actions over HTTP against `next start` on the Postgres server: the list
 * previews a selection (reason, time range, priority, most urgent first); POST
 * /api/admin/dead-letter-queue/bulk resolves or marks failed what it selects with one audit row,
 * and replays it in batches that run after the response and mark the entries replayed; every
 * bad body is a 400 naming the field and changes nothing.
 */

const ADMIN_TOKEN = `admin-${randomBytes(24).toString("hex")}`;
const CRON_SECRET = `cron-${randomBytes(24).toString("hex")}`;
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };
const JSON_ADMIN = { ...ADMIN, "content-type": "application/json" };

describeWithPostgres("bulk dead-letter actions over HTTP", () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let server: NextServer;
  const q = async (text: string, params: unknown[] = []) => (await pool.query(text, params)).rows;
  const get = (path: string): Promise<RawReply> => rawRequest(server.url, "GET", path, { headers: ADMIN });
  const bulk = (body: unknown): Promise<RawReply> => rawRequest(server.url, "POST", "/api/admin/dead-letter-queue/bulk", { headers: JSON_ADMIN, body: JSON.stringify(body) });
  const snapshot = async () => ({
    entries: await q("SELECT id, recovery_status, replay_count, notes FROM cron_dead_letters ORDER BY id"),
    audit: await q("SELECT count(*)::int AS n FROM cron_audit_log"),
    runs: await q("SELECT count(*)::int AS n FROM cron_job_logs"),
  });

  /** A failed run of `job` `hoursAgo` old and its dead letter. */
  async function deadLetter(job: string, reason: string, hoursAgo: number, priority = "normal"): Promise<string> {
    const [run] = await q(
      `INSERT INTO cron_job_logs (job_name, status, started_at, completed_at, duration_ms, trigger, error_message)
       VALUES ($1, 'failed', now() - make_interval(hours => $2), now() - make_interval(hours => $2), 10, 'schedule', $3) RETURNING id`,
      [job, hoursAgo, reason],
    );
    const [entry] = await q(
      `INSERT INTO cron_dead_letters (run_id, job_name, failure_reason, priority, created_at) VALUES ($1, $2, $3, $4, now() - make_interval(hours => $5)) RETURNING id`,
      [run.id, job, reason, priority, hoursAgo],
    );
    return entry.id;
  }

  async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await read();
      if (ok(value)) return value;
      if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  beforeAll(async () => {
    database = await createTestDatabase("postgres", { migrate: false });
    pool = new pg.Pool({ connectionString: database.url, max: 3 });
    server = await startNextServer({ env: { DATABASE_URL: database.url, ADMIN_TOKEN, CRON_SECRET, CRON_DEMO: "1" } });
    const warm = await get("/api/admin/dead-letter-queue");
    expect(warm.status, warm.text).toBe(200);
  });

  afterAll(async () => {
    await server?.stop();
    await pool?.end();
    await database?.dispose();
  });

  it("the list previews a selection: reason, time range, priority, most urgent first, with the count per job", async () => {
    const timeout = await deadLetter("demo-pulse", "timed out after 30 s", 5, "high");
    const critical = await deadLetter("demo-flaky", "Timed out after 2 min", 3, "critical");
    await deadLetter("demo-flaky", "bad input", 2);
    const from = new Date(Date.now() - 6 * 3_600_000).toISOString();
    const reply = await get(`/api/admin/dead-letter-queue?status=pending&reason=timed%20out&from=${encodeURIComponent(from)}&sort=priority`);
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body).toMatchObject({ total: 2, jobs: { "demo-pulse": 1, "demo-flaky": 1 } });
    expect(reply.body.entries.map((e: { id: string }) => e.id)).toEqual([critical, timeout]);
    for (const [query, field] of [
      ["from=yesterday", "from"],
      [`from=${encodeURIComponent(from)}&to=${encodeURIComponent(new Date(Date.now() - 7 * 3_600_000).toISOString())}`, "to"],
      ["sort=oldest", "sort"],
      ["priority=urgent", "priority"],
    ]) {
      const bad = await get(`/api/admin/dead-letter-queue?${query}`);
      expect(bad.status, `${query}: ${bad.text}`).toBe(400);
      expect(bad.body).toMatchObject({ success: false, field });
    }
  });

  it("refuses every bad bulk body with a 400 naming the field, and changes nothing", async () => {
    const before = await snapshot();
    for (const [body, field] of [
      [{ action: "explode", filter: {} }, "action"],
      [{ action: "resolve", filter: {} }, "reason"],
      [{ action: "mark_failed", filter: {}, reason: "  " }, "reason"],
      [{ action: "replay", filter: {}, reason: "why" }, "reason"],
      [{ action: "resolve", filter: {}, reason: "x", since: new Date().toISOString() }, "since"],
      [{ action: "resolve", filter: { job: "demo-pulse" }, reason: "x" }, "filter"],
      [{ action: "resolve", filter: { ids: ["not-a-uuid"] }, reason: "x" }, "filter.ids.0"],
      [{ action: "resolve", filter: { from: "2026-12-02T00:00:00Z", to: "2026-12-01T00:00:00Z" }, reason: "x" }, "filter.to"],
      [{ action: "replay", filter: {}, max: 501 }, "max"],
    ] as const) {
      const reply = await bulk(body);
      expect(reply.status, `${JSON.stringify(body)}: ${reply.text}`).toBe(400);
      expect(reply.body.success).toBe(false);
      expect(String(reply.body.field), JSON.stringify(body)).toContain(field);
    }
    expect(await snapshot()).toEqual(before);
  });

  it("resolves what a filter selects with one audit row, and replays the rest in batches that run and mark them replayed", async () => {
    const stale = [await deadLetter("demo-slow", "warehouse refused the connection", 30), await deadLetter("demo-slow", "warehouse refused the connection", 29)];
    const resolved = await bulk({ action: "resolve", filter: { jobName: "demo-slow", reason: "warehouse" }, reason: "loaded by hand" });
    expect(resolved.status, resolved.text).toBe(200);
    expect(resolved.body).toMatchObject({ success: true, count: 2, jobs: { "demo-slow": 2 }, remaining: 0 });
    expect((await q("SELECT recovery_status FROM cron_dead_letters WHERE id = ANY($1::uuid[])", [stale])).map((r) => r.recovery_status)).toEqual(["resolved", "resolved"]);
    const [audit] = await q("SELECT actor, target, detail FROM cron_audit_log WHERE action = 'dead_letter.bulk_resolve'");
    expect(audit).toMatchObject({ actor: "api-token", target: "2 dead letters", detail: { count: 2, reason: "loaded by hand", selection: { jobName: "demo-slow", reason: "warehouse" } } });
    // Resolved is a status the list filters on now that something sets it.
    expect((await get("/api/admin/dead-letter-queue?status=resolved&jobName=demo-slow")).body.total).toBe(2);

    const pulse = [await deadLetter("demo-pulse", "replay me", 4), await deadLetter("demo-pulse", "replay me", 3), await deadLetter("demo-pulse", "replay me", 2)];
    const first = await bulk({ action: "replay", filter: { reason: "replay me" }, max: 2 });
    expect(first.status, first.text).toBe(202);
    expect(first.body).toMatchObject({ count: 2, remaining: 1, notReplayable: 0, since: expect.any(String) });
    // As the dashboard does: the next batch after this one's replays have run (two of one job at once would contend for its lease).
    const settled = (ids: string[]) => until("the batch ran", () => q("SELECT status FROM cron_job_logs WHERE id = ANY($1::uuid[])", [ids]), (rows) => rows.length === ids.length && rows.every((r) => r.status !== "started"));
    await settled(first.body.replays.map((r: { executionId: string }) => r.executionId));
    const second = await bulk({ action: "replay", filter: { reason: "replay me" }, max: 2, since: first.body.since });
    expect(second.status, second.text).toBe(202);
    expect(second.body).toMatchObject({ count: 1, remaining: 0 });
    const ids = [...first.body.replays, ...second.body.replays].map((r: { id: string }) => r.id).sort();
    expect(ids).toEqual([...pulse].sort());
    // The replays run after the responses: each entry ends replayed, with one replay run each.
    await until("the entries replayed", () => q("SELECT recovery_status FROM cron_dead_letters WHERE id = ANY($1::uuid[])", [pulse]), (rows) => rows.every((r) => r.recovery_status === "replayed"));
    const runs = await q("SELECT id, status, trigger FROM cron_job_logs WHERE id = ANY($1::uuid[])", [[...first.body.replays, ...second.body.replays].map((r: { executionId: string }) => r.executionId)]);
    expect(runs.map((r) => `${r.trigger}:${r.status}`)).toEqual(["replay:completed", "replay:completed", "replay:completed"]);
    expect((await q("SELECT count(*)::int AS n FROM cron_audit_log WHERE action = 'dead_letter.bulk_replay'"))[0].n).toBe(2);
    // Nothing left: 200, count 0, and no audit row for it.
    const none = await bulk({ action: "replay", filter: { reason: "replay me" } });
    expect(none.status, none.text).toBe(200);
    expect(none.body).toMatchObject({ count: 0, remaining: 0 });
    expect((await q("SELECT count(*)::int AS n FROM cron_audit_log WHERE action = 'dead_letter.bulk_replay'"))[0].n).toBe(2);
  });
});
