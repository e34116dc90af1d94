import { defineJob, type JobDefinition } from "../cron/define-job";
import type { OverlapPolicy } from "../cron/vocabulary";
import { faultHandler } from "./fault-ledger";

/**
 * Jobs for the fault-injection suite (tests/faults), loaded only with CRONDECK_FAULT_JOBS=1 and
 * never on a Vercel production deployment. Each records its handler's start and end in
 * fault_ledger (see fault-ledger.ts) and behaves as fault_control says. They are dispatched by
 * nobody: no vercel.json entry (the registry without them is what cron:sync writes) and not by
 * the tick; the suite triggers them itself.
 */
const common = {
  schedule: "* * * * *",
  category: "faults",
  timeout: "5s",
  // Short, so a dead holder frees the job soon and the suite stays fast; still twice the timeout.
  lease: "10s",
  // Every failure alerts (no threshold, no window), and no run of the suite pauses a job.
  alerts: { afterConsecutiveFailures: 1, reAlertAfter: "1s" },
  deadLetter: { pauseAfter: 1000, replayLimit: 100 },
} as const;

function faultJob(name: string, description: string, extra: { retries?: number; overlap?: OverlapPolicy; timeout?: `${number}s` } = {}): JobDefinition {
  return defineJob({ ...common, ...extra, name, description, handler: (ctx) => faultHandler(name, ctx) });
}

export const faultJobs: readonly JobDefinition[] = [
  faultJob("fault-a", "Fault suite: a job that records its runs"),
  faultJob("fault-b", "Fault suite: a job that records its runs"),
  faultJob("fault-c", "Fault suite: a job that records its runs"),
  faultJob("fault-d", "Fault suite: a job that records its runs"),
  faultJob("fault-retry", "Fault suite: a job whose first attempt defers its retry", { retries: 1 }),
  // A timeout longer than the lease: only the lease keeper (not the timeout) can stop a holder
  // that lost its lease (frozen, or cut off from the database).
  faultJob("fault-long", "Fault suite: a job whose timeout outlasts its lease", { timeout: "30s" }),
  faultJob("fault-long-b", "Fault suite: a job whose timeout outlasts its lease", { timeout: "30s" }),
];
