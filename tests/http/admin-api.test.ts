import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawRequest, type RawReply } from "../support/http";
import { createAppDatabase, createTestDatabase, describeWithPostgres, type AppDatabase, type TestDatabase } from "../support/db";
import { startNextServer, type NextServer } from "../support/next-server";
import { serverJobs } from "../support/registry";

/**
 * The admin API over real HTTP: `next start` on a fresh database of the Postgres server,
 * demo jobs loaded (CRON_DEMO=1). Refusals (401/403/400) are checked against every route
 * with a snapshot of the database before and after: a refused request changes nothing.
 * Then every action, its effect in the database, and its audit row.
 */


const ADMIN_TOKEN = `admin-${randomBytes(24).toString("hex")}`;
const CRON_SECRET = `cron-${randomBytes(24).toString("hex")}`;
const BEARER = { authorization: `Bearer ${ADMIN_TOKEN}` };
const CLIENT_IP = "203.0.113.7";

/** A request with exactly the headers given (node:http: no Origin or anything else added). */
function call(base: string, method: string, path: string, opts: { headers?: Record<string, string>; body?: unknown; raw?: string } = {}): Promise<RawReply> {
  return rawRequest(base, method, path, { headers: opts.headers, body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)) });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describeWithPostgres("admin API on a Postgres server", () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let server: NextServer;
  const base = () => server.url;
  /** The session cookie ("crondeck_session=..."), from a login in beforeAll. */
  let cookie: string;
  const ids = { failedPulseRun: "", dlqPulse: "", dlqFlaky: "", staleRun: "", liveRun: "", slot: "2026-03-01T10:00:00.000Z" };

  const q = async (text: string, params: unknown[] = []) => (await pool.query(text, params)).rows;
  /** Everything an admin route could change. */
  const snapshot = async () => ({
    logs: await q("SELECT id, job_name, status, started_at, completed_at, duration_ms, error_message FROM cron_job_logs ORDER BY id"),
    config: await q("SELECT * FROM cron_job_config ORDER BY job_name"),
    leases: await q("SELECT * FROM cron_job_leases ORDER BY job_name"),
    deadLetters: await q("SELECT * FROM cron_dead_letters ORDER BY id"),
    audit: await q("SELECT id, action FROM cron_audit_log ORDER BY id"),
    rollup: await q("SELECT * FROM cron_job_stats_hourly ORDER BY job_name, bucket"),
  });
  // One trusted proxy (TRUST_PROXY=1) appended the client's address; the part before it is whatever the client sent.
  const asCookie = (extra: Record<string, string> = {}) => ({ cookie, "x-forwarded-for": `192.0.2.66, ${CLIENT_IP}`, ...extra });
  const withOrigin = (extra: Record<string, string> = {}) => asCookie({ origin: base(), ...extra });

  beforeAll(async () => {
    database = await createTestDatabase("postgres", { migrate: false });
    pool = new pg.Pool({ connectionString: database.url, max: 4 });
    server = await startNextServer({
      env: { DATABASE_URL: database.url, ADMIN_TOKEN, CRON_SECRET, TRUST_PROXY: "1", CRON_DEMO: "1", CRON_DEMO_SLOW_MS: "150", CRON_DEMO_STUBBORN_MS: "500" },
    });
    // First use opens and migrates the database.
    const warm = await call(base(), "GET", "/api/admin/cron-jobs", { headers: BEARER });
    expect(warm.status, warm.text).toBe(200);

    // Seed: two dead letters, a stale lease (demo-slow) and a live one (demo-stubborn).
    [{ id: ids.failedPulseRun }] = await q(
      `INSERT INTO cron_job_logs (job_name, status, started_at, completed_at, duration_ms, error_message, attempts, scheduled_for, trigger, dedupe_key)
       VALUES ('demo-pulse', 'failed', $1::timestamptz, $1::timestamptz + interval '1 second', 1000, 'upstream down', 1, $1::timestamptz, 'schedule', 'slot:' || $2) RETURNING id`,
      [ids.slot, ids.slot],
    );
    [{ id: ids.dlqPulse }] = await q(`INSERT INTO cron_dead_letters (run_id, job_name, scheduled_for, failure_reason) VALUES ($1, 'demo-pulse', $2, 'upstream down') RETURNING id`, [ids.failedPulseRun, ids.slot]);
    const [{ id: flakyRun }] = await q(`INSERT INTO cron_job_logs (job_name, status, completed_at, duration_ms, error_message) VALUES ('demo-flaky', 'failed', now(), 10, 'bad') RETURNING id`);
    [{ id: ids.dlqFlaky }] = await q(`INSERT INTO cron_dead_letters (run_id, job_name, failure_reason) VALUES ($1, 'demo-flaky', 'bad') RETURNING id`, [flakyRun]);
    [{ id: ids.staleRun }] = await q(`INSERT INTO cron_job_logs (job_name, status, started_at, holder, fencing_token) VALUES ('demo-slow', 'started', now() - interval '10 minutes', 'dead-host:1', 7001) RETURNING id`);
    await q(`INSERT INTO cron_job_leases (job_name, run_id, fencing_token, holder, acquired_at, expires_at) VALUES ('demo-slow', $1, 7001, 'dead-host:1', now() - interval '10 minutes', now() - interval '5 minutes')`, [ids.staleRun]);
    [{ id: ids.liveRun }] = await q(`INSERT INTO cron_job_logs (job_name, status, holder, fencing_token) VALUES ('demo-stubborn', 'started', 'live-host:1', 7002) RETURNING id`);
    await q(`INSERT INTO cron_job_leases (job_name, run_id, fencing_token, holder, expires_at) VALUES ('demo-stubborn', $1, 7002, 'live-host:1', now() + interval '1 hour')`, [ids.liveRun]);

    const login = await call(base(), "POST", "/api/admin/session", { headers: { origin: base() }, body: { token: ADMIN_TOKEN } });
    expect(login.status, login.text).toBe(200);
    cookie = login.setCookie[0].split(";")[0];
  });

  afterAll(async () => {
    await server?.stop();
    await pool?.end();
    await database?.dispose();
  });

  /** Every admin route, with a valid body where it takes one. */
  const routes = () => [
    { method: "GET", path: "/api/admin/cron-jobs" },
    { method: "GET", path: "/api/admin/cron-jobs/demo-pulse/history?limit=50&days=30" },
    { method: "GET", path: `/api/admin/runs/${ids.failedPulseRun}` },
    { method: "GET", path: "/api/admin/dead-letter-queue?limit=10&offset=0&status=pending" },
    { method: "GET", path: "/api/admin/locks" },
    { method: "GET", path: "/api/admin/statistics" },
    { method: "GET", path: "/api/admin/changes" },
    { method: "GET", path: "/api/admin/runs?status=failed" },
    { method: "GET", path: "/api/admin/runs/export?format=json" },
    { method: "POST", path: "/api/admin/cron-jobs/demo-pulse/toggle", body: { enabled: false } },
    { method: "POST", path: "/api/admin/cron-jobs/demo-pulse/pause", body: { note: "maintenance" } },
    { method: "POST", path: "/api/admin/cron-jobs/demo-pulse/resume", body: {} },
    { method: "POST", path: "/api/admin/cron-jobs/pause-all", body: {} },
    { method: "POST", path: "/api/admin/cron-jobs/resume-all", body: {} },
    { method: "POST", path: "/api/admin/cron-jobs/demo-pulse/run", body: {} },
    { method: "POST", path: "/api/admin/cron-jobs/demo-stubborn/recover", body: {} },
    { method: "POST", path: `/api/admin/dead-letter-queue/${ids.dlqPulse}/retry`, body: {} },
    { method: "POST", path: `/api/admin/dead-letter-queue/${ids.dlqFlaky}/mark-failed`, body: { reason: "obsolete" } },
    { method: "PUT", path: `/api/admin/dead-letter-queue/${ids.dlqFlaky}/notes`, body: { notes: "looking", assignedTo: "sam", priority: "high" } },
    { method: "DELETE", path: "/api/admin/locks/demo-slow" },
    { method: "DELETE", path: "/api/admin/session" },
  ];

  describe("refusals change nothing", () => {
    it("every route answers 401 without credentials, with a wrong bearer token, and with a forged or garbage cookie", async () => {
      const before = await snapshot();
      const forged = cookie.replace(/\.[A-Za-z0-9_-]+$/, `.${Buffer.alloc(32, 1).toString("base64url")}`);
      const badCredentials: Array<[string, Record<string, string>]> = [
        ["no credentials", { origin: base() }],
        ["wrong bearer", { origin: base(), authorization: `Bearer ${ADMIN_TOKEN}x` }],
        ["empty bearer", { authorization: "Bearer " }],
        ["basic auth", { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString("base64")}` }],
        ["the cron secret", { authorization: `Bearer ${CRON_SECRET}` }],
        ["forged cookie", { origin: base(), cookie: forged }],
        ["garbage cookie", { origin: base(), cookie: "crondeck_session=abc.def" }],
        ["wrong bearer with a valid cookie", { origin: base(), cookie, authorization: "Bearer nope-nope-nope-nope" }],
      ];
      for (const route of routes()) {
        for (const [label, headers] of badCredentials) {
          const reply = await call(base(), route.method, route.path, { headers, body: route.body });
          expect(reply.status, `${route.method} ${route.path} (${label}): ${reply.text}`).toBe(401);
          expect(reply.body).toMatchObject({ success: false, code: "unauthorized" });
          expect(reply.setCookie).toEqual([]);
        }
      }
      expect(await snapshot()).toEqual(before);
    });

    it("cookie requests that change state need this app's Origin: a foreign, null or missing Origin gets 403", async () => {
      const before = await snapshot();
      const changing = routes().filter((r) => r.method !== "GET");
      for (const route of changing) {
        for (const [label, headers] of [
          ["foreign Origin", asCookie({ origin: "https://evil.example" })],
          ["null Origin", asCookie({ origin: "null" })],
          ["missing Origin", asCookie()],
          ["same host, other port", asCookie({ origin: base().replace(/:\d+$/, ":1") })],
          ["other scheme", asCookie({ origin: base().replace("http:", "https:") })],
        ] as const) {
          const reply = await call(base(), route.method, route.path, { headers, body: route.body });
          expect(reply.status, `${route.method} ${route.path} (${label}): ${reply.text}`).toBe(403);
          expect(reply.body).toMatchObject({ success: false, code: "bad_origin" });
        }
      }
      // GETs change nothing, so a cookie is enough; bearer requests need no Origin at all.
      for (const route of routes().filter((r) => r.method === "GET")) {
        const reply = await call(base(), route.method, route.path, { headers: asCookie() });
        expect(reply.status, `${route.path}: ${reply.text}`).toBe(200);
      }
      // The login form is a state change too (login CSRF).
      for (const origin of ["https://evil.example", "null", undefined]) {
        const reply = await call(base(), "POST", "/api/admin/session", { headers: origin ? { origin } : {}, body: { token: ADMIN_TOKEN } });
        expect(reply.status, String(origin)).toBe(403);
        expect(reply.setCookie).toEqual([]);
      }
      expect(await snapshot()).toEqual(before);
    });

    it("malformed bodies and parameters get 400 naming the field", async () => {
      const before = await snapshot();
      const cases: Array<{ method: string; path: string; body?: unknown; raw?: string; headers?: Record<string, string>; field: string }> = [
        { method: "POST", path: "/api/admin/cron-jobs/demo-pulse/toggle", body: {}, field: "enabled" },
        { method: "POST", path: "/api/admin/cron-jobs/demo-pulse/toggle", body: { enabled: "yes" }, field: "enabled" },
        { method: "POST", path: "/api/admin/cron-jobs/demo-pulse/toggle", body: { enabled: true, force: 1 }, field: "force" },
        { method: "POST", path: "/api/admin/cron-jobs/demo-pulse/toggle", raw: "{enabled: true", field: "body" },
        { method: "POST", path: "/api/admin/cron-jobs/demo-pulse/toggle", body: [true], field: "body" },
        { method: "POST", path: "/api/admin/cron-jobs/demo-pulse/pause", body: { note: 5 }, field: "note" },
        { method: "POST", path: "/api/admin/cron-jobs/demo-pulse/pause", body: { note: "   " }, field: "note" },
        { method: "POST", path: "/api/admin/cron-jobs/demo-pulse/resume", body: { note: "x".repeat(501) }, field: "note" },
        { method: "POST", path: "/api/admin/cron-jobs/pause-all", body: { paused: true }, field: "paused" },
        { method: "POST", path: "/api/admin/cron-jobs/resume-all", raw: "{", field: "body" },
        { method: "POST", path: "/api/admin/cron-jobs/demo-pulse/run", body: { now: true }, field: "now" },
        { method: "POST", path: "/api/admin/cron-jobs/demo-pulse/run", body: {}, headers: { "idempotency-key": "two words" }, field: "Idempotency-Key" },
        { method: "POST", path: "/api/admin/cron-jobs/demo-stubborn/recover", body: { note: [] }, field: "note" },
        { method: "POST", path: `/api/admin/dead-letter-queue/${ids.dlqPulse}/retry`, body: { force: true }, field: "force" },
        { method: "POST", path: "/api/admin/dead-letter-queue/not-a-uuid/retry", body: {}, field: "id" },
        { method: "POST", path: `/api/admin/dead-letter-queue/${ids.dlqFlaky}/mark-failed`, body: {}, field: "reason" },
        { method: "POST", path: `/api/admin/dead-letter-queue/${ids.dlqFlaky}/mark-failed`, body: { reason: "  " }, field: "reason" },
        { method: "PUT", path: `/api/admin/dead-letter-queue/${ids.dlqFlaky}/notes`, body: {}, field: "notes" },
        { method: "PUT", path: `/api/admin/dead-letter-queue/${ids.dlqFlaky}/notes`, body: { priority: "urgent" }, field: "priority" },
        { method: "PUT", path: `/api/admin/dead-letter-queue/${ids.dlqFlaky}/notes`, body: { assignedTo: 5 }, field: "assignedTo" },
        { method: "DELETE", path: "/api/admin/locks/demo-slow?force=maybe", field: "force" },
        { method: "GET", path: "/api/admin/cron-jobs?sort=name;DROP%20TABLE%20x", field: "sort" },
        { method: "GET", path: "/api/admin/cron-jobs?state=everything", field: "state" },
        { method: "GET", path: "/api/admin/cron-jobs/demo-pulse/history?limit=0", field: "limit" },
        { method: "GET", path: "/api/admin/cron-jobs/demo-pulse/history?days=1000", field: "days" },
        { method: "GET", path: "/api/admin/cron-jobs/demo-pulse/history?status=done", field: "status" },
        { method: "GET", path: "/api/admin/cron-jobs/demo-pulse/history?sort=duration_ms", field: "sort" },
        { method: "GET", path: "/api/admin/dead-letter-queue?status=bogus", field: "status" },
        { method: "GET", path: "/api/admin/dead-letter-queue?limit=abc", field: "limit" },
        { method: "GET", path: "/api/admin/statistics?hours=0", field: "hours" },
        { method: "GET", path: "/api/admin/runs/not-a-uuid", field: "id" },
      ];
      for (const c of cases) {
        for (const headers of [BEARER, withOrigin()]) {
          const reply = await call(base(), c.method, c.path, { headers: { ...headers, ...(c.headers ?? {}) }, body: c.body, raw: c.raw });
          const where = `${c.method} ${c.path} ${c.raw ?? JSON.stringify(c.body)} (${"authorization" in headers ? "bearer" : "cookie"})`;
          expect(reply.status, `${where}: ${reply.text}`).toBe(400);
          expect(reply.body, where).toMatchObject({ success: false, field: c.field });
          expect(reply.body.error, where).toContain(c.field);
        }
      }
      // The login form: a missing or mistyped token is a 400 too.
      for (const body of [{}, { token: 5 }, { token: ADMIN_TOKEN, admin: true }]) {
        const reply = await call(base(), "POST", "/api/admin/session", { headers: { origin: base() }, body });
        expect(reply.status, reply.text).toBe(400);
        expect(reply.setCookie).toEqual([]);
      }
      expect(await snapshot()).toEqual(before);
    });

    it("unknown jobs, runs and entries are 404 and change nothing", async () => {
      const before = await snapshot();
      for (const [method, path, body, code] of [
        ["POST", "/api/admin/cron-jobs/no-such-job/toggle", { enabled: true }, "job_not_found"],
        ["POST", "/api/admin/cron-jobs/no-such-job/run", {}, "job_not_found"],
        ["POST", "/api/admin/cron-jobs/Not_A_Name/pause", {}, "job_not_found"],
        ["GET", "/api/admin/cron-jobs/no-such-job/history", undefined, "job_not_found"],
        ["GET", `/api/admin/runs/${randomUUID()}`, undefined, "run_not_found"],
        ["POST", `/api/admin/dead-letter-queue/${randomUUID()}/retry`, {}, "dead_letter_not_found"],
        ["POST", `/api/admin/dead-letter-queue/${randomUUID()}/mark-failed`, { reason: "x" }, "dead_letter_not_found"],
        ["PUT", `/api/admin/dead-letter-queue/${randomUUID()}/notes`, { notes: "x" }, "dead_letter_not_found"],
        ["DELETE", "/api/admin/locks/no-such-job", undefined, "job_not_found"],
        ["DELETE", "/api/admin/locks/demo-pulse", undefined, "lock_not_found"],
      ] as const) {
        const reply = await call(base(), method, path, { headers: BEARER, body });
        expect(reply.status, `${method} ${path}: ${reply.text}`).toBe(404);
        expect(reply.body).toMatchObject({ success: false, code });
      }
      expect(await snapshot()).toEqual(before);
    });
  });

  describe("session", () => {
    it("logs in with JSON: an HttpOnly, SameSite=Lax session cookie for / (no Secure on plain http), then GETs work", async () => {
      const reply = await call(base(), "POST", "/api/admin/session", { headers: { origin: base(), "x-forwarded-for": "198.51.100.1" }, body: { token: ADMIN_TOKEN } });
      expect(reply.status, reply.text).toBe(200);
      expect(reply.body).toMatchObject({ success: true });
      expect(reply.setCookie).toHaveLength(1);
      const attrs = reply.setCookie[0].split(";").map((s) => s.trim());
      expect(attrs[0]).toMatch(/^crondeck_session=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
      // The browser keeps it until the absolute expiry (8 h); the session row decides before that.
      expect(attrs).toEqual(expect.arrayContaining(["Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=28800"]));
      expect(attrs).not.toContain("Secure");
      const list = await call(base(), "GET", "/api/admin/cron-jobs", { headers: { cookie: attrs[0] } });
      expect(list.status).toBe(200);
      const [audit] = await q(`SELECT actor, action, ip_address FROM cron_audit_log WHERE action = 'session.login' ORDER BY id DESC LIMIT 1`);
      expect(audit).toEqual({ actor: "admin", action: "session.login", ip_address: "198.51.100.1" });
    });

    it("behind an https proxy the cookie is __Host- prefixed and Secure", async () => {
      const host = new URL(base()).host;
      const reply = await call(base(), "POST", "/api/admin/session", {
        headers: { origin: `https://${host}`, "x-forwarded-proto": "https", "x-forwarded-host": host },
        body: { token: ADMIN_TOKEN },
      });
      expect(reply.status, reply.text).toBe(200);
      const attrs = reply.setCookie[0].split(";").map((s) => s.trim());
      expect(attrs[0]).toMatch(/^__Host-crondeck_session=/);
      expect(attrs).toEqual(expect.arrayContaining(["Secure", "Path=/", "HttpOnly", "SameSite=Lax"]));
      expect(attrs.some((a) => a.startsWith("Domain"))).toBe(false);
      // The https cookie is read under its https name.
      const list = await call(base(), "GET", "/api/admin/locks", { headers: { cookie: attrs[0], "x-forwarded-proto": "https" } });
      expect(list.status, list.text).toBe(200);
    });

    it("refuses a wrong token with 401 and no cookie; a form post is redirected back to the login page", async () => {
      const wrong = await call(base(), "POST", "/api/admin/session", { headers: { origin: base(), "x-forwarded-for": "198.51.100.2" }, body: { token: "not-the-token-at-all" } });
      expect(wrong.status).toBe(401);
      expect(wrong.setCookie).toEqual([]);
      const form = (token: string, extra = "") =>
        call(base(), "POST", "/api/admin/session", {
          headers: { origin: base(), "content-type": "application/x-www-form-urlencoded", "x-forwarded-for": "198.51.100.2" },
          raw: `token=${encodeURIComponent(token)}${extra}`,
        });
      const bad = await form("nope-nope-nope");
      expect(bad.status).toBe(303);
      expect(bad.headers.location).toBe("/dashboard/admin/login?error=invalid_token");
      expect(bad.setCookie).toEqual([]);
      const good = await form(ADMIN_TOKEN);
      expect(good.status).toBe(303);
      expect(good.headers.location).toBe("/dashboard/admin/cron-jobs");
      expect(good.setCookie[0]).toMatch(/^crondeck_session=/);
      const next = await form(ADMIN_TOKEN, `&next=${encodeURIComponent("/dashboard/admin/locks")}`);
      expect(next.headers.location).toBe("/dashboard/admin/locks");
      // No open redirect: a next outside the dashboard is a bad form.
      const evil = await form(ADMIN_TOKEN, `&next=${encodeURIComponent("https://evil.example/")}`);
      expect(evil.status).toBe(303);
      expect(evil.headers.location).toBe("/dashboard/admin/login?error=missing_token");
      expect(evil.setCookie).toEqual([]);
    });

    it("rate-limits failed logins per address: 10 a minute, then 429 even for the right token", async () => {
      const headers = { origin: base(), "x-forwarded-for": "198.51.100.99" };
      for (let i = 0; i < 10; i++) expect((await call(base(), "POST", "/api/admin/session", { headers, body: { token: `wrong-${i}` } })).status).toBe(401);
      const limited = await call(base(), "POST", "/api/admin/session", { headers, body: { token: ADMIN_TOKEN } });
      expect(limited.status).toBe(429);
      expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
      // Another address is not affected.
      expect((await call(base(), "POST", "/api/admin/session", { headers: { ...headers, "x-forwarded-for": "198.51.100.100" }, body: { token: ADMIN_TOKEN } })).status).toBe(200);
    });

    it("logs out: the cookie is cleared and the logout is audited", async () => {
      const login = await call(base(), "POST", "/api/admin/session", { headers: { origin: base() }, body: { token: ADMIN_TOKEN } });
      const mine = login.setCookie[0].split(";")[0];
      const out = await call(base(), "DELETE", "/api/admin/session", { headers: { cookie: mine, origin: base(), "x-forwarded-for": CLIENT_IP } });
      expect(out.status, out.text).toBe(200);
      expect(out.setCookie).toHaveLength(1);
      expect(out.setCookie[0]).toMatch(/^crondeck_session=;/);
      expect(out.setCookie[0]).toContain("Max-Age=0");
      const [audit] = await q(`SELECT actor, action, ip_address FROM cron_audit_log WHERE action = 'session.logout' ORDER BY id DESC LIMIT 1`);
      expect(audit).toEqual({ actor: "admin", action: "session.logout", ip_address: CLIENT_IP });
    });
  });

  describe("reads", () => {
    it("GET /api/admin/cron-jobs: summary, jobs with state and stats, categories, running jobs", async () => {
      const reply = await call(base(), "GET", "/api/admin/cron-jobs", { headers: asCookie() });
      expect(reply.status, reply.text).toBe(200);
      expect(reply.headers["cache-control"]).toBe("no-store");
      const { body } = reply;
      expect(body.success).toBe(true);
      expect(Object.keys(body.summary).sort()).toEqual(
        [
          "totalJobs",
          "enabledJobs",
          "disabledJobs",
          "pausedJobs",
          "deadLetteredJobs",
          "failingJobs",
          "runningJobs",
          "staleRuns",
          "pendingDeadLetters",
          "totalExecutions",
          "totalFailures",
          "overallSuccessRate",
        ].sort(),
      );
      const expected = serverJobs({ demo: true });
      expect(body.summary.totalJobs).toBe(expected.count);
      type Listed = { name: string; deadLettered: boolean; failing: boolean; running: { stale: number }; pendingDeadLetters: number };
      expect(body.jobs.map((j: Listed) => j.name).sort()).toEqual(expected.names);
      // Attention first (dead-lettered, failing, a stale run, pending dead letters), then by name.
      const rank = (j: Listed) => (j.deadLettered ? 0 : j.failing ? 1 : j.running.stale > 0 ? 2 : j.pendingDeadLetters > 0 ? 3 : 4);
      const byAttention = [...body.jobs].sort((x: Listed, y: Listed) => rank(x) - rank(y) || (x.name < y.name ? -1 : 1));
      expect(body.jobs.map((j: Listed) => j.name)).toEqual(byAttention.map((j: Listed) => j.name));
      expect(rank(body.jobs[0])).toBeLessThan(4);
      const byName = await call(base(), "GET", "/api/admin/cron-jobs?sort=name", { headers: BEARER });
      expect(byName.body.jobs.map((j: Listed) => j.name)).toEqual(expected.names);
      const slow = body.jobs.find((j: { name: string }) => j.name === "demo-slow");
      // Its run's lease expired: stale, with the lease's holder, not running.
      expect(slow).toMatchObject({ category: "demo", schedule: "*/5 * * * *", timezone: "UTC", state: "enabled", running: { count: 0, stale: 1, staleHolder: "dead-host:1" } });
      expect(body.summary.staleRuns).toBe(body.runningJobs.filter((r: { stale: boolean }) => r.stale).length);
      expect(body.summary.staleRuns).toBeGreaterThanOrEqual(1);
      const pulse = body.jobs.find((j: { name: string }) => j.name === "demo-pulse");
      expect(pulse.pendingDeadLetters).toBeGreaterThanOrEqual(1);
      expect(slow.stats).toEqual(expect.objectContaining({ runs: expect.any(Number), successRate: null, p95DurationMs: null }));
      expect(body.categories).toEqual(expected.categories);
      expect(body.categories).toMatchObject({ demo: 4 });
      expect(body.runningJobs.map((r: { jobName: string }) => r.jobName).sort()).toEqual(["demo-slow", "demo-stubborn"]);
      expect(body.runningJobs.find((r: { jobName: string }) => r.jobName === "demo-slow")).toMatchObject({ runId: ids.staleRun, stale: true, holder: "dead-host:1" });
      const sorted = await call(base(), "GET", "/api/admin/cron-jobs?sort=lastRun&order=desc&category=demo", { headers: BEARER });
      expect(sorted.body.jobs.every((j: { category: string }) => j.category === "demo")).toBe(true);
      expect(sorted.body.summary.totalJobs).toBe(expected.count); // the summary is never filtered
    });

    it("GET history, a run, the dead-letter queue, locks and statistics", async () => {
      const history = await call(base(), "GET", "/api/admin/cron-jobs/demo-pulse/history?limit=50&days=30", { headers: BEARER });
      expect(history.status, history.text).toBe(200);
      expect(history.body).toMatchObject({ success: true, jobName: "demo-pulse", job: { name: "demo-pulse", state: "enabled" } });
      expect(Object.keys(history.body.stats)).toEqual(expect.arrayContaining(["totalRuns", "successfulRuns", "failedRuns", "successRate", "avgDuration", "p95Duration", "lastRun"]));
      expect(history.body.timeline).toHaveLength(30);
      expect(Object.keys(history.body.timeline[0]).sort()).toEqual(["avg_duration_ms", "executions", "failures", "successes", "time_bucket"]);
      const hourly = await call(base(), "GET", "/api/admin/cron-jobs/demo-pulse/history?days=2", { headers: BEARER });
      expect(hourly.body.timeline).toHaveLength(48);

      const run = await call(base(), "GET", `/api/admin/runs/${ids.failedPulseRun}`, { headers: BEARER });
      expect(run.body.run).toMatchObject({ id: ids.failedPulseRun, jobName: "demo-pulse", status: "failed", error: "upstream down", scheduledFor: ids.slot, logLines: [], attemptDetails: [] });
      expect(run.body.run.deadLetter).toMatchObject({ id: ids.dlqPulse, recoveryStatus: "pending" });

      const dlq = await call(base(), "GET", "/api/admin/dead-letter-queue?status=pending", { headers: BEARER });
      expect(dlq.body).toMatchObject({ success: true, total: 2, summary: { pending: 2, replayed: 0, resolved: 0, permanentlyFailed: 0 } });

      const locks = await call(base(), "GET", "/api/admin/locks", { headers: BEARER });
      expect(locks.body.locks.map((l: { jobName: string; stale: boolean }) => [l.jobName, l.stale])).toEqual([
        ["demo-slow", true],
        ["demo-stubborn", false],
      ]);
      expect(locks.body.locks[0].expiresInSeconds).toBeLessThan(-290);
      expect(locks.body.locks[1].expiresInSeconds).toBeGreaterThan(3000);

      const stats = await call(base(), "GET", "/api/admin/statistics", { headers: BEARER });
      expect(stats.body).toMatchObject({ success: true, windowHours: 24, deadLetters: { pending: 2 }, locks: { held: 2, stale: 1 } });
    });
  });

  describe("actions, each with its audit row", () => {
    const lastAudit = async (action: string) => (await q(`SELECT actor, action, target, detail, ip_address FROM cron_audit_log WHERE action = $1 ORDER BY id DESC LIMIT 1`, [action]))[0];
    const config = async (job: string) => (await q(`SELECT * FROM cron_job_config WHERE job_name = $1`, [job]))[0];
    async function waitForRun(id: string, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const reply = await call(base(), "GET", `/api/admin/runs/${id}`, { headers: BEARER });
        if (reply.status === 200 && !["started", "queued"].includes(reply.body.run.status)) return reply.body.run;
        if (Date.now() > deadline) throw new Error(`run ${id} did not finish: ${reply.text}`);
        await sleep(100);
      }
    }

    it("toggle disables and enables a job (toggle_cron_job)", async () => {
      const off = await call(base(), "POST", "/api/admin/cron-jobs/demo-pulse/toggle", { headers: withOrigin(), body: { enabled: false } });
      expect(off.status, off.text).toBe(200);
      expect(off.body).toMatchObject({ success: true, jobName: "demo-pulse", enabled: false });
      expect(await config("demo-pulse")).toMatchObject({ enabled: false, last_modified_by: "admin" });
      expect(await lastAudit("job.disable")).toEqual({ actor: "admin", action: "job.disable", target: "demo-pulse", detail: { enabled: false, via: "cookie" }, ip_address: CLIENT_IP });
      const on = await call(base(), "POST", "/api/admin/cron-jobs/demo-pulse/toggle", { headers: BEARER, body: { enabled: true } });
      expect(on.status).toBe(200);
      expect(await config("demo-pulse")).toMatchObject({ enabled: true, last_modified_by: "api-token" });
      // next start fills x-forwarded-for with the socket address when no proxy sent one.
      expect(await lastAudit("job.enable")).toMatchObject({ actor: "api-token", target: "demo-pulse", ip_address: "127.0.0.1" });
    });

    it("pause with a note, resume, pause-all and resume-all", async () => {
      const pause = await call(base(), "POST", "/api/admin/cron-jobs/demo-flaky/pause", { headers: withOrigin(), body: { note: "upstream maintenance" } });
      expect(pause.body).toMatchObject({ success: true, paused: true, changed: true });
      expect(await config("demo-flaky")).toMatchObject({ paused: true, paused_reason: "upstream maintenance" });
      expect((await config("demo-flaky")).paused_at).not.toBeNull();
      expect(await lastAudit("job.pause")).toMatchObject({ target: "demo-flaky", detail: { note: "upstream maintenance", changed: true } });
      // A scheduled trigger of a paused job is a skip.
      const skipped = await call(base(), "POST", "/api/cron/execute/demo-flaky?trigger=schedule", { headers: { authorization: `Bearer ${CRON_SECRET}` } });
      expect(skipped.body).toMatchObject({ skipped: true, reason: "paused" });
      const resume = await call(base(), "POST", "/api/admin/cron-jobs/demo-flaky/resume", { headers: withOrigin(), body: { note: "back" } });
      expect(resume.body).toMatchObject({ success: true, paused: false, changed: true });
      expect(await config("demo-flaky")).toMatchObject({ paused: false, paused_reason: null, paused_at: null });
      expect(await lastAudit("job.resume")).toMatchObject({ target: "demo-flaky", detail: { note: "back" } });

      const all = await call(base(), "POST", "/api/admin/cron-jobs/pause-all", { headers: withOrigin(), body: { note: "freeze" } });
      const every = serverJobs({ demo: true });
      expect(all.body).toMatchObject({ success: true, paused: true, count: every.count });
      expect((await q(`SELECT job_name FROM cron_job_config WHERE paused ORDER BY job_name`)).map((r) => r.job_name)).toEqual(every.names);
      expect([...(await lastAudit("job.pause_all")).detail.jobs].sort()).toEqual(every.names);
      const back = await call(base(), "POST", "/api/admin/cron-jobs/resume-all", { headers: BEARER });
      expect(back.body).toMatchObject({ success: true, paused: false, count: every.count });
      expect((await q(`SELECT count(*)::int AS n FROM cron_job_config WHERE paused`))[0].n).toBe(0);
      expect(await lastAudit("job.resume_all")).toMatchObject({ actor: "api-token" });
    });

    it("run now answers 202 with the execution id, then the run happens as a manual trigger by the admin", async () => {
      const reply = await call(base(), "POST", "/api/admin/cron-jobs/demo-pulse/run", { headers: withOrigin() });
      expect(reply.status, reply.text).toBe(202);
      expect(reply.body).toMatchObject({ success: true, jobName: "demo-pulse", executionId: expect.stringMatching(UUID_RE), message: expect.any(String), note: expect.any(String) });
      const run = await waitForRun(reply.body.executionId);
      expect(run).toMatchObject({ id: reply.body.executionId, jobName: "demo-pulse", status: "completed", trigger: "manual", actor: "admin", scheduledFor: null });
      expect(run.logLines.length).toBeGreaterThan(0);
      expect(await lastAudit("job.run")).toMatchObject({ actor: "admin", target: "demo-pulse", ip_address: CLIENT_IP, detail: { executionId: reply.body.executionId } });
    });

    it("run now with the same Idempotency-Key twice, even at once, starts one run and answers its id both times", async () => {
      const key = `click-${process.pid}-${Date.now()}`;
      const headers = { ...withOrigin(), "idempotency-key": key };
      const audits = async () => (await q(`SELECT detail ->> 'executionId' AS id FROM cron_audit_log WHERE action = 'job.run' AND detail ->> 'idempotencyKey' = $1`, [key])).map((r) => r.id);
      // Two at once: one of them writes the audit row and starts the run, the other answers with it.
      const [a, b] = await Promise.all([call(base(), "POST", "/api/admin/cron-jobs/demo-pulse/run", { headers }), call(base(), "POST", "/api/admin/cron-jobs/demo-pulse/run", { headers })]);
      const [first, again] = a.status === 202 ? [a, b] : [b, a];
      expect(first.status, first.text).toBe(202);
      expect(again.status, again.text).toBe(200);
      expect(again.body).toMatchObject({ success: true, duplicate: true, jobName: "demo-pulse", executionId: first.body.executionId });
      expect(again.body.message).toMatch(/nothing new was started/);
      await waitForRun(first.body.executionId);
      // Later, the same key still names that run; a new key is a new ask.
      const later = await call(base(), "POST", "/api/admin/cron-jobs/demo-pulse/run", { headers });
      expect(later.body).toMatchObject({ duplicate: true, executionId: first.body.executionId });
      expect(await audits()).toEqual([first.body.executionId]);
      expect((await q(`SELECT count(*)::int AS n FROM cron_job_logs WHERE dedupe_key = $1`, [`key:${key}`]))[0].n).toBe(1);
      const other = await call(base(), "POST", "/api/admin/cron-jobs/demo-pulse/run", { headers: { ...withOrigin(), "idempotency-key": `${key}-2` } });
      expect(other.status, other.text).toBe(202);
      expect(other.body.executionId).not.toBe(first.body.executionId);
      await waitForRun(other.body.executionId);
    });

    it("a run's progress names why it was skipped", async () => {
      const [{ id }] = await q(`INSERT INTO cron_job_logs (job_name, status, skip_reason, started_at, completed_at, trigger) VALUES ('demo-pulse', 'skipped', 'already_running', now(), now(), 'manual') RETURNING id`);
      const reply = await call(base(), "GET", `/api/admin/runs/${id}/progress`, { headers: BEARER });
      expect(reply.status, reply.text).toBe(200);
      expect(reply.body.progress).toMatchObject({ status: "skipped", skipReason: "already_running" });
    });

    it("recover clears the dead-letter pause and the failure counters", async () => {
      await q(`INSERT INTO cron_job_config (job_name, dead_lettered, dead_letter_reason, consecutive_failures, consecutive_dead_letters) VALUES ('demo-stubborn', true, 'paused after 3', 3, 3)
               ON CONFLICT (job_name) DO UPDATE SET dead_lettered = true, consecutive_failures = 3, consecutive_dead_letters = 3`);
      const reply = await call(base(), "POST", "/api/admin/cron-jobs/demo-stubborn/recover", { headers: withOrigin() });
      expect(reply.status, reply.text).toBe(200);
      expect(reply.body).toMatchObject({ success: true, wasDeadLettered: true });
      expect(await config("demo-stubborn")).toMatchObject({ dead_lettered: false, consecutive_failures: 0, consecutive_dead_letters: 0, last_modified_by: "admin" });
      expect(await lastAudit("job.recover")).toMatchObject({ target: "demo-stubborn", detail: { wasDeadLettered: true } });
    });

    it("retry replays a dead letter for its original slot after the response; a settled entry answers 409", async () => {
      const reply = await call(base(), "POST", `/api/admin/dead-letter-queue/${ids.dlqPulse}/retry`, { headers: withOrigin() });
      expect(reply.status, reply.text).toBe(202);
      expect(reply.body).toMatchObject({ success: true, id: ids.dlqPulse, jobName: "demo-pulse", replayCount: 1, executionId: expect.stringMatching(UUID_RE) });
      const run = await waitForRun(reply.body.executionId);
      expect(run).toMatchObject({ status: "completed", trigger: "replay", replayOf: ids.failedPulseRun, scheduledFor: ids.slot, actor: "admin" });
      const [entry] = await q(`SELECT recovery_status, replay_count, last_replay_run_id FROM cron_dead_letters WHERE id = $1`, [ids.dlqPulse]);
      expect(entry).toEqual({ recovery_status: "replayed", replay_count: 1, last_replay_run_id: reply.body.executionId });
      expect(await lastAudit("dead_letter.retry")).toMatchObject({ target: ids.dlqPulse, detail: { runId: ids.failedPulseRun, executionId: reply.body.executionId } });
      const again = await call(base(), "POST", `/api/admin/dead-letter-queue/${ids.dlqPulse}/retry`, { headers: BEARER });
      expect(again.status).toBe(409);
      expect(again.body).toMatchObject({ code: "not_pending" });
    });

    it("notes, then mark-failed; a second mark-failed answers 409", async () => {
      const notes = await call(base(), "PUT", `/api/admin/dead-letter-queue/${ids.dlqFlaky}/notes`, { headers: withOrigin(), body: { notes: "vendor ticket 42", assignedTo: "sam", priority: "high" } });
      expect(notes.status, notes.text).toBe(200);
      expect(notes.body.entry).toMatchObject({ notes: "vendor ticket 42", assignedTo: "sam", priority: "high" });
      expect(await lastAudit("dead_letter.notes")).toMatchObject({ target: ids.dlqFlaky, detail: { notes: "vendor ticket 42", assignedTo: "sam", priority: "high" } });
      const failed = await call(base(), "POST", `/api/admin/dead-letter-queue/${ids.dlqFlaky}/mark-failed`, { headers: withOrigin(), body: { reason: "the vendor retired this API" } });
      expect(failed.status, failed.text).toBe(200);
      expect(failed.body.entry).toMatchObject({ recoveryStatus: "permanently_failed" });
      expect(failed.body.entry.notes).toContain("marked permanently failed by admin: the vendor retired this API");
      expect(await lastAudit("dead_letter.mark_failed")).toMatchObject({ target: ids.dlqFlaky, detail: { reason: "the vendor retired this API" } });
      const again = await call(base(), "POST", `/api/admin/dead-letter-queue/${ids.dlqFlaky}/mark-failed`, { headers: BEARER, body: { reason: "again" } });
      expect(again.status).toBe(409);
    });

    it("clears a stale lock (run abandoned, lease gone); a live one only with force", async () => {
      const cleared = await call(base(), "DELETE", "/api/admin/locks/demo-slow", { headers: withOrigin() });
      expect(cleared.status, cleared.text).toBe(200);
      expect(cleared.body).toMatchObject({ success: true, jobName: "demo-slow", runId: ids.staleRun, wasStale: true, runAbandoned: true });
      expect(await q(`SELECT * FROM cron_job_leases WHERE job_name = 'demo-slow'`)).toEqual([]);
      const [run] = await q(`SELECT status, error_message, completed_at FROM cron_job_logs WHERE id = $1`, [ids.staleRun]);
      expect(run.status).toBe("abandoned");
      expect(run.error_message).toMatch(/^cleared by admin: the lease of holder dead-host:1/);
      expect(await lastAudit("lock.clear")).toMatchObject({ actor: "admin", target: "demo-slow", ip_address: CLIENT_IP, detail: { runId: ids.staleRun, wasStale: true } });

      const live = await call(base(), "DELETE", "/api/admin/locks/demo-stubborn", { headers: BEARER });
      expect(live.status).toBe(409);
      expect(live.body).toMatchObject({ code: "lock_live" });
      expect((await q(`SELECT count(*)::int AS n FROM cron_job_leases WHERE job_name = 'demo-stubborn'`))[0].n).toBe(1);
      const forced = await call(base(), "DELETE", "/api/admin/locks/demo-stubborn?force=true", { headers: BEARER });
      expect(forced.status, forced.text).toBe(200);
      expect(forced.body).toMatchObject({ wasStale: false, runAbandoned: true });
      expect((await q(`SELECT status FROM cron_job_logs WHERE id = $1`, [ids.liveRun]))[0].status).toBe("abandoned");
      expect(await lastAudit("lock.clear")).toMatchObject({ actor: "api-token", target: "demo-stubborn", detail: { forced: true } });
    });

    it("every action left exactly the audit rows it should, and no GET wrote any", async () => {
      const rows = await q(`SELECT action, count(*)::int AS n FROM cron_audit_log GROUP BY action ORDER BY action`);
      const counts = Object.fromEntries(rows.map((r) => [r.action, r.n]));
      expect(counts).toMatchObject({
        "job.disable": 1,
        "job.enable": 1,
        "job.pause": 1,
        "job.resume": 1,
        "job.pause_all": 1,
        "job.resume_all": 1,
        // Run now once, then once per Idempotency-Key (two keys; the key's repeats wrote nothing).
        "job.run": 3,
        "job.recover": 1,
        "dead_letter.retry": 1,
        "dead_letter.notes": 1,
        "dead_letter.mark_failed": 1,
        "lock.clear": 2,
        "session.logout": 1,
      });
    });
  });
});

