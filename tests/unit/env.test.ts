import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { EnvError, loadEnv, parseEnv, secretEntropyBits, WEAK_SECRET_BITS, weakSecretWarnings } from "@/lib/env";

function parseError(source: Record<string, string | undefined>): EnvError {
  try {
    parseEnv(source);
  } catch (error) {
    if (error instanceof EnvError) return error;
    throw error;
  }
  throw new Error("expected parseEnv to throw");
}

describe("parseEnv", () => {
  it("fills in defaults for an empty environment", () => {
    const env = parseEnv({});
    expect(env).toMatchObject({
      NODE_ENV: "development",
      PGLITE_DIR: ".data/pglite",
      CRON_LOG_RETENTION_DAYS: 90,
      CRON_PLAN: "pro",
      HEALTHCHECK_URLS: [],
    });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.CRON_SECRET).toBeUndefined();
  });

  it("treats empty strings as unset", () => {
    const env = parseEnv({ DATABASE_URL: "", CRON_SECRET: "", CRON_LOG_RETENTION_DAYS: "", PGLITE_DIR: "", CRON_PLAN: "" });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.CRON_SECRET).toBeUndefined();
    expect(env.CRON_LOG_RETENTION_DAYS).toBe(90);
    expect(env.PGLITE_DIR).toBe(".data/pglite");
    expect(env.CRON_PLAN).toBe("pro");
  });

  it("accepts postgres:// and postgresql:// URLs", () => {
    expect(parseEnv({ DATABASE_URL: "postgres://postgres@127.0.0.1:5432/test" }).DATABASE_URL).toBe("postgres://postgres@127.0.0.1:5432/test");
    expect(parseEnv({ POSTGRES_URL: "postgresql://u:p@h/db" }).POSTGRES_URL).toBe("postgresql://u:p@h/db");
  });

  it("names a malformed DATABASE_URL and the shape it should have", () => {
    const error = parseError({ DATABASE_URL: "mysql://x" });
    expect(error.message).toContain("DATABASE_URL");
    expect(error.message).toContain("postgres://");
  });

  it("lists every bad variable in one message", () => {
    const error = parseError({ DATABASE_URL: "mysql://x", CRON_LOG_RETENTION_DAYS: "abc", CRON_PLAN: "enterprise" });
    expect(error.message).toMatch(/DATABASE_URL/);
    expect(error.message).toMatch(/CRON_LOG_RETENTION_DAYS/);
    expect(error.message).toMatch(/CRON_PLAN must be hobby or pro/);
  });

  it("coerces CRON_LOG_RETENTION_DAYS and rejects non-positive or fractional values", () => {
    expect(parseEnv({ CRON_LOG_RETENTION_DAYS: "30" }).CRON_LOG_RETENTION_DAYS).toBe(30);
    for (const value of ["abc", "0", "-3", "1.5"]) {
      expect(parseError({ CRON_LOG_RETENTION_DAYS: value }).message).toContain("CRON_LOG_RETENTION_DAYS");
    }
  });

  it("rejects a CRON_SECRET shorter than 16 characters and says how to make one", () => {
    const error = parseError({ CRON_SECRET: "short" });
    expect(error.message).toContain("CRON_SECRET must be at least 16 characters");
    expect(error.message).toContain("openssl rand");
    expect(parseEnv({ CRON_SECRET: "a".repeat(16) }).CRON_SECRET).toBe("a".repeat(16));
  });

  it("rejects an Upstash URL without its token, and a token without its URL", () => {
    expect(parseError({ UPSTASH_REDIS_REST_URL: "https://example.upstash.io" }).message).toContain(
      "UPSTASH_REDIS_REST_TOKEN is required when UPSTASH_REDIS_REST_URL is set",
    );
    expect(parseError({ KV_REST_API_TOKEN: "token" }).message).toContain("KV_REST_API_URL is required when KV_REST_API_TOKEN is set");
    const env = parseEnv({ UPSTASH_REDIS_REST_URL: "https://example.upstash.io", UPSTASH_REDIS_REST_TOKEN: "token" });
    expect(env.UPSTASH_REDIS_REST_URL).toBe("https://example.upstash.io");
  });

  it("rejects an Upstash URL that is not http(s)", () => {
    expect(parseError({ UPSTASH_REDIS_REST_URL: "redis://localhost:6379", UPSTASH_REDIS_REST_TOKEN: "t" }).message).toContain("UPSTASH_REDIS_REST_URL");
  });

  it("splits HEALTHCHECK_URLS on commas, trimming blanks", () => {
    expect(parseEnv({ HEALTHCHECK_URLS: " https://a.example/health , http://b.example:8080/x,, " }).HEALTHCHECK_URLS).toEqual([
      "https://a.example/health",
      "http://b.example:8080/x",
    ]);
    expect(parseEnv({ HEALTHCHECK_URLS: "   " }).HEALTHCHECK_URLS).toEqual([]);
    expect(parseError({ HEALTHCHECK_URLS: "https://ok.example,ftp://nope.example" }).message).toContain("HEALTHCHECK_URLS");
  });

  it("throws an EnvError whose message starts with a summary line", () => {
    const error = parseError({ NODE_ENV: "staging" });
    expect(error.name).toBe("EnvError");
    expect(error.message.split("\n")[0]).toBe("Invalid environment:");
    expect(error.message).toContain("NODE_ENV");
  });

  it("reads on/off switches as 1/0 or true/false, each with its default, and names a bad one", () => {
    expect(parseEnv({})).toMatchObject({ CRON_DEMO: false, CRONDECK_FAULT_JOBS: false, CRON_LOCAL_SCHEDULER: true, PORT: 3000 });
    expect(parseEnv({ CRON_DEMO: "true", CRONDECK_FAULT_JOBS: "1", CRON_LOCAL_SCHEDULER: "0", PORT: "4000" })).toMatchObject({
      CRON_DEMO: true,
      CRONDECK_FAULT_JOBS: true,
      CRON_LOCAL_SCHEDULER: false,
      PORT: 4000,
    });
    expect(parseEnv({ CRON_LOCAL_SCHEDULER: "" }).CRON_LOCAL_SCHEDULER).toBe(true);
    expect(parseError({ CRON_LOCAL_SCHEDULER: "off" }).message).toContain("CRON_LOCAL_SCHEDULER must be 1 or 0");
  });
});

