import { expect, request, test, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { sql } from "drizzle-orm";
import { newSession, PLAIN_COOKIE_NAME, sessionRowFor, signSession } from "@/lib/auth/admin-session";
import type { AdminRole } from "@/lib/cron/vocabulary";
import { openDatabase, queryRows, type Database } from "@/lib/db/client";
import { startSession } from "@/lib/db/commands/sessions";
import { hasPostgresServer, NEEDS_POSTGRES } from "../support/postgres-server";
import { expectAccessible, SCREENSHOTS, signedIn } from "./signed-in";

/**
 * Personal API tokens and roles in Chromium. As the admin: make a viewer token for "vera" on
 * /dashboard/admin/tokens, whose secret shows once (gone after a reload) and works as a viewer's
 * bearer (a read 200, a write 403), then revoke it there (the read is 401). As vera, a viewer
 * session (its row made here, as a sign-in through the identity provider will make it): the
 * overview, a job page and the dead-letter page show no write control and say "read only", the
 * header names her, the tokens page offers the viewer role only and no owner. As an operator:
 * Run now is back. Screenshots tokens-*.png; what it made is removed afterwards.
 */

// Makes session rows and a dead letter in the database the server uses.
test.skip(!hasPostgresServer(), NEEDS_POSTGRES);

const BASE = process.env.CRONDECK_E2E_BASE_URL!;
const ADMIN_TOKEN = process.env.CRONDECK_E2E_ADMIN_TOKEN!;
/** A job with every panel (input, snooze, backfill, overrides): lib/jobs/feature-jobs/input.ts. */
const JOB = "feature-report";
const TOKEN_NAME = "e2e tokens: read-only for vera";
/** Every write control's name on the pages a viewer reads; none may render for her. */
const WRITE_BUTTONS = /^(Run .*now|Run now|Run with this input|Pause|Pause all|Resume|Resume all|Recover|Replay|Replay .*|Replay with this input|Mark permanently failed|Save notes|Skip next run|Snooze.*|End snooze|Undo|Preview|Run backfill|Cancel backfill|Save .* override|Revert.*|Clear.*|Force clear.*|Replay them|Mark them failed|Resolve them)$/;

let database: Database;
let admin: { context: BrowserContext; page: Page };
const sessionIds: string[] = [];
const otherContexts: BrowserContext[] = [];
let deadLetterId: string;

test.beforeAll(async ({ browser }) => {
  database = await openDatabase({ kind: "postgres", url: process.env.CRONDECK_E2E_DATABASE_URL!, queryTimeoutMs: 30_000 });
  admin = await signedIn(browser);
  // Copy reads the clipboard back.
  await admin.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: new URL(BASE).origin });
  // A pending dead letter for the viewer to read (its run need not exist: the page links to it by id).
  [{ id: deadLetterId }] = await queryRows<{ id: string }>(
    database.db,
    sql`INSERT INTO cron_dead_letters (run_id, job_name, failure_reason, attempts) VALUES (gen_random_uuid(), ${JOB}, 'e2e tokens: failed for the viewer to read', 3) RETURNING id`,
  );
});

test.afterAll(async () => {
  for (const context of otherContexts) await context.close();
  await admin?.context.close();
  if (!database) return;
  const db = database.db;
  const tokens = await queryRows<{ id: string }>(db, sql`DELETE FROM cron_api_tokens WHERE owner = 'vera' OR name = ${TOKEN_NAME} RETURNING id::text AS id`);
  if (tokens.length) await db.execute(sql`DELETE FROM cron_audit_log WHERE action LIKE 'api_token.%' AND target IN ${sql.raw(`(${tokens.map((t) => `'${t.id}'`).join(", ")})`)}`);
  if (deadLetterId) await db.execute(sql`DELETE FROM cron_dead_letters WHERE id = ${deadLetterId}::uuid`);
  for (const id of sessionIds) {
    await db.execute(sql`DELETE FROM cron_audit_log WHERE session_id = ${id}`);
    await db.execute(sql`DELETE FROM cron_admin_sessions WHERE id = ${id}`);
  }
  await database.close();
});

/** A bearer request with no cookie, as a script would send it. */
async function asBearer(secret: string, method: "GET" | "POST", path: string) {
  const api = await request.newContext({ baseURL: BASE, extraHTTPHeaders: { authorization: `Bearer ${secret}` } });
  try {
    const response = method === "GET" ? await api.get(path) : await api.post(path, { data: {} });
    return { status: response.status(), body: (await response.json()) as Record<string, unknown> };
  } finally {
    await api.dispose();
  }
}

/**
 * A browser signed in as `actor` with `role`: the session row and its cookie made as the login
 * route makes them (startSession, sessionRowFor, signSession under the server's ADMIN_TOKEN).
 */
