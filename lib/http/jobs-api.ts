import { sql } from "drizzle-orm";
import { verifyCronAuthorization } from "../auth/cron-secret";
import type { JobDefinition } from "../cron/define-job";
import { formatDurationMs } from "../cron/duration";
import { nextRunAfter } from "../cron/schedule";
import { queryRows } from "../db/client";
import { loadEnv } from "../env";
import { getRegistry } from "../jobs";
import { errorResponse, json, toErrorResponse } from "./http";
import { getRuntime } from "../app/runtime";

/** A job's definition as the API shows it. */
export function describeJob(job: JobDefinition, now = new Date()) {
  return {
    name: job.name,
    schedule: job.schedule.cron,
    timezone: job.schedule.timezone,
    enabled: job.enabled,
    timeout: formatDurationMs(job.timeoutMs),
    timeoutMs: job.timeoutMs,
    retries: job.retries,
    description: job.description,
    category: job.category,
    overlap: job.overlap,
    dispatch: job.dispatch,
    nextRunAt: nextRunAfter(job.schedule, now).toISOString(),
  };
}

function authorize(request: Request): Response | null {
  const env = loadEnv();
  const auth = verifyCronAuthorization(request.headers.get("authorization"), { current: env.CRON_SECRET, previous: env.CRON_SECRET_PREVIOUS });
  return auth.ok ? null : errorResponse(auth.status, auth.code, auth.message);
}

/** GET /api/cron/jobs: the registry (no database needed). */
export function handleListJobs(request: Request): Response {
  const refused = authorize(request);
  if (refused) return refused;
  const jobs = getRegistry().list().map((job) => describeJob(job));
  const categories: Record<string, number> = {};
  for (const job of jobs) categories[job.category] = (categories[job.category] ?? 0) + 1;
  return json({ total: jobs.length, jobs, categories });
}

/** GET /api/cron/jobs/[jobName]: one job's configuration and its runtime state. */
export async function handleGetJob(request: Request, jobName: string): Promise<Response> {
  const refused = authorize(request);
  if (refused) return refused;
  const job = getRegistry().get(jobName);
  if (!job) return errorResponse(404, "job_not_found", `No job named "${jobName.slice(0, 60)}". GET /api/cron/jobs lists the jobs.`);
  try {
    const { database } = await getRuntime();
    const [state] = await queryRows<Record<string, unknown>>(
      database.db,
      sql`SELECT
            c.enabled, c.paused, c.paused_reason, c.consecutive_failures, c.dead_lettered, c.dead_letter_reason, c.dead_lettered_since,
            k.run_id AS lease_run_id, k.holder AS lease_holder, k.acquired_at AS lease_acquired_at, k.expires_at AS lease_expires_at,
            (SELECT row_to_json(r) FROM (
               SELECT id, status, skip_reason, trigger, scheduled_for, started_at, completed_at, duration_ms, attempts, error_message
               FROM cron_job_logs WHERE job_name = ${job.name} ORDER BY started_at DESC NULLS LAST LIMIT 1) r) AS last_run
          FROM (SELECT 1) one
          LEFT JOIN cron_job_config c ON c.job_name = ${job.name}
          LEFT JOIN cron_job_leases k ON k.job_name = ${job.name}`,
    );
    return json({
      success: true,
      job: describeJob(job),
      state: {
        enabled: (state.enabled as boolean | null) ?? job.enabled,
        paused: Boolean(state.paused),
        pausedReason: state.paused_reason ?? null,
        consecutiveFailures: Number(state.consecutive_failures ?? 0),
        deadLettered: Boolean(state.dead_lettered),
        deadLetterReason: state.dead_letter_reason ?? null,
        running: state.lease_run_id
          ? { runId: state.lease_run_id, holder: state.lease_holder, acquiredAt: state.lease_acquired_at, leaseExpiresAt: state.lease_expires_at }
          : null,
        lastRun: state.last_run ?? null,
      },
    });
  } catch (error) {
    return toErrorResponse(error, `job ${jobName}`);
  }
}
