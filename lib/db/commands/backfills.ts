import { sql } from "drizzle-orm";
import type { Backfill, BackfillStore, SlotStep } from "../../backfill/store";
import { OperationError } from "../../cron/errors";
import type { Actor, BackfillOverlap, BackfillStatus } from "../../cron/vocabulary";
import { queryRows, type Db } from "../client";
import { BACKFILL_COLUMNS, backfillById, resumableBackfills, runByDedupeKey, runningBackfillOf, slotRunsOf, toBackfill, type BackfillRow } from "../queries/backfills";
import { writeAudit } from "./audit";

/**
 * Backfills in Postgres: the operator's writes (create, cancel) each with its audit row in the
 * caller's transaction, and the runner's fenced writes (lib/backfill/store.ts's port).
 */

export interface NewBackfill {
  id: string;
  jobName: string;
  from: Date;
  to: Date;
  overlap: BackfillOverlap;
  slots: Date[];
  /** Checked by the job's input schema already (lib/cron/input.ts); null: the default. */
  input: unknown;
}

const isUniqueViolation = (error: unknown): boolean => {
  for (let e = error as { code?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) if (e.code === "23505") return true;
  return false;
};

/** Creates a running backfill (job.backfill); 409 backfill_running when the job has one running. */
export async function createBackfill(tx: Db, actor: Actor, input: NewBackfill): Promise<Backfill> {
  const running = await runningBackfillOf(tx, input.jobName);
  if (running) throw runningConflict(running);
  let row: BackfillRow | undefined;
  try {
    [row] = await queryRows<BackfillRow>(
      tx,
      sql`INSERT INTO cron_backfills (id, job_name, range_from, range_to, overlap, slots, input, actor)
          VALUES (${input.id}, ${input.jobName}, ${input.from.toISOString()}, ${input.to.toISOString()}, ${input.overlap},
            ARRAY(SELECT value::timestamptz FROM jsonb_array_elements_text(${JSON.stringify(input.slots.map((s) => s.toISOString()))}::jsonb) WITH ORDINALITY AS s(value, n) ORDER BY n),
            ${input.input === null || input.input === undefined ? null : JSON.stringify(input.input)}::jsonb, ${actor.name})
          RETURNING ${BACKFILL_COLUMNS}`,
    );
  } catch (error) {
    // Another backfill of the job was created between the check and the insert.
    if (isUniqueViolation(error)) throw new OperationError("conflict", "backfill_running", `${input.jobName} already has a running backfill; wait for it or cancel it first.`);
    throw error;
  }
  await writeAudit(tx, actor, "job.backfill", input.jobName, {
    backfillId: input.id, from: input.from.toISOString(), to: input.to.toISOString(), overlap: input.overlap, slots: input.slots.length, withInput: input.input !== null && input.input !== undefined,
  });
  return toBackfill(row!);
}

function runningConflict(running: Backfill): OperationError {
  return new OperationError("conflict", "backfill_running", `${running.jobName} already has a running backfill (${running.id}, ${running.nextIndex} of ${running.slots.length} slots done); wait for it or cancel it first.`, undefined, {
    backfillId: running.id,
  });
}

/**
 * Asks a running backfill to stop (job.backfill_cancel): its runner stops before the next slot
 * (the slot in flight finishes). With no live runner it is cancelled here and now. A backfill
 * that already ended is a 409 backfill_ended.
 */
export async function cancelBackfill(tx: Db, actor: Actor, id: string): Promise<Backfill> {
  const [row] = await queryRows<BackfillRow>(
    tx,
    sql`UPDATE cron_backfills SET
          cancel_requested_at = coalesce(cancel_requested_at, now()), cancelled_by = coalesce(cancelled_by, ${actor.name}), updated_at = now(),
          status = CASE WHEN runner_holder IS NULL OR runner_expires_at <= now() THEN 'cancelled' ELSE status END,
          finished_at = CASE WHEN runner_holder IS NULL OR runner_expires_at <= now() THEN now() ELSE finished_at END,
          runner_holder = CASE WHEN runner_holder IS NULL OR runner_expires_at <= now() THEN NULL ELSE runner_holder END
        WHERE id = ${id} AND status = 'running'
        RETURNING ${BACKFILL_COLUMNS}`,
  );
  if (!row) {
    const existing = await backfillById(tx, id);
    if (!existing) throw new OperationError("not_found", "backfill_not_found", `No backfill with id ${id}.`);
    throw new OperationError("conflict", "backfill_ended", `The backfill ${id} is ${existing.status} already; nothing to cancel.`);
  }
  const backfill = toBackfill(row);
  await writeAudit(tx, actor, "job.backfill_cancel", backfill.jobName, { backfillId: id, at: backfill.nextIndex, of: backfill.slots.length, stoppedNow: backfill.status === "cancelled" });
  return backfill;
}

/** The runner's store on Postgres: every write fenced by the holder, lease times by the database clock. */
export class PgBackfillStore implements BackfillStore {
  constructor(private readonly db: Db) {}

  get(id: string) {
    return backfillById(this.db, id);
  }

  slotRuns(jobName: string, slots: readonly Date[]) {
    return slotRunsOf(this.db, jobName, slots);
  }

  runByKey(jobName: string, dedupeKey: string) {
    return runByDedupeKey(this.db, jobName, dedupeKey);
  }

  resumable(limit: number) {
    return resumableBackfills(this.db, limit);
  }

  async acquire(id: string, holder: string, leaseMs: number): Promise<Backfill | null> {
    const [row] = await queryRows<BackfillRow>(
      this.db,
      sql`UPDATE cron_backfills SET runner_holder = ${holder}, runner_expires_at = now() + make_interval(secs => ${leaseMs} / 1000.0), updated_at = now()
          WHERE id = ${id} AND status = 'running' AND (runner_holder IS NULL OR runner_expires_at <= now())
          RETURNING ${BACKFILL_COLUMNS}`,
    );
    return row ? toBackfill(row) : null;
  }

  async heartbeat(id: string, holder: string, leaseMs: number): Promise<boolean> {
    const rows = await queryRows<{ id: string }>(
      this.db,
      sql`UPDATE cron_backfills SET runner_expires_at = now() + make_interval(secs => ${leaseMs} / 1000.0)
          WHERE id = ${id} AND status = 'running' AND runner_holder = ${holder} RETURNING id`,
    );
    return rows.length > 0;
  }

  async advance(id: string, holder: string, index: number, step: SlotStep, leaseMs: number): Promise<Backfill | null> {
    const [row] = await queryRows<BackfillRow>(
      this.db,
      sql`UPDATE cron_backfills SET next_index = next_index + 1,
            ran = ran + ${step.ran}, completed = completed + ${step.completed}, failed = failed + ${step.failed}, skipped = skipped + ${step.skipped},
            last_run_id = coalesce(${step.runId}::uuid, last_run_id),
            runner_expires_at = now() + make_interval(secs => ${leaseMs} / 1000.0), updated_at = now()
          WHERE id = ${id} AND status = 'running' AND runner_holder = ${holder} AND next_index = ${index}
          RETURNING ${BACKFILL_COLUMNS}`,
    );
    return row ? toBackfill(row) : null;
  }

  async finish(id: string, holder: string, status: Exclude<BackfillStatus, "running">, error: string | null = null): Promise<Backfill | null> {
    const [row] = await queryRows<BackfillRow>(
      this.db,
      sql`UPDATE cron_backfills SET status = ${status}, error = ${error}, runner_holder = NULL, runner_expires_at = NULL, finished_at = now(), updated_at = now()
          WHERE id = ${id} AND status = 'running' AND runner_holder = ${holder}
          RETURNING ${BACKFILL_COLUMNS}`,
    );
    return row ? toBackfill(row) : null;
  }

  async release(id: string, holder: string): Promise<void> {
    await this.db.execute(sql`UPDATE cron_backfills SET runner_holder = NULL, runner_expires_at = NULL, updated_at = now() WHERE id = ${id} AND runner_holder = ${holder}`);
  }
}
