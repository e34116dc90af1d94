import { expect, it } from "vitest";
import { jobDetail, jobMonitoring } from "@/lib/db/queries/job-detail";
import { defineJob } from "@/lib/cron/define-job";
import { monitorSettingsFromEnv } from "@/lib/monitors/policy";
import { parseEnv } from "@/lib/env";
import { closeMonitor, holdMonitors, markMonitorsAlerted, openMonitor, openMonitors, SYSTEM_MONITOR } from "@/lib/db/monitors";
import { describeOnDatabases } from "../support/db";

let counter = 0;
const uniqueJob = () => `monitor-contract-${process.pid}-${++counter}`;
const at = (iso: string) => new Date(iso);

/** lib/db/monitors.ts, the cron_monitors statements, on PGlite and the Postgres server alike. */
describeOnDatabases("cron_monitors contract", (ctx) => {
  it("opens a monitor once: the first call opens a new incident, later ones refresh it and keep the incident", async () => {
    const jobName = uniqueJob();
    const first = await openMonitor(ctx.db, { jobName, kind: "failure_rate", at: at("2026-05-01T10:00:00Z"), value: 20, detail: { runs: 10 } });
    expect(first).toMatchObject({ jobName, kind: "failure_rate", opened: true, value: 20, detail: { runs: 10 }, alertedAt: null });
    expect(first.openedAt.toISOString()).toBe("2026-05-01T10:00:00.000Z");
    const again = await openMonitor(ctx.db, { jobName, kind: "failure_rate", at: at("2026-05-01T10:01:00Z"), value: 30, detail: { runs: 12 } });
    expect(again).toMatchObject({ opened: false, incidentId: first.incidentId, value: 30, detail: { runs: 12 } });
    expect(again.openedAt.toISOString()).toBe("2026-05-01T10:00:00.000Z");
    expect(again.checkedAt.toISOString()).toBe("2026-05-01T10:01:00.000Z");
  });

  it("ten concurrent opens open it once", async () => {
    const jobName = uniqueJob();
    const results = await Promise.all(Array.from({ length: 10 }, () => openMonitor(ctx.db, { jobName, kind: "timeout_rate", at: at("2026-05-01T10:00:00Z"), value: 6 })));
    expect(results.filter((r) => r.opened)).toHaveLength(1);
    expect(new Set(results.map((r) => r.incidentId)).size).toBe(1);
  });

  it("holds many in one statement, answering in the order given: new ones opened, open ones refreshed with their incident", async () => {
    const a = uniqueJob();
    const b = uniqueJob();
    const before = await openMonitor(ctx.db, { jobName: b, kind: "failure_rate", at: at("2026-05-01T09:00:00Z"), value: 15 });
    expect(await holdMonitors(ctx.db, [])).toEqual([]);
    const held = await holdMonitors(ctx.db, [
      { jobName: a, kind: "late", at: at("2026-05-01T10:00:00Z"), value: 1, detail: { slot: "2026-05-01T09:59:00.000Z" } },
      { jobName: b, kind: "failure_rate", at: at("2026-05-01T10:00:00Z"), value: 20 },
      { jobName: a, kind: "timeout_rate", at: at("2026-05-01T10:00:00Z") },
    ]);
    expect(held.map((m) => [m.jobName, m.kind, m.opened, m.value])).toEqual([
      [a, "late", true, 1],
      [b, "failure_rate", false, 20],
      [a, "timeout_rate", true, null],
    ]);
    expect(held[0].detail).toEqual({ slot: "2026-05-01T09:59:00.000Z" });
    expect(held[1].incidentId).toBe(before.incidentId);
    expect(held[1].openedAt.toISOString()).toBe("2026-05-01T09:00:00.000Z");
  });

  it("closes what was open once; the next open is a new incident", async () => {
    const jobName = uniqueJob();
    const opened = await openMonitor(ctx.db, { jobName, kind: "lock_contention", at: at("2026-05-01T10:00:00Z"), value: 80 });
    const closed = await closeMonitor(ctx.db, { jobName, kind: "lock_contention" });
    expect(closed).toMatchObject({ jobName, kind: "lock_contention", incidentId: opened.incidentId, value: 80 });
    expect(await closeMonitor(ctx.db, { jobName, kind: "lock_contention" })).toBeNull();
    const reopened = await openMonitor(ctx.db, { jobName, kind: "lock_contention", at: at("2026-05-01T11:00:00Z"), value: 75 });
    expect(reopened.opened).toBe(true);
    expect(reopened.incidentId).not.toBe(opened.incidentId);
  });

  it("lists the open monitors of one job, or all (system-wide ones under SYSTEM_MONITOR), oldest first", async () => {
    const a = uniqueJob();
    const b = uniqueJob();
    await openMonitor(ctx.db, { jobName: a, kind: "timeout_rate", at: at("2026-05-02T10:02:00Z"), value: 7 });
    await openMonitor(ctx.db, { jobName: a, kind: "failure_rate", at: at("2026-05-02T10:01:00Z"), value: 12 });
    await openMonitor(ctx.db, { jobName: b, kind: "failure_rate", at: at("2026-05-02T10:00:00Z"), value: 50 });
    await openMonitor(ctx.db, { jobName: SYSTEM_MONITOR, kind: "dead_letter_backlog", at: at("2026-05-02T09:00:00Z"), value: 11 });
    expect((await openMonitors(ctx.db, a)).map((m) => m.kind)).toEqual(["failure_rate", "timeout_rate"]);
    const all = (await openMonitors(ctx.db)).filter((m) => [a, b, SYSTEM_MONITOR].includes(m.jobName));
    expect(all.map((m) => `${m.jobName}/${m.kind}`)).toEqual([`${SYSTEM_MONITOR}/dead_letter_backlog`, `${b}/failure_rate`, `${a}/failure_rate`, `${a}/timeout_rate`]);
    await closeMonitor(ctx.db, { jobName: SYSTEM_MONITOR, kind: "dead_letter_backlog" });
  });

  it("marks alerts on the incident it was given only: a re-opened monitor keeps its own alertedAt", async () => {
    const jobName = uniqueJob();
    const first = await openMonitor(ctx.db, { jobName, kind: "failure_rate", at: at("2026-05-03T10:00:00Z"), value: 20 });
    await markMonitorsAlerted(ctx.db, [first], at("2026-05-03T10:00:05Z"));
    const refreshed = await openMonitor(ctx.db, { jobName, kind: "failure_rate", at: at("2026-05-03T10:01:00Z"), value: 21 });
    expect(refreshed.alertedAt?.toISOString()).toBe("2026-05-03T10:00:05.000Z");
    await closeMonitor(ctx.db, { jobName, kind: "failure_rate" });
    const second = await openMonitor(ctx.db, { jobName, kind: "failure_rate", at: at("2026-05-03T11:00:00Z"), value: 30 });
    // A late mark for the closed incident changes nothing on the new one.
    await markMonitorsAlerted(ctx.db, [first], at("2026-05-03T11:00:05Z"));
    expect((await openMonitors(ctx.db, jobName))[0].alertedAt).toBeNull();
    await markMonitorsAlerted(ctx.db, [second], at("2026-05-03T11:00:06Z"));
    expect((await openMonitors(ctx.db, jobName))[0].alertedAt?.toISOString()).toBe("2026-05-03T11:00:06.000Z");
    await markMonitorsAlerted(ctx.db, [], at("2026-05-03T11:00:07Z"));
  });

  it("the job's detail and monitoring list its open monitors, oldest first, with the last alert", async () => {
    const job = defineJob({ name: uniqueJob(), schedule: "0 * * * *", timeout: "60s", alerts: { lateAfter: "5m", lockContention: false }, handler: () => {} });
    expect((await jobDetail(ctx.db, job.name, true)).openMonitors).toEqual([]);
    const late = await openMonitor(ctx.db, { jobName: job.name, kind: "late", at: at("2026-05-04T10:00:00Z"), value: 2, detail: { slot: "2026-05-04T09:00:00.000Z" } });
    await openMonitor(ctx.db, { jobName: job.name, kind: "failure_rate", at: at("2026-05-04T10:05:00Z"), value: 12.5 });
    await markMonitorsAlerted(ctx.db, [late], at("2026-05-04T10:00:01Z"));
    const detail = await jobDetail(ctx.db, job.name, true);
    expect(detail.openMonitors).toEqual([
      { kind: "late", incidentId: late.incidentId, openedAt: "2026-05-04T10:00:00.000Z", checkedAt: "2026-05-04T10:00:00.000Z", alertedAt: "2026-05-04T10:00:01.000Z", value: 2, detail: { slot: "2026-05-04T09:00:00.000Z" } },
      expect.objectContaining({ kind: "failure_rate", value: 12.5, alertedAt: null, detail: null }),
    ]);
    const monitoring = await jobMonitoring(ctx.db, job, 60_000, monitorSettingsFromEnv(parseEnv({})));
    expect(monitoring.open).toEqual(detail.openMonitors);
    expect(monitoring.settings).toMatchObject({ lateAfterMs: 300_000, lateAfterFrom: "code", maxRuntimeMs: 48_000, thresholds: { lock_contention: { effective: null } } });
  });
});
