import { z } from "zod";
import { OVERRIDABLE_FIELDS } from "../cron/vocabulary";
import { operationDeps } from "../app/operations/deps";
import { getJobOverrides, revertJobOverrides, setJobOverrides } from "../app/operations/overrides";
import { getRuntime } from "../app/runtime";
import { json } from "./http";
import { adminRoute } from "./admin-http";
import { parseQuery, readJsonBody, refuseControlCharacters, requireJob } from "./parse";

/**
 * /api/admin/cron-jobs/[jobName]/overrides: a job's run-time overrides (lib/overrides). GET shows
 * per field the code's value, the override and the effective value; PATCH merges a partial
 * document (a field set to null reverts it), PUT replaces the whole document; DELETE reverts
 * every field, or one with ?field=. A refused document is a 400 naming the field with defineJob's
 * message, and changes nothing.
 */

const EXAMPLE = '{"timeout": "10m", "retries": 3}';

/** GET: the overrides view. */
export function handleGetOverrides(request: Request, rawName: string): Promise<Response> {
  return adminRoute(request, "overrides", async () => {
    const job = requireJob(rawName);
    const view = await getJobOverrides(operationDeps(await getRuntime()), job);
    return json({ success: true, ...view });
  });
}

/** PATCH (merge) and PUT (replace) with an override document. */
export function handleSetOverrides(request: Request, rawName: string, replace: boolean): Promise<Response> {
  return adminRoute(request, "override", async ({ actor }) => {
    const job = requireJob(rawName);
    const body = await readJsonBody(request, EXAMPLE);
    refuseControlCharacters(body, "body");
    const view = await setJobOverrides(operationDeps(await getRuntime()), actor, { job, change: body, replace });
    const fields = view.fields.filter((f) => f.overridden).map((f) => f.field);
    return json({ success: true, ...view, message: fields.length ? `${job.name} runs with overridden ${fields.join(", ")} from its next trigger.` : `${job.name} runs as its code defines it.` });
  });
}

export const revertQuerySchema = z.strictObject({ field: z.enum(OVERRIDABLE_FIELDS).optional() });

/** DELETE: reverts every field, or ?field=timeout. */
export function handleRevertOverrides(request: Request, rawName: string): Promise<Response> {
  return adminRoute(request, "override revert", async ({ actor, url }) => {
    const job = requireJob(rawName);
    const { field } = parseQuery(url, revertQuerySchema);
    const view = await revertJobOverrides(operationDeps(await getRuntime()), actor, { job, field });
    const what = field ?? "every override";
    return json({ success: true, ...view, message: view.changed ? `${job.name}: ${what} reverted to the code's value.` : `${job.name}: ${field ? `${field} was not overridden` : "nothing was overridden"}.` });
  });
}
