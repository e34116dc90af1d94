import { sql } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { queryRows } from "@/lib/db/client";
import { runCli } from "../support/cli";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/db";

/**
 * `crondeck backfill` as a child process on a fresh database of the Postgres server: the dry
 * run's table and JSON change nothing; a backfill runs in-process with progress lines, its runs
 * trigger backfill; --list, --show, --cancel; usage mistakes exit 2 naming the fix.
 */

const HOUR = 3_600_000;
let database: TestDatabase;
const cli = (args: string[]) => runCli(args, { env: { DATABASE_URL: database.url, CRON_SECRET: "cli-backfill-secret-0123456789abcdef", CRONDECK_FEATURE_JOBS: "1", CRON_PLAN: "" } });
const last = Math.floor(Date.now() / HOUR) * HOUR - HOUR;
const from = new Date(last - 2 * HOUR).toISOString();
const to = new Date(last).toISOString();
const countRows = async () => (await queryRows<{ n: string }>(database.db, sql`SELECT (SELECT count(*) FROM cron_job_logs) + (SELECT count(*) FROM cron_backfills) + (SELECT count(*) FROM cron_audit_log) AS n`))[0].n;

describeWithPostgres("crondeck backfill [postgres]", () => {
  beforeAll(async () => {
    database = await createTestDatabase("postgres");
  });
  afterAll(async () => {
    await database?.dispose();
  });

  it("--dry-run lists the exact slots and which would run, and writes nothing", async () => {
    const before = await countRows();
    const human = await cli(["backfill", "backfill-hourly", "--from", from, "--to", to, "--dry-run"]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(from);
    expect(human.stdout).toContain(to);
    expect(human.stdout).toContain("3 of 3 slot(s) of backfill-hourly");
    expect(human.stdout).toContain("nothing changed (--dry-run)");
    const json = await cli(["backfill", "backfill-hourly", "--from", from, "--to", to, "--dry-run", "--json"]);
    expect(json.json).toMatchObject({ ok: true, dryRun: true, plan: { total: 3, toRun: 3, taken: 0 } });
    expect(json.json.plan.slots.map((s: { slot: string }) => s.slot)).toEqual([0, 1, 2].map((i) => new Date(Date.parse(from) + i * HOUR).toISOString()));
    expect(await countRows()).toBe(before);
  });

  it("runs the backfill in this process with a progress line per slot; --list and --show report it; a second run has nothing to do", async () => {
    const ran = await cli(["backfill", "backfill-hourly", "--from", from, "--to", to]);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stderr.match(/ completed {2}run /g)).toHaveLength(3);
    expect(ran.stdout).toMatch(/backfill [0-9a-f-]{36} of backfill-hourly: completed/);
    expect(ran.stdout).toContain("3/3 slots: 3 completed, 0 failed, 0 skipped");
    const runs = await queryRows<{ trigger: string; actor: string }>(database.db, sql`SELECT trigger, actor FROM cron_job_logs WHERE job_name = 'backfill-hourly'`);
    expect(runs).toHaveLength(3);
    expect(runs.every((r) => r.trigger === "backfill" && r.actor.startsWith("cli:"))).toBe(true);

    const list = await cli(["backfill", "backfill-hourly", "--list", "--json"]);
    expect(list.json.backfills).toHaveLength(1);
    const id = list.json.backfills[0].id;
    const show = await cli(["backfill", "--show", id, "--json"]);
    expect(show.json.backfill).toMatchObject({ id, status: "completed", total: 3, completed: 3 });
    const again = await cli(["backfill", "backfill-hourly", "--from", from, "--to", to, "--json"]);
    expect(again.json).toMatchObject({ ok: true, backfill: null, plan: { toRun: 0, taken: 3 } });
    const cancel = await cli(["backfill", "--cancel", id]);
    expect(cancel.code).toBe(1);
    expect(cancel.stderr).toContain("completed already");
  });

  it("usage mistakes exit 2 and name the fix; nothing is written", async () => {
    const before = await countRows();
    const cases: Array<[string[], string]> = [
      [["backfill"], "a job is required"],
      [["backfill", "backfill-hourly", "--to", to], "--from is required"],
      [["backfill", "backfill-hourly", "--from", "yesterday", "--to", to], "2026-11-01T00:00:00Z"],
      [["backfill", "backfill-hourly", "--from", from, "--to", to, "--overlap", "some"], "--overlap must be skip or all"],
      [["backfill", "backfill-hourly", "--from", to, "--to", from], "to: must be after from"],
      [["backfill", "backfill-hourly", "--from", from, "--to", "2999-01-01T00:00:00Z"], "must not be in the future"],
      [["backfill", "backfill-hourly", "--from", "2020-01-01T00:00:00Z", "--to", to], "more than 1000 slots"],
      [["backfill", "no-such-job", "--from", from, "--to", to], "crondeck jobs list"],
      [["backfill", "--cancel", "nope"], "a backfill's id (a UUID)"],
      [["backfill", "backfill-hourly", "--from", from, "--to", to, "--input", "{bad"], "not valid JSON"],
      [["backfill", "backfill-hourly", "--from", from, "--to", to, "--dry-run", "--input", '{"days": 3}'], "takes no input"],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toContain(message);
    }
    expect(await countRows()).toBe(before);
  }, 120_000);
});
