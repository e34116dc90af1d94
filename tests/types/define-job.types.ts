/**
 * Type tests: checked by `tsc --noEmit` (part of `npm test`). Each @ts-expect-error must
 * be an error, or the compile fails.
 */
import { defineJob } from "@/lib/cron/define-job";

const handler = async () => {};

defineJob({ name: "ok", schedule: "0 1 * * *", timeout: "4m", retries: 2, overlap: "bufferOne", handler });
defineJob({ name: "seed", schedule: "0 1 * * *", timeout: 300, enabled: true, description: "d", category: "c", retries: 1, handler });

// @ts-expect-error a duration needs a unit
defineJob({ name: "bad-timeout", schedule: "0 1 * * *", timeout: "10 minutes", handler });
// @ts-expect-error unknown overlap policy
defineJob({ name: "bad-overlap", schedule: "0 1 * * *", overlap: "sometimes", handler });
// @ts-expect-error unknown backoff strategy
defineJob({ name: "bad-backoff", schedule: "0 1 * * *", backoff: { strategy: "random" }, handler });
// @ts-expect-error retries is a number
defineJob({ name: "bad-retries", schedule: "0 1 * * *", retries: "3", handler });
// @ts-expect-error the handler is required
defineJob({ name: "no-handler", schedule: "0 1 * * *" });
// @ts-expect-error schedule is a string or { cron, timezone }
defineJob({ name: "bad-schedule", schedule: 5, handler });
// @ts-expect-error unknown field
defineJob({ name: "extra", schedule: "0 1 * * *", timeoutSeconds: 5, handler });
// @ts-expect-error the context has no such field
defineJob({ name: "ctx", schedule: "0 1 * * *", handler: async (ctx) => ctx.nope });

// Job dependencies (lib/cron/registry.ts checkDependencies): a dependsOn naming a job the list lacks fails to compile.
import { checkDependencies } from "@/lib/cron/registry";
const depExtract = defineJob({ name: "extract", schedule: "0 1 * * *", handler });
const depTransform = defineJob({ name: "transform", schedule: "0 1 * * *", dependsOn: ["extract"], handler });
const depLoad = defineJob({ name: "load", schedule: "0 1 * * *", dependsOn: ["transform", "extract"], handler });
checkDependencies([depExtract, depTransform, depLoad]);
// @ts-expect-error load depends on transform, which is not in the list
checkDependencies([depExtract, depLoad]);
// @ts-expect-error transform depends on extract, which is not in the list
checkDependencies([depTransform]);
// @ts-expect-error a dependency on a job no list defines
checkDependencies([depExtract, defineJob({ name: "orphan", schedule: "0 1 * * *", dependsOn: ["nowhere"], handler })]);

// Interval, one-time and bounded schedules, start jitter. A number is seconds, as elsewhere in
// a definition (`timeout: 300`): `{ every: 5400 }` is 90 minutes, and `{ every: 90 }` compiles
// but fails at load (an interval is whole minutes); a string needs its unit.
defineJob({ name: "every-ok", schedule: { every: "90m", offset: "15m" }, handler });
defineJob({ name: "every-seconds", schedule: { every: 5400 }, handler });
defineJob({ name: "once-ok", runAt: "2026-12-24T09:00:00Z", handler });
defineJob({ name: "once-date", runAt: new Date("2026-12-24T09:00:00Z"), handler });
defineJob({ name: "bounded-ok", schedule: "0 1 * * *", startAt: "2026-12-01T00:00:00Z", endAt: new Date("2027-01-01T00:00:00Z"), handler });
defineJob({ name: "jitter-ok", schedule: { cron: "0 1 * * *", timezone: "Europe/Paris" }, jitter: "30s", handler });
// @ts-expect-error an interval needs a unit ("90m")
defineJob({ name: "every-no-unit", schedule: { every: "90" }, handler });
// @ts-expect-error an interval's offset needs a unit
defineJob({ name: "offset-no-unit", schedule: { every: "1d", offset: "6" }, handler });
// @ts-expect-error runAt is an instant (an ISO string or a Date), not a number
defineJob({ name: "once-number", runAt: 1_766_566_800_000, handler });
// @ts-expect-error startAt is an instant, not a duration object
defineJob({ name: "start-bad", schedule: "0 1 * * *", startAt: { days: 1 }, handler });
// @ts-expect-error jitter needs a unit ("30s")
defineJob({ name: "jitter-no-unit", schedule: "0 1 * * *", dispatch: "tick", jitter: "30", handler });

// Run input: ctx.input is the schema's output (defaults filled in), defaultInput its input type.
import { z } from "zod";
const reportInput = z.object({ days: z.number().int().min(1), dryRun: z.boolean().default(false) });
defineJob({
  name: "input-ok",
  schedule: "0 1 * * *",
  input: reportInput,
  defaultInput: { days: 7 },
  handler: (ctx) => {
    const days: number = ctx.input.days;
    const dryRun: boolean = ctx.input.dryRun;
    return { days, dryRun, last: ctx.lastSlot?.toISOString() ?? null, next: ctx.upcoming.map((d) => d.getTime()) };
  },
});
// @ts-expect-error defaultInput must match the schema's input type (days is a number)
defineJob({ name: "input-bad-default", schedule: "0 1 * * *", input: reportInput, defaultInput: { days: "7" }, handler });
// @ts-expect-error defaultInput lacks the required days
defineJob({ name: "input-missing-default", schedule: "0 1 * * *", input: reportInput, defaultInput: { dryRun: true }, handler });
// @ts-expect-error ctx.input has no such property
defineJob({ name: "input-wrong-field", schedule: "0 1 * * *", input: reportInput, defaultInput: { days: 1 }, handler: (ctx) => ctx.input.weeks });
// @ts-expect-error ctx.input.days is a number, not a string
defineJob({ name: "input-wrong-type", schedule: "0 1 * * *", input: reportInput, defaultInput: { days: 1 }, handler: (ctx) => ctx.input.days.toUpperCase() });
// @ts-expect-error a job without an input schema takes no defaultInput
defineJob({ name: "input-default-only", schedule: "0 1 * * *", defaultInput: { days: 1 }, handler });
// @ts-expect-error ctx.lastSlot may be null
defineJob({ name: "last-slot-null", schedule: "0 1 * * *", handler: (ctx) => ctx.lastSlot.getTime() });
