import { mkdirSync } from "node:fs";
import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Browser, type BrowserContext, type Page, type TestInfo } from "@playwright/test";
import pg from "pg";
import { startNextServer } from "../support/next-server";
import { hasPostgresServer, NEEDS_POSTGRES } from "../support/postgres-server";

/**
 * The dashboard in Chromium against `next build && next start` on the Postgres server, as
 * one admin clicking through: log in, see and filter the jobs, toggle one, run one and watch
 * its run finish, read its chart, replay a dead letter, clear a stale lock, read the audit
 * log, check the phone and dark layouts, log out. Every page gets an axe check and a
 * screenshot (test-results/screenshots/).
 */

const BASE = process.env.CRONDECK_E2E_BASE_URL!;
const ADMIN_TOKEN = process.env.CRONDECK_E2E_ADMIN_TOKEN!;
const CRON_SECRET = process.env.CRONDECK_E2E_CRON_SECRET!;
const SCREENSHOTS = "test-results/screenshots";
const BEARER = { authorization: `Bearer ${ADMIN_TOKEN}` };

// Reads and writes the database the server uses, and starts a second server on it.
test.skip(!hasPostgresServer(), NEEDS_POSTGRES);

let pool: pg.Pool;
let context: BrowserContext;
let page: Page;

async function newContext(browser: Browser, options: Parameters<Browser["newContext"]>[0] = {}) {
  return browser.newContext({ baseURL: BASE, viewport: { width: 1440, height: 900 }, locale: "en-US", timezoneId: "Europe/Paris", ...options });
}

test.beforeAll(async ({ browser }) => {
  expect(BASE, "the global setup sets CRONDECK_E2E_BASE_URL").toBeTruthy();
  mkdirSync(SCREENSHOTS, { recursive: true });
  pool = new pg.Pool({ connectionString: process.env.CRONDECK_E2E_DATABASE_URL, max: 2 });
  context = await newContext(browser);
  // Signed in through the API, so every test starts from a session even after an earlier one
  // failed (the first test goes through the login page in a context of its own).
  const login = await context.request.post("/api/admin/session", { headers: { origin: new URL(BASE).origin }, data: { token: ADMIN_TOKEN } });
  expect(login.status(), await login.text()).toBe(200);
  page = await context.newPage();
});

test.afterAll(async () => {
  await context?.close();
  await pool?.end();
});

/** No serious or critical axe violations on the page as it is now. */
async function expectAccessible(target: Page, name: string) {
  const results = await new AxeBuilder({ page: target }).analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const summary = bad.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ")}`);
  expect(summary, `axe on ${name}`).toEqual([]);
}

async function screenshot(target: Page, name: string, testInfo: TestInfo) {
  const path = `${SCREENSHOTS}/${name}.png`;
  await target.screenshot({ path, fullPage: true });
  await testInfo.attach(name, { path, contentType: "image/png" });
}

const query = async <T extends Record<string, unknown>>(text: string, values: unknown[] = []) => (await pool.query(text, values)).rows as T[];

/** The jobs the server runs, as its API lists them: the built-in and demo jobs and any of the user's own. */
async function registryJobNames(): Promise<string[]> {
  const reply = await context.request.get("/api/admin/cron-jobs", { headers: BEARER });
  expect(reply.status()).toBe(200);
  return ((await reply.json()) as { jobs: { name: string }[] }).jobs.map((j) => j.name);
}

/** The desktop table's row for a job (the phone cards are hidden at this width). */
const jobRow = (name: string) => page.locator(`tr[data-job="${name}"]`);

