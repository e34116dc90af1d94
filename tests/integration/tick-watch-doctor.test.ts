import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, expect, it, vi } from "vitest";
import { defineJob } from "@/lib/cron/define-job";
import { JobRegistry } from "@/lib/cron/registry";
import { queryRows } from "@/lib/db/client";
import { loadEnv } from "@/lib/env";
import { createContext, type CliContext } from "@/scripts/cli/context";
import { doctor } from "@/scripts/cli/doctor";
import { describeOnDatabases, type TestDatabase } from "../support/db";

/**
 * `crondeck doctor` shows a stopped tick: the tick's own health from its runs (inserted at known
 * instants, the CLI context's fake clock later), what its last run did, and that doctor only
 * reads: no monitor opened, no alert row written.
 */
const root = mkdtempSync(join(tmpdir(), "crondeck-doctor-tick-")); // no vercel.json, no dev state
afterAll(() => rmSync(root, { recursive: true, force: true }));
const job = defineJob({ name: `tw-doctor-${process.pid}`, schedule: "0 0 1 1 *", timeout: "5s", handler: async () => "ok" });
const registry = new JobRegistry([job]);

async function doctorJson(database: TestDatabase, at: string, plan: "pro" | "hobby" = "pro"): Promise<{ code: number; json: any }> {
  const base = createContext({ json: true, now: () => new Date(at) });
  const env = { ...loadEnv(new Map()), CRON_SECRET: "doctor-tick-secret-0123456789", CRON_PLAN: plan };
  const ctx: CliContext = { ...base, root, env: () => env, registry: () => registry, database: async () => database };
  let out = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
  try {
    return { code: await doctor(ctx, { args: [], options: {} }), json: JSON.parse(out) };
  } finally {
    vi.restoreAllMocks();
  }
}

const finding = (json: any, code: string) => json.config.find((f: { code: string }) => f.code === code);

describeOnDatabases("doctor and the tick's health", (ctx) => {
  const tickRun = (at: string, output: unknown) =>
    queryRows(ctx.db, sql`INSERT INTO cron_job_logs (job_name, status, started_at, completed_at, duration_ms, scheduled_for, output)
      VALUES ('crondeck-tick', 'completed', ${at}::timestamptz, ${at}::timestamptz + interval '40 milliseconds', 40, date_trunc('minute', ${at}::timestamptz), ${JSON.stringify(output)}::jsonb)`);
  const report = (errors: number) => ({
    abandoned: [],
    retries: [],
    orphaned: [],
    missed: [{ jobName: job.name, slots: ["2026-12-01T09:00:00.000Z"], policy: "skip", catchUps: 0 }],
    dispatched: [{ request: { jobName: "a", trigger: "tick", slot: "2026-12-01T10:00:00.000Z" }, status: 200 }, { request: { jobName: "b", trigger: "tick", slot: "2026-12-01T10:00:00.000Z" }, status: 200 }],
    errors: Array.from({ length: errors }, () => ({ scope: "dispatch", error: "refused" })),
  });

  it("a database where jobs ran and the tick never did: never ran, then late once jobs' runs are older than an interval and the grace", async () => {
    const fresh = await doctorJson(ctx.database, "2026-12-01T09:59:00Z");
    expect(fresh.json.tick).toMatchObject({ state: "never", late: false });
    expect(finding(fresh.json, "tick_never_ran")).toMatchObject({ severity: "warning" });
    await queryRows(ctx.db, sql`INSERT INTO cron_job_logs (job_name, status, started_at) VALUES (${job.name}, 'completed', '2026-12-01T09:00:00Z')`);
    const late = await doctorJson(ctx.database, "2026-12-01T09:59:00Z");
    expect(late.json.tick).toMatchObject({ state: "never", late: true });
    expect(finding(late.json, "tick_late").message).toContain("has never run while jobs have");
  });

  it("the tick ran: when and what it did; stopped: late within two intervals (Pro), with what waits", async () => {
    await tickRun("2026-12-01T10:00:00.200Z", report(0));
    const ok = await doctorJson(ctx.database, "2026-12-01T10:00:30Z");
    expect(ok.json.tick).toMatchObject({ state: "ok", late: false, expectedEveryMs: 60_000, lateAfterMs: 120_000, lastRun: { status: "completed", work: { missed: 1, dispatched: 2, errors: 0 } } });
    expect(finding(ok.json, "tick")).toMatchObject({ severity: "ok" });
    expect(finding(ok.json, "tick").message).toContain("missed 1, dispatched 2, errors 0");
    expect(finding(ok.json, "tick_late")).toBeUndefined();

    expect((await doctorJson(ctx.database, "2026-12-01T10:02:00Z")).json.tick.late).toBe(false);
    const stopped = await doctorJson(ctx.database, "2026-12-01T10:02:01Z");
    expect(stopped.json.tick).toMatchObject({ state: "late", late: true });
    expect(finding(stopped.json, "tick_late")).toMatchObject({ severity: "warning" });
    expect(finding(stopped.json, "tick_late").message).toContain("the tick last ran 2m 01s ago (expected every 1m, late after 2m)");

    // On Hobby the same run is on time for a day and the hour's grace.
    expect((await doctorJson(ctx.database, "2026-12-02T10:00:00Z", "hobby")).json.tick).toMatchObject({ late: false, expectedEveryMs: 86_400_000 });
  });

  it("a last run with errors is a warning that says where to look", async () => {
    await tickRun("2026-12-01T10:03:00.100Z", report(2));
    const r = await doctorJson(ctx.database, "2026-12-01T10:03:20Z");
    expect(r.json.tick.lastRun.work.errors).toBe(2);
    expect(finding(r.json, "tick_errors")).toMatchObject({ severity: "warning" });
    expect(finding(r.json, "tick_errors").message).toContain("/api/admin/tick");
  });

  it("only reads: no monitor opened, no alert recorded, however late", async () => {
    await doctorJson(ctx.database, "2026-12-09T00:00:00Z");
    const [row] = await queryRows<{ monitors: number | string; alerts: number | string }>(ctx.db, sql`SELECT (SELECT count(*) FROM cron_monitors) AS monitors, (SELECT count(*) FROM cron_alerts) AS alerts`);
    expect(Number(row.monitors)).toBe(0);
    expect(Number(row.alerts)).toBe(0);
  });
});