async function signedInAs(browser: Browser, actor: string, role: AdminRole): Promise<Page> {
  const cookie = newSession(Date.now());
  await startSession(database.db, { name: actor, via: "cookie", ip: null }, sessionRowFor(cookie, { actor, role }, ADMIN_TOKEN, { ip: null, userAgent: "playwright tokens.spec" }));
  sessionIds.push(cookie.sid);
  const context = await browser.newContext({ baseURL: BASE, viewport: { width: 1440, height: 900 }, locale: "en-US", timezoneId: "Europe/Paris" });
  otherContexts.push(context);
  await context.addCookies([{ name: PLAIN_COOKIE_NAME, value: signSession(cookie, ADMIN_TOKEN), url: BASE, httpOnly: true, sameSite: "Lax" }]);
  return context.newPage();
}

/** The names of every button in the page's main region. */
const buttonNames = (page: Page) => page.locator("main button").evaluateAll((buttons) => buttons.map((b) => (b.getAttribute("aria-label") ?? b.textContent ?? "").trim()));

test("the admin makes a viewer token for vera: its secret shows once and works as a viewer's, and once revoked in the page it is refused", async () => {
  const { page } = admin;
  await page.goto("/dashboard/admin/tokens");
  await expect(page.getByRole("heading", { level: 1, name: "API tokens" })).toBeVisible();
  await expect(page.getByRole("banner")).toContainText("Signed in as admin (admin)");
  await expect(page.getByRole("navigation", { name: "Dashboard" }).getByRole("link", { name: "API tokens" })).toHaveAttribute("aria-current", "page");

  const form = page.getByRole("form", { name: "New API token" });
  // An admin may give any role, to anyone.
  await expect(form.getByLabel("Role").locator("option")).toHaveText(["viewer", "operator", "admin"]);
  await form.getByLabel("Name").fill(TOKEN_NAME);
  await form.getByLabel("Role").selectOption("viewer");
  await form.getByLabel("Owner (blank: you)").fill("vera");
  await form.getByLabel("Expires in days (blank: never)").fill("7");
  await form.getByRole("button", { name: "Create token" }).click();

  const shown = page.getByTestId("new-token-secret");
  await expect(shown).toContainText("it is not shown again");
  await expect(shown.getByRole("heading")).toHaveText(`Token ${TOKEN_NAME} for vera (viewer)`);
  const secret = await shown.getByLabel(`Secret of ${TOKEN_NAME}`).inputValue();
  expect(secret).toMatch(/^cdk_[A-Za-z0-9_-]{43}$/);
  await shown.getByRole("button", { name: "Copy" }).click();
  await expect(shown).toContainText("Copied to the clipboard.");
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);

  // The list (re-rendered) has it by its prefix, never its secret.
  const row = page.locator("tr[data-token]").filter({ hasText: TOKEN_NAME });
  await expect(row).toHaveCount(1);
  await expect(row).toContainText("vera");
  await expect(row).toContainText("viewer");
  await expect(row).toContainText(`${secret.slice(0, 10)}…`);
  await expect(row).toContainText("by admin");
  await expect(row).not.toContainText(secret);
  await expectAccessible(page, "the tokens page with a new secret");
  await page.screenshot({ path: `${SCREENSHOTS}/tokens-created.png`, fullPage: true });

  // Once: a reload has no secret anywhere.
  await page.reload();
  await expect(page.locator("tr[data-token]").filter({ hasText: TOKEN_NAME })).toHaveCount(1);
  await expect(page.getByTestId("new-token-secret")).toHaveCount(0);
  expect(await page.content()).not.toContain(secret);

  // A viewer's bearer: reads, and is refused a write for its role.
  expect((await asBearer(secret, "GET", "/api/admin/locks")).status).toBe(200);
  const write = await asBearer(secret, "POST", `/api/admin/cron-jobs/${JOB}/pause`);
  expect(write.status).toBe(403);
  expect(write.body).toMatchObject({ code: "forbidden_role" });
  const [paused] = await queryRows<{ paused: boolean | null }>(database.db, sql`SELECT paused FROM cron_job_config WHERE job_name = ${JOB}`);
  expect(paused?.paused ?? false, "the refused pause changed nothing").toBe(false);

  // Revoked in the page: the same read is now 401.
  const live = page.locator("tr[data-token]").filter({ hasText: TOKEN_NAME });
  await live.getByRole("button", { name: `Revoke vera's token ${TOKEN_NAME}` }).click();
  await page.getByRole("group", { name: `Confirm: Revoke vera's token ${TOKEN_NAME}` }).getByRole("button", { name: "Revoke token" }).click();
  await expect(live).toContainText("revoked");
  await expect(live).toContainText("by admin");
  await expect(live.getByRole("button", { name: /^Revoke/ })).toHaveCount(0);
  expect((await asBearer(secret, "GET", "/api/admin/locks")).status).toBe(401);
});