test("a page without a session redirects to the login page, which refuses a wrong token and logs in with the right one", async ({ browser }, testInfo) => {
  const context = await newContext(browser);
  const page = await context.newPage();
  await page.goto("/dashboard/admin/cron-jobs/demo-slow?days=1");
  await expect(page).toHaveURL(/\/dashboard\/admin\/login\?next=/);
  await expect(page.getByRole("heading", { name: "Crondeck admin" })).toBeVisible();
  await expectAccessible(page, "login");
  await screenshot(page, "login", testInfo);

  await page.getByLabel("Admin token").fill("not-the-admin-token");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.locator("#login-error")).toContainText("not the admin token");
  await expectAccessible(page, "login with an error");

  await page.goto("/dashboard/admin/login");
  await page.getByLabel("Admin token").fill(ADMIN_TOKEN);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/dashboard\/admin\/cron-jobs$/);
  await expect(page.getByRole("heading", { name: "Cron jobs", level: 1 })).toBeVisible();
  const cookies = await context.cookies();
  expect(cookies.find((c) => c.name === "crondeck_session")).toMatchObject({ httpOnly: true, sameSite: "Lax" });
  await context.close();
});

test("with ADMIN_TOKEN unset, the admin area is closed and the login page says how to set it", async ({ browser }, testInfo) => {
  const closed = await startNextServer({
    env: { ADMIN_TOKEN: undefined, DATABASE_URL: process.env.CRONDECK_E2E_DATABASE_URL, CRON_SECRET, CRON_DEMO: "1", SENTRY_DSN: undefined, UPSTASH_REDIS_REST_URL: undefined, UPSTASH_REDIS_REST_TOKEN: undefined },
  });
  const other = await newContext(browser, { baseURL: closed.url.replace("//127.0.0.1:", "//localhost:") });
  try {
    const p = await other.newPage();
    await p.goto("/dashboard/admin/cron-jobs");
    await expect(p).toHaveURL(/\/dashboard\/admin\/login$/);
    await expect(p.getByRole("heading", { name: "The admin area is closed: ADMIN_TOKEN is not set" })).toBeVisible();
    await expect(p.getByText("npm run dev", { exact: true })).toBeVisible();
    await expect(p.getByLabel("Admin token")).toHaveCount(0);
    await expectAccessible(p, "login, not configured");
    await screenshot(p, "login-not-configured", testInfo);
    const api = await p.request.get("/api/admin/cron-jobs");
    expect(api.status()).toBe(503);
  } finally {
    await other.close();
    await closed.stop();
  }
});

test("without JavaScript, the redirect to the login form and the login itself work, back to the page asked for", async ({ browser }) => {
  const noJs = await newContext(browser, { javaScriptEnabled: false });
  try {
    const p = await noJs.newPage();
    await p.goto("/dashboard/admin/locks");
    await expect(p).toHaveURL(/\/dashboard\/admin\/login\?next=%2Fdashboard%2Fadmin%2Flocks/);
    await p.getByLabel("Admin token").fill(ADMIN_TOKEN);
    await p.getByRole("button", { name: "Log in" }).click();
    await expect(p).toHaveURL(/\/dashboard\/admin\/locks$/);
    // The page rendered for the new session (its content streams in behind the loading
    // state, which needs JavaScript to swap in: the login itself does not).
    await expect(p.locator("h1", { hasText: "Locks" })).toHaveCount(1);
  } finally {
    await noJs.close();
  }
});

