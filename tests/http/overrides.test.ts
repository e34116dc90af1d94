import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { rawRequest, type RawReply } from "../support/http";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/db";
import { startNextServer, type NextServer } from "../support/next-server";

/**
 * Run-time overrides over real HTTP (`next start`, the overrides tests' jobs with
 * CRONDECK_FEATURE_JOBS=1, a database of the Postgres server): a refused request changes nothing
 * (snapshot), an override takes effect on the next trigger through the execute route (a 2 s job
 * under its code's 1 s timeout, then under 4 s), GET shows code/override/effective, DELETE reverts.
 */

const ADMIN_TOKEN = `admin-${randomBytes(24).toString("hex")}`;
const CRON_SECRET = `cron-${randomBytes(24).toString("hex")}`;
const BEARER = { authorization: `Bearer ${ADMIN_TOKEN}` };
const PATH = "/api/admin/cron-jobs/feature-override-slow/overrides";

function call(base: string, method: string, path: string, opts: { headers?: Record<string, string>; body?: unknown; raw?: string } = {}): Promise<RawReply> {
  const json: Record<string, string> = opts.body !== undefined || opts.raw !== undefined ? { "content-type": "application/json" } : {};
  return rawRequest(base, method, path, { headers: { ...json, ...opts.headers }, body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)) });
}

describeWithPostgres("run-time overrides over HTTP [postgres]", () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let server: NextServer;
  let cookie: string;
  const base = () => server.url;
  const q = async (text: string) => (await pool.query(text)).rows;
  const snapshot = async () => ({
    config: await q("SELECT * FROM cron_job_config ORDER BY job_name"),
    audit: await q("SELECT id, action FROM cron_audit_log ORDER BY id"),
    logs: await q("SELECT id, status FROM cron_job_logs ORDER BY id"),
  });
  const execute = async () => {
    const reply = await call(base(), "POST", "/api/cron/execute/feature-override-slow", { headers: { authorization: `Bearer ${CRON_SECRET}` } });
    return JSON.parse(reply.text) as { execution: { status: string } };
  };

  beforeAll(async () => {
    database = await createTestDatabase("postgres", { migrate: false });
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    server = await startNextServer({ env: { DATABASE_URL: database.url, ADMIN_TOKEN, CRON_SECRET, CRONDECK_FEATURE_JOBS: "1" } });
    const warm = await call(base(), "GET", PATH, { headers: BEARER });
    expect(warm.status, warm.text).toBe(200);
    const login = await call(base(), "POST", "/api/admin/session", { headers: { origin: base() }, body: { token: ADMIN_TOKEN } });
    expect(login.status, login.text).toBe(200);
    cookie = login.setCookie[0].split(";")[0];
  }, 240_000);

  afterAll(async () => {
    await server?.stop();
    await pool?.end();
    await database?.dispose();
  });

  it("refuses bad documents, bad fields and bad callers with 4xx naming the field, and changes nothing", async () => {
    const before = await snapshot();
    const refused: Array<[string, string, { headers?: Record<string, string>; body?: unknown; raw?: string }, number, string | null, RegExp]> = [
      ["PATCH", PATH, { headers: BEARER, body: { timeout: "10" } }, 400, "timeout", /^job "feature-override-slow": timeout "10" is not a duration/],
      ["PATCH", PATH, { headers: BEARER, body: { timeout: "10m" } }, 400, "timeout", /longer than the execute route's maxDuration/],
      ["PATCH", PATH, { headers: BEARER, body: { retries: 11 } }, 400, "retries", /retries must be at most 10/],
      ["PATCH", PATH, { headers: BEARER, body: { alerts: { maxRuntime: "5s" } } }, 400, "alerts.maxRuntime", /not shorter than the timeout/],
      ["PATCH", PATH, { headers: BEARER, body: { enabled: false } }, 400, "enabled", /has unknown field\(s\) enabled/],
      ["PUT", PATH, { headers: BEARER, body: { schedule: "*/5 * * * *" } }, 400, "schedule", /only for jobs the tick dispatches/],
      ["PATCH", PATH, { headers: BEARER, body: {} }, 400, "overrides", /is empty/],
      ["PATCH", PATH, { headers: BEARER, raw: "{nope" }, 400, "body", /not valid JSON/],
      ["DELETE", `${PATH}?field=enabled`, { headers: BEARER }, 400, "field", /./],
      ["PATCH", "/api/admin/cron-jobs/no-such-job/overrides", { headers: BEARER, body: { retries: 1 } }, 404, null, /./],
      ["PATCH", PATH, { body: { retries: 1 } }, 401, null, /./],
      ["PATCH", PATH, { headers: { cookie }, body: { retries: 1 } }, 403, null, /./],
      ["POST", PATH, { headers: BEARER, body: { retries: 1 } }, 405, null, /./],
    ];
    for (const [method, path, opts, status, field, message] of refused) {
      const reply = await call(base(), method, path, opts);
      expect(reply.status, `${method} ${path} ${JSON.stringify(opts.body ?? opts.raw)}: ${reply.text}`).toBe(status);
      const body = JSON.parse(reply.text);
      expect(body.success).toBe(false);
      if (field) expect(body.field).toBe(field);
      expect(body.error).toMatch(message);
      expect(reply.text).not.toMatch(/at .*\.(ts|js):\d+/);
    }
    expect(await snapshot()).toEqual(before);
  });

  it("runs a 2 s job to completion under a timeout override, as its code's 1 s does not, and again not after the revert", async () => {
    expect((await execute()).execution.status).toBe("timed_out");

    const set = await call(base(), "PATCH", PATH, { headers: { cookie, origin: base() }, body: { timeout: "4s", retries: 1 } });
    expect(set.status, set.text).toBe(200);
    const view = JSON.parse(set.text);
    expect(view.fields.find((f: { field: string }) => f.field === "timeout")).toMatchObject({ code: "1s", override: "4s", effective: "4s", overridden: true });
    expect(view.setBy).toBe("admin");

    expect((await execute()).execution.status).toBe("completed");

    const got = JSON.parse((await call(base(), "GET", PATH, { headers: BEARER })).text);
    expect(got.overrides).toEqual({ timeout: "4s", retries: 1 });
    expect(got.fields.find((f: { field: string }) => f.field === "schedule")).toMatchObject({ overridable: false, reason: expect.stringMatching(/vercel\.json/) });
    const history = JSON.parse((await call(base(), "GET", "/api/admin/cron-jobs/feature-override-slow/history", { headers: BEARER })).text);
    expect(history.job.overrides).toEqual({ timeout: "4s", retries: 1 });

    const revertOne = await call(base(), "DELETE", `${PATH}?field=timeout`, { headers: BEARER });
    expect(JSON.parse(revertOne.text)).toMatchObject({ changed: true, overrides: { retries: 1 } });
    expect((await execute()).execution.status).toBe("timed_out");
    const revertAll = await call(base(), "DELETE", PATH, { headers: BEARER });
    expect(JSON.parse(revertAll.text)).toMatchObject({ changed: true, overrides: {} });

    const audit = await q("SELECT actor, action, detail FROM cron_audit_log WHERE target = 'feature-override-slow' AND action LIKE 'job.override%' ORDER BY id");
    expect(audit.map((a) => [a.actor, a.action, a.detail.fields])).toEqual([
      ["admin", "job.override", ["timeout", "retries"]],
      ["api-token", "job.override_revert", ["timeout"]],
      ["api-token", "job.override_revert", ["retries"]],
    ]);
  }, 60_000);
});
