import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNextServer, type NextServer } from "../support/next-server";

/**
 * The tick through `next start` (embedded PGlite, the demo jobs, whose demo-pulse the tick
 * dispatches every minute) dispatching to NEXT_PUBLIC_APP_URL: a local server playing a
 * deployment behind Vercel Deployment Protection, which answers its HTML 401 without the right
 * x-vercel-protection-bypass and records every request.
 */
const CRON_SECRET = `crondeck-${randomBytes(24).toString("hex")}`;
const BYPASS = `bypass-${randomBytes(12).toString("hex")}`;

describe("the tick's dispatch carries the protection bypass", () => {
  let dir: string;
  let app: NextServer;
  let protectedDeployment: Server;
  const received: Array<{ method: string; url: string; headers: IncomingMessage["headers"] }> = [];

  beforeAll(async () => {
    protectedDeployment = createServer((req, res) => {
      received.push({ method: req.method!, url: req.url!, headers: req.headers });
      if (req.headers["x-vercel-protection-bypass"] !== BYPASS) {
        res.writeHead(401, { "content-type": "text/html" }).end("<!doctype html><title>Authentication Required</title>");
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end('{"success":true}');
    });
    await new Promise<void>((resolve) => protectedDeployment.listen(0, "127.0.0.1", resolve));
    const target = `http://127.0.0.1:${(protectedDeployment.address() as AddressInfo).port}`;
    dir = await mkdtemp(join(tmpdir(), "crondeck-vercel-tick-"));
    app = await startNextServer({
      env: { PGLITE_DIR: join(dir, ".data", "pglite"), CRON_SECRET, CRON_DEMO: "1", NEXT_PUBLIC_APP_URL: target, VERCEL_AUTOMATION_BYPASS_SECRET: BYPASS, VERCEL_URL: "never-used.vercel.app" },
    });
  }, 120_000);
  afterAll(async () => {
    await app?.stop();
    await new Promise<void>((resolve) => protectedDeployment.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  it("sends x-vercel-protection-bypass and the CRON_SECRET to NEXT_PUBLIC_APP_URL, never logs the bypass, and flags a tick fired on another plan's schedule", async () => {
    // Fired as a Hobby vercel.json fires it, while CRON_PLAN is left at pro in the project.
    const response = await fetch(`${app.url}/api/cron/tick`, { headers: { authorization: `Bearer ${CRON_SECRET}`, "x-vercel-cron-schedule": "0 0 * * *" }, signal: AbortSignal.timeout(60_000) });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { staleVercelSchedule?: { sent: string; expected: string; fix: string } };
    expect(body.staleVercelSchedule).toMatchObject({ sent: "0 0 * * *", expected: "* * * * *" });
    expect(body.staleVercelSchedule?.fix).toContain("CRON_PLAN=hobby");
    expect(app.output()).toContain("warning: Vercel Cron fired the tick for \"0 0 * * *\", the hobby plan's tick, but CRON_PLAN is pro");
    const pulse = received.find((r) => r.url.startsWith("/api/cron/execute/demo-pulse?trigger=tick&slot="));
    expect(pulse, JSON.stringify(received.map((r) => r.url))).toBeDefined();
    expect(pulse!.method).toBe("POST");
    expect(pulse!.headers["x-vercel-protection-bypass"]).toBe(BYPASS);
    expect(pulse!.headers.authorization).toBe(`Bearer ${CRON_SECRET}`);
    expect(app.output()).not.toContain(BYPASS);
  });
});
