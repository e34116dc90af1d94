import { createHash, randomInt } from "node:crypto";
import { defineJob } from "../cron/define-job";

/**
 * Demo (CRON_DEMO=1): hashes a block of data and fails about a third of its attempts, so
 * retries, failures and (after three failed runs in a row) alerts show up on the dashboard.
 */
export default defineJob({
  name: "demo-flaky",
  schedule: "*/2 * * * *",
  description: "Demo: hashes 1 MB and fails about a third of its attempts, to show retries and failures",
  category: "demo",
  // Not in vercel.json: the tick dispatches it, so demo jobs never reach a production cron list.
  dispatch: "tick",
  timeout: "30s",
  retries: 2,
  backoff: { strategy: "fixed", delay: "2s" },
  handler: async (ctx) => {
    const data = Buffer.alloc(1024 * 1024, ctx.runId);
    const digest = createHash("sha256").update(data).digest("hex");
    ctx.log(`attempt ${ctx.attempt}: sha256 of 1 MB is ${digest.slice(0, 16)}…`);
    if (randomInt(3) === 0) throw new Error(`upstream answered 503 on attempt ${ctx.attempt}`);
    return { digest };
  },
});
