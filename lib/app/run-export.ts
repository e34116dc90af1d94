import { stringify } from "csv-stringify/sync";
import type { Db } from "../db/client";
import { allRuns, type ExplorerRun, type RunCursor, type RunFilter } from "../db/queries/run-explorer";

/**
 * The run explorer's export, as GET /api/admin/runs/export streams it and `crondeck runs
 * export` writes it: the filtered runs newest first, up to `max`, read in keyset batches so that
 * memory holds one batch whatever the count. CSV has a header row; JSON is one object whose
 * `runs` array is written batch by batch and which ends with `truncated` and the `nextCursor`
 * that continues the export (`after`).
 */

export const EXPORT_FORMATS = ["csv", "json"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export const EXPORT_DEFAULT_MAX = 100_000;
export const EXPORT_MAX = 1_000_000;

/**
 * Free text that a spreadsheet would read as a formula (=, +, -, @, a tab or a carriage return
 * first) gets a leading apostrophe, as OWASP advises for CSV files: an error message such as
 * "=HYPERLINK(...)" opens as text, not as a live cell.
 */
const spreadsheetSafe = (value: string | null) => (value !== null && /^[=+\-@\t\r]/.test(value) ? `'${value}` : value);

/** The CSV's columns, in order: the header and each row. */
const CSV_COLUMNS: Array<[string, (r: ExplorerRun) => string | number | null]> = [
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

/** The export as text chunks: the opening, one chunk per batch of runs, the end. */
export async function* exportRuns(db: Db, filter: RunFilter, opts: { format: ExportFormat; max: number; after: RunCursor | null }): AsyncGenerator<string> {
  const csv = opts.format === "csv";
  yield csv ? stringify([CSV_COLUMNS.map(([name]) => name)]) : '{"success":true,"runs":[';
  let next: string | null = null;
  let sent = 0;
  for await (const batch of allRuns(db, filter, { max: opts.max, after: opts.after })) {
    next = batch.next;
    yield csv
      ? stringify(batch.runs.map((r) => CSV_COLUMNS.map(([, get]) => get(r))))
      : batch.runs.map((r, i) => `${sent + i === 0 ? "" : ","}${JSON.stringify(r)}`).join("");
    sent += batch.runs.length;
  }
  if (!csv) yield `],"truncated":${next !== null},"nextCursor":${JSON.stringify(next)}}\n`;
}
