import { z } from "zod";
import { OperationError } from "../cron/errors";
import { redact, truncate } from "../cron/redact";
import { EXPORT_DEFAULT_MAX, EXPORT_FORMATS, EXPORT_MAX, exportRuns } from "../app/run-export";
import { parseRunQuery, runQueryRecord } from "../app/run-query";
import { exploreRuns } from "../db/queries/run-explorer";
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

export const runExportQuerySchema = z.object({
  format: z.enum(EXPORT_FORMATS, { error: `must be one of ${EXPORT_FORMATS.join(", ")}` }).default("csv"),
  /** At most this many runs, newest first (the JSON's nextCursor continues with `after`). */
  max: z.coerce.number().int().min(1).max(EXPORT_MAX).default(EXPORT_DEFAULT_MAX),
});

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
    const chunks = exportRuns(database.db, query.filter, { format, max, after: position?.after ?? null });
    // The opening and the first batch are read before the answer starts: a database that does
    // not answer is a 503 like any other route's, not a 200 that stops short.
    const head: string[] = [];
    for (let i = 0; i < 2; i++) {
      const chunk = await chunks.next();
      if (chunk.done) break;
      head.push(chunk.value);
    }
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const first = head.shift();
          if (first !== undefined) return controller.enqueue(encoder.encode(first));
          const chunk = await chunks.next();
          if (chunk.done) controller.close();
          else controller.enqueue(encoder.encode(chunk.value));
        } catch (error) {
          console.error(`[crondeck] export runs: ${truncate(redact(error instanceof Error ? error.message : String(error)), 500)}`);
          controller.error(new Error("the export stopped: the database did not answer"));
        }
      },
      async cancel() {
        await chunks.return(undefined);
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
