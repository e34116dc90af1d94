import { sql } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { queryRows } from "@/lib/db/client";
import { runCli } from "../support/cli";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/db";

/**
 * `crondeck jobs skip-next | unskip | snooze | unsnooze` as child processes on a fresh database
 * of the Postgres server: each writes the job's state and its audit row with the CLI's actor;
 * usage mistakes exit 2, name the fix and write nothing; a refusal of the operation exits 1.
 */

const MIN = 60_000;
let database: TestDatabase;
const cli = (args: string[]) => runCli(args, { env: { DATABASE_URL: database.url, CRON_SECRET: "cli-snooze-secret-0123456789abcdef", CRONDECK_FEATURE_JOBS: "1", CRON_PLAN: "" } });
const config = async () =>
  (await queryRows<{ skip_slots: unknown; snoozed_until: Date | string | null; snooze_reason: string | null; snoozed_by: string | null }>(
    database.db, sql`SELECT skip_slots, snoozed_until, snooze_reason, snoozed_by FROM cron_job_config WHERE job_name = 'feature-snooze'`,
  ))[0];
const audit = async () => queryRows<{ action: string; actor: string; detail: Record<string, unknown> }>(database.db, sql`SELECT action, actor, detail FROM cron_audit_log WHERE target = 'feature-snooze' ORDER BY id`);

describeWithPostgres("crondeck jobs skip-next and snooze [postgres]", () => {
  beforeAll(async () => {
    database = await createTestDatabase("postgres");
  });
  afterAll(async () => {
    await database?.dispose();
  });

  it("usage mistakes exit 2 with the fix and write nothing", async () => {
    const neither = await cli(["jobs", "snooze", "feature-snooze"]);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain("--until <iso> or --for <duration>");
    const badSlot = await cli(["jobs", "skip-next", "feature-snooze", "--slot", "tomorrow"]);
    expect(badSlot.code).toBe(2);
    expect(badSlot.stderr).toContain("2026-03-29T01:00:00Z");
    const badFor = await cli(["jobs", "snooze", "feature-snooze", "--for", "2 hours", "--json"]);
    expect(badFor.code).toBe(2);
    expect(badFor.json).toMatchObject({ ok: false, error: { code: "invalid_for" } });
    const tooLong = await cli(["jobs", "snooze", "feature-snooze", "--for", "91d"]);
    expect(tooLong.code).toBe(2);
    expect(tooLong.stderr).toContain("pause the job");
    const notASlot = await cli(["jobs", "skip-next", "feature-snooze", "--slot", new Date(Math.ceil(Date.now() / MIN) * MIN + 90 * MIN + 30_000).toISOString()]);
    expect(notASlot.code).toBe(2);
    expect(notASlot.stderr).toContain("is not a slot of feature-snooze's schedule");
    const unknown = await cli(["jobs", "snooze", "no-such-job", "--for", "1h"]);
    expect(unknown.code).toBe(2);
    expect(await config()).toBeUndefined();
    expect(await audit()).toEqual([]);
  });

  it("skip-next, unskip, snooze and unsnooze write the state and the audit row with the CLI's actor", async () => {
    const skip = await cli(["jobs", "skip-next", "feature-snooze", "--note", "vendor outage", "--json"]);
    expect(skip.code, skip.stderr).toBe(0);
    const slot: string = skip.json.slot;
    expect(new Date(slot).getTime() - Date.now()).toBeLessThanOrEqual(MIN);
    expect(skip.json).toMatchObject({ ok: true, changed: true, skipSlots: [slot] });
    const human = await cli(["jobs", "skip-next", "feature-snooze", "--slot", slot]);
    expect(human.stdout).toContain("was already to be skipped");
    const unskip = await cli(["jobs", "unskip", "feature-snooze", "--json"]);
    expect(unskip.json).toMatchObject({ ok: true, removed: [slot], skipSlots: [] });

    const snooze = await cli(["jobs", "snooze", "feature-snooze", "--for", "2h", "--note", "database migration"]);
    expect(snooze.code, snooze.stderr).toBe(0);
    expect(snooze.stdout).toMatch(/snoozed feature-snooze until .* \(2 h\)/);
    expect(snooze.stdout).toContain("database migration");
    const row = await config();
    expect(new Date(row.snoozed_until!).getTime() - Date.now()).toBeGreaterThan(119 * MIN);
    expect(row).toMatchObject({ snooze_reason: "database migration" });
    expect(row.snoozed_by).toMatch(/^cli:/);
    const unsnooze = await cli(["jobs", "unsnooze", "feature-snooze", "--json"]);
    expect(unsnooze.json).toMatchObject({ ok: true, changed: true, snoozed: false });
    expect((await cli(["jobs", "unsnooze", "feature-snooze"])).stdout).toContain("was not snoozed; nothing changed");

    const rows = await audit();
    expect(rows.map((r) => r.action)).toEqual(["job.skip_next", "job.skip_next", "job.unskip", "job.snooze", "job.unsnooze", "job.unsnooze"]);
    expect(rows.every((r) => r.actor.startsWith("cli:") && r.detail.via === "cli")).toBe(true);
    expect(rows[0].detail).toMatchObject({ slot, note: "vendor outage" });
    expect(rows[3].detail).toMatchObject({ note: "database migration" });
  });

  it("refuses skip-next for a one-time job after its slot (exit 1, says why)", async () => {
    const once = await cli(["jobs", "skip-next", "feature-snooze-once"]);
    expect(once.code).toBe(1);
    expect(once.stderr).toContain("one-time job whose slot has passed");
  });
});
