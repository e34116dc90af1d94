import { defineConfig } from "@playwright/test";

/**
 * Browser tests: Debian's Chromium against `next build && next start` on a fresh database
 * of the Postgres server, or on PGlite without TEST_DATABASE_URL (then the specs that read the
 * database themselves skip, saying so). tests/e2e/global-setup.ts builds if needed, starts the
 * server and passes its URL and secrets to the workers through process.env.
 */

// `npm test` passes --reporter=list,json, which replaces the reporters below and their
// options: the environment keeps the JSON report in a file either way.
process.env.PLAYWRIGHT_JSON_OUTPUT_FILE ??= "test-results/playwright.json";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

export default defineConfig({
  testDir: "tests/e2e",
  // Not test-results/ itself: Playwright empties its outputDir, and vitest's report lives there.
  outputDir: "test-results/playwright-artifacts",
  globalSetup: "./tests/e2e/global-setup.ts",
  globalTeardown: "./tests/e2e/global-teardown.ts",
  // One server and one database: the tests run in order, as one admin would click through.
  // Not serial mode: a failing test does not skip the ones after it (each file's beforeAll
  // logs in again in the worker that replaces the failed one).
  workers: 1,
  fullyParallel: false,
  forbidOnly: Boolean(process.env.CI),
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [["list"], ["json", { outputFile: "test-results/playwright.json" }]],
  use: {
    browserName: "chromium",
    // Set by the global setup before the workers start (workers load this file again).
    baseURL: process.env.CRONDECK_E2E_BASE_URL,
    viewport: { width: 1440, height: 900 },
    locale: "en-US",
    timezoneId: "Europe/Paris",
    colorScheme: "light",
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: { executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium", args: CHROMIUM_ARGS },
  },
});