test("the overview lists every job with its schedule in words, and filters by category and search in the URL", async ({}, testInfo) => {
  const all = await registryJobNames();
  await page.goto("/dashboard/admin/cron-jobs");
  for (const name of ["health-check", "cleanup-old-logs", "demo-pulse", "demo-flaky", "demo-slow", "demo-stubborn"]) {
    await expect(jobRow(name)).toBeVisible();
  }
  await expect(jobRow("health-check")).toContainText("*/5 * * * *");
  await expect(jobRow("health-check")).toContainText("Every 5 minutes (UTC)");
  await expect(jobRow("health-check")).toContainText("monitoring");
  await expect(jobRow("health-check")).toContainText("never");
  const summary = page.getByRole("region", { name: "Summary" });
  await expect(summary).toContainText(`Jobs${all.length}`);
  await expect(page.getByRole("heading", { name: "Nothing is running right now" })).toBeVisible();

  // Category filter: a GET form, so the URL carries it and the server filters.
  await page.getByLabel("Category").selectOption("monitoring");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page).toHaveURL(/category=monitoring/);
  await expect(jobRow("health-check")).toBeVisible();
  for (const other of ["cleanup-old-logs", "demo-pulse", "demo-stubborn"]) await expect(jobRow(other)).toHaveCount(0);

  await page.goto("/dashboard/admin/cron-jobs?q=stubborn");
  await expect(jobRow("demo-stubborn")).toBeVisible();
  for (const other of ["health-check", "cleanup-old-logs", "demo-slow"]) await expect(jobRow(other)).toHaveCount(0);
  await expect(page.getByLabel("Search")).toHaveValue("stubborn");

  await page.goto("/dashboard/admin/cron-jobs?q=no-such-job");
  await expect(page.getByText("No job matches these filters")).toBeVisible();
  await page.getByRole("link", { name: "Clear the filters" }).click();
  await expect(page).toHaveURL(/\/dashboard\/admin\/cron-jobs$/);
  await expect(page.locator("tr[data-job]")).toHaveCount(all.length);
  await expectAccessible(page, "overview");
  await screenshot(page, "overview", testInfo);
});

test("toggling a job off shows it disabled, in the page, the API and the database", async () => {
  await page.goto("/dashboard/admin/cron-jobs");
  const toggle = jobRow("demo-pulse").getByRole("switch", { name: "Enable demo-pulse" });
  await expect(toggle).toHaveAttribute("aria-checked", "true");
  await toggle.click();
  await expect(toggle).toHaveAttribute("aria-checked", "false");
  await expect(jobRow("demo-pulse")).toContainText("disabled");

  const api = await page.request.get("/api/admin/cron-jobs", { headers: BEARER });
  expect(api.status()).toBe(200);
  const body = await api.json();
  expect(body.jobs.find((j: { name: string }) => j.name === "demo-pulse")).toMatchObject({ enabled: false, state: "disabled" });
  // Every listed job but the one turned off is enabled (whatever jobs the registry holds).
  expect(body.summary).toMatchObject({ totalJobs: body.jobs.length, enabledJobs: body.jobs.length - 1, disabledJobs: 1 });
  expect(await query("SELECT enabled, last_modified_by FROM cron_job_config WHERE job_name = 'demo-pulse'")).toEqual([{ enabled: false, last_modified_by: "admin" }]);

  // Survives a reload: the state comes from the database, not from the button.
  await page.reload();
  await expect(jobRow("demo-pulse").getByRole("switch", { name: "Enable demo-pulse" })).toHaveAttribute("aria-checked", "false");
  await expect(page.getByRole("region", { name: "Summary" })).toContainText("Disabled1");
});

