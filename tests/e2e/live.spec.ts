import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import { runStatusMeta } from "@/lib/dashboard/format";
import { SCREENSHOTS, signedIn } from "./signed-in";

/**
 * Live updates without a reload (issue 15, item 6), in Chromium: another operator's actions
 * through the admin API (a run started, a run that times out and is dead-lettered, a replay of
 * its dead letter) show on the open overview and the open dead-letter page by themselves. The
 * page polls GET /api/admin/changes and re-renders when its change token moves. A mark on
 * `window` set after the page loaded is still there at the end: the page was never reloaded.
 * Screenshots in test-results/screenshots/live-*.
 */

const BEARER = { authorization: `Bearer ${process.env.CRONDECK_E2E_ADMIN_TOKEN}` };

let context: BrowserContext;
let page: Page;

test.beforeAll(async ({ browser }) => {
  ({ context, page } = await signedIn(browser));
});
test.afterAll(async () => {
  await context?.close();
});

/** Another operator's request through the admin API (the bearer token, not this page's session). */
async function asOperator(path: string, data: unknown = {}): Promise<{ executionId: string }> {
  const reply = await context.request.post(path, { headers: BEARER, data });
  expect(reply.status(), await reply.text()).toBeLessThan(300);
  return (await reply.json()) as { executionId: string };
}

/** demo-stubborn keeps its lease past its timeout, until its handler stops: wait for that, so the next trigger runs instead of being skipped. */
async function leaseFree(job: string): Promise<void> {
  await expect
    .poll(async () => {
      const reply = await context.request.get("/api/admin/locks", { headers: BEARER });
      return ((await reply.json()) as { locks: Array<{ jobName: string }> }).locks.some((l) => l.jobName === job);
    })
    .toBe(false);
}

const markLoaded = (p: Page) => p.evaluate(() => ((window as unknown as { __liveMark?: string }).__liveMark = "loaded"));
const expectNotReloaded = async (p: Page) => expect(await p.evaluate(() => (window as unknown as { __liveMark?: string }).__liveMark)).toBe("loaded");

test("the overview shows a run start, end and time out without a reload", async () => {
  await page.goto("/dashboard/admin/cron-jobs");
  await expect(page.getByRole("heading", { name: "Cron jobs" })).toBeVisible();
  await markLoaded(page);
  const row = (name: string) => page.locator(`tr[data-job="${name}"]`);

  // demo-slow runs about 4 s: the banner lists it while it runs, then its row shows the finished run.
  const slow = await asOperator("/api/admin/cron-jobs/demo-slow/run");
  await expect(page.getByRole("list", { name: "Running jobs" })).toContainText("demo-slow");
  await expect(row("demo-slow").getByRole("link", { name: "Last run of demo-slow" })).toHaveAttribute("href", new RegExp(`run=${slow.executionId}$`), { timeout: 30_000 });
  await expect(row("demo-slow")).toContainText(runStatusMeta("completed").label);
  await expect(page.getByRole("list", { name: "Running jobs" }).getByText("demo-slow")).toHaveCount(0);

  // demo-stubborn times out at 1 s: its row turns to the timed-out run.
  await leaseFree("demo-stubborn");
  const stubborn = await asOperator("/api/admin/cron-jobs/demo-stubborn/run");
  const stubbornRow = row("demo-stubborn");
  await expect(stubbornRow.getByRole("link", { name: "Last run of demo-stubborn" })).toHaveAttribute("href", new RegExp(`run=${stubborn.executionId}$`), { timeout: 30_000 });
  await expect(stubbornRow).toContainText(runStatusMeta("timed_out").label);
  await expectNotReloaded(page);
  await page.screenshot({ path: `${SCREENSHOTS}/live-overview.png`, fullPage: true });
});

test("the dead-letter page shows a new dead letter and its replay without a reload", async () => {
  await page.goto("/dashboard/admin/dead-letters?job=demo-stubborn");
  await expect(page.getByRole("heading", { name: "Dead letters" })).toBeVisible();
  await markLoaded(page);

  // A run that times out becomes a pending entry on the open page.
  await leaseFree("demo-stubborn");
  const failed = await asOperator("/api/admin/cron-jobs/demo-stubborn/run");
  const entry = page.locator("li[data-dead-letter]").filter({ has: page.locator(`a[href$="run=${failed.executionId}"]`) });
  await expect(entry).toHaveCount(1, { timeout: 30_000 });
  await expect(entry).toContainText("replayed 0");
  const id = await entry.getAttribute("data-dead-letter");
  expect(id).toBeTruthy();

  // Another operator replays it: the count shows at once, the replay's run once it has ended.
  await leaseFree("demo-stubborn");
  const replay = await asOperator(`/api/admin/dead-letter-queue/${id}/retry`);
  await expect(entry).toContainText("replayed 1");
  await expect(entry.locator(`a[href$="run=${replay.executionId}"]`)).toHaveCount(1, { timeout: 30_000 });
  await expectNotReloaded(page);
  await page.screenshot({ path: `${SCREENSHOTS}/live-dead-letters.png`, fullPage: true });
});
