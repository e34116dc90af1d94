import { describe, expect, it } from "vitest";
import { z } from "zod";
import { defaultLeaseMs, defineJob, type JobConfig, type JobDefinition } from "@/lib/cron/define-job";
import { applyOverrides, configOf, mergeOverrides, OverrideError, validateOverrides } from "@/lib/overrides/apply";

const handler = async () => {};
const code: JobConfig = { name: "nightly-report", schedule: { cron: "0 1 * * *", timezone: "Europe/Paris" }, handler, timeout: "10s" };
const job = defineJob(code);

/** What defineJob says about the code with `fields` written into it (the message an override must give). */
function defineJobMessage(fields: Record<string, unknown>): string {
  try {
    defineJob({ ...code, ...fields } as JobConfig);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`defineJob accepted ${JSON.stringify(fields)}`);
}

function overrideError(target: JobDefinition, doc: unknown): OverrideError {
  try {
    validateOverrides(target, doc);
  } catch (error) {
    expect(error).toBeInstanceOf(OverrideError);
    return error as OverrideError;
  }
  throw new Error(`accepted ${JSON.stringify(doc)}`);
}

describe("override validation mirrors defineJob", () => {
  const rejected: Array<[string, Record<string, unknown>, string]> = [
    ["a timeout without a unit", { timeout: "10" }, "timeout"],
    ["a timeout in an unknown unit", { timeout: "10 minutes" }, "timeout"],
    ["a timeout past the route's limit", { timeout: "10m" }, "timeout"],
    ["a zero timeout", { timeout: 0 }, "timeout"],
    ["too many retries", { retries: 11 }, "retries"],
    ["fractional retries", { retries: 1.5 }, "retries"],
    ["negative retries", { retries: -1 }, "retries"],
    ["an unknown backoff strategy", { backoff: { strategy: "random" } }, "backoff.strategy"],
    ["a backoff factor under 1", { backoff: { factor: 0.5 } }, "backoff.factor"],
    ["an unknown backoff field", { backoff: { delays: "1s" } }, "backoff"],
    ["a maxRuntime not shorter than the timeout", { alerts: { maxRuntime: "10s" } }, "alerts.maxRuntime"],
    ["zero consecutive failures", { alerts: { afterConsecutiveFailures: 0 } }, "alerts.afterConsecutiveFailures"],
    ["a rate above 100 %", { alerts: { failureRate: { above: 120 } } }, "alerts.failureRate"],
    ["a regression factor of 1", { alerts: { regression: { factor: 1 } } }, "alerts.regression"],
    ["an unknown missed policy", { missed: "sometimes" }, "missed"],
    ["a missed max of 0", { missed: { policy: "all", max: 0 } }, "missed.max"],
    ["a cron with three fields", { schedule: "* * *" }, "schedule"],
    ["an unknown timezone", { schedule: { cron: "0 1 * * *", timezone: "Mars/Olympus" } }, "schedule.timezone"],
    ["an interval of seconds", { schedule: { every: "90s" } }, "schedule.every"],
    ["an interval without a unit", { schedule: { every: "90" } }, "schedule"],
    ["an offset not shorter than the interval", { schedule: { every: "1h", offset: "1h" } }, "schedule.offset"],
  ];
  for (const [what, fields, field] of rejected) {
    it(`refuses ${what} with defineJob's message`, () => {
      const error = overrideError(job, fields);
      expect(error.message).toBe(defineJobMessage(fields));
      expect(error.field.startsWith(field)).toBe(true);
    });
  }

  it("checks maxRuntime against the overridden timeout, as defineJob does", () => {
    const withMax = defineJob({ ...code, timeout: "60s", alerts: { maxRuntime: "30s" } });
    const error = overrideError(withMax, { timeout: "20s" });
    expect(error.field).toBe("alerts.maxRuntime");
    expect(error.message).toBe(defineJobMessageOf({ ...code, timeout: "20s", alerts: { maxRuntime: "30s" } }));
  });

  it("refuses a timeout that defineJob would clamp (no time left to record the result)", () => {
    const error = overrideError(job, { timeout: "295s" });
    expect(error.field).toBe("timeout");
    expect(error.message).toMatch(/job "nightly-report": timeout is 4\.9m, which leaves no time to record the result/);
  });

  it("refuses fields that cannot be overridden, naming them", () => {
    const unknown = overrideError(job, { enabled: false });
    expect(unknown.message).toBe('job "nightly-report": overrides has unknown field(s) enabled (what may be overridden: timeout, retries, backoff, alerts, missed, schedule)');
    expect(unknown.field).toBe("enabled");
    expect(overrideError(job, { alerts: { slackWebhook: "https://hooks.example/x" } }).field).toBe("alerts.slackWebhook");
    expect(overrideError(job, "10m").field).toBe("overrides");
  });

  it("refuses a schedule override for a Vercel-dispatched job and for a one-time job", () => {
    const vercel = defineJob({ name: "utc-report", schedule: "0 1 * * *", handler });
    expect(vercel.dispatch).toBe("vercel");
    const error = overrideError(vercel, { schedule: "*/10 * * * *" });
    expect(error.field).toBe("schedule");
    expect(error.message).toMatch(/only for jobs the tick dispatches/);
    // Everything else may be overridden on a Vercel job.
    expect(applyOverrides(vercel, { timeout: "20s" }).timeoutMs).toBe(20_000);
    const once = defineJob({ name: "one-off", runAt: "2026-12-24T09:00:00Z", handler });
    expect(overrideError(once, { schedule: "0 * * * *" }).message).toMatch(/one-time job/);
  });
});

