import { expect, it } from "vitest";
import { describeFaults, reportCase, sleep, useLab, type TriggerResult } from "./harness";

/**
 * Duplicate delivery of one slot at 0, 1, 30 and 59 s into its minute, and at random offsets,
 * to two instances at once (as Vercel Cron may deliver one event twice): one run per slot,
 * every delivery answered with the run or a recorded skip, each for the slot it arrived in.
 */

const JOB = "fault-a";
const FIXED_OFFSETS_S = [0, 1, 30, 59];
const RANDOM_OFFSETS = Number(process.env.CRONDECK_FAULT_RANDOM_OFFSETS ?? 8);
/** Copies of each delivery per instance. */
const COPIES = 2;

describeFaults("faults: duplicate delivery", () => {
  const lab = useLab();

  it("deliveries of a slot at 0, 1, 30, 59 s and at random offsets on two instances run the slot once", async () => {
    const l = lab();
    const instances = await Promise.all([l.start("dup-1"), l.start("dup-2")]);
    await l.behave(JOB, { holdMs: 300 });
    const since = await l.now();
    const offsets = [...FIXED_OFFSETS_S, ...Array.from({ length: RANDOM_OFFSETS }, () => Math.round(Math.random() * 59_900) / 1000)];
    // Each offset goes to this minute if it is still ahead, else to the next: about a minute in all.
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const ahead = (Date.now() - minute) / 1000 + 1.5;
    const plan = offsets.map((offset) => ({ offset, at: (offset >= ahead ? minute : minute + 60_000) + offset * 1000 }));
    const deliveries: Array<{ offset: number; sentAt: number; result: TriggerResult; answeredAt: number }> = [];
    await Promise.all(
      plan.map(async ({ offset, at }) => {
        await sleep(Math.max(0, at - Date.now()));
        const sentAt = Date.now();
        await Promise.all(
          instances.flatMap((instance) =>
            Array.from({ length: COPIES }, async () => {
              const result = await l.trigger(instance, JOB);
              deliveries.push({ offset, sentAt, result, answeredAt: Date.now() });
            }),
          ),
        );
      }),
    );

    await l.settle(instances[0]!);
    const audit = await l.audit({ jobs: [JOB], since, triggers: deliveries.map((d) => d.result) });
    const minuteOf = (ms: number) => new Date(Math.floor(ms / 60_000) * 60_000).toISOString();
    const slots = new Set<string>();
    for (const d of deliveries) {
      const slot = d.result.body?.execution?.scheduledFor;
      if (d.result.status !== 200) audit.violations.push(`delivery at ${d.offset}s answered ${d.result.status ?? d.result.error} ${JSON.stringify(d.result.body)}`);
      else if (slot !== minuteOf(d.sentAt) && slot !== minuteOf(d.answeredAt)) audit.violations.push(`delivery at ${d.offset}s (sent ${new Date(d.sentAt).toISOString()}) was given slot ${slot}`);
      if (slot) slots.add(slot);
    }
    // Every delivered slot ran exactly once (the audit counts twice; this counts never).
    const ledger = await l.ledger([JOB], since);
    for (const slot of slots) {
      const handlers = ledger.filter((row) => row.slot?.toISOString() === slot).length;
      if (handlers !== 1) audit.violations.push(`slot ${slot} had ${handlers} handlers`);
    }
    const line = reportCase("duplicate-delivery", deliveries.length, audit, `${slots.size} slots, offsets ${plan.map((p) => p.offset).join(", ")} s`);
    expect(audit.violations, line).toEqual([]);
  });
});
