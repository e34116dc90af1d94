import { redact, truncate } from "../cron/redact";

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

const UNAVAILABLE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "EPIPE", "57P01", "57P03", "08000", "08001", "08003", "08004", "08006", "53300"]);

/** Connection-level failures of Postgres, PGlite or Redis, as opposed to bugs. */
export function isUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const err = e as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown[] };
    if (typeof err.code === "string" && UNAVAILABLE_CODES.has(err.code)) return true;
    if (typeof err.message === "string" && /connect|connection|timeout|terminat|ECONNREFUSED|fetch failed|did not answer/i.test(err.message)) return true;
    if (Array.isArray(err.errors) && err.errors.some((inner) => isUnavailable(inner))) return true;
    e = err.cause;
  }
  return false;
}

const scrub = (text: string) => truncate(redact(text), 500);
