import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import { signedIn, SCREENSHOTS, expectAccessible as expectAccessibleOn } from "./signed-in";

/**
 * Run-time overrides on the dashboard in Chromium, against the overrides feature jobs
 * (lib/jobs/feature-jobs/overrides.ts, loaded by the e2e server): the job page's table of code,
 * override and effective values; a refused value's message under its field with nothing saved;
 * a saved override (who, when) and the effective value; Revert per field and Revert all; a
 * Vercel job's schedule shown as fixed, a tick job's schedule editable.
 */

const BASE = process.env.CRONDECK_E2E_BASE_URL!;
const PATH = "/api/admin/cron-jobs/feature-override-slow/overrides";

let context: BrowserContext;
let page: Page;

test.beforeAll(async ({ browser }) => {
  ({ context, page } = await signedIn(browser));
});

test.afterAll(async () => {
  await context?.request.delete(PATH, { headers: { origin: new URL(BASE).origin } }).catch(() => {});
  await context?.close();
});

const expectAccessible = (name: string) => expectAccessibleOn(page, name);

const overridesOf = async () => ((await (await context.request.get(PATH)).json()) as { overrides: Record<string, unknown> }).overrides;

test("overrides: a refused value is shown under its field, a saved one is shown with who and the effective value, and Revert restores the code's", async () => {
  await page.goto("/dashboard/admin/cron-jobs/feature-override-slow");
  const panel = page.getByRole("region", { name: "Run-time overrides" });
  await expect(panel).toBeVisible();
  await expect(panel).toContainText("Nothing is overridden");
  const timeoutRow = panel.locator('tr[data-field="timeout"]');
  await expect(timeoutRow.getByTestId("effective-timeout")).toHaveText("1s");
  await expect(panel.locator('tr[data-field="schedule"]')).toContainText("Fixed: Vercel Cron calls this job");

  const input = panel.getByLabel("Override timeout");
  await input.fill("10 minutes");
  await panel.getByRole("button", { name: "Save timeout override" }).click();
  const error = timeoutRow.getByRole("alert");
  await expect(error).toContainText('timeout "10 minutes" is not a duration');
  await expect(input).toHaveAttribute("aria-invalid", "true");
  expect(await overridesOf()).toEqual({});

  await input.fill("4s");
  await panel.getByRole("button", { name: "Save timeout override" }).click();
  await expect(timeoutRow.getByTestId("effective-timeout")).toHaveText("4s");
  await expect(timeoutRow.getByTestId("override-value-timeout")).toHaveText("4s");
  await expect(timeoutRow).toContainText("by admin");
  await expect(panel).toContainText("Overridden now: timeout");

  await panel.getByLabel("Override retries").fill("2");
  await panel.getByRole("button", { name: "Save retries override" }).click();
  await expect(panel.locator('tr[data-field="retries"]').getByTestId("effective-retries")).toHaveText("2");
  expect(await overridesOf()).toEqual({ timeout: "4s", retries: 2 });
  await expectAccessible("job page with overrides");
  await page.screenshot({ path: `${SCREENSHOTS}/overrides.png`, fullPage: true });

  await panel.getByRole("button", { name: "Revert timeout" }).click();
  await expect(timeoutRow.getByTestId("effective-timeout")).toHaveText("1s");
  expect(await overridesOf()).toEqual({ retries: 2 });

  await panel.getByRole("button", { name: "Revert all" }).click();
  await expect(panel).toContainText("Nothing is overridden");
  expect(await overridesOf()).toEqual({});
});

test("overrides: a tick-dispatched job's schedule can be overridden from the dashboard", async () => {
  await page.goto("/dashboard/admin/cron-jobs/feature-override-tick");
  const panel = page.getByRole("region", { name: "Run-time overrides" });
  await panel.getByLabel("Override schedule").fill('{"every": "90s"}');
  await panel.getByRole("button", { name: "Save schedule override" }).click();
  await expect(panel.locator('tr[data-field="schedule"]').getByRole("alert")).toContainText("an interval is a whole number of minutes");
  await panel.getByLabel("Override schedule").fill('{"every": "30m"}');
  await panel.getByRole("button", { name: "Save schedule override" }).click();
  await expect(panel.locator('tr[data-field="schedule"]').getByTestId("effective-schedule")).toHaveText('{"every":"30m"}');
  await panel.getByRole("button", { name: "Revert all" }).click();
  await expect(panel).toContainText("Nothing is overridden");
});
