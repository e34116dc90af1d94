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
    if (url.pathname === "/api/admin/changes") polls.push(r);
    else if (url.pathname === "/dashboard/admin/cron-jobs" && url.searchParams.has("_rsc")) refreshes.push(r);
  });

  // A run starts and ends while the tab watches: the banner polls and re-renders the page twice.
  // The run is a row and its live lease, written as a holder writes them, and it ends when the
  // test says so: a real job's few seconds could end between two polls on a loaded machine, and
  // then the banner never shows it (seen in CI).
  const [held] = await query(
    `INSERT INTO cron_job_logs (job_name, status, started_at, holder, fencing_token, trigger, attempts)
     VALUES ('demo-slow', 'started', now(), 'e2e-session-idle:1', nextval('cron_fencing_token_seq'), 'manual', 1) RETURNING id, fencing_token`,
  );
  const lease = await query(
    `INSERT INTO cron_job_leases (job_name, run_id, fencing_token, holder, acquired_at, expires_at)
     VALUES ('demo-slow', $1, $2, 'e2e-session-idle:1', now(), now() + interval '2 minutes') ON CONFLICT DO NOTHING RETURNING job_name`,
    [held.id, held.fencing_token],
  );
  expect(lease).toHaveLength(1);
  const banner = page.locator("section[aria-labelledby=running-heading]");
  await expect(banner.getByRole("link", { name: "demo-slow" })).toBeVisible();
  await query(`DELETE FROM cron_job_leases WHERE job_name = 'demo-slow' AND run_id = $1`, [held.id]);
  await query(`UPDATE cron_job_logs SET status = 'completed', completed_at = now(), duration_ms = (extract(epoch FROM now() - started_at) * 1000)::int WHERE id = $1`, [held.id]);
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
