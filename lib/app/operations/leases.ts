import { OperationError } from "../../cron/errors";
import type { Actor } from "../../cron/vocabulary";
import { inTransaction } from "../../db/commands/transaction";
import { clearAllLeases, clearLease, type ClearedLease } from "../../db/commands/leases";
import type { OperationDeps } from "./deps";

/**
 * Frees a lease (a job's, or the one a run holds) and marks its run abandoned, in one
 * statement. A stale lease clears at once; a live one (its holder still heartbeats) only with
 * `force`, because its handler may still be working: refused with conflict lock_live, and
 * nothing changes.
 */
export async function clearJobLease(
  deps: Pick<OperationDeps, "db" | "registry">,
  actor: Actor,
  input: { lease: { jobName: string } | { runId: string }; force?: boolean },
): Promise<ClearedLease> {
  const result = await inTransaction(deps.db, (tx) => clearLease(tx, actor, { lease: input.lease, force: Boolean(input.force) }));
  if (result.cleared) {
    const { cleared: _, ...lease } = result;
    return lease;
  }
  if (result.reason === "live") {
    throw new OperationError(
      "conflict",
      "lock_live",
      `${result.jobName}'s lease is live (held by ${result.holder}, expires in ${result.expiresInSeconds}s): its run may still be working. Wait for it, or clear it anyway with force (?force=true over HTTP, --force in the CLI).`,
      undefined,
      { holder: result.holder, expiresInSeconds: result.expiresInSeconds },
    );
  }
  if ("runId" in input.lease) throw new OperationError("not_found", "lock_not_found", `No lease and no running run with id ${input.lease.runId}: nothing to clear.`);
  const { jobName } = input.lease;
  if (!deps.registry.has(jobName)) throw new OperationError("not_found", "job_not_found", `unknown job "${jobName.slice(0, 100)}", and no lease under that name: nothing to clear.`);
  throw new OperationError("not_found", "lock_not_found", `${jobName} holds no lease: nothing to clear.`);
}

/**
 * Frees every lease, live ones included, and marks their runs abandoned. Handlers still
 * running lose their lease, so their jobs can run twice at once: the caller must say `force`.
 */
export function clearEveryLease(deps: Pick<OperationDeps, "db">, actor: Actor, _input: { force: true }): Promise<ClearedLease[]> {
  return inTransaction(deps.db, (tx) => clearAllLeases(tx, actor));
}
