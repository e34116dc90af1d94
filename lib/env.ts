import { z } from "zod";
import { isStandardWebhookSecret, STANDARD_SECRET_PREFIX, webhookSecretForms } from "./alerts/webhook-secret";
import { parseDurationMs } from "./cron/duration";
import { secretSet } from "./cron/redact";
import { parseTrustProxy } from "./auth/client-address";

/**
 * Every environment variable the app reads, parsed in one place. A malformed value stops
 * start-up (instrumentation.ts calls loadEnv) with a message naming the variable and the
 * shape it should have. Nothing here is read at import time.
 */
const optionalString = z.preprocess((v) => (v === "" ? undefined : v), z.string().optional());
const postgresUrl = z.preprocess(
  (v) => (v === "" ? undefined : v),
  z
    .string()
    .regex(/^postgres(ql)?:\/\/\S+$/, "must look like postgres://user:password@host:5432/database")
    .optional(),
);
const httpUrl = z.preprocess((v) => (v === "" ? undefined : v), z.url({ protocol: /^https?$/, error: "must be an http(s) URL such as https://example.com" }).optional());
const secret = (name: string) =>
  z.preprocess(
    (v) => (v === "" ? undefined : v),
    z.string().min(16, `${name} must be at least 16 characters: generate one with \`openssl rand -hex 32\``).optional(),
  );
/** On/off: 1, 0, true or false; unset or empty is `fallback`. */
const flag = (fallback: boolean) =>
  z.preprocess(
    (v) => (v === "" || v === undefined ? String(fallback) : v),
    z.enum(["0", "1", "true", "false"], { error: "must be 1 or 0" }).transform((v) => v === "1" || v === "true"),
  );
/** A duration with its unit ("10m", "24h", "30s"), parsed as job definitions parse theirs; unset or empty is `fallback`. In milliseconds. */
const durationMs = (fallback: string) =>
  z.preprocess(
    (v) => (v === "" || v === undefined ? fallback : v),
    z.string().transform((v, ctx) => {
      try {
        return parseDurationMs(v);
      } catch {
        ctx.addIssue({ code: "custom", message: "must be a duration such as 30s, 10m, 24h or 7d" });
        return z.NEVER;
      }
    }),
  );
/** A percent from 0 to 100; unset or empty is `fallback`. */
const percent = (fallback: number) =>
  z.preprocess((v) => (v === "" || v === undefined ? fallback : v), z.coerce.number({ error: "must be a percent such as 10" }).min(0, "must be a percent from 0 to 100").max(100, "must be a percent from 0 to 100"));
const positiveInt = (fallback: number) =>
  z.preprocess((v) => (v === "" || v === undefined ? fallback : v), z.coerce.number({ error: "must be a whole number such as 90" }).int("must be a whole number such as 90").positive("must be a positive whole number"));

/** A comma-separated list of e-mail addresses, or "*" (everyone); lowercased. */
const emailList = (name: string) =>
  z.preprocess(
    (v) => (typeof v === "string" && v.trim() !== "" ? v.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean) : []),
    z.array(z.union([z.literal("*"), z.email({ error: `${name} must be a comma-separated list of e-mail addresses, or *` })])),
  );

