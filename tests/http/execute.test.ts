import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchReply, rawRequest as sendRaw, type FetchReply } from "../support/http";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/db";
import { startNextServer, type NextServer } from "../support/next-server";
import { serverJobs } from "../support/registry";

/**
 * The trigger hot path over real HTTP: `next start` on a fresh database of the Postgres
 * server (migrated by the server on its first request), demo jobs loaded (CRON_DEMO=1).
 * Every case checks both the responses and the rows in cron_job_logs / cron_job_leases.
 */


const SECRET = `crondeck-${randomBytes(24).toString("hex")}`;
const AUTH = { authorization: `Bearer ${SECRET}` };
const SLOW_MS = 150;
const STUBBORN_MS = 4_000;
const FIVE_MIN = 5 * 60_000;

type Reply = FetchReply;

function hit(base: string, path: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return fetchReply(`${base}${path}`, { method: init.method ?? "POST", headers: init.headers });
}

/** A request with the path sent exactly as given (no client-side normalisation of `..`). */
function rawRequest(base: string, path: string, method: string, headers: Record<string, string>): Promise<Reply> {
  return sendRaw(base, method, path, { headers });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describeWithPostgres("POST/GET /api/cron/execute/[jobName] on a Postgres server", () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let server: NextServer;
  const base = () => server.url;

  const rowCount = async () => Number((await pool.query("SELECT count(*)::int AS n FROM cron_job_logs")).rows[0].n);
  const leaseRows = async () => (await pool.query("SELECT job_name, run_id, fencing_token, expires_at FROM cron_job_leases ORDER BY job_name")).rows;
  const runRow = async (id: string) => (await pool.query("SELECT * FROM cron_job_logs WHERE id = $1", [id])).rows[0];

  beforeAll(async () => {
    // Not migrated here: the server migrates its database on first use.
    database = await createTestDatabase("postgres", { migrate: false });
    pool = new pg.Pool({ connectionString: database.url, max: 4 });
    server = await startNextServer({
      env: {
        DATABASE_URL: database.url,
        CRON_SECRET: SECRET,
        CRON_DEMO: "1",
        CRON_DEMO_SLOW_MS: String(SLOW_MS),
        CRON_DEMO_STUBBORN_MS: String(STUBBORN_MS),
      },
    });
    // First use: opens and migrates the database.
    const warm = await hit(base(), "/api/cron/jobs/health-check", { method: "GET", headers: AUTH });
    expect(warm.status, warm.text).toBe(200);
  });

  afterAll(async () => {
    await server?.stop();
    await pool?.end();
    await database?.dispose();
  });

  describe("exactly once per slot", () => {
    it("50 concurrent triggers of one slot give one run and 49 skips, over 20 rounds", async () => {
      const ROUNDS = 20;
      const CONCURRENCY = 50;
      const first = Date.parse("2026-01-01T00:00:00.000Z");
      const seenIds = new Map<string, string>(); // execution id -> slot
      for (let round = 0; round < ROUNDS; round++) {
        const slot = new Date(first + round * FIVE_MIN).toISOString();
        const path = `/api/cron/execute/demo-slow?trigger=schedule&slot=${encodeURIComponent(slot)}`;
        const replies = await Promise.all(Array.from({ length: CONCURRENCY }, () => hit(base(), path, { headers: AUTH })));
        const where = `round ${round} (${slot})`;
        expect(replies.map((r) => r.status), where).toEqual(Array(CONCURRENCY).fill(200));
        const ran = replies.filter((r) => r.body?.execution?.status === "completed");
        const skipped = replies.filter((r) => r.body?.skipped === true);
        expect(ran, where).toHaveLength(1);
        expect(skipped, where).toHaveLength(CONCURRENCY - 1);
        expect(ran[0].body).toMatchObject({ success: true, jobName: "demo-slow", execution: { scheduledFor: slot, trigger: "schedule", attempts: 1 } });
        expect(ran[0].body.execution.duration).toBeGreaterThanOrEqual(SLOW_MS - 5);
        for (const reply of skipped) {
          expect(["duplicate", "already_running"], where).toContain(reply.body.reason);
          expect(reply.body).toMatchObject({ success: true, jobName: "demo-slow", execution: { status: "skipped", scheduledFor: slot, trigger: "schedule" } });
        }
        for (const reply of replies) seenIds.set(reply.body.execution.id, slot);
      }
      // Every response names its own row: 1000 distinct ids.
      expect(seenIds.size).toBe(ROUNDS * CONCURRENCY);

      const { rows } = await pool.query(
        `SELECT scheduled_for, count(*)::int AS total,
                count(*) FILTER (WHERE status <> 'skipped')::int AS runs,
                count(*) FILTER (WHERE status = 'completed')::int AS completed,
                count(*) FILTER (WHERE status = 'skipped' AND skip_reason IN ('duplicate', 'already_running'))::int AS skips
           FROM cron_job_logs
          WHERE job_name = 'demo-slow' AND trigger = 'schedule' AND scheduled_for >= $1 AND scheduled_for < $2
          GROUP BY scheduled_for ORDER BY scheduled_for`,
        [new Date(first), new Date(first + ROUNDS * FIVE_MIN)],
      );
      expect(rows).toHaveLength(ROUNDS);
      rows.forEach((row, round) => {
        expect(new Date(row.scheduled_for).getTime()).toBe(first + round * FIVE_MIN);
        expect({ total: row.total, runs: row.runs, completed: row.completed, skips: row.skips }).toEqual({ total: CONCURRENCY, runs: 1, completed: 1, skips: CONCURRENCY - 1 });
      });
      const ids = (await pool.query(`SELECT id, scheduled_for FROM cron_job_logs WHERE job_name = 'demo-slow' AND scheduled_for >= $1 AND scheduled_for < $2`, [new Date(first), new Date(first + ROUNDS * FIVE_MIN)])).rows;
      expect(ids).toHaveLength(ROUNDS * CONCURRENCY);
      for (const { id, scheduled_for } of ids) expect(seenIds.get(id)).toBe(new Date(scheduled_for).toISOString());
      // Every lease was released.
      expect((await leaseRows()).filter((l) => l.job_name === "demo-slow")).toEqual([]);
    });

    it("a Vercel Cron GET runs the current slot; a second GET for the same slot is skipped as duplicate", async () => {
      const vercel = { ...AUTH, "user-agent": "vercel-cron/1.0", "x-vercel-cron-schedule": "*/5 * * * *" };
      // Retry once if the 5-minute boundary passes between the two calls (then they are two slots).
      for (let attempt = 0; ; attempt++) {
        const slotBefore = Math.floor(Date.now() / FIVE_MIN) * FIVE_MIN;
        const first = await hit(base(), "/api/cron/execute/demo-slow", { method: "GET", headers: vercel });
        const second = await hit(base(), "/api/cron/execute/demo-slow", { method: "GET", headers: vercel });
        const slotAfter = Math.floor(Date.now() / FIVE_MIN) * FIVE_MIN;
        if (slotBefore !== slotAfter && attempt === 0) continue;
        const slot = new Date(slotBefore).toISOString();
        expect(first.status, first.text).toBe(200);
        expect(first.body).toMatchObject({ success: true, jobName: "demo-slow", execution: { status: "completed", scheduledFor: slot, trigger: "schedule" } });
        expect(second.status, second.text).toBe(200);
        expect(second.body).toMatchObject({ success: true, skipped: true, reason: "duplicate", jobName: "demo-slow", execution: { status: "skipped", scheduledFor: slot } });
        const { rows } = await pool.query(`SELECT status, skip_reason FROM cron_job_logs WHERE job_name = 'demo-slow' AND scheduled_for = $1 ORDER BY started_at`, [new Date(slot)]);
        expect(rows).toEqual([
          { status: "completed", skip_reason: null },
          { status: "skipped", skip_reason: "duplicate" },
        ]);
        break;
      }
    });

    it("a duplicate delivery after completion is skipped (200, reason duplicate) and recorded as a skipped row", async () => {
      const slot = "2026-02-01T10:05:00.000Z";
      const path = `/api/cron/execute/demo-slow?trigger=schedule&slot=${encodeURIComponent(slot)}`;
      const first = await hit(base(), path, { headers: AUTH });
      expect(first.status, first.text).toBe(200);
      expect(first.body.execution.status).toBe("completed");
      await sleep(50);
      const again = await hit(base(), path, { headers: AUTH });
      expect(again.status, again.text).toBe(200);
      expect(again.body).toMatchObject({ success: true, skipped: true, reason: "duplicate", jobName: "demo-slow" });
      expect(again.body.execution.id).not.toBe(first.body.execution.id);
      const row = await runRow(again.body.execution.id);
      expect(row).toMatchObject({ job_name: "demo-slow", status: "skipped", skip_reason: "duplicate", trigger: "schedule", attempts: 0 });
      expect(new Date(row.scheduled_for).toISOString()).toBe(slot);
      expect((await runRow(first.body.execution.id)).status).toBe("completed");
    });
  });

  describe("no overlap", () => {
    it("an abort-ignoring handler keeps its lease until it really stops: the next trigger is skipped, the one after runs", async () => {
      const t0 = Date.now();
      const first = await hit(base(), "/api/cron/execute/demo-stubborn", { headers: AUTH });
      const answeredAfter = Date.now() - t0;
      expect(first.status, first.text).toBe(500);
      expect(first.body).toMatchObject({ success: false, jobName: "demo-stubborn", execution: { status: "timed_out", attempts: 1, trigger: "manual" } });
      expect(first.body.error).toMatch(/timed out/);
      // 1 s timeout + 1 s settle grace, not the handler's 4 s.
      expect(answeredAfter).toBeGreaterThanOrEqual(1_900);
      expect(answeredAfter).toBeLessThan(STUBBORN_MS - 500);
      const firstId: string = first.body.execution.id;

      // The run is recorded as timed out, but its handler still works: the lease is still its own.
      expect(await runRow(firstId)).toMatchObject({ status: "timed_out" });
      expect((await leaseRows()).filter((l) => l.job_name === "demo-stubborn").map((l) => l.run_id)).toEqual([firstId]);

      const second = await hit(base(), "/api/cron/execute/demo-stubborn", { headers: AUTH });
      expect(second.status, second.text).toBe(200);
      expect(second.body).toMatchObject({ success: true, skipped: true, reason: "already_running", jobName: "demo-stubborn" });
      expect(await runRow(second.body.execution.id)).toMatchObject({ status: "skipped", skip_reason: "already_running" });

      // The lease goes when the handler settles (about STUBBORN_MS after the first call), not before.
      let releasedAfter = -1;
      while (Date.now() - t0 < STUBBORN_MS + 5_000) {
        if ((await leaseRows()).every((l) => l.job_name !== "demo-stubborn")) {
          releasedAfter = Date.now() - t0;
          break;
        }
        await sleep(50);
      }
      expect(releasedAfter).toBeGreaterThanOrEqual(STUBBORN_MS - 200);

      const third = await hit(base(), "/api/cron/execute/demo-stubborn", { headers: AUTH });
      expect(third.status, third.text).toBe(500);
      expect(third.body.skipped).toBeUndefined();
      expect(third.body.execution.status).toBe("timed_out");

      const { rows } = await pool.query(
        `SELECT id, status, started_at FROM cron_job_logs WHERE job_name = 'demo-stubborn' AND status <> 'skipped' ORDER BY started_at`,
      );
      expect(rows.map((r) => r.id)).toEqual([firstId, third.body.execution.id]);
      // The handlers' working intervals [started_at, started_at + STUBBORN_MS] never overlap.
      for (let i = 1; i < rows.length; i++) {
        const previousEnd = new Date(rows[i - 1].started_at).getTime() + STUBBORN_MS;
        expect(new Date(rows[i].started_at).getTime()).toBeGreaterThanOrEqual(previousEnd);
      }
    });
  });

  describe("bad input", () => {
    it.each([
      ["?trigger=bogus", {}, "invalid_trigger"],
      ["?slot=notadate", {}, "invalid_slot"],
      ["?trigger=schedule&slot=2026-01-01T00:01:00Z", {}, "invalid_slot"],
      ["?slot=2026-01-01T00:01:00Z", {}, "invalid_slot"],
      ["?trigger=schedule&slot=2999-01-01T00:00:00Z", {}, "invalid_slot"],
      ["", { "idempotency-key": "k".repeat(300) }, "invalid_idempotency_key"],
      ["", { "idempotency-key": "has space" }, "invalid_idempotency_key"],
    ] as const)("POST demo-slow%s %j answers 400 %s and writes no row", async (query, headers, code) => {
      const before = await rowCount();
      const reply = await hit(base(), `/api/cron/execute/demo-slow${query}`, { headers: { ...AUTH, ...headers } });
      expect(reply.status, reply.text).toBe(400);
      expect(reply.contentType).toMatch(/application\/json/);
      expect(reply.body).toMatchObject({ success: false, code });
      expect(reply.body.error).toEqual(expect.any(String));
      expect(await rowCount()).toBe(before);
    });

    it("the same Idempotency-Key twice: the first runs, the second is a duplicate", async () => {
      const key = `deploy-${randomBytes(8).toString("hex")}`;
      const headers = { ...AUTH, "idempotency-key": key };
      const first = await hit(base(), "/api/cron/execute/demo-slow", { headers });
      expect(first.status, first.text).toBe(200);
      expect(first.body).toMatchObject({ success: true, execution: { status: "completed", trigger: "manual", scheduledFor: null } });
      const second = await hit(base(), "/api/cron/execute/demo-slow", { headers });
      expect(second.status, second.text).toBe(200);
      expect(second.body).toMatchObject({ success: true, skipped: true, reason: "duplicate" });
      expect(await runRow(first.body.execution.id)).toMatchObject({ status: "completed", dedupe_key: `key:${key}` });
      expect(await runRow(second.body.execution.id)).toMatchObject({ status: "skipped", skip_reason: "duplicate" });
      // A different key runs again.
      const other = await hit(base(), "/api/cron/execute/demo-slow", { headers: { ...AUTH, "idempotency-key": `${key}-2` } });
      expect(other.body.execution?.status).toBe("completed");
    });
  });

  describe("unknown and malicious job names", () => {
    const names: Array<[string, string]> = [
      ["../x (encoded)", "%2E%2E%2Fx"],
      ["..%2Fx", "..%2Fx"],
      ["__proto__", "__proto__"],
      ["constructor", "constructor"],
      ["toString", "toString"],
      ["hasownproperty", "hasownproperty"],
      ["valueof", "valueof"],
      ["1 KB name", "a".repeat(1024)],
      ["1 KB kebab name", `${"ab-".repeat(341)}c`],
      ["jöb", encodeURIComponent("jöb")],
      ["emoji", encodeURIComponent("🕐-job")],
      ["right-to-left", encodeURIComponent("health\u202echeck")],
      ["fullwidth", encodeURIComponent("ｈｅａｌｔｈ-check")],
      ["name with spaces", encodeURIComponent("health check")],
      ["leading space", encodeURIComponent(" health-check")],
      ["upper case", "HEALTH-CHECK"],
      ["encoded slash in name", "health-check%2Fx"],
      ["NUL", "health-check%00"],
    ];

    it.each(names)("%s answers 404 job_not_found as JSON and writes no row", async (_label, segment) => {
      const before = await rowCount();
      for (const method of ["POST", "GET"]) {
        const reply = await rawRequest(base(), `/api/cron/execute/${segment}`, method, AUTH);
        expect(reply.status, `${method} ${segment.slice(0, 80)}: ${reply.text.slice(0, 200)}`).toBe(404);
        expect(reply.contentType).toMatch(/application\/json/);
        expect(reply.body).toMatchObject({ success: false, code: "job_not_found" });
        expect(reply.text.length).toBeLessThan(400); // a 1 KB name is not echoed back whole
      }
      expect(await rowCount()).toBe(before);
    });

    it("a literal ../ in the path never runs anything and never redirects", async () => {
      const before = await rowCount();
      const reply = await rawRequest(base(), "/api/cron/execute/../x", "POST", AUTH);
      expect(reply.status).toBe(404);
      expect(await rowCount()).toBe(before);
    });

    it("health-check/ with a trailing slash is never answered with a redirect", async () => {
      // Vercel Cron does not follow redirects: a 308 here is a silently lost run.
      const before = await rowCount();
      for (const method of ["POST", "GET"]) {
        const reply = await hit(base(), "/api/cron/execute/health-check/", { method, headers: AUTH });
        expect(reply.status, `${method}: ${reply.status} location=${reply.location}`).not.toBeGreaterThanOrEqual(300);
        expect(reply.contentType).toMatch(/application\/json/);
        expect(reply.body).toEqual(expect.any(Object));
        if (reply.status === 404) expect(reply.body.code).toBe("job_not_found");
        else expect(reply.body.jobName).toBe("health-check");
      }
      expect(await rowCount()).toBeGreaterThanOrEqual(before);
    });
  });

  describe("response shapes", () => {
    it("a completed run: { success, jobName, execution: { id, status, scheduledFor, startedAt, completedAt, duration, attempts, trigger }, message }", async () => {
      const slot = "2026-03-01T00:00:00.000Z";
      const reply = await hit(base(), `/api/cron/execute/demo-slow?trigger=schedule&slot=${slot}`, { headers: AUTH });
      expect(reply.status).toBe(200);
      expect(reply.contentType).toMatch(/application\/json/);
      expect(Object.keys(reply.body).sort()).toEqual(["execution", "jobName", "message", "success"]);
      expect(Object.keys(reply.body.execution).sort()).toEqual(["attempts", "completedAt", "duration", "id", "scheduledFor", "startedAt", "status", "trigger"]);
      const { execution } = reply.body;
      expect(reply.body).toMatchObject({ success: true, jobName: "demo-slow", message: expect.stringContaining("demo-slow") });
      expect(execution).toMatchObject({ status: "completed", scheduledFor: slot, attempts: 1, trigger: "schedule" });
      expect(execution.id).toMatch(UUID_RE);
      expect(execution.startedAt).toMatch(ISO_RE);
      expect(execution.completedAt).toMatch(ISO_RE);
      expect(execution.duration).toEqual(expect.any(Number));
      expect(Date.parse(execution.completedAt) - Date.parse(execution.startedAt)).toBeGreaterThanOrEqual(SLOW_MS - 5);
      const row = await runRow(execution.id);
      expect(row).toMatchObject({ job_name: "demo-slow", status: "completed", duration_ms: execution.duration, attempts: 1, trigger: "schedule" });
      expect(new Date(row.started_at).toISOString()).toBe(execution.startedAt);
      expect(new Date(row.completed_at).toISOString()).toBe(execution.completedAt);
      expect(row.output).toMatchObject({ primes: expect.any(Number) });
    });

    it("a skipped run: { success: true, skipped: true, reason, jobName, execution }", async () => {
      const slot = "2026-03-01T00:00:00.000Z";
      const reply = await hit(base(), `/api/cron/execute/demo-slow?trigger=schedule&slot=${slot}`, { headers: AUTH });
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ success: true, skipped: true, reason: "duplicate", jobName: "demo-slow" });
      expect(reply.body.execution).toMatchObject({ status: "skipped", scheduledFor: slot, trigger: "schedule" });
      expect(reply.body.execution.id).toMatch(UUID_RE);
      expect(reply.body.execution.startedAt).toMatch(ISO_RE);
    });

    it("GET /api/cron/jobs lists the registry with the secret and answers 401 without", async () => {
      const reply = await hit(base(), "/api/cron/jobs", { method: "GET", headers: AUTH });
      expect(reply.status).toBe(200);
      const expected = serverJobs({ demo: true });
      expect(reply.body.total).toBe(expected.count);
      expect(reply.body.jobs.map((j: { name: string }) => j.name).sort()).toEqual(expected.names);
      expect(expected.names).toEqual(expect.arrayContaining(["cleanup-old-logs", "demo-flaky", "demo-pulse", "demo-slow", "demo-stubborn", "health-check"]));
      expect(reply.body.categories).toEqual(expected.categories);
      for (const job of reply.body.jobs) {
        expect(job).toMatchObject({
          name: expect.any(String),
          schedule: expect.any(String),
          timezone: expect.any(String),
          enabled: expect.any(Boolean),
          timeout: expect.any(String),
          retries: expect.any(Number),
          description: expect.any(String),
          category: expect.any(String),
          nextRunAt: expect.stringMatching(ISO_RE),
        });
        expect(Date.parse(job.nextRunAt)).toBeGreaterThan(Date.now() - 1_000);
      }
      const slow = reply.body.jobs.find((j: { name: string }) => j.name === "demo-slow");
      expect(slow).toMatchObject({ schedule: "*/5 * * * *", timezone: "UTC", enabled: true, timeout: "5s", retries: 0, category: "demo" });
      expect(Date.parse(slow.nextRunAt) % FIVE_MIN).toBe(0);

      for (const headers of [undefined, { authorization: "Bearer nope" }]) {
        const refused = await hit(base(), "/api/cron/jobs", { method: "GET", headers });
        expect(refused.status).toBe(401);
        expect(refused.body).toMatchObject({ success: false, code: "unauthorized" });
        expect(refused.body.jobs).toBeUndefined();
      }
    });

    it("GET /api/cron/jobs/health-check gives the job and its state; an unknown job is 404", async () => {
      const run = await hit(base(), "/api/cron/execute/health-check", { headers: AUTH });
      expect(run.status, run.text).toBe(200);
      const reply = await hit(base(), "/api/cron/jobs/health-check", { method: "GET", headers: AUTH });
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({
        success: true,
        job: { name: "health-check", schedule: "*/5 * * * *", timezone: "UTC", enabled: true, timeout: "1m", retries: 1, category: "monitoring" },
        state: { enabled: true, paused: false, consecutiveFailures: 0, deadLettered: false, running: null },
      });
      expect(reply.body.state.lastRun).toMatchObject({ id: run.body.execution.id, status: "completed", trigger: "manual" });

      const missing = await hit(base(), "/api/cron/jobs/nope", { method: "GET", headers: AUTH });
      expect(missing.status).toBe(404);
      expect(missing.body).toMatchObject({ success: false, code: "job_not_found" });
      const refused = await hit(base(), "/api/cron/jobs/health-check", { method: "GET" });
      expect(refused.status).toBe(401);
      expect(refused.body.code).toBe("unauthorized");
    });
  });
});

