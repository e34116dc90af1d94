import { problemResponse } from "./http";

/** The methods that run anything on the cron routes. */
export const CRON_METHODS = ["GET", "POST"] as const;
const ALLOW = CRON_METHODS.join(", ");

/**
 * The answer of a cron route to every other method: 405 with `Allow: GET, POST` and, except
 * for HEAD (which has no body), a JSON error naming the allowed methods. Nothing is read or written.
 */
export function methodNotAllowed(request: Request): Response {
  if (request.method === "HEAD") return new Response(null, { status: 405, headers: { allow: ALLOW, "cache-control": "no-store" } });
  return problemResponse({
    status: 405,
    code: "method_not_allowed",
    message: `${request.method} is not allowed here: use ${CRON_METHODS.join(" or ")} to trigger a run.`,
    details: { allowed: [...CRON_METHODS] },
    headers: { allow: ALLOW },
  });
}
