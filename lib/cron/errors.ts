import { formatDuration } from "./duration";

/** Throw from a handler to fail the run without further attempts. */
export class NonRetriableError extends Error {
  override name = "NonRetriableError";
}

/** Throw from a handler to ask for the next attempt after a given delay. */
export class RetryAfterError extends Error {
  override name = "RetryAfterError";
  constructor(message: string, readonly retryAfterMs: number) {
    super(message);
  }
}

/** A job definition that cannot be used; the message names the job and the field. */
export class JobConfigError extends Error {
  override name = "JobConfigError";
}

/** The handler did not settle before the job's timeout. */
export class JobTimeoutError extends Error {
  override name = "JobTimeoutError";
  constructor(readonly timeoutMs: number) {
    super(`timed out after ${formatDuration(timeoutMs)}`);
  }
}

/** The handler returned, and the job's `expect` refused its result: the attempt failed with that reason. */
export class ExpectationError extends Error {
  override name = "ExpectationError";
  constructor(readonly reason: string) {
    super(`expect: ${reason}`);
  }
}

/** Turns anything thrown into an Error. */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (typeof thrown === "string") return new Error(thrown);
  try {
    return new Error(`non-error thrown: ${JSON.stringify(thrown)}`);
  } catch {
    return new Error(`non-error thrown: ${String(thrown)}`);
  }
}

/**
 * An operator's request that cannot be carried out as asked: bad input, something that does
 * not exist, or a state that forbids it. Operations, queries and commands throw it; the HTTP
 * layer maps `kind` to a status (400/404/409) and the CLI to an exit code, each in one place.
 */
export class OperationError extends Error {
  override name = "OperationError";
  constructor(
    readonly kind: "invalid" | "forbidden" | "not_found" | "conflict",
    /** Stable, machine-readable: `lock_live`, `job_not_found`, `replay_limit_reached`, ... */
    readonly code: string,
    message: string,
    /** The input field at fault, for "invalid". */
    readonly field?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}
