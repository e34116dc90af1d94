import AxeBuilder from "@axe-core/playwright";
import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import pg from "pg";
import { signedIn, SCREENSHOTS } from "./signed-in";

/**
 * Job dependencies on the dashboard in Chromium, against the feature jobs' ETL chain
 * (lib/jobs/feature-jobs/dependencies.ts, loaded by the e2e server): the chain with a link per
 * job, and why the latest slot waits ("waiting for feature-extract (running since ...)") or was
 * skipped ("skipped: feature-extract failed for ..."). The upstream's run in flight is a row of
 * another holder written into the server's database (so the spec needs the Postgres server and
 * skips without it); the downstream's triggers go through the execute route and its gate.
 */

const CRON_SECRET = process.env.CRONDECK_E2E_CRON_SECRET!;
const DATABASE_URL = process.env.CRONDECK_E2E_DATABASE_URL;

let context: BrowserContext;
let page: Page;
let pool: pg.Pool;

/** The chain's latest slot: daily at 03:17 UTC. */
function latestSlot(now = new Date()): Date {
  const today = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 3, 17));
  return today.getTime() <= now.getTime() ? today : new Date(today.getTime() - 86_400_000);
}

test.skip(!DATABASE_URL, "needs the Postgres server (TEST_DATABASE_URL): the spec writes the upstream's run in flight into the server's database");

test.beforeAll(async ({ browser }) => {
  pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
  ({ context, page } = await signedIn(browser, "UTC"));
});

test.afterAll(async () => {
  await context?.close();
  await pool?.end();
});

const trigger = (job: string, slot: Date) =>
  context.request.post(`/api/cron/execute/${job}?trigger=tick&slot=${encodeURIComponent(slot.toISOString())}`, { headers: { authorization: `Bearer ${CRON_SECRET}` } });

test("the chain with links, why the latest slot waits, then why it was skipped", async () => {
  const slot = latestSlot();
  const slotText = `${slot.toISOString().slice(0, 16).replace("T", " ")} UTC`;
  await pool.query("DELETE FROM cron_job_logs WHERE job_name IN ('feature-extract', 'feature-transform') AND scheduled_for = $1", [slot]);
  // feature-extract's run for the slot, in flight in another process since 03:17:03.
  const started = new Date(slot.getTime() + 3_000);
  const { rows } = await pool.query(
    `INSERT INTO cron_job_logs (job_name, status, started_at, attempts, scheduled_for, trigger, dedupe_key, holder, lease_expires_at)
     VALUES ('feature-extract', 'started', $1, 1, $2, 'tick', 'slot:' || $3, 'elsewhere:1', now() + interval '10 minutes') RETURNING id`,
    [started, slot, slot.toISOString()],
  );
  const waiting = await trigger("feature-transform", slot);
  expect(waiting.status(), await waiting.text()).toBe(202);

  await page.goto("/dashboard/admin/cron-jobs/feature-transform");
  const panel = page.getByTestId("dependencies-panel");
  await expect(panel).toBeVisible();
  const chain = panel.getByRole("navigation", { name: "Dependency chain" });
  await expect(chain.getByRole("listitem")).toHaveText(["feature-extract", "→feature-transform", "→feature-load", "→feature-publish"]);
  await expect(chain.getByText("feature-transform")).toHaveAttribute("aria-current", "page");
  await expect(panel.getByTestId("dependency-reason")).toHaveText(`${slotText}: waiting for feature-extract (running since 03:17:03)`);
  await expect(panel.getByTestId("dependency-slot").first()).toContainText("waiting");
  await page.screenshot({ path: `${SCREENSHOTS}/dependencies-waiting.png`, fullPage: true });
  const axe = await new AxeBuilder({ page }).include("[data-testid=dependencies-panel]").analyze();
  expect(axe.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => v.id)).toEqual([]);

  // The upstream fails for good: the next delivery of the slot is skipped upstream_failed.
  await pool.query("UPDATE cron_job_logs SET status = 'failed', completed_at = $2, lease_expires_at = NULL, error_message = 'boom' WHERE id = $1", [rows[0].id, new Date(slot.getTime() + 41_000)]);
  const skipped = await trigger("feature-transform", slot);
  expect(await skipped.json()).toMatchObject({ skipped: true, reason: "upstream_failed" });
  await page.reload();
  await expect(panel.getByTestId("dependency-reason")).toHaveText(`${slotText}: skipped: feature-extract failed for ${slotText} (failed)`);
  await expect(panel.getByTestId("dependency-slot").first()).toContainText("skipped: upstream failed");
  await page.screenshot({ path: `${SCREENSHOTS}/dependencies-skipped.png`, fullPage: true });

  // Each job of the chain is a link to its page.
  await chain.getByRole("link", { name: "feature-extract" }).click();
  await expect(page).toHaveURL(/\/cron-jobs\/feature-extract$/);
  await expect(page.getByTestId("dependencies-panel").getByText("Dependents:")).toBeVisible();
  await pool.query("DELETE FROM cron_job_logs WHERE job_name IN ('feature-extract', 'feature-transform') AND scheduled_for = $1", [slot]);
});
