import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import { sql } from "drizzle-orm";
import { openDatabase, queryRows, type Database } from "@/lib/db/client";
import { NOT_SCHEDULED_REASONS } from "@/lib/cron/vocabulary";
import { hasPostgresServer, NEEDS_POSTGRES } from "../support/postgres-server";
import { CONSOLE_JOBS, MONTH_SCENARIO, seedMonthOfRuns, type MonthHistory } from "../support/month-history";
import { expectAccessible, SCREENSHOTS, signedIn } from "./signed-in";

/**
 * The console's truth at a glance, in Chromium over a month of history (tests/support/
 * month-history.ts: about 10,000 runs of the six console jobs, which the e2e server registers
 * with CRONDECK_CONSOLE_JOBS=1 and never runs): last night's failed slot stays "failing" though
 * a duplicate delivery came after it and the 30-day rate is high; a run whose lease expired six
 * hours ago is stale, apart from what runs; the paused and dead-lettered jobs say why they will
 * not run and what brings them back; the summary counts each state once, with failing jobs,
 * stale runs and pending dead letters first. Screenshots in test-results/screenshots/console-*.
 * Removes what it seeded afterwards, so the other specs see the registry's jobs as they were.
 */

// Seeds the database the server uses.
test.skip(!hasPostgresServer(), NEEDS_POSTGRES);

const BEARER = { authorization: `Bearer ${process.env.CRONDECK_E2E_ADMIN_TOKEN}` };

let database: Database;
let month: MonthHistory;
let context: BrowserContext;
let page: Page;

const inConsoleJobs = sql.raw(`(${CONSOLE_JOBS.map((j) => `'${j}'`).join(", ")})`);

test.beforeAll(async ({ browser }) => {
  test.setTimeout(120_000);
  database = await openDatabase({ kind: "postgres", url: process.env.CRONDECK_E2E_DATABASE_URL!, queryTimeoutMs: 60_000 });
  month = await seedMonthOfRuns(database.db, { now: new Date() });
  ({ context, page } = await signedIn(browser));
});

test.afterAll(async () => {
  await context?.close();
  if (!database) return;
  const db = database.db;
  await db.execute(sql`DELETE FROM cron_audit_log WHERE target IN ${inConsoleJobs} OR detail ->> 'jobName' IN ${inConsoleJobs}`);
  await db.execute(sql`DELETE FROM cron_dead_letters WHERE job_name IN ${inConsoleJobs}`);
  await db.execute(sql`DELETE FROM cron_job_leases WHERE job_name IN ${inConsoleJobs}`);
  await db.execute(sql`DELETE FROM cron_job_logs WHERE job_name IN ${inConsoleJobs}`);
  await db.execute(sql`DELETE FROM cron_job_config WHERE job_name IN ${inConsoleJobs}`);
  await database.close();
});

const row = (name: string) => page.locator(`tr[data-job="${name}"]`);

