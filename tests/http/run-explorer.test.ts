import { randomBytes, randomUUID } from "node:crypto";
import { parse as parseCsv } from "csv-parse/sync";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { rawRequest, type RawReply } from "../support/http";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/db";
import { startNextServer, type NextServer } from "../support/next-server";

/**
 * The run explorer over HTTP against `next start` on the Postgres server: GET /api/admin/runs
 * pages through a filter by cursor, forwards and back, to the same runs the table holds; the
 * export streams the filtered runs as CSV (read back with a real CSV parser: quotes, commas
 * and line breaks in an error survive; a formula does not run) and as JSON, cut at `max` with
 * the cursor that continues it; every bad parameter is a 400 naming it; no session, no runs.
 */

const ADMIN_TOKEN = `admin-${randomBytes(24).toString("hex")}`;
const CRON_SECRET = `cron-${randomBytes(24).toString("hex")}`;
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };
const AWKWARD = 'upstream said "no", then: a, b\nsecond line';
const FORMULA = '=HYPERLINK("http://attacker.example","click")';

describeWithPostgres("the run explorer over HTTP", () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let server: NextServer;
  const q = async (text: string, params: unknown[] = []) => (await pool.query(text, params)).rows;
  const get = (path: string): Promise<RawReply> => rawRequest(server.url, "GET", path, { headers: ADMIN });
  /** The ids the table holds for job `job` (and `status`), newest first, as the explorer orders them. */
  const ids = async (where: string, params: unknown[]) =>
    (await q(`SELECT id FROM cron_job_logs WHERE ${where} ORDER BY started_at DESC, id DESC`, params)).map((r) => r.id as string);

  beforeAll(async () => {
    database = await createTestDatabase("postgres", { migrate: false });
    pool = new pg.Pool({ connectionString: database.url, max: 3 });
    server = await startNextServer({ env: { DATABASE_URL: database.url, ADMIN_TOKEN, CRON_SECRET, CRON_DEMO: "1" } });
    const warm = await get("/api/admin/runs");
    expect(warm.status, warm.text).toBe(200);
    // 90 runs of two jobs a minute apart (every third failed), some sharing a start; two with awkward errors.
    const rows = Array.from({ length: 90 }, (_, k) => ({
      id: randomUUID(),
      job: k % 2 ? "explore-http-a" : "explore-http-b",
      status: k % 3 === 0 ? "failed" : "completed",
      at: new Date(Date.UTC(2026, 10, 20, 12, 0, 0) - Math.floor(k / 2) * 60_000).toISOString(),
      error: k === 3 ? AWKWARD : k === 9 ? FORMULA : k % 3 === 0 ? `failure ${k}` : null,
    }));
    await q(
      `INSERT INTO cron_job_logs (id, job_name, status, trigger, started_at, completed_at, duration_ms, error_message)
       SELECT (r->>'id')::uuid, r->>'job', r->>'status', 'schedule', (r->>'at')::timestamptz, (r->>'at')::timestamptz + interval '2 seconds', 2000, r->>'error'
       FROM jsonb_array_elements($1::jsonb) r`,
      [JSON.stringify(rows)],
    );
  });

  afterAll(async () => {
    await server?.stop();
    await pool?.end();
    await database?.dispose();
  });

  it("pages a filter by cursor to exactly the runs the table holds, and back", async () => {
    const want = await ids("job_name = $1 AND status = 'failed'", ["explore-http-a"]);
    expect(want.length).toBeGreaterThan(10);
    const pages: string[][] = [];
    let path = "/api/admin/runs?job=explore-http-a&status=failed&limit=4";
    for (;;) {
      const reply = await get(path);
      expect(reply.status, reply.text).toBe(200);
      expect(reply.body).toMatchObject({ success: true, limit: 4 });
      pages.push(reply.body.runs.map((r: { id: string; jobName: string; status: string }) => (expect(r).toMatchObject({ jobName: "explore-http-a", status: "failed" }), r.id)));
      if (!reply.body.nextCursor) break;
      path = `/api/admin/runs?job=explore-http-a&status=failed&limit=4&after=${reply.body.nextCursor}`;
    }
    expect(pages.flat()).toEqual(want);
    // Back one page from the last: the page before it.
    const last = await get(path);
    const back = await get(`/api/admin/runs?job=explore-http-a&status=failed&limit=4&before=${last.body.prevCursor}`);
    expect(back.body.runs.map((r: { id: string }) => r.id)).toEqual(pages[pages.length - 2]);
  });

  it("exports the filter as CSV that a CSV parser reads back exactly, formulas defused", async () => {
    const reply = await get("/api/admin/runs/export?job=explore-http-a,explore-http-b&format=csv");
    expect(reply.status, reply.text).toBe(200);
    expect(reply.contentType).toMatch(/^text\/csv/);
    expect(String(reply.headers["content-disposition"])).toMatch(/^attachment; filename="crondeck-runs-\d{8}T\d{6}Z\.csv"$/);
    const [header, ...records] = parseCsv(reply.text) as string[][];
    expect(header).toEqual(["id", "job_name", "status", "skip_reason", "trigger", "scheduled_for", "started_at", "completed_at", "duration_ms", "attempts", "actor", "replay_of", "holder", "error"]);
    expect(records.map((r) => r[0])).toEqual(await ids("job_name LIKE 'explore-http-%'", []));
    const errors = records.map((r) => r[13]);
    expect(errors).toContain(AWKWARD);
    expect(errors).toContain(`'${FORMULA}`);
    expect(records.find((r) => r[13] === AWKWARD)).toEqual(expect.arrayContaining(["failed", "schedule", "2000"]));
  });

  it("exports JSON cut at max with the cursor that continues it", async () => {
    const all = await ids("job_name = 'explore-http-b'", []);
    const head = await get("/api/admin/runs/export?job=explore-http-b&format=json&max=7");
    expect(head.status, head.text).toBe(200);
    expect(head.body).toMatchObject({ success: true, truncated: true });
    expect(head.body.runs.map((r: { id: string }) => r.id)).toEqual(all.slice(0, 7));
    const rest = await get(`/api/admin/runs/export?job=explore-http-b&format=json&after=${head.body.nextCursor}`);
    expect(rest.body).toMatchObject({ success: true, truncated: false, nextCursor: null });
    expect(rest.body.runs.map((r: { id: string }) => r.id)).toEqual(all.slice(7));
  });

  it("answers a bad parameter with a 400 naming it, and no session with a 401", async () => {
    const cases: Array<[string, string]> = [
      ["/api/admin/runs?status=broken", "status"],
      ["/api/admin/runs?after=not-a-cursor", "after"],
      ["/api/admin/runs?limit=0", "limit"],
      ["/api/admin/runs?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", "to"],
      ["/api/admin/runs?id=zz", "id"],
      ["/api/admin/runs/export?format=xml", "format"],
      ["/api/admin/runs/export?max=0", "max"],
      ["/api/admin/runs/export?before=" + Buffer.from(`2026-11-20T12:00:00Z|${randomUUID()}`).toString("base64url"), "before"],
    ];
    for (const [path, field] of cases) {
      const reply = await get(path);
      expect({ path, status: reply.status }).toEqual({ path, status: 400 });
      expect(reply.body).toMatchObject({ success: false });
      expect(JSON.stringify(reply.body)).toContain(field);
      expect(reply.text).not.toMatch(/at \w+ \(|node_modules/);
    }
    for (const path of ["/api/admin/runs", "/api/admin/runs/export"]) {
      const reply = await rawRequest(server.url, "GET", path);
      expect(reply.status).toBe(401);
      expect(reply.text).not.toContain("explore-http");
    }
  });
});
