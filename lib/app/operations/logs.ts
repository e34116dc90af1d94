import type { Actor } from "../../cron/vocabulary";
import { inTransaction } from "../../db/commands/transaction";
import { cleanupLogs } from "../../db/commands/logs";
import { deleteTaggedRuns } from "../../db/commands/stress";
import type { OperationDeps } from "./deps";

/** Deletes runs older than `days`, keeping running runs and runs behind pending dead letters. */
export function cleanOldLogs(deps: Pick<OperationDeps, "db">, actor: Actor, input: { days: number }): Promise<number> {
  return inTransaction(deps.db, (tx) => cleanupLogs(tx, actor, input));
}

/** Deletes the rows a contention test (`crondeck stress --cleanup`) tagged with its code version. */
export function cleanUpStressRuns(deps: Pick<OperationDeps, "db">, actor: Actor, input: { jobName: string; codeVersion: string; dropConfig: boolean }): Promise<void> {
  return inTransaction(deps.db, (tx) => deleteTaggedRuns(tx, actor, input));
}
