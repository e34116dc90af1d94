/**
 * Bulk dead-letter actions (issue 15, item 9) on PGlite and the Postgres server: a selection by
 * job, failure reason, time range and priority lists what an action would take (its preview);
 * settling marks only pending entries, writes one audit row with the count, and a second pass
 * changes nothing; a bulk replay counts each replay within its job's limit, never takes an
 * entry out of replays or of a removed job, and replays each entry once per pass however many
 * batches it takes; two settles at once never settle an entry twice.
 */
import { sql } from "drizzle-orm";
import { expect, it } from "vitest";
import type { Actor } from "@/lib/cron/vocabulary";
import { queryRows, type Db } from "@/lib/db/client";
import { replayDeadLetters, settleDeadLetters } from "@/lib/db/commands/dead-letters";
import { inTransaction } from "@/lib/db/commands/transaction";
import { listDeadLetters } from "@/lib/db/queries/dead-letters";
import { describeOnDatabases } from "../support/db";

const alice: Actor = { name: "alice", via: "cookie", ip: "203.0.113.7" };
let counter = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${++counter}`;

/** A pending entry `hoursAgo` old for `job`, with its reason, priority and replays so far. */
async function entry(db: Db, job: string, reason: string, hoursAgo: number, extra: { priority?: string; replays?: number; status?: string } = {}): Promise<string> {
  const [{ id }] = await queryRows<{ id: string }>(
    db,
    sql`INSERT INTO cron_dead_letters (run_id, job_name, failure_reason, priority, replay_count, recovery_status, created_at)
        VALUES (gen_random_uuid(), ${job}, ${reason}, ${extra.priority ?? "normal"}, ${extra.replays ?? 0}, ${extra.status ?? "pending"}, now() - make_interval(hours => ${hoursAgo}))
        RETURNING id`,
  );
  return id;
}

const statuses = async (db: Db, ids: string[]) =>
  Object.fromEntries(
    (await queryRows<{ id: string; recovery_status: string; replay_count: number }>(db, sql`SELECT id, recovery_status, replay_count FROM cron_dead_letters WHERE id IN (SELECT (jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))::uuid)`)).map(
      (r) => [r.id, `${r.recovery_status}:${r.replay_count}`],
    ),
  );
const audits = async (db: Db, action: string, since: Date) =>
  queryRows<{ actor: string; target: string; detail: { count: number; jobs?: Record<string, number>; ids?: string[]; replays?: Array<{ id: string }> } }>(
    db,
    sql`SELECT actor, target, detail FROM cron_audit_log WHERE action = ${action} AND created_at >= ${since.toISOString()}::timestamptz ORDER BY created_at`,
  );

describeOnDatabases("bulk dead-letter actions", (ctx) => {
  it("a selection by job, reason, time range and priority is what the list previews, by priority when asked", async () => {
    const a = unique("bulk-a");
    const b = unique("bulk-b");
    const old = await entry(ctx.db, a, "timed out after 30 s", 50);
    const recent = await entry(ctx.db, a, "Timed out after 2 min", 2, { priority: "critical" });
    const other = await entry(ctx.db, a, "upstream answered 502", 3, { priority: "high" });
    const elsewhere = await entry(ctx.db, b, "timed out after 30 s", 4, { priority: "low" });
    await entry(ctx.db, a, "timed out after 1 s", 5, { status: "replayed" });

    const byReason = await listDeadLetters(ctx.db, { status: "pending", reason: "TIMED OUT", jobName: a, limit: 10, offset: 0 });
    expect(byReason.entries.map((e) => e.id).sort()).toEqual([old, recent].sort());
    expect(byReason).toMatchObject({ total: 2, jobs: { [a]: 2 } });
    const lastDay = await listDeadLetters(ctx.db, { status: "pending", reason: "timed out", from: new Date(Date.now() - 24 * 3_600_000), to: new Date(), limit: 10, offset: 0 });
    expect(lastDay.jobs).toEqual(expect.objectContaining({ [a]: 1, [b]: 1 }));
    expect(lastDay.entries.map((e) => e.id)).toEqual(expect.arrayContaining([recent, elsewhere]));
    expect(lastDay.entries.map((e) => e.id)).not.toContain(old);
    // A % or _ in the reason is a character, not a wildcard.
    expect((await listDeadLetters(ctx.db, { reason: "%", jobName: a, limit: 10, offset: 0 })).total).toBe(0);
    const byPriority = await listDeadLetters(ctx.db, { status: "pending", jobName: a, sort: "priority", limit: 10, offset: 0 });
    expect(byPriority.entries.map((e) => e.id)).toEqual([recent, other, old]);
    expect((await listDeadLetters(ctx.db, { status: "pending", priority: "high", jobName: a, limit: 10, offset: 0 })).entries.map((e) => e.id)).toEqual([other]);
  });

  it("settles only the selection's pending entries, with one audit row and its count; a second pass changes nothing", async () => {
    const job = unique("bulk-settle");
    const t0 = new Date(Date.now() - 1_000);
    const ids = [await entry(ctx.db, job, "timed out after 30 s", 3), await entry(ctx.db, job, "timed out after 30 s", 2)];
    const untouched = await entry(ctx.db, job, "bad input", 1);
    const settled = await entry(ctx.db, job, "timed out after 30 s", 1, { status: "permanently_failed" });

    const first = await inTransaction(ctx.db, (tx) => settleDeadLetters(tx, alice, { selection: { jobName: job, reason: "timed out" }, outcome: "resolved", reason: "fixed the export by hand" }));
    expect(first).toMatchObject({ count: 2, jobs: { [job]: 2 }, remaining: 0 });
    expect(first.ids.sort()).toEqual([...ids].sort());
    expect(await statuses(ctx.db, [...ids, untouched, settled])).toEqual({ [ids[0]]: "resolved:0", [ids[1]]: "resolved:0", [untouched]: "pending:0", [settled]: "permanently_failed:0" });
    const [note] = await queryRows<{ notes: string; resolved: boolean }>(ctx.db, sql`SELECT notes, resolved_at IS NOT NULL AS resolved FROM cron_dead_letters WHERE id = ${ids[0]}::uuid`);
    expect(note).toMatchObject({ resolved: true, notes: expect.stringMatching(/resolved by alice \(bulk\): fixed the export by hand$/) });
    const rows = await audits(ctx.db, "dead_letter.bulk_resolve", t0);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor: "alice", target: "2 dead letters", detail: { count: 2, jobs: { [job]: 2 } } });

    const again = await inTransaction(ctx.db, (tx) => settleDeadLetters(tx, alice, { selection: { jobName: job, reason: "timed out" }, outcome: "resolved", reason: "again" }));
    expect(again.count).toBe(0);
    expect(await audits(ctx.db, "dead_letter.bulk_resolve", t0)).toHaveLength(1);
    // ids: these entries only; the cap takes the rest on the next call.
    const capped = await inTransaction(ctx.db, (tx) => settleDeadLetters(tx, alice, { selection: { ids: [untouched] }, outcome: "permanently_failed", reason: "bad data", max: 1 }));
    expect(capped).toMatchObject({ count: 1, remaining: 0 });
    expect(await audits(ctx.db, "dead_letter.bulk_mark_failed", t0)).toHaveLength(1);
  });

  it("replays within each job's limit, skips removed jobs, and replays each entry once per pass across batches", async () => {
    const job = unique("bulk-replay");
    const removed = unique("bulk-gone");
    const t0 = new Date(Date.now() - 1_000);
    const fresh = [await entry(ctx.db, job, "boom", 4), await entry(ctx.db, job, "boom", 3), await entry(ctx.db, job, "boom", 2, { replays: 1 })];
    const spent = await entry(ctx.db, job, "boom", 1, { replays: 2 });
    const orphan = await entry(ctx.db, removed, "boom", 1);
    const since = new Date();
    let n = 0;
    const batch = (max: number) =>
      inTransaction(ctx.db, (tx) => replayDeadLetters(tx, alice, { selection: { reason: "boom", jobName: null, ids: [...fresh, spent, orphan] }, since, max, replayLimits: { [job]: 2 }, executionIdOf: () => `00000000-0000-4000-8000-${String(++n).padStart(12, "0")}` }));

    const one = await batch(2);
    expect(one.replays.map((r) => r.entry.id)).toEqual([fresh[0], fresh[1]]);
    expect(one).toMatchObject({ remaining: 1, notReplayable: 2 });
    expect(one.replays.map((r) => r.executionId)).toEqual(["00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"]);
    // The first two are still pending (their replays have not run): the next batch takes the third, not them again.
    const two = await batch(2);
    expect(two.replays.map((r) => r.entry.id)).toEqual([fresh[2]]);
    expect(two).toMatchObject({ remaining: 0, notReplayable: 3 });
    expect((await batch(2)).replays).toEqual([]);
    expect(await statuses(ctx.db, [...fresh, spent, orphan])).toEqual({
      [fresh[0]]: "pending:1",
      [fresh[1]]: "pending:1",
      [fresh[2]]: "pending:2",
      [spent]: "pending:2",
      [orphan]: "pending:0",
    });
    const rows = await audits(ctx.db, "dead_letter.bulk_replay", t0);
    expect(rows.map((r) => r.detail.count)).toEqual([2, 1]);
    expect(rows[0].detail.replays!.map((r) => r.id)).toEqual([fresh[0], fresh[1]]);
  });

  it("two settles of one selection at once settle each entry once", async () => {
    const job = unique("bulk-race");
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push(await entry(ctx.db, job, "boom", i + 1));
    const settle = (reason: string) => inTransaction(ctx.db, (tx) => settleDeadLetters(tx, alice, { selection: { jobName: job }, outcome: "permanently_failed", reason, max: 20 }));
    const [x, y] = await Promise.all([settle("x"), settle("y")]);
    expect(x.count + y.count).toBe(30);
    expect(new Set([...x.ids, ...y.ids]).size).toBe(30);
    const [{ n }] = await queryRows<{ n: number }>(ctx.db, sql`SELECT count(*)::int AS n FROM cron_dead_letters WHERE job_name = ${job} AND notes LIKE '%bulk%' AND notes NOT LIKE E'%\\n%'`);
    expect(n).toBe(30);
  });
});
