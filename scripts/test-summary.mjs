// Prints one closing line, "N passed, N failed, N skipped", from the runners' JSON reports.
import { existsSync, readFileSync } from "node:fs";

let passed = 0;
let failed = 0;
let skipped = 0;
const vitest = "test-results/vitest.json";
if (existsSync(vitest)) {
  const r = JSON.parse(readFileSync(vitest, "utf8"));
  passed += r.numPassedTests;
  failed += r.numFailedTests + (r.numTotalTestSuites > 0 && r.success === false && r.numFailedTests === 0 ? 1 : 0);
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
