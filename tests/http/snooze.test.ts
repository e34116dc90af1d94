import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { rawRequest, type RawReply } from "../support/http";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/db";
import { startNextServer, type NextServer } from "../support/next-server";

/**
 * Skip-next and snooze over real HTTP (`next start` on a Postgres server database, the feature
 * jobs loaded): every refusal is a 4xx naming the field that changes nothing (tables
 * snapshotted); a real skip-next, then a delivery of that very slot to the execute route, is
 * recorded as a skip_requested skip with the operator as actor; a snooze skips a delivered slot
 * as snoozed, shows on the job's JSON, and after an unsnooze the slot runs.
 */

const ADMIN_TOKEN = `admin-${randomBytes(24).toString("hex")}`;
const CRON_SECRET = `cron-${randomBytes(24).toString("hex")}`;
const BEARER = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };
const MIN = 60_000;
const JOB = "feature-snooze";

const call = (base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = BEARER): Promise<RawReply> =>
  rawRequest(base, method, path, { headers, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) });

describeWithPostgres("skip-next and snooze over HTTP", () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let server: NextServer;
  const base = () => server.url;
  const q = async (text: string, params: unknown[] = []) => (await pool.query(text, params)).rows;
  const snapshot = async () => ({
    config: await q("SELECT job_name, skip_slots, skip_requested_by, snoozed_until, snooze_reason, snoozed_by, last_modified_at FROM cron_job_config ORDER BY job_name"),
    logs: await q("SELECT id, status FROM cron_job_logs ORDER BY id"),
    audit: await q("SELECT id, action FROM cron_audit_log ORDER BY id"),
  });
  const deliver = (slot: string) => call(base(), "POST", `/api/cron/execute/${JOB}?trigger=schedule&slot=${encodeURIComponent(slot)}`, undefined, { authorization: `Bearer ${CRON_SECRET}` });
  const rowsOf = (slot: string) => q("SELECT status, skip_reason, actor, trigger FROM cron_job_logs WHERE job_name = $1 AND scheduled_for = $2 ORDER BY started_at", [JOB, slot]);
  const jobJson = async () => {
    const list = await call(base(), "GET", "/api/admin/cron-jobs");
    expect(list.status).toBe(200);
    return list.body.jobs.find((j: { name: string }) => j.name === JOB);
  };

  beforeAll(async () => {
    database = await createTestDatabase("postgres", { migrate: false });
    pool = new pg.Pool({ connectionString: database.url, max: 3 });
    server = await startNextServer({ env: { DATABASE_URL: database.url, ADMIN_TOKEN, CRON_SECRET, CRONDECK_FEATURE_JOBS: "1" } });
    const warm = await call(base(), "GET", "/api/admin/cron-jobs");
    expect(warm.status, warm.text).toBe(200);
  });

  afterAll(async () => {
    await server?.stop();
    await pool?.end();
    await database?.dispose();
  });

  it("refuses bad requests with a 4xx naming the field, and changes nothing", async () => {
    const nextMinute = Math.ceil((Date.now() + 1) / MIN) * MIN;
    const cases: Array<[string, string, string, unknown, number, string | null]> = [
      ["POST", JOB, "skip-next", { slot: "tomorrow" }, 400, "slot"],
      ["POST", JOB, "skip-next", { slot: new Date(nextMinute + 30_000).toISOString() }, 400, "slot"],
      ["POST", JOB, "skip-next", { slot: new Date(nextMinute - 10 * MIN).toISOString() }, 400, "slot"],
      ["POST", JOB, "skip-next", { slots: [] }, 400, "slots"],
      ["POST", JOB, "skip-next", { note: "" }, 400, "note"],
      ["POST", JOB, "skip-next", { note: "two\nlines" }, 400, "note"],
      ["POST", JOB, "skip-next", '{"slot": ', 400, "body"],
      ["DELETE", JOB, "skip-next", { slot: 12 }, 400, "slot"],
      ["POST", JOB, "snooze", {}, 400, "until"],
      ["POST", JOB, "snooze", { until: new Date(Date.now() - MIN).toISOString() }, 400, "until"],
      ["POST", JOB, "snooze", { until: new Date(Date.now() + 91 * 86_400_000).toISOString() }, 400, "until"],
      ["POST", JOB, "snooze", { for: "2 hours" }, 400, "for"],
      ["POST", JOB, "snooze", { for: "1h", until: new Date(Date.now() + MIN).toISOString() }, 400, "for"],
      ["POST", JOB, "snooze", { until: "2030-01-01T10:00:00" }, 400, "until"],
      ["DELETE", JOB, "snooze", { note: "x" }, 400, "note"],
      ["POST", "no-such-job", "snooze", { for: "1h" }, 404, null],
      ["POST", "feature-snooze-once", "skip-next", {}, 409, null],
    ];
    const login = await call(base(), "POST", "/api/admin/session", { token: ADMIN_TOKEN }, { origin: base(), "content-type": "application/json" });
    const cookie = login.setCookie.find((c) => c.startsWith("crondeck_session="))!.split(";")[0];
    const before = await snapshot();
    for (const [method, job, action, body, status, field] of cases) {
      const reply = await call(base(), method, `/api/admin/cron-jobs/${job}/${action}`, body);
      expect(reply.status, `${method} ${job}/${action} ${JSON.stringify(body)}: ${reply.text}`).toBe(status);
      expect(reply.body.success).toBe(false);
      if (field) expect(reply.body.field, reply.text).toBe(field);
      expect(reply.text).not.toMatch(/at .*\.(ts|js):\d+/);
    }
    expect((await call(base(), "POST", `/api/admin/cron-jobs/${JOB}/snooze`, { for: "1h" }, { "content-type": "application/json" })).status).toBe(401);
    // A dashboard session's cookie without its own Origin (a cross-site form) is refused before anything is read.
    for (const origin of [undefined, "https://evil.example"]) {
      const headers: Record<string, string> = { cookie, "content-type": "application/json", ...(origin ? { origin } : {}) };
      expect((await call(base(), "POST", `/api/admin/cron-jobs/${JOB}/snooze`, { for: "1h" }, headers)).status).toBe(403);
      expect((await call(base(), "POST", `/api/admin/cron-jobs/${JOB}/skip-next`, {}, headers)).status).toBe(403);
    }
    const get = await call(base(), "GET", `/api/admin/cron-jobs/${JOB}/snooze`);
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe("POST, DELETE");
    expect(await snapshot()).toEqual(before);
  });

  it("skip-next, then a delivery of that slot: a skip_requested skip with the operator as actor; the job JSON lists the slot", async () => {
    const skip = await call(base(), "POST", `/api/admin/cron-jobs/${JOB}/skip-next`, { note: "vendor outage" });
    expect(skip.status, skip.text).toBe(200);
    const slot: string = skip.body.slot;
    expect(skip.body).toMatchObject({ success: true, changed: true, state: { skipSlots: [slot], skipRequestedBy: "api-token" } });
    expect((await jobJson()).skipSlots).toEqual([slot]);
    const delivered = await deliver(slot);
    expect(delivered.status, delivered.text).toBeLessThan(300);
    expect(delivered.body).toMatchObject({ skipped: true });
    expect(await rowsOf(slot)).toEqual([{ status: "skipped", skip_reason: "skip_requested", actor: "api-token", trigger: "schedule" }]);
    const audit = await q("SELECT action, actor, detail FROM cron_audit_log WHERE target = $1 ORDER BY id", [JOB]);
    expect(audit[0]).toMatchObject({ action: "job.skip_next", actor: "api-token", detail: { slot, note: "vendor outage", via: "bearer" } });
    // Taking it back: DELETE with no slot removes every slot to come.
    const again = await call(base(), "POST", `/api/admin/cron-jobs/${JOB}/skip-next`, { slot: new Date(Date.parse(slot) + 5 * MIN).toISOString() });
    expect(again.status, again.text).toBe(200);
    const undo = await call(base(), "DELETE", `/api/admin/cron-jobs/${JOB}/skip-next`);
    // Every slot still to come: the later one, and the delivered one too while it is ahead of now.
    expect(undo.body).toMatchObject({ success: true, changed: true });
    expect(undo.body.removed).toContain(new Date(Date.parse(slot) + 5 * MIN).toISOString());
    expect((await jobJson()).skipSlots.filter((s: string) => Date.parse(s) > Date.now())).toEqual([]);
  });

  it("a snooze skips a delivered slot as snoozed and shows on the job; after unsnooze the next slot runs", async () => {
    const snooze = await call(base(), "POST", `/api/admin/cron-jobs/${JOB}/snooze`, { for: "2h", note: "database migration" });
    expect(snooze.status, snooze.text).toBe(200);
    expect(snooze.body.message).toMatch(/snoozed until .* \(2 h\)/);
    const job = await jobJson();
    expect(job).toMatchObject({ snoozedUntil: snooze.body.until, snoozeReason: "database migration", snoozedBy: "api-token", state: "enabled" });
    const history = await call(base(), "GET", `/api/admin/cron-jobs/${JOB}/history`);
    expect(history.body.job).toMatchObject({ snoozedUntil: snooze.body.until, snoozeReason: "database migration" });

    const slot = new Date(Math.floor(Date.now() / MIN) * MIN - 2 * MIN).toISOString();
    expect((await deliver(slot)).body).toMatchObject({ skipped: true });
    expect(await rowsOf(slot)).toEqual([{ status: "skipped", skip_reason: "snoozed", actor: "api-token", trigger: "schedule" }]);
    // An operator's run-now is not held back by the snooze.
    const run = await call(base(), "POST", `/api/admin/cron-jobs/${JOB}/run`, {});
    expect(run.status, run.text).toBe(202);

    for (let i = 0; i < 100 && (await q("SELECT 1 FROM cron_job_logs WHERE job_name = $1 AND status = 'started'", [JOB])).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    const end = await call(base(), "DELETE", `/api/admin/cron-jobs/${JOB}/snooze`);
    expect(end.body).toMatchObject({ success: true, changed: true, ended: snooze.body.until });
    const later = new Date(Math.floor(Date.now() / MIN) * MIN - 3 * MIN).toISOString();
    const ran = await deliver(later);
    expect(ran.status, ran.text).toBe(200);
    expect((await rowsOf(later))[0]).toMatchObject({ status: "completed" });
  });
});
