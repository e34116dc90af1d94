import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import { signedIn, SCREENSHOTS, expectAccessible as expectAccessibleOn } from "./signed-in";

/**
 * Run input on the dashboard in Chromium, against the input feature jobs (lib/jobs/feature-jobs/
 * input.ts, loaded by the e2e server): the job page's "Run with input" prefilled with the
 * default and the schema's fields, the server's 400 shown beside the field it names, a run
 * started with an input and the run page showing it; a dead letter's input and its replay with
 * an edited input.
 */

const BASE = process.env.CRONDECK_E2E_BASE_URL!;

let context: BrowserContext;
let page: Page;

test.beforeAll(async ({ browser }) => {
  ({ context, page } = await signedIn(browser));
});

test.afterAll(async () => {
  await context?.close();
});

const expectAccessible = (name: string) => expectAccessibleOn(page, name);

/** The run's status from the admin API, once it is no longer started. */
async function settled(id: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i++) {
    const reply = await context.request.get(`/api/admin/runs/${id}`);
    if (reply.ok()) {
      const body = (await reply.json()) as { run?: Record<string, unknown> };
      const run = body.run ?? (body as Record<string, unknown>);
      if (run.status && run.status !== "started") return run;
    }
    await page.waitForTimeout(100);
  }
  throw new Error(`run ${id} did not finish`);
}

test("Run with input: prefilled with the default, a refused field's message beside the field, then a run with the input shown on its page", async () => {
  await page.goto("/dashboard/admin/cron-jobs/feature-report");
  const panel = page.getByRole("region", { name: "Run with input" });
  await expect(panel).toBeVisible();
  const editor = panel.getByLabel("Input (JSON)");
  await expect(editor).toHaveValue(JSON.stringify({ days: 7 }, null, 2));
  const fields = panel.getByRole("definition");
  await expect(panel.getByRole("term").first()).toHaveText("days");
  await expect(fields.first()).toContainText("integer, 1..90, required — how many days back the report covers");
  await expect(fields.nth(1)).toContainText("boolean, default false");

  await editor.fill('{"days": "fourteen"}');
  await panel.getByRole("button", { name: "Run with this input" }).click();
  const fieldError = panel.locator('[data-field-error="days"]');
  await expect(fieldError).toHaveText("input.days: expected number, received string");
  await expect(editor).toHaveAttribute("aria-invalid", "true");

  await editor.fill("{days: 14}");
  await panel.getByRole("button", { name: "Run with this input" }).click();
  await expect(panel.getByRole("alert")).toContainText("input: not valid JSON");

  await editor.fill('{"days": 14, "dryRun": true}');
  await panel.getByRole("button", { name: "Run with this input" }).click();
  const started = panel.getByRole("status").getByRole("link");
  await expect(started).toBeVisible();
  await expect(fieldError).toHaveCount(0);
  const href = await started.getAttribute("href");
  const runId = new URL(href!, BASE).searchParams.get("run")!;
  expect(await settled(runId)).toMatchObject({ status: "completed", input: { days: 14, dryRun: true } });
  await page.screenshot({ path: `${SCREENSHOTS}/run-input-panel.png`, fullPage: true });
  await expectAccessible("the job page with its input panel");

  await page.goto(href!);
  await expect(page.getByLabel("Run input")).toContainText('"days": 14');
  await expect(page.getByLabel("Run output")).toContainText('"dryRun": true');
});

test("a job without an input schema has no input panel", async () => {
  await page.goto("/dashboard/admin/cron-jobs/health-check");
  await expect(page.getByRole("heading", { name: "health-check" }).first()).toBeVisible();
  await expect(page.getByRole("region", { name: "Run with input" })).toHaveCount(0);
});

test("a dead letter shows its run's input and replays with an edited one", async () => {
  const run = await context.request.post("/api/admin/cron-jobs/feature-import/run", { headers: { origin: new URL(BASE).origin }, data: { input: { batch: "e2e-august", fail: true } } });
  expect(run.status(), await run.text()).toBe(202);
  const failedId = ((await run.json()) as { executionId: string }).executionId;
  expect(await settled(failedId)).toMatchObject({ status: "failed" });

  await page.goto("/dashboard/admin/dead-letters?job=feature-import");
  const entry = page.locator("li[data-dead-letter]").filter({ has: page.getByRole("link", { name: new RegExp(`Failed run ${failedId.slice(0, 8)}`) }) });
  await expect(entry.getByLabel(/^Input of run/)).toContainText('"batch": "e2e-august"');
  await entry.getByText("Replay with edited input…").click();
  const editor = entry.getByLabel("Replay input (JSON)");
  // jsonb keeps its own key order: compare the value, not the text.
  await expect(editor).toBeVisible();
  expect(JSON.parse(await editor.inputValue())).toEqual({ batch: "e2e-august", fail: true });

  await editor.fill('{"batch": ""}');
  await entry.getByRole("button", { name: "Replay with this input" }).click();
  await expect(entry.locator('[data-field-error="batch"]')).toContainText("input.batch:");
  // Axe while the form is open with its error (a 400: nothing re-renders). After the replay below the page
  // re-renders as the entry settles, and axe on a page mid-refresh saw no <title> in CI.
  await expectAccessible("the dead-letter page with a replay input form");

  await editor.fill('{"batch": "e2e-august", "fail": false}');
  // The replay's id from the API's answer: once the replay succeeds the entry is no longer
  // pending and leaves the list, so its "started" link may be gone before the test reads it.
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST" && /^\/api\/admin\/dead-letter-queue\/[^/]+\/retry$/.test(new URL(r.url()).pathname)),
    entry.getByRole("button", { name: "Replay with this input" }).click(),
  ]);
  expect(answer.status(), await answer.text()).toBe(202);
  const replayId = ((await answer.json()) as { executionId: string }).executionId;
  expect(await settled(replayId)).toMatchObject({ status: "completed", trigger: "replay", input: { batch: "e2e-august", fail: false } });
  await page.screenshot({ path: `${SCREENSHOTS}/run-input-dead-letter.png`, fullPage: true });
});
