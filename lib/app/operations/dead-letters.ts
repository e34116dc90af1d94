import { randomUUID } from "node:crypto";
import type { JobDefinition } from "../../cron/define-job";
import { OperationError } from "../../cron/errors";
import { requireRunInput } from "../../cron/input";
import { redactDeep } from "../../cron/redact";
import { runTrigger } from "../../cron/run-job";
import type { Actor } from "../../cron/vocabulary";
import { inTransaction } from "../../db/commands/transaction";
import { markDeadLetterFailed, replayDeadLetter, updateDeadLetterNotes, type DeadLetterNotesPatch } from "../../db/commands/dead-letters";
import { getDeadLetter, type DeadLetterEntry } from "../../db/queries/dead-letters";
import type { OperationDeps } from "./deps";
import type { PreparedRun } from "./jobs";

/** A replay counted and audited, ready to run. */
export interface PreparedReplay extends PreparedRun {
  entry: DeadLetterEntry;
  job: JobDefinition;
  replayLimit: number;
}

/**
 * Replays a dead-letter entry: counts the replay against the job's limit and writes the audit
 * row (one transaction; a settled entry or one out of replays is refused and nothing is
 * written), then `run` replays the original run for its slot as trigger "replay". The admin
 * API runs it after its response, the CLI at once. The replay runs with its run's input, or
 * with `input` when given (an edit, checked by the job's schema first: 400 invalid_input and
 * nothing written; null: the job's default), which the audit row records before and after.
 */
export async function prepareReplay(deps: Pick<OperationDeps, "db" | "registry" | "engine">, actor: Actor, input: { id: string; input?: unknown }): Promise<PreparedReplay> {
  const existing = await getDeadLetter(deps.db, input.id);
  if (!existing) throw new OperationError("not_found", "dead_letter_not_found", `No dead-letter entry ${input.id}.`);
  const job = deps.registry.get(existing.jobName);
  if (!job) {
    throw new OperationError(
      "not_found",
      "job_not_found",
      `Entry ${input.id} is for job "${existing.jobName}", which is not in the registry any more: mark it failed (reason "job removed").`,
    );
  }
  const replayLimit = job.deadLetter.replayLimit;
  const edited = input.input !== undefined;
  const runInput = edited ? requireRunInput(job, input.input) : existing.input;
  const scrub = (value: unknown) => (value == null ? null : redactDeep(value, deps.engine.secrets ?? []));
  const editedInput = edited ? { before: scrub(existing.input), after: scrub(runInput) } : null;
  const executionId = randomUUID();
  const entry = await inTransaction(deps.db, (tx) => replayDeadLetter(tx, actor, { id: input.id, replayLimit, executionId, editedInput }));
  return {
    entry,
    job,
    replayLimit,
    executionId,
    run: (budgetMs) =>
      runTrigger(deps.engine, {
        job,
        trigger: "replay",
        scheduledFor: entry.scheduledFor ? new Date(entry.scheduledFor) : null,
        replayOf: entry.runId,
        actor: actor.name,
        runId: executionId,
        input: runInput,
        budgetMs,
      }),
  };
}

/** Settles a pending entry as permanently failed, with the reason in its notes. */
export function markFailed(deps: Pick<OperationDeps, "db">, actor: Actor, input: { id: string; reason: string }): Promise<DeadLetterEntry> {
  return inTransaction(deps.db, (tx) => markDeadLetterFailed(tx, actor, input));
}

/** Notes, assignee and priority of an entry; an empty string clears a text field. */
export function updateNotes(deps: Pick<OperationDeps, "db">, actor: Actor, input: { id: string; patch: DeadLetterNotesPatch }): Promise<DeadLetterEntry> {
  const blank = (v: string | null | undefined) => (v === "" ? null : v);
  const patch = { notes: blank(input.patch.notes), assignedTo: blank(input.patch.assignedTo), priority: input.patch.priority };
  return inTransaction(deps.db, (tx) => updateDeadLetterNotes(tx, actor, { id: input.id, patch }));
}
