import { randomUUID } from "node:crypto";
import type { JobDefinition } from "../../cron/define-job";
import { OperationError } from "../../cron/errors";
import { requireRunInput } from "../../cron/input";
import { redactDeep } from "../../cron/redact";
import { runTrigger, type TriggerOutcome } from "../../cron/run-job";
import type { Actor, SettleOutcome } from "../../cron/vocabulary";
import { inTransaction } from "../../db/commands/transaction";
import {
  markDeadLetterFailed,
  replayDeadLetter,
  replayDeadLetters,
  settleDeadLetters,
  updateDeadLetterNotes,
  type DeadLetterNotesPatch,
} from "../../db/commands/dead-letters";
import { getDeadLetter, type DeadLetterEntry, type DeadLetterSelection } from "../../db/queries/dead-letters";
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
  return { entry, job, replayLimit, executionId, run: replayRun(deps, actor, { job, entry, executionId, input: runInput }) };
}

/** The replay of an entry's run for its original slot, as trigger "replay", as the run with id `executionId`. */
function replayRun(
  deps: Pick<OperationDeps, "engine">,
  actor: Actor,
  r: { job: JobDefinition; entry: DeadLetterEntry; executionId: string; input: unknown },
): (budgetMs: number) => Promise<TriggerOutcome> {
  return (budgetMs) =>
    runTrigger(deps.engine, {
      job: r.job,
      trigger: "replay",
      scheduledFor: r.entry.scheduledFor ? new Date(r.entry.scheduledFor) : null,
      replayOf: r.entry.runId,
      actor: actor.name,
      runId: r.executionId,
      input: r.input,
      budgetMs,
    });
}

/** How many replays one bulk request starts by default: they run one after another after the response. */
export const BULK_REPLAY_BATCH = 10;

export interface PreparedBulkReplay {
  replays: PreparedReplay[];
  /** Pending entries of the selection this pass can still replay (the next batch's). */
  remaining: number;
  /** Pending entries of the selection out of replays or of a job no longer registered. */
  notReplayable: number;
  /** The start of the pass: send it with the next batch, so no entry is replayed twice in one pass. */
  since: string;
}

/**
 * Replays a batch of the selection's pending entries (at most `max`, by priority then age),
 * each within its job's replay limit, with one audit row (lib/db/commands replayDeadLetters);
 * `run` replays them one after another (two of one job at once would contend for its lease).
 * `since`: the pass's start, from the first batch's answer.
 */
export async function prepareBulkReplay(
  deps: Pick<OperationDeps, "db" | "registry" | "engine">,
  actor: Actor,
  input: { selection: DeadLetterSelection; max?: number; since?: Date | null },
): Promise<PreparedBulkReplay & { run(budgetMs: () => number): Promise<void> }> {
  const since = input.since ?? new Date();
  const jobs = new Map(deps.registry.list().map((job) => [job.name, job]));
  const replayLimits = Object.fromEntries([...jobs.values()].map((job) => [job.name, job.deadLetter.replayLimit]));
  const batch = await inTransaction(deps.db, (tx) =>
    replayDeadLetters(tx, actor, { selection: input.selection, since, max: input.max ?? BULK_REPLAY_BATCH, replayLimits, executionIdOf: () => randomUUID() }),
  );
  const replays = batch.replays.map(({ entry, executionId }): PreparedReplay => {
    const job = jobs.get(entry.jobName)!;
    return { entry, job, replayLimit: job.deadLetter.replayLimit, executionId, run: replayRun(deps, actor, { job, entry, executionId, input: entry.input }) };
  });
  return {
    replays,
    remaining: batch.remaining,
    notReplayable: batch.notReplayable,
    since: since.toISOString(),
    run: async (budgetMs) => {
      for (const replay of replays) await replay.run(budgetMs());
    },
  };
}

/** Settles the selection's pending entries (permanently failed, or resolved) with the reason, in one audited action. */
export function settleSelection(
  deps: Pick<OperationDeps, "db">,
  actor: Actor,
  input: { selection: DeadLetterSelection; outcome: SettleOutcome; reason: string; max?: number },
): ReturnType<typeof settleDeadLetters> {
  return inTransaction(deps.db, (tx) => settleDeadLetters(tx, actor, input));
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
