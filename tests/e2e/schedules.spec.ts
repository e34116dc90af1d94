import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import { signedIn, SCREENSHOTS, expectAccessible as expectAccessibleOn } from "./signed-in";

/**
 * The schedule features on the dashboard in Chromium (a viewer in Europe/Paris), against the
 * schedule feature jobs (lib/jobs/feature-jobs/schedule.ts, loaded by the e2e server): the
 * schedule in words in the overview and on the job page, the next 10 fire times in local time,
 * UTC and the job's timezone with the DST changes marked, an interval's grid, the jitter, and
 * "no further runs" for a one-time job whose slot has passed. Reads no database of its own.
 */

const BASE = process.env.CRONDECK_E2E_BASE_URL!;
const ADMIN_TOKEN = process.env.CRONDECK_E2E_ADMIN_TOKEN!;

let context: BrowserContext;
let page: Page;

test.beforeAll(async ({ browser }) => {
  ({ context, page } = await signedIn(browser));
});

test.afterAll(async () => {
  await context?.close();
});

const expectAccessible = (name: string) => expectAccessibleOn(page, name);

const jobPage = (name: string) => page.goto(`/dashboard/admin/cron-jobs/${name}`);

test("a timezone cron job's next 10 fire times in local time, UTC and its timezone, the DST change marked, and its jitter", async () => {
  await jobPage("feature-jittered");
  const panel = page.getByTestId("schedule-panel");
  await expect(panel).toBeVisible();
  const rows = panel.getByTestId("next-fire-times").locator("tbody tr");
  await expect(rows).toHaveCount(10);
  // After hydration the local column has the viewer's zone.
  await expect(panel.getByRole("columnheader", { name: "Your time (Europe/Paris)" })).toBeVisible();
  // Monthly at 12:00 in Paris: 11:00 UTC in winter, 10:00 UTC in summer, and the row where it changes is marked.
  const utc = await rows.locator("td:nth-child(3)").allInnerTexts();
  expect(utc.every((t) => / 1[01]:00 UTC$/.test(t)), utc.join(", ")).toBe(true);
  expect(new Set(utc.map((t) => t.slice(-9)))).toEqual(new Set(["11:00 UTC", "10:00 UTC"]));
  const marks = panel.getByTestId("dst-change");
  await expect(marks.first()).toContainText("Europe/Paris: UTC+01:00 → UTC+02:00");
  const marked = rows.filter({ has: page.getByTestId("dst-change") });
  const firstSummer = utc.findIndex((t) => t.endsWith("10:00 UTC"));
  await expect(marked.first().locator("td:nth-child(3)")).toHaveText(utc[firstSummer]);
  // The job's own timezone column reads 12:00 on every row.
  const zoned = await rows.locator("td:nth-child(4)").allInnerTexts();
  expect(zoned.every((t) => t.includes("12:00")), zoned.join(", ")).toBe(true);
  await expect(panel).toContainText("up to 30 s after each slot");
  await expectAccessible("schedule panel");
  await page.screenshot({ path: `${SCREENSHOTS}/schedule-panel-jittered.png`, fullPage: true });
});

test("an interval job: the schedule in words, the grid and offset, its real-time slots in the viewer's local time", async () => {
  await jobPage("feature-interval");
  const panel = page.getByTestId("schedule-panel");
  await expect(panel).toContainText("Every 7 days");
  await expect(panel).toContainText("from 1970-01-01 00:00 UTC + 3 d 13 h");
  await expect(panel).toContainText("interval (real time)");
  const rows = panel.getByTestId("next-fire-times").locator("tbody tr");
  await expect(rows).toHaveCount(10);
  // Sundays at 13:17 UTC, whatever the viewer's DST: 14:17 in Paris in winter, 15:17 in summer.
  const utc = await rows.locator("td:nth-child(3)").allInnerTexts();
  expect(utc.every((t) => t.endsWith("13:17 UTC")), utc.join(", ")).toBe(true);
  const local = await rows.locator("td:nth-child(2)").allInnerTexts();
  expect(local.every((t) => t.startsWith("Sun")), local.join(", ")).toBe(true);
  // The facts line above: the schedule in words, no timezone for a real-time schedule.
  await expect(page.locator("dd").filter({ hasText: "every 7d offset 5117m" }).first()).toContainText("Every 7 days");
  await expect(page.locator("dd").filter({ hasText: "every 7d offset 5117m" }).first()).not.toContainText("(UTC)");
  await page.screenshot({ path: `${SCREENSHOTS}/schedule-panel-interval.png`, fullPage: true });
});

test("a viewer in another timezone sees their own DST change marked beside the job's", async ({ browser }) => {
  const ny = await browser.newContext({ baseURL: BASE, locale: "en-US", timezoneId: "America/New_York" });
  try {
    const login = await ny.request.post("/api/admin/session", { headers: { origin: new URL(BASE).origin }, data: { token: ADMIN_TOKEN } });
    expect(login.status()).toBe(200);
    const nyPage = await ny.newPage();
    await nyPage.goto("/dashboard/admin/cron-jobs/feature-jittered");
    const panel = nyPage.getByTestId("schedule-panel");
    await expect(panel.getByRole("columnheader", { name: "Your time (America/New_York)" })).toBeVisible();
    // New York moves on March 14, Paris on March 28: both fall between the March 1 and April 1 slots.
    const mark = panel.getByTestId("dst-change").first();
    await expect(mark).toContainText("Europe/Paris: UTC+01:00 → UTC+02:00");
    await expect(mark).toContainText("your time (America/New_York): UTC-05:00 → UTC-04:00");
    // Noon in Paris is 06:00 in New York both before and after (both moved an hour).
    const local = await panel.getByTestId("next-fire-times").locator("tbody tr td:nth-child(2)").allInnerTexts();
    expect(local.every((t) => t.endsWith("06:00")), local.join(", ")).toBe(true);
  } finally {
    await ny.close();
  }
});

test("a one-time job after its slot shows no further runs, in the facts and the panel", async () => {
  await jobPage("feature-once");
  await expect(page.getByTestId("no-further-runs")).toContainText("No further runs: a one-time job: its slot (2026-03-01 12:00 UTC) has passed");
  await expect(page.locator("div", { has: page.locator("dt", { hasText: "Next run:" }) }).last()).toContainText("no further runs");
  await expect(page.getByTestId("schedule-panel")).toContainText("one-time (runAt)");
  await jobPage("feature-once-later");
  await expect(page.getByTestId("next-fire-times").locator("tbody tr")).toHaveCount(1);
  await expect(page.getByTestId("schedule-panel")).toContainText("Next fire time");
});

test("the overview shows each schedule in words", async () => {
  await page.goto("/dashboard/admin/cron-jobs?q=feature-");
  await expect(page.getByText("Every 7 days, offset 5117 minutes from the UTC grid").first()).toBeVisible();
  await expect(page.getByText("Once at 2026-03-01 12:00 UTC").first()).toBeVisible();
});
