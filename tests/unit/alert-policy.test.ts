import { expect, it } from "vitest";
import { alertsForRun } from "@/lib/alerts/policy";
import { defineJob } from "@/lib/cron/define-job";

const job = defineJob({ name: "x", schedule: "* * * * *", handler: () => {}, alerts: { afterConsecutiveFailures: 3 } });
const run = (over: Partial<Parameters<typeof alertsForRun>[0]>) => ({ status: "failed" as const, consecutiveFailures: 1, previousFailures: 0, deadLetterId: null, autoPaused: false, recorded: true, ...over });

it("alerts once the failure streak reaches the threshold", () => {
  expect(alertsForRun(run({ consecutiveFailures: 2 }), job)).toEqual([]);
  expect(alertsForRun(run({ consecutiveFailures: 3 }), job)).toEqual(["failure"]);
  expect(alertsForRun(run({ status: "timed_out", consecutiveFailures: 4 }), job)).toEqual(["failure"]);
});

it("alerts on a dead letter (unless the job opts out) and on an auto-pause", () => {
  expect(alertsForRun(run({ deadLetterId: "d1" }), job)).toEqual(["dead_letter"]);
  expect(alertsForRun(run({ deadLetterId: "d1", autoPaused: true, consecutiveFailures: 3 }), job)).toEqual(["failure", "dead_letter", "auto_paused"]);
  const quiet = defineJob({ name: "y", schedule: "* * * * *", handler: () => {}, alerts: { onDeadLetter: false } });
  expect(alertsForRun(run({ deadLetterId: "d1" }), quiet)).toEqual([]);
});

it("sends a recovery notice only for the first success after an alerted streak", () => {
  expect(alertsForRun(run({ status: "completed", consecutiveFailures: 0, previousFailures: 3 }), job)).toEqual(["recovered"]);
  expect(alertsForRun(run({ status: "completed", consecutiveFailures: 0, previousFailures: 2 }), job)).toEqual([]);
  expect(alertsForRun(run({ status: "completed", consecutiveFailures: 0, previousFailures: 0 }), job)).toEqual([]);
});

it("says nothing for a deferred retry or a fenced-out write", () => {
  expect(alertsForRun(run({ status: "retry_scheduled", consecutiveFailures: 9 }), job)).toEqual([]);
  expect(alertsForRun(run({ consecutiveFailures: 9, recorded: false }), job)).toEqual([]);
});