test("Run now: the run shows in the running banner, then its detail page follows it to completed", async ({}, testInfo) => {
  await page.goto("/dashboard/admin/cron-jobs");
  await jobRow("demo-slow").getByRole("button", { name: "Run demo-slow now" }).click();
  const started = jobRow("demo-slow").getByRole("status");
  // The button follows the run to its first status: it started (not just "will start").
  await expect(started).toContainText("demo-slow started.");
  const runHref = await started.getByRole("link", { name: "View run" }).getAttribute("href");

  // While it runs (4.2 s), both at once: the banner picks the run up (its next poll), and a
  // second click, a new ask (a new Idempotency-Key), says it did not start, and why. One after
  // the other, the second click could come after the run ended, when the banner's poll is late.
  const banner = page.getByRole("list", { name: "Running jobs" });
  await Promise.all([
    expect(banner.getByRole("link", { name: "demo-slow" })).toBeVisible(),
    (async () => {
      await jobRow("demo-slow").getByRole("button", { name: "Run demo-slow now" }).click();
      await expect(started).toContainText("demo-slow did not start: a run of this job is still holding its lease (skipped: already running).");
    })(),
  ]);
  await screenshot(page, "overview-running", testInfo);
  await expect(started.getByRole("link", { name: "See what runs" })).toHaveAttribute("href", "/dashboard/admin/cron-jobs/demo-slow");
  const asked = await query<{ key: string | null }>("SELECT detail ->> 'idempotencyKey' AS key FROM cron_audit_log WHERE action = 'job.run' AND target = 'demo-slow' ORDER BY created_at DESC LIMIT 2");
  expect(asked).toHaveLength(2);
  expect(asked[0].key).toMatch(/^[0-9a-f-]{36}$/);
  expect(asked[1].key).toMatch(/^[0-9a-f-]{36}$/);
  expect(asked[0].key).not.toBe(asked[1].key);

  await page.goto(runHref!);
  await expect(page).toHaveURL(/\/dashboard\/admin\/cron-jobs\/demo-slow\?run=[0-9a-f-]{36}$/);
  const runId = new URL(page.url()).searchParams.get("run")!;
  const detail = page.getByRole("region", { name: /^Run / });
  await expect(detail).toBeVisible();
  // Running, then (the page refreshes itself while the run is live) completed.
  await expect(detail.getByText("completed", { exact: true })).toBeVisible({ timeout: 20_000 });
  await expect(detail).toContainText("manual by admin");
  await expect(detail.getByRole("list", { name: "Log lines" })).toContainText(/found \d+ primes/);
  await expect(detail.getByRole("region", { name: "Attempts (scrolls sideways)" })).toContainText("succeeded");
  await expect(page.locator(`tr[data-run="${runId}"]`)).toContainText("completed");

  const [row] = await query<{ status: string; trigger: string; actor: string }>("SELECT status, trigger, actor FROM cron_job_logs WHERE id = $1", [runId]);
  expect(row).toEqual({ status: "completed", trigger: "manual", actor: "admin" });

  // Back on the overview, the job's last run is this one.
  await page.goto("/dashboard/admin/cron-jobs");
  await expect(jobRow("demo-slow")).toContainText("completed");
  await expect(jobRow("demo-slow")).toContainText("100%");
});

test("the job page draws the timeline chart with bars, from the runs in the database", async ({}, testInfo) => {
  await page.goto("/dashboard/admin/cron-jobs/demo-slow");
  const chart = page.getByTestId("timeline-chart");
  await expect(chart.locator("svg.recharts-surface").first()).toBeVisible();
  await expect(chart.locator(".recharts-bar-rectangle path, path.recharts-rectangle").first()).toBeVisible();
  await expect(page.getByRole("region", { name: "Last 7 days" })).toContainText("Runs1finished");

  // The hourly view of the last day, and the same figures as a table.
  await page.getByRole("link", { name: "24 h" }).click();
  await expect(page).toHaveURL(/days=1/);
  await expect(page.getByRole("heading", { name: "Runs per hour" })).toBeVisible();
  await expect(chart.locator(".recharts-bar-rectangle path, path.recharts-rectangle").first()).toBeVisible();
  await page.getByText("The same figures as a table").click();
  await expect(page.getByRole("region", { name: "Runs per bucket (scrolls sideways)" }).locator("tbody tr")).toHaveCount(1);
  await expectAccessible(page, "job page");
  await screenshot(page, "job-page", testInfo);

  // A run's detail opens from the recent runs list (?run=<id>), as alert links do.
  const [run] = await query<{ id: string }>("SELECT id FROM cron_job_logs WHERE job_name = 'demo-slow' ORDER BY started_at DESC LIMIT 1");
  await page.getByRole("link", { name: `Details of run ${run.id.slice(0, 8)}` }).click();
  await expect(page).toHaveURL(new RegExp(`run=${run.id}`));
  await expect(page.getByRole("region", { name: /^Run / })).toContainText(run.id);
  await expectAccessible(page, "run detail");
  await screenshot(page, "run-detail", testInfo);
});

