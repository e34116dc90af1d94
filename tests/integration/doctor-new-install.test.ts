import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { runTick, type Dispatcher } from "@/lib/app/tick";
import { defineJob } from "@/lib/cron/define-job";
import { isSlotExpected } from "@/lib/cron/expected-slots";
import { JobRegistry } from "@/lib/cron/registry";
import { queryRows } from "@/lib/db/client";
import { writeDevState } from "@/lib/dev/dev-state";
import { loadEnv } from "@/lib/env";
import { createContext, type CliContext } from "@/scripts/cli/context";
import { diagnose, doctor } from "@/scripts/cli/doctor";
import { createTestDatabase, serverAnswers, testDatabaseKinds, type TestDatabase } from "../support/db";

/**
 * doctor on a brand-new database: a slot from before Crondeck first knew a job is not a miss
 * (the tick's rule: no bookmark yet, nothing before now was expected). Once the tick has seen
 * the job, a slot after its bookmark with no trigger is a miss, for doctor and for the tick
 * alike. Driven in process with a fake clock (the CLI context's `now`) over the real tick
 * policy and the real database; jobs of the test's own, never the registry's.
 */
const tag = `${process.pid}-${Date.now().toString(36)}`;
const fiveMin = defineJob({ name: `dn-five-${tag}`, schedule: "*/5 * * * *", timeout: "5s", handler: async () => "ok" });
const weekly = defineJob({ name: `dn-weekly-${tag}`, schedule: "0 0 * * 0", timeout: "5s", handler: async () => "ok" });
const registry = new JobRegistry([fiveMin, weekly]);
const SECRET = "doctor-new-install-secret-0123456789";