test("the overview cannot hide last night's failure, shows the dead run as stale, and says why paused jobs will not run", async ({}, testInfo) => {
  await page.goto("/dashboard/admin/cron-jobs");

  // Last night's slot failed; the duplicate delivery after it is shown under it, not instead of it.
  const nightly = row(MONTH_SCENARIO.failedNightly.job);
  await expect(nightly).toContainText("failing");
  await expect(nightly.getByRole("link", { name: `Last run of ${MONTH_SCENARIO.failedNightly.job}` })).toHaveAttribute("href", new RegExp(`run=${month.failedNightlyRunId}$`));
  await expect(nightly).toContainText("then skipped: duplicate");
  await expect(nightly).toContainText("latest failed");
  await expect(nightly).not.toContainText("healthy");
  await expect(nightly).toContainText(`${month.pendingDeadLetters["console-nightly"]} pending dead letter`);

  // What needs an operator comes first: the dead-lettered job heads the table.
  await expect(page.locator("tr[data-job]").first()).toHaveAttribute("data-job", MONTH_SCENARIO.deadLettered.job);

  // Six hours dead: stale, with its holder, never "running".
  const stale = page.getByRole("list", { name: "Stale runs" });
  await expect(stale).toContainText(MONTH_SCENARIO.staleRun.job);
  await expect(stale).toContainText(`held by ${MONTH_SCENARIO.staleRun.holder}`);
  await expect(stale).toContainText(/expired 5 h 5\d min ago/);
  await expect(page.getByRole("list", { name: "Running jobs" }).getByText(MONTH_SCENARIO.staleRun.job)).toHaveCount(0);
  await expect(row(MONTH_SCENARIO.staleRun.job)).toContainText("stale run");
  await expect(row(MONTH_SCENARIO.staleRun.job)).not.toContainText("running now");
  await expect(row(MONTH_SCENARIO.staleRun.job)).toContainText("stale: lease expired");
  await expect(row(MONTH_SCENARIO.staleRun.job)).not.toContainText(/\brunning\b/);

  // No next run while paused or dead-lettered: the reason and what resumes it.
  await expect(row(MONTH_SCENARIO.paused.job)).toContainText(NOT_SCHEDULED_REASONS.paused);
  await expect(row(MONTH_SCENARIO.deadLettered.job)).toContainText(NOT_SCHEDULED_REASONS.dead_lettered);

  // The summary: each state once, as the API counts it.
  const api = await page.request.get("/api/admin/cron-jobs", { headers: BEARER });
  const body = (await api.json()) as { summary: Record<string, number>; jobs: { state: string; failing: boolean }[] };
  expect(body.summary.disabledJobs).toBe(body.jobs.filter((j) => j.state === "disabled").length);
  expect(body.summary.pausedJobs).toBe(body.jobs.filter((j) => j.state === "paused").length);
  expect(body.summary.failingJobs).toBe(body.jobs.filter((j) => j.failing).length);
  expect(body.summary.staleRuns).toBeGreaterThanOrEqual(1);
  expect(body.summary.pendingDeadLetters).toBeGreaterThanOrEqual(month.pendingTotal);
  const summary = page.getByRole("region", { name: "Summary" });
  await expect(summary).toContainText(`Failing${body.summary.failingJobs}`);
  await expect(summary).toContainText(`Disabled${body.summary.disabledJobs}`);
  await expect(summary).toContainText(`Dead letters${body.summary.pendingDeadLetters}`);
  await expect(summary).toContainText(`${body.summary.staleRuns} stale`);

  await expectAccessible(page, "console overview");
  await page.screenshot({ path: `${SCREENSHOTS}/console-overview.png`, fullPage: true });
  await testInfo.attach("console-overview", { path: `${SCREENSHOTS}/console-overview.png`, contentType: "image/png" });

  // The "failing" and "stale" filters list exactly those.
  await page.goto("/dashboard/admin/cron-jobs?state=failing");
  await expect(row(MONTH_SCENARIO.failedNightly.job)).toBeVisible();
  await expect(page.locator("tr[data-job]")).toHaveCount(body.summary.failingJobs);
  await page.goto("/dashboard/admin/cron-jobs?state=stale");
  await expect(row(MONTH_SCENARIO.staleRun.job)).toBeVisible();
});

test("the job page of a paused job names the reason instead of a next run", async ({}, testInfo) => {
  await page.goto(`/dashboard/admin/cron-jobs/${MONTH_SCENARIO.paused.job}`);
  await expect(page.locator("div", { has: page.locator("dt", { hasText: "Next run" }) }).last()).toContainText(NOT_SCHEDULED_REASONS.paused);
  await page.screenshot({ path: `${SCREENSHOTS}/console-paused-job.png`, fullPage: true });
  await testInfo.attach("console-paused-job", { path: `${SCREENSHOTS}/console-paused-job.png`, contentType: "image/png" });
});

test("a confirmation floats under its button: the header does not move", async () => {
  await page.goto("/dashboard/admin/cron-jobs");
  // The page header (the title's block) and what follows it.
  const header = page.getByRole("heading", { level: 1 }).locator("xpath=../..");
  const summary = page.getByRole("region", { name: "Summary" });
  const before = [await header.boundingBox(), await summary.boundingBox()];
  await page.getByRole("button", { name: "Pause all" }).click();
  const confirm = page.getByRole("group", { name: "Confirm: Pause all" });
  await expect(confirm).toBeVisible();
  expect([await header.boundingBox(), await summary.boundingBox()]).toEqual(before);
  await page.keyboard.press("Escape");
  await expect(confirm).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Pause all" })).toBeFocused();
});

test("the dead-letter page past its last page says so, with a link back, never 'nothing pending'", async () => {
  await page.goto("/dashboard/admin/dead-letters?page=999");
  await expect(page.getByText("Page 999 is past the end")).toBeVisible();
  await expect(page.getByText("No pending dead letters")).toHaveCount(0);
  await page.getByRole("link", { name: /^Go to page \d+$/ }).click();
  await expect(page.getByRole("list", { name: "Dead-letter entries", exact: true })).toBeVisible();
});

test("the locks page calls skipped triggers 'Contended', not 'Missed'", async () => {
  await page.goto("/dashboard/admin/locks");
  await expect(page.locator("dt", { hasText: /^Contended$/ })).toBeVisible();
  await expect(page.locator("dt", { hasText: /^Missed$/ })).toHaveCount(0);
});

