import { defineJob, type JobDefinition } from "../../cron/define-job";

/**
 * Jobs the snooze and skip-next tests run against a real server (loaded with
 * CRONDECK_FEATURE_JOBS=1, never in production). feature-snooze runs every minute, so its next
 * slot is less than a minute away: the execute route takes a slot up to a minute ahead, and a
 * test delivers the very slot it asked to skip without waiting for it. Nothing calls it while a
 * test runs but the test itself (Vercel Cron never sees these jobs).
 */
const featureSnooze = defineJob({
  name: "feature-snooze",
  description: "Snooze tests: every minute, says which slot it ran",
  category: "feature-snooze",
  schedule: "* * * * *",
  timeout: "10s",
  handler: (ctx) => ({ slot: ctx.scheduledFor?.toISOString() ?? null }),
});

/** A one-time job whose one slot is long past: skip-next has nothing to skip. */
const featureSnoozeOnce = defineJob({
  name: "feature-snooze-once",
  description: "Snooze tests: a one-time job after its slot",
  category: "feature-snooze",
  runAt: "2026-01-01T00:00:00Z",
  timeout: "10s",
  handler: () => "ran once",
});

export const snoozeFeatureJobs: JobDefinition[] = [featureSnooze, featureSnoozeOnce];
