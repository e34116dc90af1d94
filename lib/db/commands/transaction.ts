import type { Db } from "../client";

/**
 * Runs `fn` in one transaction: a command's change and its audit row commit together, and a
 * refusal thrown inside (an OperationError) leaves nothing written.
 */
export function inTransaction<T>(db: Db, fn: (tx: Db) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => fn(tx as unknown as Db));
}
