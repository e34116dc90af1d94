import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpDispatcher, refusedDispatches, runTick } from "@/lib/app/tick";
import { defineJob } from "@/lib/cron/define-job";
import { JobRegistry } from "@/lib/cron/registry";
import { describeOnDatabases } from "../support/db";
import type { DispatchRequest } from "@/lib/cron/tick";
import { dispatchBaseUrl, PROTECTION_BYPASS_HEADER } from "@/lib/vercel/dispatch";

/**
 * A local server that plays a Vercel deployment behind Deployment Protection: without the
 * right x-vercel-protection-bypass it answers Vercel's way (401, an HTML login page); with it,
 * the execute route's JSON. It records every request it gets.
 */
const BYPASS = "bypass-5b1e0c2f9a7d4e3c8b6a";
const CRON_SECRET = "cron-secret-for-the-dispatch-test-0123456789";
let server: Server;
let origin: string;
let mode: "protected" | "open" | "wrong-secret" | "redirect" = "protected";
/** Long enough for a loaded machine: the dispatcher's 1.5 s default would report "still running". */
const WAIT_MS = 15_000;
const received: Array<{ method: string; url: string; headers: IncomingMessage["headers"] }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    received.push({ method: req.method!, url: req.url!, headers: req.headers });
    if (mode === "redirect") {
      res.writeHead(307, { location: "https://vercel.com/sso-api?url=x" }).end();
      return;
    }
    if (mode === "protected" && req.headers[PROTECTION_BYPASS_HEADER] !== BYPASS) {
      res.writeHead(401, { "content-type": "text/html; charset=utf-8" }).end("<!doctype html><title>Authentication Required</title>");
      return;
    }
    if (req.headers.authorization !== `Bearer ${CRON_SECRET}` || mode === "wrong-secret") {
      res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ code: "invalid_cron_secret" }));
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ success: true }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const request: DispatchRequest = { jobName: "paris-digest", trigger: "tick", slot: new Date("2026-12-01T08:00:00Z") };

describe("the tick's dispatch through Deployment Protection", () => {
  it("sends x-vercel-protection-bypass when VERCEL_AUTOMATION_BYPASS_SECRET is set, and gets through", async () => {
    mode = "protected";
    received.length = 0;
    const result = await httpDispatcher(origin, CRON_SECRET, { VERCEL_AUTOMATION_BYPASS_SECRET: BYPASS }, WAIT_MS)(request);
    expect(result).toEqual({ request, status: 200 });
    expect(received).toHaveLength(1);
    expect(received[0].method).toBe("POST");
    expect(received[0].url).toBe("/api/cron/execute/paris-digest?trigger=tick&slot=2026-12-01T08%3A00%3A00.000Z");
    expect(received[0].headers[PROTECTION_BYPASS_HEADER]).toBe(BYPASS);
    expect(received[0].headers.authorization).toBe(`Bearer ${CRON_SECRET}`);
  });

  it("without the bypass, the protection's HTML 401 becomes a tick error with the fix, and no secret in it", async () => {
    mode = "protected";
    received.length = 0;
    const dispatch = httpDispatcher(origin, CRON_SECRET, {}, WAIT_MS);
    const results = [await dispatch(request), await dispatch({ jobName: "health-check", trigger: "tick", slot: new Date("2026-12-01T08:00:00Z") })];
    expect(received[0].headers[PROTECTION_BYPASS_HEADER]).toBeUndefined();
    expect(results.map((r) => r.status)).toEqual([401, 401]);
    const errors = refusedDispatches(results);
    expect(errors).toHaveLength(1); // one problem, both jobs named
    expect(errors[0].scope).toBe("dispatch");
    expect(errors[0].error).toContain("Deployment Protection");
    expect(errors[0].error).toContain("NEXT_PUBLIC_APP_URL");
    expect(errors[0].error).toContain("Protection Bypass for Automation");
    expect(errors[0].error).toContain("paris-digest, health-check");
    expect(errors[0].error).not.toContain(CRON_SECRET);
  });

  it("a refused bypass, another CRON_SECRET and a redirect are each told apart, never showing a secret", async () => {
    mode = "protected";
    const wrongBypass = await httpDispatcher(origin, CRON_SECRET, { VERCEL_AUTOMATION_BYPASS_SECRET: "stale-bypass-value-1234" }, WAIT_MS)(request);
    expect(wrongBypass.error).toContain("refused the x-vercel-protection-bypass secret");
    expect(wrongBypass.error).not.toContain("stale-bypass-value-1234");
    mode = "wrong-secret";
    const wrongSecret = await httpDispatcher(origin, CRON_SECRET, { VERCEL_AUTOMATION_BYPASS_SECRET: BYPASS }, WAIT_MS)(request);
    expect(wrongSecret.error).toContain("CRON_SECRET");
    expect(wrongSecret.error).not.toContain("Deployment Protection");
    mode = "redirect";
    const redirected = await httpDispatcher(origin, CRON_SECRET, {}, WAIT_MS)(request);
    expect(redirected.status).toBe(307);
    expect(redirected.error).toContain("does not follow redirects");
    expect(refusedDispatches([wrongBypass, wrongSecret, redirected])).toHaveLength(3);
    // A run the route took (2xx), or answered with a conflict, is no tick error.
    expect(refusedDispatches([{ request, status: 200 }, { request, status: 409 }, { request, status: null, error: "still running" }])).toEqual([]);
  });
});

