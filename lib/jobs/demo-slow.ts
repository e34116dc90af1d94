import { defineJob } from "../cron/define-job";
import { loadEnv } from "../env";

/**
 * Demo (CRON_DEMO=1): counts primes for CRON_DEMO_SLOW_MS (default 2 s) in small slices,
 * stopping as soon as its signal aborts: a well-behaved long job. Set the duration above
 * the 5 s timeout to watch a timeout.
 */
export default defineJob({
  name: "demo-slow",
  schedule: "*/5 * * * *",
  description: "Demo: counts primes for a few seconds, honouring its abort signal",
  category: "demo",
  // Not in vercel.json: the tick dispatches it, so demo jobs never reach a production cron list.
  dispatch: "tick",
  timeout: "5s",
  handler: async (ctx) => {
    const until = Date.now() + loadEnv().CRON_DEMO_SLOW_MS;
    let candidate = 2;
    let primes = 0;
    while (Date.now() < until) {
      ctx.signal.throwIfAborted();
      const sliceEnd = Date.now() + 10;
      while (Date.now() < sliceEnd) {
        let prime = true;
        for (let d = 2; d * d <= candidate; d++) if (candidate % d === 0) { prime = false; break; }
        if (prime) primes++;
        candidate++;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    ctx.log(`found ${primes} primes below ${candidate}`);
    return { primes, below: candidate };
  },
});
