import { readTickHealth } from "../app/tick-watch";
import { verifyMetricsRequest } from "../auth/metrics-token";
import { tickJob } from "../cron/tick";
import { getDatabase } from "../db/client";
import { metricsSnapshot } from "../db/queries/metrics";
import { loadEnv } from "../env";
import { getRegistry } from "../jobs";
import { crondeckMetrics, METRICS_WINDOW_HOURS } from "../metrics/crondeck";
import { exposition, EXPOSITION_CONTENT_TYPE } from "../metrics/exposition";
import { problemResponse, toErrorResponse } from "./http";

/**
 * GET /api/metrics: the Prometheus text format, behind METRICS_TOKEN (404 while it is unset,
 * 401 for a missing or wrong token). Every figure is read from the database at scrape time,
 * so any instance answers for all of them.
 */
export async function handleMetrics(request: Request): Promise<Response> {
  try {
    const env = loadEnv();
    const auth = verifyMetricsRequest(request, env);
    if (!auth.ok) return problemResponse(auth);
    const { db } = await getDatabase(env);
    const jobs = [...getRegistry(env).list().map((j) => j.name), tickJob.name];
    const now = new Date();
    const started = performance.now();
    const [snapshot, tick] = await Promise.all([metricsSnapshot(db, { jobs: [...new Set(jobs)], now, windowHours: METRICS_WINDOW_HOURS }), readTickHealth(db, env.CRON_PLAN, now)]);
    const body = exposition(crondeckMetrics(snapshot, tick, performance.now() - started));
    return new Response(request.method === "HEAD" ? null : body, { status: 200, headers: { "content-type": EXPOSITION_CONTENT_TYPE, "cache-control": "no-store" } });
  } catch (error) {
    return toErrorResponse(error, "metrics");
  }
}
