import { readFile } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import { parse as parseCsv } from "csv-parse/sync";
import { sql } from "drizzle-orm";
import { openDatabase, type Database } from "@/lib/db/client";
import { hasPostgresServer, NEEDS_POSTGRES } from "../support/postgres-server";
import { expectAccessible, SCREENSHOTS, signedIn } from "./signed-in";

/**
 * The run explorer (/dashboard/admin/runs) in Chromium: every job's runs newest first, paged
 * by cursor both ways; the filter form (jobs, statuses, error text, a custom UTC range) writes
 * the URL, and the URL alone shows the same view again (a deep link); the export downloads the
 * filtered runs as CSV; a view that cannot be shown says why, without an error page; a job's
 * page links to its runs here. Seeds 130 runs of two jobs the registry does not hold, in a June
 * 2025 week nothing else writes, and removes them afterwards.
 */

test.skip(!hasPostgresServer(), NEEDS_POSTGRES);

const JOBS = ["e2e-explore-a", "e2e-explore-b"] as const;
const BASE = Date.UTC(2025, 5, 10, 12, 0, 0);

let database: Database;
let context: BrowserContext;
let page: Page;
/** The seeded runs, newest first. */
const seeded: Array<{ id: string; job: string; status: string; error: string | null }> = [];

test.beforeAll(async ({ browser }) => {
  database = await openDatabase({ kind: "postgres", url: process.env.CRONDECK_E2E_DATABASE_URL!, queryTimeoutMs: 60_000 });
  for (let k = 0; k < 130; k++) {
    const failed = k % 10 === 3;
    seeded.push({ id: randomUUID(), job: JOBS[k % 2], status: failed ? "failed" : "completed", error: failed ? `ledger sync refused (batch ${k})` : null });
  }
  await database.db.execute(
    sql`INSERT INTO cron_job_logs (id, job_name, status, trigger, started_at, completed_at, duration_ms, error_message)
        SELECT (r->>'id')::uuid, r->>'job', r->>'status', 'schedule', to_timestamp(${BASE / 1000} - (ord - 1) * 600), to_timestamp(${BASE / 1000} - (ord - 1) * 600 + 3), 3000, r->>'error'
        FROM jsonb_array_elements(${JSON.stringify(seeded)}::jsonb) WITH ORDINALITY AS t(r, ord)`,
  );
  ({ context, page } = await signedIn(browser));
});

test.afterAll(async () => {
  await context?.close();
  if (!database) return;
  await database.db.execute(sql`DELETE FROM cron_job_logs WHERE job_name IN (${JOBS[0]}, ${JOBS[1]})`);
  await database.close();
});

const rows = () => page.getByRole("table", { name: "Runs" }).locator("tbody tr");
const shownIds = async () => rows().evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-run")));

test("pages every job's runs by cursor, both ways", async () => {
  await page.goto(`/dashboard/admin/runs?job=${JOBS.join(",")}`);
  await expect(rows()).toHaveCount(50);
  expect(await shownIds()).toEqual(seeded.slice(0, 50).map((r) => r.id));
  await expect(rows().first()).toContainText(JOBS[0]);
  await expectAccessible(page, "run explorer");
  await page.screenshot({ path: `${SCREENSHOTS}/runs-explorer.png`, fullPage: true });

  await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Older" }).click();
  await expect(page).toHaveURL(/after=/);
  await expect(rows().first()).toHaveAttribute("data-run", seeded[50].id);
  await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Older" }).click();
  await expect(rows()).toHaveCount(30);
  expect(await shownIds()).toEqual(seeded.slice(100).map((r) => r.id));
  await expect(page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Older" })).toHaveCount(0);

  await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Newer" }).click();
  await expect(page).toHaveURL(/before=/);
  await expect(rows().first()).toHaveAttribute("data-run", seeded[50].id);
  await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Newest", exact: true }).click();
  await expect(rows().first()).toHaveAttribute("data-run", seeded[0].id);
});

test("the filter form writes the URL, the URL alone shows the view again, and the export downloads it", async () => {
  await page.goto(`/dashboard/admin/runs?job=${JOBS.join(",")}`);
  const form = page.getByRole("search", { name: "Filter runs" });
  await form.getByLabel("Error contains").fill("LEDGER SYNC");
  await form.getByRole("group", { name: "Status" }).getByLabel("failed", { exact: true }).check();
  // A custom range in UTC: the seeded runs' first 12 hours (BASE back to BASE - 12 h).
  await form.getByLabel("From (UTC)").fill(new Date(BASE - 12 * 3_600_000).toISOString().slice(0, 16));
  await form.getByLabel("To (UTC)").fill(new Date(BASE + 60_000).toISOString().slice(0, 16));
  await form.getByRole("button", { name: "Apply" }).click();
  await expect(page).toHaveURL(/status=failed/);
  await expect(page).toHaveURL(/q=LEDGER/);
  const inRange = seeded.filter((r, i) => r.status === "failed" && i * 600_000 <= 12 * 3_600_000);
  expect(inRange.length).toBeGreaterThan(3);
  await expect(rows()).toHaveCount(inRange.length);
  expect(await shownIds()).toEqual(inRange.map((r) => r.id));
  await expect(rows().first()).toContainText("ledger sync refused");

  // A deep link: the same URL in a fresh page shows the same runs, with the form filled in.
  const url = page.url();
  const other = await context.newPage();
  await other.goto(url);
  await expect(other.getByRole("table", { name: "Runs" }).locator("tbody tr")).toHaveCount(inRange.length);
  await expect(other.getByLabel("Error contains")).toHaveValue("LEDGER SYNC");
  await expect(other.getByRole("group", { name: "Status" }).getByLabel("failed", { exact: true })).toBeChecked();
  await other.close();
  await page.screenshot({ path: `${SCREENSHOTS}/runs-explorer-filtered.png`, fullPage: true });

  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export CSV" }).click()]);
  expect(download.suggestedFilename()).toMatch(/^crondeck-runs-\d{8}T\d{6}Z\.csv$/);
  const [header, ...records] = parseCsv(await readFile((await download.path())!, "utf8")) as string[][];
  expect(records.map((r) => r[header.indexOf("id")])).toEqual(inRange.map((r) => r.id));
});

test("a view that cannot be shown says why; a job's page links to its runs here", async () => {
  const response = await page.goto("/dashboard/admin/runs?status=broken");
  expect(response?.status()).toBe(200);
  await expect(page.getByRole("alert").filter({ hasText: "This view cannot be shown" })).toContainText('This view cannot be shown: status: "broken" is not a status');
  await page.getByRole("link", { name: "start from every run" }).click();
  await expect(page).toHaveURL(/\/dashboard\/admin\/runs$/);

  await page.goto("/dashboard/admin/cron-jobs/console-nightly");
  await page.getByRole("link", { name: "Every run of console-nightly, with filters and export" }).click();
  await expect(page).toHaveURL(/\/dashboard\/admin\/runs\?job=console-nightly$/);
  await expect(page.getByLabel("Jobs (comma-separated)")).toHaveValue("console-nightly");
});
