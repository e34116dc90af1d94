import { verifyCronRequest } from "../auth/cron-secret";
import { describeJob } from "../app/jobs";
import { getRuntime } from "../app/runtime";
import { getRegistry } from "../jobs";
import { categoriesOf } from "../db/queries/jobs";
import { jobDetail } from "../db/queries/job-detail";
import { loadEnv } from "../env";
import { json, problemResponse, toErrorResponse } from "./http";
import { requireJob } from "./parse";

/** The cron secret's check for the read-only job routes (they run nothing, so a shutdown does not refuse them). */
function authorize(request: Request): Response | null {
  const auth = verifyCronRequest(request, loadEnv());
  return auth.ok ? null : problemResponse(auth);
}

/** GET /api/cron/jobs: the registry (no database needed). */
export function handleListJobs(request: Request): Response {
  try {
    const refused = authorize(request);
    if (refused) return refused;
    const registered = getRegistry().list();
    return json({ total: registered.length, jobs: registered.map((job) => describeJob(job)), categories: categoriesOf(registered) });
  } catch (error) {
    return toErrorResponse(error, "list jobs");
  }
}

/** GET /api/cron/jobs/[jobName]: one job's configuration and its runtime state. */
export async function handleGetJob(request: Request, jobName: string): Promise<Response> {
  try {
    const refused = authorize(request);
    if (refused) return refused;
    const job = requireJob(jobName);
    const { database } = await getRuntime();
    const state = await jobDetail(database.db, job.name, job.enabled);
    return json({ success: true, job: describeJob(job), state });
  } catch (error) {
    return toErrorResponse(error, `job ${jobName.slice(0, 60)}`);
  }
}
