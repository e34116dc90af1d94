import { defineJob } from "../cron/define-job";
import { loadEnv } from "../env";

/**
 * Demo (CRON_DEMO=1): a handler that ignores its abort signal and keeps working for
 * CRON_DEMO_STUBBORN_MS (default 3 s) past its 1 s timeout. The run is recorded as timed
 * out, but the job's lease stays held until the handler really stops, so no second run
 * of it can start in the meantime.
 */
export default defineJob({
  name: "demo-stubborn",
  schedule: "*/10 * * * *",
  description: "Demo: ignores its abort signal after the timeout; the lease still prevents any overlap",
  category: "demo",
  // Not in vercel.json: the tick dispatches it, so demo jobs never reach a production cron list.
  dispatch: "tick",
  timeout: "1s",
  handler: async (ctx) => {
    const ms = loadEnv().CRON_DEMO_STUBBORN_MS;
    await new Promise((resolve) => setTimeout(resolve, ms)); // deliberately does not listen to ctx.signal
    ctx.log(`finished ${ms}ms of work after the signal aborted: ${ctx.signal.aborted}`);
    return { workedMs: ms };
  },
});
