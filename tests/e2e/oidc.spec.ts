import { randomBytes } from "node:crypto";
import { expect, test, type Browser, type Page } from "@playwright/test";
import pg from "pg";
import { createAppDatabase, type AppDatabase } from "../support/db";
import { freePort, startNextServer, type NextServer } from "../support/next-server";
import { startOidcProvider, type TestOidcProvider } from "../support/oidc-provider";
import { hasPostgresServer, NEEDS_POSTGRES } from "../support/postgres-server";
import { SCREENSHOTS } from "./signed-in";

/**
 * Sign-in through an identity provider in Chromium: a real OpenID Connect provider
 * (oidc-provider, tests/support/oidc-provider.ts) and a `next start` of its own configured for
 * it. A person signs in on the provider's form and lands in the dashboard as themselves, with the
 * role the configuration (OIDC_ADMINS, OIDC_VIEWERS) or the provider's `roles` claim gives them;
 * the audit log names the person and the session; a viewer's write is refused (403) while reads
 * answer; a person with no role is turned back with the reason; ADMIN_TOKEN still logs in.
 */

test.skip(!hasPostgresServer(), NEEDS_POSTGRES);

const ADMIN_TOKEN = randomBytes(24).toString("hex");
let provider: TestOidcProvider;
let server: NextServer;
let database: AppDatabase;
let pool: pg.Pool;
let base = "";

test.beforeAll(async () => {
  test.setTimeout(120_000);
  const port = await freePort();
  base = `http://localhost:${port}`;
  provider = await startOidcProvider(`${base}/api/admin/oidc/callback`);
  provider.accounts.set("alice", { email: "Alice@Example.com", name: "Alice Admin" });
  provider.accounts.set("vera", { email: "vera@example.com" });
  provider.accounts.set("otto", { email: "otto@example.com", roles: ["operator"] });
  provider.accounts.set("nora", { email: "nora@example.com", roles: ["not-a-role"] });
  database = await createAppDatabase();
  pool = new pg.Pool({ connectionString: (database.env as { DATABASE_URL: string }).DATABASE_URL, max: 2 });
  server = await startNextServer({
    port,
    env: {
      ...database.env,
      ADMIN_TOKEN,
      CRON_SECRET: randomBytes(24).toString("hex"),
      CRON_DEMO: "1",
      NEXT_PUBLIC_APP_URL: base,
      OIDC_ISSUER: provider.issuer,
      OIDC_CLIENT_ID: provider.clientId,
      OIDC_CLIENT_SECRET: provider.clientSecret,
      OIDC_SCOPES: "openid email profile roles",
      OIDC_NAME: "Example SSO",
      OIDC_ADMINS: "alice@example.com",
      OIDC_VIEWERS: "vera@example.com",
    },
  });
});

test.afterAll(async () => {
  await server?.stop();
  await provider?.stop();
  await pool?.end();
  await database?.dispose();
});

/** Signs in through the provider's form as `login`, in a fresh browser context; the page where it lands. */
async function signIn(browser: Browser, login: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: base, timezoneId: "Europe/Paris" });
  const page = await context.newPage();
  await page.goto("/dashboard/admin/cron-jobs");
  await expect(page).toHaveURL(/\/dashboard\/admin\/login/);
  await page.getByRole("link", { name: "Sign in with Example SSO" }).click();
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill("any password");
  await page.getByRole("button", { name: "Sign-in" }).click();
  await page.getByRole("button", { name: "Continue" }).click();
  return page;
}

