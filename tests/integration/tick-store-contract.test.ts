import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { TickStore } from "@/lib/cron/tick-store";
import { PostgresTickStore } from "@/lib/db/tick-store";
import { describeOnDatabases } from "../support/db";
import { MemoryTickStore } from "../support/memory-tick-store";

/**
 * One contract, two stores: the tick's unit tests run on the in-memory store, so it must answer
 * as the Postgres store does. Each case drives both through the TickStore port only (plus the
 * execute route's claim of a slot, which each store's world writes its own way).
 */

interface World {
  store: TickStore;
  /** What the execute route writes when it claims a slot: a row keyed `slot:<iso>`. */
  claimSlot(jobName: string, slot: Date): Promise<void>;
}

let counter = 0;
const jobName = () => `contract-${process.pid}-${++counter}`;
const at = (iso: string) => new Date(iso);
const isoList = (dates: readonly Date[]) => dates.map((d) => d.toISOString());

function contract(make: () => World) {
  it("records a missed slot once, and never a slot that already has a run", async () => {
    const { store, claimSlot } = make();
    const job = jobName();
    await claimSlot(job, at("2026-11-30T10:00:00Z"));
    const first = await store.recordMissedSlots(job, [at("2026-11-30T10:10:00Z"), at("2026-11-30T10:00:00Z"), at("2026-11-30T10:20:00Z")], "tick-test");
    expect(isoList(first)).toEqual(["2026-11-30T10:10:00.000Z", "2026-11-30T10:20:00.000Z"]);
    const again = await store.recordMissedSlots(job, [at("2026-11-30T10:20:00Z"), at("2026-11-30T10:30:00Z")], "tick-test");
    expect(isoList(again)).toEqual(["2026-11-30T10:30:00.000Z"]);
    expect(await store.recordMissedSlots(job, [], "tick-test")).toEqual([]);
  });

  it("counts as claimed only the slots an execute route claimed, not missed rows", async () => {
    const { store, claimSlot } = make();
    const [a, b] = [jobName(), jobName()];
    await claimSlot(a, at("2026-11-30T11:00:00Z"));
    await store.recordMissedSlots(b, [at("2026-11-30T11:00:00Z")], "tick-test");
    const claimed = await store.claimedSlots([
      { jobName: a, slot: at("2026-11-30T11:00:00Z") },
      { jobName: a, slot: at("2026-11-30T11:05:00Z") },
      { jobName: b, slot: at("2026-11-30T11:00:00Z") },
    ]);
    expect(claimed.map((c) => `${c.jobName} ${c.slot.toISOString()}`)).toEqual([`${a} 2026-11-30T11:00:00.000Z`]);
    expect(await store.claimedSlots([])).toEqual([]);
  });

  it("moves the missed-slot bookmark forward only, and reads it back with the job's switches", async () => {
    const { store } = make();
    const [job, unknown] = [jobName(), jobName()];
    await store.setMissedCheckedUntil(job, at("2026-11-30T12:00:00Z"));
    await store.setMissedCheckedUntil(job, at("2026-11-30T11:00:00Z"));
    const configs = await store.jobConfigs([job, unknown]);
    expect(configs.get(job)).toEqual({ jobName: job, enabled: null, paused: false, deadLettered: false, missedCheckedUntil: at("2026-11-30T12:00:00Z") });
    expect(configs.has(unknown)).toBe(false);
  });

  it("queues catch-ups oldest first, drops them, and lets a claimed slot leave the queue", async () => {
    const { store, claimSlot } = make();
    const job = jobName();
    const slots = [at("2026-11-30T13:00:00Z"), at("2026-11-30T13:10:00Z"), at("2026-11-30T13:20:00Z")];
    await store.recordMissedSlots(job, slots, "tick-test");
    const now = new Date();
    await store.scheduleCatchUps(job, slots.slice(0, 2), new Date(now.getTime() - 1_000));
    await store.scheduleCatchUps(job, slots.slice(2), new Date(now.getTime() + 3_600_000));
    expect(await store.nextPendingCatchUp(job, now)).toEqual(slots[0]);
    await store.dropCatchUp(job, slots[0]);
    expect(await store.nextPendingCatchUp(job, now)).toEqual(slots[1]);
    await claimSlot(job, slots[1]);
    // Claimed: it ran (or is running) as a catch-up; the one left is not due yet.
    expect(await store.nextPendingCatchUp(job, now)).toBeNull();
    expect(await store.nextPendingCatchUp(job, new Date(now.getTime() + 7_200_000))).toEqual(slots[2]);
  });
}

describe("tick store contract [memory]", () => {
  contract(() => {
    const store = new MemoryTickStore({ now: () => Date.now() });
    return {
      store,
      claimSlot: async (job, slot) => {
        store.claimSlot(job, slot);
      },
    };
  });
});

describeOnDatabases("tick store contract", (ctx) => {
  contract(() => ({
    store: new PostgresTickStore(ctx.db),
    claimSlot: async (job, slot) => {
      await ctx.db.execute(
        sql`INSERT INTO cron_job_logs (id, job_name, status, started_at, completed_at, scheduled_for, trigger, dedupe_key)
            VALUES (${randomUUID()}::uuid, ${job}, 'completed', now(), now(), ${slot.toISOString()}::timestamptz, 'schedule', ${`slot:${slot.toISOString()}`})`,
      );
    },
  }));
});
