import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { queryRows, type Db } from "@/lib/db/client";
import { deadLetterInsight, insightSince, pendingDigest } from "@/lib/db/queries/dead-letter-insight";
import { describeOnDatabases } from "../support/db";

/**
 * Dead-letter insight against known rows, on PGlite and the Postgres server: the fingerprint
 * groups reasons that differ only in values, entries per day fill the window's empty days, and
 * recovery times are the exact averages of the rows. Each test uses job names of its own, so
 * the files share nothing.
 */

const NOW = new Date("2026-06-15T12:00:00.000Z");
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface Entry {
  job: string;
  reason: string;
  /** ms before NOW */
  ago: number;
  status?: "pending" | "replayed" | "resolved" | "permanently_failed";
  /** settled this many ms after it was created */
  settledAfter?: number;
}

async function insertEntries(db: Db, entries: Entry[]): Promise<void> {
  for (const e of entries) {
    const created = new Date(NOW.getTime() - e.ago);
    const resolved = e.settledAfter === undefined ? null : new Date(created.getTime() + e.settledAfter).toISOString();
    await db.execute(sql`INSERT INTO cron_dead_letters (run_id, job_name, failure_reason, recovery_status, created_at, resolved_at)
      VALUES (${randomUUID()}::uuid, ${e.job}, ${e.reason}, ${e.status ?? "pending"}, ${created.toISOString()}::timestamptz, ${resolved}::timestamptz)`);
  }
}

const fingerprint = async (db: Db, text: string | null) =>
  (await queryRows<{ f: string }>(db, sql`SELECT crondeck_error_fingerprint(${text}::text) AS f`))[0].f;

