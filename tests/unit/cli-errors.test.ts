import { describe, expect, it } from "vitest";
import { OperationError } from "@/lib/cron/errors";
import { CliError, EXIT_FAILURE, EXIT_USAGE, fromOperationError } from "../../scripts/cli/errors";

describe("the CLI's one mapping of an operation's refusal", () => {
  it("keeps the code, exits 2 for bad input and unknown jobs, 1 for anything missing or in the way, and says where to look next", () => {
    const cases: Array<[OperationError, number, string]> = [
      [new OperationError("invalid", "invalid_days", "days: must be at least 1"), EXIT_USAGE, "days: must be at least 1"],
      [new OperationError("not_found", "job_not_found", 'unknown job "x"'), EXIT_USAGE, 'unknown job "x" Run `crondeck jobs list` to see the jobs.'],
      [new OperationError("not_found", "dead_letter_not_found", "No dead-letter entry e."), EXIT_FAILURE, "No dead-letter entry e. `crondeck dlq list` shows the entries."],
      [new OperationError("conflict", "lock_live", "x's lease is live"), EXIT_FAILURE, "x's lease is live"],
    ];
    for (const [error, exitCode, message] of cases) {
      const mapped = fromOperationError(error);
      expect(mapped).toBeInstanceOf(CliError);
      expect(mapped).toMatchObject({ code: error.code, exitCode, message });
    }
  });

  it("leaves other errors as they are", () => {
    const other = new Error("boom");
    expect(fromOperationError(other)).toBe(other);
    const cli = new CliError("x", "y");
    expect(fromOperationError(cli)).toBe(cli);
  });
});
