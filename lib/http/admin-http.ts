import { after } from "next/server";
import { z } from "zod";
import { authenticateAdmin } from "../auth/admin";
import { redact, truncate } from "../cron/redact";
import { roleAllows, type Actor, type AdminRole } from "../cron/vocabulary";
import { refusal } from "../auth/refusal";
import { loadEnv } from "../env";
import { getRuntime } from "../app/runtime";
import { toErrorResponse } from "./http";
import { oneLine } from "./parse";

/**
 * The admin API's plumbing: authenticate (a bearer token before anything touches the database;
 * a cookie by its session's row), run the handler, and answer every error through the one mapping.
 */

/** What an admin handler gets besides its own request. */
export interface AdminRequest {
  url: URL;
  /** Who is acting, as the audit log and the commands take it. */
  actor: Actor;
  /** What they may do. */
  role: AdminRole;
}

/**
 * The role a request needs, the one rule every admin route follows: reading (GET, HEAD) needs a
 * viewer, anything else an operator, unless the route asks for less (`viewer`: logging out, one's
 * own API tokens, which the token rules then bound by the person's own role).
 */
export const neededRole = (method: string, declared?: AdminRole): AdminRole => declared ?? (method === "GET" || method === "HEAD" ? "viewer" : "operator");

/**
 * Runs an authenticated admin handler; refusals (401/403/503) come back before the handler runs,
 * a role short of what the request needs (neededRole) with 403 forbidden_role.
 */
export async function adminRoute(request: Request, context: string, handler: (req: AdminRequest) => Promise<Response>, options: { role?: AdminRole } = {}): Promise<Response> {
  try {
    const env = loadEnv();
    const auth = await authenticateAdmin(request, env, { db: async () => (await getRuntime()).database.db });
    if (!auth.ok) return toErrorResponse(auth, `admin ${context}`);
    const needed = neededRole(request.method.toUpperCase(), options.role);
    if (!roleAllows(auth.role, needed)) {
      return toErrorResponse(refusal(403, "forbidden_role", `${auth.actor} is ${auth.role === "viewer" ? "a viewer" : `an ${auth.role}`}; ${context} needs ${needed === "admin" ? "an admin" : `an ${needed}`}. Ask an admin for a token with that role.`), `admin ${context}`);
    }
    const actor: Actor = { name: auth.actor, via: auth.via, ip: auth.ip, session: auth.session };
    return await handler({ url: new URL(request.url), actor, role: auth.role });
  } catch (error) {
    return toErrorResponse(error, `admin ${context}`);
  }
}

/**
 * Runs `work` after the response is sent (a run may take minutes; its id is known ahead, so the
 * caller follows it at /api/admin/runs/<id>). A failure is logged, redacted: nobody is left to answer.
 */
export function runAfterResponse(label: string, work: () => Promise<unknown>): void {
  const guarded = async () => {
    try {
      await work();
    } catch (error) {
      console.error(`[crondeck] ${label}: ${truncate(redact(error instanceof Error ? error.message : String(error)), 500)}`);
    }
  };
  try {
    after(guarded);
  } catch {
    // Outside a request (a handler called directly: the CLI, tests) there is no "after the
    // response": the work runs now, detached, and never changes the caller's answer.
    void guarded();
  }
}

/** Optional free-text note on an action: one line (it is shown as the pause reason in tables). */
export const noteSchema = oneLine(z.string().trim().min(1, "must not be empty").max(500, "must be at most 500 characters"));
/** A body with no fields (an empty body counts). */
export const emptyBodySchema = z.strictObject({});