test("a run that times out becomes a dead letter; the dashboard replays it and keeps notes", async ({}, testInfo) => {
  // A scheduler's trigger through the cron API: demo-stubborn times out at 1 s.
  const trigger = await page.request.get("/api/cron/execute/demo-stubborn", { headers: { authorization: `Bearer ${CRON_SECRET}` } });
  expect(trigger.status(), await trigger.text()).toBeLessThan(600);
  const [entry] = await query<{ id: string; run_id: string }>("SELECT id, run_id FROM cron_dead_letters WHERE job_name = 'demo-stubborn'");
  expect(entry, "a dead-letter entry for demo-stubborn").toBeTruthy();
  // Its handler keeps the lease until it really stops (1.2 s): replay after that, or the replay would be a skip.
  await expect.poll(async () => (await query("SELECT 1 FROM cron_job_leases WHERE job_name = 'demo-stubborn'")).length, { timeout: 10_000 }).toBe(0);

  await page.goto("/dashboard/admin/dead-letters");
  const card = page.locator(`li[data-dead-letter="${entry.id}"]`);
  await expect(card).toContainText("demo-stubborn");
  await expect(card).toContainText("pending");
  await expect(card).toContainText("replayed 0 of 3 times");
  await expectAccessible(page, "dead letters");
  await screenshot(page, "dead-letters", testInfo);

  await card.getByRole("button", { name: /^Replay demo-stubborn run/ }).click();
  await card.getByRole("button", { name: "Replay now" }).click();
  await expect(card.getByRole("status").first()).toContainText(`Replaying run ${entry.run_id}`);
  await expect.poll(async () => (await query("SELECT replay_count FROM cron_dead_letters WHERE id = $1", [entry.id]))[0].replay_count).toBe(1);
  await expect
    .poll(async () => (await query<{ status: string }>("SELECT status FROM cron_job_logs WHERE replay_of = $1 AND trigger = 'replay'", [entry.run_id])).map((r) => r.status), { timeout: 15_000 })
    .toEqual(["timed_out"]);
  await page.reload();
  await expect(page.locator(`li[data-dead-letter="${entry.id}"]`)).toContainText("replayed 1 of 3 times");

  // Notes, assignee and priority.
  const reloaded = page.locator(`li[data-dead-letter="${entry.id}"]`);
  await reloaded.getByText("Notes, assignee and priority…").click();
  await reloaded.getByLabel("Notes").fill("Stubborn ignores its signal; see demo-stubborn.ts");
  await reloaded.getByLabel("Assigned to").fill("ops-oncall");
  await reloaded.getByLabel("Priority").selectOption("high");
  await reloaded.getByRole("button", { name: "Save notes" }).click();
  await expect(reloaded.getByText("Saved.")).toBeVisible();
  expect(await query("SELECT notes, assigned_to, priority FROM cron_dead_letters WHERE id = $1", [entry.id])).toEqual([
    { notes: "Stubborn ignores its signal; see demo-stubborn.ts", assigned_to: "ops-oncall", priority: "high" },
  ]);
  await expect(page.locator(`li[data-dead-letter="${entry.id}"]`)).toContainText("high priority");

  // Settle it for good.
  const settled = page.locator(`li[data-dead-letter="${entry.id}"]`);
  await settled.getByText("Mark permanently failed…").click();
  await settled.getByLabel("Reason (required)").fill("Demo job: it always times out");
  await settled.getByRole("button", { name: "Mark permanently failed", exact: true }).click();
  await expect.poll(async () => (await query("SELECT recovery_status FROM cron_dead_letters WHERE id = $1", [entry.id]))[0].recovery_status).toBe("permanently_failed");
  await page.goto("/dashboard/admin/dead-letters?status=permanently_failed");
  await expect(page.locator(`li[data-dead-letter="${entry.id}"]`)).toContainText("permanently failed");
});

