import { cleanOldLogs } from "../../lib/app/operations/logs";
import type { CliContext } from "./context";
import { EXIT_OK } from "./errors";
import { intOption, type CommandInput } from "./spec";

export async function logsCleanup(ctx: CliContext, input: CommandInput): Promise<number> {
  const days = intOption(input, "days", ctx.env().CRON_LOG_RETENTION_DAYS, { min: 1, max: 36_500, example: 30 });
  // The same function the cleanup-old-logs job uses: batches of 5,000, keeps running runs and runs behind pending dead letters.
  const deleted = await cleanOldLogs(await ctx.ops(), ctx.actor, { days });
  ctx.out.result({ ok: true, days, deleted }, () => `deleted ${deleted} run${deleted === 1 ? "" : "s"} older than ${days} day${days === 1 ? "" : "s"}`);
  return EXIT_OK;
}
