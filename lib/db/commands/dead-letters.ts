import { sql } from "drizzle-orm";
import { OperationError } from "../../cron/errors";
import type { Actor, Priority } from "../../cron/vocabulary";
import { queryRows, type Db } from "../client";
import { DEAD_LETTER_COLUMNS, getDeadLetter, toDeadLetterEntry, type DeadLetterEntry, type DeadLetterRow } from "../queries/dead-letters";
import { writeAudit } from "./audit";

const notFound = (id: string) => new OperationError("not_found", "dead_letter_not_found", `No dead-letter entry ${id}.`);

/**
 * Counts a replay against the entry's limit and returns it, in one statement: two operators
 * replaying at once both count. Throws OperationError when the entry is missing (not_found),
 * settled or out of replays (conflict: a poison message stops here).
 */
async function beginReplay(db: Db, id: string, replayLimit: number): Promise<DeadLetterEntry> {
  const [row] = await queryRows<DeadLetterRow>(
    db,
    sql`UPDATE cron_dead_letters SET replay_count = replay_count + 1, last_replayed_at = now(), updated_at = now()
        WHERE id = ${id}::uuid AND recovery_status = 'pending' AND replay_count < ${replayLimit}
        RETURNING ${DEAD_LETTER_COLUMNS}`,
  );
  if (row) return toDeadLetterEntry(row);
  const existing = await getDeadLetter(db, id);
  if (!existing) throw notFound(id);
  if (existing.recoveryStatus !== "pending") throw new OperationError("conflict", "not_pending", `Entry ${id} is ${existing.recoveryStatus}; only pending entries can be replayed.`);
  throw new OperationError(
    "conflict",
    "replay_limit_reached",
    `Entry ${id} was replayed ${existing.replayCount} times, the job's limit (${replayLimit}); mark it failed or raise deadLetter.replayLimit.`,
  );
}

/**
 * beginReplay, and its audit row naming the run the replay will be (`executionId`). `editedInput`:
 * the replay runs with an input the operator changed; the row records it before and after (as
 * given: the caller scrubs secrets). Without it the replay runs with its run's input.
 */
export async function replayDeadLetter(
  tx: Db,
  actor: Actor,
  input: { id: string; replayLimit: number; executionId: string; editedInput?: { before: unknown; after: unknown } | null },
): Promise<DeadLetterEntry> {
  const entry = await beginReplay(tx, input.id, input.replayLimit);
  const edited = input.editedInput ? { inputEdited: true, inputBefore: input.editedInput.before ?? null, input: input.editedInput.after ?? null } : {};
  await writeAudit(tx, actor, "dead_letter.retry", entry.id, { jobName: entry.jobName, runId: entry.runId, executionId: input.executionId, replayCount: entry.replayCount, ...edited });
  return entry;
}

/** Settles a pending entry for good, appending who and why to its notes. */
export async function markDeadLetterFailed(tx: Db, actor: Actor, input: { id: string; reason: string }): Promise<DeadLetterEntry> {
  const line = `[${new Date().toISOString()}] marked permanently failed by ${actor.name}: ${input.reason}`;
  const [row] = await queryRows<DeadLetterRow>(
    tx,
    sql`UPDATE cron_dead_letters
        SET recovery_status = 'permanently_failed', resolved_at = now(), updated_at = now(),
            notes = concat_ws(E'\n', notes, ${line}::text)
        WHERE id = ${input.id}::uuid AND recovery_status = 'pending'
        RETURNING ${DEAD_LETTER_COLUMNS}`,
  );
  if (!row) {
    const existing = await getDeadLetter(tx, input.id);
    if (!existing) throw notFound(input.id);
    throw new OperationError("conflict", "not_pending", `Entry ${input.id} is already ${existing.recoveryStatus}.`);
  }
  const entry = toDeadLetterEntry(row);
  await writeAudit(tx, actor, "dead_letter.mark_failed", entry.id, { jobName: entry.jobName, reason: input.reason });
  return entry;
}

/** What an operator may change on an entry: a field left undefined stays as it is; null clears it. */
export interface DeadLetterNotesPatch {
  notes?: string | null;
  assignedTo?: string | null;
  priority?: Priority;
}

export async function updateDeadLetterNotes(tx: Db, actor: Actor, input: { id: string; patch: DeadLetterNotesPatch }): Promise<DeadLetterEntry> {
  const { patch } = input;
  const [row] = await queryRows<DeadLetterRow>(
    tx,
    sql`UPDATE cron_dead_letters SET
          notes = CASE WHEN ${patch.notes !== undefined} THEN ${patch.notes ?? null}::text ELSE notes END,
          assigned_to = CASE WHEN ${patch.assignedTo !== undefined} THEN ${patch.assignedTo ?? null}::text ELSE assigned_to END,
          priority = coalesce(${patch.priority ?? null}::text, priority),
          updated_at = now()
        WHERE id = ${input.id}::uuid RETURNING ${DEAD_LETTER_COLUMNS}`,
  );
  if (!row) throw notFound(input.id);
  const entry = toDeadLetterEntry(row);
  await writeAudit(tx, actor, "dead_letter.notes", entry.id, { jobName: entry.jobName, notes: patch.notes, assignedTo: patch.assignedTo, priority: patch.priority });
  return entry;
}
