import { beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { defineJob, type JobContext } from "@/lib/cron/define-job";
import { checkRunInput, inputFields, parseInputText, requireRunInput, runInputOf, MAX_INPUT_BYTES } from "@/lib/cron/input";
import { lastSlotOf, upcomingSlots } from "@/lib/cron/attempts";
import { runTrigger, type EngineDeps, type TriggerOutcome } from "@/lib/cron/run-job";
import { OperationError } from "@/lib/cron/errors";
import { ManualClock, MemoryRunStore } from "../support/memory-run-store";

/**
 * Run input (lib/cron/input.ts) and the context a handler gets from it (lib/cron/attempts.ts),
 * through the engine on a hand-moved clock: ctx.input parsed with the schema's defaults, the
 * input stored on the run, a stored input the schema no longer takes, ctx.lastSlot and
 * ctx.upcoming for a cron job across a DST change.
 */

const START = "2026-11-24T10:00:00Z";
let clock: ManualClock;
let store: MemoryRunStore;
let deps: EngineDeps;

beforeEach(() => {
  clock = new ManualClock(START);
  store = new MemoryRunStore(() => Date.parse(START) + clock.elapsed);
  deps = { runs: store, holder: "input-host:1", codeVersion: "v1", clock, warn: () => {} };
});

const ran = (o: TriggerOutcome) => {
  if (o.kind !== "ran") throw new Error(`expected a run, got ${o.kind}`);
  return o.run;
};

const reportSchema = z.object({ days: z.number().int().min(1).max(90), dryRun: z.boolean().default(false) });

function reportJob(seen: JobContext<z.output<typeof reportSchema>>[], extra: { retries?: number } = {}) {
  return defineJob({
    name: "input-report",
    schedule: "0 3 * * *",
    input: reportSchema,
    defaultInput: { days: 7 },
    timeout: "5s",
    retries: extra.retries ?? 0,
    backoff: { strategy: "fixed", delay: "1s" },
    handler: (ctx) => {
      seen.push(ctx);
      return { days: ctx.input.days, dryRun: ctx.input.dryRun };
    },
  });
}

describe("checkRunInput", () => {
  const job = reportJob([]);

  it("takes an input the schema accepts and stores it as given (defaults apply when the run starts)", () => {
    expect(checkRunInput(job, { days: 30 })).toEqual({ ok: true, stored: { days: 30 } });
    expect(checkRunInput(job, undefined)).toEqual({ ok: true, stored: null });
    expect(checkRunInput(job, null)).toEqual({ ok: true, stored: null });
  });

  it("names the field of the first issue", () => {
    expect(checkRunInput(job, { days: "7" })).toEqual({ ok: false, field: "input.days", message: "input.days: expected number, received string" });
    expect(checkRunInput(job, { days: 91 })).toMatchObject({ ok: false, field: "input.days" });
    expect(checkRunInput(job, {})).toMatchObject({ ok: false, field: "input.days" });
    expect(checkRunInput(job, [1])).toMatchObject({ ok: false, field: "input" });
    const strict = defineJob({ name: "strict-input", schedule: "0 3 * * *", input: z.strictObject({ a: z.number() }), defaultInput: { a: 1 }, handler: () => null });
    expect(checkRunInput(strict, { a: 1, b: 2 })).toMatchObject({ ok: false, field: "input.b" });
  });

  it("refuses input for a job without a schema, and input over the size limit", () => {
    const plain = defineJob({ name: "no-input", schedule: "0 3 * * *", handler: () => null });
    expect(checkRunInput(plain, { days: 1 })).toMatchObject({ ok: false, field: "input", message: expect.stringContaining("takes no input") });
    expect(checkRunInput(plain, undefined)).toEqual({ ok: true, stored: null });
    const big = { days: 7, pad: "x".repeat(MAX_INPUT_BYTES) };
    expect(checkRunInput(job, big)).toMatchObject({ ok: false, field: "input", message: expect.stringContaining("KB") });
  });

  it("requireRunInput throws the 400 OperationError invalid_input with the field", () => {
    try {
      requireRunInput(job, { days: true });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(OperationError);
      expect(error).toMatchObject({ kind: "invalid", code: "invalid_input", field: "input.days" });
    }
  });

  it("parseInputText names the option and the fix", () => {
    expect(parseInputText('{"days": 3}', "--input")).toEqual({ days: 3 });
    expect(() => parseInputText("{days: 3}", "--input")).toThrow(/--input: not valid JSON; pass a JSON object/);
  });

  it("describes the schema's fields for the dashboard", () => {
    const fields = inputFields(job);
    expect(fields).toEqual([
      expect.objectContaining({ path: "days", type: "integer", required: true, constraints: "1..90" }),
      expect.objectContaining({ path: "dryRun", type: "boolean", required: false, default: false }),
    ]);
    expect(inputFields(defineJob({ name: "no-input", schedule: "0 3 * * *", handler: () => null }))).toEqual([]);
  });
});

describe("ctx.input through the engine", () => {
  it("is the default input parsed by the schema when the run has none, and undefined for a job without a schema", async () => {
    const seen: JobContext<z.output<typeof reportSchema>>[] = [];
    const run = ran(await clock.run(runTrigger(deps, { job: reportJob(seen), trigger: "manual", scheduledFor: null, budgetMs: 60_000 })));
    expect(run.status).toBe("completed");
    expect(seen[0].input).toEqual({ days: 7, dryRun: false });
    expect(store.runs.get(run.id)?.input).toBeNull();

    let plainInput: unknown = "unset";
    const plain = defineJob({ name: "no-input", schedule: "0 3 * * *", handler: (ctx) => void (plainInput = ctx.input) });
    ran(await clock.run(runTrigger(deps, { job: plain, trigger: "manual", scheduledFor: null, budgetMs: 60_000 })));
    expect(plainInput).toBeUndefined();
  });

  it("is the run's input parsed (defaults filled in), stored on the row as given", async () => {
    const seen: JobContext<z.output<typeof reportSchema>>[] = [];
    const run = ran(await clock.run(runTrigger(deps, { job: reportJob(seen), trigger: "manual", scheduledFor: null, input: { days: 30 }, budgetMs: 60_000 })));
    expect(run.output).toEqual({ days: 30, dryRun: false });
    expect(store.runs.get(run.id)?.input).toEqual({ days: 30 });
  });

  it("gives each attempt its own parse: a handler that changes ctx.input does not change the retry's", async () => {
    const seen: number[] = [];
    const job = defineJob({
      name: "input-mutating",
      schedule: "0 3 * * *",
      input: reportSchema,
      defaultInput: { days: 7 },
      retries: 1,
      timeout: "5s",
      backoff: { strategy: "fixed", delay: "1s" },
      handler: (ctx) => {
        seen.push(ctx.input.days);
        ctx.input.days = 99;
        if (ctx.attempt === 1) throw new Error("first attempt fails");
        return null;
      },
    });
    const run = ran(await clock.run(runTrigger(deps, { job, trigger: "manual", scheduledFor: null, input: { days: 5 }, budgetMs: 60_000 })));
    expect(run.status).toBe("completed");
    expect(seen).toEqual([5, 5]);
  });

  it("fails a run whose stored input the schema no longer takes, without retrying and without calling the handler", async () => {
    const seen: JobContext<z.output<typeof reportSchema>>[] = [];
    // As if the row were written before the schema narrowed `days` to at most 90.
    const run = ran(await clock.run(runTrigger(deps, { job: reportJob(seen, { retries: 3 }), trigger: "replay", scheduledFor: null, input: { days: 365 }, budgetMs: 60_000 })));
    expect(run.status).toBe("failed");
    expect(run.attempts).toBe(1);
    expect(run.error).toContain("input.days:");
    expect(run.error).toContain("no longer matches input-report's input schema");
    expect(seen).toHaveLength(0);
  });

  it("runInputOf names defaultInput when the default is what fails", () => {
    const job = { name: "x", input: { schema: reportSchema, default: { days: 0 } } };
    expect(() => runInputOf(job, null)).toThrow(/defaultInput.days: .*default input does not match/);
  });
});

describe("ctx.lastSlot and ctx.upcoming", () => {
  it("are the slot before this run's slot and the next five, across the Paris DST change", async () => {
    const seen: JobContext[] = [];
    // 02:30 Paris daily; on 2026-03-29 02:30 does not exist (spring forward): the slot moves to 03:30 CEST (01:30Z).
    const job = defineJob({ name: "paris-daily", schedule: { cron: "30 2 * * *", timezone: "Europe/Paris" }, handler: (ctx) => void seen.push(ctx) });
    const slot = new Date("2026-03-28T01:30:00Z"); // 02:30 CET, the last slot before the change
    clock = new ManualClock("2026-03-28T01:30:05Z");
    store = new MemoryRunStore(() => Date.parse("2026-03-28T01:30:05Z") + clock.elapsed);
    deps = { ...deps, runs: store, clock };
    ran(await clock.run(runTrigger(deps, { job, trigger: "schedule", scheduledFor: slot, budgetMs: 60_000 })));
    expect(seen[0].lastSlot?.toISOString()).toBe("2026-03-27T01:30:00.000Z");
    expect(seen[0].upcoming.map((d) => d.toISOString())).toEqual([
      "2026-03-29T01:30:00.000Z",
      "2026-03-30T00:30:00.000Z",
      "2026-03-31T00:30:00.000Z",
      "2026-04-01T00:30:00.000Z",
      "2026-04-02T00:30:00.000Z",
    ]);
  });

  it("for a run without a slot: the latest slot at or before now, and the slots after now", async () => {
    const seen: JobContext[] = [];
    const job = defineJob({ name: "hourly", schedule: "0 * * * *", handler: (ctx) => void seen.push(ctx) });
    clock = new ManualClock("2026-11-24T10:20:00Z");
    store = new MemoryRunStore(() => Date.parse("2026-11-24T10:20:00Z") + clock.elapsed);
    deps = { ...deps, runs: store, clock };
    ran(await clock.run(runTrigger(deps, { job, trigger: "manual", scheduledFor: null, budgetMs: 60_000 })));
    expect(seen[0].lastSlot?.toISOString()).toBe("2026-11-24T10:00:00.000Z");
    expect(seen[0].upcoming[0].toISOString()).toBe("2026-11-24T11:00:00.000Z");
    expect(seen[0].upcoming).toHaveLength(5);
  });

  it("answer none as null and [] (a schedule with no slot there)", () => {
    const none = { kind: "once" as const, at: new Date("2026-12-24T09:00:00Z"), startAt: null, endAt: null };
    const before = new Date("2026-12-01T00:00:00Z");
    expect(lastSlotOf(none, null, before)).toBeNull();
    expect(upcomingSlots(none, new Date("2026-12-25T00:00:00Z"), 5)).toEqual([]);
  });
});
