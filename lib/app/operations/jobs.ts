import { randomUUID } from "node:crypto";
import type { JobDefinition } from "../../cron/define-job";
import { requireRunInput } from "../../cron/input";
import { redactDeep } from "../../cron/redact";
import { runTrigger, type TriggerOutcome } from "../../cron/run-job";
import type { Actor } from "../../cron/vocabulary";
import { inTransaction } from "../../db/commands/transaction";
import { pauseJob, pauseJobs, recordManualRun, recoverJob, setJobEnabled, type PauseResult } from "../../db/commands/jobs";
import type { OperationDeps } from "./deps";

/**
 * The operator's actions on jobs, one function each, for the admin API and the CLI alike.
 * The caller resolves the job (its 404 or usage error is its own); each write and its audit
 * row commit in one transaction.
 */

export async function toggleJob(deps: Pick<OperationDeps, "db">, actor: Actor, input: { job: JobDefinition; enabled: boolean }): Promise<void> {
  await inTransaction(deps.db, (tx) => setJobEnabled(tx, actor, { jobName: input.job.name, enabled: input.enabled }));
}

/**
 * Pauses or resumes one job. Pausing a paused job changes nothing but the reason, and only
 * when a note is given: the reason it was paused for stays otherwise.
 */
export function pauseOrResumeJob(deps: Pick<OperationDeps, "db">, actor: Actor, input: { job: JobDefinition; paused: boolean; note?: string | null }): Promise<PauseResult> {
  const { job, paused } = input;
  return inTransaction(deps.db, (tx) => pauseJob(tx, actor, { jobName: job.name, enabledByDefault: job.enabled, paused, note: input.note ?? null }));
}

/** Pauses or resumes every job of the registry; returns the ones that changed and how many there are. */
export async function pauseOrResumeAll(
  deps: Pick<OperationDeps, "db" | "registry">,
  actor: Actor,
  input: { paused: boolean; note?: string | null },
): Promise<{ changed: string[]; total: number }> {
  const names = deps.registry.list().map((j) => j.name);
  const changed = await inTransaction(deps.db, (tx) => pauseJobs(tx, actor, { jobNames: names, paused: input.paused, note: input.note ?? null }));
  return { changed, total: names.length };
}

/** Ends a dead-letter pause (or a manual one) and resets the failure counters. */
export function recoverJobNow(deps: Pick<OperationDeps, "db">, actor: Actor, input: { job: JobDefinition; note?: string | null }): Promise<{ wasDeadLettered: boolean; wasPaused: boolean }> {
  return inTransaction(deps.db, (tx) => recoverJob(tx, actor, { jobName: input.job.name, note: input.note ?? null }));
}

/** The same Idempotency-Key asked before: the run it started (nothing new is written or run). */
export interface AlreadyAsked {
  executionId: string;
  duplicate: true;
}

/** A run prepared ahead: its id is known and audited; `run` starts it (once). */
export interface PreparedRun {
  executionId: string;
  duplicate?: false;
  /** Runs the job through the engine with the invocation's remaining budget. */
  run(budgetMs: number): Promise<TriggerOutcome>;
}

/**
 * Run now, as a manual trigger by the actor: the audit row is written first, with the id the
 * run will have; the caller then runs it (the admin API after its response, the CLI at once).
 * A manual run ignores disabled and paused, not the lease: if a run holds it, the row with
 * this id is a skip (already_running). The same idempotency key again (within a day) starts
 * nothing and answers the first run's id (recordManualRun).
 * `runInput` is checked by the job's input schema first (400 invalid_input naming the field;
 * nothing is written); the run stores it, the audit row records it with secrets scrubbed.
 */
export async function prepareManualRun(
  deps: Pick<OperationDeps, "db" | "engine">,
  actor: Actor,
  input: { job: JobDefinition; idempotencyKey?: null; runInput?: unknown },
): Promise<PreparedRun>;
export async function prepareManualRun(
  deps: Pick<OperationDeps, "db" | "engine">,
  actor: Actor,
  input: { job: JobDefinition; idempotencyKey: string | null; runInput?: unknown },
): Promise<PreparedRun | AlreadyAsked>;
export async function prepareManualRun(
  deps: Pick<OperationDeps, "db" | "engine">,
  actor: Actor,
  input: { job: JobDefinition; idempotencyKey?: string | null; runInput?: unknown },
): Promise<PreparedRun | AlreadyAsked> {
  const { job } = input;
  const runInput = requireRunInput(job, input.runInput);
  const idempotencyKey = input.idempotencyKey ?? null;
  const audited = runInput === null ? null : redactDeep(runInput, deps.engine.secrets ?? []);
  const recorded = await inTransaction(deps.db, (tx) => recordManualRun(tx, actor, { jobName: job.name, executionId: randomUUID(), idempotencyKey, input: audited }));
  if (recorded.duplicate) return { executionId: recorded.executionId, duplicate: true };
  const { executionId } = recorded;
  return {
    executionId,
    duplicate: false,
    run: (budgetMs) => runTrigger(deps.engine, { job, trigger: "manual", scheduledFor: null, idempotencyKey, actor: actor.name, runId: executionId, input: runInput, budgetMs }),
  };
}
