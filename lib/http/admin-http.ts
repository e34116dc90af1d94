import { z } from "zod";
import { authenticateAdmin, type AdminAuth } from "../auth/admin";
import { JOB_NAME_RE, type JobDefinition } from "../cron/define-job";
import { AdminQueryError } from "../db/admin-queries";
import type { Db } from "../db/client";
import { DeadLetterError } from "../db/dead-letters";
import { loadEnv, type Env } from "../env";
import { getRegistry } from "../jobs";
import { errorResponse, HttpError, json, toErrorResponse } from "./http";

/**
 * The admin API's plumbing: authenticate (before anything touches the database), run the
 * handler, attach a re-issued session cookie, and map every error to JSON in one place.
 */

export interface AdminRequest {
  request: Request;
  url: URL;
  auth: AdminAuth;
  env: Env;
}

const DEAD_LETTER_STATUS: Record<DeadLetterError["code"], number> = {
  dead_letter_not_found: 404,
  not_pending: 409,
  replay_limit_reached: 409,
};

export function adminErrorResponse(error: unknown, context: string): Response {
  // Validation errors name the field at the top level too, where a form can find it.
  if (error instanceof HttpError && typeof error.details?.field === "string") {
    return json({ success: false, error: error.message, code: error.code, field: error.details.field, details: error.details }, error.status);
  }
  if (error instanceof DeadLetterError) return errorResponse(DEAD_LETTER_STATUS[error.code], error.code, error.message);
  if (error instanceof AdminQueryError) return json({ success: false, error: error.message, code: error.code, field: error.field, details: { field: error.field } }, 400);
  return toErrorResponse(error, context);
}

/** Runs an authenticated admin handler; refusals (401/403/503) come back before the handler runs. */
export async function adminRoute(request: Request, context: string, handler: (req: AdminRequest) => Promise<Response>): Promise<Response> {
  try {
    const env = loadEnv();
    const auth = authenticateAdmin(request, env);
    if (auth instanceof Response) return auth;
    const response = await handler({ request, url: new URL(request.url), auth, env });
    // A handler that set its own cookie (logout) decides; otherwise send the re-issued session.
    if (auth.setCookie && !response.headers.has("set-cookie")) response.headers.append("set-cookie", auth.setCookie);
    return response;
  } catch (error) {
    return adminErrorResponse(error, `admin ${context}`);
  }
}

/** A 400 naming the first offending field: `field: what is wrong`. */
export function validationError(error: z.ZodError, where: "body" | "query" | "path"): HttpError {
  const issue = error.issues[0];
  let field = issue.path.map(String).join(".");
  let message = issue.message;
  if (issue.code === "unrecognized_keys") {
    field = [...issue.path.map(String), issue.keys[0]].join(".");
    message = `is not a known field (${where === "query" ? "parameter" : "field"}s: ${issue.keys.join(", ")})`;
  }
  if (!field) field = where;
  return new HttpError(400, where === "query" ? "invalid_query" : where === "path" ? "invalid_path" : "invalid_body", `${field}: ${message}`, {
    field,
    issues: error.issues.slice(0, 5).map((i) => ({ path: i.path.map(String).join("."), message: i.message })),
  });
}

const MAX_BODY_BYTES = 64 * 1024;

/** Reads a JSON body (an empty body is `{}`) and validates it. */
export async function parseJsonBody<S extends z.ZodType>(request: Request, schema: S): Promise<z.infer<S>> {
  const text = await request.text();
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw new HttpError(413, "body_too_large", `The body is over ${MAX_BODY_BYTES / 1024} KB.`);
  let value: unknown = {};
  if (text.trim() !== "") {
    try {
      value = JSON.parse(text);
    } catch {
      throw new HttpError(400, "invalid_json", "body: not valid JSON; send a JSON object such as {\"enabled\": true} with Content-Type: application/json.", { field: "body" });
    }
  }
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(result.error, "body");
  return result.data;
}

/** Validates the query string (the last value of a repeated parameter wins). */
export function parseQuery<S extends z.ZodType>(url: URL, schema: S): z.infer<S> {
  const result = schema.safeParse(Object.fromEntries(url.searchParams));
  if (!result.success) throw validationError(result.error, "query");
  return result.data;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A path id that must be a UUID. */
export function requireUuid(value: string, field = "id"): string {
  if (!UUID_RE.test(value)) throw new HttpError(400, "invalid_path", `${field}: must be a UUID such as 0b7c3f5e-8a1d-4c2b-9e6f-1a2b3c4d5e6f`, { field });
  return value.toLowerCase();
}

/** The registry's job, or 404 job_not_found. */
export function requireJob(rawName: string): JobDefinition {
  const job = JOB_NAME_RE.test(rawName) ? getRegistry().get(rawName) : undefined;
  if (!job) {
    const shown = rawName.length > 60 ? `${rawName.slice(0, 60)}…` : rawName;
    throw new HttpError(404, "job_not_found", `No job named "${shown}". GET /api/admin/cron-jobs lists the jobs.`);
  }
  return job;
}

/** Runs fn in one transaction (an action and its audit entry commit together). */
export async function inTransaction<T>(db: Db, fn: (tx: Db) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => fn(tx as unknown as Db));
}

/** Optional free-text note on an action. */
export const noteSchema = z.string().trim().min(1, "must not be empty").max(500, "must be at most 500 characters");
/** A body with no fields (an empty body counts). */
export const emptyBodySchema = z.strictObject({});
