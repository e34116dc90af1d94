import { runTrigger } from "../cron/run-job";
import { loadEnv, type Env } from "../env";
import { outcomeResponse, refuseTrigger } from "./execute";
import { toErrorResponse } from "./http";
import { getRuntime } from "./runtime";
import { recordOutcome } from "./shutdown";
import { httpDispatcher, runTick, tickJob, type TickReport } from "./tick";

/** Where the tick reaches the execute route: the app's public URL, the Vercel deployment, or this request's origin. */
export function appBaseUrl(env: Env, request: Request): string {
  if (env.NEXT_PUBLIC_APP_URL) return env.NEXT_PUBLIC_APP_URL;
  if (env.VERCEL_URL) return `https://${env.VERCEL_URL}`;
  return new URL(request.url).origin;
}

/** GET/POST /api/cron/tick: claims the current minute, then does the housekeeping in runTick. */
export async function handleTick(request: Request, maxDurationSeconds: number): Promise<Response> {
  const t0 = Date.now();
  try {
    const env = loadEnv();
    const refused = refuseTrigger(request, env);
    if (refused) return refused;
    const runtime = await getRuntime();
    const now = new Date();
    const minute = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
    const dispatch = httpDispatcher(appBaseUrl(env, request), env.CRON_SECRET!);
    const job = {
      ...tickJob,
      handler: async (ctx: { log: (m: string) => void }): Promise<TickReport> =>
        runTick({ db: runtime.database.db, registry: runtime.registry, dispatch, plan: env.CRON_PLAN, holder: runtime.engine.holder, now, log: ctx.log, onMissed: runtime.observers.onMissed, onAbandoned: runtime.observers.onAbandoned }),
    };
    const outcome = await runTrigger(runtime.engine, { job, trigger: "schedule", scheduledFor: minute, budgetMs: maxDurationSeconds * 1000 - (Date.now() - t0) - 2_000 });
    recordOutcome(outcome);
    await runtime.observers.flush();
    return outcomeResponse(outcome);
  } catch (error) {
    return toErrorResponse(error, "tick");
  }
}
