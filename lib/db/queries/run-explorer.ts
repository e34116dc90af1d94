import { sql, type SQL } from "drizzle-orm";
import { OperationError } from "../../cron/errors";
import type { RunStatus, RunTrigger } from "../../cron/vocabulary";
import { queryRows, type Db } from "../client";
import { escapeLike, inList, pgTextArray } from "./params";
import { toHistoryRun, type HistoryRow, type HistoryRun } from "./runs";

/**
 * The run explorer: every job's runs, filtered by job, status, trigger, time range, error text
 * and run id, newest first, paged by keyset on (started_at, id) so that page 10,000 costs what
 * page 1 does. Each filter reads its rows newest first from an index (0018):
 * - job: idx_cron_logs_job_started (job_name, started_at), with a status idx_cron_logs_job_status;
 * - status: idx_cron_logs_status (status, started_at, id);
 * - an operator's or a recovery's trigger: idx_cron_logs_trigger_started (partial);
 * - none of these: idx_cron_logs_started_at (started_at, id); the time range bounds every range;
 * - run id: the primary key (a prefix is a range of it);
 * - error text: the trigram index idx_cron_logs_error_trgm where pg_trgm exists.
 * Several jobs (or statuses) are read one index range each, newest first, and merged: an IN
 * list over an index's leading column would return its rows unordered, to be sorted whole.
 */

/** The filters, each empty for "any". */
export interface RunFilter {
  jobs: readonly string[];
  statuses: readonly RunStatus[];
  triggers: readonly RunTrigger[];
  /** Runs started at or after this instant. */
  from: Date | null;
  /** Runs started before this instant. */
  to: Date | null;
  /** A case-insensitive substring of the run's error message. */
  error: string | null;
  /** A run id, or the start of one (at least RUN_ID_PREFIX_MIN hex digits, as the dashboard shortens ids). */
  id: string | null;
}

export const EMPTY_RUN_FILTER: RunFilter = { jobs: [], statuses: [], triggers: [], from: null, to: null, error: null, id: null };

/** Limits of one query: how many jobs or statuses a filter may name, how long a search may be, how many rows a page holds. */
export const RUN_FILTER_LIMITS = { jobs: 50, error: 200, pageSize: 500, idPrefixMin: 4 } as const;

/** The triggers the scheduler itself sends: most rows, so a filter on them reads the started_at index (idx_cron_logs_trigger_started holds the rest). */
const SCHEDULER_TRIGGERS = ["schedule", "tick"] as const satisfies readonly RunTrigger[];
/** The partial index's predicate, written exactly as 0018 writes it so that the planner matches it. */
const RARE_TRIGGER_PREDICATE = sql.raw(`l.trigger NOT IN (${SCHEDULER_TRIGGERS.map((t) => `'${t}'`).join(", ")})`);

export interface ExplorerRun extends HistoryRun {
  jobName: string;
}

/** A position in the explorer's order: a run's start (to the microsecond) and id. */
export interface RunCursor {
  startedAt: string;
  id: string;
}

export interface RunPage {
  runs: ExplorerRun[];
  /** The cursor of the page of older runs (`after`), when there is one. */
  older: string | null;
  /** The cursor of the page of newer runs (`before`), when there is one. */
  newer: string | null;
}

/** Where a page starts: the newest runs, those older than a cursor, or those newer than it. */
export type PagePosition = { after: RunCursor } | { before: RunCursor } | null;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;

/** A cursor as the API hands it out: base64url of "<started_at>|<id>". */
export const encodeCursor = (c: RunCursor): string => Buffer.from(`${c.startedAt}|${c.id}`).toString("base64url");

/** The cursor in `value`; an OperationError("invalid", "invalid_cursor") naming `field` when it is not one this API handed out. */
export function decodeCursor(value: string, field: string): RunCursor {
  const [startedAt, id, extra] = Buffer.from(value, "base64url").toString("utf8").split("|");
  if (extra !== undefined || !startedAt || !id || !TIMESTAMP.test(startedAt) || !UUID.test(id) || Number.isNaN(Date.parse(startedAt))) {
    throw new OperationError("invalid", "invalid_cursor", `${field} is not a cursor from this list: follow the links (or nextCursor/prevCursor) of a previous page`, field);
  }
  return { startedAt, id };
}

