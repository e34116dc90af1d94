import { describe, expect, it, vi } from "vitest";
import { defaultLeaseMs, defineJob, MAX_TIMEOUT_MS, type JobConfig } from "@/lib/cron/define-job";
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
      timeoutMs: 240_000,
      leaseMs: 255_000,
      retries: 0,
      overlap: "skip",
      missed: { policy: "skip", max: 10 },
      dispatch: "vercel",
      backoff: { strategy: "linear", delayMs: 5_000 },
    });
  });

  it("keeps the seed interface working (timeout in seconds)", () => {
    const job = defineJob({ name: "check-promotion-triggers", schedule: "0 */4 * * *", handler, enabled: true, timeout: 120, retries: 2, description: "Check triggers", category: "promotions" });
    expect(job).toMatchObject({ timeoutMs: 120_000, retries: 2, description: "Check triggers", category: "promotions" });
  });

  it("clamps the seed's timeout: 300 (the route's whole maxDuration) to what the route can honour, with a warning", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const job = defineJob({ name: "check-promotion-triggers", schedule: "0 */4 * * *", handler, timeout: 300 });
      expect(job.timeoutMs).toBe(MAX_TIMEOUT_MS);
      expect(MAX_TIMEOUT_MS).toBe(290_000);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).toMatch(/job "check-promotion-triggers": timeout 5m leaves no time to record the result .* using 290s/);
    } finally {
      warn.mockRestore();
    }
  });

  it("rejects a timeout the execute route's 300 s maxDuration cannot honour", () => {
    expect(make({ timeout: "10m" })).toThrow(/job "nightly-report": timeout is 10m, longer than the execute route's maxDuration \(300s\) allows.*at most "290s"/);
    expect(make({ timeout: 301 })).toThrow(JobConfigError);
    expect(make({ timeout: "1h" })).toThrow(/timeout/);
  });

  it("gives a lease that covers the timeout by default, bounded, and takes an explicit one", () => {
    expect(defineJob({ name: "quick", schedule: "0 1 * * *", handler, timeout: "2s" }).leaseMs).toBe(30_000); // at least 30 s
    expect(defineJob({ name: "medium", schedule: "0 1 * * *", handler, timeout: "2m" }).leaseMs).toBe(135_000); // timeout + 15 s
    expect(defineJob({ name: "long", schedule: "0 1 * * *", handler, timeout: "290s" }).leaseMs).toBe(300_000); // at most 5 m
    for (const timeoutMs of [1, 1_000, 15_000, 60_000, 120_000, 240_000, MAX_TIMEOUT_MS]) {
      expect(defaultLeaseMs(timeoutMs)).toBeGreaterThan(timeoutMs);
      expect(defaultLeaseMs(timeoutMs)).toBeLessThanOrEqual(300_000);
    }
    expect(defineJob({ name: "fast-detect", schedule: "0 1 * * *", handler, timeout: "2m", lease: "20s" }).leaseMs).toBe(20_000);
    expect(make({ lease: "500ms" })).toThrow(/job "nightly-report": lease must be between 1s and 1h/);
    expect(make({ lease: "2h" })).toThrow(/lease must be between 1s and 1h/);
    expect(make({ lease: "soon" })).toThrow(/job "nightly-report": lease "soon" is not a duration/);
  });

  it("reads durations with units and timezones", () => {
    const job = defineJob({ name: "paris-digest", schedule: { cron: "0 9 * * *", timezone: "Europe/Paris" }, timeout: "4m", backoff: { strategy: "exponential", delay: "5s", factor: 3, max: "5m", jitter: true }, handler });
    expect(job.timeoutMs).toBe(240_000);
    expect(job.schedule).toMatchObject({ kind: "cron", timezone: "Europe/Paris" });
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

describe("interval, one-time and bounded schedules, jitter: what the types cannot catch is checked at load", () => {
  const bad = (config: Record<string, unknown>, pattern: RegExp) => expect(() => defineJob({ name: "sched-bad", handler, ...config } as Parameters<typeof defineJob>[0])).toThrow(pattern);

  it("an interval is a whole number of minutes, at least one; its offset shorter than it", () => {
    bad({ schedule: { every: "90s" } }, /sched-bad.*schedule\.every.*whole number of minutes/);
    bad({ schedule: { every: 90 } }, /schedule\.every.*whole number of minutes/); // 90 seconds
    expect(defineJob({ name: "sched-seconds", schedule: { every: 5400 }, handler }).schedule).toMatchObject({ kind: "every", everyMs: 5_400_000 });
    bad({ schedule: { every: "30s" } }, /schedule\.every/);
    bad({ schedule: { every: "1h", offset: "1h" } }, /schedule\.offset.*shorter than the interval/);
    bad({ schedule: { every: "1h", offset: "90m" } }, /schedule\.offset/);
    bad({ schedule: { every: "1h", offset: "30s" } }, /schedule\.offset.*whole number of minutes/);
    bad({ schedule: { every: "1h", timezone: "Europe/Paris" } }, /schedule/);
  });

  it("an interval or a one-time job cannot be dispatched by Vercel", () => {
    bad({ schedule: { every: "1h" }, dispatch: "vercel" }, /dispatch.*interval/);
    bad({ runAt: "2026-12-24T09:00:00Z", dispatch: "vercel" }, /dispatch.*one-time/);
  });

  it("runAt is an instant with its offset, alone (no schedule, no bounds)", () => {
    bad({ runAt: "tomorrow" }, /runAt.*ISO 8601/);
    bad({ runAt: "2026-12-24T09:00:00" }, /runAt.*ISO 8601/); // no offset: which 09:00?
    bad({ runAt: new Date("nope") }, /sched-bad": runAt must be a valid Date/);
    bad({ runAt: "2026-12-24T09:00:00Z", schedule: "0 1 * * *" }, /runAt.*cannot be combined with schedule/);
    bad({ runAt: "2026-12-24T09:00:00Z", endAt: "2027-01-01T00:00:00Z" }, /runAt.*startAt or endAt/);
    bad({}, /schedule.*is required/);
  });

  it("endAt after startAt; jitter only for the tick's jobs, at most 50 s", () => {
    bad({ schedule: "0 1 * * *", startAt: "2026-12-01T00:00:00Z", endAt: "2026-12-01T00:00:00Z" }, /endAt.*after startAt/);
    bad({ schedule: "0 1 * * *", startAt: "2026-12-02T00:00:00Z", endAt: "2026-12-01T00:00:00Z" }, /endAt.*after startAt/);
    bad({ schedule: "0 1 * * *", jitter: "30s" }, /jitter.*tick/); // a UTC cron is Vercel's by default
    bad({ schedule: "0 1 * * *", dispatch: "tick", jitter: "51s" }, /jitter.*more than 50s/);
    expect(defineJob({ name: "sched-jitter", schedule: { every: "1h" }, jitter: "50s", handler }).jitterMs).toBe(50_000);
  });
});
