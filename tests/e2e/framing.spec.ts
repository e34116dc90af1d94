import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect, test, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { appRoutes, fillRoute } from "../support/app-routes";

/**
 * Clickjacking: a page elsewhere puts the signed-in dashboard in an iframe and has the admin
 * click through it (two clicks paused every job). Chromium must refuse to render any page of
 * the app in a frame: from another site, from the same site on another port (the session
 * cookie is SameSite=Lax, so it goes along there), and from the app's own origin. Then the
 * other half of the policy: every page loads with no CSP violation and its scripts and styles
 * work (the nonce reaches Next.js's scripts; the chart's inline styles are allowed).
 */

const BASE = process.env.CRONDECK_E2E_BASE_URL!;
const ADMIN_TOKEN = process.env.CRONDECK_E2E_ADMIN_TOKEN!;
const CRON_SECRET = process.env.CRONDECK_E2E_CRON_SECRET!;
const FRAMED_PATH = "/dashboard/admin/cron-jobs";
const JOBS_HEADING = { name: "Cron jobs", level: 1 } as const;

let framer: Server;
let framerPort: number;
let context: BrowserContext;
let page: Page;

/** The attacker's page: the dashboard in one frame, and a frame of its own as a control (frames do load here). */
function framingPage(target: string): string {
  return `<!doctype html><html lang="en"><head><title>framer</title></head><body>
<h1>A page that frames the dashboard</h1>
<iframe id="target" title="target" src="${target}" width="1000" height="600"></iframe>
<iframe id="control" title="control" srcdoc="<p id=inner>a frame of this page</p>" width="300" height="100"></iframe>
</body></html>`;
}

/** CSP violations as the page sees them (securitypolicyviolation, in every frame) and as Chromium logs them. */
interface Watch {
  console: string[];
  events: () => Promise<string[]>;
}

async function watch(target: Page): Promise<Watch> {
  const messages: string[] = [];
  target.on("console", (m) => {
    if (/Content Security Policy|frame-ancestors|X-Frame-Options/i.test(m.text())) messages.push(m.text());
  });
  target.on("pageerror", (e) => messages.push(`pageerror: ${e.message}`));
  return {
    console: messages,
    events: () => target.evaluate(() => (window as unknown as { __cspViolations?: string[] }).__cspViolations ?? []),
  };
}

