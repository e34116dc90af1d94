import { redact, truncate } from "../cron/redact";
import { isUnavailable } from "../cron/store-errors";

/** Errors that map to HTTP responses in one place, each with a stable code and a message saying what to do. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

const NO_STORE = { "cache-control": "no-store" };

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return Response.json(body, { status, headers: { ...NO_STORE, ...headers } });
}

export function errorResponse(status: number, code: string, message: string, details?: Record<string, unknown>): Response {
  return json({ success: false, error: message, code, ...(details ? { details } : {}) }, status);
}

/**
 * Turns anything thrown into a JSON response. Expected errors keep their status; anything
 * else is a store or server fault: logged (without stack or secrets) and answered 503/500.
 */
export function toErrorResponse(error: unknown, context: string): Response {
  if (error instanceof HttpError) return errorResponse(error.status, error.code, error.message, error.details);
  const message = error instanceof Error ? error.message : String(error);
  if (isUnavailable(error)) {
    console.error(`[crondeck] ${context}: store unavailable: ${scrub(message)}`);
    return errorResponse(503, "store_unavailable", "The database or lock store did not answer. Nothing ran; try again shortly.");
  }
  console.error(`[crondeck] ${context}: ${scrub(message)}`);
  return errorResponse(500, "internal_error", "The server failed to handle this request; see the server logs.");
}

/** Connection-level failures of Postgres, PGlite or Redis, as opposed to bugs (one rule, in lib/cron). */
export { isUnavailable };

const scrub = (text: string) => truncate(redact(text), 500);