test("chart axis labels stand on one line, the duration axis in words included", async () => {
  // console-nightly runs about 1 min 35 s: its duration axis reads "1 min 30 s" and the like.
  await page.goto(`/dashboard/admin/cron-jobs/${MONTH_SCENARIO.failedNightly.job}?days=30`);
  // Every text of the chart's SVG is an axis label (the legend is HTML).
  const ticks = page.getByTestId("timeline-chart").locator("svg text");
  await page.getByTestId("timeline-chart").scrollIntoViewIfNeeded();
  await expect.poll(() => ticks.count()).toBeGreaterThan(3);
  const labels = await ticks.evaluateAll((texts) =>
    texts.map((t) => ({ text: t.textContent ?? "", lines: Math.max(1, t.querySelectorAll("tspan").length), height: (t as SVGTextElement).getBBox().height })),
  );
  expect(labels.some((l) => /\bmin\b/.test(l.text))).toBe(true);
  for (const label of labels) expect(label, label.text).toMatchObject({ lines: 1 });
  // One line of 12 px text is under 20 px tall; a wrapped label is two or three lines.
  expect(Math.max(...labels.map((l) => l.height))).toBeLessThan(20);
});

test("bulk dead letters: the filters preview what an action takes; resolve one job's timed-out entries, replay another's", async ({}, testInfo) => {
  const db = database.db;
  const count = async (where: ReturnType<typeof sql>) => Number((await queryRows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM cron_dead_letters WHERE ${where}`))[0].n);
  const timedOut = await count(sql`job_name = 'console-sync' AND recovery_status = 'pending' AND failure_reason ILIKE '%timed out%'`);
  expect(timedOut, "the month has timed-out console-sync entries pending").toBeGreaterThan(0);
  const otherSync = await count(sql`job_name = 'console-sync' AND recovery_status = 'pending' AND failure_reason NOT ILIKE '%timed out%'`);

  await page.goto("/dashboard/admin/dead-letters?job=console-sync&reason=timed%20out&sort=priority");
  const panel = page.getByRole("region", { name: /^Act on all/ });
  await expect(panel.getByRole("heading")).toHaveText(`Act on all ${timedOut} pending entr${timedOut === 1 ? "y" : "ies"} these filters select`);
  await expect(page.getByRole("list", { name: "Dead-letter entries", exact: true }).locator("li[data-dead-letter]")).toHaveCount(Math.min(timedOut, 25));
  await expectAccessible(page, "dead letters with a selection");
  await page.screenshot({ path: `${SCREENSHOTS}/console-dead-letters-bulk.png`, fullPage: true });
  await testInfo.attach("console-dead-letters-bulk", { path: `${SCREENSHOTS}/console-dead-letters-bulk.png`, contentType: "image/png" });

  await panel.getByRole("button", { name: "Resolve them" }).click();
  const confirm = panel.getByRole("button", { name: "Resolve every one" });
  await expect(confirm).toBeDisabled(); // a reason first
  await panel.getByLabel("Reason (required)").fill("the vendor fixed its timeouts");
  await confirm.click();
  await expect(page.getByText("No pending dead letters")).toBeVisible();
  expect(await count(sql`job_name = 'console-sync' AND recovery_status = 'resolved' AND notes LIKE '%resolved by admin (bulk): the vendor fixed its timeouts'`)).toBe(timedOut);
  // What the filter left out is still pending.
  expect(await count(sql`job_name = 'console-sync' AND recovery_status = 'pending' AND failure_reason NOT ILIKE '%timed out%'`)).toBe(otherSync);
  const [audit] = await queryRows<{ actor: string; detail: { count: number } }>(db, sql`SELECT actor, detail FROM cron_audit_log WHERE action = 'dead_letter.bulk_resolve' ORDER BY created_at DESC LIMIT 1`);
  expect(audit).toMatchObject({ actor: "admin", detail: { count: timedOut } });

  // The dead-lettered job's three: replayed for their slots, a batch at a time; each ends replayed.
  // (The month's older entries of the job were settled at random, some replayed: only these three count.)
  const dead = MONTH_SCENARIO.deadLettered.job;
  const pending = (await queryRows<{ id: string }>(db, sql`SELECT id FROM cron_dead_letters WHERE job_name = ${dead} AND recovery_status = 'pending'`)).map((r) => r.id);
  expect(pending).toHaveLength(MONTH_SCENARIO.deadLettered.failures);
  const inPending = sql`id IN (SELECT (jsonb_array_elements_text(${JSON.stringify(pending)}::jsonb))::uuid)`;
  const [{ at: clicked }] = await queryRows<{ at: string }>(db, sql`SELECT now()::text AS at`);
  await page.goto(`/dashboard/admin/dead-letters?job=${dead}`);
  await expect(panel.getByRole("heading")).toHaveText(`Act on all ${pending.length} pending entries these filters select`);
  await panel.getByRole("button", { name: "Replay them" }).click();
  await panel.getByRole("button", { name: "Replay every one" }).click();
  await expect.poll(() => count(sql`${inPending} AND recovery_status = 'replayed'`), { timeout: 30_000 }).toBe(pending.length);
  await expect(page.getByText("No pending dead letters")).toBeVisible();
  const runs = await queryRows<{ status: string }>(db, sql`SELECT status FROM cron_job_logs WHERE job_name = ${dead} AND trigger = 'replay' AND started_at >= ${clicked}::timestamptz`);
  expect(runs.map((r) => r.status)).toEqual(Array(pending.length).fill("completed"));
});

