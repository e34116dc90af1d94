import { describe, expect, it } from "vitest";
import { alertSecrets, redactAlertError } from "@/lib/alerts/redact";
import { capOutput, RunLog } from "@/lib/cron/run-log";
import { maskUrl, MIN_SECRET_LENGTH, redact, redactDeep, secretSet } from "@/lib/cron/redact";
import { parseEnv, secretsOf } from "@/lib/env";

/** Every secret-bearing variable, each with a value no other one contains. */
const SOURCE = {
  CRON_SECRET: "cronSecretAAAA0001aaaa",
  CRON_SECRET_PREVIOUS: "cronPreviousBBBB0002bbbb",
  ADMIN_TOKEN: "adminTokenCCCC0003cccc",
  ALERT_WEBHOOK_SECRET: "webhookSigningDDDD0004dddd",
  UPSTASH_REDIS_REST_URL: "https://upstash.example.com/?token=upstashUrlEEEE0005",
  UPSTASH_REDIS_REST_TOKEN: "upstashTokenFFFF0006ffff",
  KV_REST_API_URL: "https://kvuser:kvUrlPassGGGG0007@kv.example.com",
  KV_REST_API_TOKEN: "kvTokenHHHH0008hhhh",
  DATABASE_URL: "postgres://crondeck:dbPass%2FIIII0009@db.example.com:5432/app?sslmode=require&password=dbQueryJJJJ0010",
  POSTGRES_URL: "postgresql://postgres:pgPassKKKK0011@pg.example.com/app",
  SMTP_URL: "smtp://alerts%40example.com:smtpPassLLLL0012@smtp.example.com:587",
  SENTRY_DSN: "https://sentryKeyMMMM0013@o1.ingest.sentry.io/42",
  SLACK_WEBHOOK_URL: "https://hooks.slack.com/services/T0001/B0002/slackTokenNNNN0014?x=slackQueryOOOO0015",
  ALERT_WEBHOOK_URL: "https://hooks.example.com/alertPathPPPP0016/in?sig=alertQueryQQQQ0017",
  HEALTHCHECK_URLS: "https://hcuser:hcPassRRRR0018@status.example.com/ping?api_key=hcKeySSSS0019,https://second.example.com/?token=hcTokenTTTT0020",
};
/** The secret part of each variable, as a person would spot it. */
const SECRETS = [
  "cronSecretAAAA0001aaaa",
  "cronPreviousBBBB0002bbbb",
  "adminTokenCCCC0003cccc",
  "webhookSigningDDDD0004dddd",
  "upstashUrlEEEE0005",
  "upstashTokenFFFF0006ffff",
  "kvUrlPassGGGG0007",
  "kvTokenHHHH0008hhhh",
  "dbPass/IIII0009",
  "dbPass%2FIIII0009",
  "dbQueryJJJJ0010",
  "pgPassKKKK0011",
  "smtpPassLLLL0012",
  "sentryKeyMMMM0013",
  "slackTokenNNNN0014",
  "slackQueryOOOO0015",
  "alertPathPPPP0016",
  "alertQueryQQQQ0017",
  "hcPassRRRR0018",
  "hcKeySSSS0019",
  "hcTokenTTTT0020",
];

describe("secretsOf", () => {
  const secrets = secretsOf(parseEnv(SOURCE));

  it("covers every configured secret: tokens, webhook URLs whole, userinfo and query values of every URL", () => {
    for (const secret of SECRETS) {
      const text = `before ${secret} after`;
      expect(redact(text, secrets), secret).toBe("before [redacted] after");
    }
  });

  it("covers each secret's percent-encoded form", () => {
    for (const secret of SECRETS) {
      const encoded = encodeURIComponent(secret);
      expect(redact(`x=${encoded};`, secrets), encoded).not.toContain(encoded);
    }
  });

  it("removes the Slack and alert webhook URLs, their paths and their queries", () => {
    const slack = SOURCE.SLACK_WEBHOOK_URL;
    const out = redact(`posted ${slack} then echoed ${new URL(slack).pathname} and ${new URL(SOURCE.ALERT_WEBHOOK_URL).search}`, secrets);
    expect(out).not.toContain("T0001/B0002");
    expect(out).not.toContain("slackToken");
    expect(out).not.toContain("alertQuery");
  });

  it("keeps what is not secret: hosts, database names, role names, sslmode, short values", () => {
    const out = redact("postgres role crondeck at db.example.com:5432/app with sslmode=require", secrets);
    expect(out).toBe("postgres role crondeck at db.example.com:5432/app with sslmode=require");
    expect(secrets.every((s) => s.length >= MIN_SECRET_LENGTH)).toBe(true);
    expect(secrets).not.toContain("require");
    expect(secrets).not.toContain("crondeck");
  });

  it("lists longest first so a URL goes before its path", () => {
    const sorted = [...secrets].sort((a, b) => b.length - a.length);
    expect(secrets).toEqual(sorted);
  });

  it("covers the webhook signing secret as its receiver holds it (whsec_ and the base64 key)", () => {
    const standard = `whsec_${Buffer.from(SOURCE.ALERT_WEBHOOK_SECRET).toString("base64")}`;
    expect(redact(`${standard} ${standard.slice(6)}`, secrets)).toBe("[redacted] [redacted]");
  });

  it("is empty for an environment without secrets", () => {
    expect(secretsOf(parseEnv({}))).toEqual([]);
  });

  it("is built once per parsed environment (the same list, so its compiled pattern is reused)", () => {
    const env = parseEnv(SOURCE);
    expect(secretsOf(env)).toBe(secretsOf(env));
    expect(secretsOf(env)).toEqual(secrets);
    expect(secretsOf(parseEnv(SOURCE))).not.toBe(secretsOf(env));
  });
});

