import { expect, it } from "vitest";
import { describeFaults, FAULT_LEASE_MS, reportCase, sleep, useLab, type AuditReport, type FaultLab, type Instance, type TriggerResult } from "./harness";

/**
 * A TCP proxy between one instance and Postgres (and between instances and Redis): the
 * connection cut before the claim, during the handler, during the finish, with the reply
 * lost, and partitioned past the lease. Every trigger is answered within a bounded time,
 * the handler never runs without a claim, no slot runs twice, no slot is burnt, and every
 * run ends terminal.
 */

/** Long enough for a few seconds of query timeouts and retries; a hang is a violation. */
const ANSWER_WITHIN_MS = 30_000;

describeFaults("faults: TCP proxy to Postgres and Redis", () => {
  const lab = useLab();
  let cut: Instance;
  let other: Instance;
  const lines: string[] = [];
  const all: string[] = [];

  const finish = async (l: FaultLab, name: string, iterations: number, since: Date, jobs: string[], triggers: TriggerResult[], extra: string[] = [], unansweredAllowed?: (t: TriggerResult) => boolean) => {
    cut.dbProxy!.heal();
    await l.settle(other);
    const audit: AuditReport = await l.audit({ jobs, since, triggers, unansweredAllowed });
    audit.violations.push(...extra);
    lines.push(reportCase(name, iterations, audit));
    all.push(...audit.violations.map((v) => `${name}: ${v}`));
    return audit;
  };

  it("starts an instance behind a proxy and one without", async () => {
    const l = lab();
    [cut, other] = await Promise.all([l.start("cut", { proxyDb: true }), l.start("other")]);
    for (const job of ["fault-a", "fault-b", "fault-c", "fault-d", "fault-long"]) await l.behave(job, { holdMs: 200 });
    const warm = await l.trigger(cut, "fault-a", { method: "POST" });
    expect(warm.status, JSON.stringify(warm.body)).toBe(200);
  });

  it("cut before the claim (refused, black-holed, partitioned): 503 store_unavailable in bounded time, no handler", async () => {
    const l = lab();
    const since = await l.now();
    const triggers: TriggerResult[] = [];
    const extra: string[] = [];
    for (const mode of ["refuse", "blackhole", "partition"] as const) {
      cut.dbProxy![mode]();
      const t = await l.trigger(cut, "fault-a", { method: "POST", timeoutMs: ANSWER_WITHIN_MS });
      triggers.push(t);
      if (t.status !== 503 || t.body?.code !== "store_unavailable") extra.push(`${mode}: answered ${t.status ?? t.error} ${JSON.stringify(t.body)} after ${t.ms} ms, not 503 store_unavailable`);
      cut.dbProxy!.heal();
      // The instance recovers once the database is back.
      const again = await l.trigger(cut, "fault-a", { method: "POST", timeoutMs: ANSWER_WITHIN_MS });
      triggers.push(again);
      if (again.status !== 200) extra.push(`${mode}: after heal the next trigger answered ${again.status ?? again.error} ${JSON.stringify(again.body)}`);
    }
    const handlers = (await l.ledger(["fault-a"], since)).length;
    if (handlers > 3) extra.push(`${handlers} handlers ran for 3 triggers that could be claimed`);
    const audit = await finish(l, "proxy-cut-before-claim", 3, since, ["fault-a"], triggers, extra);
    expect(audit.violations).toEqual([]);
  });

  it("cut during the handler (reset, short black hole): the run completes and is recorded", async () => {
    const l = lab();
    const since = await l.now();
    await l.behave("fault-b", { holdMs: 2_500 });
    const triggers: TriggerResult[] = [];
    const extra: string[] = [];
    for (const mode of ["reset", "blackhole"] as const) {
      const stepSince = await l.now();
      const pending = l.trigger(cut, "fault-b", { method: "POST", timeoutMs: ANSWER_WITHIN_MS });
      await l.waitForHandler("fault-b", stepSince);
      cut.dbProxy![mode]();
      if (mode === "blackhole") {
        await sleep(1_500);
        cut.dbProxy!.heal();
      }
      const t = await pending;
      triggers.push(t);
      if (t.status !== 200 || t.body?.execution?.status !== "completed") extra.push(`${mode}: answered ${t.status ?? t.error} ${JSON.stringify(t.body)}`);
    }
    const audit = await finish(l, "proxy-cut-during-handler", 2, since, ["fault-b"], triggers, extra);
    expect(audit.violations).toEqual([]);
  });

  it("cut during the finish (the finish request lost on a reset): the result is recorded, or the answer says it was not", async () => {
    const l = lab();
    const since = await l.now();
    await l.behave("fault-c", { holdMs: 200 });
    const triggers: TriggerResult[] = [];
    const extra: string[] = [];
    for (let i = 0; i < 3; i++) {
      const held = cut.dbProxy!.holdNextRequest("crondeck_finish_run");
      const pending = l.trigger(cut, "fault-c", { method: "POST", timeoutMs: ANSWER_WITHIN_MS });
      await held;
      cut.dbProxy!.reset();
      const t = await pending;
      triggers.push(t);
      const row = t.body?.execution?.id ? await l.run(t.body.execution.id) : undefined;
      const recorded = t.status === 200 && t.body?.execution?.status === "completed" && row?.status === "completed";
      const toldUnrecorded = t.status === 503 && t.body?.code === "result_unrecorded";
      if (!recorded && !toldUnrecorded) extra.push(`attempt ${i + 1}: answered ${t.status ?? t.error} ${JSON.stringify(t.body)} with the row ${row?.status}`);
    }
    const audit = await finish(l, "proxy-cut-during-finish", 3, since, ["fault-c"], triggers, extra);
    expect(audit.violations).toEqual([]);
  });

  it("the reply lost (claim committed, finish committed): the slot runs once, the answer is true", async () => {
    const l = lab();
    const since = await l.now();
    const triggers: TriggerResult[] = [];
    const extra: string[] = [];
    // A scheduled trigger each (this minute's slot), so a burnt slot shows as a slot without a handler.
    for (const [job, request] of [["fault-d", "crondeck_claim_run"], ["fault-b", "crondeck_claim_run"], ["fault-c", "crondeck_finish_run"], ["fault-a", "crondeck_finish_run"]] as const) {
      await l.behave(job, { holdMs: 200 });
      const stepSince = await l.now();
      const dropped = cut.dbProxy!.dropNextReply(request);
      const t = await l.trigger(cut, job, { timeoutMs: ANSWER_WITHIN_MS });
      const wasDropped = await Promise.race([dropped.then(() => true), sleep(100).then(() => false)]);
      triggers.push(t);
      const handlers = (await l.ledger([job], stepSince)).length;
      if (!wasDropped) extra.push(`${job}: no ${request} reply was dropped`);
      if (handlers !== 1 && t.body?.skipped !== true) extra.push(`${job} (${request} reply lost): ${handlers} handlers ran for its slot; answered ${t.status ?? t.error} ${JSON.stringify(t.body)}`);
      if (t.status !== 200 || t.body?.execution?.status !== "completed") extra.push(`${job} (${request} reply lost): answered ${t.status ?? t.error} ${JSON.stringify(t.body)}`);
      // A redelivery of the same slot is a duplicate, on either instance.
      const slot: string | undefined = t.body?.execution?.scheduledFor;
      const again = await l.trigger(other, job, { timeoutMs: ANSWER_WITHIN_MS, ...(slot ? { query: { slot } } : {}) });
      triggers.push(again);
      if (again.body?.reason !== "duplicate") extra.push(`${job}: the redelivery answered ${again.status} ${JSON.stringify(again.body)}, not a duplicate`);
    }
    const audit = await finish(l, "proxy-reply-lost", 4, since, ["fault-a", "fault-b", "fault-c", "fault-d"], triggers, extra);
    expect(audit.violations).toEqual([]);
  });

  it("partitioned past the lease during the handler: the holder is told and stops before another instance runs the job", async () => {
    const l = lab();
    const since = await l.now();
    await l.behave("fault-long", { holdMs: 25_000 });
    const pending = l.trigger(cut, "fault-long", { method: "POST", timeoutMs: 60_000 });
    const handler = await l.waitForHandler("fault-long", since, (row) => row.pid === cut.pid);
    cut.dbProxy!.partition();
    await sleep(FAULT_LEASE_MS + 1_500);
    await l.behave("fault-long", { holdMs: 200 });
    const takeover = await l.trigger(other, "fault-long", { method: "POST", timeoutMs: ANSWER_WITHIN_MS });
    cut.dbProxy!.heal();
    const answer = await pending;
    const extra: string[] = [];
    const entry = (await l.ledger(["fault-long"], since)).find((row) => row.run_id === handler.run_id)!;
    if (!entry.told_at) extra.push(`the partitioned holder was never told through its signal (outcome ${entry.outcome})`);
    if (takeover.status !== 200 || takeover.body?.execution?.status !== "completed") extra.push(`the other instance did not run the job: ${takeover.status} ${JSON.stringify(takeover.body)}`);
    if (answer.status === 200) extra.push(`the partitioned holder answered 200 ${JSON.stringify(answer.body)}`);
    const audit = await finish(l, "proxy-partitioned", 1, since, ["fault-long"], [answer, takeover], extra);
    expect(audit.violations).toEqual([]);
  });

  it("Redis cut: a pre-lock whose release was lost does not block the job; Redis errors answer 503 or run on Postgres", async () => {
    const l = lab();
    const [r1, r2] = await Promise.all([l.start("redis-1", { redis: "proxied" }), l.start("redis-2", { redis: "proxied" })]);
    const since = await l.now();
    const triggers: TriggerResult[] = [];
    const extra: string[] = [];
    await l.behave("fault-d", { holdMs: 200 });
    // The release of the pre-lock never reaches Redis.
    const held = r1.redisProxy!.holdNextRequest('"del"');
    const first = await l.trigger(r1, "fault-d", { method: "POST", timeoutMs: ANSWER_WITHIN_MS });
    triggers.push(first);
    const wasHeld = await Promise.race([held.then(() => true), sleep(2_000).then(() => false)]);
    if (!wasHeld) extra.push("the pre-lock release was not seen on the Redis connection");
    r1.redisProxy!.reset();
    r1.redisProxy!.heal();
    const second = await l.trigger(r2, "fault-d", { method: "POST", timeoutMs: ANSWER_WITHIN_MS });
    triggers.push(second);
    if (second.status !== 200 || second.body?.execution?.status !== "completed") extra.push(`with Postgres free and a stale Redis key, the next trigger answered ${second.status} ${JSON.stringify(second.body)}`);
    // Redis refused outright: the trigger runs on Postgres alone or answers 503, never 500.
    r2.redisProxy!.refuse();
    const third = await l.trigger(r2, "fault-d", { method: "POST", timeoutMs: ANSWER_WITHIN_MS });
    triggers.push(third);
    r2.redisProxy!.heal();
    if (third.status === null || third.status === 500 || !(third.status === 200 || (third.status === 503 && third.body?.code === "store_unavailable"))) {
      extra.push(`with Redis down the trigger answered ${third.status ?? third.error} ${JSON.stringify(third.body)}`);
    }
    await l.settle(other);
    const audit = await l.audit({ jobs: ["fault-d"], since, triggers });
    audit.violations.push(...extra);
    lines.push(reportCase("redis-cut", 3, audit));
    all.push(...audit.violations.map((v) => `redis-cut: ${v}`));
    expect(audit.violations).toEqual([]);
  });
});
