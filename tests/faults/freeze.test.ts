import { expect, it } from "vitest";
import { describeFaults, FAULT_LEASE_MS, reportCase, sleep, useLab } from "./harness";

/**
 * SIGSTOP of the holder past its lease: a second instance runs the job meanwhile; after
 * SIGCONT the frozen holder's late finish changes no row, its handler is told through its
 * signal, and its caller gets `lease_lost` (not a 200 for a result that was not recorded).
 */

const JOBS = ["fault-long", "fault-long-b"];

describeFaults("faults: SIGSTOP past the lease", () => {
  const lab = useLab();

  it("a frozen holder is taken over; after SIGCONT its finish changes 0 rows, its handler is told, its answer is lease_lost", async () => {
    const l = lab();
    const [holder, taker] = await Promise.all([l.start("holder"), l.start("taker")]);
    const since = await l.now();
    // 3 s of work in steps: the frozen handler still has work to do when it wakes.
    for (const job of JOBS) await l.behave(job, { holdMs: 3_000 });
    const pending = JOBS.map((job) => l.trigger(holder, job, { method: "POST", timeoutMs: 90_000 }));
    const handlers = await Promise.all(JOBS.map((job) => l.waitForHandler(job, since, (row) => row.pid === holder.pid)));

    const frozenFrom = l.freeze(holder);
    await sleep(FAULT_LEASE_MS + 2_000);
    for (const job of JOBS) await l.behave(job, { holdMs: 200 });
    const takeovers = await Promise.all(JOBS.map((job) => l.trigger(taker, job, { method: "POST" })));
    const columns = "status, completed_at, output, error_message, fencing_token";
    const before = await Promise.all(handlers.map((h) => l.query(`SELECT ${columns} FROM cron_job_logs WHERE id = $1::uuid`, [h.run_id])));
    const frozenTo = l.thaw(holder);
    const answers = await Promise.all(pending);
    await sleep(500);
    const after = await Promise.all(handlers.map((h) => l.query(`SELECT ${columns} FROM cron_job_logs WHERE id = $1::uuid`, [h.run_id])));
    const ledger = await l.ledger(JOBS, since);

    await l.settle(taker);
    const audit = await l.audit({
      jobs: JOBS,
      since,
      triggers: [...answers, ...takeovers],
      frozen: [{ pid: holder.pid, from: frozenFrom, to: frozenTo }],
    });
    const told: string[] = [];
    JOBS.forEach((job, i) => {
      const takeover = takeovers[i]!;
      const answer = answers[i]!;
      if (takeover.status !== 200 || takeover.body?.execution?.status !== "completed") {
        audit.violations.push(`${job}: the second instance did not run the job while the holder was frozen: ${takeover.status} ${JSON.stringify(takeover.body)}`);
      }
      if (JSON.stringify(before[i]) !== JSON.stringify(after[i])) {
        audit.violations.push(`${job}: the frozen holder's late finish changed its row: ${JSON.stringify(before[i])} -> ${JSON.stringify(after[i])}`);
      }
      const entry = ledger.find((row) => row.run_id === handlers[i]!.run_id)!;
      if (!entry.told_at) audit.violations.push(`${job}: the frozen holder's handler was never told through its signal (it ended ${entry.outcome})`);
      else told.push(entry.told_reason ?? "");
      if (answer.status === null || (answer.status >= 200 && answer.status < 300) || answer.body?.code !== "lease_lost") {
        audit.violations.push(`${job}: the frozen holder answered ${answer.status} ${JSON.stringify(answer.body)}, not lease_lost`);
      } else if (takeover.body?.execution?.id && !JSON.stringify(answer.body).includes(takeover.body.execution.id)) {
        audit.violations.push(`${job}: lease_lost does not name the run that took over (${takeover.body.execution.id})`);
      }
    });
    const line = reportCase("sigstop-past-lease", JOBS.length, audit, told.length ? `told: ${told.join(" | ")}` : "");
    expect(audit.violations, line).toEqual([]);
  });
});
