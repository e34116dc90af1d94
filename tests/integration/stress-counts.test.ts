import { sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { taggedCounts } from "@/lib/db/queries/stress";
import { describeOnDatabases } from "../support/db";

describeOnDatabases("crondeck stress: the report's counts", (ctx) => {
  it("averages durations as every duration figure does: an abandoned run counts as failed, its duration does not", async () => {
    const job = "stress-counts";
    const version = "dpl_stress_counts";
    await ctx.db.execute(
      sql`INSERT INTO cron_job_logs (job_name, status, started_at, completed_at, duration_ms, skip_reason, code_version)
          VALUES (${job}, 'completed', now() - interval '5 minutes', now(), 100, NULL, ${version}),
                 (${job}, 'failed', now() - interval '4 minutes', now(), 300, NULL, ${version}),
                 (${job}, 'abandoned', now() - interval '3 hours', now(), 10800000, NULL, ${version}),
                 (${job}, 'skipped', now() - interval '2 minutes', now(), 0, 'already_running', ${version})`,
    );
    expect(await taggedCounts(ctx.db, job, version)).toEqual({ rows: 4, executions: 3, completed: 1, failed: 2, skipped: 1, averageDurationMs: 200 });
  });
});
