import type { Actor } from "../../cron/vocabulary";
import { inTransaction } from "../../db/commands/transaction";
import { cleanupLogs } from "../../db/commands/logs";
import { deleteTaggedRuns } from "../../db/commands/stress";
import type { CleanupReport } from "../../db/maintenance";
import { retentionPolicy, type RetentionEnv } from "../../db/retention";
import type { OperationDeps } from "./deps";

export interface CleanupInput {
  /** The retention settings (CRON_*_RETENTION_DAYS, CRON_CLEANUP_BATCH_SIZE). */
  env: RetentionEnv;
  /** Days of run logs to keep instead of CRON_LOG_RETENTION_DAYS. */
  days?: number;
  /** Milliseconds the cleanup may take (the rest is reported as remaining); absent: until done. */
  budgetMs?: number | null;
  now?: Date;
  signal?: AbortSignal;
}

/**
 * Retention for every history table (runs, alerts, audit log, settled dead letters), in
 * batches that each commit, and the authentication state; audited. The alert rows any job's
 * re-alert window still needs are kept (the registry says how long the longest window is).
 */
export function cleanOldLogs(deps: Pick<OperationDeps, "db" | "registry">, actor: Actor, input: CleanupInput): Promise<CleanupReport> {
  const policy = retentionPolicy(input.env, deps.registry.list(), { logDays: input.days });
  return cleanupLogs(deps.db, actor, { policy, budgetMs: input.budgetMs, now: input.now, signal: input.signal });
}

/** Deletes the rows a contention test (`crondeck stress --cleanup`) tagged with its code version. */
export function cleanUpStressRuns(deps: Pick<OperationDeps, "db">, actor: Actor, input: { jobName: string; codeVersion: string; dropConfig: boolean }): Promise<void> {
  return inTransaction(deps.db, (tx) => deleteTaggedRuns(tx, actor, input));
}