async function newContext(browser: Browser): Promise<BrowserContext> {
  const created = await browser.newContext({ baseURL: BASE, viewport: { width: 1440, height: 900 }, locale: "en-US", timezoneId: "Europe/Paris" });
  // Runs before the page's own scripts, outside its CSP (Playwright injects it).
  await created.addInitScript(() => {
    const seen: string[] = ((window as unknown as { __cspViolations?: string[] }).__cspViolations = []);
    document.addEventListener("securitypolicyviolation", (e) => seen.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`));
  });
  return created;
}

/** True once React has hydrated the element (it keeps its fiber on a property of the DOM node). Runs in the page. */
function hydrated(selector: string): boolean {
  const element = document.querySelector(selector);
  return element !== null && Object.keys(element).some((key) => key.startsWith("__reactFiber$"));
}

async function logIn(target: Page): Promise<void> {
  await target.goto("/dashboard/admin/login");
  await target.getByLabel("Admin token").fill(ADMIN_TOKEN);
  await target.getByRole("button", { name: "Log in" }).click();
  await expect(target.getByRole("heading", JOBS_HEADING)).toBeVisible();
}

test.beforeAll(async ({ browser }) => {
  expect(BASE, "the global setup sets CRONDECK_E2E_BASE_URL").toBeTruthy();
  framer = createServer((request, response) => {
    const target = new URL(request.url ?? "/", "http://framer").searchParams.get("target") ?? FRAMED_PATH;
    response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    response.end(framingPage(`${BASE}${target}`));
  });
  await new Promise<void>((resolve) => framer.listen(0, "127.0.0.1", resolve));
  framerPort = (framer.address() as AddressInfo).port;
  context = await newContext(browser);
  page = await context.newPage();
  await logIn(page);
  // A run, so the job page has a chart to draw.
  const run = await page.request.post("/api/cron/execute/demo-pulse", { headers: { authorization: `Bearer ${CRON_SECRET}` } });
  expect(run.status()).toBe(200);
});

test.afterAll(async () => {
  await context?.close();
  await new Promise((resolve) => framer?.close(resolve));
});

const baseOrigin = () => new URL(BASE).origin;
const FRAMERS = [
  // The browser reaches the app as localhost: 127.0.0.1 is another site.
  { name: "another site", url: () => `http://127.0.0.1:${framerPort}/?target=${encodeURIComponent(FRAMED_PATH)}` },
  // Same site (same host, another port): a SameSite=Lax cookie is sent with the frame's request.
  { name: "the same site on another port", url: () => `http://localhost:${framerPort}/?target=${encodeURIComponent(FRAMED_PATH)}` },
  // The app's own origin (served by the test in place of the app): frame-ancestors 'none' refuses it too.
  { name: "the app's own origin", url: () => `${baseOrigin()}/framing-test-page`, sameOrigin: true },
];

for (const framing of FRAMERS) {
  test(`a page on ${framing.name} cannot frame the signed-in dashboard`, async () => {
    // Signed in: the same context reaches the dashboard directly.
    await page.goto(FRAMED_PATH);
    await expect(page.getByRole("heading", JOBS_HEADING)).toBeVisible();

    const attacker = await context.newPage();
    try {
      if (framing.sameOrigin) {
        await attacker.route(framing.url(), (route) => route.fulfill({ status: 200, contentType: "text/html", body: framingPage(`${BASE}${FRAMED_PATH}`) }));
      }
      const seen = await watch(attacker);
      await attacker.goto(framing.url());
      await expect(attacker.frameLocator("#control").locator("#inner")).toHaveText("a frame of this page");
      // The frame's navigation ended (the load event waits for it): in Chromium's error page.
      const frame = (await (await attacker.locator("#target").elementHandle())!.contentFrame())!;
      await expect.poll(() => frame.url()).not.toBe("about:blank");
      await frame.waitForLoadState("load");
      expect(frame.url(), "the frame holds no document of the app").not.toContain(new URL(BASE).host);
      // Nothing of the app is in the frame: neither the dashboard nor the login page.
      await expect(attacker.frameLocator("#target").getByRole("heading", JOBS_HEADING)).toHaveCount(0);
      await expect(attacker.frameLocator("#target").getByRole("button", { name: /Pause/ })).toHaveCount(0);
      await expect(attacker.frameLocator("#target").getByRole("heading", { name: "Crondeck admin" })).toHaveCount(0);
      // Chromium logs the refusal in the framing page.
      const refusal = `Framing '${baseOrigin()}/' violates the following Content Security Policy directive: "frame-ancestors 'none'"`;
      await expect.poll(() => seen.console.some((m) => m.includes(refusal)), { message: `console: ${JSON.stringify(seen.console)}` }).toBe(true);
    } finally {
      await attacker.close();
    }
  });
}

test("every page loads without a CSP violation, and its scripts and styles work", async ({ browser }) => {
  const jobs = await page.request.get("/api/cron/jobs", { headers: { authorization: `Bearer ${CRON_SECRET}` } });
  const jobName = (await jobs.json()).jobs.map((j: { name: string }) => j.name).find((n: string) => n === "demo-pulse");
  expect(jobName).toBe("demo-pulse");
  const pages = appRoutes()
    .filter((r) => r.kind === "page")
    .map((r) => fillRoute(r, { "[jobName]": jobName }))
    .concat(["/no-such-page"]);
  expect(pages).toContain("/dashboard/admin/cron-jobs/demo-pulse");

  const seen = await watch(page);
  for (const path of pages) {
    await test.step(path, async () => {
      await page.goto(path);
      // The Next.js runtime ran (a nonced script), React hydrated the page (its fiber is on the
      // server-rendered <body>), and the stylesheet applied (min-h-screen on <body>).
      await page.waitForFunction(() => Boolean((window as unknown as { next?: { version?: string } }).next?.version), undefined, { timeout: 15_000 });
      await page.waitForFunction(hydrated, "body", { timeout: 15_000 });
      expect(await page.evaluate(() => getComputedStyle(document.body).minHeight), `${path}: the stylesheet applies`).toBe("900px");
      expect(await seen.events(), `${path}: securitypolicyviolation events`).toEqual([]);
    });
  }

  // The job page's chart (a client component; recharts sets inline styles) draws.
  await page.goto("/dashboard/admin/cron-jobs/demo-pulse");
  await expect(page.getByTestId("timeline-chart").locator("svg.recharts-surface").first()).toBeVisible();
  expect(await seen.events()).toEqual([]);

  // A client-side navigation (the router fetches the next page's RSC payload): no full load.
  await page.goto("/dashboard/admin/cron-jobs");
  await page.evaluate(() => ((window as unknown as { __sameDocument?: boolean }).__sameDocument = true));
  await page.getByRole("navigation", { name: "Dashboard" }).getByRole("link", { name: "Locks" }).click();
  await expect(page).toHaveURL(/\/dashboard\/admin\/locks$/);
  await expect(page.locator("h1", { hasText: "Locks" })).toBeVisible();
  expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
  expect(await seen.events()).toEqual([]);
  expect(seen.console, "CSP messages in the console").toEqual([]);

  // Signed out, the login page hydrates too (its form is React's).
  const anonymous = await newContext(browser);
  try {
    const login = await anonymous.newPage();
    const loginSeen = await watch(login);
    await login.goto("/dashboard/admin/login");
    await login.waitForFunction(hydrated, "#token", { timeout: 15_000 });
    expect(await loginSeen.events()).toEqual([]);
    expect(loginSeen.console).toEqual([]);
  } finally {
    await anonymous.close();
  }
});
