import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, it, describe } from "vitest";
import { BACKGROUND_HEADER } from "@/lib/auth/background";
import { createAppDatabase, type AppDatabase } from "../support/db";
import { rawRequest, type RawReply } from "../support/http";
import { startNextServer, type NextServer } from "../support/next-server";

/**
 * GET /api/admin/changes over real HTTP (`next start`, on the Postgres server when there is one,
 * else on PGlite): 401 without a session or with a wrong token, the token and the running runs
 * with the admin token or a session cookie (also as the dashboard's background poll), the same
 * token twice when nothing happened and another after a pause, and a JSON 405 for other methods.
 */

const ADMIN_TOKEN = `admin-${randomBytes(24).toString("hex")}`;
const BEARER = { authorization: `Bearer ${ADMIN_TOKEN}` };

describe("the change token over HTTP", () => {
  let database: AppDatabase;
  let server: NextServer;
  const get = (headers: Record<string, string> = BEARER): Promise<RawReply> => rawRequest(server.url, "GET", "/api/admin/changes", { headers });

  beforeAll(async () => {
    database = await createAppDatabase();
    server = await startNextServer({ env: { ...database.env, ADMIN_TOKEN, CRON_SECRET: `cron-${randomBytes(24).toString("hex")}`, CRON_DEMO: "1" } });
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await database?.dispose();
  });

  it("refuses without credentials, with a wrong token and with a garbage cookie", async () => {
    const refused: Array<Record<string, string>> = [{}, { authorization: `Bearer ${ADMIN_TOKEN}x` }, { cookie: "crondeck_session=abc.def" }, { [BACKGROUND_HEADER]: "1" }];
    for (const headers of refused) {
      const reply = await get(headers);
      expect(reply.status, `${JSON.stringify(headers)}: ${reply.text}`).toBe(401);
      expect(reply.body).toMatchObject({ success: false, code: "unauthorized" });
      expect(reply.body).not.toHaveProperty("token");
    }
  });

  it("answers the token and the running runs; the same token while nothing happens, another after a pause", async () => {
    const first = await get();
    expect(first.status, first.text).toBe(200);
    expect(first.headers["cache-control"]).toContain("no-store");
    expect(first.body).toEqual({ success: true, token: expect.stringMatching(/^[0-9a-f]{32}$/), runningJobs: expect.any(Array) });
    const again = await get();
    expect(again.body.token).toBe(first.body.token);

    const pause = await rawRequest(server.url, "POST", "/api/admin/cron-jobs/demo-pulse/pause", { headers: BEARER, body: { note: "maintenance" } });
    expect(pause.status, pause.text).toBe(200);
    const paused = await get();
    expect(paused.body.token).not.toBe(first.body.token);
    expect((await get()).body.token).toBe(paused.body.token);
    const resume = await rawRequest(server.url, "POST", "/api/admin/cron-jobs/demo-pulse/resume", { headers: BEARER, body: {} });
    expect(resume.status, resume.text).toBe(200);
    expect((await get()).body.token).not.toBe(paused.body.token);
  });

  it("answers a session cookie, also as a background poll; after logout the same cookie gets 401", async () => {
    const login = await rawRequest(server.url, "POST", "/api/admin/session", { headers: { origin: server.url }, body: { token: ADMIN_TOKEN } });
    const cookie = login.setCookie.find((c) => c.startsWith("crondeck_session="))?.split(";")[0];
    expect(cookie, `${login.status} ${login.text}`).toBeTruthy();
    const answered: Array<Record<string, string>> = [{ cookie: cookie! }, { cookie: cookie!, [BACKGROUND_HEADER]: "1" }];
    for (const headers of answered) {
      const reply = await get(headers);
      expect(reply.status, reply.text).toBe(200);
      expect(reply.body).toMatchObject({ success: true, token: expect.any(String), runningJobs: expect.any(Array) });
    }
    const out = await rawRequest(server.url, "DELETE", "/api/admin/session", { headers: { cookie: cookie!, origin: server.url } });
    expect(out.status).toBe(200);
    expect((await get({ cookie: cookie!, [BACKGROUND_HEADER]: "1" })).status).toBe(401);
  });

  it("refuses other methods with a JSON 405 naming GET and HEAD", async () => {
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
      const reply = await rawRequest(server.url, method, "/api/admin/changes", { headers: BEARER, body: {} });
      expect(reply.status, `${method}: ${reply.text}`).toBe(405);
      expect(reply.headers.allow).toBe("GET, HEAD");
      expect(reply.body).toMatchObject({ code: "method_not_allowed" });
    }
  });
});
