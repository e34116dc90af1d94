import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { rawRequest, type RawReply } from "../support/http";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/db";
import { startNextServer, type NextServer } from "../support/next-server";

/**
 * The backfill API over real HTTP (`next start`, the feature jobs loaded, a fresh database of
 * the Postgres server): the dry run changes nothing (a snapshot before and after); bad input is
 * a 400 naming the field and changes nothing; a backfill answers 202 and runs after the
 * response, its runs trigger backfill; cancel stops it before the next slot; the execute route
 * no longer takes trigger=backfill from callers.
 */

const ADMIN_TOKEN = `admin-${randomBytes(24).toString("hex")}`;
const CRON_SECRET = `cron-${randomBytes(24).toString("hex")}`;
const BEARER = { authorization: `Bearer ${ADMIN_TOKEN}` };
const HOUR = 3_600_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeWithPostgres("backfill API on a Postgres server", () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let server: NextServer;
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = BEARER): Promise<RawReply> =>
    rawRequest(server.url, method, path, { headers: body === undefined ? headers : { ...headers, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  const q = async (text: string, params: unknown[] = []) => (await pool.query(text, params)).rows;
  const snapshot = async () => ({
    logs: await q("SELECT id, job_name, status FROM cron_job_logs ORDER BY id"),
    backfills: await q("SELECT id, status, next_index FROM cron_backfills ORDER BY id"),
    audit: await q("SELECT id, action FROM cron_audit_log ORDER BY id"),
  });
  const last = Math.floor(Date.now() / HOUR) * HOUR - HOUR;
  const hourlyRange = (n: number) => ({ from: new Date(last - (n - 1) * HOUR).toISOString(), to: new Date(last).toISOString() });
  /** Polls the backfill until it is no longer running (or the deadline). */
  async function settled(id: string, timeoutMs = 30_000) {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const r = await call("GET", `/api/admin/backfills/${id}`);
      expect(r.status, r.text).toBe(200);
      if (r.body.backfill.status !== "running" || Date.now() > until) return r.body.backfill;
      await sleep(200);
    }
  }

  beforeAll(async () => {
    database = await createTestDatabase("postgres", { migrate: false });
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    server = await startNextServer({ env: { DATABASE_URL: database.url, ADMIN_TOKEN, CRON_SECRET, CRONDECK_FEATURE_JOBS: "1" } });
    const warm = await call("GET", "/api/admin/cron-jobs");
    expect(warm.status, warm.text).toBe(200);
  });
  afterAll(async () => {
    await server?.stop();
    await pool?.end();
    await database?.dispose();
  });

  it("the dry run lists the exact slots with their runs so far and changes nothing", async () => {
    const before = await snapshot();
    const range = hourlyRange(3);
    const r = await call("POST", "/api/admin/cron-jobs/backfill-hourly/backfill", { ...range, dryRun: true });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ success: true, dryRun: true, plan: { jobName: "backfill-hourly", total: 3, toRun: 3, taken: 0, overlap: "skip" } });
    expect(r.body.plan.slots.map((s: { slot: string; willRun: boolean }) => [s.slot, s.willRun])).toEqual([0, 1, 2].map((i) => [new Date(Date.parse(range.from) + i * HOUR).toISOString(), true]));
    expect(await snapshot()).toEqual(before);
  });

  it("bad input is a 400 naming the field (or a 404, 401) and changes nothing", async () => {
    const before = await snapshot();
    const range = hourlyRange(2);
    const path = "/api/admin/cron-jobs/backfill-hourly/backfill";
    const cases: Array<[unknown, number, string | undefined]> = [
      [{ to: range.to }, 400, "from"],
      [{ from: "yesterday", to: range.to }, 400, "from"],
      [{ from: range.from, to: "2026-13-01T00:00:00Z" }, 400, "to"],
      [{ from: range.to, to: range.from }, 400, "to"],
      [{ from: range.from, to: "2999-01-01T00:00:00Z" }, 400, "to"],
      [{ from: "2020-01-01T00:00:00Z", to: range.to }, 400, "to"],
      [{ ...range, overlap: "some" }, 400, "overlap"],
      [{ ...range, dryRun: "yes" }, 400, "dryRun"],
      [{ ...range, extra: 1 }, 400, "extra"],
      // backfill-hourly declares no input schema: it takes none.
      [{ ...range, input: { days: 3 } }, 400, "input"],
    ];
    for (const [body, status, field] of cases) {
      const r = await call("POST", path, body);
      expect({ body, status: r.status, field: r.body?.field }).toEqual({ body, status, field });
      expect(r.text).not.toMatch(/at \w+ \(|node_modules/);
    }
    expect((await call("POST", "/api/admin/cron-jobs/no-such-job/backfill", range)).status).toBe(404);
    expect((await call("POST", path, range, {})).status).toBe(401);
    expect((await call("GET", "/api/admin/backfills/not-a-uuid")).body).toMatchObject({ field: "id" });
    expect((await call("GET", "/api/admin/backfills/0b7c3f5e-8a1d-4c2b-9e6f-1a2b3c4d5e6f")).status).toBe(404);
    expect((await call("PUT", path, range)).status).toBe(405);
    expect(await snapshot()).toEqual(before);
    const limit = await call("POST", path, { from: "2020-01-01T00:00:00Z", to: range.to });
    expect(limit.body.error).toContain("more than 1000 slots");
  });

  it("a backfill answers 202, runs after the response, one slot at a time as trigger backfill, audited; the job's list shows it", async () => {
    const range = hourlyRange(3);
    const r = await call("POST", "/api/admin/cron-jobs/backfill-hourly/backfill", range);
    expect(r.status, r.text).toBe(202);
    const id = r.body.backfillId;
    expect(r.body.backfill).toMatchObject({ id, status: "running", total: 3 });
    const done = await settled(id);
    expect(done).toMatchObject({ status: "completed", done: 3, ran: 3, completed: 3, failed: 0, actor: "api-token" });
    const runs = await q("SELECT trigger, dedupe_key, status, scheduled_for FROM cron_job_logs WHERE job_name = 'backfill-hourly' ORDER BY scheduled_for");
    expect(runs.map((x) => [x.trigger, x.dedupe_key, x.status])).toEqual(done.slots.map((s: string) => ["backfill", `slot:${s}`, "completed"]));
    expect((await q("SELECT action, detail->>'backfillId' AS id FROM cron_audit_log WHERE target = 'backfill-hourly'")).map((x) => [x.action, x.id])).toEqual([["job.backfill", id]]);
    const list = await call("GET", "/api/admin/cron-jobs/backfill-hourly/backfill");
    expect(list.body.backfills.map((b: { id: string }) => b.id)).toEqual([id]);
    const history = await call("GET", "/api/admin/cron-jobs/backfill-hourly/history?trigger=backfill");
    expect(history.status, history.text).toBe(200);
    expect(history.body.history).toHaveLength(3);
    // The same range again with overlap skip: every slot is taken, nothing runs.
    const again = await call("POST", "/api/admin/cron-jobs/backfill-hourly/backfill", range);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ backfill: null, plan: { toRun: 0, taken: 3 } });
  });

  it("cancel stops the backfill before its next slot; the slot in flight finishes; a second cancel is 409; a second backfill while one runs is 409", async () => {
    const range = hourlyRange(6);
    const r = await call("POST", "/api/admin/cron-jobs/backfill-slow/backfill", { from: range.from, to: new Date(Date.parse(range.to) + 30 * 60_000 - HOUR).toISOString() });
    expect(r.status, r.text).toBe(202);
    const id = r.body.backfillId;
    expect((await call("POST", "/api/admin/cron-jobs/backfill-slow/backfill", range)).body).toMatchObject({ code: "backfill_running" });
    // Wait for the first slot to finish, then cancel.
    for (let i = 0; i < 100; i++) {
      if ((await call("GET", `/api/admin/backfills/${id}`)).body.backfill.done >= 1) break;
      await sleep(100);
    }
    const cancel = await call("POST", `/api/admin/backfills/${id}/cancel`);
    expect(cancel.status, cancel.text).toBe(200);
    const ended = await settled(id);
    expect(ended.status).toBe("cancelled");
    expect(ended.done).toBeLessThan(ended.total);
    const runs = await q("SELECT status FROM cron_job_logs WHERE job_name = 'backfill-slow'");
    expect(runs).toHaveLength(ended.done);
    expect(runs.every((x) => x.status === "completed")).toBe(true);
    expect((await call("POST", `/api/admin/backfills/${id}/cancel`)).status).toBe(409);
  });

  it("the execute route refuses trigger=backfill from callers: backfills go through the backfill API", async () => {
    const before = await snapshot();
    const r = await rawRequest(server.url, "POST", `/api/cron/execute/backfill-hourly?trigger=backfill&slot=${encodeURIComponent(new Date(last).toISOString())}`, { headers: { authorization: `Bearer ${CRON_SECRET}` } });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe("invalid_trigger");
    expect(await snapshot()).toEqual(before);
  });

  it("the tick takes over a backfill whose runner died (its lease expired) and finishes it from its cursor, without running its claimed slot again", async () => {
    const slots = [10, 9, 8].map((h) => new Date(last - h * HOUR).toISOString());
    const [{ id }] = await q(
      `INSERT INTO cron_backfills (id, job_name, range_from, range_to, overlap, slots, next_index, actor, runner_holder, runner_expires_at)
       VALUES (gen_random_uuid(), 'backfill-hourly', $1, $3, 'skip', ARRAY[$1, $2, $3]::timestamptz[], 1, 'admin', 'dead-host:1/backfill-0', now() - interval '1 minute') RETURNING id`,
      slots,
    );
    // The dead runner had claimed and run its second slot, then died before its cursor moved.
    await q(`INSERT INTO cron_job_logs (job_name, status, started_at, completed_at, scheduled_for, trigger, dedupe_key, actor) VALUES ('backfill-hourly', 'completed', now(), now(), $1, 'backfill', 'slot:' || $2, 'admin')`, [slots[1], slots[1]]);
    const tick = await rawRequest(server.url, "GET", "/api/cron/tick", { headers: { authorization: `Bearer ${CRON_SECRET}` } });
    expect(tick.status, tick.text).toBeLessThan(300);
    const done = await settled(id);
    expect(done).toMatchObject({ status: "completed", done: 3, ran: 2, completed: 2 });
    const runs = await q("SELECT scheduled_for FROM cron_job_logs WHERE job_name = 'backfill-hourly' AND scheduled_for = ANY($1::timestamptz[]) ORDER BY scheduled_for", [slots]);
    // Slot 0 stays before the cursor (it was never run by this backfill); slot 1 runs once; slot 2 runs now.
    expect(runs.map((r) => new Date(r.scheduled_for).toISOString())).toEqual([slots[1], slots[2]]);
  });
});
