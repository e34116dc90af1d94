import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { skipNextRun, snoozeJob, unskipRun, unsnoozeJob, MAX_SNOOZE_MS } from "@/lib/app/operations/snooze";
import { defineJob } from "@/lib/cron/define-job";
import { OperationError } from "@/lib/cron/errors";
import type { ClaimInput, RunStore } from "@/lib/cron/run-store";
import type { Actor } from "@/lib/cron/vocabulary";
import { queryRows, type Db } from "@/lib/db/client";
import { jobState } from "@/lib/db/queries/jobs";
import { PostgresMonitorStore } from "@/lib/db/queries/monitors";
import { PostgresRunStore } from "@/lib/db/run-store";
import { PostgresTickStore } from "@/lib/db/tick-store";
import { describeOnDatabases } from "../support/db";
import { ManualClock, MemoryRunStore } from "../support/memory-run-store";

/**
 * Skip-next and snooze. First the claim's two skips as a contract both stores keep (the
 * engine's fake-clock tests run on the memory store): a slot before snoozed_until is skipped as
 * snoozed, a slot in skip_slots as skip_requested, each attributed to the operator who asked;
 * the slot at `until` exactly runs; operator triggers (checkState false) are not affected.
 * Then the operations on a real database: the rows they write, their audit rows, their refusals.
 */

const SNOOZER = "alice";
const SKIPPER = "bob";

interface World {
  store: RunStore;
  snooze(jobName: string, until: Date, by: string): Promise<void>;
  skip(jobName: string, slots: Date[], by: string): Promise<void>;
  pause(jobName: string): Promise<void>;
  /** Every row of the job: status, reason, actor, slot. */
  rowsOf(jobName: string): Promise<Array<{ status: string; reason: string | null; actor: string | null; slot: string | null }>>;
}

function contract(make: () => World) {
  let world: World;
  let job: string;
  beforeEach(() => {
    world = make();
    job = `snooze-${randomUUID().slice(0, 8)}`;
  });
  const claimInput = (slot: Date | null, over: Partial<ClaimInput> = {}): ClaimInput => ({
    jobName: job, trigger: "schedule", scheduledFor: slot, dedupeKey: slot ? `slot:${slot.toISOString()}` : null, overlap: "skip", enabledByDefault: true,
    checkState: true, leaseMs: 5_000, holder: "host:1", codeVersion: "v1", actor: null, ...over,
  });
  // Slots far ahead of the store's clock: the snooze decides by the slot, not by the time the claim is made.
  const at = (minute: number) => new Date(Date.UTC(2030, 0, 1, 10, minute));

  it("skips a slot before snoozed_until as snoozed, attributed to the snoozer; the slot at until runs", async () => {
    await world.snooze(job, at(10), SNOOZER);
    expect(await world.store.claim(claimInput(at(5)))).toMatchObject({ outcome: "skipped", reason: "snoozed" });
    expect(await world.store.claim(claimInput(at(10)))).toMatchObject({ outcome: "claimed" });
    expect(await world.rowsOf(job)).toEqual([
      { status: "skipped", reason: "snoozed", actor: SNOOZER, slot: at(5).toISOString() },
      { status: "started", reason: null, actor: null, slot: at(10).toISOString() },
    ]);
  });

  it("skips a requested slot as skip_requested with the operator who asked; the next slot runs", async () => {
    await world.skip(job, [at(5)], SKIPPER);
    expect(await world.store.claim(claimInput(at(5)))).toMatchObject({ outcome: "skipped", reason: "skip_requested" });
    expect(await world.store.claim(claimInput(at(10)))).toMatchObject({ outcome: "claimed" });
    expect((await world.rowsOf(job))[0]).toEqual({ status: "skipped", reason: "skip_requested", actor: SKIPPER, slot: at(5).toISOString() });
  });

  it("two deliveries of a skipped slot record two skips and never run it (a skip keeps no dedupe key, as paused's)", async () => {
    await world.skip(job, [at(5)], SKIPPER);
    const both = await Promise.all([world.store.claim(claimInput(at(5))), world.store.claim(claimInput(at(5)))]);
    expect(both.map((c) => [c.outcome, c.outcome === "skipped" ? c.reason : null])).toEqual([["skipped", "skip_requested"], ["skipped", "skip_requested"]]);
    const rows = await world.rowsOf(job);
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => r.status === "skipped" && r.reason === "skip_requested" && r.actor === SKIPPER)).toBe(true);
  });

  it("lets operator triggers through: run-now, replay and backfill do not check the state", async () => {
    await world.snooze(job, at(30), SNOOZER);
    await world.skip(job, [at(5)], SKIPPER);
    expect(await world.store.claim(claimInput(at(5), { trigger: "backfill", checkState: false, actor: "carol" }))).toMatchObject({ outcome: "claimed" });
    expect((await world.rowsOf(job))[0]).toMatchObject({ status: "started", actor: "carol" });
  });

  it("a snooze with no slot (a manual trigger that checks state) is decided by the store's clock", async () => {
    await world.snooze(job, new Date(Date.now() + 3_600_000), SNOOZER);
    expect(await world.store.claim(claimInput(null))).toMatchObject({ outcome: "skipped", reason: "snoozed" });
  });

  it("a pause wins over a snooze: the skip says paused", async () => {
    await world.snooze(job, at(30), SNOOZER);
    await world.pause(job);
    expect(await world.store.claim(claimInput(at(5)))).toMatchObject({ outcome: "skipped", reason: "paused" });
  });
}

