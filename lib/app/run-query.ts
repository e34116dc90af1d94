import { z } from "zod";
import { JOB_NAME_RE } from "../cron/define-job";
import { OperationError } from "../cron/errors";
import { controlCharacterIn } from "../cron/text";
import { RUN_STATUSES, RUN_TRIGGERS, type RunStatus, type RunTrigger } from "../cron/vocabulary";
import { decodeCursor, EMPTY_RUN_FILTER, RUN_FILTER_LIMITS, runIdRange, type PagePosition, type RunFilter } from "../db/queries/run-explorer";

/**
 * The run explorer's state as a query string, read and written in one place: the API
 * (GET /api/admin/runs, /api/admin/runs/export), the dashboard page (/dashboard/admin/runs,
 * whose URL is its state) and `crondeck runs` all parse it here, and the dashboard builds
 * its links here. Lists are comma-separated (`status=failed,timed_out`) or repeated.
 *
 *   job, status, trigger  lists; any of them
 *   last                  a window ending now: 1h, 24h, 7d, 30d, 90d
 *   from, to              started at or after / before an instant (ISO 8601; without a zone, UTC)
 *   q                     a substring of the error message, any case
 *   id                    a run id, or its first hex digits
 *   after, before         a page's cursor (older runs / newer runs)
 *   limit                 runs per page, 1 to 500 (default 50)
 */

export const RUN_WINDOWS = { "1h": 3_600_000, "24h": 86_400_000, "7d": 7 * 86_400_000, "30d": 30 * 86_400_000, "90d": 90 * 86_400_000 } as const;
export type RunWindow = keyof typeof RUN_WINDOWS;
const WINDOW_KEYS = Object.keys(RUN_WINDOWS) as [RunWindow, ...RunWindow[]];

export const RUN_PAGE_DEFAULT = 50;

/** A parsed query: the filter as written (for links and the form), the one the database runs, the page. */
export interface RunQuery {
  /** The time range as asked: a window, or from/to as given (normalised to ISO instants). */
  range: { last: RunWindow | null; from: string | null; to: string | null };
  filter: RunFilter;
  position: PagePosition;
  limit: number;
}

/** The explorer with no filter: every run, newest first. */
export const NO_RUN_QUERY: RunQuery = { range: { last: null, from: null, to: null }, filter: EMPTY_RUN_FILTER, position: null, limit: RUN_PAGE_DEFAULT };

/** The value's date is a day of the calendar (2026-02-31 is not; Date would read it as March 3) and its time a time of day. */
function realDay(value: string): boolean {
  const [y, m, d, hh = 0, mm = 0, ss = 0] = (value.match(/\d+/g) ?? []).map(Number);
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d && hh < 24 && mm < 60 && ss < 60;
}

/** An instant: ISO 8601 with a zone, or a datetime-local value (YYYY-MM-DDTHH:mm[:ss]) read as UTC. */
const instant = z
  .string()
  .trim()
  .transform((value, ctx) => {
    const withZone = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$/.test(value) ? `${value}Z` : value;
    const ok = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(withZone);
    const at = ok && realDay(value) ? new Date(withZone.length === 10 ? `${withZone}T00:00:00Z` : withZone) : new Date(NaN);
    if (Number.isNaN(at.getTime())) {
      ctx.addIssue({ code: "custom", message: "must be an ISO 8601 instant such as 2026-11-24T06:00:00Z (without a zone: UTC)" });
      return z.NEVER;
    }
    return at;
  });

const list = <T extends string>(allowed: readonly T[] | null, what: string, max: number) =>
  z
    .string()
    .transform((value, ctx) => {
      const items = [...new Set(value.split(",").map((s) => s.trim()).filter(Boolean))];
      if (items.length > max) ctx.addIssue({ code: "custom", message: `at most ${max} ${what}s` });
      const bad = items.find((i) => (allowed ? !(allowed as readonly string[]).includes(i) : !JOB_NAME_RE.test(i) || i.length > 100));
      if (bad !== undefined) ctx.addIssue({ code: "custom", message: allowed ? `${JSON.stringify(bad.slice(0, 40))} is not a ${what}: use ${allowed.join(", ")}` : `${JSON.stringify(bad.slice(0, 40))} is not a job name` });
      return items as T[];
    });

const cursor = (field: "after" | "before") =>
  z.string().transform((value, ctx) => {
    try {
      return decodeCursor(value, field);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message.replace(`${field} `, "") });
      return z.NEVER;
    }
  });

