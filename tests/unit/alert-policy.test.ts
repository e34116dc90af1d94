import { expect, it } from "vitest";
import { alertsForRun, isFailure, reAlertWindowMs } from "@/lib/alerts/policy";
import { defineJob } from "@/lib/cron/define-job";

const job = defineJob({ name: "x", schedule: "* * * * *", handler: () => {}, alerts: { afterConsecutiveFailures: 3 } });
const run = (over: Partial<Parameters<typeof alertsForRun>[0]>): Parameters<typeof alertsForRun>[0] => ({ status: "failed", consecutiveFailures: 1, previousFailures: 0, deadLetterId: null, autoPaused: false, recorded: true, ...over });

it("alerts once the failure streak reaches the threshold", () => {
  expect(alertsForRun(run({ consecutiveFailures: 2 }), job)).toEqual([]);
  expect(alertsForRun(run({ consecutiveFailures: 3 }), job)).toEqual(["failure"]);
  expect(alertsForRun(run({ status: "timed_out", consecutiveFailures: 4 }), job)).toEqual(["failure"]);
});

it("holds a dead-letter alert to the failure threshold: with the default retries 0 a first failure is a dead letter, not news", () => {
  const defaults = defineJob({ name: "d", schedule: "* * * * *", handler: () => {} });
  expect(defaults.retries).toBe(0);
  expect(alertsForRun(run({ deadLetterId: "d1", consecutiveFailures: 1 }), defaults)).toEqual([]);
  expect(alertsForRun(run({ deadLetterId: "d1", consecutiveFailures: 2 }), job)).toEqual([]);
  expect(alertsForRun(run({ deadLetterId: "d1", consecutiveFailures: 3 }), job)).toEqual(["failure", "dead_letter"]);
  const eager = defineJob({ name: "e", schedule: "* * * * *", handler: () => {}, alerts: { afterConsecutiveFailures: 1 } });
  expect(alertsForRun(run({ deadLetterId: "d1", consecutiveFailures: 1 }), eager)).toEqual(["failure", "dead_letter"]);
  const quiet = defineJob({ name: "y", schedule: "* * * * *", handler: () => {}, alerts: { onDeadLetter: false, afterConsecutiveFailures: 1 } });
  expect(alertsForRun(run({ deadLetterId: "d1" }), quiet)).toEqual(["failure"]);
});

it("always alerts on an auto-pause, below the threshold too", () => {
  expect(alertsForRun(run({ deadLetterId: "d1", autoPaused: true, consecutiveFailures: 3 }), job)).toEqual(["failure", "dead_letter", "auto_paused"]);
  expect(alertsForRun(run({ deadLetterId: "d1", autoPaused: true, consecutiveFailures: 1 }), job)).toEqual(["auto_paused"]);
  expect(reAlertWindowMs("auto_paused", 3_600_000)).toBe(0);
  expect(reAlertWindowMs("failure", 3_600_000)).toBe(3_600_000);
});

it("treats an abandoned run as a failure", () => {
  expect(alertsForRun(run({ status: "abandoned", consecutiveFailures: 3, deadLetterId: "d1" }), job)).toEqual(["failure", "dead_letter"]);
  expect(alertsForRun(run({ status: "abandoned", consecutiveFailures: 1, deadLetterId: "d1" }), job)).toEqual([]);
});

it("sends a recovery notice only for the first success after an alerted streak", () => {
  expect(alertsForRun(run({ status: "completed", consecutiveFailures: 0, previousFailures: 3 }), job)).toEqual(["recovered"]);
  expect(alertsForRun(run({ status: "completed", consecutiveFailures: 0, previousFailures: 2 }), job)).toEqual([]);
  expect(alertsForRun(run({ status: "completed", consecutiveFailures: 0, previousFailures: 0 }), job)).toEqual([]);
});

it("says nothing for a deferred retry, a replaced run or a fenced-out write", () => {
  expect(alertsForRun(run({ status: "retry_scheduled", consecutiveFailures: 9 }), job)).toEqual([]);
  expect(alertsForRun(run({ status: "replaced", consecutiveFailures: 9, deadLetterId: "d1", autoPaused: true }), job)).toEqual([]);
  expect(alertsForRun(run({ consecutiveFailures: 9, recorded: false }), job)).toEqual([]);
});

it("names the failures once: failed, timed out, abandoned; not replaced, not a deferred retry, not a skip", () => {
  expect((["failed", "timed_out", "abandoned"] as const).every(isFailure)).toBe(true);
  expect((["completed", "replaced", "retry_scheduled", "skipped", "missed", "started", "queued"] as const).some(isFailure)).toBe(false);
});
