/**
 * The read side's former single module, kept for the importers that have not moved to
 * lib/db/queries/* yet. New code imports from lib/db/queries/<concern> directly.
 */
export * from "./queries/jobs";
export * from "./queries/runs";
export * from "./queries/run-detail";
export * from "./queries/leases";
export * from "./queries/statistics";
export { DURATION_BUCKETS_PER_DOUBLING, durationBucketIndex, durationBucketMiddleMs, type WindowStats } from "./queries/rollups";
export type { SortOrder } from "./queries/params";
export { RUN_STATUSES, type JobState, type RunStatus as RunStatusName } from "../cron/vocabulary";
/** Sort and filter refusals are OperationError("invalid", "invalid_sort" | "invalid_filter", message, field). */
export { OperationError as AdminQueryError } from "../cron/errors";
