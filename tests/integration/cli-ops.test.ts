import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { vercelCronsFor } from "@/lib/vercel/crons";
import { queryRows } from "@/lib/db/client";
import { jobs } from "@/lib/jobs";
import { runNode, type CliResult } from "../support/cli";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/db";

/**
 * The CLI's lease, statistics and vercel.json commands, as child processes on a fresh
 * database of the Postgres server. vercel.json goes through bin/crondeck.mjs from another
 * directory, with --file relative to it.
 */

const root = resolve(import.meta.dirname, "../..");
let database: TestDatabase;
let tmp: string;


function run(command: string[], opts: { cwd?: string; env?: Record<string, string | undefined> } = {}): Promise<CliResult> {
  return runNode(command, { cwd: opts.cwd, env: { DATABASE_URL: database?.url, CRON_SECRET: "cli-ops-secret-0123456789abcdef", CRON_DEMO: "1", CRON_PLAN: "", ...opts.env } });
}

const cli = (args: string[], env?: Record<string, string | undefined>) => run(["--import", "tsx", "scripts/cli.ts", ...args], { env });
/** The installed command, typed in another directory. */
const bin = (args: string[], cwd: string) => run([resolve(root, "bin/crondeck.mjs"), ...args], { cwd });
const rows = <T = Record<string, any>>(query: ReturnType<typeof sql>) => queryRows<T>(database.db, query);