describe("admin API without ADMIN_TOKEN", () => {
  let database: AppDatabase;
  let server: NextServer;
  beforeAll(async () => {
    database = await createAppDatabase();
    server = await startNextServer({ env: { ...database.env, ADMIN_TOKEN: undefined, CRON_SECRET, CRON_DEMO: "1" } });
  });
  afterAll(async () => {
    await server?.stop();
    await database?.dispose();
  });

  it("refuses everyone with 503 admin_not_configured, saying how to set it", async () => {
    for (const [method, path, headers] of [
      ["GET", "/api/admin/cron-jobs", {}],
      ["GET", "/api/admin/cron-jobs", { authorization: "Bearer anything-at-all-here" }],
      ["POST", "/api/admin/cron-jobs/demo-pulse/run", { origin: server.url }],
      ["POST", "/api/admin/session", { origin: server.url }],
      ["DELETE", "/api/admin/locks/demo-pulse", {}],
    ] as const) {
      const reply = await call(server.url, method, path, { headers: { ...headers }, body: method === "POST" ? { token: "x" } : undefined });
      expect(reply.status, `${method} ${path}`).toBe(503);
      expect(reply.body).toMatchObject({ success: false, code: "admin_not_configured" });
      expect(reply.body.error).toMatch(/ADMIN_TOKEN/);
      expect(reply.body.error).toMatch(/openssl rand -hex 32/);
    }
  });
});