describe("snooze and skip-next claim [memory store]", () => {
  contract(() => {
    const clock = new ManualClock(new Date().toISOString());
    const store = new MemoryRunStore(() => clock.now());
    const state = (job: string) => store.states.get(job) ?? {};
    return {
      store,
      snooze: async (job, until, by) => void store.states.set(job, { ...state(job), snoozedUntil: until, snoozedBy: by }),
      skip: async (job, slots, by) => void store.states.set(job, { ...state(job), skipSlots: slots, skipRequestedBy: by }),
      pause: async (job) => void store.states.set(job, { ...state(job), paused: true }),
      rowsOf: async (job) =>
        [...store.runs.values()].filter((r) => r.jobName === job).map((r) => ({ status: r.status, reason: r.skipReason ?? null, actor: r.actor, slot: r.scheduledFor?.toISOString() ?? null })),
    };
  });
});

const rowsOf = async (db: Db, job: string) =>
  (
    await queryRows<{ status: string; reason: string | null; actor: string | null; slot: Date | string | null }>(
      db,
      sql`SELECT status, skip_reason AS reason, actor, scheduled_for AS slot FROM cron_job_logs WHERE job_name = ${job} ORDER BY started_at, scheduled_for`,
    )
  ).map((r) => ({ ...r, slot: r.slot == null ? null : new Date(r.slot).toISOString() }));

describeOnDatabases("snooze and skip-next claim", (ctx) => {
  contract(() => ({
    store: new PostgresRunStore(ctx.db),
    snooze: async (job, until, by) => {
      await ctx.db.execute(sql`INSERT INTO cron_job_config (job_name, snoozed_until, snoozed_by) VALUES (${job}, ${until.toISOString()}::timestamptz, ${by})
                               ON CONFLICT (job_name) DO UPDATE SET snoozed_until = excluded.snoozed_until, snoozed_by = excluded.snoozed_by`);
    },
    skip: async (job, slots, by) => {
      const arr = `{${slots.map((s) => s.toISOString()).join(",")}}`;
      await ctx.db.execute(sql`INSERT INTO cron_job_config (job_name, skip_slots, skip_requested_by) VALUES (${job}, ${arr}::timestamptz[], ${by})
                               ON CONFLICT (job_name) DO UPDATE SET skip_slots = excluded.skip_slots, skip_requested_by = excluded.skip_requested_by`);
    },
    pause: async (job) => {
      await ctx.db.execute(sql`INSERT INTO cron_job_config (job_name, paused) VALUES (${job}, true) ON CONFLICT (job_name) DO UPDATE SET paused = true`);
    },
    rowsOf: (job) => rowsOf(ctx.db, job),
  }));
});

