import { describe, expect, it } from "vitest";
import { EnvError, parseEnv } from "@/lib/env";
import { retentionCutoffs, retentionPolicy } from "@/lib/db/retention";

/** The retention settings: defaults, refusals that name the variable and the fix, and the cutoffs they give. */

const RETENTION_VARIABLES = ["CRON_LOG_RETENTION_DAYS", "CRON_ALERT_RETENTION_DAYS", "CRON_AUDIT_RETENTION_DAYS", "CRON_DEAD_LETTER_RETENTION_DAYS", "CRON_CLEANUP_BATCH_SIZE"] as const;

const refusal = (source: Record<string, string>): string => {
  try {
    parseEnv(source);
  } catch (error) {
    expect(error).toBeInstanceOf(EnvError);
    return (error as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(source)}`);
};

describe("retention settings", () => {
  it("default to 90, 90, 365 and 30 days, batches of 5,000", () => {
    const env = parseEnv({});
    expect(retentionPolicy(env, [])).toEqual({ logDays: 90, alertDays: 90, auditDays: 365, deadLetterDays: 30, batchSize: 5000, alertWindowMs: 0 });
    // Empty is unset.
    expect(parseEnv(Object.fromEntries(RETENTION_VARIABLES.map((v) => [v, ""])))).toMatchObject({ CRON_LOG_RETENTION_DAYS: 90, CRON_CLEANUP_BATCH_SIZE: 5000 });
  });

  it.each(RETENTION_VARIABLES)("%s refuses zero, negatives, fractions, units and words, naming the variable", (variable) => {
    for (const [value, says] of [
      ["0", "must be a positive whole number"],
      ["-5", "must be a positive whole number"],
      ["1.5", "must be a whole number such as 90"],
      ["30d", "must be a whole number such as 90"],
      ["ninety", "must be a whole number such as 90"],
    ] as const) {
      const message = refusal({ [variable]: value });
      expect(message, `${variable}=${value}`).toContain(`${variable} ${says}`);
      // One line per bad variable, no stack.
      expect(message.split("\n")).toHaveLength(2);
    }
  });

  it("lists every bad retention variable at once", () => {
    const message = refusal({ CRON_AUDIT_RETENTION_DAYS: "0", CRON_CLEANUP_BATCH_SIZE: "lots" });
    expect(message).toContain("CRON_AUDIT_RETENTION_DAYS");
    expect(message).toContain("CRON_CLEANUP_BATCH_SIZE");
  });

  it("keeps alerts for the longest re-alert window of any job when that is longer than CRON_ALERT_RETENTION_DAYS", () => {
    const now = new Date("2026-12-01T00:00:00Z");
    const env = parseEnv({ CRON_ALERT_RETENTION_DAYS: "1", CRON_LOG_RETENTION_DAYS: "7" });
    const jobs = [{ alerts: { reAlertAfterMs: 3_600_000 } }, { alerts: { reAlertAfterMs: 3 * 86_400_000 } }];
    const cutoffs = retentionCutoffs(retentionPolicy(env, jobs), now);
    expect(cutoffs.cron_alerts.toISOString()).toBe("2026-11-28T00:00:00.000Z");
    expect(cutoffs.cron_job_logs.toISOString()).toBe("2026-11-24T00:00:00.000Z");
    // A window shorter than the retention changes nothing; --days overrides the log retention only.
    const short = retentionCutoffs(retentionPolicy(env, jobs.slice(0, 1), { logDays: 30 }), now);
    expect(short.cron_alerts.toISOString()).toBe("2026-11-30T00:00:00.000Z");
    expect(short.cron_job_logs.toISOString()).toBe("2026-11-01T00:00:00.000Z");
    expect(short.cron_audit_log.toISOString()).toBe("2025-12-01T00:00:00.000Z");
    expect(short.cron_dead_letters.toISOString()).toBe("2026-11-01T00:00:00.000Z");
  });
});
