import { beforeEach, describe, expect, it } from "vitest";
import { defineJob, type JobConfig } from "@/lib/cron/define-job";
import { PROGRESS_FLUSH_MS } from "@/lib/cron/lease-keeper";
import { runTrigger, type EngineDeps, type TriggerInput, type TriggerOutcome } from "@/lib/cron/run-job";
import type { HeartbeatResult, RunProgress } from "@/lib/cron/run-store";
import { ManualClock, MemoryRunStore } from "../support/memory-run-store";

/**
 * When live progress goes out (lib/cron/lease-keeper.ts, lib/cron/run-log.ts LiveProgress), on
 * a clock the test moves: with the heartbeats, early only while lines or a finished attempt are
 * pending and at most one heartbeat per PROGRESS_FLUSH_MS, the same tail again after a failed
 * heartbeat, nothing after the finish.
 */

const START = Date.parse("2026-11-24T10:00:00Z");
let clock: ManualClock;
let store: MemoryRunStore;
let deps: EngineDeps;
const serverNow = () => START + clock.elapsed;

beforeEach(() => {
  clock = new ManualClock(new Date(START).toISOString());
  store = new MemoryRunStore(serverNow);
  deps = { runs: store, holder: "live-host:1", codeVersion: "v1", clock, warn: () => {} };
});

