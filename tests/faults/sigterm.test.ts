import { expect, it } from "vitest";
import { describeFaults, reportCase, sleep, startNpmStart, useLab, type TriggerResult } from "./harness";

/**
 * SIGTERM to `npm start` (what a supervisor signals) under load: that process drains (no
 * next-server left behind), every caller in flight gets an HTTP answer (not a reset), a run
 * that outlasts the grace period ends terminal as an interrupted failure, alerted once.
 */

describeFaults("faults: SIGTERM under load", () => {
  const lab = useLab();

  it("SIGTERM to npm start under load: the process drains, every in-flight caller gets an answer, nothing is left running", async () => {
    const l = lab();
    const other = await l.start("other");
    const server = await startNpmStart({ ...l.baseEnv(), CRON_SHUTDOWN_GRACE_SECONDS: "3" });
    const since = await l.now();
    await l.behave("fault-a", { holdMs: 1_000 }); // finishes within the grace period
    await l.behave("fault-long", { holdMs: 15_000 }); // outlasts it: interrupted
    await l.behave("fault-c", { holdMs: 500 });
    const instance = { name: "npm-start", url: server.url } as Parameters<typeof l.trigger>[0];
    const inFlight: Array<Promise<TriggerResult>> = [];
    inFlight.push(l.trigger(instance, "fault-long", { method: "POST", timeoutMs: 60_000 }));
    for (let i = 0; i < 8; i++) inFlight.push(l.trigger(instance, "fault-a", { method: "POST", timeoutMs: 60_000 }));
    for (let i = 0; i < 6; i++) inFlight.push(l.trigger(instance, "fault-c", { timeoutMs: 60_000 }));
    const handlers = await Promise.all(["fault-long", "fault-a"].map((job) => l.waitForHandler(job, since)));
    const pid = handlers[0]!.pid;
    // More load while it shuts down: these may be refused (503) or find the port closed.
    const late: Array<Promise<TriggerResult>> = [];
    const signalledAt = Date.now();
    server.child.kill("SIGTERM");
    const lateLoad = (async () => {
      while (Date.now() - signalledAt < 2_000) {
        late.push(l.trigger(instance, "fault-c", { timeoutMs: 30_000 }));
        await sleep(100);
      }
    })();
    const exit = await Promise.race([server.exited, sleep(30_000).then(() => null)]);
    await lateLoad;
    const answers = await Promise.all(inFlight);
    const lateAnswers = await Promise.all(late);
    const extra: string[] = [];
    if (!exit) extra.push(`npm start did not exit within 30 s of SIGTERM`);
    // The process that ran the handlers is gone too.
    let serverAlive = true;
    for (let i = 0; i < 50 && serverAlive; i++) {
      try {
        process.kill(pid, 0);
        await sleep(100);
      } catch {
        serverAlive = false;
      }
    }
    if (serverAlive) {
      extra.push(`the server process ${pid} was still running after npm start exited`);
      process.kill(pid, "SIGKILL");
    }
    for (const t of lateAnswers) {
      if (t.status !== null && !(t.status === 503 && t.body?.code === "shutting_down") && t.status !== 200) extra.push(`a trigger during shutdown answered ${t.status} ${JSON.stringify(t.body)}`);
    }
    await l.settle(other);
    const audit = await l.audit({ jobs: ["fault-a", "fault-long", "fault-c"], since, triggers: answers });
    audit.violations.push(...extra);
    const stats = server.output().match(/jobs executed[^\n]*/)?.[0] ?? "no statistics printed";
    const line = reportCase("sigterm-under-load", answers.length, audit, `${lateAnswers.length} triggers during shutdown; exit ${JSON.stringify(exit)}; ${stats}`);
    expect(audit.violations, `${line}\n${server.output().slice(-2_000)}`).toEqual([]);
  });
});
