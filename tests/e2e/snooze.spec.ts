import AxeBuilder from "@axe-core/playwright";
import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import { signedIn, SCREENSHOTS } from "./signed-in";

/**
 * Skip-next and snooze on the dashboard in Chromium, against the snooze feature job
 * (lib/jobs/feature-jobs/snooze.ts, every minute): Skip next run marks the next slot and Undo
 * takes it back; a skipped slot delivered to the execute route is listed with who asked; a
 * snooze from a preset shows "Snoozed until ... by admin: <note>" on the job page and "snoozed"
 * on the overview (not disabled, not failing); End snooze ends it; a date in the past is refused
 * with the field named.
 */

const BASE = process.env.CRONDECK_E2E_BASE_URL!;
const CRON_SECRET = process.env.CRONDECK_E2E_CRON_SECRET!;
const JOB = "feature-snooze";
const MIN = 60_000;

let context: BrowserContext;
let page: Page;

test.beforeAll(async ({ browser }) => {
  ({ context, page } = await signedIn(browser));
});

test.afterAll(async () => {
  await context?.close();
});

/** The job runs every minute: start a step early enough in the minute that its next slot stays the same while the step clicks. */
async function earlyInTheMinute() {
  const into = Date.now() % MIN;
  if (into > 35_000) await page.waitForTimeout(MIN - into + 500);
}

test("Skip next run marks the next slot, Undo takes it back; a delivered skipped slot is listed with who asked", async () => {
  await earlyInTheMinute();
  await page.goto(`/dashboard/admin/cron-jobs/${JOB}`);
  const panel = page.getByRole("region", { name: "Skip and snooze" });
  await expect(panel).toBeVisible();
  await panel.getByRole("button", { name: "Skip next run" }).click();
  await panel.getByRole("button", { name: "Skip it" }).click();
  await expect(panel.getByText("(will be skipped)")).toBeVisible();
  await page.screenshot({ path: `${SCREENSHOTS}/snooze-skip-next.png`, fullPage: true });
  const undo = panel.getByRole("button", { name: /Undo the skip of the run at/ });
  await expect(undo).toBeVisible();
  await undo.click();
  await expect(panel.getByRole("button", { name: "Skip next run" })).toBeVisible();
  await expect(panel.getByText("(will be skipped)")).toHaveCount(0);

  // Skip it again and deliver that slot as the platform would: a recorded skip, with who asked.
  await earlyInTheMinute();
  const skip = await context.request.post(`/api/admin/cron-jobs/${JOB}/skip-next`, { headers: { origin: new URL(BASE).origin }, data: {} });
  expect(skip.status(), await skip.text()).toBe(200);
  const slot: string = (await skip.json()).slot;
  const delivered = await context.request.post(`/api/cron/execute/${JOB}?trigger=schedule&slot=${encodeURIComponent(slot)}`, { headers: { authorization: `Bearer ${CRON_SECRET}` } });
  expect((await delivered.json()).skipped, await delivered.text()).toBe(true);
  await page.reload();
  const skips = panel.getByRole("table", { name: /skipped for a snooze or a skip-next/ });
  await expect(skips.getByRole("row").nth(1)).toContainText("skip requested");
  await expect(skips.getByRole("row").nth(1)).toContainText("admin");
});

test("a snooze from a preset shows on the job page and the overview; a date in the past is refused; End snooze ends it", async () => {
  await page.goto(`/dashboard/admin/cron-jobs/${JOB}`);
  const panel = page.getByRole("region", { name: "Skip and snooze" });

  await panel.getByLabel("Until (your local time)").fill("2020-01-01T10:00");
  await panel.getByRole("button", { name: "Snooze", exact: true }).click();
  await expect(panel.getByRole("alert")).toContainText("until:");
  await expect(panel.getByLabel("Until (your local time)")).toHaveAttribute("aria-invalid", "true");

  await panel.getByLabel("Note (optional)").fill("database migration");
  await panel.getByRole("button", { name: "1 hour" }).click();
  const status = panel.getByRole("status").filter({ hasText: "Snoozed until" });
  await expect(status).toContainText("by admin: database migration");
  await expect(panel.getByText("(skipped: snoozed)")).toBeVisible();
  await page.screenshot({ path: `${SCREENSHOTS}/snooze-job-page.png`, fullPage: true });
  const axe = await new AxeBuilder({ page }).include("section[aria-labelledby='snooze-heading']").analyze();
  expect(axe.violations.map((v) => v.id)).toEqual([]);

  await page.goto("/dashboard/admin/cron-jobs?search=feature-snooze");
  const row = page.locator(`tr[data-job="${JOB}"]`);
  await expect(row).toContainText("snoozed until");
  await expect(row).not.toContainText("disabled");
  await expect(row).not.toContainText("paused");
  await page.screenshot({ path: `${SCREENSHOTS}/snooze-overview.png`, fullPage: true });

  await page.goto(`/dashboard/admin/cron-jobs/${JOB}`);
  await panel.getByRole("button", { name: "End snooze" }).click();
  await expect(panel.getByText("Snoozed until")).toHaveCount(0);
  await expect(panel.getByRole("button", { name: "1 hour" })).toBeVisible();
});
