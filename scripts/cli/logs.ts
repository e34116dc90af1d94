import { cleanOldLogs } from "../../lib/app/operations/logs";
import { retentionLines } from "../../lib/jobs/cleanup-old-logs";
import type { CliContext } from "./context";
import { EXIT_FAILURE, EXIT_OK } from "./errors";
import { intOption, type CommandInput } from "./spec";

/**
 * `crondeck logs cleanup [--days N]`: the cleanup-old-logs job's retention for every table,
 * run to the end (a terminal has no function timeout; each batch commits, so ^C keeps what
 * was deleted). Prints each table's deleted and still-due rows; exits 1 when a table failed.
 */
export async function logsCleanup(ctx: CliContext, input: CommandInput): Promise<number> {
  const days = intOption(input, "days", ctx.env().CRON_LOG_RETENTION_DAYS, { min: 1, max: 36_500, example: 30 });
  const report = await cleanOldLogs(await ctx.ops(), ctx.actor, { env: ctx.env(), days, now: ctx.now() });
  ctx.out.result({ ok: report.tables.every((t) => t.status !== "failed"), days, ...report }, () => [
    ...retentionLines(report),
    `auth: ${report.auth.sessions} ended session${report.auth.sessions === 1 ? "" : "s"}, ${report.auth.loginAttempts} login counter${report.auth.loginAttempts === 1 ? "" : "s"} deleted`,
    `deleted ${report.deleted} row${report.deleted === 1 ? "" : "s"} in ${report.elapsedMs} ms`,
  ]);
  return report.tables.some((t) => t.status === "failed") ? EXIT_FAILURE : EXIT_OK;
}
