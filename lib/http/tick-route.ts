import { budgetLeftMs } from "../cron/budget";
import { loadEnv } from "../env";
import { dispatchBaseUrl } from "../vercel/dispatch";
import { staleTickSchedule, VERCEL_CRON_SCHEDULE_HEADER } from "../vercel/crons";
import { deliverTick } from "../app/tick";
import { getRuntime } from "../app/runtime";
import { afterTickRun } from "../app/tick-watch";
import { systemClock } from "../cron/clock";
import { resumeStaleBackfills } from "../app/operations/backfills";
import { operationDeps } from "../app/operations/deps";
import { runAfterResponse } from "./admin-http";
import { outcomeResponse, refuseTrigger } from "./execute";
import { toErrorResponse } from "./http";

/** GET/POST /api/cron/tick: claims the current minute, then does the housekeeping (lib/app/tick.ts), then closes the tick watch and pings TICK_HEARTBEAT_URL (lib/app/tick-watch.ts). */
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
    // The tick ran: the watch closes (one `recovered` if it was late) and the dead-man URL hears of it.
    // Awaited, so a serverless function does not freeze before the ping leaves; it never fails the tick.
    await afterTickRun(
      { db: runtime.database.db, env, notify: runtime.observers.notify, now: new Date((runtime.engine.clock ?? systemClock).now()), heartbeatUrl: env.TICK_HEARTBEAT_URL },
      outcome,
    );
    // After the tick's own work: backfills nobody runs (a runner died, or ran out of budget) go on
    // from their cursor, within what is left of this invocation.
    runAfterResponse("resume backfills", () => resumeStaleBackfills(operationDeps(runtime), { budgetMs: budgetLeftMs(maxDurationSeconds, t0) }));
    return outcomeResponse(outcome, stale ? { staleVercelSchedule: { sent: stale.sent, expected: stale.expected, fix: stale.fix } } : {});
  } catch (error) {
    return toErrorResponse(error, "tick");
  }
}