describe("loadEnv", () => {
  it("fills in from a dotenv file's values what the process environment leaves unset", () => {
    const saved = process.env;
    try {
      process.env = { ...saved, CRON_PLAN: "hobby", CRON_LOCAL_SCHEDULER: undefined };
      const env = loadEnv(new Map([["CRON_PLAN", "pro"], ["CRON_LOCAL_SCHEDULER", "0"]]));
      expect(env.CRON_PLAN).toBe("hobby");
      expect(env.CRON_LOCAL_SCHEDULER).toBe(false);
    } finally {
      process.env = saved;
    }
  });
});

describe("secrets that must differ", () => {
  const one = randomBytes(32).toString("hex");
  const other = randomBytes(32).toString("hex");

  it("refuses CRON_SECRET equal to ADMIN_TOKEN, naming both and the fix", () => {
    const message = parseError({ CRON_SECRET: one, ADMIN_TOKEN: one }).message;
    expect(message).toContain("CRON_SECRET must not equal ADMIN_TOKEN");
    expect(message).toContain("openssl rand -hex 32");
    // The message names the variables, never the value.
    expect(message).not.toContain(one);
    expect(parseEnv({ CRON_SECRET: one, ADMIN_TOKEN: other }).CRON_SECRET).toBe(one);
  });

  it("refuses CRON_SECRET_PREVIOUS equal to ADMIN_TOKEN, and ALERT_WEBHOOK_SECRET equal to any of the three", () => {
    expect(parseError({ CRON_SECRET: other, CRON_SECRET_PREVIOUS: one, ADMIN_TOKEN: one }).message).toContain("CRON_SECRET_PREVIOUS must not equal ADMIN_TOKEN");
    expect(parseError({ ADMIN_TOKEN: one, ALERT_WEBHOOK_SECRET: one }).message).toContain("ALERT_WEBHOOK_SECRET must not equal ADMIN_TOKEN");
    expect(parseError({ CRON_SECRET: one, ALERT_WEBHOOK_SECRET: one }).message).toContain("ALERT_WEBHOOK_SECRET must not equal CRON_SECRET");
    expect(parseError({ CRON_SECRET_PREVIOUS: one, ALERT_WEBHOOK_SECRET: one }).message).toContain("ALERT_WEBHOOK_SECRET must not equal CRON_SECRET_PREVIOUS");
    // Distinct values all start; unset ones are not "equal" to each other.
    expect(() => parseEnv({ CRON_SECRET: one, CRON_SECRET_PREVIOUS: other, ADMIN_TOKEN: randomBytes(32).toString("hex"), ALERT_WEBHOOK_SECRET: randomBytes(32).toString("hex") })).not.toThrow();
    expect(() => parseEnv({})).not.toThrow();
  });

  it("refuses a whsec_ ALERT_WEBHOOK_SECRET whose rest is not base64, and takes a real one or any other string", () => {
    expect(parseError({ ALERT_WEBHOOK_SECRET: "whsec_this is not base64!!" }).message).toContain("ALERT_WEBHOOK_SECRET starts with whsec_ but the rest is not base64");
    const standard = `whsec_${randomBytes(24).toString("base64")}`;
    expect(parseEnv({ ALERT_WEBHOOK_SECRET: standard }).ALERT_WEBHOOK_SECRET).toBe(standard);
    expect(parseEnv({ ALERT_WEBHOOK_SECRET: one }).ALERT_WEBHOOK_SECRET).toBe(one);
  });
});

