import { defineJob, type JobDefinition } from "../../cron/define-job";

/**
 * Jobs the schedule tests run against a real server (loaded with CRONDECK_FEATURE_JOBS=1, never
 * in production). Their slots are chosen so that no other test's tick dispatches them: the
 * interval fires on Sundays at 13:17 UTC, the monthly one on the 1st at 12:00 in Paris, the
 * bounded one ended in 2026-06, the one-time ones are in the past or in 2036. The tests trigger
 * slots explicitly (the execute route's `?slot=`) or run the tick at a `now` they choose.
 */

const base = { category: "feature-schedule", retries: 0, timeout: "30s", alerts: { afterConsecutiveFailures: 99 } } as const;

/** Every 7 days on the grid epoch + 3d 13h 17m: the epoch was a Thursday, so Sundays at 13:17 UTC. */
const interval = defineJob({
  ...base,
  name: "feature-interval",
  schedule: { every: "7d", offset: "5117m" },
  description: "Test job (schedules): an interval, every 7 days from the epoch's grid plus an offset",
  handler: (ctx) => ({ slot: ctx.scheduledFor?.toISOString() ?? null }),
});

/** A Vercel-dispatched UTC cron bounded to the first half of 2026: every call after endAt is an outside_window skip. */
const bounded = defineJob({
  ...base,
  name: "feature-bounded",
  schedule: "17 4 * * *",
  startAt: "2026-01-01T00:00:00Z",
  endAt: "2026-06-30T23:59:59Z",
  description: "Test job (schedules): daily at 04:17 UTC, from 2026-01-01 to 2026-06-30 only",
  handler: (ctx) => ({ slot: ctx.scheduledFor?.toISOString() ?? null }),
});

/** A one-time job whose minute is past: it shows "no further runs"; a catch-up of its slot runs it. */
const oncePast = defineJob({
  ...base,
  name: "feature-once",
  runAt: "2026-03-01T12:00:00Z",
  missed: "once",
  description: "Test job (schedules): one run, on 2026-03-01 at 12:00 UTC",
  handler: (ctx) => ({ slot: ctx.scheduledFor?.toISOString() ?? null }),
});

/** A one-time job still to come. */
const onceFuture = defineJob({
  ...base,
  name: "feature-once-later",
  runAt: "2036-12-24T09:00:00+01:00",
  description: "Test job (schedules): one run, on 2036-12-24 at 09:00 in Paris",
  handler: () => ({ ok: true }),
});

/** Monthly at noon in Paris with a 30 s start jitter: its next ten slots cross DST changes. */
const jittered = defineJob({
  ...base,
  name: "feature-jittered",
  schedule: { cron: "0 12 1 * *", timezone: "Europe/Paris" },
  jitter: "30s",
  description: "Test job (schedules): monthly at 12:00 Paris time, each start spread over 30 s",
  handler: () => ({ ok: true }),
});

export const scheduleFeatureJobs: JobDefinition[] = [interval, bounded, oncePast, onceFuture, jittered];
