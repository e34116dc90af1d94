import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNextServer, type NextServer } from "../support/next-server";

/**
 * Vercel sends the firing entry's expression as x-vercel-cron-schedule. Through `next start`
 * on embedded PGlite: a call whose header differs from what cron:sync writes for the job (Pro,
 * the default plan) is flagged in the JSON answer, in the server log and on the run's log; an
 * agreeing header, or none, is not.
 */
const CRON_SECRET = `crondeck-${randomBytes(24).toString("hex")}`;
const ADMIN_TOKEN = `admin-${randomBytes(24).toString("hex")}`;

describe("x-vercel-cron-schedule on the execute route", () => {
  let dir: string;
  let server: NextServer;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "crondeck-vercel-schedule-"));
    server = await startNextServer({ env: { PGLITE_DIR: join(dir, ".data", "pglite"), CRON_SECRET, ADMIN_TOKEN, CRON_PLAN: "pro" } });
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const vercelCall = async (job: string, schedule?: string) => {
    const response = await fetch(`${server.url}/api/cron/execute/${job}`, {
      headers: { authorization: `Bearer ${CRON_SECRET}`, "user-agent": "vercel-cron/1.0", ...(schedule === undefined ? {} : { "x-vercel-cron-schedule": schedule }) },
      signal: AbortSignal.timeout(30_000),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };

  it("flags a stale vercel.json: the answer, the server log and the run's log name both schedules and the fix", async () => {
    // health-check is "*/5 * * * *" in the registry; the deployed file still says every 10 minutes.
    const { status, body } = await vercelCall("health-check", "*/10  * * * *");
    expect(status).toBe(200);
    expect(body.staleVercelSchedule).toEqual({ sent: "*/10 * * * *", expected: "*/5 * * * *", fix: "run `npm run cron:sync`, commit vercel.json and redeploy" });
    expect(server.output()).toContain('warning: Vercel Cron fired health-check for "*/10 * * * *", but the registry writes "*/5 * * * *"');

    const run = await fetch(`${server.url}/api/admin/runs/${body.execution.id}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(run.status).toBe(200);
    const lines = ((await run.json()) as { run: { logLines: Array<{ message: string }> } }).run.logLines.map((l) => l.message);
    expect(lines[0]).toContain("warning: Vercel Cron fired health-check");
    expect(lines[0]).toContain("npm run cron:sync");

    // A second call of the slot is a duplicate: still flagged.
    const again = await vercelCall("health-check", "*/10 * * * *");
    expect(again.body.skipped).toBe(true);
    expect(again.body.staleVercelSchedule?.sent).toBe("*/10 * * * *");
  });

  it("an agreeing header, or none, is not flagged", async () => {
    const agreeing = await vercelCall("cleanup-old-logs", "0 0 * * 0");
    expect(agreeing.status).toBe(200);
    expect(agreeing.body.staleVercelSchedule).toBeUndefined();
    const none = await vercelCall("cleanup-old-logs");
    expect(none.body.skipped).toBe(true); // the same slot, as a duplicate
    expect(none.body.staleVercelSchedule).toBeUndefined();
    expect(server.output()).not.toContain("Vercel Cron fired cleanup-old-logs");
  });
});
