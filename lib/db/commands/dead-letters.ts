import { sql, type SQL } from "drizzle-orm";
import { OperationError } from "../../cron/errors";
import type { Actor, Priority, SettleOutcome } from "../../cron/vocabulary";
import { queryRows, type Db } from "../client";
import {
  DEAD_LETTER_COLUMNS,
  getDeadLetter,
  selectionOrder,
  selectionWhere,
  toDeadLetterEntry,
  type DeadLetterEntry,
  type DeadLetterRow,
  type DeadLetterSelection,
} from "../queries/dead-letters";
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

/** The most entries one bulk action takes; the rest stay for the next (the answer says how many). */
export const BULK_MAX = 500;

/** How a bulk action's audit row describes its selection (dates as ISO, absent fields left out). */
function selectionDetail(sel: DeadLetterSelection): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries({ ...sel, from: sel.from?.toISOString(), to: sel.to?.toISOString(), ids: sel.ids ? sel.ids.length : undefined }).filter(([, v]) => v != null),
  );
}

/**
 * Updates the pending entries a selection takes (and `extra` keeps), at most `max` by priority
 * then age, in one statement: the rows are locked as they are chosen (a bulk action at the same
 * time skips them), and come back as they are after `set`, in that order.
 */
async function updatePending(tx: Db, selection: DeadLetterSelection, max: number, set: SQL, extra: SQL = sql`true`): Promise<DeadLetterRow[]> {
  return queryRows<DeadLetterRow>(
    tx,
    sql`WITH taken AS (
          UPDATE cron_dead_letters SET ${set}, updated_at = now()
          WHERE id IN (SELECT id FROM cron_dead_letters ${selectionWhere({ ...selection, status: "pending" })} AND ${extra}
                       ${selectionOrder("priority")} LIMIT ${Math.min(max, BULK_MAX)} FOR UPDATE SKIP LOCKED)
          RETURNING ${DEAD_LETTER_COLUMNS}
        )
        SELECT * FROM taken ${selectionOrder("priority")}`,
  );
}

/** How many of the selection's pending entries each condition keeps, in one query. */
async function pendingCounts<K extends string>(tx: Db, selection: DeadLetterSelection, conditions: Record<K, SQL>): Promise<Record<K, number>> {
  const keys = Object.keys(conditions) as K[];
  const columns = sql.join(
    keys.map((k) => sql`count(*) FILTER (WHERE ${conditions[k]})::int AS ${sql.identifier(k)}`),
    sql`, `,
  );
  const [row] = await queryRows<Record<K, number | string>>(tx, sql`SELECT ${columns} FROM cron_dead_letters ${selectionWhere({ ...selection, status: "pending" })}`);
  return Object.fromEntries(keys.map((k) => [k, Number(row[k])])) as Record<K, number>;
}

/** Entries per job. */
function perJob(rows: readonly DeadLetterRow[]): Record<string, number> {
  const jobs: Record<string, number> = {};
  for (const r of rows) jobs[r.job_name] = (jobs[r.job_name] ?? 0) + 1;
  return jobs;
}

/**
 * Settles the selection's pending entries (at most `max`) as permanently failed or resolved,
 * appending who and why to each one's notes, with one audit row for the action (its count, the
 * selection, the entries' ids). Settled entries are left as they are; none pending: count 0,
 * and no audit row (nothing changed).
 */
export async function settleDeadLetters(
  tx: Db,
  actor: Actor,
  input: { selection: DeadLetterSelection; outcome: SettleOutcome; reason: string; max?: number },
): Promise<{ count: number; ids: string[]; jobs: Record<string, number>; remaining: number }> {
  const word = input.outcome === "resolved" ? "resolved" : "marked permanently failed";
  const line = `[${new Date().toISOString()}] ${word} by ${actor.name} (bulk): ${input.reason}`;
  const rows = await updatePending(
    tx,
    input.selection,
    input.max ?? BULK_MAX,
    sql`recovery_status = ${input.outcome}, resolved_at = now(), notes = concat_ws(E'\n', notes, ${line}::text)`,
  );
  if (rows.length === 0) return { count: 0, ids: [], jobs: {}, remaining: 0 };
  const ids = rows.map((r) => r.id);
  const jobs = perJob(rows);
  const { remaining } = await pendingCounts(tx, input.selection, { remaining: sql`true` });
  await writeAudit(tx, actor, input.outcome === "resolved" ? "dead_letter.bulk_resolve" : "dead_letter.bulk_mark_failed", `${rows.length} dead letters`, {
    count: rows.length,
    reason: input.reason,
    selection: selectionDetail(input.selection),
    jobs,
    ids,
    remaining,
  });
  return { count: rows.length, ids, jobs, remaining };
}

/**
 * Counts a replay against each of the selection's pending entries that can still be replayed
 * (at most `max`, by priority then age): its job is in the registry (`replayLimits`, by job
 * name), below its replay limit and not replayed since `since` (the start of this bulk pass: a
 * pass replays each entry once, whatever its earlier batches' replays did). One audit row names
 * the runs the replays will be (`executionIdOf` gives each its id ahead); the caller runs them.
 * Entries out of replays or of a removed job are never taken: `notReplayable` counts them (mark
 * them failed or resolve them).
 */
export async function replayDeadLetters(
  tx: Db,
  actor: Actor,
  input: { selection: DeadLetterSelection; since: Date; max: number; replayLimits: Record<string, number>; executionIdOf: () => string },
): Promise<{ replays: Array<{ entry: DeadLetterEntry; executionId: string }>; remaining: number; notReplayable: number }> {
  const limits = JSON.stringify(input.replayLimits);
  const replayable = sql`replay_count < coalesce((${limits}::jsonb ->> job_name)::int, 0)`;
  const notThisPass = sql`(last_replayed_at IS NULL OR last_replayed_at < ${input.since.toISOString()}::timestamptz)`;
  // One statement counts a replay against every entry it takes, within its job's limit (as beginReplay does for one).
  const rows = await updatePending(tx, input.selection, input.max, sql`replay_count = replay_count + 1, last_replayed_at = now()`, sql`${replayable} AND ${notThisPass}`);
  const replays = rows.map((row) => ({ entry: toDeadLetterEntry(row), executionId: input.executionIdOf() }));
  const { remaining, notReplayable } = await pendingCounts(tx, input.selection, { remaining: sql`${replayable} AND ${notThisPass}`, notReplayable: sql`NOT (${replayable})` });
  if (replays.length > 0) {
    await writeAudit(tx, actor, "dead_letter.bulk_replay", `${replays.length} dead letters`, {
      count: replays.length,
      selection: selectionDetail(input.selection),
      since: input.since.toISOString(),
      replays: replays.map((r) => ({ id: r.entry.id, jobName: r.entry.jobName, executionId: r.executionId })),
      remaining,
      notReplayable,
    });
  }
  return { replays, remaining, notReplayable };
}
