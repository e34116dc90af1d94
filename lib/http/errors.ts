import { z } from "zod";
import type { Refusal } from "../auth/refusal";
import { OperationError } from "../cron/errors";
import { redact, truncate } from "../cron/redact";
import { isUnavailable } from "../cron/store-errors";

/**
 * What every error answers over HTTP, decided in one place: `problemOf` maps anything thrown
 * (or a refusal from authentication) to a status, a stable code and a message saying what to
 * do; lib/http/http.ts turns that into the JSON body `{ success: false, error, code, field?, details? }`.
 * Database and server faults are logged, never echoed: no stack, no driver message, no secret.
 */

/** An answer decided by the HTTP layer itself (a bad header, a malformed body, a method not allowed). */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

/** An error as the response states it. */
export interface Problem {
  status: number;
  code: string;
  message: string;
  /** The input field at fault, at the top level where a form can find it (also in details). */
  field?: string;
  details?: Record<string, unknown>;
  headers?: Record<string, string>;
}

const OPERATION_STATUS: Record<OperationError["kind"], number> = { invalid: 400, forbidden: 403, not_found: 404, conflict: 409 };

/** Where the input a validation error is about came from; it names the code. */
export type InputPlace = "body" | "query" | "path" | "input";

/** A 400 naming the first offending field: `field: what is wrong`. */
export function validationError(error: z.ZodError, where: InputPlace): HttpError {
  const issue = error.issues[0];
  let field = issue.path.map(String).join(".");
  let message = issue.message;
  if (issue.code === "unrecognized_keys") {
    field = [...issue.path.map(String), issue.keys[0]].join(".");
    message = `is not a known field (${where === "query" ? "parameter" : "field"}s: ${issue.keys.join(", ")})`;
  }
  if (!field) field = where;
  return new HttpError(400, `invalid_${where}`, `${field}: ${message}`, {
    field,
    issues: error.issues.slice(0, 5).map((i) => ({ path: i.path.map(String).join("."), message: i.message })),
  });
}

const isRefusal = (value: unknown): value is Refusal =>
  typeof value === "object" && value !== null && (value as Refusal).ok === false && typeof (value as Refusal).status === "number" && typeof (value as Refusal).code === "string";

/** `details.field`, lifted to the top level when it is there. */
function withField(problem: Problem): Problem {
  const field = problem.details?.field;
  return typeof field === "string" ? { ...problem, field } : problem;
}

export interface ProblemOptions {
  /** Where unexpected errors are logged (redacted, cut to 500 characters). Default console.error. */
  log?: (line: string) => void;
  /** Secret values scrubbed from the logged line besides URL passwords and bearer tokens. */
  secrets?: readonly string[];
}

/**
 * The one mapping: HttpError and refusals keep their status and code; OperationError's kind
 * is 400/404/409; a zod error is a 400 naming the field; a store that did not answer is 503
 * store_unavailable; anything else is 500 internal_error. `context` names the request in the log.
 */
export function problemOf(error: unknown, context: string, options: ProblemOptions = {}): Problem {
  if (isRefusal(error)) return { status: error.status, code: error.code, message: error.message, ...(error.headers ? { headers: error.headers } : {}) };
  if (error instanceof HttpError) {
    return withField({ status: error.status, code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}), ...(error.headers ? { headers: error.headers } : {}) });
  }
  if (error instanceof OperationError) {
    const details = error.field !== undefined ? { field: error.field, ...error.details } : error.details;
    return withField({ status: OPERATION_STATUS[error.kind], code: error.code, message: error.message, ...(details ? { details } : {}) });
  }
  if (error instanceof z.ZodError) return problemOf(validationError(error, "input"), context, options);

  const log = options.log ?? console.error;
  const message = truncate(redact(error instanceof Error ? error.message : String(error), options.secrets), 500);
  if (isUnavailable(error)) {
    log(`[crondeck] ${context}: store unavailable: ${message}`);
    return { status: 503, code: "store_unavailable", message: "The database or lock store did not answer. Nothing ran; try again shortly." };
  }
  log(`[crondeck] ${context}: ${message}`);
  return { status: 500, code: "internal_error", message: "The server failed to handle this request; see the server logs." };
}

/** The JSON body of an error response. */
export function problemBody(problem: Problem): { success: false; error: string; code: string; field?: string; details?: Record<string, unknown> } {
  return {
    success: false,
    error: problem.message,
    code: problem.code,
    ...(problem.field !== undefined ? { field: problem.field } : {}),
    ...(problem.details ? { details: problem.details } : {}),
  };
}
