import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterEach, expect, it, vi } from "vitest";
import type { Database } from "@/lib/db/client";
import { deadLetterInsight } from "@/lib/db/queries/dead-letter-insight";
import { Output, type CliContext } from "../../scripts/cli/context";
import { dlqInsight } from "../../scripts/cli/dlq";
import { UsageError } from "../../scripts/cli/errors";
import type { CommandInput } from "../../scripts/cli/spec";
import { describeOnDatabases } from "../support/db";

/**
 * `crondeck dlq insight` on real rows (PGlite and the Postgres server): the command prints what
 * the admin API answers, from the same query, as JSON and as tables, and refuses bad options with
 * a usage error. The command function runs in this process with a context over the test's
 * database (the CLI's own context reads the environment).
 */

const NOW = new Date("2026-06-15T12:00:00.000Z");

function context(database: Database, json: boolean): CliContext {
  return {
    out: new Output(json),
    now: () => NOW,
    database: async () => database,
    redact: (text: string) => text,
  } as unknown as CliContext;
}

const input = (options: Record<string, string>): CommandInput => ({ args: [], options });

async function capture(run: () => Promise<number>): Promise<{ code: number; stdout: string }> {
  let stdout = "";
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  try {
    const code = await run();
    return { code, stdout };
  } finally {
    spy.mockRestore();
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

describeOnDatabases("crondeck dlq insight", (ctx) => {
  it("prints the API's insight as JSON and as tables, for one job and a window", async () => {
    for (const [reason, hoursAgo, status, settledH] of [
      ["timed out after 5000 ms", 2, "replayed", 1],
      ["timed out after 800 ms", 30, "pending", null],
      ['upstream "orders" answered 503', 3, "pending", null],
    ] as const) {
      const created = new Date(NOW.getTime() - hoursAgo * 3_600_000);
      const resolved = settledH === null ? null : new Date(created.getTime() + settledH * 3_600_000).toISOString();
      await ctx.db.execute(sql`INSERT INTO cron_dead_letters (run_id, job_name, failure_reason, recovery_status, created_at, resolved_at)
        VALUES (${randomUUID()}::uuid, 'cli-insight', ${reason}, ${status}, ${created.toISOString()}::timestamptz, ${resolved}::timestamptz)`);
    }
    const json = await capture(() => dlqInsight(context(ctx.database, true), input({ days: "3", job: "cli-insight" })));
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout);
    expect(parsed).toEqual({ ok: true, ...JSON.parse(JSON.stringify(await deadLetterInsight(ctx.db, { days: 3, jobName: "cli-insight", now: NOW }))) });
    expect(parsed.totals).toMatchObject({ entries: 3, pending: 2, recovered: 1, avgRecoveryMs: 3_600_000 });

    const human = await capture(() => dlqInsight(context(ctx.database, false), input({ days: "3", job: "cli-insight" })));
    expect(human.code).toBe(0);
    expect(human.stdout).toContain("Dead letters for cli-insight, last 3 days (since 2026-06-13 00:00:00Z): 3 entries, 2 pending, 1 recovered, 0 permanently failed.");
    expect(human.stdout).toContain("Average time to recovery 1 h");
    expect(human.stdout).toMatch(/2026-06-14\s+1\n2026-06-15\s+2/);
    expect(human.stdout).toMatch(/2\s+1\s+cli-insight\s+\S+ \S+\s+timed out after <n> ms/);
    expect(human.stdout).toContain("upstream <str> answered <n>");

    const none = await capture(() => dlqInsight(context(ctx.database, false), input({ job: "cli-nothing" })));
    expect(none.stdout).toContain("No dead-letter entries for cli-nothing, last 30 days");
  });

  it("refuses a bad --days or --job with a usage error that shows the fix", async () => {
    const ctxOf = () => context(ctx.database, false);
    for (const days of ["0", "367", "1.5", "week"]) {
      await expect(dlqInsight(ctxOf(), input({ days }))).rejects.toThrow(UsageError);
      await expect(dlqInsight(ctxOf(), input({ days }))).rejects.toThrow(/--days must be a whole number from 1 to 366, such as --days 7/);
    }
    await expect(dlqInsight(ctxOf(), input({ job: "Not_A_Job" }))).rejects.toThrow(/--job must be a job name/);
  });
});