/** Temporary directories of this file, removed when it ends. */
const temps: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
};
afterAll(() => temps.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

const serverUp = testDatabaseKinds().includes("postgres") ? await serverAnswers() : false;

/** `crondeck doctor --json` in process: the CLI context with a fake clock, the test's registry, root and database. */
async function doctorJson(database: TestDatabase, opts: { at: string; root: string; registry: JobRegistry }): Promise<{ code: number; json: any }> {
  const base = createContext({ json: true, now: () => new Date(opts.at) });
  const env = { ...loadEnv(new Map()), CRON_SECRET: SECRET, CRON_PLAN: "pro" as const };
  const ctx: CliContext = { ...base, root: opts.root, env: () => env, registry: () => opts.registry, database: async () => database };
  let out = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
  try {
    return { code: await doctor(ctx, { args: [], options: {} }), json: JSON.parse(out) };
  } finally {
    vi.restoreAllMocks();
  }
}

describe.each(testDatabaseKinds())("doctor on a new install [%s]", (kind) => {
  let database: TestDatabase;
  const root = tempDir("crondeck-doctor-"); // no vercel.json, no dev state
  beforeAll(async () => {
    if (kind === "postgres" && !serverUp) return;
    database = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await database?.dispose();
  });

  const runDoctor = (at: string) => doctorJson(database, { at, root, registry });
  const byJob = (json: any) => Object.fromEntries(json.jobs.map((j: { job: string }) => [j.job, j]));
  const dispatch: Dispatcher = async (request) => ({ request, status: 200 });

  it.skipIf(kind === "postgres" && !serverUp)("slots before the install are new (info, exit 0); after the tick's first sight a slot with no trigger is missed, as the tick records it", async () => {
    // Installed (migrated) at 10:07:30; the five-minute job's 10:05 slot and the weekly job's last Sunday came before.
    const first = await runDoctor("2026-11-24T10:07:30Z");
    expect(first.code).toBe(0);
    expect(first.json.ok).toBe(true);
    expect(byJob(first.json)[fiveMin.name]).toMatchObject({ slot: "2026-11-24T10:05:00.000Z", outcome: "new", severity: "info" });
    expect(byJob(first.json)[weekly.name]).toMatchObject({ slot: "2026-11-22T00:00:00.000Z", outcome: "new", severity: "info" });
    expect(byJob(first.json)[fiveMin.name].detail).toContain("next slot is 2026-11-24 10:10:00Z");

    // The tick first sees the jobs at 10:08: its bookmark is 10:07 (now minus the grace). It records nothing.
    const tick1 = await runTick({ db: database.db, registry, dispatch, plan: "pro", holder: "doctor-test", now: new Date("2026-11-24T10:08:00Z") });
    expect(tick1.missed).toEqual([]);
    expect((await runDoctor("2026-11-24T10:08:10Z")).code).toBe(0);

    // 10:10 passes with no trigger. Past its grace, doctor calls it missed before the tick does ...
    const before = await runDoctor("2026-11-24T10:11:30Z");
    expect(before.code).toBe(1);
    expect(byJob(before.json)[fiveMin.name]).toMatchObject({ slot: "2026-11-24T10:10:00.000Z", outcome: "missed", severity: "error" });
    expect(byJob(before.json)[weekly.name]).toMatchObject({ outcome: "new", severity: "info" });
    // ... and the tick agrees: it records exactly that slot missed.
    const tick2 = await runTick({ db: database.db, registry, dispatch, plan: "pro", holder: "doctor-test", now: new Date("2026-11-24T10:12:00Z") });
    expect(tick2.missed).toEqual([expect.objectContaining({ jobName: fiveMin.name, slots: ["2026-11-24T10:10:00.000Z"] })]);
    const after = await runDoctor("2026-11-24T10:12:10Z");
    expect(byJob(after.json)[fiveMin.name]).toMatchObject({ outcome: "missed", status: "missed", severity: "error" });
  });

  it.skipIf(kind === "postgres" && !serverUp)("a job with an earlier run is known since that run, even before the tick saw it", async () => {
    const job = defineJob({ name: `dn-ran-${tag}`, schedule: "0 * * * *", timeout: "5s", handler: async () => "ok" });
    await queryRows(database.db, sql`INSERT INTO cron_job_logs (job_name, status, started_at, trigger) VALUES (${job.name}, 'completed', '2026-11-24T07:30:00Z', 'manual')`);
    const [row] = await queryRows<{ first: unknown }>(database.db, sql`SELECT min(started_at) AS first FROM cron_job_logs WHERE job_name = ${job.name}`);
    expect(row.first).toBeTruthy();
    const { jobKnowledge } = await import("@/lib/db/queries/doctor");
    const known = (await jobKnowledge(database.db, [job.name, "dn-never-heard-of"])).get(job.name)!;
    expect(known).toEqual({ missedCheckedUntil: null, firstRunAt: new Date("2026-11-24T07:30:00Z") });
    expect(isSlotExpected(new Date("2026-11-24T07:00:00Z"), known)).toBe(false);
    expect(isSlotExpected(new Date("2026-11-24T09:00:00Z"), known)).toBe(true);
  });
});

describe("doctor and a running npm run dev (dev state file)", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase("pglite");
  });
  afterAll(async () => {
    await database?.dispose();
  });

  const runDoctor = (root: string, jobs: JobRegistry) => doctorJson(database, { at: "2026-11-24T10:07:30Z", root, registry: jobs });
  const tickOwned = defineJob({ name: `dn-tz-${tag}`, schedule: { cron: "0 9 * * *", timezone: "Europe/Paris" }, timeout: "5s", handler: async () => "ok" });
  const jobs = new JobRegistry([fiveMin, tickOwned]);
  const state = (crons: Array<{ path: string; schedule: string }>, enabled = true, pid = process.pid) => ({
    pid,
    url: "http://localhost:4000",
    startedAt: "2026-11-24T10:00:00Z",
    scheduler: { enabled, crons, updatedAt: "2026-11-24T10:00:00Z" },
  });

  it("reports each job the local scheduler does not fire as an error with the fix; nothing when every job is fired or no dev runs", async () => {
    const root = tempDir("crondeck-doctor-dev-");
    writeDevState(root, state([{ path: "/api/cron/execute/health-check", schedule: "*/5 * * * *" }]));
    const unfired = await runDoctor(root, jobs);
    expect(unfired.code).toBe(1);
    const problems = unfired.json.config.filter((f: { code: string }) => f.code === "local_scheduler_unfired");
    expect(problems).toHaveLength(2);
    expect(problems[0].message).toContain(`job "${fiveMin.name}" is not fired by the local scheduler of npm run dev (pid ${process.pid}, http://localhost:4000)`);
    expect(problems[1].message).toContain(`job "${tickOwned.name}" is dispatched by the tick, but the local scheduler`);
    expect(problems[1].message).toContain("npm run cron:sync");

    writeDevState(root, state([{ path: `/api/cron/execute/${fiveMin.name}`, schedule: "*/5 * * * *" }, { path: "/api/cron/tick", schedule: "* * * * *" }]));
    const fired = await runDoctor(root, jobs);
    expect(fired.json.config).toContainEqual(expect.objectContaining({ severity: "ok", code: "local_scheduler" }));
    expect(fired.json.config.some((f: { code: string }) => f.code === "local_scheduler_unfired")).toBe(false);

    writeDevState(root, state([], false));
    expect((await runDoctor(root, jobs)).json.config).toContainEqual(expect.objectContaining({ severity: "warning", code: "local_scheduler_off" }));

    // A state file whose process is gone is ignored.
    writeDevState(root, state([], true, 2 ** 22 + 12345));
    expect((await runDoctor(root, jobs)).json.config.some((f: { code: string }) => f.code.startsWith("local_scheduler"))).toBe(false);
  });

  it("a vercel-dispatched job that vercel.json has no cron for is an error naming the job and npm run cron:sync", async () => {
    const root = tempDir("crondeck-doctor-vercel-");
    const { writeFileSync } = await import("node:fs");
    // The deployed registry's jobs (lib/jobs): vercel.json lists only the tick.
    writeFileSync(join(root, "vercel.json"), JSON.stringify({ crons: [{ path: "/api/cron/tick", schedule: "* * * * *" }] }));
    const r = await runDoctor(root, jobs);
    expect(r.code).toBe(1);
    expect(r.json.config).toContainEqual({
      severity: "error",
      code: "vercel_missing_cron",
      message: 'vercel.json has no cron for job "health-check" (dispatch: "vercel"): Vercel Cron will never trigger it. Run `npm run cron:sync` and commit vercel.json',
    });
  });
});