const ran = (o: TriggerOutcome) => {
  if (o.kind !== "ran") throw new Error(`expected a run, got a skip (${o.reason})`);
  return o.run;
};
const after = (ms: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
const trigger = (config: Partial<JobConfig>, input: Partial<TriggerInput> = {}) =>
  runTrigger(deps, {
    job: defineJob({ name: "live", schedule: "* * * * *", timeout: "60s", lease: "30s", handler: async () => "ok", ...config }),
    trigger: "manual",
    scheduledFor: null,
    budgetMs: 300_000,
    ...input,
  });
const at = (t: number) => t - START;

describe("live progress", () => {
  it("sends a line with an early heartbeat about 2 s after the last one, not at the next 10 s heartbeat", async () => {
    const run = ran(
      await clock.run(
        trigger({
          handler: async (c) => {
            await after(500);
            c.log("half a second in");
            await after(14_500);
          },
        }),
      ),
    );
    expect(run.status).toBe("completed");
    const writes = store.progressWrites.map((w) => ({ at: at(w.at), from: w.progress.logFrom, lines: w.progress.logLines.map((l) => l.message), attempts: w.progress.attempts }));
    // 2 s after the claim (the keeper wakes every second), then the regular heartbeat 10 s after that one.
    expect(writes[0]).toEqual({ at: PROGRESS_FLUSH_MS, from: 0, lines: ["half a second in"], attempts: 1 });
    expect(store.heartbeatsAt.map(at)).toEqual([2_000, 12_000]);
    expect(writes).toHaveLength(1);
  });

  it("a job that logs all the time costs one heartbeat per 2 s at most, never a write per line, and the row ends with every line once", async () => {
    let logged = 0;
    const run = ran(
      await clock.run(
        trigger({
          handler: async (c) => {
            for (let i = 0; i < 150; i++) {
              c.log(`line ${++logged}`);
              await after(200);
            }
          },
        }),
      ),
    );
    expect(run.status).toBe("completed");
    const beats = store.heartbeatsAt.map(at);
    // 150 lines over 30 s: about 15 heartbeats, not 150 writes.
    expect(beats.length).toBeLessThanOrEqual(30_000 / PROGRESS_FLUSH_MS);
    for (let i = 1; i < beats.length; i++) expect(beats[i] - beats[i - 1]).toBeGreaterThanOrEqual(PROGRESS_FLUSH_MS);
    // Each write carries the tail after the previous one: together, every line once, in order.
    const streamed = store.progressWrites.flatMap((w) => w.progress.logLines.map((l) => l.message));
    expect(streamed).toEqual(Array.from({ length: streamed.length }, (_, i) => `line ${i + 1}`));
    const row = store.runs.get(run.id)!;
    expect(row.logLines.map((l) => l.message)).toEqual(Array.from({ length: 150 }, (_, i) => `line ${i + 1}`));
  });

  it("sends nothing early for a job that logs nothing (a started attempt alone waits for the regular heartbeat)", async () => {
    ran(await clock.run(trigger({ handler: () => after(25_000) })));
    expect(store.heartbeatsAt.map(at)).toEqual([10_000, 20_000]);
    expect(store.progressWrites.map((w) => ({ at: at(w.at), attempts: w.progress.attempts, lines: w.progress.logLines.length }))).toEqual([{ at: 10_000, attempts: 1, lines: 0 }]);
  });

  it("sends the same tail again after a failed heartbeat, and the row keeps each line once", async () => {
    const real = store.heartbeat.bind(store);
    let fail = 1;
    store.heartbeat = async (runId: string, token: number, leaseMs: number, progress?: RunProgress | null): Promise<HeartbeatResult> => {
      // The write reaches the store, its reply is lost: the holder does not know it landed.
      const result = await real(runId, token, leaseMs, progress);
      if (progress?.logLines.length && fail-- > 0) throw Object.assign(new Error("Connection terminated unexpectedly"), { code: "57P01" });
      return result;
    };
    const seen: string[][] = [];
    const run = ran(
      await clock.run(
        trigger({
          handler: async (c) => {
            c.log("one");
            await after(2_500);
            c.log("two");
            await after(2_500);
            seen.push(store.runs.get(c.runId)!.logLines.map((l) => l.message));
            await after(5_000);
          },
        }),
      ),
    );
    const sent = store.progressWrites.map((w) => [w.progress.logFrom, w.progress.logLines.map((l) => l.message)]);
    expect(sent[0]).toEqual([0, ["one"]]);
    // The retry (within 2 s of the failure) sends from line 0 again, now with the failure's own line and "two".
    const all = ["one", "heartbeat failed (1 in a row): Connection terminated unexpectedly", "two"];
    expect(sent[1]).toEqual([0, all]);
    expect(seen[0]).toEqual(all);
    expect(store.runs.get(run.id)!.logLines.map((l) => l.message)).toEqual(all);
  });

  it("writes no progress after the finish: a timed-out handler that lingers and logs changes nothing on its row", async () => {
    const run = ran(
      await clock.run(
        trigger({
          timeout: "5s",
          handler: async (c) => {
            // Ignores its signal, and logs after its timeout.
            await after(8_000);
            c.log("too late");
            await after(20_000);
          },
        }),
      ),
    );
    expect(run.status).toBe("timed_out");
    await clock.advance(30_000);
    const row = store.runs.get(run.id)!;
    expect(row.logLines.map((l) => l.message)).not.toContain("too late");
    expect(store.progressWrites.every((w) => w.progress.logLines.every((l) => l.message !== "too late"))).toBe(true);
  });
});

describe("the last flush and the finish", () => {
  it("a progress heartbeat still in flight when the finish frees the lease is not a lost lease: no warning, no abort, the run completes", async () => {
    const warnings: string[] = [];
    deps = { ...deps, warn: (m) => warnings.push(m) };
    // The attempt's end flushes its last line; that heartbeat's answer arrives after the finish.
    let finished!: () => void;
    const finishDone = new Promise<void>((resolve) => (finished = resolve));
    const heartbeat = store.heartbeat.bind(store);
    const finish = store.finish.bind(store);
    let lateAnswers = 0;
    store.heartbeat = async (...args: Parameters<typeof store.heartbeat>): Promise<HeartbeatResult> => {
      if (args[3]?.logLines.some((l) => l.message === "done counting")) {
        await finishDone;
        lateAnswers++;
      }
      return heartbeat(...args);
    };
    store.finish = async (...args: Parameters<typeof store.finish>) => {
      const result = await finish(...args);
      finished();
      return result;
    };
    const run = ran(
      await clock.run(
        trigger({
          handler: async (c) => {
            await after(3_000);
            c.log("done counting");
            return "ok";
          },
        }),
      ),
    );
    await clock.advance(1_000);
    expect(lateAnswers).toBe(1);
    expect(run.status).toBe("completed");
    expect(warnings.filter((w) => w.includes("lease lost"))).toEqual([]);
    expect(store.runs.get(run.id)!.logLines.map((l) => l.message)).toEqual(["done counting"]);
  });
});
