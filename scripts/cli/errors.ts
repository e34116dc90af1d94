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
