import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runCli } from "../support/cli";
import { rawRequest, type RawReply } from "../support/http";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/db";
import { startNextServer, type NextServer } from "../support/next-server";

/**
 * Interval, one-time and bounded schedules over real HTTP (`next start` on a Postgres server
 * database, the schedule feature jobs of lib/jobs/feature-jobs/schedule.ts loaded) and through
 * the CLI on the same database: the execute route runs an interval's grid slots and refuses
 * others naming the schedule in words, a Vercel-dispatched bounded job's calls outside its
 * window are recorded outside_window skips while a slot inside it runs, a one-time job runs its
 * slot once and answers 409 before it, and the admin API, `jobs list` and `doctor` show the kind,
 * the interval and "no further runs".
 */

const ADMIN_TOKEN = `admin-${randomBytes(24).toString("hex")}`;
const CRON_SECRET = `cron-${randomBytes(24).toString("hex")}`;
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };
const CRON = { authorization: `Bearer ${CRON_SECRET}` };

const call = (base: string, method: string, path: string, headers: Record<string, string>): Promise<RawReply> => rawRequest(base, method, path, { headers });

describeWithPostgres("interval, one-time and bounded schedules over HTTP and the CLI", () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let server: NextServer;
  const base = () => server.url;
  const q = async (text: string, params: unknown[] = []) => (await pool.query(text, params)).rows;
  const execute = (job: string, query: string, method = "POST") => call(base(), method, `/api/cron/execute/${job}${query}`, CRON);
  const cli = (args: string[]) => runCli(args, { env: { DATABASE_URL: database.url, CRON_SECRET, CRONDECK_FEATURE_JOBS: "1" } });

  beforeAll(async () => {
    database = await createTestDatabase("postgres", { migrate: false });
    pool = new pg.Pool({ connectionString: database.url, max: 3 });
    server = await startNextServer({ env: { DATABASE_URL: database.url, ADMIN_TOKEN, CRON_SECRET, CRONDECK_FEATURE_JOBS: "1" } });
    const warm = await call(base(), "GET", "/api/admin/cron-jobs", ADMIN);
    expect(warm.status, warm.text).toBe(200);
  });

  afterAll(async () => {
    await server?.stop();
    await pool?.end();
    await database?.dispose();
  });

  it("an interval job runs a slot of its grid (once), and a minute off the grid is a 400 that names the schedule in words and writes nothing", async () => {
    const slot = "2026-11-29T13:17:00.000Z"; // a Sunday: epoch + 3d 13h 17m + k * 7d
    const ran = await execute("feature-interval", `?trigger=tick&slot=${slot}`);
    expect(ran.status, ran.text).toBe(200);
    expect(ran.body.execution).toMatchObject({ status: "completed", scheduledFor: slot, trigger: "tick" });
    const again = await execute("feature-interval", `?trigger=tick&slot=${slot}`);
    expect(again.status, again.text).toBeLessThan(500);
    const before = await q("SELECT count(*)::int AS n FROM cron_job_logs");
    const off = await execute("feature-interval", "?trigger=tick&slot=2026-11-29T13:00:00Z");
    expect(off.status, off.text).toBe(400);
    // The cron routes' error shape: { success: false, error: <message>, code }.
    expect(off.body.code).toBe("invalid_slot");
    expect(off.body.error).toContain("every 7 days");
    expect(off.body.error).toContain("every 7d offset 5117m");
    expect(await q("SELECT count(*)::int AS n FROM cron_job_logs")).toEqual(before);
    const rows = await q("SELECT status, scheduled_for FROM cron_job_logs WHERE job_name = 'feature-interval' AND status <> 'skipped'");
    expect(rows.map((r) => [r.status, new Date(r.scheduled_for).toISOString()])).toEqual([["completed", slot]]);
  });

  it("a Vercel-dispatched bounded job: a call outside startAt/endAt is an outside_window skip with its row; a slot inside the window runs", async () => {
    // Vercel Cron's GET now (after endAt 2026-06-30): the current slot is outside the window.
    const now = await execute("feature-bounded", "", "GET");
    expect(now.status, now.text).toBe(200);
    expect(now.body).toMatchObject({ skipped: true, reason: "outside_window" });
    const before = await execute("feature-bounded", "?trigger=catchup&slot=2025-12-31T04:17:00Z");
    expect(before.body, before.text).toMatchObject({ skipped: true, reason: "outside_window", execution: { scheduledFor: "2025-12-31T04:17:00.000Z" } });
    const inside = await execute("feature-bounded", "?trigger=catchup&slot=2026-03-01T04:17:00Z");
    expect(inside.body.execution, inside.text).toMatchObject({ status: "completed", scheduledFor: "2026-03-01T04:17:00.000Z" });
    const rows = await q("SELECT status, skip_reason, scheduled_for FROM cron_job_logs WHERE job_name = 'feature-bounded' ORDER BY scheduled_for");
    expect(rows.map((r) => [r.status, r.skip_reason, new Date(r.scheduled_for).toISOString()])).toEqual([
      ["skipped", "outside_window", "2025-12-31T04:17:00.000Z"],
      ["completed", null, "2026-03-01T04:17:00.000Z"],
      ["skipped", "outside_window", now.body.execution.scheduledFor],
    ]);
    expect(new Date(now.body.execution.scheduledFor).getTime()).toBeGreaterThan(Date.parse("2026-06-30T23:59:59Z"));
  });

  it("a one-time job: its slot runs once (a second call is a duplicate), another minute is a 400, and a job whose slot is to come answers 409 no_slot", async () => {
    const slot = "2026-03-01T12:00:00.000Z";
    const ran = await execute("feature-once", `?trigger=catchup&slot=${slot}`);
    expect(ran.body.execution, ran.text).toMatchObject({ status: "completed", scheduledFor: slot });
    const twice = await execute("feature-once", `?trigger=catchup&slot=${slot}`);
    expect(twice.status, twice.text).toBeLessThan(500);
    expect(await q("SELECT count(*)::int AS n FROM cron_job_logs WHERE job_name = 'feature-once' AND status = 'completed'")).toEqual([{ n: 1 }]);
    const other = await execute("feature-once", "?trigger=catchup&slot=2026-03-01T12:01:00Z");
    expect(other.status, other.text).toBe(400);
    expect(other.body.error).toContain("once at 2026-03-01 12:00 UTC");
    const early = await execute("feature-once-later", "", "GET");
    expect(early.status, early.text).toBe(409);
    expect(early.body.code).toBe("no_slot");
    expect(early.body.error).toContain("once at 2036-12-24 08:00 UTC");
    expect(await q("SELECT count(*)::int AS n FROM cron_job_logs WHERE job_name = 'feature-once-later'")).toEqual([{ n: 0 }]);
  });

  it("the admin API shows each kind: cron jobs keep schedule and timezone, intervals add the interval, one-time jobs their slot, ended jobs no next run", async () => {
    const list = await call(base(), "GET", "/api/admin/cron-jobs", ADMIN);
    expect(list.status, list.text).toBe(200);
    const byName = new Map<string, any>(list.body.jobs.map((j: any) => [j.name, j]));
    expect(byName.get("health-check")).toMatchObject({ scheduleKind: "cron", timezone: "UTC", every: null });
    expect(typeof byName.get("health-check").schedule).toBe("string");
    expect(byName.get("feature-interval")).toMatchObject({ scheduleKind: "every", schedule: "every 7d offset 5117m", every: "7d", everyMs: 604_800_000, offsetMs: 307_020_000, timezone: "UTC", dispatch: "tick", scheduleInWords: "Every 7 days, offset 5117 minutes from the UTC grid" });
    expect(new Date(byName.get("feature-interval").nextRunAt).getUTCDay()).toBe(0);
    expect(byName.get("feature-once")).toMatchObject({ scheduleKind: "once", runAt: "2026-03-01T12:00:00.000Z", nextRunAt: null });
    expect(byName.get("feature-bounded")).toMatchObject({ scheduleKind: "cron", schedule: "17 4 * * *", startAt: "2026-01-01T00:00:00.000Z", endAt: "2026-06-30T23:59:59.000Z", nextRunAt: null, dispatch: "vercel" });
    expect(byName.get("feature-jittered")).toMatchObject({ jitterMs: 30_000, timezone: "Europe/Paris" });
    const one = await call(base(), "GET", "/api/cron/jobs/feature-once-later", CRON);
    expect(one.body.job, one.text).toMatchObject({ scheduleKind: "once", nextRunAt: "2036-12-24T08:00:00.000Z" });
  });

  it("the CLI: jobs list shows the interval and no further runs; doctor says a one-time job to come has no slot yet and names an ended job's last slot", async () => {
    const list = await cli(["jobs", "list", "--json"]);
    expect(list.code, list.stderr).toBe(0);
    const jobs = new Map<string, any>(JSON.parse(list.stdout).jobs.map((j: any) => [j.name, j]));
    expect(jobs.get("feature-interval")).toMatchObject({ schedule: "every 7d offset 5117m", scheduleKind: "every" });
    expect(jobs.get("feature-once")).toMatchObject({ nextRunAt: null });
    const human = await cli(["jobs", "list"]);
    expect(human.stdout).toMatch(/feature-once\s.*no further runs/);

    const doctor = await cli(["doctor", "--json"]);
    const report = JSON.parse(doctor.stdout);
    const d = new Map<string, any>(report.jobs.map((j: any) => [j.job, j]));
    expect(d.get("feature-once-later")).toMatchObject({ outcome: "not_started", slot: null, severity: "info" });
    expect(d.get("feature-once-later").detail).toContain("runs once at 2036-12-24 08:00:00Z");
    // The one-time job's slot ran above: doctor finds its run.
    expect(d.get("feature-once")).toMatchObject({ slot: "2026-03-01T12:00:00.000Z", outcome: "ran", schedule: "once 2026-03-01T12:00:00.000Z" });
    expect(d.get("feature-bounded")).toMatchObject({ slot: "2026-06-30T04:17:00.000Z" });
  });
});