/** A write from the page itself (the browser sends its Origin and the session cookie). */
const pause = (page: Page, job: string) =>
  page.evaluate(async (name) => {
    const r = await fetch(`/api/admin/cron-jobs/${name}/pause`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    return { status: r.status, body: await r.json() };
  }, job);

test("a person signs in through the provider and acts as themselves; the audit log names them", async ({ browser }) => {
  const page = await signIn(browser, "otto");
  await expect(page).toHaveURL(/\/dashboard\/admin\/cron-jobs$/);
  await expect(page.getByRole("heading", { name: "Jobs", exact: true })).toBeVisible();
  await page.screenshot({ path: `${SCREENSHOTS}/oidc-operator.png`, fullPage: true });
  const paused = await pause(page, "demo-pulse");
  expect(paused.status, JSON.stringify(paused.body)).toBe(200);
  const { rows } = await pool.query(
    `SELECT a.actor, a.action, a.session_id, s.actor AS session_actor, s.role
       FROM cron_audit_log a JOIN cron_admin_sessions s ON s.id = a.session_id
      WHERE a.actor = 'otto@example.com' ORDER BY a.id`,
  );
  expect(rows.map((r) => r.action)).toEqual(["session.login", "job.pause"]);
  expect(rows.every((r) => r.session_actor === "otto@example.com" && r.role === "operator")).toBe(true);
  expect(new Set(rows.map((r) => r.session_id)).size).toBe(1);
  const [login] = (await pool.query(`SELECT detail FROM cron_audit_log WHERE action = 'session.login' AND actor = 'otto@example.com'`)).rows;
  expect(login.detail).toMatchObject({ method: "oidc", role: "operator", subject: "otto", via: "cookie" });
  await page.context().close();
});

test("roles come from the configuration or the claim: a viewer reads and cannot write, an admin can", async ({ browser }) => {
  const viewer = await signIn(browser, "vera");
  await expect(viewer).toHaveURL(/\/dashboard\/admin\/cron-jobs$/);
  const refused = await pause(viewer, "demo-pulse");
  expect(refused).toMatchObject({ status: 403, body: { code: "forbidden_role" } });
  expect(JSON.stringify(refused.body)).toContain("vera@example.com is a viewer");
  const read = await viewer.evaluate(async () => (await fetch("/api/admin/locks")).status);
  expect(read).toBe(200);
  await viewer.screenshot({ path: `${SCREENSHOTS}/oidc-viewer.png`, fullPage: true });
  await viewer.context().close();

  // OIDC_ADMINS matches the e-mail whatever its case at the provider.
  const admin = await signIn(browser, "alice");
  const made = await admin.evaluate(async () => {
    const r = await fetch("/api/admin/tokens", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "for vera's script", owner: "vera@example.com", role: "viewer" }) });
    return r.status;
  });
  expect(made).toBe(201);
  await admin.context().close();
  const [session] = (await pool.query(`SELECT role FROM cron_admin_sessions WHERE actor = 'alice@example.com'`)).rows;
  expect(session.role).toBe("admin");
});

test("a person with no role is turned back with the reason; the admin token still logs in", async ({ browser }) => {
  const page = await signIn(browser, "nora");
  await expect(page).toHaveURL(/\/dashboard\/admin\/login\?error=oidc_no_role$/);
  await expect(page.locator("#login-error")).toContainText("you have no role here");
  expect((await pool.query(`SELECT count(*)::int AS n FROM cron_admin_sessions WHERE actor = 'nora@example.com'`)).rows[0].n).toBe(0);

  await page.getByLabel("Admin token").fill(ADMIN_TOKEN);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/dashboard\/admin\/cron-jobs$/);
  await page.context().close();
});

test("a callback without the sign-in's cookie, or with a forged state, signs nobody in", async ({ browser }) => {
  const context = await browser.newContext({ baseURL: base });
  const page = await context.newPage();
  await page.goto("/api/admin/oidc/callback?code=stolen&state=forged");
  await expect(page).toHaveURL(/\/dashboard\/admin\/login\?error=oidc_expired$/);
  await expect(page.locator("#login-error")).toContainText("Sign in again");
  // With the cookie of a sign-in under way, a state that is not its own is refused.
  await page.goto("/api/admin/oidc/login");
  await expect(page.locator('input[name="login"]')).toBeVisible();
  await page.goto("/api/admin/oidc/callback?code=stolen&state=forged");
  await expect(page).toHaveURL(/\/dashboard\/admin\/login\?error=oidc_failed$/);
  await page.goto("/dashboard/admin/cron-jobs");
  await expect(page).toHaveURL(/\/dashboard\/admin\/login/);
  await context.close();
});
