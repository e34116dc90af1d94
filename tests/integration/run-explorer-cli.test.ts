import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import { sql } from "drizzle-orm";
import { afterEach, beforeAll, expect, it, vi } from "vitest";
import type { Database } from "@/lib/db/client";
import { Output, type CliContext } from "../../scripts/cli/context";
import { UsageError } from "../../scripts/cli/errors";
import { runsExport, runsList } from "../../scripts/cli/runs";
import type { CommandInput } from "../../scripts/cli/spec";
import { describeOnDatabases } from "../support/db";

/**
 * `crondeck runs list` and `crondeck runs export` on real rows (PGlite and the Postgres
 * server): the same filters as the dashboard and the API, pages continued with --after, the
 * export written to a file that a CSV parser reads back; a bad option is a usage error naming
 * it. The command functions run in this process with a context over the test's database.
 */

const NOW = new Date("2026-11-20T12:30:00.000Z");

function context(database: Database, json: boolean, cwd: string): CliContext {
  return { out: new Output(json), now: () => NOW, cwd, database: async () => database, redact: (text: string) => text } as unknown as CliContext;
}
const input = (options: Record<string, string>): CommandInput => ({ args: [], options });

async function capture(run: () => Promise<number>): Promise<{ code: number; stdout: string }> {
  let stdout = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  try {
    return { code: await run(), stdout };
  } finally {
    vi.restoreAllMocks();
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

describeOnDatabases("crondeck runs", (ctx) => {
  const ids: string[] = [];
  let dir = "";

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "crondeck-runs-cli-"));
    // 12 failed runs of cli-runs-a an hour apart (newest first in `ids`), and noise from another job.
    for (let k = 0; k < 12; k++) {
      const id = randomUUID();
      ids.push(id);
      const at = new Date(NOW.getTime() - (k + 1) * 3_600_000).toISOString();
      await ctx.db.execute(sql`INSERT INTO cron_job_logs (id, job_name, status, trigger, started_at, error_message)
        VALUES (${id}::uuid, 'cli-runs-a', 'failed', 'schedule', ${at}::timestamptz, ${k === 0 ? 'said "no", twice\nthen gave up' : `failure ${k}`}),
               (${randomUUID()}::uuid, 'cli-runs-b', 'completed', 'schedule', ${at}::timestamptz, NULL)`);
    }
    return () => rm(dir, { recursive: true, force: true });
  });

  it("lists a filter a page at a time, continued with --after, as JSON and as a table", async () => {
    const first = await capture(() => runsList(context(ctx.database, true, dir), input({ job: "cli-runs-a", status: "failed", limit: "5" })));
    expect(first.code).toBe(0);
    const page1 = JSON.parse(first.stdout);
    expect(page1.runs.map((r: { id: string }) => r.id)).toEqual(ids.slice(0, 5));
    const second = JSON.parse((await capture(() => runsList(context(ctx.database, true, dir), input({ job: "cli-runs-a", status: "failed", limit: "5", after: page1.nextCursor })))).stdout);
    expect(second.runs.map((r: { id: string }) => r.id)).toEqual(ids.slice(5, 10));
    // --last is a window ending at the CLI's now, its start included: the run exactly an hour old is in it.
    const recent = JSON.parse((await capture(() => runsList(context(ctx.database, true, dir), input({ job: "cli-runs-a", last: "1h" })))).stdout);
    expect(recent.runs.map((r: { id: string }) => r.id)).toEqual([ids[0]]);
    const human = await capture(() => runsList(context(ctx.database, false, dir), input({ job: "cli-runs-a", error: "FAILURE 1", limit: "2" })));
    expect(human.stdout).toMatch(/STARTED\s+JOB\s+STATUS/);
    expect(human.stdout).toContain(ids[1]);
    expect(human.stdout).toMatch(/--after \S+/);
  });

  it("exports the filter to a file that a CSV parser reads back", async () => {
    const { code } = await capture(() => runsExport(context(ctx.database, false, dir), input({ job: "cli-runs-a", output: "runs.csv" })));
    expect(code).toBe(0);
    const [header, ...rows] = parseCsv(await readFile(join(dir, "runs.csv"), "utf8")) as string[][];
    expect(header[0]).toBe("id");
    expect(rows.map((r) => r[0])).toEqual(ids);
    expect(rows[0][header.indexOf("error")]).toBe('said "no", twice\nthen gave up');
    const json = await capture(() => runsExport(context(ctx.database, false, dir), input({ job: "cli-runs-a", format: "json", max: "3" })));
    expect(JSON.parse(json.stdout)).toMatchObject({ truncated: true, runs: ids.slice(0, 3).map((id) => expect.objectContaining({ id })) });
  });

  it("refuses a bad option naming it and the fix", async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ status: "broken" }, /^--status: "broken" is not a status: use started/],
      [{ error: "x".repeat(201) }, /^--error: must be at most 200/],
      [{ last: "24h", from: "2026-11-01T00:00:00Z" }, /^--last: give either last/],
      [{ after: "nonsense" }, /^--after: is not a cursor|^--after: .*cursor/],
      [{ limit: "0" }, /^--limit must be a whole number from 1 to 500/],
    ];
    for (const [options, message] of cases) {
      const error = await runsList(context(ctx.database, true, dir), input(options)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UsageError);
      expect((error as Error).message).toMatch(message);
    }
    const bad = await runsExport(context(ctx.database, true, dir), input({ format: "xml" })).catch((e: unknown) => e);
    expect((bad as Error).message).toMatch(/--format must be one of csv, json/);
  });
});
