import AxeBuilder from "@axe-core/playwright";
import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import { signedIn, SCREENSHOTS } from "./signed-in";

/**
 * Backfill on the dashboard in Chromium, against the backfill feature jobs (lib/jobs/feature-jobs/
 * backfill.ts): Preview lists the exact slots, a refused field's message is shown, Run backfill
 * shows its progress to the end and the runs appear in the history with trigger backfill, the
 * preview then shows the slots taken; a slow backfill cancelled mid-way stops before its next slot.
 */

const HOUR = 3_600_000;

let context: BrowserContext;
let page: Page;

test.beforeAll(async ({ browser }) => {
  ({ context, page } = await signedIn(browser));
});

test.afterAll(async () => {
  await context?.close();
});

const lastHour = Math.floor(Date.now() / HOUR) * HOUR - HOUR;
const iso = (ms: number) => new Date(ms).toISOString();

test("Preview lists the exact slots; a bad field is named; Run backfill shows progress to the end; the runs are in the history as backfill", async () => {
  await page.goto("/dashboard/admin/cron-jobs/backfill-hourly");
  const panel = page.getByRole("region", { name: "Backfill" });
  await expect(panel).toBeVisible();

  await panel.getByLabel("From (ISO, included)").fill("yesterday");
  await panel.getByRole("button", { name: "Preview" }).click();
  await expect(panel.getByRole("alert")).toContainText("from:");

  const from = iso(lastHour - 2 * HOUR);
  await panel.getByLabel("From (ISO, included)").fill(from);
  await panel.getByLabel("To (ISO, included)").fill(iso(lastHour));
  await panel.getByRole("button", { name: "Preview" }).click();
  const preview = panel.getByRole("table", { name: "Backfill preview" });
  await expect(preview.getByRole("row")).toHaveCount(4);
  for (let i = 0; i < 3; i++) await expect(preview.getByRole("row").nth(i + 1)).toContainText(`${iso(lastHour - (2 - i) * HOUR)}`);
  await expect(preview).toContainText("3 of 3 slot(s) would run");
  const axe = await new AxeBuilder({ page }).include("#backfill-heading").analyze();
  expect(axe.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => v.id)).toEqual([]);
  await page.screenshot({ path: `${SCREENSHOTS}/backfill-preview.png`, fullPage: true });

  await panel.getByRole("button", { name: "Run backfill" }).click();
  const progress = panel.getByTestId("backfill-progress");
  await expect(progress).toContainText("Backfill completed: 3 of 3 slots: 3 completed", { timeout: 30_000 });
  await page.screenshot({ path: `${SCREENSHOTS}/backfill-done.png`, fullPage: true });

  const runs = await context.request.get("/api/admin/cron-jobs/backfill-hourly/history?trigger=backfill");
  expect(((await runs.json()) as { history: unknown[] }).history).toHaveLength(3);
  await page.reload();
  const history = page.getByRole("table", { name: "Recent runs" });
  await expect(history.getByRole("row").filter({ hasText: /backfill/ })).toHaveCount(3);

  const again = page.getByRole("region", { name: "Backfill" });
  await again.getByLabel("From (ISO, included)").fill(from);
  await again.getByLabel("To (ISO, included)").fill(iso(lastHour));
  await again.getByRole("button", { name: "Preview" }).click();
  await expect(again.getByRole("table", { name: "Backfill preview" })).toContainText("0 of 3 slot(s) would run");
  await expect(again.getByRole("table", { name: "Backfill preview" })).toContainText("skipped (has a run)");
  await expect(again.getByRole("button", { name: "Run backfill" })).toHaveCount(0);
});

test("Cancel stops a running backfill before its next slot", async () => {
  await page.goto("/dashboard/admin/cron-jobs/backfill-slow");
  const panel = page.getByRole("region", { name: "Backfill" });
  // backfill-slow runs at :30, 1.5 s a slot: five slots.
  await panel.getByLabel("From (ISO, included)").fill(iso(lastHour - 5 * HOUR));
  await panel.getByLabel("To (ISO, included)").fill(iso(lastHour));
  await panel.getByRole("button", { name: "Preview" }).click();
  await expect(panel.getByRole("table", { name: "Backfill preview" })).toContainText("5 of 5 slot(s) would run");
  await panel.getByRole("button", { name: "Run backfill" }).click();
  const progress = panel.getByTestId("backfill-progress");
  await expect(progress).toContainText(/Backfill running: [1-3] of 5 slots/, { timeout: 15_000 });
  await panel.getByRole("button", { name: "Cancel backfill" }).click();
  await expect(progress).toContainText("Backfill cancelled", { timeout: 15_000 });
  const done = Number(/(\d) of 5 slots/.exec((await progress.textContent()) ?? "")?.[1]);
  expect(done).toBeLessThan(5);
  const runs = await context.request.get("/api/admin/cron-jobs/backfill-slow/history?trigger=backfill");
  expect(((await runs.json()) as { history: unknown[] }).history).toHaveLength(done);
});
