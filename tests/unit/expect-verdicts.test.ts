import { beforeEach, describe, expect, it } from "vitest";
import { defineJob, type JobExpectation } from "@/lib/cron/define-job";
import { runTrigger, type EngineDeps, type TriggerOutcome } from "@/lib/cron/run-job";
import { ManualClock, MemoryRunStore } from "../support/memory-run-store";

/**
 * A job's `expect` ("did it do work") through the engine, on a hand-moved clock: each verdict a
 * check can return, what the run becomes, the reason it is stored with, and the retries it gets.
 */

const START = Date.parse("2026-11-24T10:00:00Z");
let clock: ManualClock;
let store: MemoryRunStore;
let deps: EngineDeps;

beforeEach(() => {
  clock = new ManualClock(new Date(START).toISOString());
  store = new MemoryRunStore(() => START + clock.elapsed);
  deps = { runs: store, holder: "expect-host:1", codeVersion: "v1", clock, warn: () => {} };
});

const ran = (o: TriggerOutcome) => {
  if (o.kind !== "ran") throw new Error(`expected a run, got a skip (${o.reason})`);
  return o.run;
};

async function runWith(check: JobExpectation, output: unknown = { processed: 0 }, retries = 0) {
  let calls = 0;
  const job = defineJob({
    name: "expecting",
    schedule: "* * * * *",
    retries,
    // A timeout that fits the invocation's budget: the retries are slept, not deferred to the tick.
    timeout: "5s",
    backoff: { strategy: "fixed", delay: "1s" },
    handler: async () => {
      calls++;
      return output;
    },
    expect: check,
  });
  const run = ran(await clock.run(runTrigger(deps, { job, trigger: "manual", scheduledFor: null, budgetMs: 60_000 })));
  return { run, calls, stored: store.runs.get(run.id) };
}

describe("expect verdicts", () => {
  it("passes on true and on undefined (nothing returned), keeping the output", async () => {
    for (const check of [() => true, () => undefined, async () => true]) {
      const { run } = await runWith(check as JobExpectation, { processed: 3 });
      expect(run).toMatchObject({ status: "completed", error: null, output: { processed: 3 } });
    }
  });

  it("fails on a string with that reason, the way the seed's 'processed nothing' job is written", async () => {
    const { run, stored } = await runWith((o) => (o as { processed: number }).processed > 0 || "processed nothing");
    expect(run).toMatchObject({ status: "failed", error: "expect: processed nothing", attempts: 1 });
    expect(stored?.status).toBe("failed");
    expect(stored?.errorMessage).toBe("expect: processed nothing");
  });

  it("fails on false, on an empty string and on a non-boolean, each with a reason that says so", async () => {
    expect((await runWith(() => false)).run.error).toBe("expect: the check returned false");
    expect((await runWith(() => "")).run.error).toBe("expect: the result was refused");
    const odd = await runWith((() => 0) as unknown as JobExpectation);
    expect(odd.run.status).toBe("failed");
    expect(odd.run.error).toBe("expect: the check returned 0; return true to pass or a reason to fail");
    expect((await runWith((() => ({ ok: 1 })) as unknown as JobExpectation)).run.error).toContain('the check returned {"ok":1}');
  });

  it("fails with the check's own message when the check throws (sync or async)", async () => {
    const sync = await runWith((o) => {
      throw new Error(`no such field in ${JSON.stringify(o)}`);
    });
    expect(sync.run).toMatchObject({ status: "failed", error: 'expect: the check threw: no such field in {"processed":0}' });
    const rejected = await runWith(async () => Promise.reject(new Error("lookup failed")));
    expect(rejected.run.error).toBe("expect: the check threw: lookup failed");
  });

  it("retries a refused result per `retries`, like a thrown error, and passes once the check does", async () => {
    const failing = await runWith(() => "processed nothing", { processed: 0 }, 2);
    expect(failing.calls).toBe(3);
    expect(failing.run).toMatchObject({ status: "failed", attempts: 3, error: "expect: processed nothing" });
    expect(failing.run.attemptDetails.map((a) => a.error)).toEqual(["expect: processed nothing", "expect: processed nothing", "expect: processed nothing"]);

    let n = 0;
    const job = defineJob({
      name: "expecting-later",
      schedule: "* * * * *",
      retries: 2,
      timeout: "5s",
      backoff: { strategy: "fixed", delay: "1s" },
      handler: async () => ({ processed: n++ }),
      expect: (o) => (o as { processed: number }).processed > 0 || "processed nothing",
    });
    const run = ran(await clock.run(runTrigger(deps, { job, trigger: "manual", scheduledFor: null, budgetMs: 60_000 })));
    expect(run).toMatchObject({ status: "completed", attempts: 2, output: { processed: 1 } });
  });

  it("never calls the check when the handler throws: the handler's error is the reason", async () => {
    let checked = 0;
    const job = defineJob({
      name: "expecting-throw",
      schedule: "* * * * *",
      handler: async () => {
        throw new Error("upstream down");
      },
      expect: () => {
        checked++;
        return true;
      },
    });
    const run = ran(await clock.run(runTrigger(deps, { job, trigger: "manual", scheduledFor: null, budgetMs: 60_000 })));
    expect(run).toMatchObject({ status: "failed", error: "upstream down" });
    expect(checked).toBe(0);
  });
});
