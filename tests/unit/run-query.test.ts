/**
 * The run explorer's query string (lib/app/run-query.ts), which the API, the dashboard page and
 * the CLI all read: every filter parses to what the database runs and prints back to the same
 * link; a window stays a window; bad input is refused naming the field and the fix.
 */
import { expect, it } from "vitest";
import { OperationError } from "@/lib/cron/errors";
import { encodeCursor } from "@/lib/db/queries/run-explorer";
import { parseRunQuery, runQueryRecord, runQueryString } from "@/lib/app/run-query";

const NOW = new Date("2026-12-03T15:00:00Z");
const parse = (qs: string) => parseRunQuery(runQueryRecord(new URLSearchParams(qs)), NOW);
const refusal = (qs: string): { field?: string; message: string } => {
  try {
    parse(qs);
  } catch (error) {
    expect(error).toBeInstanceOf(OperationError);
    return { field: (error as OperationError).field, message: (error as OperationError).message };
  }
  throw new Error(`${qs} was accepted`);
};

it("reads every filter, repeated or comma-separated, and prints the same view back", () => {
  const cursor = encodeCursor({ startedAt: "2026-11-30T10:00:00.123456Z", id: "0b0a6a3e-8c6f-4d3e-9a37-9f3c2b1d0e4f" });
  const q = parse(`job=sync-users&job=cleanup-old-logs,sync-users&status=failed,timed_out&trigger=manual&from=2026-11-01T00:00:00Z&to=2026-11-02T06:30&q=refused&id=0B0A6A3E&after=${cursor}&limit=100`);
  expect(q.filter).toEqual({
    jobs: ["sync-users", "cleanup-old-logs"],
    statuses: ["failed", "timed_out"],
    triggers: ["manual"],
    from: new Date("2026-11-01T00:00:00Z"),
    to: new Date("2026-11-02T06:30:00Z"),
    error: "refused",
    id: "0B0A6A3E",
  });
  expect(q.position).toEqual({ after: { startedAt: "2026-11-30T10:00:00.123456Z", id: "0b0a6a3e-8c6f-4d3e-9a37-9f3c2b1d0e4f" } });
  expect(q.limit).toBe(100);
  const printed = runQueryString(q, { after: cursor });
  expect(printed).toBe(`?job=sync-users,cleanup-old-logs&status=failed,timed_out&trigger=manual&from=2026-11-01T00:00:00.000Z&to=2026-11-02T06:30:00.000Z&q=refused&id=0B0A6A3E&after=${cursor}&limit=100`);
  expect(parse(printed.slice(1))).toEqual(q);
});

it("a window ends now and stays a window in links; a day alone is its midnight, UTC", () => {
  const q = parse("last=24h");
  expect(q.filter.from).toEqual(new Date("2026-12-02T15:00:00Z"));
  expect(q.filter.to).toBeNull();
  expect(runQueryString(q)).toBe("?last=24h");
  expect(parse("from=2026-11-24").filter.from).toEqual(new Date("2026-11-24T00:00:00Z"));
  // "+" in a query is a space: an offset is sent as %2B.
  expect(parse("from=2026-11-24T08:00:00%2B02:00").filter.from).toEqual(new Date("2026-11-24T06:00:00Z"));
  // An empty form field is no filter (a GET form sends every field).
  expect(parse("job=&status=&q=&id=&from=&to=&last=").filter).toEqual(parse("").filter);
  expect(runQueryString(parse(""))).toBe("");
});

it("refuses what it cannot run, naming the field and what to send", () => {
  expect(refusal("status=failed,broken")).toMatchObject({ field: "status", message: expect.stringMatching(/"broken" is not a status: use started, completed/) });
  expect(refusal("trigger=cron")).toMatchObject({ field: "trigger" });
  expect(refusal("job=Not A Job")).toMatchObject({ field: "job", message: expect.stringContaining("is not a job name") });
  expect(refusal(`job=${Array.from({ length: 51 }, (_, i) => `j${i}`).join(",")}`)).toMatchObject({ field: "job", message: expect.stringContaining("at most 50 jobs") });
  expect(refusal("last=2w")).toMatchObject({ field: "last", message: expect.stringContaining("1h, 24h, 7d, 30d, 90d") });
  expect(refusal("last=24h&from=2026-11-01T00:00:00Z")).toMatchObject({ field: "last", message: expect.stringContaining("not both") });
  expect(refusal("from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z")).toMatchObject({ field: "to", message: expect.stringContaining("after from") });
  expect(refusal("from=yesterday")).toMatchObject({ field: "from", message: expect.stringContaining("ISO 8601") });
  expect(refusal("from=2026-02-31T00:00:00Z")).toMatchObject({ field: "from" });
  expect(refusal("id=xyz")).toMatchObject({ field: "id", message: expect.stringContaining("hex digits") });
  expect(refusal("after=bm9uc2Vuc2U")).toMatchObject({ field: "after", message: expect.stringContaining("not a cursor from this list") });
  const c = encodeCursor({ startedAt: "2026-11-30T10:00:00Z", id: "0b0a6a3e-8c6f-4d3e-9a37-9f3c2b1d0e4f" });
  expect(refusal(`after=${c}&before=${c}`)).toMatchObject({ field: "before" });
  expect(refusal("limit=0")).toMatchObject({ field: "limit" });
  expect(refusal("limit=501")).toMatchObject({ field: "limit" });
  expect(refusal(`q=${"x".repeat(201)}`)).toMatchObject({ field: "q" });
  expect(refusal("q=a%00b")).toMatchObject({ field: "q", message: expect.stringContaining("control characters") });
});