export const envSchema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    DATABASE_URL: postgresUrl,
    POSTGRES_URL: postgresUrl,
    PGLITE_DIR: z.preprocess((v) => (v === "" ? undefined : v), z.string().default(".data/pglite")),
    CRON_SECRET: secret("CRON_SECRET"),
    CRON_SECRET_PREVIOUS: secret("CRON_SECRET_PREVIOUS"),
    ADMIN_TOKEN: secret("ADMIN_TOKEN"),
    UPSTASH_REDIS_REST_URL: httpUrl,
    UPSTASH_REDIS_REST_TOKEN: optionalString,
    KV_REST_API_URL: httpUrl,
    KV_REST_API_TOKEN: optionalString,
    SENTRY_DSN: httpUrl,
    SENTRY_ENVIRONMENT: optionalString,
    SLACK_WEBHOOK_URL: httpUrl,
    SMTP_URL: z.preprocess(
      (v) => (v === "" ? undefined : v),
      z.string().regex(/^smtps?:\/\/\S+$/, "must look like smtp://user:password@smtp.example.com:587 or smtps://user:password@host:465").optional(),
    ),
    ALERT_EMAIL_TO: z.preprocess(
      (v) => (v === "" ? undefined : v),
      z
        .string()
        .refine((s) => s.split(",").map((a) => a.trim()).filter(Boolean).every((a) => z.email().safeParse(a).success), "must be a comma-separated list of e-mail addresses")
        .optional(),
    ),
    ALERT_EMAIL_FROM: optionalString,
    ALERT_WEBHOOK_URL: httpUrl,
    ALERT_WEBHOOK_SECRET: secret("ALERT_WEBHOOK_SECRET"),
    CRON_LOG_RETENTION_DAYS: positiveInt(90),
    /** Days cron_alerts rows are kept (the rate limiter only looks back one re-alert window). */
    CRON_ALERT_RETENTION_DAYS: positiveInt(90),
    /** Days the audit log is kept. */
    CRON_AUDIT_RETENTION_DAYS: positiveInt(365),
    /** Days a settled dead-letter entry (replayed, resolved, permanently failed) is kept after it settled (seed 004: 30). Pending entries are never deleted. */
    CRON_DEAD_LETTER_RETENTION_DAYS: positiveInt(30),
    /** Rows each cleanup batch deletes; every batch commits on its own. */
    CRON_CLEANUP_BATCH_SIZE: positiveInt(5_000),
    /**
     * A dead-man URL (Healthchecks.io, Cronitor, Better Stack...) pinged after every tick, so an
     * outside service alerts when the tick, or the whole app, stops. A failed tick part pings
     * `<url>/fail`. Secret: the URL is the credential.
     */
    TICK_HEARTBEAT_URL: httpUrl,
    /** Bearer token for GET /api/metrics (Prometheus); unset: the endpoint answers 404. */
    METRICS_TOKEN: secret("METRICS_TOKEN"),
    /** OTLP/HTTP endpoint for traces (e.g. http://collector:4318); unset: no spans are exported. */
    OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl,
    /** Headers for the OTLP endpoint, "key=value,key2=value2" (an API key: treated as secret). */
    OTEL_EXPORTER_OTLP_HEADERS: optionalString,
    OTEL_SERVICE_NAME: z.preprocess((v) => (v === "" ? undefined : v), z.string().default("crondeck")),
    /** Share of requests Sentry traces (performance), 0 to 1. Default 0: errors and cron check-ins only. */
    SENTRY_TRACES_SAMPLE_RATE: z.preprocess((v) => (v === "" || v === undefined ? 0 : v), z.coerce.number({ error: "must be a number from 0 to 1 such as 0.1" }).min(0, "must be a number from 0 to 1").max(1, "must be a number from 0 to 1")),
    /** Global thresholds the tick evaluates (each job may override or turn off the per-job ones in `alerts`). */
    CRON_ALERT_FAILURE_RATE: percent(10),
    CRON_ALERT_TIMEOUT_RATE: percent(5),
    CRON_ALERT_LOCK_CONTENTION: percent(70),
    /** The trailing window of the rate thresholds. */
    CRON_ALERT_RATE_WINDOW: durationMs("1h"),
    /** Fewer runs than this in the window say nothing about a rate. */
    CRON_ALERT_RATE_MIN_RUNS: positiveInt(10),
    /** Alert when more dead-letter entries than this are pending. */
    CRON_ALERT_DLQ_PENDING: positiveInt(10),
    /** Alert when the oldest pending dead-letter entry is older than this. */
    CRON_ALERT_DLQ_AGE: durationMs("24h"),
    /** Alert on a lease that expired longer ago than this and is still held (seed 001: 10 minutes). */
    CRON_ALERT_STALE_LEASE: durationMs("10m"),
    /** A daily digest of the dead-letter queue when it is not empty, through the alert channels. */
    CRON_DEAD_LETTER_DIGEST: flag(false),
    /**
     * Who calls each job's execute path: `vercel` (default: Vercel Cron or your scheduler, one
     * entry per job as vercel.json lists them) or `tick` (the tick dispatches every job, so one
     * scheduler entry calling /api/cron/tick every minute runs everything).
     */
    CRON_DISPATCH: z.preprocess((v) => (v === "" ? undefined : v), z.enum(["vercel", "tick"], { error: "must be vercel or tick" }).default("vercel")),
    CRON_PLAN: z.preprocess((v) => (v === "" ? undefined : v), z.enum(["hobby", "pro"], { error: "must be hobby or pro" }).default("pro")),
    HEALTHCHECK_URLS: z.preprocess(
      (v) => (typeof v === "string" && v.trim() !== "" ? v.split(",").map((s) => s.trim()).filter(Boolean) : []),
      z.array(z.url({ protocol: /^https?$/, error: "must be a comma-separated list of http(s) URLs" })),
    ),
    NEXT_PUBLIC_APP_URL: httpUrl,
    VERCEL_URL: optionalString,
    /** Set by Vercel: the project's production domain (no protocol); the tick dispatches there on production, which Deployment Protection leaves open. */
    VERCEL_PROJECT_PRODUCTION_URL: optionalString,
    /** Set by Vercel when Protection Bypass for Automation is on: sent as x-vercel-protection-bypass on the tick's dispatches. */
    VERCEL_AUTOMATION_BYPASS_SECRET: optionalString,
    VERCEL_GIT_COMMIT_SHA: optionalString,
    VERCEL_DEPLOYMENT_ID: optionalString,
    VERCEL_REGION: optionalString,
    CRONDECK_CODE_VERSION: optionalString,
    VERCEL_ENV: optionalString,
    /** Which X-Forwarded-For hops to believe (lib/auth/client-address.ts): unset = none (on Vercel, the platform's), a hop count such as 1, or proxy addresses/CIDRs. */
    TRUST_PROXY: z.string().optional().transform((v, ctx) => {
      const parsed = parseTrustProxy(v);
      if (parsed) return parsed;
      ctx.addIssue({ code: "custom", message: "must be a number of proxy hops such as 1, or a comma-separated list of proxy addresses or CIDRs such as 10.0.0.0/8,192.168.1.5" });
      return z.NEVER;
    }),
    /**
     * Sign-in through the team's identity provider (OpenID Connect, lib/auth/oidc.ts): its issuer
     * URL (https; http only on a loopback address, for local development), the client registered
     * there (redirect URL <app>/dashboard/admin/login/oidc/callback), the scopes asked for, and the
     * name the login page shows. ADMIN_TOKEN stays the bootstrap and break-glass login.
     */
    OIDC_ISSUER: httpUrl,
    OIDC_CLIENT_ID: optionalString,
    OIDC_CLIENT_SECRET: optionalString,
    OIDC_SCOPES: z.preprocess((v) => (v === "" ? undefined : v), z.string().default("openid email profile")),
    OIDC_NAME: z.preprocess((v) => (v === "" ? undefined : v), z.string().max(60).default("your identity provider")),
    /** A claim (a string or a list) whose values name a role: viewer, operator or admin (the highest wins). */
    OIDC_ROLE_CLAIM: z.preprocess((v) => (v === "" ? undefined : v), z.string().default("roles")),
    /** Roles from configuration: comma-separated e-mail addresses (or * for everyone the provider signs in). */
    OIDC_ADMINS: emailList("OIDC_ADMINS"),
    OIDC_OPERATORS: emailList("OIDC_OPERATORS"),
    OIDC_VIEWERS: emailList("OIDC_VIEWERS"),
    /** Loads the demo jobs (lib/jobs/demo-*.ts); never on a Vercel production deployment. */
    CRON_DEMO: flag(false),
    /** Loads the fault-injection suite's jobs (lib/jobs/fault-jobs.ts); never on a Vercel production deployment. */
    CRONDECK_FAULT_JOBS: flag(false),
    /** Loads the schedule features' test jobs (lib/jobs/feature-jobs); never on a Vercel production deployment. */
    CRONDECK_FEATURE_JOBS: flag(false),
    /** Loads the console tests' jobs (lib/jobs/console-jobs.ts: their month of history is seeded, never run); never on a Vercel production deployment. */
    CRONDECK_CONSOLE_JOBS: flag(false),
    /** `npm run dev` calls vercel.json's crons on their schedules (scripts/dev.ts); 0 turns it off. */
    CRON_LOCAL_SCHEDULER: flag(true),
    /** The port `npm run dev` serves on when no -p is given (Next.js reads it too). */
    PORT: positiveInt(3000),
    /** Set by Next.js while `next build` loads the app (instrumentation.ts opens no database then). */
    NEXT_PHASE: optionalString,
    /** Set by `npm start`: Crondeck, not Next.js, handles SIGTERM/SIGINT (graceful shutdown). */
    NEXT_MANUAL_SIG_HANDLE: optionalString,
    /** Where the fault suite's jobs record their runs; default DATABASE_URL (lib/jobs/fault-ledger.ts). */
    CRONDECK_FAULT_LEDGER_URL: postgresUrl,
    CRON_DEMO_SLOW_MS: positiveInt(2_000),
    /** How long `npm start` waits for running handlers on SIGTERM/SIGINT before marking them interrupted. */
    CRON_SHUTDOWN_GRACE_SECONDS: positiveInt(30),
    CRON_DEMO_STUBBORN_MS: positiveInt(3_000),
    /**
     * Milliseconds any one database statement may take on a Postgres server or Neon (claim,
     * heartbeat, finish, dashboard queries) before it is cancelled and the request answers 503
     * store_unavailable; also bounds opening a connection. Migrations run without it.
     */
    CRON_DB_QUERY_TIMEOUT_MS: positiveInt(5_000),
  })
  .superRefine((env, ctx) => {
    const pairs: Array<[keyof typeof env, keyof typeof env]> = [
      ["UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"],
      ["KV_REST_API_URL", "KV_REST_API_TOKEN"],
    ];
    if (env.OIDC_ISSUER && !env.OIDC_CLIENT_ID) ctx.addIssue({ code: "custom", path: ["OIDC_CLIENT_ID"], message: "is required when OIDC_ISSUER is set: the client id registered at the identity provider" });
    if (env.OIDC_CLIENT_ID && !env.OIDC_ISSUER) ctx.addIssue({ code: "custom", path: ["OIDC_ISSUER"], message: "is required when OIDC_CLIENT_ID is set: the identity provider's issuer URL" });
    if (env.ALERT_EMAIL_TO && !env.SMTP_URL) ctx.addIssue({ code: "custom", path: ["SMTP_URL"], message: "is required when ALERT_EMAIL_TO is set" });
    for (const [url, token] of pairs) {
      if (env[url] && !env[token]) ctx.addIssue({ code: "custom", path: [token], message: `is required when ${url} is set` });
      if (env[token] && !env[url]) ctx.addIssue({ code: "custom", path: [url], message: `is required when ${token} is set` });
    }
    // One secret per door: a value shared by two of them opens both when it leaks (the webhook
    // secret is also held by whoever receives the alerts).
    for (const [name, other] of SEPARATE_SECRETS) {
      if (env[name] && env[name] === env[other]) {
        ctx.addIssue({ code: "custom", path: [name], message: `must not equal ${other}: one leaked value would open both. Give each its own (\`openssl rand -hex 32\`)` });
      }
    }
    if (env.ALERT_WEBHOOK_SECRET?.startsWith(STANDARD_SECRET_PREFIX) && !isStandardWebhookSecret(env.ALERT_WEBHOOK_SECRET)) {
      ctx.addIssue({ code: "custom", path: ["ALERT_WEBHOOK_SECRET"], message: "starts with whsec_ but the rest is not base64: use the whsec_ value your receiver gave you, or any other long random string (`openssl rand -hex 32`)" });
    }
  });