describeWithPostgres("crondeck CLI: locks, stats, vercel.json [postgres]", () => {
  const host = hostname();
  // A pid that existed a moment ago and is gone now.
  const deadPid = spawnSync("sh", ["-c", "exit 0"]).pid;

  beforeAll(async () => {
    database = await createTestDatabase("postgres");
    tmp = mkdtempSync(join(tmpdir(), "crondeck-cli-"));
  });
  afterAll(async () => {
    await database?.dispose();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("locks stats: the last 24 hours, leases now, and jobs that time out often", async () => {
    await rows(sql`INSERT INTO cron_job_logs (job_name, status, started_at, completed_at, trigger, skip_reason) VALUES
      ('stats-a', 'completed', now() - interval '1 hour', now() - interval '1 hour', 'schedule', NULL),
      ('stats-a', 'completed', now() - interval '2 hours', now() - interval '2 hours', 'schedule', NULL),
      ('stats-a', 'completed', now() - interval '3 hours', now() - interval '3 hours', 'schedule', NULL),
      ('stats-a', 'timed_out', now() - interval '4 hours', now() - interval '4 hours', 'schedule', NULL),
      ('stats-a', 'timed_out', now() - interval '30 minutes', now() - interval '29 minutes', 'schedule', NULL),
      ('stats-a', 'timed_out', now() - interval '3 days', now() - interval '3 days', 'schedule', NULL),
      ('stats-a', 'skipped', now() - interval '1 hour', now() - interval '1 hour', 'schedule', 'already_running'),
      ('stats-a', 'skipped', now() - interval '1 hour', now() - interval '1 hour', 'schedule', 'duplicate'),
      ('stats-a', 'failed', now() - interval '2 days', now() - interval '2 days', 'schedule', NULL),
      ('stats-b', 'timed_out', now() - interval '2 days', now() - interval '2 days', 'schedule', NULL),
      ('stats-b', 'abandoned', now() - interval '5 hours', now() - interval '5 hours', 'schedule', NULL),
      ('stats-c', 'timed_out', now() - interval '8 days', now() - interval '8 days', 'schedule', NULL),
      ('stats-c', 'timed_out', now() - interval '9 days', now() - interval '9 days', 'schedule', NULL)`);
    // Three leases: live on Vercel, expired on this host by a process that is gone, live held by this test's process.
    await rows(sql`INSERT INTO cron_job_logs (id, job_name, status, started_at, trigger, fencing_token, lease_expires_at, holder) VALUES
      ('dddddddd-0000-4000-8000-000000000001', 'health-check', 'started', now() - interval '20 seconds', 'schedule', 101, now() + interval '40 seconds', 'dpl_123/iad1'),
      ('dddddddd-0000-4000-8000-000000000002', 'demo-pulse', 'started', now() - interval '10 minutes', 'schedule', 102, now() - interval '5 minutes', ${`${host}:${deadPid}`}),
      ('dddddddd-0000-4000-8000-000000000003', 'demo-slow', 'started', now() - interval '5 seconds', 'manual', 103, now() + interval '55 seconds', ${`${host}:${process.pid}`})`);
    await rows(sql`INSERT INTO cron_job_leases (job_name, run_id, fencing_token, holder, acquired_at, expires_at) VALUES
      ('health-check', 'dddddddd-0000-4000-8000-000000000001', 101, 'dpl_123/iad1', now() - interval '20 seconds', now() + interval '40 seconds'),
      ('demo-pulse', 'dddddddd-0000-4000-8000-000000000002', 102, ${`${host}:${deadPid}`}, now() - interval '10 minutes', now() - interval '5 minutes'),
      ('demo-slow', 'dddddddd-0000-4000-8000-000000000003', 103, ${`${host}:${process.pid}`}, now() - interval '5 seconds', now() + interval '55 seconds')`);

    const [json, human] = await Promise.all([cli(["locks", "stats", "--json"]), cli(["locks", "stats"])]);
    expect(json.code).toBe(0);
    // Three started runs (the leases' runs) count as executions too.
    expect(json.json).toMatchObject({
      ok: true,
      windowHours: 24,
      executions: 9,
      completed: 3,
      failed: 0,
      timeouts: 2,
      abandoned: 1,
      skipped: 2,
      // As GET /api/admin/statistics counts them: the lease was held (already_running) or the slot had its run (duplicate).
      lockMisses: 2,
      currentlyLocked: 2,
      staleLeases: 1,
    });
    expect(json.json.timeoutRate).toBeCloseTo(2 / 9, 6);
    expect(json.json.frequentTimeouts).toEqual([{ jobName: "stats-a", timeouts: 3, lastTimeoutAt: expect.stringMatching(/Z$/) }]);
    const [last] = await rows<{ at: string }>(sql`SELECT max(completed_at) AS at FROM cron_job_logs WHERE job_name = 'stats-a' AND status = 'timed_out'`);
    expect(new Date(json.json.frequentTimeouts[0].lastTimeoutAt).getTime()).toBe(new Date(last.at).getTime());
    expect(human.stdout).toMatch(/timeout rate\s+22\.2%/);
    expect(human.stdout).toMatch(/stats-a\s+3\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/);
  });

  it("locks list and stale: holder, ages, and STALE with the holder process gone", async () => {
    const [list, verbose, stale] = await Promise.all([cli(["locks", "list", "--json"]), cli(["locks", "list", "--verbose"]), cli(["locks", "stale", "--json"])]);
    expect(list.code).toBe(0);
    expect(list.json.total).toBe(3);
    const byJob = Object.fromEntries(list.json.locks.map((l: { jobName: string }) => [l.jobName, l]));
    expect(byJob["demo-pulse"]).toMatchObject({
      holder: `${host}:${deadPid}`,
      expired: true,
      stale: true,
      holderProcess: "not_running",
      heldForSeconds: expect.any(Number),
      warnings: [expect.stringMatching(/^STALE: expired 5m \d\ds ago$/), "holder process not running"],
    });
    expect(byJob["demo-pulse"].heldForSeconds).toBeGreaterThanOrEqual(600);
    expect(byJob["health-check"]).toMatchObject({ holderProcess: "other_host", stale: false, expired: false, warnings: [] });
    expect(byJob["health-check"].expiresInSeconds).toBeGreaterThan(20);
    expect(byJob["demo-slow"]).toMatchObject({ holderProcess: "running", stale: false, run: { status: "started", trigger: "manual" } });

    expect(verbose.stdout).toMatch(/^JOB\s+HOLDER\s+ACQUIRED\s+HELD FOR\s+EXPIRES IN\s+RUN\s+TOKEN\s+TRIGGER\s+SLOT\s+RUN STATUS\s+WARNING$/m);
    expect(verbose.stdout).toMatch(/demo-pulse .*expired .*dddddddd-0000-4000-8000-000000000002 .*STALE: expired 5m \d\ds ago; holder process not running/);
    expect(verbose.stdout).toContain("3 leases held, 1 stale.");

    expect(stale.json.locks.map((l: { jobName: string }) => l.jobName)).toEqual(["demo-pulse"]);
  });

  it("locks clear frees a lease and ends its run in one step; a live lease and clear-all need --force", async () => {
    // health-check's lease is live: refused, with the fix, and nothing changes.
    const live = await cli(["locks", "clear", "dddddddd-0000-4000-8000-000000000001", "--json"]);
    expect(live.code).toBe(1);
    expect(live.json.error).toMatchObject({ code: "lock_live", message: expect.stringContaining("--force") });
    expect(await rows(sql`SELECT status FROM cron_job_logs WHERE id = 'dddddddd-0000-4000-8000-000000000001'`)).toEqual([{ status: "started" }]);
    expect((await rows(sql`SELECT 1 FROM cron_job_leases WHERE job_name = 'health-check'`)).length).toBe(1);

    const [byJob, byRun] = await Promise.all([
      cli(["locks", "clear", "demo-pulse", "--json"]),
      cli(["locks", "clear", "dddddddd-0000-4000-8000-000000000001", "--force"]),
    ]);
    expect(byJob.code).toBe(0);
    expect(byJob.json.cleared).toEqual([{ jobName: "demo-pulse", runId: "dddddddd-0000-4000-8000-000000000002", holder: `${host}:${deadPid}`, acquiredAt: expect.any(String), runAbandoned: true }]);
    expect(byRun.code).toBe(0);
    expect(byRun.stdout).toContain("cleared the lease of health-check");
    const ended = await rows(sql`SELECT id, status, error_message, lease_expires_at FROM cron_job_logs WHERE id IN ('dddddddd-0000-4000-8000-000000000001', 'dddddddd-0000-4000-8000-000000000002') ORDER BY id`);
    for (const r of ended) expect(r).toMatchObject({ status: "abandoned", error_message: expect.stringMatching(/^cleared by cli:\S+: the lease of holder /), lease_expires_at: null });
    const leases = await rows<{ job_name: string }>(sql`SELECT job_name FROM cron_job_leases`);
    expect(leases.map((l) => l.job_name)).toEqual(["demo-slow"]);

    const [again, unknown, unforced] = await Promise.all([cli(["locks", "clear", "demo-pulse"]), cli(["locks", "clear", "no-such-job"]), cli(["locks", "clear-all"])]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("demo-pulse holds no lease: nothing to clear");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown job "no-such-job"');
    expect(unforced.code).toBe(2);
    expect(unforced.stderr).toContain("refusing to clear every lease without --force");
    expect((await rows(sql`SELECT 1 FROM cron_job_leases`)).length).toBe(1);

    const all = await cli(["locks", "clear-all", "--force", "--json"]);
    expect(all.code).toBe(0);
    expect(all.json.cleared.map((c: { jobName: string }) => c.jobName)).toEqual(["demo-slow"]);
    expect(await rows(sql`SELECT 1 FROM cron_job_leases`)).toEqual([]);
    const audit = await rows(sql`SELECT action, target, detail FROM cron_audit_log WHERE action = 'lock.clear' ORDER BY id`);
    expect(audit).toHaveLength(3);
    expect(audit[2]).toMatchObject({ target: null, detail: { all: true, count: 1 } });
  });

  it("refuses control characters in options and arguments with the option named, and changes nothing", async () => {
    const before = await rows(sql`SELECT count(*)::int AS n FROM cron_audit_log`);
    const [escape, bell] = await Promise.all([
      cli(["jobs", "pause", "demo-pulse", "--note", "maintenance \u001b[2J\u001b[Hall clear", "--json"]),
      cli(["jobs", "pause", "demo-\u0007pulse"]),
    ]);
    expect(escape.code).toBe(2);
    expect(escape.json.error).toMatchObject({ code: "invalid_option", message: expect.stringContaining("--note contains the control character U+001B") });
    expect(bell.code).toBe(2);
    expect(bell.stderr).toContain("contains the control character U+0007");
    expect(await rows(sql`SELECT paused FROM cron_job_config WHERE job_name = 'demo-pulse'`)).not.toContainEqual({ paused: true });
    expect(await rows(sql`SELECT count(*)::int AS n FROM cron_audit_log`)).toEqual(before);
  });

  it("vercel sync writes the registry's crons; vercel check exits 1 on errors and 0 with warnings", async () => {
    const good = join(tmp, "vercel.json");
    writeFileSync(good, `${JSON.stringify({ $schema: "https://openapi.vercel.sh/vercel.json", trailingSlash: false, regions: ["fra1"] }, null, 2)}\n`);
    const sync = await bin(["vercel", "sync", "--file", "vercel.json", "--json"], tmp);
    expect(sync.code).toBe(0);
    expect(sync.json).toMatchObject({ ok: true, file: good, plan: "pro", written: true });
    const written = JSON.parse(readFileSync(good, "utf8"));
    expect(written).toEqual({ $schema: "https://openapi.vercel.sh/vercel.json", trailingSlash: false, regions: ["fra1"], crons: vercelCronsFor(jobs) });

    writeFileSync(join(tmp, "slash.json"), JSON.stringify({ ...written, trailingSlash: true }));
    writeFileSync(join(tmp, "broken.json"), "{ crons: [");
    const file = (name: string) => join(tmp, name);
    const [check, slash, hobby, missing, broken, badPlan] = await Promise.all([
      bin(["vercel", "check", "--file", "vercel.json", "--json"], tmp),
      cli(["vercel", "check", "--file", file("slash.json"), "--json"]),
      cli(["vercel", "check", "--file", good, "--plan", "hobby"]),
      cli(["vercel", "check", "--file", file("nope.json")]),
      cli(["vercel", "check", "--file", file("broken.json")]),
      cli(["vercel", "check", "--plan", "enterprise"]),
    ]);
    expect(check.code).toBe(0);
    expect(check.json).toMatchObject({ ok: true, errors: [], crons: written.crons.length });
    // defineJob keeps every timeout within the execute route's 300 s, so the registry cannot draw that warning.
    expect(check.json.warnings.map((w: { code: string }) => w.code)).not.toContain("max_duration_below_timeout");

    expect(slash.code).toBe(1);
    expect(slash.json.errors.map((e: { code: string }) => e.code)).toEqual(["trailing_slash"]);
    expect(slash.json.errors[0].message).toContain("does not follow redirects");

    expect(hobby.code).toBe(1);
    expect(hobby.stdout).toContain('error: /api/cron/execute/health-check ("*/5 * * * *") would run more than once a day: Hobby allows one run a day per cron');

    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("nope.json does not exist: `crondeck vercel sync` writes it");
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain("broken.json is not valid JSON");
    expect(badPlan.code).toBe(2);
    expect(badPlan.stderr).toContain('--plan must be hobby or pro; got "enterprise"');

    const unchanged = await cli(["vercel", "sync", "--file", good]);
    expect(unchanged.code).toBe(0);
    expect(unchanged.stdout).toContain("already matches the registry");
  });
});