describe("secretSet", () => {
  it("takes a Sentry-style user name alone as the credential, but not a database role name", () => {
    expect(secretSet({ urls: ["https://publicKey123@sentry.example.com/1"] })).toContain("publicKey123");
    expect(secretSet({ urls: ["postgres://postgres@127.0.0.1:5432/test"] })).toEqual([]);
  });

  it("drops values shorter than the minimum (they cannot be removed without mangling text)", () => {
    expect(secretSet({ values: ["abc12"], urls: ["https://u:pw@h.example.com/?k=v"] })).toEqual([]);
  });
});

describe("redact", () => {
  it("masks what no configuration names: URL passwords, bearer tokens, secret-named query values", () => {
    const out = redact("GET https://u:hunter2@api.example.com/x?page=2&api_key=abcdef123&access_token=zz9 Authorization: Bearer abcdefghijkl");
    expect(out).toBe("GET https://u:***@api.example.com/x?page=2&api_key=***&access_token=*** Authorization: Bearer [redacted]");
  });

  it("replaces overlapping secrets whole (the longer one first)", () => {
    expect(redact("https://hooks.example.com/abc/tokenXYZ123", ["tokenXYZ123", "https://hooks.example.com/abc/tokenXYZ123"])).toBe("[redacted]");
  });
});

describe("redactDeep", () => {
  const secrets = ["SECRETVALUE1", "SECRETKEY22", "99887766"];

  it("scrubs every string, nested keys included, and leaves other values be", () => {
    const at = new Date(0);
    const value = { a: "x SECRETVALUE1 y", SECRETKEY22: { list: ["SECRETVALUE1", 1, true, null], n: 99887766 }, at };
    const out = redactDeep(value, secrets);
    expect(JSON.stringify(out)).not.toMatch(/SECRETVALUE1|SECRETKEY22|99887766/);
    expect(out.a).toBe("x [redacted] y");
    expect(out.at).toBe(at);
    expect(Object.keys(out)).toEqual(["a", "[redacted]", "at"]);
  });

  it("keeps both of two keys that redact alike", () => {
    const out = redactDeep({ "k SECRETVALUE1": 1, "k SECRETKEY22": 2 }, secrets);
    expect(out).toEqual({ "k [redacted]": 1, "k [redacted] (2)": 2 });
  });

  it("does not recurse forever on a cycle", () => {
    const cyclic: Record<string, unknown> = { s: "SECRETVALUE1" };
    cyclic.self = cyclic;
    expect(redactDeep(cyclic, secrets)).toEqual({ s: "[redacted]", self: "[circular]" });
  });
});

describe("capOutput and RunLog", () => {
  const secrets = ["SECRETVALUE1"];

  it("redacts a handler's output before it is capped, so no half of a secret survives the cut", () => {
    // The secret straddles the 2000-character preview's edge.
    const big = { pad: "p".repeat(1_992), s: "SECRETVALUE1", more: "m".repeat(20_000) };
    const out = capOutput(big, secrets) as { truncated: boolean; preview: string };
    expect(out.truncated).toBe(true);
    expect(out.preview).not.toContain("SECRET");
    expect(JSON.stringify(capOutput({ SECRETVALUE1: "SECRETVALUE1" }, secrets))).toBe('{"[redacted]":"[redacted]"}');
  });

  it("redacts a log line's message, data values and data keys", () => {
    const log = new RunLog([], secrets, { now: () => 0 } as never);
    log.add("msg SECRETVALUE1", { url: "postgres://u:SECRETVALUE1@h/db", SECRETVALUE1: ["SECRETVALUE1"] });
    expect(JSON.stringify(log.recorded())).not.toContain("SECRETVALUE1");
    expect(JSON.stringify(log.json({ out: "SECRETVALUE1" }))).not.toContain("SECRETVALUE1");
  });
});

describe("maskUrl", () => {
  it("shows a URL with its userinfo and every query value masked", () => {
    expect(maskUrl("https://user:pass@status.example.com/ping?api_key=k1&region=eu#frag")).toBe("https://***:***@status.example.com/ping?api_key=***&region=***");
    expect(maskUrl("https://status.example.com/ping")).toBe("https://status.example.com/ping");
    expect(maskUrl("not a url")).toBe("an invalid URL");
  });
});

