import { describe, expect, it } from "vitest";
import { defineJob, type JobConfig } from "@/lib/cron/define-job";
import { runTrigger, type EngineDeps } from "@/lib/cron/run-job";
import { slotAt } from "@/lib/cron/schedule";
import { tickWorld } from "../support/memory-tick-store";
import { ManualClock, MemoryRunStore } from "../support/memory-run-store";

/**
 * Snooze and skip-next on a fake clock. The tick: a slot inside a snooze (or asked to be skipped)
 * that nobody triggered, because the platform or the tick was down, is recorded as that skip with
 * the operator as actor, not as missed: no catch-up, no missed alert. The engine: a snooze ends by
 * itself at its until (the slot at until exactly runs), without anyone ending it.
 */

const MIN = 60_000;
let counter = 0;
const job = (config: Partial<JobConfig> = {}) => defineJob({ name: `tick-snooze-${++counter}`, schedule: "*/10 * * * *", handler: () => {}, ...config });

describe("the tick's missed-slot check and a snooze", () => {
  it("records the slots a snooze covered that got no trigger as snoozed skips, the rest as missed, and alerts only the missed ones", async () => {
    const j = job({ missed: { policy: "all", max: 10 } });
    const alerted: string[][] = [];
    const { tick, store, log } = tickWorld([j], { onMissed: async (_job, slots) => void alerted.push(slots.map((s) => s.toISOString())) });
    await tick("2026-11-21T08:05:00Z"); // first sight
    store.snoozes.set(j.name, { snoozedUntil: new Date("2026-11-21T08:30:00Z"), snoozedBy: "alice" });
    // Nothing arrived from 08:10 to 08:50: the check at 08:51 sees 08:10 ... 08:50.
    const report = await tick("2026-11-21T08:51:00Z");
    expect(store.rowsOf(j.name, "skipped").map((r) => [r.scheduledFor?.toISOString(), r.skipReason, r.actor])).toEqual([
      ["2026-11-21T08:10:00.000Z", "snoozed", "alice"],
      ["2026-11-21T08:20:00.000Z", "snoozed", "alice"],
    ]);
    // The slot at until exactly was expected: it is missed, and caught up.
    expect(report.missed).toEqual([{ jobName: j.name, slots: ["2026-11-21T08:30:00.000Z", "2026-11-21T08:40:00.000Z", "2026-11-21T08:50:00.000Z"], policy: "all", catchUps: 3 }]);
    expect(alerted).toEqual([["2026-11-21T08:30:00.000Z", "2026-11-21T08:40:00.000Z", "2026-11-21T08:50:00.000Z"]]);
    // The next ticks catch up on missed slots only (one a tick), never on a snoozed one; nothing is recorded twice.
    for (const minute of [52, 53, 54, 55]) await tick(`2026-11-21T08:${minute}:00Z`);
    expect(log.calls.flatMap((c) => (c.trigger === "catchup" ? [c.slot.toISOString()] : []))).toEqual(["2026-11-21T08:30:00.000Z", "2026-11-21T08:40:00.000Z", "2026-11-21T08:50:00.000Z"]);
    expect(store.rowsOf(j.name, "skipped")).toHaveLength(2);
  });

  it("records a skip-requested slot that got no trigger as skip_requested with who asked", async () => {
    const j = job();
    const alerted: Date[][] = [];
    const { tick, store } = tickWorld([j], { onMissed: async (_job, slots) => void alerted.push(slots) });
    await tick("2026-11-21T08:05:00Z");
    store.snoozes.set(j.name, { skipSlots: [new Date("2026-11-21T08:10:00Z")], skipRequestedBy: "bob" });
    const report = await tick("2026-11-21T08:11:00Z");
    expect(report.missed).toEqual([]);
    expect(alerted).toEqual([]);
    expect(store.rowsOf(j.name).map((r) => [r.status, r.skipReason, r.actor])).toEqual([["skipped", "skip_requested", "bob"]]);
  });

  it("without a snooze the same slots are missed (the check above can fail)", async () => {
    const j = job();
    const { tick } = tickWorld([j]);
    await tick("2026-11-21T08:05:00Z");
    expect((await tick("2026-11-21T08:21:00Z")).missed[0].slots).toEqual(["2026-11-21T08:10:00.000Z", "2026-11-21T08:20:00.000Z"]);
  });
});

describe("the engine and a snooze", () => {
  it("skips each slot before until as snoozed, and runs from until on without an unsnooze", async () => {
    const clock = new ManualClock("2026-11-21T08:00:00Z");
    const runs = new MemoryRunStore(() => clock.now());
    const ran: string[] = [];
    const j = defineJob({ name: "snooze-engine", schedule: "*/10 * * * *", handler: (ctx) => void ran.push(ctx.scheduledFor!.toISOString()) });
    runs.states.set(j.name, { snoozedUntil: new Date("2026-11-21T08:30:00Z"), snoozedBy: "alice" });
    const deps: EngineDeps = { runs, clock, holder: "test", codeVersion: null };
    const outcomes: string[] = [];
    for (let minute = 0; minute <= 40; minute += 10) {
      if (minute > 0) await clock.advance(10 * MIN);
      const slot = slotAt(j.schedule, new Date(clock.now()))!;
      const outcome = await clock.run(runTrigger(deps, { job: j, trigger: "schedule", scheduledFor: slot, budgetMs: 60_000 }));
      outcomes.push(outcome.kind === "skipped" ? `${slot.toISOString().slice(11, 16)} skipped ${outcome.reason}` : `${slot.toISOString().slice(11, 16)} ${outcome.kind}`);
    }
    expect(outcomes).toEqual(["08:00 skipped snoozed", "08:10 skipped snoozed", "08:20 skipped snoozed", "08:30 ran", "08:40 ran"]);
    expect(ran).toEqual(["2026-11-21T08:30:00.000Z", "2026-11-21T08:40:00.000Z"]);
    expect([...runs.runs.values()].filter((r) => r.status === "skipped").every((r) => r.actor === "alice")).toBe(true);
  });

  it("a run-now during a snooze runs (an operator trigger does not check the state)", async () => {
    const clock = new ManualClock("2026-11-21T08:00:00Z");
    const runs = new MemoryRunStore(() => clock.now());
    const j = defineJob({ name: "snooze-engine-manual", schedule: "*/10 * * * *", handler: () => "ok" });
    runs.states.set(j.name, { snoozedUntil: new Date("2026-11-21T09:00:00Z"), snoozedBy: "alice", skipSlots: [new Date("2026-11-21T08:10:00Z")] });
    const deps: EngineDeps = { runs, clock, holder: "test", codeVersion: null };
    expect((await clock.run(runTrigger(deps, { job: j, trigger: "manual", scheduledFor: null, actor: "carol", budgetMs: 60_000 }))).kind).toBe("ran");
    expect((await clock.run(runTrigger(deps, { job: j, trigger: "backfill", scheduledFor: new Date("2026-11-21T08:10:00Z"), actor: "carol", budgetMs: 60_000 }))).kind).toBe("ran");
  });
});
