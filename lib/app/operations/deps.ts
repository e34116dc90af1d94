import type { EngineDeps } from "../../cron/run-job";
import type { JobRegistry } from "../../cron/registry";
import type { Db } from "../../db/client";

/**
 * What the operations need, handed in by the caller: the admin API passes the app's runtime,
 * the CLI its own. `engine` is only for the operations that run a job (run now, replay).
 */
export interface OperationDeps {
  db: Db;
  registry: JobRegistry;
  engine: EngineDeps;
}

/** The operations' dependencies out of the app's runtime (lib/app/runtime.ts). */
export function operationDeps(runtime: { database: { db: Db }; registry: JobRegistry; engine: EngineDeps }): OperationDeps {
  return { db: runtime.database.db, registry: runtime.registry, engine: runtime.engine };
}