describe("redactAlertError", () => {
  it("uses the one secret set: a channel's URL, its path, its query values and its credentials", () => {
    const url = "https://bot:botPass12345@hooks.example.com/services/T1/B2/tokenABCDEF12?k=queryVALUE99";
    const out = redactAlertError(`echo /services/T1/B2/tokenABCDEF12 and tokenABCDEF12 and queryVALUE99 and botPass12345`, [url]);
    expect(out).not.toMatch(/tokenABCDEF12|queryVALUE99|botPass12345/);
    expect(alertSecrets([url])).toEqual(secretSet({ secretUrls: [url] }));
  });
});

describe("secretScrubbing (Sentry's beforeSend and beforeBreadcrumb)", () => {
  it("removes the configured secrets from every string of an event and a breadcrumb, reading them once", async () => {
    const { secretScrubbing } = await import("@/lib/alerts/sentry");
    let reads = 0;
    const options = secretScrubbing(() => {
      reads++;
      return secretsOf(parseEnv(SOURCE));
    });
    const event = {
      message: `boom ${SOURCE.ADMIN_TOKEN}`,
      exception: { values: [{ type: "Error", value: `connect ${SOURCE.DATABASE_URL}` }] },
      extra: { [SOURCE.CRON_SECRET]: SOURCE.SLACK_WEBHOOK_URL },
    };
    const sent = options.beforeSend!(event as never, {} as never);
    const crumb = options.beforeBreadcrumb!({ category: "fetch", data: { url: SOURCE.SLACK_WEBHOOK_URL } }, undefined);
    const text = JSON.stringify([sent, crumb]);
    for (const secret of SECRETS) expect(text, secret).not.toContain(secret);
    expect(text).toContain("db.example.com");
    expect(reads).toBe(1);
  });
});

describe("secretSet of a URL secret as a whole", () => {
  it("holds the URL with and without its query, as given and as normalised, and its path and query", () => {
    const set = secretSet({ secretUrls: ["HTTPS://Hooks.Example.com/services/T1/B2/tokenABCDEF12?a=queryVALUE99"] });
    expect(set).toEqual(
      expect.arrayContaining([
        "HTTPS://Hooks.Example.com/services/T1/B2/tokenABCDEF12",
        "https://hooks.example.com/services/T1/B2/tokenABCDEF12?a=queryVALUE99",
        "https://hooks.example.com/services/T1/B2/tokenABCDEF12",
        "/services/T1/B2/tokenABCDEF12?a=queryVALUE99",
        "a=queryVALUE99",
        "queryVALUE99",
        "tokenABCDEF12",
      ]),
    );
    expect(set).not.toContain("services");
    expect(set.some((s) => s.startsWith("null"))).toBe(false);
    expect(secretSet({ secretUrls: ["smtp://alerts:smtpPASS123@mail.example.com:587"] }).some((s) => s.startsWith("null"))).toBe(false);
  });
});

describe("a job's own Slack webhook", () => {
  const hook = "https://hooks.slack.com/services/T0JOB01/B0JOB02/jobOwnSlackToken0042";

  it("is a secret URL of secretsOf, with its path and token", () => {
    const secrets = secretsOf(parseEnv({}), [hook, null]);
    const out = redact(`posted to ${hook}; echoed ${new URL(hook).pathname}; token jobOwnSlackToken0042`, secrets);
    expect(out).not.toContain("jobOwnSlackToken0042");
    expect(out).not.toContain("T0JOB01/B0JOB02");
  });

  it("is among the engine's secrets, so a handler that logs it stores none of it", async () => {
    const { createRuntime } = await import("@/lib/app/runtime");
    const { JobRegistry } = await import("@/lib/cron/registry");
    const { defineJob } = await import("@/lib/cron/define-job");
    const job = defineJob({ name: "own-hook", schedule: "0 * * * *", alerts: { slackWebhook: hook }, handler: async () => null });
    // createRuntime opens nothing: an unopened database handle is enough to read its secrets.
    const runtime = createRuntime({ env: parseEnv({}), database: { db: {}, kind: "pglite" } as never, registry: new JobRegistry([job]) });
    const log = new RunLog([], runtime.engine.secrets ?? [], { now: () => 0 } as never);
    log.add(`config ${hook}`, { [hook]: { url: hook } });
    expect(JSON.stringify(log.recorded())).not.toContain("jobOwnSlackToken0042");
  });
});

describe("credentials in URLs", () => {
  it("are removed whatever precedes the scheme: a digit, a long run of letters", () => {
    const text = `a postgres://u:pass-1@h/db, 1postgres://u:pass-2@h and ${"b".repeat(50)}postgresql://a:pass-3@c`;
    const out = redact(text);
    expect(out).not.toMatch(/pass-\d/);
    expect(out).toContain("postgres://u:***@h/db");
  });

  it("leaves a long line without a URL as it is (the scheme is bounded, so such a line is scanned once)", () => {
    const line = "x".repeat(5_000);
    expect(redact(line)).toBe(line);
  });
});
