import { after } from "next/server";
import { z } from "zod";
import { authenticateAdmin } from "../auth/admin";
import { redact, truncate } from "../cron/redact";
import type { Actor } from "../cron/vocabulary";
import { loadEnv } from "../env";
import { toErrorResponse } from "./http";

/**
 * The admin API's plumbing: authenticate (before anything touches the database), run the
 * handler, attach a re-issued session cookie, and answer every error through the one mapping.
 */

/** What an admin handler gets besides its own request. */
export interface AdminRequest {
  url: URL;
  /** Who is acting, as the audit log and the commands take it. */
  actor: Actor;
}

/** Runs an authenticated admin handler; refusals (401/403/503) come back before the handler runs. */
export async function adminRoute(request: Request, context: string, handler: (req: AdminRequest) => Promise<Response>): Promise<Response> {
  try {
    const env = loadEnv();
    const auth = authenticateAdmin(request, env);
    if (!auth.ok) return toErrorResponse(auth, `admin ${context}`);
    const actor: Actor = { name: auth.actor, via: auth.via, ip: auth.ip };
    const response = await handler({ url: new URL(request.url), actor });
    // A handler that set its own cookie (logout) decides; otherwise send the re-issued session.
    if (auth.setCookie && !response.headers.has("set-cookie")) response.headers.append("set-cookie", auth.setCookie);
    return response;
  } catch (error) {
    return toErrorResponse(error, `admin ${context}`);
  }
}

/**
 * Runs `work` after the response is sent (a run may take minutes; its id is known ahead, so the
 * caller follows it at /api/admin/runs/<id>). A failure is logged, redacted: nobody is left to answer.
 */
export function runAfterResponse(label: string, work: () => Promise<unknown>): void {
  after(async () => {
    try {
      await work();
    } catch (error) {
      console.error(`[crondeck] ${label}: ${truncate(redact(error instanceof Error ? error.message : String(error)), 500)}`);
    }
  });
}

/** Optional free-text note on an action. */
export const noteSchema = z.string().trim().min(1, "must not be empty").max(500, "must be at most 500 characters");
/** A body with no fields (an empty body counts). */
export const emptyBodySchema = z.strictObject({});
