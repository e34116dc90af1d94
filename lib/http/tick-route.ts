import { budgetLeftMs } from "../cron/budget";
import { loadEnv } from "../env";
import { dispatchBaseUrl } from "../vercel/dispatch";
import { staleTickSchedule, VERCEL_CRON_SCHEDULE_HEADER } from "../vercel/crons";
import { deliverTick } from "../app/tick";
import { getRuntime } from "../app/runtime";
import { outcomeResponse, refuseTrigger } from "./execute";
import { toErrorResponse } from "./http";

/** GET/POST /api/cron/tick: claims the current minute, then does the housekeeping (lib/app/tick.ts). */
export async function handleTick(request: Request, maxDurationSeconds: number): Promise<Response> {
  const t0 = Date.now();
  try {
    const env = loadEnv();
    const refused = refuseTrigger(request, env);
    if (refused) return refused;
    // A tick fired on another plan's schedule (CRON_PLAN not set in the project, or a stale vercel.json).
    const stale = staleTickSchedule(request.headers.get(VERCEL_CRON_SCHEDULE_HEADER), env.CRON_PLAN);
    if (stale) console.warn(`[crondeck] warning: ${stale.message}`);
    const runtime = await getRuntime();
    const budgetMs = budgetLeftMs(maxDurationSeconds, t0);
    const outcome = await deliverTick(runtime, { baseUrl: dispatchBaseUrl(env, new URL(request.url).origin), budgetMs });
    return outcomeResponse(outcome, stale ? { staleVercelSchedule: { sent: stale.sent, expected: stale.expected, fix: stale.fix } } : {});
  } catch (error) {
    return toErrorResponse(error, "tick");
  }
}
