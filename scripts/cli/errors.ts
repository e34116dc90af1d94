import { OperationError } from "../../lib/cron/errors";

/**
 * The CLI's small vocabulary of failures. Each carries a stable `code` (shown in --json
 * output) and a message that says what to do; the exit code follows the kind.
 */
export const EXIT_OK = 0;
/** Something the command tried did not work: a failed run, an unreachable database, a duplicate. */
export const EXIT_FAILURE = 1;
/** The command line itself is wrong. */
export const EXIT_USAGE = 2;

export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** A bad command line: unknown command or option, a missing or malformed argument. Exit code 2. */
export class UsageError extends CliError {
  constructor(message: string, code = "usage") {
    super(code, message, EXIT_USAGE);
    this.name = "UsageError";
  }
}

/** Where to look next, by the operation's code. */
const NEXT_STEP: Record<string, string> = {
  dead_letter_not_found: "`crondeck dlq list` shows the entries.",
  lock_not_found: "`crondeck locks list --verbose` shows the leases and their runs.",
  job_not_found: "Run `crondeck jobs list` to see the jobs.",
};

/**
 * The one place an operation's refusal becomes CLI output: bad input and a job name that
 * names nothing are usage errors (exit 2); anything else that is missing or in the way
 * exits 1. Other errors pass through unchanged.
 */
export function fromOperationError(error: unknown): unknown {
  if (!(error instanceof OperationError)) return error;
  const exitCode = error.kind === "invalid" || error.code === "job_not_found" ? EXIT_USAGE : EXIT_FAILURE;
  const next = NEXT_STEP[error.code];
  return new CliError(error.code, next ? `${error.message} ${next}` : error.message, exitCode);
}
