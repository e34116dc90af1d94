import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appRoutes, fillRoute, HTTP_METHODS, type AppRoute, type HttpMethod } from "../support/app-routes";
import { rawRequest, type RawReply } from "../support/http";
import { ISOLATED_VARIABLES, startNextServer, type NextServer } from "../support/next-server";

/**
 * Every answer under /api/ is JSON with a `code` (issue 12, item 9): every route file found in
 * app/ when the test runs, times every method, anonymous (so nothing runs or changes), and
 * unknown paths (Next.js normalises `/api/cron/execute/%2e%2e` to `/api/cron/`, which no route
 * file serves). A method a route does not serve answers 405 `method_not_allowed` with `Allow`;
 * an unknown path 404 `not_found`, for every method, without echoing the path. Each answer also
 * carries the API's security headers. On the embedded database: no Postgres server needed.
 */

const ADMIN_TOKEN = `admin-${randomBytes(24).toString("hex")}`;
const CRON_SECRET = `cron-${randomBytes(24).toString("hex")}`;

const header = (reply: RawReply, name: string): string => {
  const value = reply.headers[name];
  return (Array.isArray(value) ? value.join(", ") : value) ?? "";
};

/** What `Allow` must say for a route: the methods it serves, and HEAD where Next.js answers it with GET. */
function allowOf(route: AppRoute): HttpMethod[] {
  return HTTP_METHODS.filter((m) => route.methods.includes(m) || (m === "HEAD" && route.methods.includes("GET") && !route.refused.includes("HEAD")));
}

/** JSON (HEAD: the JSON content type, no body), a `code` on every error, and the API's headers. */
function expectApiAnswer(label: string, reply: RawReply, method: string): void {
  const where = `${label} -> ${reply.status} ${reply.contentType}: ${reply.text.slice(0, 200)}`;
  expect(reply.contentType ?? "", where).toMatch(/^application\/json/);
  if (method === "HEAD") {
    expect(reply.text, where).toBe("");
  } else {
    expect(reply.body, where).toBeTypeOf("object");
    if (reply.status >= 400) {
      expect(reply.body.success, where).toBe(false);
      expect(reply.body.code, where).toMatch(/^[a-z_]+$/);
      expect(reply.body.error, where).toBeTypeOf("string");
    }
    expect(reply.text, where).not.toMatch(/\bat .+:\d+:\d+\)|node_modules|<html/i);
  }
  expect(header(reply, "x-content-type-options"), where).toBe("nosniff");
  expect(header(reply, "x-frame-options"), where).toBe("DENY");
  expect(header(reply, "x-powered-by"), where).toBe("");
  expect(header(reply, "content-security-policy"), where).toMatch(/^default-src 'none';.*frame-ancestors 'none'/);
  expect(header(reply, "cache-control").split(",").map((d) => d.trim()), where).toContain("no-store");
}

/** Paths no route file serves, as a client sends them (node:http: no normalisation of dots). */
const UNKNOWN_PATHS = [
  "/api",
  "/api/",
  "/api/nope",
  "/api/admin/nope",
  "/api/admin/cron-jobs/health-check/nope",
  "/api/admin/runs/nope/extra",
  "/api/cron/",
  "/api/cron/execute/",
  "/api/cron/execute/%2e%2e",
  "/api/cron/execute/%2E%2E/%2e%2e",
  "/api/cron/execute/health-check/extra",
  "/api/cron/jobs/health-check/nope",
  "/api/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
  `/api/admin/${"segment/".repeat(250)}end`,
  `/api/${"x".repeat(4000)}`,
];

