/**
 * Type tests: checked by `tsc --noEmit` (part of `npm test`). Each @ts-expect-error must
 * be an error, or the compile fails.
 */
import { defineJob } from "@/lib/cron/define-job";

const handler = async () => {};

defineJob({ name: "ok", schedule: "0 1 * * *", timeout: "4m", retries: 2, overlap: "bufferOne", handler });
defineJob({ name: "seed", schedule: "0 1 * * *", timeout: 300, enabled: true, description: "d", category: "c", retries: 1, handler });

// @ts-expect-error a duration needs a unit
defineJob({ name: "bad-timeout", schedule: "0 1 * * *", timeout: "10 minutes", handler });
// @ts-expect-error unknown overlap policy
defineJob({ name: "bad-overlap", schedule: "0 1 * * *", overlap: "sometimes", handler });
// @ts-expect-error unknown backoff strategy
defineJob({ name: "bad-backoff", schedule: "0 1 * * *", backoff: { strategy: "random" }, handler });
// @ts-expect-error retries is a number
defineJob({ name: "bad-retries", schedule: "0 1 * * *", retries: "3", handler });
// @ts-expect-error the handler is required
defineJob({ name: "no-handler", schedule: "0 1 * * *" });
// @ts-expect-error schedule is a string or { cron, timezone }
defineJob({ name: "bad-schedule", schedule: 5, handler });
// @ts-expect-error unknown field
defineJob({ name: "extra", schedule: "0 1 * * *", timeoutSeconds: 5, handler });
// @ts-expect-error the context has no such field
defineJob({ name: "ctx", schedule: "0 1 * * *", handler: async (ctx) => ctx.nope });
