import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "@/lib/db/client";
import { runCli, type CliResult } from "../support/cli";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/db";
import { freePort } from "../support/next-server";

/**
 * `crondeck stress` in a short run: real `next start` instances (on the build the http
 * project makes) sharing a fresh database of the Postgres server, triggers fired at all of
 * them for the same slots, and the database checked for a slot that ran twice.
 */



let database: TestDatabase;

function stress(args: string[]): Promise<CliResult> {
  return runCli(["stress", ...args, "--json"], { env: { DATABASE_URL: database.url, } });
}

const rows = <T = Record<string, any>>(query: ReturnType<typeof sql>) => queryRows<T>(database.db, query);

describeWithPostgres("crondeck stress", () => {
  beforeAll(async () => {
    database = await createTestDatabase("postgres");
  });
  afterAll(async () => {
    await database?.dispose();
  });

  it("2 instances, 5 triggers in flight each, 4 s: no slot runs twice, and the report says so", async () => {
    const r = await stress(["--instances", "2", "--concurrency", "5", "--duration", "4"]);
    expect(r.code, r.stderr).toBe(0);
    const report = r.json;
    expect(report).toMatchObject({ ok: true, job: "demo-slow", instances: 2, concurrency: 5, durationSeconds: 4, duplicates: 0, duplicateSlots: [], errors: 0, problems: [], cleanedUp: false });
    for (const field of ["triggers", "triggersPerSecond", "executions", "completed", "failed", "skipped", "contentionRate", "averageDurationMs", "elapsedSeconds"]) {
      expect(typeof report[field], field).toBe("number");
    }
    expect(report.executions).toBeGreaterThan(0);
    expect(report.skipped).toBeGreaterThan(0); // every slot is fought over: most triggers lose
    expect(report.executions + report.skipped).toBe(report.triggers);
    expect(report.contentionRate).toBeCloseTo(report.skipped / report.triggers, 6);
    expect(report.perInstance).toHaveLength(2);
    for (const instance of report.perInstance) {
      expect(instance).toMatchObject({ triggers: expect.any(Number), locksAcquired: expect.any(Number), locksMissed: expect.any(Number), errors: 0 });
      expect(instance.triggers).toBeGreaterThan(0);
      expect(instance.locksAcquired + instance.locksMissed).toBe(instance.triggers);
    }
    const participation = report.perInstance.reduce((n: number, i: { participation: number }) => n + i.participation, 0);
    expect(participation).toBeCloseTo(1, 6);

    // The database agrees, on its own: one row per trigger, and no slot with two runs.
    const [counts] = await rows<{ rows: number; runs: number; versions: number }>(
      sql`SELECT count(*)::int AS rows, count(*) FILTER (WHERE status NOT IN ('skipped', 'missed'))::int AS runs, count(DISTINCT code_version)::int AS versions FROM cron_job_logs`,
    );
    expect(counts).toEqual({ rows: report.triggers, runs: report.executions, versions: 1 });
    const twice = await rows(sql`SELECT job_name, scheduled_for, count(*) FROM cron_job_logs WHERE status NOT IN ('skipped', 'missed') GROUP BY 1, 2 HAVING count(*) > 1`);
    expect(twice).toEqual([]);
    const [tagged] = await rows<{ code_version: string }>(sql`SELECT code_version FROM cron_job_logs LIMIT 1`);
    expect(tagged.code_version).toBe(report.codeVersion);
    // Every lease was freed when its run finished.
    expect(await rows(sql`SELECT 1 FROM cron_job_leases`)).toEqual([]);
  });

  it("--cleanup deletes the rows it created, on the ports asked for", async () => {
    const [before] = await rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM cron_job_logs`);
    const port = await freePort();
    const r = await stress(["--instances", "1", "--concurrency", "2", "--duration", "1", "--port-base", String(port), "--cleanup"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ ok: true, duplicates: 0, cleanedUp: true, perInstance: [{ instance: 1, port, participation: 1 }] });
    expect(r.json.slots.runBeforeTest).toBe(0); // slots that already ran are left out of the window
    const [after] = await rows<{ n: number; mine: number }>(sql`SELECT count(*)::int AS n, count(*) FILTER (WHERE code_version = ${r.json.codeVersion})::int AS mine FROM cron_job_logs`);
    expect(after).toEqual({ n: before.n, mine: 0 });
  });
});