describe("every /api answer is JSON with a code", () => {
  let server: NextServer;
  let dataDir: string;
  const counts = { requests: 0 };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "crondeck-api-json-"));
    server = await startNextServer({
      env: {
        // Blank, not just absent: `next start` would fill a missing variable from a developer's .env.local.
        ...Object.fromEntries(ISOLATED_VARIABLES.map((name) => [name, ""])),
        PGLITE_DIR: join(dataDir, "pglite"),
        ADMIN_TOKEN,
        CRON_SECRET,
      },
    });
  });

  afterAll(async () => {
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    console.log(`[api-json] ${counts.requests} answers checked`);
  });

  it("every route file answers every method it does not serve itself with a JSON 405 and Allow", () => {
    // Checked in the source too, so a new route file that forgets the refusal is named here.
    for (const route of appRoutes().filter((r) => r.kind === "route" && r.pattern.startsWith("/api"))) {
      const answered = new Set<HttpMethod>([...route.methods, ...route.refused]);
      if (route.methods.includes("GET")) answered.add("HEAD");
      expect(HTTP_METHODS.filter((m) => !answered.has(m)), `${route.file}: methods Next.js would answer with an empty 405 (export them from refuseOtherMethods)`).toEqual([]);
    }
  });

  it("every route × every method, anonymous", async () => {
    const routes = appRoutes().filter((r) => r.kind === "route" && r.pattern.startsWith("/api"));
    expect(routes.length).toBeGreaterThanOrEqual(20);
    const values = { "[jobName]": "health-check", "[id]": randomUUID(), "[[...path]]": "no/such/route" };
    for (const route of routes) {
      const path = fillRoute(route, values);
      const allow = allowOf(route);
      for (const method of HTTP_METHODS) {
        const reply = await rawRequest(server.url, method, path, method === "GET" || method === "HEAD" || method === "OPTIONS" ? {} : { body: {} });
        counts.requests++;
        const label = `${method} ${path}`;
        expectApiAnswer(label, reply, method);
        if (route.pattern === "/api/[[...path]]") {
          expect(reply.status, label).toBe(404);
          if (method !== "HEAD") expect(reply.body.code, label).toBe("not_found");
        } else if (!allow.includes(method)) {
          expect(reply.status, label).toBe(405);
          expect(header(reply, "allow"), label).toBe(allow.join(", "));
          if (method !== "HEAD") expect(reply.body, label).toMatchObject({ code: "method_not_allowed", details: { allowed: allow } });
        } else {
          // Served: anonymous, so refused by authentication (or, for health and the login, answered).
          expect(reply.status, label).not.toBe(405);
          expect(reply.status, label).toBeLessThan(500);
        }
      }
    }
  });

  it("unknown API paths answer 404 not_found for every method, without the path in the answer", async () => {
    for (const path of UNKNOWN_PATHS) {
      for (const method of HTTP_METHODS) {
        for (const headers of [{}, { authorization: `Bearer ${CRON_SECRET}` }] as Record<string, string>[]) {
          const reply = await rawRequest(server.url, method, path, { headers, ...(method === "POST" || method === "PUT" ? { body: {} } : {}) });
          counts.requests++;
          const label = `${method} ${path.slice(0, 80)}${headers.authorization ? " (with the cron secret)" : ""}`;
          expectApiAnswer(label, reply, method);
          expect(reply.status, label).toBe(404);
          if (method !== "HEAD") {
            expect(reply.body.code, label).toBe("not_found");
            expect(reply.text, label).not.toContain("script");
            expect(reply.text, label).not.toContain("segment/");
            expect(reply.text, label).not.toContain("xxxxxxxx");
          }
        }
      }
    }
  });

  it("the cron routes keep their 405 for HEAD (a HEAD runs nothing) and other methods", async () => {
    for (const path of ["/api/cron/execute/health-check", "/api/cron/tick"]) {
      for (const method of ["HEAD", "PUT", "OPTIONS"] as const) {
        const reply = await rawRequest(server.url, method, path, { headers: { authorization: `Bearer ${CRON_SECRET}` } });
        counts.requests++;
        expectApiAnswer(`${method} ${path}`, reply, method);
        expect(reply.status).toBe(405);
        expect(header(reply, "allow")).toBe("GET, POST");
      }
    }
  });
});
