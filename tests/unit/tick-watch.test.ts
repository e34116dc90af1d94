import { afterEach, describe, expect, it } from "vitest";
import { failUrl, heartbeatBody, pingTickHeartbeat, tickIntervalMs, tickLateMessage } from "@/lib/app/tick-watch";
import { tickReportOf, tickWorkOf, TICK_REPORT_LIST_LIMIT, type TickHealth } from "@/lib/db/queries/tick-health";
import { deliveryGraceMs } from "@/lib/vercel/crons";
import { startRecordingServer, type RecordingServer } from "../support/recording-server";

/**
 * The dead-man ping against a local server standing in for Healthchecks.io: what it sends, that
 * a failing, refusing or silent endpoint never throws and never gets its URL (the credential)
 * into the log. And the tick's plan intervals and report parsing.
 */

const UUID = "8e2d7f3a-1b4c-4d5e-9f60-718293a4b5c6";
const servers: RecordingServer[] = [];
const server = async (...args: Parameters<typeof startRecordingServer>) => {
  const s = await startRecordingServer(...args);
  servers.push(s);
  return s;
};
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const work = (errors = 0) => ({ abandoned: 1, retries: 2, orphaned: 0, missed: 3, dispatched: 4, errors });

describe("the tick's dead-man ping (TICK_HEARTBEAT_URL)", () => {
  it("POSTs <url> after a tick without errors, with the counts of its work", async () => {
    const hc = await server();
    const result = await pingTickHeartbeat(`${hc.url}/${UUID}`, work(), { log: () => {} });
    expect(result).toEqual({ ok: true, signal: "success", statusCode: 200 });
    expect(hc.requests).toHaveLength(1);
    expect(hc.requests[0]).toMatchObject({ method: "POST", path: `/${UUID}`, body: "crondeck tick: abandoned=1 retries=2 orphaned=0 missed=3 dispatched=4 errors=0" });
  });

  it("POSTs <url>/fail when the report has errors, keeping a query and dropping a trailing slash", async () => {
    const hc = await server();
    await pingTickHeartbeat(`${hc.url}/ping/key/${UUID}/?create=1`, work(2), { log: () => {} });
    expect(hc.requests.map((r) => r.path)).toEqual([`/ping/key/${UUID}/fail?create=1`]);
    expect(failUrl("https://hc-ping.com/abc")).toBe("https://hc-ping.com/abc/fail");
  });

  it.each([
    ["answers 500", async () => `${(await server({ status: 500 })).url}/${UUID}`, "HTTP 500"],
    ["refuses the connection", async () => {
      const s = await startRecordingServer();
      await s.close();
      return `${s.url}/${UUID}`;
    }, "network error"],
    ["never answers", async () => `${(await server({ delayMs: 5_000 })).url}/${UUID}`, "timeout"],
  ])("when the endpoint %s: resolves not ok, logs the failure without the URL", async (_what, urlOf, error) => {
    const url = await urlOf();
    const lines: string[] = [];
    const result = await pingTickHeartbeat(url, work(), { timeoutMs: 200, log: (m) => lines.push(m) });
    expect(result.ok).toBe(false);
    expect(result.error).toContain(error);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("TICK_HEARTBEAT_URL");
    expect(lines[0]).toContain(error);
    for (const line of [...lines, JSON.stringify(result)]) {
      expect(line).not.toContain(UUID);
      expect(line).not.toContain(new URL(url).host);
    }
  });

  it("an unparsable URL is a failure, not a throw", async () => {
    const lines: string[] = [];
    expect(await pingTickHeartbeat("not a url/secret-part", null, { log: (m) => lines.push(m) })).toMatchObject({ ok: false, error: "invalid URL" });
    expect(lines.join()).not.toContain("secret-part");
  });

  it("without a report (a tick that answered early) says only that the tick ran", () => {
    expect(heartbeatBody(null)).toBe("crondeck tick");
  });
});

describe("the tick's interval per plan", () => {
  it("is a minute on Pro and a day on Hobby (vercel.json's tick schedule); late after it and the plan's grace", () => {
    expect(tickIntervalMs("pro")).toBe(60_000);
    expect(tickIntervalMs("hobby")).toBe(86_400_000);
    expect(tickIntervalMs("pro") + deliveryGraceMs("pro")).toBe(120_000);
  });

  it("the alert names how long, how often and what to check", () => {
    const health = { expectedEveryMs: 60_000, lateAfterMs: 120_000, lagMs: 185_000, lastRun: { startedAt: "2026-12-01T10:00:00.000Z" } } as TickHealth;
    const text = tickLateMessage(health);
    expect(text).toContain("2026-12-01T10:00:00.000Z");
    expect(text).toContain("/api/cron/tick");
    expect(text).toMatch(/CRON_SECRET|Deployment Protection/);
    expect(tickLateMessage({ ...health, lastRun: null, lagMs: null })).toContain("never run");
  });
});

describe("a tick run's report", () => {
  const report = {
    abandoned: [{ runId: "r1", jobName: "sync", holder: "host:1", heldForSeconds: 700, expiredSecondsAgo: 30, consecutiveFailures: 1, autoPaused: false }],
    retries: [{ request: { jobName: "flaky", trigger: "retry", runId: "r2" }, status: 202 }],
    orphaned: [],
    missed: [{ jobName: "nightly", slots: ["2026-12-01T01:00:00.000Z", "2026-12-01T02:00:00.000Z"], policy: "once", catchUps: 1 }],
    dispatched: [{ request: { jobName: "paris", trigger: "tick", slot: "2026-12-01T08:00:00.000Z" }, status: null, error: "still running after 1500ms" }],
    errors: [{ scope: "dispatch", error: "refused" }],
  };

  it("counts each part and lists it as the dashboard shows it", () => {
    expect(tickWorkOf(report)).toEqual({ abandoned: 1, retries: 1, orphaned: 0, missed: 1, dispatched: 1, errors: 1 });
    expect(tickReportOf(report)).toEqual({
      abandoned: [{ jobName: "sync", runId: "r1", holder: "host:1", heldForSeconds: 700 }],
      retries: [{ jobName: "flaky", runId: "r2", status: 202, error: null }],
      orphaned: [],
      missed: [{ jobName: "nightly", slots: 2, lastSlot: "2026-12-01T02:00:00.000Z", policy: "once", catchUps: 1 }],
      dispatched: [{ jobName: "paris", trigger: "tick", slot: "2026-12-01T08:00:00.000Z", status: null, error: "still running after 1500ms" }],
      errors: [{ scope: "dispatch", error: "refused" }],
    });
  });

  it("a deadline's `{ errors }` and odd shapes parse without throwing; long lists are capped, counts are not", () => {
    expect(tickReportOf({ errors: [{ scope: "tick", error: "still working after 40s" }] })).toMatchObject({ abandoned: [], errors: [{ scope: "tick" }] });
    expect(tickReportOf(null)).toBeNull();
    expect(tickReportOf([1, 2])).toBeNull();
    expect(tickReportOf({ abandoned: "x", missed: [null, 3, { jobName: 7 }] })).toMatchObject({ abandoned: [], missed: [{ jobName: "?", slots: 0 }] });
    const many = { dispatched: Array.from({ length: 50 }, (_, i) => ({ request: { jobName: `j${i}` }, status: 200 })) };
    expect(tickReportOf(many)!.dispatched).toHaveLength(TICK_REPORT_LIST_LIMIT);
    expect(tickWorkOf(many)!.dispatched).toBe(50);
  });
});
