import { budgetLeftMs } from "../cron/budget";
import { loadEnv } from "../env";
import { dispatchBaseUrl } from "../vercel/dispatch";
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
    const runtime = await getRuntime();
    const budgetMs = budgetLeftMs(maxDurationSeconds, t0);
    return outcomeResponse(await deliverTick(runtime, { baseUrl: dispatchBaseUrl(env, new URL(request.url).origin), budgetMs }));
  } catch (error) {
    return toErrorResponse(error, "tick");
  }
}