/**
 * The bounds of the ids that start with `value` (a whole id, or its first hex digits with or
 * without dashes); an OperationError naming the field when it is neither.
 */
export function runIdRange(value: string): { low: string; high: string } {
  const hex = value.trim().toLowerCase().replace(/-/g, "");
  if (!/^[0-9a-f]+$/.test(hex) || hex.length > 32 || hex.length < RUN_FILTER_LIMITS.idPrefixMin) {
    throw new OperationError("invalid", "invalid_filter", `id must be a run id or its first ${RUN_FILTER_LIMITS.idPrefixMin} to 32 hex digits (as the dashboard shows them)`, "id");
  }
  const asUuid = (h: string) => `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  return { low: asUuid(hex.padEnd(32, "0")), high: asUuid(hex.padEnd(32, "f")) };
}

interface ExplorerRow extends HistoryRow {
  job_name: string;
  /** started_at to the microsecond, for the cursor (a JavaScript Date keeps milliseconds). */
  cursor_at: string;
}

/** The columns a page reads; `errorChars` caps the error message (a list shows its start, an export all of it). */
const columns = (errorChars: number | null) =>
  sql`l.id, l.job_name, l.status, l.skip_reason, l.trigger, l.scheduled_for, l.started_at, l.completed_at, l.duration_ms, l.attempts,
      ${errorChars === null ? sql`l.error_message` : sql`left(l.error_message, ${errorChars}::int)`} AS error_message,
      l.actor, l.replay_of, l.holder,
      to_char(l.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at`;

const toExplorerRun = (r: ExplorerRow): ExplorerRun => ({ ...toHistoryRun(r), jobName: r.job_name });

/** The conditions every row must meet, but for the one the index range of {@link rangeKeys} supplies. */
function conditions(filter: RunFilter, ranged: "jobs" | "statuses" | "job_status" | "triggers" | null, position: PagePosition): SQL[] {
  const where: SQL[] = [];
  if (filter.jobs.length && ranged !== "jobs" && ranged !== "job_status") where.push(inList(sql`l.job_name`, filter.jobs));
  if (filter.statuses.length && ranged !== "statuses" && ranged !== "job_status") where.push(inList(sql`l.status`, filter.statuses));
  if (filter.triggers.length && ranged !== "triggers") where.push(inList(sql`l.trigger`, filter.triggers));
  if (ranged === "triggers") where.push(RARE_TRIGGER_PREDICATE);
  if (filter.from) where.push(sql`l.started_at >= ${filter.from.toISOString()}::timestamptz`);
  if (filter.to) where.push(sql`l.started_at < ${filter.to.toISOString()}::timestamptz`);
  if (filter.error) where.push(sql`l.error_message IS NOT NULL AND l.error_message ILIKE ${`%${escapeLike(filter.error)}%`}`);
  if (filter.id) {
    const { low, high } = runIdRange(filter.id);
    where.push(sql`l.id BETWEEN ${low}::uuid AND ${high}::uuid`);
  }
  if (position && "after" in position) where.push(sql`(l.started_at, l.id) < (${position.after.startedAt}::timestamptz, ${position.after.id}::uuid)`);
  if (position && "before" in position) where.push(sql`(l.started_at, l.id) > (${position.before.startedAt}::timestamptz, ${position.before.id}::uuid)`);
  return where;
}

/** Which filter the rows are read by, one index range per value: jobs (with their statuses), statuses, the rarer triggers, or none. */
function rangeKind(filter: RunFilter): "jobs" | "statuses" | "job_status" | "triggers" | null {
  if (filter.id) return null; // the primary key range is narrower than any other
  if (filter.jobs.length && filter.statuses.length) return "job_status";
  if (filter.jobs.length) return "jobs";
  if (filter.statuses.length) return "statuses";
  if (filter.triggers.length && filter.triggers.every((t) => !(SCHEDULER_TRIGGERS as readonly string[]).includes(t))) return "triggers";
  return null;
}

/**
 * The SELECT of one page: `limit` rows from `position` (newest first, or oldest first for the
 * runs newer than a cursor), read through one index range per key and merged.
 */
function pageQuery(filter: RunFilter, position: PagePosition, limit: number, errorChars: number | null): SQL {
  const ascending = position !== null && "before" in position;
  const order = ascending ? sql.raw("l.started_at ASC NULLS FIRST, l.id ASC NULLS FIRST") : sql.raw("l.started_at DESC NULLS LAST, l.id DESC NULLS LAST");
  const merged = ascending ? sql.raw("x.started_at ASC, x.id ASC") : sql.raw("x.started_at DESC, x.id DESC");
  const kind = rangeKind(filter);
  const base = conditions(filter, kind, position);
  const one = (keyed: SQL[]) => {
    const where = [...keyed, ...base];
    return sql`SELECT ${columns(errorChars)} FROM cron_job_logs l WHERE ${where.length ? sql.join(where, sql` AND `) : sql`true`} ORDER BY ${order} LIMIT ${limit}::int`;
  };
  const merge = (keys: SQL, keyed: SQL[]) => sql`SELECT x.* FROM ${keys} CROSS JOIN LATERAL (${one(keyed)}) x ORDER BY ${merged} LIMIT ${limit}::int`;
  switch (kind) {
    case null:
      return one([]);
    case "jobs":
      return merge(sql`unnest(${pgTextArray(filter.jobs)}::text[]) AS k(job)`, [sql`l.job_name = k.job`]);
    case "statuses":
      return merge(sql`unnest(${pgTextArray(filter.statuses)}::text[]) AS k(status)`, [sql`l.status = k.status`]);
    case "triggers":
      return merge(sql`unnest(${pgTextArray(filter.triggers)}::text[]) AS k(trigger)`, [sql`l.trigger = k.trigger`]);
    case "job_status":
      return merge(sql`unnest(${pgTextArray(filter.jobs)}::text[]) AS j(job) CROSS JOIN unnest(${pgTextArray(filter.statuses)}::text[]) AS s(status)`, [
        sql`l.job_name = j.job`,
        sql`l.status = s.status`,
      ]);
  }
}

const cursorOf = (r: ExplorerRow) => encodeCursor({ startedAt: r.cursor_at, id: r.id });

/**
 * One page of runs matching `filter`: `limit` of them from `position`, newest first, with the
 * cursors of the pages either side. Walking back to the newest runs ends on a full first page
 * (not the few runs left before it).
 */
export async function exploreRuns(db: Db, filter: RunFilter, position: PagePosition, limit: number): Promise<RunPage> {
  const rows = await queryRows<ExplorerRow>(db, pageQuery(filter, position, limit + 1, 500));
  const more = rows.length > limit;
  const page = rows.slice(0, limit);
  if (position !== null && "before" in position) {
    if (!more) return exploreRuns(db, filter, null, limit);
    page.reverse();
    return { runs: page.map(toExplorerRun), older: cursorOf(page[page.length - 1]), newer: cursorOf(page[0]) };
  }
  return {
    runs: page.map(toExplorerRun),
    older: more ? cursorOf(page[page.length - 1]) : null,
    newer: position !== null && page.length ? cursorOf(page[0]) : null,
  };
}

/** A batch of an export: its runs and, on the last batch when `max` cut the export short, the cursor to continue after. */
export interface RunBatch {
  runs: ExplorerRun[];
  next: string | null;
}

/**
 * Every run matching `filter` (older than `after`, when given), newest first, up to `max`,
 * `batch` at a time: an export streams these, each batch one keyset query.
 */
export async function* allRuns(db: Db, filter: RunFilter, opts: { batch?: number; max?: number; after?: RunCursor | null } = {}): AsyncGenerator<RunBatch> {
  const batch = opts.batch ?? 1000;
  let left = opts.max ?? Number.POSITIVE_INFINITY;
  let position: PagePosition = opts.after ? { after: opts.after } : null;
  while (left > 0) {
    const size = Math.min(batch, left);
    const rows: ExplorerRow[] = await queryRows<ExplorerRow>(db, pageQuery(filter, position, size + 1, null));
    const page = rows.slice(0, size);
    const more = rows.length > size;
    left -= page.length;
    const last = page[page.length - 1];
    if (last) yield { runs: page.map(toExplorerRun), next: more && left <= 0 ? cursorOf(last) : null };
    if (!more || !last) return;
    position = { after: { startedAt: last.cursor_at, id: last.id } };
  }
}