export type Env = z.infer<typeof envSchema>;

/** Pairs of secrets that must differ (checked by envSchema): each guards its own door. */
const SEPARATE_SECRETS = [
  ["CRON_SECRET", "ADMIN_TOKEN"],
  ["CRON_SECRET_PREVIOUS", "ADMIN_TOKEN"],
  ["ALERT_WEBHOOK_SECRET", "ADMIN_TOKEN"],
  ["ALERT_WEBHOOK_SECRET", "CRON_SECRET"],
  ["ALERT_WEBHOOK_SECRET", "CRON_SECRET_PREVIOUS"],
  ["METRICS_TOKEN", "ADMIN_TOKEN"],
  ["METRICS_TOKEN", "CRON_SECRET"],
  ["METRICS_TOKEN", "CRON_SECRET_PREVIOUS"],
] as const;

/** The secrets whose strength weakSecretWarnings checks. */
const STRONG_SECRETS = ["CRON_SECRET", "CRON_SECRET_PREVIOUS", "ADMIN_TOKEN", "ALERT_WEBHOOK_SECRET", "METRICS_TOKEN"] as const;

/**
 * Below this estimate a secret is called weak. Whoever holds one signed session cookie or one
 * webhook delivery can guess its key offline: 2^64 HMAC-SHA256 guesses is weeks for a rented
 * GPU cluster, 2^80 is out of reach. `openssl rand -hex 32` gives 256 bits.
 */
