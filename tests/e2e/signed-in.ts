import { mkdirSync } from "node:fs";
import AxeBuilder from "@axe-core/playwright";
import { expect, type Browser, type BrowserContext, type Page } from "@playwright/test";

/** Where the specs' screenshots go. */
export const SCREENSHOTS = "test-results/screenshots";

/**
 * A browser context signed in to the e2e server with the admin token (the login API, as the
 * login form posts it), a desktop viewport, en-US, in `timezoneId` (default Europe/Paris), and
 * a page in it.
 */
export async function signedIn(browser: Browser, timezoneId = "Europe/Paris"): Promise<{ context: BrowserContext; page: Page }> {
  const base = process.env.CRONDECK_E2E_BASE_URL;
  expect(base, "the global setup sets CRONDECK_E2E_BASE_URL").toBeTruthy();
  mkdirSync(SCREENSHOTS, { recursive: true });
  const context = await browser.newContext({ baseURL: base, viewport: { width: 1440, height: 900 }, locale: "en-US", timezoneId });
  const login = await context.request.post("/api/admin/session", { headers: { origin: new URL(base!).origin }, data: { token: process.env.CRONDECK_E2E_ADMIN_TOKEN } });
  expect(login.status(), await login.text()).toBe(200);
  return { context, page: await context.newPage() };
}

/** No serious or critical axe violation on the page (or inside `selector`). */
export async function expectAccessible(page: Page, name: string, selector?: string): Promise<void> {
  const builder = new AxeBuilder({ page });
  const results = await (selector ? builder.include(selector) : builder).analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.map((v) => `${v.id}: ${v.help}`), `axe on ${name}`).toEqual([]);
}
