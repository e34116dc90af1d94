import { expect, it } from "vitest";
import { backoffDelayMs, type BackoffPolicy } from "@/lib/cron/backoff";
import { defineJob } from "@/lib/cron/define-job";

const schedule = (policy: BackoffPolicy, attempts: number) => Array.from({ length: attempts }, (_, i) => backoffDelayMs(policy, i + 1));
const policy = (p: Partial<BackoffPolicy>): BackoffPolicy => ({ strategy: "linear", delayMs: 5_000, factor: 2, maxDelayMs: 3_600_000, jitter: false, ...p });

it("linear 5s: 5s, 10s, 15s (the seed's default)", () => {
  expect(schedule(policy({ strategy: "linear" }), 3)).toEqual([5_000, 10_000, 15_000]);
  const job = defineJob({ name: "x", schedule: "* * * * *", retries: 3, handler: () => {} });
  expect(schedule(job.backoff, 3)).toEqual([5_000, 10_000, 15_000]);
});

it("exponential: factor 2 from 1m is 1m, 2m, 4m; factor 3 from 5s is 5s, 15s, 45s", () => {
  expect(schedule(policy({ strategy: "exponential", delayMs: 60_000, factor: 2 }), 3)).toEqual([60_000, 120_000, 240_000]);
  expect(schedule(policy({ strategy: "exponential", delayMs: 5_000, factor: 3 }), 3)).toEqual([5_000, 15_000, 45_000]);
});

it("fixed and immediate", () => {
  expect(schedule(policy({ strategy: "fixed", delayMs: 2_000 }), 3)).toEqual([2_000, 2_000, 2_000]);
  expect(schedule(policy({ strategy: "immediate" }), 3)).toEqual([0, 0, 0]);
});

it("caps every delay at max", () => {
  expect(schedule(policy({ strategy: "exponential", delayMs: 60_000, factor: 2, maxDelayMs: 150_000 }), 4)).toEqual([60_000, 120_000, 150_000, 150_000]);
});

it("jitter spreads a delay over its upper half", () => {
  const p = policy({ strategy: "fixed", delayMs: 10_000, jitter: true });
  expect(backoffDelayMs(p, 1, () => 0)).toBe(5_000);
  expect(backoffDelayMs(p, 1, () => 0.5)).toBe(7_500);
  expect(backoffDelayMs(p, 1, () => 0.999999)).toBe(10_000);
});