export const WEAK_SECRET_BITS = 80;

/**
 * A rough estimate of a secret's entropy in bits, as a compressor would see it, so that
 * repetition and runs cost little: each character costs log2 of its alphabet (hex 16, digits
 * 10, otherwise 26 per letter case used + 10 digits + 33 symbols), except
 * - a stretch that repeats an earlier one (3 characters or more, as LZ77 finds them) costs only
 *   the bits to point back at it: log2(offset) + log2(length);
 * - a character that continues a run with a constant step of -1, 0 or +1 ("aaaa", "1234",
 *   "dcba") costs 1 bit.
 * It catches "aaaaaaaaaaaaaaaa" (8 bits), "1234567890123456" (23), "passwordpassword" (44);
 * 16 random hex digits score about 64, 64 of them about 250. It knows no words: a phrase of
 * dictionary words scores as if its letters were random.
 */
export function secretEntropyBits(value: string): number {
  const chars = [...value];
  const n = chars.length;
  if (n === 0) return 0;
  const perChar = Math.log2(alphabetSize(value));
  const code = (i: number) => chars[i].codePointAt(0)!;
  let bits = 0;
  let i = 0;
  while (i < n) {
    let longest = 0;
    let from = 0;
    for (let j = 0; j < i; j++) {
      let length = 0;
      while (i + length < n && chars[j + length] === chars[i + length]) length++;
      if (length > longest) [longest, from] = [length, j];
    }
    if (longest >= 3) {
      bits += Math.log2(i - from) + Math.log2(longest);
      i += longest;
      continue;
    }
    const step = i >= 2 ? code(i) - code(i - 1) : Number.NaN;
    bits += Math.abs(step) <= 1 && step === code(i - 1) - code(i - 2) ? 1 : perChar;
    i++;
  }
  return Math.round(bits);
}