describe("the tick's dispatch over a kept-alive connection the deployment closes", () => {
  it("sends the trigger once more on a new connection, and gets the answer", async () => {
    // The second request on every connection finds it closed, as when the deployment's
    // keep-alive timer fires while the tick's process was busy (it failed a CI run that way).
    const connections = new WeakMap<object, number>();
    let answered = 0;
    const closing = createServer((req, res) => {
      const seen = (connections.get(req.socket) ?? 0) + 1;
      connections.set(req.socket, seen);
      if (seen > 1) {
        req.socket.destroy();
        return;
      }
      answered++;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ success: true }));
    });
    await new Promise<void>((resolve) => closing.listen(0, "127.0.0.1", resolve));
    try {
      const dispatch = httpDispatcher(`http://127.0.0.1:${(closing.address() as AddressInfo).port}`, CRON_SECRET, {}, WAIT_MS);
      const results = [await dispatch(request), await dispatch(request), await dispatch(request)];
      expect(results).toEqual([{ request, status: 200 }, { request, status: 200 }, { request, status: 200 }]);
      expect(answered).toBe(3);
    } finally {
      closing.closeAllConnections();
      await new Promise<void>((resolve) => closing.close(() => resolve()));
    }
  });

  it("an origin that refuses the connection is reported with its error and not sent again (only a reset connection is)", async () => {
    const unused = createServer();
    await new Promise<void>((resolve) => unused.listen(0, "127.0.0.1", resolve));
    const port = (unused.address() as AddressInfo).port;
    await new Promise<void>((resolve) => unused.close(() => resolve()));
    const result = await httpDispatcher(`http://127.0.0.1:${port}`, CRON_SECRET, {}, WAIT_MS)(request);
    expect(result.status).toBeNull();
    expect(result.error).toBe("fetch failed");
  });
});

describe("where the tick dispatches", () => {
  const base = { NEXT_PUBLIC_APP_URL: undefined, VERCEL_ENV: undefined, VERCEL_PROJECT_PRODUCTION_URL: undefined, VERCEL_URL: undefined };
  it("NEXT_PUBLIC_APP_URL, else the production domain on production, else the deployment URL, else the request's origin", () => {
    const origin = "http://127.0.0.1:3000";
    expect(dispatchBaseUrl({ ...base, NEXT_PUBLIC_APP_URL: "https://cron.example.com", VERCEL_ENV: "production", VERCEL_PROJECT_PRODUCTION_URL: "app.example.com", VERCEL_URL: "app-abc123.vercel.app" }, origin)).toBe("https://cron.example.com");
    expect(dispatchBaseUrl({ ...base, VERCEL_ENV: "production", VERCEL_PROJECT_PRODUCTION_URL: "app.example.com", VERCEL_URL: "app-abc123.vercel.app" }, origin)).toBe("https://app.example.com");
    // A preview's deployment URL, protected by default: only the bypass gets through there.
    expect(dispatchBaseUrl({ ...base, VERCEL_ENV: "preview", VERCEL_PROJECT_PRODUCTION_URL: "app.example.com", VERCEL_URL: "app-git-x.vercel.app" }, origin)).toBe("https://app-git-x.vercel.app");
    expect(dispatchBaseUrl({ ...base, VERCEL_ENV: "production", VERCEL_URL: "app-abc123.vercel.app" }, origin)).toBe("https://app-abc123.vercel.app");
    expect(dispatchBaseUrl(base, origin)).toBe(origin);
  });
});

describeOnDatabases("the tick over its store, dispatching to a protected deployment", (ctx) => {
  it("reports the protection's refusal in the tick's errors; with the bypass the job's slot is dispatched", async () => {
    const owned = defineJob({ name: `vd-tokyo-${process.pid}`, schedule: { cron: "* * * * *", timezone: "Asia/Tokyo" }, handler: noopHandler });
    const registry = new JobRegistry([owned]);
    const tick = (at: string, env: { VERCEL_AUTOMATION_BYPASS_SECRET?: string }) =>
      runTick({ db: ctx.db, registry, plan: "pro", holder: "vd-test", now: new Date(at), dispatch: httpDispatcher(origin, CRON_SECRET, env, WAIT_MS) });
    mode = "protected";
    received.length = 0;
    const blocked = await tick("2026-12-01T08:00:10Z", {});
    expect(blocked.dispatched.map((d) => d.status)).toEqual([401]);
    expect(blocked.errors).toHaveLength(1);
    expect(blocked.errors[0]).toMatchObject({ scope: "dispatch" });
    expect(blocked.errors[0].error).toContain(`${owned.name} not run`);
    expect(blocked.errors[0].error).toContain("Protection Bypass for Automation");
    const through = await tick("2026-12-01T08:01:10Z", { VERCEL_AUTOMATION_BYPASS_SECRET: BYPASS });
    expect(through.errors).toEqual([]);
    expect(through.dispatched.map((d) => d.status)).toEqual([200]);
    expect(received.at(-1)?.headers[PROTECTION_BYPASS_HEADER]).toBe(BYPASS);
  });
});

function noopHandler() {}
