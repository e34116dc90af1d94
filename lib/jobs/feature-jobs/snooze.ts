import type { JobDefinition } from "../../cron/define-job";

/** Jobs the snooze tests run against a real server (loaded with CRONDECK_FAULT_JOBS=1, never in production). */
export const snoozeFeatureJobs: JobDefinition[] = [];