test("a viewer (vera) sees the console without a write control, is told it is read only, and may make only viewer tokens for herself", async ({ browser }) => {
  const page = await signedInAs(browser, "vera", "viewer");

  await page.goto("/dashboard/admin/cron-jobs");
  const healthCheck = page.locator('tr[data-job="health-check"]');
  await expect(healthCheck).toBeVisible();
  await expect(page.getByRole("banner")).toContainText("Signed in as vera (viewer)");
  await expect(page.getByRole("note")).toHaveText(/^You are signed in as vera \(viewer\): read only\./);
  // The enabled state in words, no switch; no Run now, no Pause all / Resume all.
  await expect(healthCheck).toContainText(/health-check enabled: (On|Off)/);
  await expect(page.getByRole("switch")).toHaveCount(0);
  expect((await buttonNames(page)).filter((name) => WRITE_BUTTONS.test(name))).toEqual([]);
  await expect(page.getByRole("button", { name: "Run health-check now" })).toHaveCount(0);
  await expectAccessible(page, "the overview as a viewer");
  await page.screenshot({ path: `${SCREENSHOTS}/tokens-viewer-overview.png`, fullPage: true });

  await page.goto(`/dashboard/admin/cron-jobs/${JOB}`);
  await expect(page.getByRole("heading", { level: 1, name: JOB })).toBeVisible();
  await expect(page.getByRole("note")).toContainText("read only");
  // Its reading panels stay; the one that only writes (Run with input) is gone, the others have no form.
  await expect(page.getByRole("heading", { name: "Skip and snooze" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Run-time overrides" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Backfill" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Run with input" })).toHaveCount(0);
  await expect(page.getByRole("form", { name: `Backfill ${JOB}` })).toHaveCount(0);
  await expect(page.getByText("Snooze until...")).toHaveCount(0);
  await expect(page.getByRole("switch")).toHaveCount(0);
  // The only forms left are GET forms (the history's filter): none posts.
  await expect(page.locator('main form:not([method="get"])')).toHaveCount(0);
  expect((await buttonNames(page)).filter((name) => WRITE_BUTTONS.test(name))).toEqual([]);
  await expectAccessible(page, "a job page as a viewer");

  await page.goto("/dashboard/admin/dead-letters");
  const entry = page.locator(`li[data-dead-letter="${deadLetterId}"]`);
  await expect(entry).toContainText("e2e tokens: failed for the viewer to read");
  await expect(entry.getByRole("button")).toHaveCount(0);
  await expect(entry.getByText("Mark permanently failed…")).toHaveCount(0);
  await expect(entry.getByText("Notes, assignee and priority…")).toHaveCount(0);
  await expect(page.getByRole("heading", { name: /^Act on all/ })).toHaveCount(0);
  await expect(page.locator('main form:not([method="get"])')).toHaveCount(0);
  expect((await buttonNames(page)).filter((name) => WRITE_BUTTONS.test(name))).toEqual([]);
  await expect(page.getByRole("note")).toContainText("read only");

  await page.goto("/dashboard/admin/tokens");
  const form = page.getByRole("form", { name: "New API token" });
  await expect(form.getByLabel("Role").locator("option")).toHaveText(["viewer"]);
  await expect(form.getByLabel(/^Owner/)).toHaveCount(0);
  await expect(page.getByRole("heading", { name: /^Your tokens/ })).toBeVisible();
  // Her own tokens only: the one the admin made for her (revoked by the first test, when it ran) and nobody else's.
  for (const owner of await page.locator("tr[data-token] td:nth-child(2)").allTextContents()) expect(owner).toBe("vera");
  await expectAccessible(page, "the tokens page as a viewer");
  await page.screenshot({ path: `${SCREENSHOTS}/tokens-viewer.png`, fullPage: true });
});

test("an operator gets the write controls back, and tokens up to operator", async ({ browser }) => {
  const page = await signedInAs(browser, "otto", "operator");

  await page.goto("/dashboard/admin/cron-jobs");
  await expect(page.getByRole("banner")).toContainText("Signed in as otto (operator)");
  await expect(page.locator('tr[data-job="health-check"]').getByRole("button", { name: "Run health-check now" })).toBeVisible();
  await expect(page.getByRole("switch", { name: "Enable health-check" }).first()).toBeVisible();
  await expect(page.getByRole("button", { name: "Pause all" })).toBeVisible();
  await expect(page.getByRole("note")).toHaveCount(0);

  await page.goto(`/dashboard/admin/cron-jobs/${JOB}`);
  await expect(page.getByRole("button", { name: `Run ${JOB} now` })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Run with input" })).toBeVisible();
  await expect(page.getByRole("form", { name: `Backfill ${JOB}` })).toBeVisible();

  await page.goto("/dashboard/admin/dead-letters");
  await expect(page.locator(`li[data-dead-letter="${deadLetterId}"]`).getByRole("button", { name: /^Replay feature-report run/ })).toBeVisible();

  await page.goto("/dashboard/admin/tokens");
  const form = page.getByRole("form", { name: "New API token" });
  await expect(form.getByLabel("Role").locator("option")).toHaveText(["viewer", "operator"]);
  await expect(form.getByLabel(/^Owner/)).toHaveCount(0);
  await page.screenshot({ path: `${SCREENSHOTS}/tokens-operator.png`, fullPage: true });
});