function alphabetSize(value: string): number {
  if (/^[0-9]+$/.test(value)) return 10;
  if (/^[0-9a-f]+$/.test(value) || /^[0-9A-F]+$/.test(value)) return 16;
  let size = 0;
  if (/[a-z]/.test(value)) size += 26;
  if (/[A-Z]/.test(value)) size += 26;
  if (/[0-9]/.test(value)) size += 10;
  if (/[^a-zA-Z0-9]/.test(value)) size += 33;
  return size;
}

/** One line per secret that estimates below WEAK_SECRET_BITS, naming it and the fix (printed at start-up and by `crondeck doctor`). */
export function weakSecretWarnings(env: Partial<Pick<Env, (typeof STRONG_SECRETS)[number]>>): string[] {
  return STRONG_SECRETS.flatMap((name) => {
    const value = env[name];
    if (!value) return [];
    const bits = secretEntropyBits(value.startsWith(STANDARD_SECRET_PREFIX) ? value.slice(STANDARD_SECRET_PREFIX.length) : value);
    if (bits >= WEAK_SECRET_BITS) return [];
    return [`${name} looks easy to guess (about ${bits} bits of entropy by Crondeck's estimate, ${WEAK_SECRET_BITS} wanted): replace it with \`openssl rand -hex 32\` (256 bits)`];
  });
}

export class EnvError extends Error {
  override name = "EnvError";
}

/** Parses the environment; throws one message listing every bad variable. */
export function parseEnv(source: Record<string, string | undefined>): Env {
  const result = envSchema.safeParse(source);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const variable = String(issue.path[0] ?? "environment");
    const message = issue.message.startsWith(variable) ? issue.message : `${variable} ${issue.message}`;
    return `  - ${message}`;
  });
  throw new EnvError(`Invalid environment:\n${lines.join("\n")}`);
}

let cached: { source: NodeJS.ProcessEnv; env: Env } | undefined;

/**
 * The parsed process environment, parsed once. With `fileValues` (a dotenv file a script read
 * itself), those fill in what the process environment leaves unset, as Next.js does with .env files.
 */
export function loadEnv(fileValues?: ReadonlyMap<string, string>): Env {
  if (fileValues) {
    const source: Record<string, string | undefined> = Object.fromEntries(fileValues);
    for (const [key, value] of Object.entries(process.env)) if (value !== undefined) source[key] = value;
    return parseEnv(source);
  }
  if (cached?.source === process.env) return cached.env;
  const env = parseEnv(process.env);
  cached = { source: process.env, env };
  return env;
}

