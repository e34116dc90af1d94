import { expect, it } from "vitest";
import { describeFaults, reportCase, useLab, type FaultLab, type Instance, type TriggerResult } from "./harness";

/**
 * kill -9 of an instance at four moments of a run: during the handler, right after the claim
 * (before the handler starts), during the fenced finish (the finish request is held in flight
 * by a TCP proxy when the process dies), and during the resume of a deferred retry. After the
 * lease and one tick every run is terminal, counted as a failure and alerted once, nothing
 * overlapped, and the job runs again.
 */

const ROUNDS = Number(process.env.CRONDECK_FAULT_ROUNDS ?? 2);

type Kind = "kill-during-handler" | "kill-after-claim" | "kill-during-finish" | "kill-during-retry-resume";
/** The jobs each kind kills at once (one process, one kill). */
const JOBS: Record<Kind, string[]> = {
  "kill-during-handler": ["fault-a", "fault-long"],
  "kill-after-claim": ["fault-b", "fault-long-b"],
  "kill-during-finish": ["fault-c"],
  "kill-during-retry-resume": ["fault-retry"],
};

interface Scenario {
  kind: Kind;
  victim: Instance;
  triggers: TriggerResult[];
}

async function killDuringHandler(lab: FaultLab, victim: Instance, since: Date): Promise<TriggerResult[]> {
  const jobs = JOBS["kill-during-handler"];
  const pending = jobs.map((job) => lab.trigger(victim, job, { method: "POST" }));
  await Promise.all(jobs.map((job) => lab.waitForHandler(job, since, (row) => row.pid === victim.pid)));
  await lab.kill(victim);
  return Promise.all(pending);
}

async function killAfterClaim(lab: FaultLab, victim: Instance, since: Date): Promise<TriggerResult[]> {
  const jobs = JOBS["kill-after-claim"];
  const pending = jobs.map((job) => lab.trigger(victim, job, { method: "POST" }));
  await Promise.all(jobs.map((job) => lab.waitForClaim(job, since)));
  await lab.kill(victim);
  return Promise.all(pending);
}

async function killDuringFinish(lab: FaultLab, victim: Instance): Promise<TriggerResult[]> {
  const held = victim.dbProxy!.holdNextRequest("crondeck_finish_run");
  const pending = lab.trigger(victim, "fault-c", { method: "POST" });
  await held;
  await lab.kill(victim);
  victim.dbProxy!.reset();
  return [await pending];
}

async function killDuringRetryResume(lab: FaultLab, survivor: Instance, victim: Instance, since: Date): Promise<TriggerResult[]> {
  const first = await lab.trigger(survivor, "fault-retry", { method: "POST" });
  const runId: string | undefined = first.body?.execution?.id;
  expect(first.body?.execution?.status, JSON.stringify(first.body)).toBe("retry_scheduled");
  // Attempt 2 works long enough to be killed inside.
  await lab.behave("fault-retry", { holdMs: 4_000, deferMs: 600_000 });
  const pending = lab.trigger(victim, "fault-retry", { method: "POST", query: { trigger: "retry", run: runId! } });
  await lab.waitForHandler("fault-retry", since, (row) => row.attempt === 2 && row.pid === victim.pid);
  await lab.kill(victim);
  return [first, await pending];
}

describeFaults("faults: kill -9", () => {
  const lab = useLab();

  it("kill -9 during the handler, after the claim, during the finish and during a retry resume: every run terminal within lease + one tick, no overlap, each failure alerted once", async () => {
    const l = lab();
    const survivor = await l.start("survivor");
    const figures = new Map<Kind, { iterations: number; violations: string[]; runs: number; handlers: number; skips: number; failures: number }>();
    for (const kind of Object.keys(JOBS) as Kind[]) figures.set(kind, { iterations: 0, violations: [], runs: 0, handlers: 0, skips: 0, failures: 0 });

    for (let round = 1; round <= ROUNDS; round++) {
      const since = await l.now();
      // Handlers long enough to be killed inside, short of the 5 s timeout.
      await l.behave("fault-a", { holdMs: 4_000 });
      await l.behave("fault-long", { holdMs: 4_000 });
      await l.behave("fault-b", { holdMs: 300, startDelayMs: 3_000 });
      await l.behave("fault-long-b", { holdMs: 300, startDelayMs: 3_000 });
      await l.behave("fault-c", { holdMs: 300 });
      await l.behave("fault-retry", { holdMs: 100, deferMs: 600_000 });
      const [k1, k2, k3, k4] = await Promise.all([l.start(`k1-${round}`), l.start(`k2-${round}`), l.start(`k3-${round}`, { proxyDb: true }), l.start(`k4-${round}`)]);

      const scenarios: Scenario[] = await Promise.all([
        killDuringHandler(l, k1!, since).then((triggers) => ({ kind: "kill-during-handler" as const, victim: k1!, triggers })),
        killAfterClaim(l, k2!, since).then((triggers) => ({ kind: "kill-after-claim" as const, victim: k2!, triggers })),
        killDuringFinish(l, k3!).then((triggers) => ({ kind: "kill-during-finish" as const, victim: k3!, triggers })),
        killDuringRetryResume(l, survivor, k4!, since).then((triggers) => ({ kind: "kill-during-retry-resume" as const, victim: k4!, triggers })),
      ]);

      // The lease runs out, one tick sweeps, and every job runs again.
      const tick = await l.settle(survivor);
      expect(tick.status, JSON.stringify(tick.body)).toBeLessThan(500);
      for (const job of Object.values(JOBS).flat()) await l.behave(job, { holdMs: 100 });
      for (const scenario of scenarios) {
        const jobs = JOBS[scenario.kind];
        const agains = await Promise.all(jobs.map((job) => l.trigger(survivor, job, { method: "POST" })));
        scenario.triggers.push(...agains);
        const audit = await l.audit({
          jobs,
          since,
          triggers: scenario.triggers,
          unansweredAllowed: (t) => t.instance === scenario.victim.name,
        });
        for (const again of agains) {
          if (again.status !== 200 || again.body?.execution?.status !== "completed") {
            audit.violations.push(`after the kill and the sweep, ${again.job} did not run again: ${again.status} ${JSON.stringify(again.body)}`);
          }
        }
        const f = figures.get(scenario.kind)!;
        f.iterations += jobs.length;
        f.violations.push(...audit.violations.map((v) => `round ${round}: ${v}`));
        f.runs += audit.runs;
        f.handlers += audit.handlers;
        f.skips += audit.skips;
        f.failures += audit.failures;
      }
    }

    const lines = [...figures].map(([kind, f]) => reportCase(kind, f.iterations, f));
    const violations = [...figures.values()].flatMap((f) => f.violations);
    expect(violations, lines.join("\n")).toEqual([]);
  });
});
