import { defineJob, type JobDefinition } from "../cron/define-job";

/**
 * The console tests' jobs (loaded with CRONDECK_CONSOLE_JOBS=1, never in production): a team's
 * six jobs whose month of history the tests seed (tests/support/month-history.ts) to drive the
 * dashboard over realistic data. Nothing triggers them while a test runs: their rows are the
 * seed's, so their handlers only say they ran.
 */
const ran = (ctx: { scheduledFor: Date | null }) => ({ slot: ctx.scheduledFor?.toISOString() ?? null });

export const consoleJobs: readonly JobDefinition[] = [
  defineJob({ name: "console-sync", description: "Syncs the CRM every 5 minutes", category: "console", schedule: { every: "5m" }, timeout: "30s", handler: ran }),
  defineJob({ name: "console-hourly", description: "Hourly usage rollup", category: "console", schedule: { every: "1h" }, timeout: "30s", handler: ran }),
  defineJob({
    name: "console-nightly",
    description: "Nightly report, 02:00 in Paris",
    category: "console",
    schedule: { cron: "0 2 * * *", timezone: "Europe/Paris" },
    timeout: "30s",
    handler: ran,
  }),
  defineJob({ name: "console-paused", description: "Vendor feed, every hour at :30", category: "console", schedule: { every: "1h", offset: "30m" }, timeout: "30s", handler: ran }),
  defineJob({ name: "console-dead", description: "Warehouse load every 6 hours", category: "console", schedule: { every: "6h" }, timeout: "30s", handler: ran }),
  defineJob({ name: "console-export", description: "Daily export at 04:00 UTC", category: "console", schedule: "0 4 * * *", timeout: "30s", handler: ran }),
];