const actor = (name: string): Actor => ({ name, via: "bearer", ip: "127.0.0.1" });

describeOnDatabases("snooze and skip-next operations", (ctx) => {
  // 10:02 on a five-minute schedule: the next slot is 10:05.
  const now = new Date("2030-01-01T10:02:00Z");
  const slot = (minute: number) => new Date(Date.UTC(2030, 0, 1, 10, minute));
  let job: ReturnType<typeof defineJob>;
  beforeEach(() => {
    job = defineJob({ name: `snooze-op-${randomUUID().slice(0, 8)}`, schedule: "*/5 * * * *", handler: async () => "ok" });
  });
  const deps = () => ({ db: ctx.db });
  const audit = async (name: string) =>
    queryRows<{ action: string; actor: string; detail: Record<string, unknown> }>(ctx.db, sql`SELECT action, actor, detail FROM cron_audit_log WHERE target = ${name} ORDER BY id`);
  const refusal = async (p: Promise<unknown>) => {
    const error = await p.then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(OperationError);
    return error as OperationError;
  };

  it("skip-next takes the next slot after now, is idempotent, and the claim of that slot is skipped with the actor", async () => {
    const first = await skipNextRun(deps(), actor("bob"), { job, note: "vendor outage", now });
    expect(first).toMatchObject({ slot: slot(5).toISOString(), changed: true });
    expect(first.state.skipSlots).toEqual([slot(5).toISOString()]);
    const again = await skipNextRun(deps(), actor("eve"), { job, now });
    expect(again.changed).toBe(false);
    expect(again.state.skipRequestedBy).toBe("bob");
    expect((await audit(job.name)).map((a) => [a.action, a.actor, a.detail.slot, a.detail.note, a.detail.changed])).toEqual([
      ["job.skip_next", "bob", slot(5).toISOString(), "vendor outage", true],
      ["job.skip_next", "eve", slot(5).toISOString(), null, false],
    ]);
    const store = new PostgresRunStore(ctx.db);
    const claim = (s: Date): ClaimInput => ({
      jobName: job.name, trigger: "schedule", scheduledFor: s, dedupeKey: `slot:${s.toISOString()}`, overlap: "skip", enabledByDefault: true,
      checkState: true, leaseMs: 5_000, holder: "h", codeVersion: null, actor: null,
    });
    expect(await store.claim(claim(slot(5)))).toMatchObject({ outcome: "skipped", reason: "skip_requested" });
    expect(await store.claim(claim(slot(10)))).toMatchObject({ outcome: "claimed" });
    expect((await rowsOf(ctx.db, job.name))[0]).toMatchObject({ reason: "skip_requested", actor: "bob" });
  });

  it("concurrent skip-nexts of the same slot keep it once, and each is audited", async () => {
    const results = await Promise.all(["a", "b", "c", "d"].map((who) => skipNextRun(deps(), actor(who), { job, now })));
    expect(new Set(results.map((r) => r.slot))).toEqual(new Set([slot(5).toISOString()]));
    expect(results.some((r) => r.changed)).toBe(true);
    expect((await jobState(ctx.db, job.name, true)).skipSlots).toEqual([slot(5).toISOString()]);
    expect(await audit(job.name)).toHaveLength(4);
  });

  it("skip-next of a given slot: an occurrence still to come; refuses the past and non-slots, and writes nothing then", async () => {
    expect((await skipNextRun(deps(), actor("bob"), { job, slot: slot(20), now })).state.skipSlots).toEqual([slot(20).toISOString()]);
    expect(await refusal(skipNextRun(deps(), actor("bob"), { job, slot: slot(0), now }))).toMatchObject({ kind: "invalid", field: "slot", code: "slot_in_past" });
    const odd = await refusal(skipNextRun(deps(), actor("bob"), { job, slot: slot(7), now }));
    expect(odd).toMatchObject({ kind: "invalid", field: "slot", code: "slot_not_occurrence" });
    expect(odd.message).toContain(slot(5).toISOString());
    expect((await jobState(ctx.db, job.name, true)).skipSlots).toEqual([slot(20).toISOString()]);
    expect(await audit(job.name)).toHaveLength(1);
  });

  it("prunes entries a day past their slot when it writes, keeping the recent ones for late deliveries", async () => {
    await skipNextRun(deps(), actor("bob"), { job, slot: slot(5), now });
    await skipNextRun(deps(), actor("bob"), { job, slot: slot(10), now });
    const later = new Date(now.getTime() + 86_400_000 + 4 * 60_000); // 10:06 the next day: 10:05 is over a day old, 10:10 is not
    const next = await skipNextRun(deps(), actor("bob"), { job, now: later });
    expect(next.slot).toBe(new Date("2030-01-02T10:10:00Z").toISOString());
    expect(next.state.skipSlots).toEqual([slot(10).toISOString(), next.slot]);
  });

  it("unskip takes back one slot or every slot to come, with its audit row", async () => {
    await skipNextRun(deps(), actor("bob"), { job, slot: slot(5), now });
    await skipNextRun(deps(), actor("bob"), { job, slot: slot(10), now });
    await skipNextRun(deps(), actor("bob"), { job, slot: slot(15), now });
    expect(await unskipRun(deps(), actor("eve"), { job, slot: slot(10), now })).toMatchObject({ removed: [slot(10).toISOString()] });
    expect((await jobState(ctx.db, job.name, true)).skipSlots).toEqual([slot(5).toISOString(), slot(15).toISOString()]);
    expect((await unskipRun(deps(), actor("eve"), { job, slot: slot(10), now })).removed).toEqual([]);
    const all = await unskipRun(deps(), actor("eve"), { job, now });
    expect(all.removed).toEqual([slot(5).toISOString(), slot(15).toISOString()]);
    expect(all.state).toMatchObject({ skipSlots: [], skipRequestedBy: null });
    expect((await audit(job.name)).slice(-3).map((a) => [a.action, a.detail.removed])).toEqual([
      ["job.unskip", [slot(10).toISOString()]],
      ["job.unskip", []],
      ["job.unskip", [slot(5).toISOString(), slot(15).toISOString()]],
    ]);
  });

  it("refuses skip-next for a one-time job after its slot", async () => {
    const once = defineJob({ name: `snooze-once-${randomUUID().slice(0, 8)}`, runAt: "2030-01-01T09:00:00Z", handler: async () => "ok" });
    const error = await refusal(skipNextRun(deps(), actor("bob"), { job: once, now }));
    expect(error).toMatchObject({ kind: "conflict", code: "no_next_slot" });
    expect(error.message).toContain("one-time");
    expect(await audit(once.name)).toHaveLength(0);
  });

  it("snooze until an instant or for a duration, replaced by a new one, ended by unsnooze; each audited with until and note", async () => {
    const a = await snoozeJob(deps(), actor("alice"), { job, until: new Date("2030-01-01T14:00:00Z"), note: "database migration", now });
    expect(a).toMatchObject({ until: "2030-01-01T14:00:00.000Z", replaced: null });
    expect(a.state).toMatchObject({ snoozedUntil: "2030-01-01T14:00:00.000Z", snoozeReason: "database migration", snoozedBy: "alice" });
    const b = await snoozeJob(deps(), actor("bob"), { job, for: "2h", now });
    expect(b).toMatchObject({ until: "2030-01-01T12:02:00.000Z", replaced: "2030-01-01T14:00:00.000Z" });
    expect(b.state).toMatchObject({ snoozeReason: null, snoozedBy: "bob" });
    const ended = await unsnoozeJob(deps(), actor("carol"), { job, now });
    expect(ended).toMatchObject({ ended: "2030-01-01T12:02:00.000Z" });
    expect(ended.state).toMatchObject({ snoozedUntil: null, snoozeReason: null, snoozedBy: null });
    expect((await unsnoozeJob(deps(), actor("carol"), { job, now })).ended).toBeNull();
    expect((await audit(job.name)).map((r) => [r.action, r.actor, r.detail.until ?? r.detail.ended ?? null, r.detail.note ?? null])).toEqual([
      ["job.snooze", "alice", "2030-01-01T14:00:00.000Z", "database migration"],
      ["job.snooze", "bob", "2030-01-01T12:02:00.000Z", null],
      ["job.unsnooze", "carol", "2030-01-01T12:02:00.000Z", null],
      ["job.unsnooze", "carol", null, null],
    ]);
  });

  it("unsnooze of a snooze that ended by itself changes nothing", async () => {
    await snoozeJob(deps(), actor("alice"), { job, for: "1h", now });
    expect((await unsnoozeJob(deps(), actor("carol"), { job, now: new Date(now.getTime() + 3_600_000) })).ended).toBeNull();
  });

  it("refuses a snooze in the past, beyond 90 days, with a bad duration, or with both or neither of until and for; nothing written", async () => {
    const cases: Array<[Parameters<typeof snoozeJob>[2], string]> = [
      [{ job, until: now, now }, "until"],
      [{ job, until: new Date(now.getTime() + MAX_SNOOZE_MS + 1), now }, "until"],
      [{ job, for: "91d", now }, "for"],
      [{ job, for: "2 hours", now }, "for"],
      [{ job, for: "1h", until: new Date(now.getTime() + 60_000), now }, "for"],
      [{ job, now }, "until"],
    ];
    for (const [input, field] of cases) expect(await refusal(snoozeJob(deps(), actor("alice"), input))).toMatchObject({ kind: "invalid", field });
    expect(await snoozeJob(deps(), actor("alice"), { job, until: new Date(now.getTime() + MAX_SNOOZE_MS), now })).toMatchObject({ replaced: null });
    expect(await audit(job.name)).toHaveLength(1);
  });
});

