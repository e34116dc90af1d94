import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { rawRequest, type RawReply } from "../support/http";
import { createTestDatabase, describeEachKind, type TestDatabase } from "../support/db";
import { startNextServer, type NextServer } from "../support/next-server";

/**
 * A NUL byte (which Postgres text and jsonb cannot store: it answered 500) or another control
 * character in any free-text input, body or query, over real HTTP: 400 naming the field, and
 * nothing changed. On the embedded database (always) and on the Postgres server (when one
 * answers), where the tables themselves are compared before and after.
 */

const ADMIN_TOKEN = randomBytes(32).toString("hex");
const CRON_SECRET = randomBytes(32).toString("hex");
const BEARER = { authorization: `Bearer ${ADMIN_TOKEN}` };
const JOB = "cleanup-old-logs";

describeEachKind("control characters in text inputs", (kind) => {
  let server: NextServer;
  let database: TestDatabase | undefined;
  let pool: pg.Pool | undefined;
  let dataDir: string | undefined;
  let cookie = "";
  /** A dead-letter entry to aim at (Postgres, seeded); on PGlite an id nobody has (the check comes before the lookup). */
  let entryId = "0b7c3f5e-8a1d-4c2b-9e6f-1a2b3c4d5e6f";

  const call = (method: string, path: string, opts: { body?: string | object; headers?: Record<string, string> } = {}): Promise<RawReply> =>
    rawRequest(server.url, method, path, { headers: { ...BEARER, ...opts.headers }, body: opts.body });

  /** What a refused request must not change: the tables on Postgres, what the API shows on PGlite. */
  async function snapshot(): Promise<unknown> {
    if (pool) {
      const q = async (text: string) => (await pool!.query(text)).rows;
      return {
        logs: await q("SELECT * FROM cron_job_logs ORDER BY id"),
        config: await q("SELECT * FROM cron_job_config ORDER BY job_name"),
        deadLetters: await q("SELECT * FROM cron_dead_letters ORDER BY id"),
        audit: await q("SELECT * FROM cron_audit_log ORDER BY id"),
      };
    }
    const jobs = await call("GET", "/api/admin/cron-jobs");
    const deadLetters = await call("GET", "/api/admin/dead-letter-queue?limit=200");
    const history = await call("GET", `/api/admin/cron-jobs/${JOB}/history?limit=500`);
    return { jobs: jobs.body.jobs, summary: jobs.body.summary, deadLetters: deadLetters.body.entries, history: history.body.history };
  }

  beforeAll(async () => {
    const env: Record<string, string> = { ADMIN_TOKEN, CRON_SECRET };
    if (kind === "postgres") {
      database = await createTestDatabase("postgres", { migrate: false });
      pool = new pg.Pool({ connectionString: database.url, max: 2 });
      env.DATABASE_URL = database.url!;
    } else {
      dataDir = mkdtempSync(join(tmpdir(), "crondeck-nul-"));
      env.PGLITE_DIR = dataDir;
    }
    server = await startNextServer({ env });
    const warm = await call("GET", "/api/admin/cron-jobs");
    expect(warm.status, warm.text).toBe(200);
    if (pool) {
      const [{ id: runId }] = (await pool.query(`INSERT INTO cron_job_logs (job_name, status, completed_at, duration_ms, error_message) VALUES ($1, 'failed', now(), 10, 'disk full') RETURNING id`, [JOB])).rows;
      [{ id: entryId }] = (await pool.query(`INSERT INTO cron_dead_letters (run_id, job_name, failure_reason) VALUES ($1, $2, 'disk full') RETURNING id`, [runId, JOB])).rows;
    }
    const login = await rawRequest(server.url, "POST", "/api/admin/session", { headers: { origin: server.url }, body: { token: ADMIN_TOKEN } });
    expect(login.status, login.text).toBe(200);
    cookie = login.setCookie[0].split(";")[0];
  });

  afterAll(async () => {
    await server?.stop();
    await pool?.end();
    await database?.dispose();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** Each free-text input with a bad value, and the field the 400 must name. */
  const bodyCases = () => [
    { path: `/api/admin/cron-jobs/${JOB}/pause`, method: "POST", body: { note: "maintenance\u0000" }, field: "note" },
    { path: `/api/admin/cron-jobs/${JOB}/pause`, method: "POST", body: { note: "\u0000" }, field: "note" },
    { path: `/api/admin/cron-jobs/${JOB}/resume`, method: "POST", body: { note: "back\u0000on" }, field: "note" },
    { path: "/api/admin/cron-jobs/pause-all", method: "POST", body: { note: "freeze \u0000" }, field: "note" },
    { path: "/api/admin/cron-jobs/resume-all", method: "POST", body: { note: "\u0000thaw" }, field: "note" },
    { path: `/api/admin/cron-jobs/${JOB}/recover`, method: "POST", body: { note: "fixed\u0000" }, field: "note" },
    { path: `/api/admin/cron-jobs/${JOB}/toggle`, method: "POST", body: { enabled: "\u0000" }, field: "enabled" },
    { path: `/api/admin/dead-letter-queue/${entryId}/mark-failed`, method: "POST", body: { reason: "obsolete\u0000, drop it" }, field: "reason" },
    { path: `/api/admin/dead-letter-queue/${entryId}/notes`, method: "PUT", body: { notes: "looked at it\u0000" }, field: "notes" },
    { path: `/api/admin/dead-letter-queue/${entryId}/notes`, method: "PUT", body: { notes: "ok", assignedTo: "sam\u0000" }, field: "assignedTo" },
    // Other control characters: a terminal escape, a backspace, DEL.
    { path: `/api/admin/dead-letter-queue/${entryId}/notes`, method: "PUT", body: { notes: "\u001b[2Jcleared your terminal" }, field: "notes" },
    { path: `/api/admin/dead-letter-queue/${entryId}/mark-failed`, method: "POST", body: { reason: "looks fine\u0008\u0008\u0008\u0008bad" }, field: "reason" },
    { path: `/api/admin/cron-jobs/${JOB}/pause`, method: "POST", body: { note: "x\u007f" }, field: "note" },
    // A line break in a one-line field.
    { path: `/api/admin/cron-jobs/${JOB}/pause`, method: "POST", body: { note: "first line\nsecond line" }, field: "note" },
    { path: `/api/admin/dead-letter-queue/${entryId}/notes`, method: "PUT", body: { assignedTo: "sam\r\nX-Injected: 1" }, field: "assignedTo" },
    // A NUL in a field's name, and deep inside a value.
    { path: `/api/admin/cron-jobs/${JOB}/pause`, method: "POST", body: { "no\u0000te": "x" }, field: "body" },
    { path: `/api/admin/cron-jobs/${JOB}/run`, method: "POST", body: { a: [{ b: "\u0000" }] }, field: "a.0.b" },
    // The login: a NUL in the token is not a wrong token but a malformed one.
    { path: "/api/admin/session", method: "POST", body: { token: `${ADMIN_TOKEN}\u0000` }, field: "token", login: true },
  ];

  const queryCases = () => [
    { path: "/api/admin/cron-jobs?search=nightly%00", field: "search" },
    { path: "/api/admin/cron-jobs?search=a%0Ab", field: "search" },
    { path: "/api/admin/cron-jobs?category=%00", field: "category" },
    { path: "/api/admin/cron-jobs?state=%00paused", field: "state" },
    { path: `/api/admin/cron-jobs/${JOB}/history?status=failed%00`, field: "status" },
    { path: "/api/admin/dead-letter-queue?jobName=x%00", field: "jobName" },
    { path: "/api/admin/dead-letter-queue?status=%1b", field: "status" },
    { path: "/api/admin/statistics?hours=1%00", field: "hours" },
    { path: `/api/admin/locks/${JOB}?force=true%00`, field: "force", method: "DELETE" },
    { path: "/api/admin/cron-jobs?x%00=1", field: "query" },
  ];

  it("answers 400 naming the field for each free-text body field, and changes nothing", async () => {
    const before = await snapshot();
    for (const c of bodyCases()) {
      const body = JSON.stringify(c.body);
      const reply = "login" in c ? await rawRequest(server.url, c.method, c.path, { headers: { origin: server.url }, body }) : await call(c.method, c.path, { body });
      const label = `${c.method} ${c.path} ${JSON.stringify(c.body)}`;
      expect(reply.status, `${label}: ${reply.text}`).toBe(400);
      expect(reply.body, label).toMatchObject({ success: false, field: c.field });
      expect(reply.body.error, label).toMatch(new RegExp(`^${c.field.replace(/\./g, "\\.")}: `));
      expect(reply.text, label).not.toMatch(/\bat .+:\d+:\d+\)|node_modules|invalid byte sequence/);
    }
    expect(await snapshot()).toEqual(before);
  });

  it("answers 400 naming the parameter for each query parameter, and changes nothing", async () => {
    const before = await snapshot();
    for (const c of queryCases()) {
      const reply = await call(c.method ?? "GET", c.path);
      expect(reply.status, `${c.path}: ${reply.text}`).toBe(400);
      expect(reply.body, c.path).toMatchObject({ success: false, code: "invalid_query", field: c.field });
    }
    expect(await snapshot()).toEqual(before);
  });

  it("refuses a NUL in the execute route's query before anything runs", async () => {
    const before = await snapshot();
    for (const [query, field] of [
      ["slot=2026-03-01T03:00:00Z%00", "slot"],
      ["trigger=manual%00", "trigger"],
      ["trigger=retry&run=0b7c3f5e-8a1d-4c2b-9e6f-1a2b3c4d5e6f%00", "run"],
    ]) {
      const reply = await rawRequest(server.url, "POST", `/api/cron/execute/${JOB}?${query}`, { headers: { authorization: `Bearer ${CRON_SECRET}` } });
      expect(reply.status, `${query}: ${reply.text}`).toBe(400);
      expect(reply.body, query).toMatchObject({ success: false, field });
    }
    expect(await snapshot()).toEqual(before);
  });

  it("the dashboard drops a search with a NUL instead of failing the page", async () => {
    const page = await rawRequest(server.url, "GET", "/dashboard/admin/cron-jobs?q=nightly%00&category=%00", { headers: { cookie } });
    expect(page.status, page.text.slice(0, 500)).toBe(200);
    expect(page.text).toContain(JOB);
  });

  it("still takes tabs and line breaks in multi-line text (notes, reasons), and stores them", async () => {
    const notes = "line one\n\tline two\r\nline three";
    const reply = await call("PUT", `/api/admin/dead-letter-queue/${entryId}/notes`, { body: JSON.stringify({ notes }) });
    if (kind === "pglite") {
      // No entry to write to on the embedded database: the text got past the check to the lookup.
      expect(reply.status, reply.text).toBe(404);
      return;
    }
    expect(reply.status, reply.text).toBe(200);
    const [row] = (await pool!.query("SELECT notes FROM cron_dead_letters WHERE id = $1", [entryId])).rows;
    expect(row.notes).toBe(notes);
  });
});