test("a stale lease shows as STALE in the banner and on the locks page, and clears after a confirmation", async ({}, testInfo) => {
  // A run whose process died: its lease expired five minutes ago and nobody swept it yet.
  const [{ id: runId }] = await query<{ id: string }>(
    `INSERT INTO cron_job_logs (job_name, status, started_at, trigger, holder, fencing_token, lease_expires_at)
     VALUES ('cleanup-old-logs', 'started', now() - interval '10 minutes', 'schedule', 'e2e-dead-host:4242', 1, now() - interval '5 minutes')
     RETURNING id`,
  );
  await pool.query(
    `INSERT INTO cron_job_leases (job_name, run_id, fencing_token, holder, acquired_at, expires_at)
     VALUES ('cleanup-old-logs', $1, 1, 'e2e-dead-host:4242', now() - interval '10 minutes', now() - interval '5 minutes')`,
    [runId],
  );

  await page.goto("/dashboard/admin/cron-jobs");
  // Stale, never "running": listed apart, with its holder; the job's row says so too.
  const banner = page.getByRole("list", { name: "Stale runs" });
  await expect(banner).toContainText("cleanup-old-logs");
  await expect(banner).toContainText("STALE");
  await expect(banner).toContainText("held by e2e-dead-host:4242");
  await expect(banner).toContainText(/expired \d+ min/);
  await expect(page.getByRole("list", { name: "Running jobs" }).getByText("cleanup-old-logs")).toHaveCount(0);
  await expect(jobRow("cleanup-old-logs")).toContainText("stale run");

  await page.getByRole("navigation", { name: "Dashboard" }).getByRole("link", { name: "Locks" }).click();
  await expect(page).toHaveURL(/\/dashboard\/admin\/locks$/);
  const row = page.locator('tr[data-lock="cleanup-old-logs"]');
  await expect(row).toContainText("STALE");
  await expect(row).toContainText("e2e-dead-host:4242");
  await expect(row).toContainText(/expired \d+ min/);
  await expectAccessible(page, "locks");
  await screenshot(page, "locks", testInfo);

  // Cancel first: nothing happens.
  await row.getByRole("button", { name: "Clear cleanup-old-logs's stale lease" }).click();
  await row.getByRole("button", { name: "Cancel" }).click();
  expect(await query("SELECT 1 FROM cron_job_leases WHERE job_name = 'cleanup-old-logs'")).toHaveLength(1);

  await row.getByRole("button", { name: "Clear cleanup-old-logs's stale lease" }).click();
  await row.getByRole("button", { name: "Clear lease" }).click();
  await expect(page.getByText("No job holds a lease")).toBeVisible();
  expect(await query("SELECT 1 FROM cron_job_leases WHERE job_name = 'cleanup-old-logs'")).toHaveLength(0);
  const [run] = await query<{ status: string; error_message: string }>("SELECT status, error_message FROM cron_job_logs WHERE id = $1", [runId]);
  expect(run.status).toBe("abandoned");
  expect(run.error_message).toMatch(/^cleared by admin/);
});

test("the audit log shows who did what, to what, from where", async ({}, testInfo) => {
  await page.getByRole("navigation", { name: "Dashboard" }).getByRole("link", { name: "Audit log" }).click();
  await expect(page).toHaveURL(/\/dashboard\/admin\/audit$/);
  for (const action of ["session.login", "job.disable", "job.run", "dead_letter.retry", "dead_letter.notes", "dead_letter.mark_failed", "lock.clear"]) {
    await expect(page.locator(`tr[data-audit="${action}"]`).first()).toBeVisible();
  }
  await expect(page.locator('tr[data-audit="job.disable"]').first()).toContainText("demo-pulse");
  // Which session acted: the login and the disable carry the same session's id (its first characters shown).
  const [disable] = await query<{ session_id: string | null }>("SELECT session_id FROM cron_audit_log WHERE action = 'job.disable' ORDER BY created_at DESC LIMIT 1");
  expect(disable.session_id).toMatch(/^[A-Za-z0-9_-]{20,}$/);
  expect(await query("SELECT 1 FROM cron_audit_log WHERE action = 'session.login' AND session_id = $1", [disable.session_id])).toHaveLength(1);
  await expect(page.locator('tr[data-audit="job.disable"]').first()).toContainText(disable.session_id!.slice(0, 8));
  await expectAccessible(page, "audit");
  await screenshot(page, "audit", testInfo);

  await page.getByLabel("Action").selectOption("lock.clear");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/action=lock.clear/);
  await expect(page.locator("tr[data-audit]")).toHaveCount(1);
  await expect(page.locator('tr[data-audit="lock.clear"]')).toContainText("cleanup-old-logs");
});

