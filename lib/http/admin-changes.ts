import { getRuntime } from "../app/runtime";
import { changes } from "../db/queries/changes";
import { json } from "./http";
import { adminRoute } from "./admin-http";

/**
 * GET /api/admin/changes: what the dashboard polls every few seconds instead of the overview.
 * `token` moves when anything the overview or the dead-letter page shows has changed (the pages
 * re-render then); `runningJobs` are the running runs with their progress, as the overview lists
 * them (lib/db/queries/changes.ts says what the token is made of).
 */
export function handleChanges(request: Request): Promise<Response> {
  return adminRoute(request, "changes", async () => {
    const { database } = await getRuntime();
    const { token, runningJobs } = await changes(database.db);
    return json({ success: true, token, runningJobs });
  });
}
