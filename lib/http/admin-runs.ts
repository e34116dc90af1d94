import { stringify } from "csv-stringify/sync";
import { z } from "zod";
import { OperationError } from "../cron/errors";
import { redact, truncate } from "../cron/redact";
import { parseRunQuery, runQueryRecord } from "../app/run-query";
import { allRuns, exploreRuns, type ExplorerRun } from "../db/queries/run-explorer";
import { getRun, getRunProgress } from "../db/queries/run-detail";
import { statistics } from "../db/queries/statistics";
import { getRuntime } from "../app/runtime";
import { adminRoute } from "./admin-http";
import { json } from "./http";
import { parseQuery, requireUuid } from "./parse";

/** GET /api/admin/runs/[id]: one run with its attempts, log lines, error, stack and output. */
export function handleGetRun(request: Request, rawId: string): Promise<Response> {
  return adminRoute(request, "run", async () => {
    const id = requireUuid(rawId);
    const { database } = await getRuntime();
    const run = await getRun(database.db, id);
    if (!run) throw new OperationError("not_found", "run_not_found", `No run ${id}.`);
    return json({ success: true, run });
  });
}

export const runProgressQuerySchema = z.object({
  /** The lines the caller has already (the log's first `since` lines): only those after them come back. */
  since: z.coerce.number().int().min(0).max(10_000).default(0),
});

/**
 * GET /api/admin/runs/[id]/progress?since=n: what the run page polls while the run runs (its
 * status, attempts and the log lines after the first n), light enough for a poll every few
 * seconds. The lines reach the row with the run's heartbeats (lib/cron/lease-keeper.ts).
 */
export function handleRunProgress(request: Request, rawId: string): Promise<Response> {
  return adminRoute(request, "run progress", async ({ url }) => {
    const id = requireUuid(rawId);
    const { since } = parseQuery(url, runProgressQuerySchema);
    const { database } = await getRuntime();
    const progress = await getRunProgress(database.db, id, since);
    if (!progress) throw new OperationError("not_found", "run_not_found", `No run ${id}.`);
    return json({ success: true, progress });
  });
}

export const statisticsQuerySchema = z.object({
  hours: z.coerce.number().int().min(1).max(168).default(24),
});

/** GET /api/admin/statistics?hours=24: counts per job and overall, dead letters, lock figures. */
export function handleStatistics(request: Request): Promise<Response> {
  return adminRoute(request, "statistics", async ({ url }) => {
    const { hours } = parseQuery(url, statisticsQuerySchema);
    const { database } = await getRuntime();
    return json({ success: true, ...(await statistics(database.db, { hours })) });
  });
}

/**
 * GET /api/admin/runs?job&status&trigger&last&from&to&q&id&after&before&limit: the run
 * explorer's page (lib/app/run-query.ts says what each parameter takes), newest first, with the
 * cursors of the older and newer pages.
 */
export function handleListRuns(request: Request): Promise<Response> {
  return adminRoute(request, "runs", async ({ url }) => {
    const query = parseRunQuery(runQueryRecord(url.searchParams), new Date());
    const { database } = await getRuntime();
    const page = await exploreRuns(database.db, query.filter, query.position, query.limit);
    return json({ success: true, runs: page.runs, nextCursor: page.older, prevCursor: page.newer, limit: query.limit });
  });
}

export const EXPORT_FORMATS = ["csv", "json"] as const;
export const EXPORT_DEFAULT_MAX = 100_000;
export const runExportQuerySchema = z.object({
  format: z.enum(EXPORT_FORMATS, { error: `must be one of ${EXPORT_FORMATS.join(", ")}` }).default("csv"),
  /** At most this many runs, newest first (the JSON's nextCursor, or the CSV's last row, continues with `after`). */
  max: z.coerce.number().int().min(1).max(1_000_000).default(EXPORT_DEFAULT_MAX),
});

/** The export's columns, in order: the CSV header and each row. */
const EXPORT_COLUMNS: Array<[string, (r: ExplorerRun) => string | number | null]> = [
  ["id", (r) => r.id],
  ["job_name", (r) => r.jobName],
  ["status", (r) => r.status],
  ["skip_reason", (r) => r.skipReason],
  ["trigger", (r) => r.trigger],
  ["scheduled_for", (r) => r.scheduledFor],
  ["started_at", (r) => r.startedAt],
  ["completed_at", (r) => r.completedAt],
  ["duration_ms", (r) => r.durationMs],
  ["attempts", (r) => r.attempts],
  ["actor", (r) => spreadsheetSafe(r.actor)],
  ["replay_of", (r) => r.replayOf],
  ["holder", (r) => spreadsheetSafe(r.holder)],
  ["error", (r) => spreadsheetSafe(r.error)],
];

/**
 * Free text that a spreadsheet would read as a formula (=, +, -, @, a tab or a carriage return
 * first) gets a leading apostrophe, as OWASP advises for CSV files: an error message such as
 * "=HYPERLINK(...)" opens as text, not as a live cell.
 */
const spreadsheetSafe = (value: string | null) => (value !== null && /^[=+\-@\t\r]/.test(value) ? `'${value}` : value);

/**
 * GET /api/admin/runs/export?format=csv|json&max&<the explorer's filters>: the filtered runs,
 * newest first, streamed in keyset batches (memory stays one batch whatever the count), up to
 * `max`. JSON ends with `truncated` and the `nextCursor` to continue from.
 */
export function handleExportRuns(request: Request): Promise<Response> {
  return adminRoute(request, "export runs", async ({ url }) => {
    const { format, max } = parseQuery(url, runExportQuerySchema);
    const query = parseRunQuery(runQueryRecord(url.searchParams), new Date());
    const { database } = await getRuntime();
    const position = query.position && "after" in query.position ? query.position : null;
    if (query.position && "before" in query.position) throw new OperationError("invalid", "invalid_query", "before: an export reads older runs only; use after to continue one", "before");
    const encoder = new TextEncoder();
    const batches = allRuns(database.db, query.filter, { max, after: position?.after ?? null });
    let sent = 0;
    let next: string | null = null;
    let started = false;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          if (!started) {
            started = true;
            controller.enqueue(encoder.encode(format === "csv" ? stringify([EXPORT_COLUMNS.map(([name]) => name)]) : '{"success":true,"runs":['));
          }
          const batch = await batches.next();
          if (batch.done) {
            if (format === "json") controller.enqueue(encoder.encode(`],"truncated":${next !== null},"nextCursor":${JSON.stringify(next)}}\n`));
            controller.close();
            return;
          }
          const { runs } = batch.value;
          next = batch.value.next;
          const text = format === "csv" ? stringify(runs.map((r) => EXPORT_COLUMNS.map(([, get]) => get(r)))) : runs.map((r, i) => `${sent + i === 0 ? "" : ","}${JSON.stringify(r)}`).join("");
          sent += runs.length;
          controller.enqueue(encoder.encode(text));
        } catch (error) {
          console.error(`[crondeck] export runs: ${truncate(redact(error instanceof Error ? error.message : String(error)), 500)}`);
          controller.error(new Error("the export stopped: the database did not answer"));
        }
      },
      async cancel() {
        await batches.return(undefined);
      },
    });
    const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, "");
    return new Response(request.method === "HEAD" ? null : stream, {
      status: 200,
      headers: {
        "content-type": format === "csv" ? "text/csv; charset=utf-8" : "application/json; charset=utf-8",
        "content-disposition": `attachment; filename="crondeck-runs-${stamp}Z.${format}"`,
        "cache-control": "no-store",
      },
    });
  });
}
