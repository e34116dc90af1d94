import { defineJob, type JobDefinition } from "../cron/define-job";
import { STANDARD_SECRET_PREFIX, standardWebhookSecret } from "../alerts/webhook-secret";
import { loadEnv, type Env } from "../env";

/**
 * Jobs for the secret-leak test (tests/http/secret-leaks.test.ts), loaded with the fault
 * suite's jobs (CRONDECK_FAULT_JOBS=1) and never on a Vercel production deployment. Each does
 * what a careless handler does with the configuration: puts every configured secret-bearing
 * value (and its percent-encoded form) in its log messages, its log data (values and keys),
 * its output, its thrown error and so its stack. The engine must store and send none of it.
 */

/** Every variable that carries a secret, as configured (the test sets each one). */
function configured(env: Env): Record<string, string> {
  const values: Record<string, string | undefined> = {
    CRON_SECRET: env.CRON_SECRET,
    CRON_SECRET_PREVIOUS: env.CRON_SECRET_PREVIOUS,
    ADMIN_TOKEN: env.ADMIN_TOKEN,
    ALERT_WEBHOOK_SECRET: env.ALERT_WEBHOOK_SECRET,
    ALERT_WEBHOOK_SECRET_STANDARD: env.ALERT_WEBHOOK_SECRET ? standardWebhookSecret(env.ALERT_WEBHOOK_SECRET) : undefined,
    // The signing key alone, base64, as a receiver's configuration may hold it without whsec_.
    ALERT_WEBHOOK_SECRET_KEY: env.ALERT_WEBHOOK_SECRET ? standardWebhookSecret(env.ALERT_WEBHOOK_SECRET).slice(STANDARD_SECRET_PREFIX.length) : undefined,
    DATABASE_URL: env.DATABASE_URL,
    POSTGRES_URL: env.POSTGRES_URL,
    SMTP_URL: env.SMTP_URL,
    SLACK_WEBHOOK_URL: env.SLACK_WEBHOOK_URL,
    ALERT_WEBHOOK_URL: env.ALERT_WEBHOOK_URL,
    SENTRY_DSN: env.SENTRY_DSN,
    UPSTASH_REDIS_REST_URL: env.UPSTASH_REDIS_REST_URL,
    UPSTASH_REDIS_REST_TOKEN: env.UPSTASH_REDIS_REST_TOKEN,
    KV_REST_API_URL: env.KV_REST_API_URL,
    KV_REST_API_TOKEN: env.KV_REST_API_TOKEN,
    HEALTHCHECK_URLS: env.HEALTHCHECK_URLS.join(","),
    METRICS_TOKEN: env.METRICS_TOKEN,
    TICK_HEARTBEAT_URL: env.TICK_HEARTBEAT_URL,
    OTEL_EXPORTER_OTLP_HEADERS: env.OTEL_EXPORTER_OTLP_HEADERS,
  };
  return Object.fromEntries(Object.entries(values).filter((e): e is [string, string] => Boolean(e[1])));
}

/** The values every way a handler might put them: as values, as keys, encoded, nested. */
function spill(env: Env): Record<string, unknown> {
  const config = configured(env);
  const asKeys = Object.fromEntries(Object.values(config).map((v) => [v, "a key"]));
  const encoded = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, encodeURIComponent(v)]));
  return { config, asKeys, encoded, list: [Object.values(config)], joined: Object.values(config).join(" ") };
}

const common = {
  schedule: "0 0 1 1 *",
  category: "faults",
  timeout: "10s",
  alerts: { afterConsecutiveFailures: 1, reAlertAfter: "1s" },
} as const;

export const leakJobs: readonly JobDefinition[] = [
  defineJob({
    ...common,
    name: "leak-output",
    description: "Secret-leak test: logs and returns every configured secret",
    handler: (ctx) => {
      const env = loadEnv();
      const data = spill(env);
      ctx.log(`config: ${String(data.joined)}`, data);
      return data;
    },
  }),
  defineJob({
    ...common,
    name: "leak-failure",
    // Every minute, so the test can trigger a scheduled slot (a manual run does not count toward the auto-pause).
    schedule: "* * * * *",
    description: "Secret-leak test: logs every configured secret and fails with them until dead-lettered",
    retries: 1,
    backoff: { strategy: "fixed", delay: "1s" },
    // The first dead letter pauses the job: the failure, dead-letter and auto-pause alerts all go out.
    deadLetter: { pauseAfter: 1 },
    handler: (ctx) => {
      const env = loadEnv();
      const data = spill(env);
      ctx.log(`attempt ${ctx.attempt} with ${String(data.joined)}`, data);
      const error = new Error(`could not connect with ${String(data.joined)} (encoded ${Object.values(data.encoded as Record<string, string>).join(" ")})`);
      error.name = `ConfigError ${configured(env).CRON_SECRET ?? ""}`;
      throw error;
    },
  }),
];