function defineJobMessageOf(config: JobConfig): string {
  try {
    defineJob(config);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("accepted");
}

describe("applyOverrides", () => {
  it("gives the code's job unchanged for an empty document", () => {
    expect(applyOverrides(job, {})).toBe(job);
  });

  it("writes every kind of job back to a config defineJob turns into the same job", () => {
    const jobs = [
      job,
      defineJob({ name: "a-utc", schedule: "*/5 * * * *", handler }),
      defineJob({ name: "b-every", schedule: { every: "90m", offset: "15m" }, startAt: "2026-01-01T00:00:00Z", endAt: "2027-01-01T00:00:00Z", jitter: "20s", handler }),
      defineJob({ name: "c-once", runAt: "2026-12-24T09:00:00Z", handler }),
      defineJob({ name: "d-input", schedule: { every: "1h" }, handler, dependsOn: ["a-utc"], input: z.object({ n: z.number() }), defaultInput: { n: 1 } }),
      defineJob({
        name: "e-full", schedule: "0 2 * * *", dispatch: "tick", handler, timeout: "2m", lease: "3m", retries: 4, backoff: { strategy: "exponential", delay: "10s", factor: 3, max: "2m", jitter: true },
        overlap: "bufferOne", missed: { policy: "all", max: 5 }, expect: () => true,
        alerts: { afterConsecutiveFailures: 2, onDeadLetter: false, reAlertAfter: "30m", slackWebhook: "https://hooks.example/a", email: ["ops@example.com"], lateAfter: false, maxRuntime: false, regression: false, failureRate: { above: 40, window: "2h", minRuns: 3 }, timeoutRate: false },
        deadLetter: { pauseAfter: 0, replayLimit: 5 },
      }),
      defineJob({ name: "f-late", schedule: "0 3 * * *", handler, alerts: { lateAfter: "5m", maxRuntime: "1m", regression: { factor: 2 } } }),
    ];
    for (const j of jobs) expect(defineJob(configOf(j))).toEqual(j);
  });

  it("applies a timeout, and the default lease and maxRuntime follow it", () => {
    const effective = applyOverrides(job, { timeout: "60s" });
    expect(effective.timeoutMs).toBe(60_000);
    expect(effective.leaseMs).toBe(defaultLeaseMs(60_000));
    expect(effective.alerts.maxRuntimeMs).toBe(48_000);
    expect(job.timeoutMs).toBe(10_000);
    // A lease (or maxRuntime) the code set stays.
    const leased = defineJob({ ...code, lease: "2m", alerts: { maxRuntime: "5s" } });
    const moved = applyOverrides(leased, { timeout: "60s" });
    expect(moved.leaseMs).toBe(120_000);
    expect(moved.alerts.maxRuntimeMs).toBe(5_000);
  });

  it("merges backoff and alerts field by field with the code's", () => {
    const coded = defineJob({ ...code, retries: 2, backoff: { strategy: "exponential", delay: "2s" }, alerts: { afterConsecutiveFailures: 5, reAlertAfter: "2h" } });
    const effective = applyOverrides(coded, { retries: 4, backoff: { delay: "3s" }, alerts: { afterConsecutiveFailures: 1 }, missed: "once" });
    expect(effective.retries).toBe(4);
    expect(effective.backoff).toMatchObject({ strategy: "exponential", delayMs: 3_000 });
    expect(effective.alerts).toMatchObject({ afterConsecutiveFailures: 1, reAlertAfterMs: 7_200_000 });
    expect(effective.missed).toEqual({ policy: "once", max: 10 });
  });

  it("keeps a tick-dispatched job on the tick when its schedule becomes a UTC cron, and keeps its bounds", () => {
    const bounded = defineJob({ ...code, startAt: "2026-01-01T00:00:00Z" });
    const effective = applyOverrides(bounded, { schedule: "*/10 * * * *" });
    expect(effective.schedule).toEqual({ kind: "cron", cron: "*/10 * * * *", timezone: "UTC", startAt: new Date("2026-01-01T00:00:00Z"), endAt: null });
    expect(effective.dispatch).toBe("tick");
    expect(applyOverrides(job, { schedule: { every: "90m" } }).schedule).toMatchObject({ kind: "every", everyMs: 5_400_000 });
  });

  it("keeps the fields no override touches (handler, input, extra fields)", () => {
    const extra = { ...job, somethingElse: 1 } as JobDefinition & { somethingElse: number };
    const effective = applyOverrides(extra, { retries: 1 });
    expect(effective.handler).toBe(job.handler);
    expect(effective.somethingElse).toBe(1);
  });
});

describe("mergeOverrides", () => {
  it("replaces fields, merges backoff and alerts, and removes a field set to null", () => {
    expect(mergeOverrides({ timeout: "5s", backoff: { delay: "1s" }, alerts: { maxRuntime: "2s" } }, { timeout: null, backoff: { strategy: "fixed" }, retries: 2 })).toEqual({
      backoff: { delay: "1s", strategy: "fixed" },
      alerts: { maxRuntime: "2s" },
      retries: 2,
    });
  });
});