describeOnDatabases("no false alarms for a snoozed or skipped slot nobody triggered", (ctx) => {
  const slot = (minute: number) => new Date(Date.UTC(2030, 0, 1, 10, minute));
  let job: string;
  beforeEach(async () => {
    job = `snooze-tick-${randomUUID().slice(0, 8)}`;
    await ctx.db.execute(sql`INSERT INTO cron_job_config (job_name, snoozed_until, snoozed_by, skip_slots, skip_requested_by)
                             VALUES (${job}, ${slot(20).toISOString()}::timestamptz, 'alice', ${`{${slot(40).toISOString()}}`}::timestamptz[], 'bob')`);
  });

  it("the tick records such slots as their skip with the operator, not as missed, and only once", async () => {
    const store = new PostgresTickStore(ctx.db);
    const slots = [0, 10, 20, 30, 40].map(slot);
    expect(await store.recordMissedSlots(job, slots, "tick-test")).toEqual([slot(20), slot(30)]);
    expect(await store.recordMissedSlots(job, slots, "tick-test")).toEqual([]);
    expect(await rowsOf(ctx.db, job)).toEqual([
      { status: "skipped", reason: "snoozed", actor: "alice", slot: slot(0).toISOString() },
      { status: "skipped", reason: "snoozed", actor: "alice", slot: slot(10).toISOString() },
      { status: "missed", reason: null, actor: null, slot: slot(20).toISOString() },
      { status: "missed", reason: null, actor: null, slot: slot(30).toISOString() },
      { status: "skipped", reason: "skip_requested", actor: "bob", slot: slot(40).toISOString() },
    ].sort((a, b) => a.slot.localeCompare(b.slot)));
  });

  it("late monitoring counts such slots as expected to be empty: not late", async () => {
    const store = new PostgresMonitorStore(ctx.db);
    const triggered = await store.triggeredSlots([0, 10, 20, 30, 40].map((m) => ({ jobName: job, slot: slot(m) })));
    expect(triggered.map((t) => t.slot.toISOString()).sort()).toEqual([slot(0), slot(10), slot(40)].map((d) => d.toISOString()));
  });
});
