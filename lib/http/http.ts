import { loadEnv, secretsOf } from "../env";
import { problemBody, problemOf, type Problem } from "./errors";

/** Responses: JSON, never cached; errors in the one shape lib/http/errors.ts decides. */

export { HttpError } from "./errors";

const NO_STORE = { "cache-control": "no-store" };

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return Response.json(body, { status, headers: { ...NO_STORE, ...headers } });
}

/** The response for a problem (or a refusal from authentication, which has the same fields). */
export function problemResponse(problem: Problem): Response {
  return json(problemBody(problem), problem.status, problem.headers);
}

/**
 * Turns anything thrown (or a refusal) into a JSON response. Expected errors keep their status;
 * anything else is a store or server fault: logged (without stack or secrets) and answered 503/500.
 */
export function toErrorResponse(error: unknown, context: string): Response {
  return problemResponse(problemOf(error, context, { secrets: configuredSecrets() }));
}

/** The configured secret values, scrubbed from the logged line (none when the environment does not parse). */
function configuredSecrets(): readonly string[] {
  try {
    return secretsOf(loadEnv());
  } catch {
    return [];
  }
}

/**
 * The answer under /api/ where no route is (app/api/[[...path]]/route.ts), for every method and
 * without credentials: a JSON 404, never Next.js's HTML page. The path is not echoed.
 */
export function apiNotFound(request: Request): Response {
  if (request.method === "HEAD") return new Response(null, { status: 404, headers: { ...NO_STORE, "content-type": "application/json" } });
  return problemResponse({
    status: 404,
    code: "not_found",
    message: "No API route answers at this path. The routes: /api/health, /api/cron/execute/<job>, /api/cron/tick, /api/cron/jobs[/<job>], /api/admin/... (see the README).",
  });
}
