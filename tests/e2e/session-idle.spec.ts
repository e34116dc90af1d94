import { expect, test, type Request as PwRequest } from "@playwright/test";
import pg from "pg";
import { hasPostgresServer, NEEDS_POSTGRES } from "../support/postgres-server";

/**
 * An open dashboard tab does not keep its session alive: in Chromium, the running-jobs poll
 * (X-Crondeck-Background: 1) and the re-renders it triggers (router.refresh() with the
 * short-lived crondeck_background cookie) leave the session's last_seen_at alone, while the
 * user's own navigation moves it; past 30 idle minutes the next click lands on the login page.
 * Idle time is made by moving last_seen_at back in the database, not by waiting.
 */

const BASE = process.env.CRONDECK_E2E_BASE_URL!;
const ADMIN_TOKEN = process.env.CRONDECK_E2E_ADMIN_TOKEN!;

// Reads the session rows of the database the server uses.
test.skip(!hasPostgresServer(), NEEDS_POSTGRES);

let pool: pg.Pool;
test.beforeAll(() => {
  pool = new pg.Pool({ connectionString: process.env.CRONDECK_E2E_DATABASE_URL, max: 2 });
});
test.afterAll(async () => {
  await pool?.end();
});

const query = async (text: string, values: unknown[] = []) => (await pool.query(text, values)).rows;

test("background polls and refreshes do not extend the session; the user's clicks do; an idle tab is logged out", async ({ browser }) => {
  const context = await browser.newContext({ baseURL: BASE });
  const page = await context.newPage();
  await page.goto("/dashboard/admin/login");
  await page.getByLabel("Admin token").fill(ADMIN_TOKEN);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/dashboard\/admin\/cron-jobs$/);
  const cookie = (await context.cookies()).find((c) => c.name === "crondeck_session")!;
  const sid = (JSON.parse(Buffer.from(cookie.value.split(".")[0], "base64url").toString()) as { sid: string }).sid;
  const lastSeen = async () => ((await query(`SELECT last_seen_at FROM cron_admin_sessions WHERE id = $1`, [sid]))[0].last_seen_at as Date).getTime();

  // 29 minutes idle.
  await query(`UPDATE cron_admin_sessions SET last_seen_at = now() - interval '29 minutes' WHERE id = $1`, [sid]);
  const idleSince = await lastSeen();

  const polls: PwRequest[] = [];
  const refreshes: PwRequest[] = [];
  page.on("request", (r) => {
    const url = new URL(r.url());
    if (url.pathname === "/api/admin/cron-jobs") polls.push(r);
    else if (url.pathname === "/dashboard/admin/cron-jobs" && url.searchParams.has("_rsc")) refreshes.push(r);
  });

  // A run starts and ends while the tab watches: the banner polls and re-renders the page twice.
  const run = await fetch(`${BASE}/api/admin/cron-jobs/demo-slow/run`, { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" }, body: "{}" });
  expect(run.status).toBe(202);
  const banner = page.locator("section[aria-labelledby=running-heading]");
  await expect(banner.getByRole("link", { name: "demo-slow" })).toBeVisible();
  await expect(banner.getByRole("heading")).toHaveText("Nothing is running right now", { timeout: 20_000 });

  // The banner polls every 3 s whether or not the page re-rendered first: wait for a second one.
  await expect.poll(() => polls.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
  for (const poll of polls) expect((await poll.allHeaders())["x-crondeck-background"]).toBe("1");
  expect(refreshes.length).toBeGreaterThanOrEqual(1);
  for (const refresh of refreshes) expect((await refresh.allHeaders()).cookie ?? "").toContain("crondeck_background=1");
  expect(await lastSeen()).toBe(idleSince);

  // The user clicks (once the marker cookie has lapsed): that is activity.
  await page.waitForTimeout(2_500);
  await page.getByRole("link", { name: "Audit log" }).click();
  await expect(page).toHaveURL(/\/dashboard\/admin\/audit/);
  await expect(page.getByRole("heading", { name: "Audit log", level: 1 })).toBeVisible();
  expect(Date.now() - (await lastSeen())).toBeLessThan(30_000);

  // Idle past 30 minutes: the next click goes to the login page, saying the session expired.
  await query(`UPDATE cron_admin_sessions SET last_seen_at = now() - interval '31 minutes' WHERE id = $1`, [sid]);
  await page.getByRole("navigation").getByRole("link", { name: "Jobs", exact: true }).click();
  await expect(page).toHaveURL(/\/dashboard\/admin\/login\?.*error=expired/);
  expect((await query(`SELECT revoked_reason FROM cron_admin_sessions WHERE id = $1`, [sid]))[0]).toEqual({ revoked_reason: "idle" });
  await context.close();
});