describeWithPostgres("a timeout aborts the handler's signal (demo-slow running 8 s against its 5 s timeout)", () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let server: NextServer;

  beforeAll(async () => {
    database = await createTestDatabase("postgres", { migrate: false });
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    server = await startNextServer({
      env: { DATABASE_URL: database.url, CRON_SECRET: SECRET, CRON_DEMO: "1", CRON_DEMO_SLOW_MS: "8000" },
    });
  });
  afterAll(async () => {
    await server?.stop();
    await pool?.end();
    await database?.dispose();
  });

  it("answers 500 timed_out after about 5 s; the run row says timed_out and the lease is already free", async () => {
    const t0 = Date.now();
    const reply = await hit(server.url, "/api/cron/execute/demo-slow", { headers: AUTH });
    const elapsed = Date.now() - t0;
    expect(reply.status, reply.text).toBe(500);
    expect(reply.body).toMatchObject({ success: false, jobName: "demo-slow", execution: { status: "timed_out", attempts: 1 }, error: "timed out after 5 s" });
    expect(elapsed).toBeGreaterThanOrEqual(4_900);
    expect(elapsed).toBeLessThan(7_000);
    const row = (await pool.query("SELECT * FROM cron_job_logs WHERE id = $1", [reply.body.execution.id])).rows[0];
    expect(row).toMatchObject({ job_name: "demo-slow", status: "timed_out", attempts: 1, error_message: "timed out after 5 s" });
    expect(row.duration_ms).toBeGreaterThanOrEqual(4_900);
    expect(row.duration_ms).toBeLessThan(6_500);
    expect(row.attempt_details).toEqual([expect.objectContaining({ attempt: 1, timedOut: true })]);
    // The handler obeyed its signal within the settle grace, so the finish released the lease
    // (a handler still running would keep it, as demo-stubborn does).
    expect((await pool.query("SELECT * FROM cron_job_leases WHERE job_name = 'demo-slow'")).rows).toEqual([]);
  });
});
