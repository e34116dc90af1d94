import { defineJob, type JobDefinition } from "../../cron/define-job";

/**
 * Jobs the overrides tests run against a real server (loaded with CRONDECK_FEATURE_JOBS=1, never
 * in production). Their schedules are once a year, so no tick of another test ever fires them.
 */
export const overrideFeatureJobs: JobDefinition[] = [
  // The code says 1 s; the work takes 2 s: it completes only under a longer timeout override.
  defineJob({
    name: "feature-override-slow",
    description: "Takes 2 s under a 1 s code timeout (the overrides tests raise it)",
    category: "feature-tests",
    schedule: "0 0 1 1 *",
    timeout: "1s",
    handler: (ctx) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => resolve({ tookMs: 2_000 }), 2_000);
        ctx.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(ctx.signal.reason);
        });
      }),
  }),
  // Dispatched by the tick (a timezone): its schedule may be overridden too.
  defineJob({
    name: "feature-override-tick",
    description: "A tick-dispatched job whose schedule the overrides tests change",
    category: "feature-tests",
    schedule: { cron: "0 0 1 1 *", timezone: "Europe/Paris" },
    timeout: "10s",
    retries: 1,
    handler: () => ({ ok: true }),
  }),
];
