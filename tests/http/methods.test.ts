import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawRequest } from "../support/http";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/db";
import { startNextServer, type NextServer } from "../support/next-server";

/**
 * Only GET and POST run anything on the cron routes. Next.js answers HEAD with the GET handler
 * unless a route exports its own, which made a HEAD (a monitor, a link checker) run the job.
 * Every other method answers 405 with `Allow: GET, POST` and, except HEAD, a JSON error with a
 * stable code; the run log does not change. Real HTTP against `next start` on a Postgres server.
 */
const SECRET = `crondeck-${randomBytes(24).toString("hex")}`;
const AUTH = { authorization: `Bearer ${SECRET}` };
const OTHER_METHODS = ["HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
const ROUTES = ["/api/cron/execute/health-check", "/api/cron/tick"];

describeWithPostgres("methods other than GET and POST on the cron routes", () => {
  let database: TestDatabase;
  let server: NextServer;
  let pool: pg.Pool;
  const runRows = async () => Number((await pool.query("SELECT count(*)::int AS n FROM cron_job_logs")).rows[0].n);

  beforeAll(async () => {
    database = await createTestDatabase("postgres");
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    server = await startNextServer({ env: { DATABASE_URL: database.url, CRON_SECRET: SECRET } });
  });
  afterAll(async () => {
    await server?.stop();
    await pool?.end();
    await database?.dispose();
  });

  for (const route of ROUTES) {
    for (const method of OTHER_METHODS) {
      it(`${method} ${route} answers 405 with Allow: GET, POST and runs nothing`, async () => {
        const before = await runRows();
        const reply = await rawRequest(server.url, method, route, { headers: AUTH });
        expect(reply.status).toBe(405);
        expect(reply.headers.allow).toBe("GET, POST");
        if (method === "HEAD") {
          expect(reply.text).toBe("");
        } else {
          expect(reply.contentType).toMatch(/^application\/json/);
          expect(reply.body).toMatchObject({ success: false, code: "method_not_allowed", details: { allowed: ["GET", "POST"] } });
          expect(reply.body.error).toContain("GET or POST");
        }
        // Nothing was claimed, skipped or recorded.
        expect(await runRows()).toBe(before);
      });
    }
  }

  it("still runs the job on GET and POST (one row each)", async () => {
    const before = await runRows();
    const get = await rawRequest(server.url, "GET", "/api/cron/execute/health-check", { headers: AUTH });
    // health-check completes (200) or fails (500, e.g. no lock store here); either way it ran as the schedule.
    expect([200, 500]).toContain(get.status);
    expect(get.body.execution?.id ?? get.body.code).toBeTruthy();
    expect(get.body.execution.trigger).toBe("schedule");
    const post = await rawRequest(server.url, "POST", "/api/cron/execute/health-check", { headers: AUTH });
    expect(post.body.execution.trigger).toBe("manual");
    expect(await runRows()).toBe(before + 2);
  });

  it("answers 405 to HEAD even without credentials, and never runs the job", async () => {
    const before = await runRows();
    const reply = await rawRequest(server.url, "HEAD", "/api/cron/execute/health-check");
    expect(reply.status).toBe(405);
    expect(reply.headers.allow).toBe("GET, POST");
    expect(await runRows()).toBe(before);
  });
});
