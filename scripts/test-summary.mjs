// Prints one closing line, "N passed, N failed, N skipped", from the runners' JSON reports.
import { existsSync, readFileSync } from "node:fs";

let passed = 0;
let failed = 0;
let skipped = 0;
const vitest = "test-results/vitest.json";
if (existsSync(vitest)) {
  const r = JSON.parse(readFileSync(vitest, "utf8"));
  passed += r.numPassedTests;
  // A file that fails before its tests run (an error at import or in a hook) has no failed test of its own: count it.
  const brokenFiles = (r.testResults ?? []).filter((f) => f.status === "failed" && !(f.assertionResults ?? []).some((a) => a.status === "failed"));
  for (const f of brokenFiles) console.error(`failed to run: ${f.name}: ${String(f.message ?? "").split("\n")[0]}`);
  failed += r.numFailedTests + brokenFiles.length + (r.success === false && r.numFailedTests === 0 && brokenFiles.length === 0 ? 1 : 0);
  skipped += r.numPendingTests + r.numTodoTests;
} else {
  failed += 1;
  console.error("vitest wrote no report");
}
const playwright = "test-results/playwright.json";
if (existsSync(playwright)) {
  const r = JSON.parse(readFileSync(playwright, "utf8"));
  passed += r.stats.expected + r.stats.flaky;
  failed += r.stats.unexpected;
  skipped += r.stats.skipped;
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