/**
 * loadEnv for a process starting up (the server, npm scripts): a malformed variable ends the
 * process with the message naming each bad variable; a stack would add nothing.
 */
export function loadEnvOrExit(fileValues?: ReadonlyMap<string, string>): Env {
  try {
    return loadEnv(fileValues);
  } catch (error) {
    if (!(error instanceof EnvError)) throw error;
    process.stderr.write(`\n${error.message}\n\nCrondeck cannot start until these are fixed.\n`);
    process.exit(1);
  }
}

/** The git commit or deployment that is running, recorded on every run. */
export function codeVersion(env: Env): string | null {
  return env.VERCEL_GIT_COMMIT_SHA ?? env.CRONDECK_CODE_VERSION ?? env.VERCEL_DEPLOYMENT_ID ?? null;
}

/**
 * Every secret the environment configures, in every form text may carry it (lib/cron/redact.ts
 * secretSet): the tokens and signing secrets (the webhook's also in its whsec_ form); the Slack
 * and alert webhook URLs whole (with their path and query: a Slack webhook's path is its token);
 * and of every other configured URL (database, SMTP, Upstash/KV, Sentry DSN, HEALTHCHECK_URLS)
 * its userinfo and every query value. These never appear in stored rows, logs, responses,
 * alerts or CLI output. `jobWebhooks`: the jobs' own Slack webhooks (alerts.slackWebhook),
 * secret URLs like SLACK_WEBHOOK_URL.
 */
export function secretsOf(env: Env, jobWebhooks: ReadonlyArray<string | null | undefined> = []): readonly string[] {
  // The environment's own set is built once per parsed environment: the same list each call, so
  // redact's compiled pattern for it is reused too (an error response asks for it every time).
  if (jobWebhooks.length === 0) {
    let known = envSecrets.get(env);
    if (!known) envSecrets.set(env, (known = buildSecrets(env, [])));
    return known;
  }
  return buildSecrets(env, jobWebhooks);
}

const envSecrets = new WeakMap<Env, readonly string[]>();

function buildSecrets(env: Env, jobWebhooks: ReadonlyArray<string | null | undefined>): readonly string[] {
  return secretSet({
    values: [env.CRON_SECRET, env.CRON_SECRET_PREVIOUS, env.ADMIN_TOKEN, env.METRICS_TOKEN, env.OIDC_CLIENT_SECRET, env.UPSTASH_REDIS_REST_TOKEN, env.KV_REST_API_TOKEN, env.VERCEL_AUTOMATION_BYPASS_SECRET, ...webhookSecretForms(env.ALERT_WEBHOOK_SECRET), ...otlpHeaderValues(env.OTEL_EXPORTER_OTLP_HEADERS)],
    urls: [env.DATABASE_URL, env.POSTGRES_URL, env.CRONDECK_FAULT_LEDGER_URL, env.SMTP_URL, env.UPSTASH_REDIS_REST_URL, env.KV_REST_API_URL, env.SENTRY_DSN, env.OTEL_EXPORTER_OTLP_ENDPOINT, ...(env.HEALTHCHECK_URLS ?? [])],
    secretUrls: [env.SLACK_WEBHOOK_URL, env.ALERT_WEBHOOK_URL, env.TICK_HEARTBEAT_URL, ...jobWebhooks],
  });
}


/**
 * OTEL_EXPORTER_OTLP_HEADERS ("key=value,key2=value2", values percent-encoded as the
 * OpenTelemetry spec writes them) as headers: the exporter sends them (lib/telemetry), and their
 * values are secrets (API keys) kept out of every output.
 */
export function otlpHeaders(text: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of (text ?? "").split(",")) {
    const at = pair.indexOf("=");
    if (at <= 0) continue;
    const key = pair.slice(0, at).trim();
    const raw = pair.slice(at + 1).trim();
    if (!key) continue;
    let value = raw;
    try {
      value = decodeURIComponent(raw);
    } catch {
      // not percent-encoded after all: sent as written
    }
    headers[key] = value;
  }
  return headers;
}

/** The values of OTEL_EXPORTER_OTLP_HEADERS, decoded (secretSet adds their encoded forms). */
export function otlpHeaderValues(text: string | undefined): string[] {
  return Object.values(otlpHeaders(text)).filter(Boolean);
}