test("on a phone the jobs become cards; dark mode follows the system", async ({}, testInfo) => {
  await page.goto("/dashboard/admin/cron-jobs");
  const frame = () => page.evaluate(() => getComputedStyle(document.querySelector("main")!.parentElement!).backgroundColor);
  const lightBackground = await frame();
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto("/dashboard/admin/cron-jobs");
  const cards = page.getByRole("list", { name: "Jobs" });
  await expect(cards.locator("li[data-job]")).toHaveCount((await registryJobNames()).length);
  await expect(page.locator("table").first()).toBeHidden();
  await expect(cards.getByRole("switch", { name: "Enable health-check" })).toBeVisible();
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(width, "no sideways scrolling of the whole page").toBeLessThanOrEqual(390);
  await expectAccessible(page, "overview on a phone");
  await screenshot(page, "overview-phone", testInfo);
  await page.screenshot({ path: `${SCREENSHOTS}/overview-phone-viewport.png` });

  await page.emulateMedia({ colorScheme: "dark" });
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto("/dashboard/admin/cron-jobs/demo-slow?days=1");
  await expect(page.getByTestId("timeline-chart").locator("svg.recharts-surface").first()).toBeVisible();
  expect(await page.evaluate(() => matchMedia("(prefers-color-scheme: dark)").matches)).toBe(true);
  expect(await frame(), "the dark: variants apply").not.toBe(lightBackground);
  await expectAccessible(page, "job page, dark");
  await screenshot(page, "job-page-dark", testInfo);
  await page.goto("/dashboard/admin/cron-jobs");
  await expectAccessible(page, "overview, dark");
  await screenshot(page, "overview-dark", testInfo);
  await page.emulateMedia({ colorScheme: "light" });
});

test("keyboard: the skip link and the controls are reachable with Tab", async () => {
  await page.goto("/dashboard/admin/cron-jobs");
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: "Skip to content" })).toBeFocused();
  await page.keyboard.press("Enter");
  // From the main region, Tab walks through real controls only.
  for (let i = 0; i < 3; i++) await page.keyboard.press("Tab");
  const tag = await page.evaluate(() => document.activeElement?.tagName);
  expect(["BUTTON", "A", "INPUT", "SELECT"]).toContain(tag);
});

test("log out ends the session: the dashboard sends you back to the login page", async ({}, testInfo) => {
  await page.goto("/dashboard/admin/cron-jobs");
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/dashboard\/admin\/login\?loggedOut=1$/);
  await expect(page.getByText("You are logged out.")).toBeVisible();
  expect((await context.cookies()).find((c) => c.name === "crondeck_session")).toBeUndefined();
  await screenshot(page, "logged-out", testInfo);

  await page.goto("/dashboard/admin/dead-letters");
  await expect(page).toHaveURL(/\/dashboard\/admin\/login\?next=%2Fdashboard%2Fadmin%2Fdead-letters$/);
  const api = await page.request.get("/api/admin/cron-jobs");
  expect(api.status()).toBe(401);
  expect(await query("SELECT count(*)::int AS n FROM cron_audit_log WHERE action = 'session.logout'")).toEqual([{ n: 1 }]);
});
