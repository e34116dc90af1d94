import { sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { z } from "zod";
import { prepareReplay } from "@/lib/app/operations/dead-letters";
import { prepareManualRun } from "@/lib/app/operations/jobs";
import { defineJob, type JobDefinition } from "@/lib/cron/define-job";
import type { DurationInput } from "@/lib/cron/define-job";
import { NonRetriableError, OperationError } from "@/lib/cron/errors";
import { JobRegistry } from "@/lib/cron/registry";
import { runTrigger, type EngineDeps, type TriggerOutcome } from "@/lib/cron/run-job";
import type { Actor } from "@/lib/cron/vocabulary";
import { queryRows, type Db } from "@/lib/db/client";
import { getDeadLetter } from "@/lib/db/queries/dead-letters";
import { getRun } from "@/lib/db/queries/run-detail";
import { PostgresRunStore } from "@/lib/db/run-store";
import { describeOnDatabases } from "../support/db";

/**
 * Run input on both databases: run-now stores the input on the run row and in job.run's audit
 * row (secrets scrubbed there); a bad input writes nothing; a failed run's dead letter shows its
 * run's input; a replay runs with the same input or an edited one (its row keeps what it ran
 * with, dead_letter.retry records the edit before and after); a deferred retry resumes with
 * its row's input.
 */

const SECRET = "sekrit-token-4471";
const admin: Actor = { name: "admin", via: "cookie", ip: "203.0.113.5" };
let counter = 0;
const uniqueName = (p: string) => `${p}-${process.pid}-${++counter}`;

const seen: Array<{ name: string; input: unknown; attempt: number }> = [];
function importJob(extra: Partial<{ retries: number; backoff: { strategy: "fixed"; delay: DurationInput } }> = {}): JobDefinition {
  return defineJob({
    name: uniqueName("input-import"),
    schedule: "13 4 1 1 *",
    input: z.object({ batch: z.string().min(1), fail: z.boolean().default(false), token: z.string().optional() }),
    defaultInput: { batch: "nightly" },
    timeout: "5s",
    retries: extra.retries ?? 0,
    ...(extra.backoff ? { backoff: extra.backoff } : {}),
    deadLetter: { pauseAfter: 1000, replayLimit: 10 },
    handler: (ctx) => {
      seen.push({ name: ctx.runId, input: ctx.input, attempt: ctx.attempt });
      if (ctx.input.fail) throw (extra.retries ? new Error(`batch ${ctx.input.batch} failed`) : new NonRetriableError(`batch ${ctx.input.batch} refused`));
      return { imported: ctx.input.batch };
    },
  });
}

const ran = (o: TriggerOutcome) => {
  if (o.kind !== "ran") throw new Error(`expected a run, got ${o.kind}`);
  return o.run;
};

interface AuditRow {
  action: string;
  detail: Record<string, unknown>;
}
const auditOf = (db: Db, target: string) => queryRows<AuditRow>(db, sql`SELECT action, detail FROM cron_audit_log WHERE target = ${target} ORDER BY id`);
const runCount = async (db: Db, jobName: string) => (await queryRows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM cron_job_logs WHERE job_name = ${jobName}`))[0].n;

async function refusal(promise: Promise<unknown>): Promise<OperationError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OperationError);
  return error as OperationError;
}

describeOnDatabases("run input", (ctx) => {
  const engine = (): EngineDeps => ({ runs: new PostgresRunStore(ctx.db), holder: "input-test:1", codeVersion: "v1", settleGraceMs: 50, secrets: [SECRET], warn: () => {} });
  const deps = (...jobs: JobDefinition[]) => ({ db: ctx.db, registry: new JobRegistry(jobs), engine: engine() });

  it("run now stores the input on the run; job.run's audit row records it with secrets scrubbed", async () => {
    const job = importJob();
    const prepared = await prepareManualRun(deps(job), admin, { job, runInput: { batch: "march", token: SECRET } });
    const run = ran(await prepared.run(30_000));
    expect(run).toMatchObject({ id: prepared.executionId, status: "completed", output: { imported: "march" } });
    expect((await getRun(ctx.db, run.id))?.input).toEqual({ batch: "march", token: SECRET });
    expect(seen.find((s) => s.name === run.id)?.input).toEqual({ batch: "march", fail: false, token: SECRET });
    const [audit] = await auditOf(ctx.db, job.name);
    expect(audit.action).toBe("job.run");
    expect(audit.detail.input).toEqual({ batch: "march", token: "[redacted]" });
    expect(JSON.stringify(audit.detail)).not.toContain(SECRET);
  });

  it("a run without input stores null (the default) and its audit row has no input", async () => {
    const job = importJob();
    const prepared = await prepareManualRun(deps(job), admin, { job });
    const run = ran(await prepared.run(30_000));
    expect((await getRun(ctx.db, run.id))?.input).toBeNull();
    expect(seen.find((s) => s.name === run.id)?.input).toEqual({ batch: "nightly", fail: false });
    expect((await auditOf(ctx.db, job.name))[0].detail).not.toHaveProperty("input");
  });

  it("an input the schema refuses is a 400 naming the field, and writes nothing", async () => {
    const job = importJob();
    const error = await refusal(prepareManualRun(deps(job), admin, { job, runInput: { batch: 7 } }));
    expect(error).toMatchObject({ kind: "invalid", code: "invalid_input", field: "input.batch" });
    expect(error.message).toBe("input.batch: expected string, received number");
    const plain = defineJob({ name: uniqueName("input-none"), schedule: "13 4 1 1 *", handler: () => null });
    expect(await refusal(prepareManualRun(deps(plain), admin, { job: plain, runInput: { a: 1 } }))).toMatchObject({ code: "invalid_input", field: "input" });
    expect(await auditOf(ctx.db, job.name)).toEqual([]);
    expect(await auditOf(ctx.db, plain.name)).toEqual([]);
    expect(await runCount(ctx.db, job.name)).toBe(0);
  });

  it("a failed run's dead letter shows its input; a replay runs with the same input, or with an edited one recorded before and after", async () => {
    const job = importJob();
    const first = ran(await (await prepareManualRun(deps(job), admin, { job, runInput: { batch: "april", fail: true } })).run(30_000));
    expect(first.status).toBe("failed");
    expect(first.deadLetterId).toBeTruthy();
    const entry = await getDeadLetter(ctx.db, first.deadLetterId!);
    expect(entry?.input).toEqual({ batch: "april", fail: true });

    // The same input: fails the same way; the replay's row keeps it.
    const same = await prepareReplay(deps(job), admin, { id: entry!.id });
    const sameRun = ran(await same.run(30_000));
    expect(sameRun.status).toBe("failed");
    expect((await getRun(ctx.db, sameRun.id))?.input).toEqual({ batch: "april", fail: true });

    // An edited input that the schema refuses: nothing counted, nothing audited.
    const before = await getDeadLetter(ctx.db, entry!.id);
    expect(await refusal(prepareReplay(deps(job), admin, { id: entry!.id, input: { batch: "" } }))).toMatchObject({ code: "invalid_input", field: "input.batch" });
    expect((await getDeadLetter(ctx.db, entry!.id))?.replayCount).toBe(before!.replayCount);

    // An edited input: completes, the replay's row stores the edit, the audit row records both.
    const edited = await prepareReplay(deps(job), admin, { id: entry!.id, input: { batch: "april", fail: false, token: SECRET } });
    const editedRun = ran(await edited.run(30_000));
    expect(editedRun).toMatchObject({ status: "completed", output: { imported: "april" } });
    const detail = await getRun(ctx.db, editedRun.id);
    expect(detail).toMatchObject({ trigger: "replay", replayOf: first.id, input: { batch: "april", fail: false, token: SECRET } });
    expect((await getDeadLetter(ctx.db, entry!.id))?.recoveryStatus).toBe("replayed");

    const retries = (await auditOf(ctx.db, entry!.id)).filter((r) => r.action === "dead_letter.retry");
    expect(retries).toHaveLength(2);
    expect(retries[0].detail).not.toHaveProperty("inputEdited");
    expect(retries[1].detail).toMatchObject({ inputEdited: true, inputBefore: { batch: "april", fail: true }, input: { batch: "april", fail: false, token: "[redacted]" }, executionId: editedRun.id });
  });

  it("a deferred retry resumes with its row's input (the resume reads it in the claim's round trip)", async () => {
    // A backoff longer than the budget: the second attempt is deferred to the tick, which asks for trigger=retry.
    const job = importJob({ retries: 1, backoff: { strategy: "fixed", delay: "1m" } });
    const first = ran(await runTrigger(engine(), { job, trigger: "manual", scheduledFor: null, input: { batch: "may", fail: true }, budgetMs: 30_000 }));
    expect(first.status).toBe("retry_scheduled");
    await ctx.db.execute(sql`UPDATE cron_job_logs SET next_retry_at = now() - interval '1 second' WHERE id = ${first.id}::uuid`);
    const resumed = ran(await runTrigger(engine(), { job, trigger: "retry", scheduledFor: null, retryOf: first.id, budgetMs: 30_000 }));
    expect(resumed.id).toBe(first.id);
    expect(resumed.attempts).toBe(2);
    expect(seen.filter((s) => s.name === first.id).map((s) => s.input)).toEqual([
      { batch: "may", fail: true },
      { batch: "may", fail: true },
    ]);
  });
});
