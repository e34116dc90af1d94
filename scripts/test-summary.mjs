// Prints one closing line, "N passed, N failed, N skipped (N: why; ...)", from the runners' JSON
// reports in test-results/ (of the current directory), and above it which files each reason
// skipped. A skipped test's reason is the "(needs ...)" its suite or title carries (see
// tests/support/postgres-server.ts), or for Playwright its skip annotation.
import { existsSync, readFileSync } from "node:fs";

let passed = 0;
let failed = 0;
/** reason -> file -> count */
const skips = new Map();
const NO_REASON = "no reason given";

function skip(reason, file) {
  const files = skips.get(reason) ?? new Map();
  files.set(file, (files.get(file) ?? 0) + 1);
  skips.set(reason, files);
}

/** A report's absolute file name as a path in the project (the current directory). */
const inProject = (file) => (file.startsWith(`${process.cwd()}/`) ? file.slice(process.cwd().length + 1) : file);

/** The reason a skipped vitest test carries in its own or a suite's title: "(needs a Postgres server: ...)". */
function reasonIn(text) {
  return /\((needs [^()]+)\)/.exec(text)?.[1];
}

const vitest = "test-results/vitest.json";
if (existsSync(vitest)) {
  const r = JSON.parse(readFileSync(vitest, "utf8"));
  passed += r.numPassedTests;
  // A file that fails before its tests run (an error at import or in a hook) has no failed test of its own: count it.
  const brokenFiles = (r.testResults ?? []).filter((f) => f.status === "failed" && !(f.assertionResults ?? []).some((a) => a.status === "failed"));
  for (const f of brokenFiles) console.error(`failed to run: ${f.name}: ${String(f.message ?? "").split("\n")[0]}`);
  failed += r.numFailedTests + brokenFiles.length + (r.success === false && r.numFailedTests === 0 && brokenFiles.length === 0 ? 1 : 0);
  for (const f of r.testResults ?? []) {
    for (const a of f.assertionResults ?? []) {
      if (a.status !== "skipped" && a.status !== "pending" && a.status !== "todo") continue;
      const reason = reasonIn(a.fullName ?? [...(a.ancestorTitles ?? []), a.title].join(" ")) ?? (a.status === "todo" ? "todo" : NO_REASON);
      skip(reason, inProject(f.name));
    }
  }
} else {
  failed += 1;
  console.error("vitest wrote no report");
}

const playwright = "test-results/playwright.json";
if (existsSync(playwright)) {
  const r = JSON.parse(readFileSync(playwright, "utf8"));
  passed += r.stats.expected + r.stats.flaky;
  failed += r.stats.unexpected;
  const walk = (suite) => {
    for (const spec of suite.specs ?? []) {
      for (const t of spec.tests ?? []) {
        if (t.status !== "skipped") continue;
        const note = (t.annotations ?? []).find((a) => a.type === "skip" && a.description);
        skip(note?.description ?? NO_REASON, `tests/e2e/${spec.file ?? suite.file}`);
      }
    }
    for (const child of suite.suites ?? []) walk(child);
  };
  for (const suite of r.suites ?? []) walk(suite);
}

const count = (files) => [...files.values()].reduce((a, b) => a + b, 0);
const reasons = [...skips.entries()].sort((a, b) => count(b[1]) - count(a[1]));
for (const [reason, files] of reasons) {
  console.log(`skipped (${reason}): ${[...files.entries()].map(([file, n]) => `${file} ${n}`).join(", ")}`);
}
const skipped = reasons.reduce((sum, [, files]) => sum + count(files), 0);
const why = reasons.length ? ` (${reasons.map(([reason, files]) => `${count(files)}: ${reason}`).join("; ")})` : "";
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped${why}`);
process.exit(failed > 0 ? 1 : 0);
