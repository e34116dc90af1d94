import { resolve } from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nextRunAfter, slotAt } from "@/lib/cron/schedule";
import { queryRows } from "@/lib/db/client";
import { runCli, type CliResult } from "../support/cli";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/db";

/**
 * The CLI as operators run it: a child process (`node --import tsx scripts/cli.ts ...`) on a
 * fresh database of the Postgres server, against rows the test puts there. Jobs, the
 * dead-letter queue, logs, doctor and the command line itself; locks, stats and vercel.json
 * are in cli-ops.test.ts.
 */

const root = resolve(import.meta.dirname, "../..");
const SECRET = "cli-test-secret-0123456789abcdef";


let database: TestDatabase;

function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return runCli(args, { env: { DATABASE_URL: database?.url, CRON_SECRET: SECRET, CRON_DEMO: "1", CRON_PLAN: "pro", ...env } });
}

const rows = <T = Record<string, any>>(query: ReturnType<typeof sql>) => queryRows<T>(database.db, query);
const noStack = (r: CliResult) => expect(`${r.stdout}\n${r.stderr}`).not.toMatch(/\n\s+at [\w.<]+ \(|node:internal/);

describeWithPostgres("crondeck CLI [postgres]", () => {
  beforeAll(async () => {
    database = await createTestDatabase("postgres");
  });
  afterAll(async () => {
    await database?.dispose();
  });

  it("answers --help on every level, and usage errors with exit code 2 and the fix", async () => {
    const [top, group, command, unknown, unknownJob, badOption, jsonError] = await Promise.all([
      cli(["--help"]),
      cli(["dlq", "--help"]),
      cli(["jobs", "run", "--help"]),
      cli(["jobz"]),
      cli(["jobs", "run", "no-such-job"]),
      cli(["logs", "cleanup", "--days", "0"]),
      cli(["jobs", "pause", "--json"]),
    ]);
    expect(top.code).toBe(0);
    for (const c of ["jobs list", "jobs run <job>", "locks clear-all", "dlq mark-failed <id>", "logs cleanup", "vercel check", "doctor [job]", "stress"]) expect(top.stdout).toContain(c);
    expect(group.code).toBe(0);
    expect(group.stdout).toContain("crondeck dlq replay <id>");
    expect(command.code).toBe(0);
    expect(command.stdout).toMatch(/^Usage: crondeck jobs run <job> \[options\]/);
    expect(command.stdout).toContain("--json");

    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "jobz": run `crondeck --help`');
    expect(unknownJob.code).toBe(2);
    expect(unknownJob.stderr).toContain('unknown job "no-such-job": run `crondeck jobs list`');
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toContain("--days must be a whole number from 1");
    // --json: the error is JSON on stdout too, and nothing else is.
    expect(jsonError.code).toBe(2);
    expect(jsonError.json).toEqual({ ok: false, error: { code: "missing_argument", message: expect.stringContaining("missing <job>") } });
    expect(jsonError.stderr).toContain("missing <job>");
    for (const r of [unknown, unknownJob, badOption]) {
      expect(r.stdout).toBe("");
      noStack(r);
    }
  });

  it("jobs list: an aligned table, and JSON with each job's definition and state", async () => {
    await rows(sql`INSERT INTO cron_job_config (job_name, enabled, paused, paused_reason) VALUES ('demo-pulse', NULL, true, 'too chatty')`);
    const [human, json] = await Promise.all([cli(["jobs", "list"]), cli(["jobs", "list", "--json"])]);
    expect(human.code).toBe(0);
    const lines = human.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+SCHEDULE\s+STATE\s+LAST RUN\s+NEXT RUN\s+TIMEOUT\s+RETRIES\s+OVERLAP$/);
    const header = lines[0];
    const row = lines.find((l) => l.startsWith("demo-pulse "))!;
    expect(row.indexOf("paused")).toBe(header.indexOf("STATE"));
    expect(row.slice(header.indexOf("NEXT RUN"))).toMatch(/^none: paused/);
    expect(json.code).toBe(0);
    expect(json.json.ok).toBe(true);
    const names = json.json.jobs.map((j: { name: string }) => j.name);
    expect(names).toEqual(expect.arrayContaining(["health-check", "cleanup-old-logs", "demo-pulse", "demo-flaky", "demo-slow", "demo-stubborn"]));
    const pulse = json.json.jobs.find((j: { name: string }) => j.name === "demo-pulse");
    expect(pulse).toMatchObject({
      schedule: "* * * * *",
      timezone: "UTC",
      timeoutMs: 30_000,
      overlap: "skip",
      // Paused: no next run on schedule, and why (nextScheduledRun, as the dashboard shows it).
      nextRunAt: null,
      notScheduled: "paused",
      state: { status: "paused", paused: true, pausedReason: "too chatty", deadLettered: false, lease: null },
      lastRun: null,
    });
    await rows(sql`DELETE FROM cron_job_config WHERE job_name = 'demo-pulse'`);
  });

  it("jobs run: runs in this process through the engine and prints the run", async () => {
    const r = await cli(["jobs", "run", "health-check", "--json"]);
    expect(r.code).toBe(0);
    expect(r.json.ok).toBe(true);
    expect(r.json.run).toMatchObject({ jobName: "health-check", status: "completed", trigger: "manual", attempts: 1, error: null, recorded: true });
    const [row] = await rows(sql`SELECT status, trigger, actor, holder FROM cron_job_logs WHERE id = ${r.json.run.id}::uuid`);
    expect(row).toMatchObject({ status: "completed", trigger: "manual", actor: expect.stringMatching(/^cli:/) });
    // The audit row is written before the run, naming the id the run gets (as the admin API does).
    const [audit] = await rows(sql`SELECT actor, action, target, detail, ip_address FROM cron_audit_log WHERE action = 'job.run'`);
    expect(audit).toMatchObject({ actor: row.actor, target: "health-check", detail: { executionId: r.json.run.id, via: "cli" }, ip_address: null });
  });

  let entryId = "";
  it("jobs run of a failing job exits 1 and dead-letters it; dlq list, then replay with the original slot", async () => {
    // demo-stubborn times out after 1 s; working 1.2 s it settles within the grace, so its lease is freed.
    const failed = await cli(["jobs", "run", "demo-stubborn", "--json"], { CRON_DEMO_STUBBORN_MS: "1200" });
    expect(failed.code).toBe(1);
    expect(failed.json).toMatchObject({ ok: false, run: { status: "timed_out", deadLetterId: expect.any(String) } });
    noStack(failed);

    // A second entry, with a slot, made the way the engine makes them.
    const slot = "2026-11-20T10:00:00.000Z";
    await rows(sql`INSERT INTO cron_job_logs (id, job_name, status, started_at, completed_at, trigger, scheduled_for, dedupe_key, error_message)
                   VALUES ('aaaaaaaa-0000-4000-8000-000000000001', 'demo-slow', 'failed', now() - interval '1 hour', now() - interval '1 hour', 'schedule', ${slot}, ${`slot:${slot}`}, 'upstream 503')`);
    await rows(sql`INSERT INTO cron_dead_letters (id, run_id, job_name, scheduled_for, failure_reason, error_stack, attempts)
                   VALUES ('bbbbbbbb-0000-4000-8000-000000000001', 'aaaaaaaa-0000-4000-8000-000000000001', 'demo-slow', ${slot}, 'upstream 503', 'Error: upstream 503\n    at handler (demo-slow.ts:1:1)', 1)`);

    const [pending, human] = await Promise.all([cli(["dlq", "list", "--status", "pending", "--job", "demo-stubborn", "--json"]), cli(["dlq", "list"])]);
    expect(pending.code).toBe(0);
    expect(pending.json.total).toBe(1);
    expect(pending.json.entries[0]).toMatchObject({ jobName: "demo-stubborn", recoveryStatus: "pending", runId: failed.json.run.id });
    expect(pending.json.entries[0]).not.toHaveProperty("errorStack");
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^ID\s+JOB\s+SLOT\s+STATUS\s+REPLAYS\s+CREATED\s+REASON\n/);
    expect(human.stdout).toMatch(/bbbbbbbb-0000-4000-8000-000000000001\s+demo-slow\s+2026-11-20 10:00:00Z\s+pending\s+0\s+/);
    expect(human.stdout).toContain("demo-stubborn");
    expect(human.stdout).toContain("2 of 2 shown");
    noStack(human);
    entryId = "bbbbbbbb-0000-4000-8000-000000000001";

    const replay = await cli(["dlq", "replay", entryId, "--json"], { CRON_DEMO_SLOW_MS: "5" });
    expect(replay.code).toBe(0);
    expect(replay.json).toMatchObject({ ok: true, entryId, replayCount: 1, replayLimit: 3, run: { jobName: "demo-slow", status: "completed", trigger: "replay", scheduledFor: slot } });
    const [settled] = await rows(sql`SELECT recovery_status, replay_count, last_replay_run_id FROM cron_dead_letters WHERE id = ${entryId}::uuid`);
    expect(settled).toMatchObject({ recovery_status: "replayed", replay_count: 1, last_replay_run_id: replay.json.run.id });
    const [run] = await rows(sql`SELECT replay_of, actor FROM cron_job_logs WHERE id = ${replay.json.run.id}::uuid`);
    expect(run.replay_of).toBe("aaaaaaaa-0000-4000-8000-000000000001");
  });

  it("dlq mark-failed needs --reason; dlq recover resumes a dead-lettered job", async () => {
    const [entry] = await rows<{ id: string }>(sql`SELECT id FROM cron_dead_letters WHERE job_name = 'demo-stubborn'`);
    await rows(sql`INSERT INTO cron_job_config (job_name, enabled, dead_lettered, dead_letter_reason, consecutive_failures, consecutive_dead_letters) VALUES ('demo-flaky', NULL, true, 'paused after 3 dead-lettered runs', 3, 3)`);
    const [noReason, badId, recovered, replayedAgain] = await Promise.all([
      cli(["dlq", "mark-failed", entry.id]),
      cli(["dlq", "mark-failed", "not-a-uuid", "--reason", "x"]),
      cli(["dlq", "recover", "demo-flaky", "--json"]),
      cli(["dlq", "replay", entryId, "--json"]),
    ]);
    // The entry replayed in the test above is settled: a second replay is refused.
    expect(replayedAgain.code).toBe(1);
    expect(replayedAgain.json.error.code).toBe("not_pending");
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain("--reason is required");
    expect(badId.code).toBe(2);
    expect(badId.stderr).toContain("crondeck dlq list");
    expect(recovered.code).toBe(0);
    expect(recovered.json).toEqual({ ok: true, job: "demo-flaky", wasDeadLettered: true, wasPaused: false });
    const [cfg] = await rows(sql`SELECT dead_lettered, consecutive_failures, last_modified_by FROM cron_job_config WHERE job_name = 'demo-flaky'`);
    expect(cfg).toMatchObject({ dead_lettered: false, consecutive_failures: 0, last_modified_by: expect.stringMatching(/^cli:/) });

    const marked = await cli(["dlq", "mark-failed", entry.id, "--reason", "the upstream API was retired", "--json"]);
    expect(marked.code).toBe(0);
    expect(marked.json.entry).toMatchObject({ id: entry.id, recoveryStatus: "permanently_failed", notes: expect.stringContaining("the upstream API was retired") });
    const audit = await rows(sql`SELECT action, target, detail FROM cron_audit_log WHERE action IN ('dead_letter.mark_failed', 'job.recover', 'dead_letter.retry') ORDER BY id`);
    expect(audit.map((a) => a.action).sort()).toEqual(["dead_letter.mark_failed", "dead_letter.retry", "job.recover"]);
    expect(audit.find((a) => a.action === "dead_letter.mark_failed")).toMatchObject({ target: entry.id, detail: { jobName: "demo-stubborn", reason: "the upstream API was retired", via: "cli" } });
  });

  it("jobs pause and resume change the config row and write the audit log", async () => {
    const paused = await cli(["jobs", "pause", "health-check", "--note", "database maintenance", "--json"]);
    expect(paused.code).toBe(0);
    expect(paused.json).toMatchObject({ ok: true, job: "health-check", action: "pause", paused: true, wasPaused: false, pausedReason: "database maintenance" });
    let [cfg] = await rows(sql`SELECT paused, paused_reason, paused_at, last_modified_by FROM cron_job_config WHERE job_name = 'health-check'`);
    expect(cfg).toMatchObject({ paused: true, paused_reason: "database maintenance", paused_at: expect.anything(), last_modified_by: expect.stringMatching(/^cli:/) });

    // Pausing a paused job keeps its reason (and its paused_at) unless a note is given, as in the admin API.
    const again = await cli(["jobs", "pause", "health-check", "--json"]);
    expect(again.json).toMatchObject({ ok: true, changed: false, paused: true, wasPaused: true, pausedReason: "database maintenance", pausedAt: paused.json.pausedAt });

    const resumed = await cli(["jobs", "resume", "health-check"]);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain("resumed health-check");
    [cfg] = await rows(sql`SELECT paused, paused_reason, paused_at FROM cron_job_config WHERE job_name = 'health-check'`);
    expect(cfg).toEqual({ paused: false, paused_reason: null, paused_at: null });
    const audit = await rows(sql`SELECT actor, action, target, detail FROM cron_audit_log WHERE action IN ('job.pause', 'job.resume') ORDER BY id`);
    expect(audit).toEqual([
      { actor: expect.stringMatching(/^cli:/), action: "job.pause", target: "health-check", detail: { note: "database maintenance", changed: true, via: "cli" } },
      { actor: expect.stringMatching(/^cli:/), action: "job.pause", target: "health-check", detail: { note: null, changed: false, via: "cli" } },
      { actor: expect.stringMatching(/^cli:/), action: "job.resume", target: "health-check", detail: { note: null, changed: true, via: "cli" } },
    ]);
  });

  it("logs cleanup deletes old runs, keeping those behind a pending dead letter", async () => {
    await rows(sql`INSERT INTO cron_job_logs (id, job_name, status, started_at, trigger) VALUES
      ('cccccccc-0000-4000-8000-000000000001', 'old-job', 'completed', now() - interval '40 days', 'schedule'),
      ('cccccccc-0000-4000-8000-000000000002', 'old-job', 'failed', now() - interval '40 days', 'schedule'),
      ('cccccccc-0000-4000-8000-000000000003', 'old-job', 'failed', now() - interval '40 days', 'schedule'),
      ('cccccccc-0000-4000-8000-000000000004', 'old-job', 'completed', now() - interval '10 days', 'schedule')`);
    await rows(sql`INSERT INTO cron_dead_letters (run_id, job_name, failure_reason) VALUES ('cccccccc-0000-4000-8000-000000000003', 'old-job', 'x')`);
    const r = await cli(["logs", "cleanup", "--days", "30", "--json"]);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ ok: true, days: 30, complete: true });
    expect((r.json as { tables: Array<{ table: string; deleted: number; remaining: number }> }).tables.find((t) => t.table === "cron_job_logs")).toMatchObject({ deleted: 2, remaining: 0 });
    const left = await rows<{ id: string }>(sql`SELECT id FROM cron_job_logs WHERE job_name = 'old-job' ORDER BY id`);
    expect(left.map((l) => l.id)).toEqual(["cccccccc-0000-4000-8000-000000000003", "cccccccc-0000-4000-8000-000000000004"]);
    // The human form: one line per table with what it deleted and what is still due; a second run deletes nothing.
    const again = await cli(["logs", "cleanup", "--days", "30"]);
    expect(again.code).toBe(0);
    for (const table of ["cron_dead_letters", "cron_alerts", "cron_audit_log", "cron_job_logs"]) expect(again.stdout).toMatch(new RegExp(`^${table}: deleted 0 older than \\d+ days in 1 batch, 0 still due$`, "m"));
    expect(again.stdout).toMatch(/^cron_job_logs: deleted 0 older than 30 days/m);
    noStack(again);
  });

  it("doctor: each job's last slot (ran, skipped, pending, missed, paused, dead-lettered) and configuration problems", async () => {
    // The CLI works out the slots a moment after this test: keep clear of a slot boundary.
    const schedules = ["*/5 * * * *", "*/2 * * * *", "*/10 * * * *"].map((cron) => ({ cron, timezone: "UTC" }));
    // 40 s: four CLI processes at once on a loaded 2-core machine took over 10 s (CI crossed a boundary once).
    const wait = Math.max(0, ...schedules.map((s) => 40_000 - (nextRunAfter(s, new Date())!.getTime() - Date.now())));
    if (wait > 0) await new Promise((r) => setTimeout(r, wait + 1_000));
    const now = new Date();
    const fiveMin = slotAt({ cron: "*/5 * * * *", timezone: "UTC" }, now)!.toISOString();
    await rows(sql`DELETE FROM cron_job_config`);
    await rows(sql`INSERT INTO cron_job_logs (job_name, status, started_at, completed_at, duration_ms, trigger, scheduled_for, dedupe_key) VALUES
      ('health-check', 'completed', now(), now(), 12, 'schedule', ${fiveMin}, ${`slot:${fiveMin}`})`);
    await rows(sql`INSERT INTO cron_job_logs (job_name, status, started_at, trigger, scheduled_for, skip_reason) VALUES ('demo-slow', 'skipped', now(), 'schedule', ${fiveMin}, 'already_running')`);
    await rows(sql`INSERT INTO cron_job_config (job_name, enabled, paused, paused_reason, dead_lettered, dead_letter_reason) VALUES
      ('demo-stubborn', NULL, true, 'noisy', false, NULL), ('demo-flaky', NULL, false, NULL, true, 'paused after 3 dead-lettered runs in a row')`);
    // Jobs the tick has known for a while (its missed-slot bookmark): their last slots were expected.
    await rows(sql`INSERT INTO cron_job_config (job_name, enabled, missed_checked_until) VALUES ('demo-pulse', NULL, now() - interval '1 hour'), ('cleanup-old-logs', NULL, now() - interval '30 days')`);

    const [all, one, human, down] = await Promise.all([
      cli(["doctor", "--json"]),
      cli(["doctor", "health-check", "--json"]),
      cli(["doctor"], { CRON_SECRET: "" }),
      cli(["doctor"], { DATABASE_URL: "postgres://postgres@127.0.0.1:1/nothing" }),
    ]);
    expect(all.code).toBe(1);
    const byJob = Object.fromEntries(all.json.jobs.map((j: { job: string }) => [j.job, j]));
    expect(byJob["health-check"]).toMatchObject({ slot: fiveMin, outcome: "ran", status: "completed", severity: "ok" });
    expect(byJob["demo-slow"]).toMatchObject({ slot: fiveMin, outcome: "skipped", status: "already_running", severity: "warning" });
    expect(byJob["demo-pulse"]).toMatchObject({ outcome: "pending", severity: "ok" }); // every minute: always within the 1 min grace
    expect(byJob["cleanup-old-logs"]).toMatchObject({ outcome: "missed", severity: "error" });
    expect(byJob["demo-stubborn"]).toMatchObject({ outcome: "paused", state: "paused", severity: "warning" });
    expect(byJob["demo-flaky"]).toMatchObject({ outcome: "dead_lettered", state: "dead_lettered", severity: "error" });
    expect(byJob["demo-flaky"].detail).toContain("crondeck dlq recover demo-flaky");
    expect(all.json.config).toEqual(expect.arrayContaining([{ severity: "ok", code: "cron_secret", message: "CRON_SECRET is set" }, expect.objectContaining({ severity: "ok", code: "database" })]));

    expect(one.code).toBe(0);
    expect(one.json.ok).toBe(true);
    expect(one.json.jobs).toHaveLength(1);

    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/error\s+CRON_SECRET is unset: every trigger is refused/);
    expect(human.stdout).toMatch(/health-check\s+\S+ \S+Z\s+ran: completed/);

    expect(down.code).toBe(1);
    expect(down.stdout).toContain("database unreachable: Postgres at 127.0.0.1:1/nothing: connection refused");
    expect(down.stdout).toContain("Jobs: not checked (no database).");
    noStack(down);
  });

  it("stress refuses PGlite with the reason", async () => {
    const r = await cli(["stress", "--duration", "1"], { DATABASE_URL: "", PGLITE_DIR: resolve(root, ".data/cli-test-never-created") });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("PGlite is one process per data directory");
    expect(r.stdout).toBe("");
  });
});
