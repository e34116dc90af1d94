import { budgetLeftMs } from "../cron/budget";
import { loadEnv, type Env } from "../env";
import { deliverTick } from "../app/tick";
import { getRuntime } from "../app/runtime";
import { outcomeResponse, refuseTrigger } from "./execute";
import { toErrorResponse } from "./http";

/** Where the tick reaches the execute route: the app's public URL, the Vercel deployment, or this request's origin. */
function appBaseUrl(env: Env, request: Request): string {
  if (env.NEXT_PUBLIC_APP_URL) return env.NEXT_PUBLIC_APP_URL;
  if (env.VERCEL_URL) return `https://${env.VERCEL_URL}`;
  return new URL(request.url).origin;
}

/** GET/POST /api/cron/tick: claims the current minute, then does the housekeeping (lib/app/tick.ts). */
export async function handleTick(request: Request, maxDurationSeconds: number): Promise<Response> {
  const t0 = Date.now();
  try {
    const env = loadEnv();
    const refused = refuseTrigger(request, env);
    if (refused) return refused;
    const runtime = await getRuntime();
    const budgetMs = budgetLeftMs(maxDurationSeconds, t0);
    return outcomeResponse(await deliverTick(runtime, { baseUrl: appBaseUrl(env, request), budgetMs }));
  } catch (error) {
    return toErrorResponse(error, "tick");
  }
}
