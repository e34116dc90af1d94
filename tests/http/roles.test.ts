import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { appRoutes, fillRoute } from "../support/app-routes";
import { rawRequest, type RawReply } from "../support/http";
import { createAppDatabase, describeWithPostgres, type AppDatabase } from "../support/db";
import { startNextServer, type NextServer } from "../support/next-server";

/**
 * Roles and personal API tokens over HTTP against `next start` on the Postgres server. Every
 * state-changing method of every admin route (read from app/, so a route added tomorrow is
 * covered) refuses a viewer's token with 403 forbidden_role and changes nothing; every admin
 * GET answers it. An operator's token acts, and the audit row names the person and the token;
 * a token cannot be made with more than its maker's role, nor by a non-admin for someone else;
 * a revoked token is refused with 401; the secret is stored only as its hash.
 */

const ADMIN_TOKEN = `admin-${randomBytes(24).toString("hex")}`;
const CRON_SECRET = `cron-${randomBytes(24).toString("hex")}`;
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };
/** Routes a viewer may write to: ending their own session, their own tokens. */
const VIEWER_WRITES = new Set(["DELETE /api/admin/session", "POST /api/admin/tokens", "DELETE /api/admin/tokens/[id]"]);

describeWithPostgres("roles and personal API tokens over HTTP", () => {
  let database: AppDatabase;
  let pool: pg.Pool;
  let server: NextServer;
  const q = async (text: string, params: unknown[] = []) => (await pool.query(text, params)).rows;
  const call = (method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<RawReply> =>
    rawRequest(server.url, method, path, { headers: { "content-type": "application/json", ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
  const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
  const snapshot = async () => ({
    config: await q("SELECT job_name, enabled, paused FROM cron_job_config ORDER BY job_name"),
    runs: await q("SELECT count(*)::int AS n FROM cron_job_logs"),
    audit: await q("SELECT count(*)::int AS n FROM cron_audit_log"),
    tokens: await q("SELECT id, revoked_at FROM cron_api_tokens ORDER BY id"),
    leases: await q("SELECT count(*)::int AS n FROM cron_job_leases"),
  });
  async function makeToken(body: Record<string, unknown>, headers: Record<string, string> = ADMIN): Promise<{ id: string; secret: string }> {
    const reply = await call("POST", "/api/admin/tokens", headers, body);
    expect(reply.status, reply.text).toBe(201);
    return { id: reply.body.token.id, secret: reply.body.secret };
  }

  beforeAll(async () => {
    database = await createAppDatabase();
    pool = new pg.Pool({ connectionString: (database.env as { DATABASE_URL: string }).DATABASE_URL, max: 3 });
    server = await startNextServer({ env: { ...database.env, ADMIN_TOKEN, CRON_SECRET, CRON_DEMO: "1" } });
    const warm = await call("GET", "/api/admin/cron-jobs", ADMIN);
    expect(warm.status, warm.text).toBe(200);
  });

  afterAll(async () => {
    await server?.stop();
    await pool?.end();
    await database?.dispose();
  });

  it("refuses a viewer on every state-changing admin route with 403 and changes nothing; answers every admin GET", async () => {
    const viewer = await makeToken({ name: "read-only dashboard script", owner: "vera", role: "viewer" });
    const values = { "[jobName]": "demo-pulse", "[id]": randomUUID() };
    const admin = appRoutes().filter((r) => r.kind === "route" && r.pattern.startsWith("/api/admin/"));
    const before = await snapshot();
    let writes = 0;
    for (const route of admin) {
      for (const method of route.methods) {
        const key = `${method} ${route.pattern}`;
        if (method === "GET" || method === "HEAD" || method === "OPTIONS" || VIEWER_WRITES.has(key) || key === "POST /api/admin/session") continue;
        writes++;
        const reply = await call(method, fillRoute(route, values), bearer(viewer.secret), {});
        expect({ key, status: reply.status }).toEqual({ key, status: 403 });
        expect(reply.body).toMatchObject({ success: false, code: "forbidden_role" });
        expect(reply.text).toMatch(/vera is a viewer/);
      }
    }
    expect(writes).toBeGreaterThan(20);
    expect(await snapshot()).toEqual(before);
    for (const path of ["/api/admin/cron-jobs", "/api/admin/runs?status=failed", "/api/admin/dead-letter-queue", "/api/admin/locks", "/api/admin/changes", "/api/admin/tokens"]) {
      const reply = await call("GET", path, bearer(viewer.secret));
      expect({ path, status: reply.status }).toEqual({ path, status: 200 });
    }
  });

  it("an operator's token acts as that person: the audit row names them and the token", async () => {
    const operator = await makeToken({ name: "on-call laptop", owner: "otto", role: "operator" });
    const reply = await call("POST", "/api/admin/cron-jobs/demo-pulse/pause", bearer(operator.secret), { note: "vendor maintenance" });
    expect(reply.status, reply.text).toBe(200);
    const [row] = await q("SELECT actor, action, target, session_id, detail->>'via' AS via FROM cron_audit_log WHERE action = 'job.pause' ORDER BY id DESC LIMIT 1");
    expect(row).toEqual({ actor: "otto", action: "job.pause", target: "demo-pulse", session_id: `token:${operator.id}`, via: "bearer" });
    const resume = await call("POST", "/api/admin/cron-jobs/demo-pulse/resume", bearer(operator.secret), {});
    expect(resume.status, resume.text).toBe(200);

    // The token's own limits: no more than its maker's role, and only for themselves.
    const higher = await call("POST", "/api/admin/tokens", bearer(operator.secret), { name: "escalate", role: "admin" });
    expect(higher.status).toBe(403);
    expect(higher.body).toMatchObject({ code: "forbidden_role" });
    const forOthers = await call("POST", "/api/admin/tokens", bearer(operator.secret), { name: "for vera", owner: "vera", role: "viewer" });
    expect(forOthers.status).toBe(403);
    const own = await makeToken({ name: "otto's cron script", role: "viewer" }, bearer(operator.secret));
    const list = await call("GET", "/api/admin/tokens", bearer(operator.secret));
    expect(list.body.tokens.map((t: { owner: string }) => t.owner).every((o: string) => o === "otto")).toBe(true);
    expect(list.body.tokens.map((t: { id: string }) => t.id)).toContain(own.id);
    expect(JSON.stringify(list.body)).not.toContain(own.secret);
  });

  it("a revoked token is refused with 401; the table holds only the secret's hash", async () => {
    const token = await makeToken({ name: "soon revoked", owner: "rita", role: "operator" });
    expect((await call("GET", "/api/admin/locks", bearer(token.secret))).status).toBe(200);
    const revoked = await call("DELETE", `/api/admin/tokens/${token.id}`, ADMIN);
    expect(revoked.status, revoked.text).toBe(200);
    expect(revoked.body.token).toMatchObject({ id: token.id, revokedBy: "api-token" });
    for (const path of ["/api/admin/locks", "/api/admin/cron-jobs"]) {
      const reply = await call("GET", path, bearer(token.secret));
      expect(reply.status).toBe(401);
    }
    expect((await call("POST", "/api/admin/cron-jobs/demo-pulse/pause", bearer(token.secret), {})).status).toBe(401);
    const stored = JSON.stringify(await q("SELECT * FROM cron_api_tokens"));
    expect(stored).not.toContain(token.secret);
    expect(stored).toContain(token.secret.slice(0, 10));
    const [audit] = await q("SELECT actor, target FROM cron_audit_log WHERE action = 'api_token.revoke' ORDER BY id DESC LIMIT 1");
    expect(audit).toEqual({ actor: "api-token", target: token.id });
    // A token that looks personal but is unknown is refused like a wrong ADMIN_TOKEN.
    expect((await call("GET", "/api/admin/locks", bearer(`cdk_${randomBytes(32).toString("base64url")}`))).status).toBe(401);
  });
});
