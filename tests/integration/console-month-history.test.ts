import { sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { queryRows } from "@/lib/db/client";
import { describeOnDatabases } from "../support/db";
import { MONTH_SCENARIO, seedMonthOfRuns } from "../support/month-history";

const NOW = new Date("2026-11-18T09:30:00Z");

describeOnDatabases("the month of history for the console", (ctx) => {
  it("seeds a realistic, deterministic month with its scenarios", async () => {
    const first = await seedMonthOfRuns(ctx.db, { now: NOW });
    expect(first.rows).toBeGreaterThan(9_000);
    const mix = await queryRows<{ status: string; n: string | number }>(ctx.db, sql`SELECT status, count(*) AS n FROM cron_job_logs GROUP BY status`);
    const by = Object.fromEntries(mix.map((r) => [r.status, Number(r.n)]));
    expect(by.completed / first.rows).toBeGreaterThan(0.9);
    for (const status of ["failed", "timed_out", "abandoned", "missed", "skipped", "started"]) expect(by[status], status).toBeGreaterThan(0);

    // The nightly's latest slot failed, and the duplicate skip of the same slot came after it.
    const [nightly] = await queryRows<{ status: string; scheduled_for: unknown }>(ctx.db, sql`SELECT status, scheduled_for FROM cron_job_logs WHERE id = ${first.failedNightlyRunId}::uuid`);
    expect(nightly.status).toBe("failed");
    const [dup] = await queryRows<{ skip_reason: string; later: boolean }>(
      ctx.db,
      sql`SELECT d.skip_reason, d.started_at > r.started_at AS later FROM cron_job_logs d, cron_job_logs r WHERE d.id = ${first.duplicateSkipId}::uuid AND r.id = ${first.failedNightlyRunId}::uuid AND d.scheduled_for = r.scheduled_for`,
    );
    expect(dup).toEqual({ skip_reason: "duplicate", later: true });

    const [stale] = await queryRows<{ status: string; holder: string; expired: boolean }>(
      ctx.db,
      sql`SELECT l.status, k.holder, k.expires_at < ${NOW.toISOString()}::timestamptz AS expired FROM cron_job_logs l JOIN cron_job_leases k ON k.run_id = l.id WHERE l.id = ${first.staleRunId}::uuid`,
    );
    expect(stale).toEqual({ status: "started", holder: MONTH_SCENARIO.staleRun.holder, expired: true });
    expect(first.pendingDeadLetters["console-dead"]).toBe(3);
    expect(first.pendingDeadLetters["console-nightly"]).toBe(1);

    // The slots are the schedule's (02:00 in Paris on both sides of a DST change), each run keyed as the engine keys its slot.
    const [slots] = await queryRows<{ off_time: string | number; off_key: string | number }>(
      ctx.db,
      sql`SELECT count(*) FILTER (WHERE to_char(scheduled_for AT TIME ZONE 'Europe/Paris', 'HH24:MI') <> '02:00') AS off_time,
                 count(*) FILTER (WHERE status <> 'missed' AND dedupe_key <> 'slot:' || to_char(scheduled_for AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) AS off_key
          FROM cron_job_logs WHERE job_name = 'console-nightly' AND status <> 'skipped'`,
    );
    expect({ offTime: Number(slots.off_time), offKey: Number(slots.off_key) }).toEqual({ offTime: 0, offKey: 0 });

    // The rollups were rebuilt: they hold the month.
    const [{ n }] = await queryRows<{ n: string | number }>(ctx.db, sql`SELECT sum(successes + failures + missed) AS n FROM cron_job_stats_daily WHERE job_name LIKE 'console-%'`);
    expect(Number(n)).toBe(by.completed + by.failed + by.timed_out + by.abandoned + by.missed);

    // Deterministic: a second seed at the same instant writes the same month.
    const second = await seedMonthOfRuns(ctx.db, { now: NOW });
    expect(second.rows).toBe(first.rows);
    expect(second.pendingDeadLetters).toEqual(first.pendingDeadLetters);
  }, 60_000);
});