describe("weak secrets", () => {
  it("warns about secrets with little entropy, naming the variable and the fix", () => {
    for (const weak of ["aaaaaaaaaaaaaaaa", "passwordpassword", "1234567890123456", "abcdefghijklmnop", "abcabcabcabcabcabcabcabc", "0123456789abcdef0123456789abcdef"]) {
      expect(secretEntropyBits(weak), weak).toBeLessThan(WEAK_SECRET_BITS);
      const warnings = weakSecretWarnings({ ADMIN_TOKEN: weak });
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^ADMIN_TOKEN looks easy to guess \(about \d+ bits/);
      expect(warnings[0]).toContain("openssl rand -hex 32");
      expect(warnings[0]).not.toContain(weak);
    }
    expect(weakSecretWarnings({ CRON_SECRET: "a".repeat(16), CRON_SECRET_PREVIOUS: "b".repeat(16), ALERT_WEBHOOK_SECRET: "whsec_AAAAAAAAAAAAAAAAAAAAAAAA" }).map((w) => w.split(" ")[0])).toEqual([
      "CRON_SECRET",
      "CRON_SECRET_PREVIOUS",
      "ALERT_WEBHOOK_SECRET",
    ]);
  });

  it("does not warn about what openssl rand gives, nor about an unset secret", () => {
    for (let i = 0; i < 200; i++) {
      expect(weakSecretWarnings({ CRON_SECRET: randomBytes(32).toString("hex"), ADMIN_TOKEN: randomBytes(16).toString("hex"), ALERT_WEBHOOK_SECRET: `whsec_${randomBytes(24).toString("base64")}` })).toEqual([]);
    }
    expect(secretEntropyBits(randomBytes(32).toString("hex"))).toBeGreaterThan(200);
    expect(weakSecretWarnings({})).toEqual([]);
  });

  it("charges repetition and runs little, new characters their alphabet's worth", () => {
    expect(secretEntropyBits("")).toBe(0);
    // Twice the same random half is barely more than the half.
    const half = randomBytes(16).toString("hex");
    expect(secretEntropyBits(half + half) - secretEntropyBits(half)).toBeLessThan(12);
    // 16 hex digits without repeats or runs: 16 x log2(16) = 64 bits.
    expect(secretEntropyBits("9d4c529c6c962744")).toBe(64);
    expect(secretEntropyBits("9876543210")).toBeLessThan(20);
  });
});
