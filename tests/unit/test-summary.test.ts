import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { NEEDS_POSTGRES, needsPostgresTitle } from "../support/postgres-server";

/**
 * scripts/test-summary.mjs, the closing line of `npm test`: it says how many tests were skipped
 * and why, from the reports vitest and Playwright write (reports in their real shapes).
 */
const script = resolve(import.meta.dirname, "../../scripts/test-summary.mjs");
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function summarize(reportsIn: (projectDir: string) => { vitest?: unknown; playwright?: unknown }) {
  const dir = mkdtempSync(join(tmpdir(), "crondeck-summary-"));
  dirs.push(dir);
  const reports = reportsIn(dir);
  mkdirSync(join(dir, "test-results"));
  if (reports.vitest) writeFileSync(join(dir, "test-results/vitest.json"), JSON.stringify(reports.vitest));
  if (reports.playwright) writeFileSync(join(dir, "test-results/playwright.json"), JSON.stringify(reports.playwright));
  const r = spawnSync(process.execPath, [script], { cwd: dir, encoding: "utf8" });
  const lines = r.stdout.trim().split("\n");
  return { code: r.status, last: lines.at(-1)!, lines, stderr: r.stderr };
}

const assertion = (status: string, ancestors: string[], title: string) => ({ status, ancestorTitles: ancestors, title, fullName: [...ancestors, title].join(" ") });

function vitestReport(dir: string) {
  const server = needsPostgresTitle("admin API on a Postgres server");
  return {
    numPassedTests: 2,
    numFailedTests: 0,
    numPendingTests: 4,
    numTodoTests: 1,
    success: true,
    testResults: [
      {
        name: join(dir, "tests/http/admin-api.test.ts"),
        status: "passed",
        assertionResults: [assertion("skipped", [server], "lists jobs"), assertion("skipped", [server, "locks"], "clears one"), assertion("passed", ["admin API without ADMIN_TOKEN"], "refuses")],
      },
      {
        name: join(dir, "tests/integration/engine.test.ts"),
        status: "passed",
        assertionResults: [assertion("skipped", [needsPostgresTitle("engine [postgres]")], "claims once"), assertion("passed", ["engine [pglite]"], "claims once"), assertion("skipped", ["engine"], "flaky one"), assertion("todo", ["engine"], "later")],
      },
    ],
  };
}

const playwrightReport = {
  stats: { expected: 3, unexpected: 0, flaky: 0, skipped: 2 },
  suites: [
    { file: "dashboard.spec.ts", specs: [{ file: "dashboard.spec.ts", tests: [{ status: "skipped", annotations: [{ type: "skip", description: NEEDS_POSTGRES }] }] }, { file: "dashboard.spec.ts", tests: [{ status: "skipped", annotations: [{ type: "skip", description: NEEDS_POSTGRES }] }] }] },
    { file: "framing.spec.ts", specs: [{ file: "framing.spec.ts", tests: [{ status: "expected", annotations: [] }] }], suites: [{ specs: [{ file: "framing.spec.ts", tests: [{ status: "expected" }, { status: "expected" }] }] }] },
  ],
};

describe("the closing line of npm test", () => {
  it("counts the skipped tests by reason, the Postgres ones first, and names the files", () => {
    const r = summarize((dir) => ({ vitest: vitestReport(dir), playwright: playwrightReport }));
    expect(r.last).toBe(`5 passed, 0 failed, 7 skipped (5: ${NEEDS_POSTGRES}; 1: no reason given; 1: todo)`);
    expect(r.code).toBe(0);
    expect(r.lines).toContain(`skipped (${NEEDS_POSTGRES}): tests/http/admin-api.test.ts 2, tests/integration/engine.test.ts 1, tests/e2e/dashboard.spec.ts 2`);
  });

  it("says nothing about skips when nothing was skipped (a CI run with a Postgres server)", () => {
    const r = summarize(() => ({ vitest: { numPassedTests: 1, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0, success: true, testResults: [{ name: "/x/a.test.ts", status: "passed", assertionResults: [assertion("passed", ["a"], "b")] }] } }));
    expect(r.last).toBe("1 passed, 0 failed, 0 skipped");
    expect(r.lines).toHaveLength(1);
  });

  it("fails when vitest wrote no report", () => {
    const r = summarize(() => ({}));
    expect(r.last).toBe("0 passed, 1 failed, 0 skipped");
    expect(r.stderr).toContain("vitest wrote no report");
    expect(r.code).toBe(1);
  });
});