describeOnDatabases("dead-letter insight", (ctx) => {
  it("fingerprints away quoted values, uuids, timestamps, hex ids and numbers, and nothing else", async () => {
    const cases: Array<[string | null, string]> = [
      ["timed out after 5000 ms", "timed out after <n> ms"],
      ["timed out after 12.5 ms", "timed out after <n> ms"],
      ['relation "users_42" does not exist', "relation <str> does not exist"],
      ["column 'total' is ambiguous", "column <str> is ambiguous"],
      ["run 6F1C2A0E-4b7d-4c1e-9a53-0d2f8e7b1c44 failed", "run <uuid> failed"],
      ["at 2026-12-01T10:00:00.123Z and 2026-12-01 10:00:00+02:00", "at <time> and <time>"],
      ["on 2026-12-01", "on <time>"],
      ["object 5f3a9c21deadbeef0 missing at 0xDEADBEEF", "object <hex> missing at <hex>"],
      // Words made of hex letters only, and short hex, are words.
      ["deadbeef cafe added", "deadbeef cafe added"],
      ["expect: processed nothing\n\n   at line 3", "expect: processed nothing at line <n>"],
      ["HTTP 503 from https://api.example.com/v1/items?page=7", "HTTP <n> from https://api.example.com/v<n>/items?page=<n>"],
      [null, ""],
    ];
    for (const [input, expected] of cases) expect(await fingerprint(ctx.db, input), String(input)).toBe(expected);
    expect((await fingerprint(ctx.db, "x".repeat(1000))).length).toBe(200);
  });

  it("counts entries per UTC day over the window, empty days included, for one job or all", async () => {
    await insertEntries(ctx.db, [
      { job: "ins-day-a", reason: "boom 1", ago: 1 * HOUR },
      { job: "ins-day-a", reason: "boom 2", ago: 2 * HOUR },
      { job: "ins-day-b", reason: "boom 3", ago: 2 * DAY },
      { job: "ins-day-a", reason: "boom 4", ago: 6 * DAY + HOUR },
      // Before a 7-day window (12:00 - 7 days - 13 h: the 7th day back, before midnight).
      { job: "ins-day-a", reason: "old", ago: 7 * DAY + 13 * HOUR },
      // After "now": not yet.
      { job: "ins-day-a", reason: "future", ago: -HOUR },
    ]);
    const a = await deadLetterInsight(ctx.db, { days: 7, jobName: "ins-day-a", now: NOW });
    expect(a.window).toEqual({ days: 7, since: "2026-06-09T00:00:00.000Z", until: NOW.toISOString(), jobName: "ins-day-a" });
    expect(a.perDay).toEqual([
      { day: "2026-06-09", entries: 1 },
      { day: "2026-06-10", entries: 0 },
      { day: "2026-06-11", entries: 0 },
      { day: "2026-06-12", entries: 0 },
      { day: "2026-06-13", entries: 0 },
      { day: "2026-06-14", entries: 0 },
      { day: "2026-06-15", entries: 2 },
    ]);
    expect(a.totals.entries).toBe(3);
    expect(a.perJob.map((j) => [j.jobName, j.entries])).toEqual([["ins-day-a", 3]]);
    const one = await deadLetterInsight(ctx.db, { days: 1, jobName: "ins-day-a", now: NOW });
    expect(one.perDay).toEqual([{ day: "2026-06-15", entries: 2 }]);
    expect(insightSince(NOW, 1).toISOString()).toBe("2026-06-15T00:00:00.000Z");
  });

  it("groups the most common reasons by fingerprint, with their jobs, pending count and newest example", async () => {
    await insertEntries(ctx.db, [
      { job: "ins-rsn-a", reason: "timed out after 5000 ms", ago: 3 * HOUR },
      { job: "ins-rsn-a", reason: "timed out after 7000 ms", ago: 2 * HOUR, status: "replayed", settledAfter: HOUR },
      { job: "ins-rsn-b", reason: "timed out after 900 ms", ago: 1 * HOUR },
      { job: "ins-rsn-b", reason: 'upstream "orders" answered 503', ago: 5 * HOUR },
      { job: "ins-rsn-b", reason: 'upstream "users" answered 502', ago: 4 * HOUR },
      { job: "ins-rsn-c", reason: "expect: processed nothing", ago: 6 * HOUR },
    ]);
    const all = await deadLetterInsight(ctx.db, { days: 1, now: NOW });
    const mine = all.topReasons.filter((r) => r.jobs.some((j) => j.startsWith("ins-rsn-")));
    expect(mine.slice(0, 3)).toEqual([
      { fingerprint: "timed out after <n> ms", entries: 3, pending: 2, jobs: ["ins-rsn-a", "ins-rsn-b"], example: "timed out after 900 ms", lastSeenAt: new Date(NOW.getTime() - HOUR).toISOString() },
      { fingerprint: "upstream <str> answered <n>", entries: 2, pending: 2, jobs: ["ins-rsn-b"], example: 'upstream "users" answered 502', lastSeenAt: new Date(NOW.getTime() - 4 * HOUR).toISOString() },
      { fingerprint: "expect: processed nothing", entries: 1, pending: 1, jobs: ["ins-rsn-c"], example: "expect: processed nothing", lastSeenAt: new Date(NOW.getTime() - 6 * HOUR).toISOString() },
    ]);
    const onlyB = await deadLetterInsight(ctx.db, { days: 1, jobName: "ins-rsn-b", now: NOW });
    expect(onlyB.topReasons.map((r) => [r.fingerprint, r.entries])).toEqual([
      ["upstream <str> answered <n>", 2],
      ["timed out after <n> ms", 1],
    ]);
  });

  it("averages the time to recovery over recovered entries and the time to settle over every settled one, per job and overall", async () => {
    await insertEntries(ctx.db, [
      { job: "ins-rec-a", reason: "x", ago: 10 * HOUR, status: "replayed", settledAfter: 1 * HOUR },
      { job: "ins-rec-a", reason: "x", ago: 10 * HOUR, status: "resolved", settledAfter: 3 * HOUR },
      { job: "ins-rec-a", reason: "x", ago: 10 * HOUR, status: "permanently_failed", settledAfter: 8 * HOUR },
      { job: "ins-rec-a", reason: "x", ago: 10 * HOUR },
      { job: "ins-rec-b", reason: "y", ago: 10 * HOUR, status: "replayed", settledAfter: 30 * 60_000 },
      { job: "ins-rec-c", reason: "z", ago: 10 * HOUR },
    ]);
    const a = await deadLetterInsight(ctx.db, { days: 1, jobName: "ins-rec-a", now: NOW });
    expect(a.totals).toEqual({ entries: 4, pending: 1, recovered: 2, permanentlyFailed: 1, avgRecoveryMs: 2 * HOUR, avgSettleMs: 4 * HOUR });
    expect(a.perJob).toEqual([{ jobName: "ins-rec-a", ...a.totals }]);

    const all = await deadLetterInsight(ctx.db, { days: 1, now: NOW });
    const jobs = Object.fromEntries(all.perJob.map((j) => [j.jobName, j]));
    expect(jobs["ins-rec-b"]).toMatchObject({ entries: 1, recovered: 1, avgRecoveryMs: 30 * 60_000, avgSettleMs: 30 * 60_000 });
    expect(jobs["ins-rec-c"]).toMatchObject({ entries: 1, pending: 1, recovered: 0, avgRecoveryMs: null, avgSettleMs: null });
    // The overall row is the exact aggregate of every row in the window, not an average of averages.
    const [exact] = await queryRows<{ entries: number; avg: number | null }>(
      ctx.db,
      sql`SELECT count(*)::int AS entries, avg(extract(epoch FROM resolved_at - created_at) * 1000) FILTER (WHERE recovery_status IN ('replayed', 'resolved'))::float8 AS avg
            FROM cron_dead_letters WHERE created_at >= ${"2026-06-15T00:00:00.000Z"}::timestamptz AND created_at <= ${NOW.toISOString()}::timestamptz`,
    );
    expect(all.totals.entries).toBe(Number(exact.entries));
    expect(all.totals.avgRecoveryMs).toBe(Math.round(Number(exact.avg)));
    expect(all.perJob.reduce((n, j) => n + j.entries, 0)).toBe(all.totals.entries);
  });

  it("digests the pending entries of every day: count, the oldest, the top reasons", async () => {
    const before = await pendingDigest(ctx.db);
    await insertEntries(ctx.db, [
      { job: "ins-dig-a", reason: "digest reason 1", ago: 400 * DAY },
      { job: "ins-dig-a", reason: "digest reason 2", ago: 1 * HOUR },
      { job: "ins-dig-b", reason: "digest settled 3", ago: 500 * DAY, status: "replayed", settledAfter: HOUR },
    ]);
    const after = await pendingDigest(ctx.db, { topReasons: 50 });
    expect(after.pending).toBe(before.pending + 2);
    expect((after.oldest?.createdAt ?? "") <= new Date(NOW.getTime() - 400 * DAY).toISOString()).toBe(true);
    expect(after.oldest?.createdAt).toBeTruthy();
    const mine = after.topReasons.find((r) => r.fingerprint === "digest reason <n>");
    expect(mine).toMatchObject({ entries: 2, pending: 2, jobs: ["ins-dig-a"], example: "digest reason 2" });
    expect(after.topReasons.some((r) => r.fingerprint === "digest settled <n>")).toBe(false);
  });
});