describe("diagnose without what the database knows", () => {
  it("keeps the old verdict (missed) so callers that know nothing are unchanged", () => {
    const d = diagnose(fiveMin, new Date("2026-11-24T10:05:00Z"), undefined, undefined, new Date("2026-11-24T10:07:30Z"), 60_000, (t) => t);
    expect(d).toMatchObject({ outcome: "missed", severity: "error" });
    const known = diagnose(fiveMin, new Date("2026-11-24T10:05:00Z"), undefined, undefined, new Date("2026-11-24T10:07:30Z"), 60_000, (t) => t, { missedCheckedUntil: null, firstRunAt: null });
    expect(known).toMatchObject({ outcome: "new", severity: "info" });
  });
});

describe("doctor while another process holds the embedded database", () => {
  it("still checks the configuration, warns (not fails) about the database, and says what the slot checks need", async () => {
    const { openDatabase } = await import("@/lib/db/client");
    const { runCli } = await import("../support/cli");
    const dataDir = join(tempDir("crondeck-doctor-busy-"), "pglite");
    const held = await openDatabase({ kind: "pglite", dataDir }); // this test process plays npm run dev
    try {
      const r = await runCli(["doctor"], { env: { DATABASE_URL: "", PGLITE_DIR: dataDir, CRON_SECRET: SECRET, CRON_PLAN: "pro" } });
      expect(r.stdout).toMatch(/ok\s+CRON_SECRET is set/);
      expect(r.stdout).toMatch(/warning\s+.*process \d+/);
      expect(r.stdout).toContain("Jobs: not checked: the slot checks need the database, which");
      expect(r.stdout).toContain("Stop npm run dev and run doctor again, or set DATABASE_URL to a Postgres server both use.");
      expect(`${r.stdout}\n${r.stderr}`).not.toMatch(/\n\s+at [\w.<]+ \(|node:internal/);
    } finally {
      await held.close();
    }
  });
});
