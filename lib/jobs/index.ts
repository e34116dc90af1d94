import { JobRegistry } from "../cron/registry";
import cleanupOldLogs from "./cleanup-old-logs";
import healthCheck from "./health-check";

/**
 * Every job the app runs. Add a job: write lib/jobs/<name>.ts with defineJob, list it here,
 * then `npm run cron:sync` to update vercel.json.
 */
export const registry = new JobRegistry([healthCheck, cleanupOldLogs]);
