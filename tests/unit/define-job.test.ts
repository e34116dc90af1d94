import { describe, expect, it } from "vitest";
import { defineJob, type JobConfig } from "@/lib/cron/define-job";
import { JobConfigError } from "@/lib/cron/errors";
import { JobRegistry } from "@/lib/cron/registry";

const handler = async () => {};
const make = (extra: Record<string, unknown>) => () => defineJob({ name: "nightly-report", schedule: "0 1 * * *", handler, ...extra } as JobConfig);

describe("defineJob", () => {
  it("fills in defaults", () => {
    const job = defineJob({ name: "nightly-report", schedule: "0 1 * * *", handler });
    expect(job).toMatchObject({
      schedule: { cron: "0 1 * * *", timezone: "UTC" },
      category: "general",
      enabled: true,
      timeoutMs: 300_000,
      retries: 0,
      overlap: "skip",
      missed: { policy: "skip", max: 10 },
      dispatch: "vercel",
      backoff: { strategy: "linear", delayMs: 5_000 },
    });
  });

  it("keeps the seed interface working (timeout in seconds)", () => {
    const job = defineJob({ name: "check-promotion-triggers", schedule: "0 */4 * * *", handler, enabled: true, timeout: 300, retries: 2, description: "Check triggers", category: "promotions" });
    expect(job).toMatchObject({ timeoutMs: 300_000, retries: 2, description: "Check triggers", category: "promotions" });
  });

  it("reads durations with units and timezones", () => {
    const job = defineJob({ name: "paris-digest", schedule: { cron: "0 9 * * *", timezone: "Europe/Paris" }, timeout: "10m", backoff: { strategy: "exponential", delay: "5s", factor: 3, max: "5m", jitter: true }, handler });
    expect(job.timeoutMs).toBe(600_000);
    expect(job.schedule.timezone).toBe("Europe/Paris");
    expect(job.dispatch).toBe("tick");
    expect(job.backoff).toEqual({ strategy: "exponential", delayMs: 5_000, factor: 3, maxDelayMs: 300_000, jitter: true });
  });

  it.each([
    [{ schedule: "" }, /job "nightly-report": schedule the cron expression is empty/],
    [{ schedule: "* * * *" }, /job "nightly-report": schedule .*4 fields/],
    [{ schedule: "0 25 * * *" }, /schedule .*hour.*outside 0-23/],
    [{ schedule: { cron: "0 1 * * *", timezone: "Mars/Base" } }, /schedule.timezone "Mars\/Base" is not an IANA timezone/],
    [{ timeout: 0 }, /timeout must be a positive number of seconds/],
    [{ timeout: "10 minutes" }, /timeout "10 minutes" is not a duration/],
    [{ timeout: "-5s" }, /timeout/],
    [{ retries: 11 }, /retries must be at most 10/],
    [{ retries: -1 }, /retries must be 0 or more/],
    [{ retries: 1.5 }, /retries must be a whole number/],
    [{ backoff: { strategy: "random" } }, /backoff.strategy/],
    [{ overlap: "sometimes" }, /overlap/],
    [{ handler: "not a function" }, /handler must be a function/],
    [{ timeoutSeconds: 5 }, /unknown field\(s\) timeoutSeconds/],
  ])("rejects %j naming the job and the field", (extra, message) => {
    expect(make(extra)).toThrow(JobConfigError);
    expect(make(extra)).toThrow(message);
  });

  it("rejects names that are not kebab-case", () => {
    for (const name of ["Nightly", "a_b", "-a", "a--b", "", "../x", "__proto__"]) {
      expect(() => defineJob({ name, schedule: "0 1 * * *", handler })).toThrow(/name/);
    }
  });
});

describe("JobRegistry", () => {
  it("rejects duplicate names", () => {
    const a = defineJob({ name: "dup", schedule: "0 1 * * *", handler });
    expect(() => new JobRegistry([a, a])).toThrow(/job "dup": name is used by two jobs/);
  });

  it("looks up through a Map, so prototype names are not jobs", () => {
    const registry = new JobRegistry([defineJob({ name: "real", schedule: "0 1 * * *", handler })]);
    expect(registry.get("real")?.name).toBe("real");
    for (const name of ["__proto__", "constructor", "toString", "hasOwnProperty"]) expect(registry.get(name)).toBeUndefined();
  });
});
