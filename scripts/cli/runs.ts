import { createWriteStream } from "node:fs";
import { resolve } from "node:path";
import { once } from "node:events";
import { EXPORT_DEFAULT_MAX, EXPORT_FORMATS, EXPORT_MAX, exportRuns, type ExportFormat } from "../../lib/app/run-export";
import { parseRunQuery, RUN_PAGE_DEFAULT, type RunQuery } from "../../lib/app/run-query";
import { OperationError } from "../../lib/cron/errors";
import { exploreRuns } from "../../lib/db/queries/run-explorer";
import { formatDuration } from "../../lib/format";
import type { CliContext } from "./context";
import { EXIT_OK, UsageError } from "./errors";
import { clip, formatTime, table } from "./format";
import { RUN_FILTER_OPTIONS } from "./runs-spec";
import { intOption, stringOption, type CommandInput } from "./spec";

/** Option name -> query parameter, where they differ. */
const PARAM_OF: Record<string, string> = { error: "q" };

/** The filter options as the explorer's query; a bad value is a usage error naming the option. */
function runQuery(ctx: CliContext, input: CommandInput, limit: number): RunQuery {
  const record: Record<string, string> = { limit: String(limit) };
  for (const name of Object.keys(RUN_FILTER_OPTIONS)) {
    const value = stringOption(input, name);
    if (value !== undefined && value !== "") record[PARAM_OF[name] ?? name] = value;
  }
  try {
    return parseRunQuery(record, ctx.now());
  } catch (error) {
    if (!(error instanceof OperationError)) throw error;
    const option = Object.keys(PARAM_OF).find((k) => PARAM_OF[k] === error.field) ?? error.field ?? "";
    throw new UsageError(`--${option}${error.message.slice((error.field ?? "").length)}`, "invalid_option");
  }
}

/** `crondeck runs list`: one page of the explorer, newest first, and the command for the next. */
export async function runsList(ctx: CliContext, input: CommandInput): Promise<number> {
  const limit = intOption(input, "limit", RUN_PAGE_DEFAULT, { min: 1, max: 500 });
  const query = runQuery(ctx, input, limit);
  const { db } = await ctx.database();
  const page = await exploreRuns(db, query.filter, query.position, query.limit);
  ctx.out.result({ ok: true, runs: page.runs, nextCursor: page.older }, () => {
    if (page.runs.length === 0) return query.position ? "No more runs." : "No runs match.";
    return [
      table(
        ["STARTED", "JOB", "STATUS", "TRIGGER", { header: "DURATION", right: true }, "ID", "ERROR"],
        page.runs.map((r) => [formatTime(r.startedAt), r.jobName, r.skipReason ? `skipped: ${r.skipReason}` : r.status, r.trigger, formatDuration(r.durationMs), r.id, clip(ctx.redact(r.error ?? ""), 60)]),
      ),
      "",
      page.older ? `${page.runs.length} shown, newest first. Older runs: the same command with --after ${page.older}` : `${page.runs.length} shown, newest first; no older runs.`,
    ];
  });
  return EXIT_OK;
}

/** `crondeck runs export`: the filtered runs as CSV or JSON, to a file or stdout, in keyset batches. */
export async function runsExport(ctx: CliContext, input: CommandInput): Promise<number> {
  const format = (stringOption(input, "format") ?? "csv") as ExportFormat;
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be one of ${EXPORT_FORMATS.join(", ")}; got "${format}"`, "invalid_option");
  const max = intOption(input, "max", EXPORT_DEFAULT_MAX, { min: 1, max: EXPORT_MAX, example: 10_000 });
  const query = runQuery(ctx, input, RUN_PAGE_DEFAULT);
  const output = stringOption(input, "output");
  const { db } = await ctx.database();
  const target = output ? createWriteStream(resolve(ctx.cwd, output)) : process.stdout;
  if (output) await once(target, "open");
  const position = query.position && "after" in query.position ? query.position.after : null;
  for await (const chunk of exportRuns(db, query.filter, { format, max, after: position })) {
    // Stored rows are scrubbed when written; the CLI scrubs what it prints once more.
    if (!target.write(ctx.redact(chunk))) await once(target, "drain");
  }
  if (output) {
    target.end();
    await once(target, "finish");
    ctx.out.note(`wrote ${output}`);
  }
  return EXIT_OK;
}
