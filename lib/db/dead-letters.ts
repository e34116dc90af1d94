/**
 * The dead-letter queue's former entry point: reads are in lib/db/queries/dead-letters.ts,
 * writes in lib/db/commands/dead-letters.ts (each with its audit row); refusals are the one
 * OperationError of lib/cron/errors.ts.
 */
export { OperationError as DeadLetterError } from "../cron/errors";
export type { Priority, RecoveryStatus } from "../cron/vocabulary";
export { deadLetterSummary, getDeadLetter, listDeadLetters, type DeadLetterEntry } from "./queries/dead-letters";
export { beginReplay } from "./commands/dead-letters";
export { clearJobFailures as recoverJob } from "./commands/jobs";
