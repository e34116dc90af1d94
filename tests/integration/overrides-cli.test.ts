import { sql } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { queryRows } from "@/lib/db/client";
import { runNode, type CliResult } from "../support/cli";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/db";

/**
 * crondeck jobs override / overrides as child processes on a database of the Postgres server,
 * with the overrides tests' jobs (CRONDECK_FEATURE_JOBS=1): the table, a change and its audit
 * row, usage errors naming the fix (exit 2, nothing written), and `jobs run` under an override.
 */

let database: TestDatabase;
const cli = (args: string[]): Promise<CliResult> =>
  runNode(["--import", "tsx", "scripts/cli.ts", ...args], { env: { DATABASE_URL: database?.url, CRON_SECRET: "cli-overrides-secret-0123456789abcdef", CRONDECK_FEATURE_JOBS: "1", CRON_PLAN: "" } });
const overridesRow = async (name: string) =>
  (await queryRows<{ overrides: unknown; overrides_by: string | null }>(database.db, sql`SELECT overrides, overrides_by FROM cron_job_config WHERE job_name = ${name}`))[0] ?? null;

describeWithPostgres("crondeck jobs override [postgres]", () => {
  beforeAll(async () => {
    database = await createTestDatabase("postgres");
  });
  afterAll(async () => {
    await database?.dispose();
  });

  it("runs a job under its code timeout, then under an overridden one, then reverted", async () => {
    const before = await cli(["jobs", "run", "feature-override-slow", "--json"]);
    expect(before.json).toMatchObject({ ok: false, run: { status: "timed_out" } });

    const set = await cli(["jobs", "override", "feature-override-slow", "--timeout", "4s", "--retries", "2", "--json"]);
    expect(set.code).toBe(0);
    expect(set.json.fields.find((f: { field: string }) => f.field === "timeout")).toMatchObject({ code: "1s", override: "4s", effective: "4s" });
    expect(await overridesRow("feature-override-slow")).toMatchObject({ overrides: { timeout: "4s", retries: 2 }, overrides_by: expect.stringMatching(/^cli:/) });

    const during = await cli(["jobs", "run", "feature-override-slow", "--json"]);
    expect(during.code).toBe(0);
    expect(during.json).toMatchObject({ ok: true, run: { status: "completed" } });

    const table = await cli(["jobs", "overrides", "feature-override-slow"]);
    expect(table.stdout).toMatch(/timeout\s+1s\s+4s\s+4s/);
    expect(table.stdout).toMatch(/retries\s+0\s+2\s+2/);
    expect(table.stdout).toMatch(/overridden by cli:/);

    const revert = await cli(["jobs", "override", "feature-override-slow", "--revert", "--json"]);
    expect(revert.json).toMatchObject({ ok: true, changed: true, overrides: {} });
    expect((await overridesRow("feature-override-slow"))?.overrides).toBeNull();
    expect((await cli(["jobs", "run", "feature-override-slow", "--json"])).json).toMatchObject({ run: { status: "timed_out" } });

    const audit = await queryRows<{ action: string }>(database.db, sql`SELECT action FROM cron_audit_log WHERE target = 'feature-override-slow' AND action LIKE 'job.override%' ORDER BY id`);
    expect(audit.map((a) => a.action)).toEqual(["job.override", "job.override_revert"]);
  }, 120_000);

  it("refuses bad values with defineJob's message and usage mistakes naming the fix, exit 2, writing nothing", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["--timeout", "10"], /job "feature-override-slow": timeout "10" is not a duration/],
      [["--retries", "three"], /--retries must be a number, such as --retries 3/],
      [["--retries", "11"], /retries must be at most 10/],
      [["--schedule", "*/10 * * * *"], /schedule can be overridden only for jobs the tick dispatches/],
      [["--missed-max", "3"], /--missed-max goes with --missed/],
      [[], /nothing to override: give a value such as --timeout 10m/],
      [["timeout"], /add --revert/],
      [["--revert", "enabled"], /"enabled" is not an overridable field/],
    ];
    for (const [args, message] of cases) {
      const result = await cli(["jobs", "override", "feature-override-slow", ...args]);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr + result.stdout).toMatch(message);
    }
    expect((await overridesRow("feature-override-slow"))?.overrides ?? null).toBeNull();
  }, 120_000);

  it("overrides the schedule of a tick-dispatched job, with a timezone or as an interval", async () => {
    const cron = await cli(["jobs", "override", "feature-override-tick", "--schedule", "*/15 * * * *", "--timezone", "America/New_York", "--json"]);
    expect(cron.code).toBe(0);
    expect(cron.json.fields.find((f: { field: string }) => f.field === "schedule")).toMatchObject({ code: { cron: "0 0 1 1 *", timezone: "Europe/Paris" }, effective: { cron: "*/15 * * * *", timezone: "America/New_York" } });
    const every = await cli(["jobs", "override", "feature-override-tick", "--every", "90m", "--offset", "15m", "--json"]);
    expect(every.json.fields.find((f: { field: string }) => f.field === "schedule")?.effective).toEqual({ every: "1.5h", offset: "15m" });
    const bad = await cli(["jobs", "override", "feature-override-tick", "--every", "90s"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/schedule\.every is 1\.5m: an interval is a whole number of minutes/);
  }, 120_000);
});