export const runQuerySchema = z
  .object({
    job: list<string>(null, "job", RUN_FILTER_LIMITS.jobs).optional(),
    status: list<RunStatus>(RUN_STATUSES, "status", RUN_STATUSES.length).optional(),
    trigger: list<RunTrigger>(RUN_TRIGGERS, "trigger", RUN_TRIGGERS.length).optional(),
    last: z.enum(WINDOW_KEYS, { error: `must be one of ${WINDOW_KEYS.join(", ")}` }).optional(),
    from: instant.optional(),
    to: instant.optional(),
    q: z.string().trim().max(RUN_FILTER_LIMITS.error, `must be at most ${RUN_FILTER_LIMITS.error} characters`).optional(),
    id: z
      .string()
      .trim()
      .refine((v) => v === "" || safeIdRange(v), `must be a run id or its first ${RUN_FILTER_LIMITS.idPrefixMin} to 32 hex digits`)
      .optional(),
    after: cursor("after").optional(),
    before: cursor("before").optional(),
    limit: z.coerce.number().int().min(1).max(RUN_FILTER_LIMITS.pageSize).default(RUN_PAGE_DEFAULT),
  })
  .superRefine((q, ctx) => {
    if (q.last && (q.from || q.to)) ctx.addIssue({ code: "custom", path: ["last"], message: "give either last (a window ending now) or from/to, not both" });
    if (q.from && q.to && q.from >= q.to) ctx.addIssue({ code: "custom", path: ["to"], message: "must be after from" });
    if (q.after && q.before) ctx.addIssue({ code: "custom", path: ["before"], message: "give after (older runs) or before (newer runs), not both" });
  });

function safeIdRange(value: string): boolean {
  try {
    runIdRange(value);
    return true;
  } catch {
    return false;
  }
}

/** The query's keys, each read once (a repeated key's values are joined: job=a&job=b is job=a,b). */
const KEYS = ["job", "status", "trigger", "last", "from", "to", "q", "id", "after", "before", "limit"] as const;

/** A query string or a Next.js searchParams record as the flat record the schema reads. */
export function runQueryRecord(params: URLSearchParams | Record<string, string | string[] | undefined>): Record<string, string> {
  const read = (key: string): string[] => (params instanceof URLSearchParams ? params.getAll(key) : [params[key] ?? []].flat());
  const out: Record<string, string> = {};
  for (const key of KEYS) {
    const values = read(key).filter((v) => v !== "");
    if (values.length) out[key] = values.join(",");
  }
  return out;
}

/** The query, checked: an OperationError("invalid") naming the field and the fix otherwise. `now` ends a `last` window. */
export function parseRunQuery(record: Record<string, string>, now: Date): RunQuery {
  for (const [key, value] of Object.entries(record)) {
    if (controlCharacterIn(value)) throw new OperationError("invalid", "invalid_query", `${key}: must not contain control characters`, key);
  }
  const parsed = runQuerySchema.safeParse(record);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = String(issue.path[0] ?? "query");
    throw new OperationError("invalid", "invalid_query", `${field}: ${issue.message}`, field);
  }
  const q = parsed.data;
  const from = q.last ? new Date(now.getTime() - RUN_WINDOWS[q.last]) : (q.from ?? null);
  return {
    range: { last: q.last ?? null, from: q.from?.toISOString() ?? null, to: q.to?.toISOString() ?? null },
    filter: {
      ...EMPTY_RUN_FILTER,
      jobs: q.job ?? [],
      statuses: q.status ?? [],
      triggers: q.trigger ?? [],
      from,
      to: q.to ?? null,
      error: q.q || null,
      id: q.id || null,
    },
    position: q.after ? { after: q.after } : q.before ? { before: q.before } : null,
    limit: q.limit,
  };
}

/** The query string of a view: the filter as asked (a window stays a window), plus a page's cursor and a limit when not the default. */
export function runQueryString(query: Pick<RunQuery, "range" | "filter" | "limit">, page: { after?: string | null; before?: string | null } = {}): string {
  const { filter, range } = query;
  const entries: Array<[string, string | null]> = [
    ["job", filter.jobs.join(",") || null],
    ["status", filter.statuses.join(",") || null],
    ["trigger", filter.triggers.join(",") || null],
    ["last", range.last],
    ["from", range.last ? null : range.from],
    ["to", range.last ? null : range.to],
    ["q", filter.error],
    ["id", filter.id],
    ["after", page.after ?? null],
    ["before", page.before ?? null],
    ["limit", query.limit === RUN_PAGE_DEFAULT ? null : String(query.limit)],
  ];
  const search = new URLSearchParams(entries.filter((e): e is [string, string] => e[1] !== null));
  // Commas and colons are legal in a query: left as they are, a link stays readable.
  const text = search.toString().replace(/%2C/g, ",").replace(/%3A/g, ":");
  return text ? `?${text}` : "";
}
