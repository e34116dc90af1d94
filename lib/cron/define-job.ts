import { z } from "zod";
import { backoffDelayMs, type BackoffPolicy } from "./backoff";
import { INVOCATION_MAX_SECONDS, MAX_TIMEOUT_MS } from "./budget";
import { formatDurationMs, parseDurationMs, type Duration } from "./duration";
import { JobConfigError } from "./errors";
import { cronExpressionError, isValidTimezone, type Schedule } from "./schedule";
import { BACKOFF_STRATEGIES, DISPATCH_MODES, MISSED_POLICIES, OVERLAP_POLICIES, type DispatchMode, type MissedPolicy, type OverlapPolicy, type RunTrigger } from "./vocabulary";

export type DurationString = `${number}${"ms" | "s" | "m" | "h" | "d"}`;
/** A string with its unit ("10m"), or a number of seconds as in the seed interface. */
export type DurationInput = DurationString | number;


export interface JobLogger {
  (message: string, data?: Record<string, unknown>): void;
}

/** What a handler receives. */
export interface JobContext {
  /**
   * Aborts at the job's timeout, when a `replace` trigger takes over (heard within about a
   * second), or when this run can no longer prove its lease (reason "lease lost: ..."): stop
   * then, another instance may run the job next. Handlers must also yield (await) regularly:
   * while synchronous code holds the event loop no heartbeat goes out.
   */
  signal: AbortSignal;
  /** 1 for the first attempt. */
  attempt: number;
  /** The slot this run belongs to; null for a manual run without one. */
  scheduledFor: Date | null;
  runId: string;
  trigger: RunTrigger;
  /** Adds a line to the run's log (kept with the run, capped). */
  log: JobLogger;
  /** Extends the lease now; the engine also does this on its own while the handler runs. */
  heartbeat(): Promise<void>;
  /**
   * This run's fencing token: it grows with every holder of the job's lease. Pass it to
   * writes outside Crondeck's tables to reject a stale holder's late write
   * (`UPDATE ... WHERE fenced_by < $token`); Crondeck's own rows are fenced already.
   */
  fencingToken: number;
}

export type JobHandler = (ctx: JobContext) => unknown | Promise<unknown>;

/**
 * A job's check of its own result ("did it do work"): true (or nothing) passes; a string fails
 * the attempt with that reason, false with "the check returned false", as if the handler had
 * thrown it (retried per `retries`).
 */
export type JobExpectation = (output: unknown) => boolean | string | void | Promise<boolean | string | void>;

/** A rate threshold the tick evaluates over a trailing window (percent of the job's runs). */
export interface RateThresholdInput {
  /** Alert when more than this percent of the runs in the window match (0-100). */
  above?: number;
  /** The trailing window. */
  window?: DurationInput;
  /** Fewer runs than this in the window say nothing. */
  minRuns?: number;
}

/** A job as written in lib/jobs. Every field but name, schedule and handler has a default. */
export interface JobConfig {
  /** kebab-case and permanent: it keys the run log and the lease. */
  name: string;
  /** 5-field cron in UTC, or with a timezone. */
  schedule: string | { cron: string; timezone?: string };
  handler: JobHandler;
  description?: string;
  /** Groups jobs on the dashboard. Default "general". */
  category?: string;
  /** Default true; the database can override it at run time. */
  enabled?: boolean;
  /**
   * "10m", "30s"... or seconds. Default 4 minutes; at most {@link MAX_TIMEOUT_MS} (what the
   * execute route's 300 s maxDuration can honour). Up to 300 s (the seed's `timeout: 300`) is
   * clamped to it with a warning; longer is rejected.
   */
  timeout?: DurationInput;
  /**
   * How long the job's lease outlives the last heartbeat: the longest this job's process may
   * block its event loop without another instance taking the job over, and also how long
   * after a crash the job stays blocked. Default {@link defaultLeaseMs} (covers the timeout).
   */
  lease?: DurationInput;
  /** Extra attempts after the first, 0-10. Default 0. */
  retries?: number;
  /** Default linear 5s (5s, 10s, 15s), capped at 5 minutes, no jitter. */
  backoff?: {
    strategy?: BackoffPolicy["strategy"];
    delay?: DurationInput;
    factor?: number;
    max?: DurationInput;
    jitter?: boolean;
  };
  /** What a trigger does while a run of this job holds the lease. Default "skip". */
  overlap?: OverlapPolicy;
  /** What the tick does with slots nobody triggered. Default "skip". */
  missed?: MissedPolicy | { policy: MissedPolicy; max?: number };
  /** Who fires the job: Vercel Cron per job, or the once-a-minute tick. Default: vercel for UTC schedules, tick otherwise. */
  dispatch?: DispatchMode;
  /** Fails a run that returned but did nothing: see {@link JobExpectation}. */
  expect?: JobExpectation;
  alerts?: {
    afterConsecutiveFailures?: number;
    onDeadLetter?: boolean;
    reAlertAfter?: DurationInput;
    slackWebhook?: string;
    email?: string | string[];
    /**
     * Alert when no run has started this long after a slot (Sentry's checkinMargin,
     * Healthchecks' grace). Default: the plan's delivery grace (1 minute on Pro, 1 hour on
     * Hobby); false: never.
     */
    lateAfter?: DurationInput | false;
    /** Alert when a run is still running this long after it started, before its timeout. Default 80% of the timeout; false: never. */
    maxRuntime?: DurationInput | false;
    /**
     * Alert when a completed run took more than `factor` times the p95 of the job's last
     * `window` completed runs (once at least `minRuns` of them exist). Default factor 3,
     * window 50, minRuns 10; false: never.
     */
    regression?: { factor?: number; window?: number; minRuns?: number } | false;
    /** Failed runs above this percent of the window's runs (seed 001: 10%). Defaults from CRON_ALERT_FAILURE_RATE; false: never. */
    failureRate?: RateThresholdInput | false;
    /** Timed-out runs above this percent (seed 000: 5%). Defaults from CRON_ALERT_TIMEOUT_RATE; false: never. */
    timeoutRate?: RateThresholdInput | false;
    /** Triggers that met a held lease or a taken slot above this percent (seed 000: 70%). Defaults from CRON_ALERT_LOCK_CONTENTION; false: never. */
    lockContention?: RateThresholdInput | false;
  };
  deadLetter?: {
    /** Pause the job after this many consecutive dead-lettered runs. Default 3; 0: never dead-letter or pause it (its failures still alert). */
    pauseAfter?: number;
    /** How often one entry may be replayed. Default 3. */
    replayLimit?: number;
  };
}

/** A validated job with every default applied and every duration in ms. */
export interface JobDefinition {
  name: string;
  schedule: Schedule;
  handler: JobHandler;
  description: string;
  category: string;
  enabled: boolean;
  timeoutMs: number;
  /** The lease length (see {@link JobConfig.lease}). */
  leaseMs: number;
  retries: number;
  backoff: BackoffPolicy;
  overlap: OverlapPolicy;
  missed: { policy: MissedPolicy; max: number };
  dispatch: DispatchMode;
  /** The job's check of its result, or null. */
  expect: JobExpectation | null;
  alerts: {
    afterConsecutiveFailures: number;
    onDeadLetter: boolean;
    reAlertAfterMs: number;
    slackWebhook: string | null;
    email: string[];
    /** False: no late alerts. */
    lateAlerts: boolean;
    /** The late margin; null: the plan's delivery grace (resolved where the plan is known). */
    lateAfterMs: number | null;
    /** Null: no long-run alerts. */
    maxRuntimeMs: number | null;
    /** Null: no regression alerts. */
    regression: { factor: number; window: number; minRuns: number } | null;
    /** Null: this threshold is off for the job. Null fields take the environment's defaults. */
    failureRate: RateThreshold | null;
    timeoutRate: RateThreshold | null;
    lockContention: RateThreshold | null;
  };
  deadLetter: { pauseAfter: number; replayLimit: number };
}

/** A rate threshold as the definition keeps it; null fields take the environment's defaults. */
export interface RateThreshold {
  abovePercent: number | null;
  windowMs: number | null;
  minRuns: number | null;
}

export const JOB_NAME_RE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

const durationSchema = z.union([z.string(), z.number()]).superRefine((value, ctx) => {
  try {
    parseDurationMs(value as Duration);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: (error as Error).message });
  }
});

const rateThresholdSchema = z.union([
  z.literal(false),
  z.strictObject({
    above: z.number().min(0, "must be a percent from 0 to 100").max(100, "must be a percent from 0 to 100").optional(),
    window: durationSchema.optional(),
    minRuns: z.number().int().min(1).max(10_000).optional(),
  }),
]);

const jobConfigSchema = z.strictObject({
  name: z
    .string()
    .min(1, "is required")
    .max(100, "must be at most 100 characters")
    .regex(JOB_NAME_RE, "must be kebab-case (lower-case letters, digits and single dashes), such as \"cleanup-old-logs\""),
  schedule: z.union([
    z.string(),
    z.strictObject({ cron: z.string(), timezone: z.string().optional() }),
  ]),
  handler: z.custom<JobHandler>((value) => typeof value === "function", "must be a function"),
  description: z.string().max(500).optional(),
  category: z.string().min(1).max(50).regex(/^[a-z0-9][a-z0-9_-]*$/i, "must be a short word such as \"cleanup\"").optional(),
  enabled: z.boolean().optional(),
  timeout: durationSchema.optional(),
  lease: durationSchema.optional(),
  retries: z.number().int("must be a whole number").min(0, "must be 0 or more").max(10, "must be at most 10").optional(),
  backoff: z
    .strictObject({
      strategy: z.enum(BACKOFF_STRATEGIES).optional(),
      delay: durationSchema.optional(),
      factor: z.number().min(1, "must be 1 or more").max(10).optional(),
      max: durationSchema.optional(),
      jitter: z.boolean().optional(),
    })
    .optional(),
  overlap: z.enum(OVERLAP_POLICIES).optional(),
  missed: z
    .union([
      z.enum(MISSED_POLICIES),
      z.strictObject({ policy: z.enum(MISSED_POLICIES), max: z.number().int().min(1).max(1000).optional() }),
    ])
    .optional(),
  dispatch: z.enum(DISPATCH_MODES).optional(),
  expect: z.custom<JobExpectation>((value) => typeof value === "function", "must be a function").optional(),
  alerts: z
    .strictObject({
      afterConsecutiveFailures: z.number().int().min(1).max(1000).optional(),
      onDeadLetter: z.boolean().optional(),
      reAlertAfter: durationSchema.optional(),
      slackWebhook: z.url().optional(),
      email: z.union([z.email(), z.array(z.email())]).optional(),
      lateAfter: z.union([z.literal(false), durationSchema]).optional(),
      maxRuntime: z.union([z.literal(false), durationSchema]).optional(),
      regression: z
        .union([
          z.literal(false),
          z.strictObject({
            factor: z.number().gt(1, "must be more than 1").max(1000).optional(),
            window: z.number().int().min(2).max(1000).optional(),
            minRuns: z.number().int().min(1).max(1000).optional(),
          }),
        ])
        .optional(),
      failureRate: rateThresholdSchema.optional(),
      timeoutRate: rateThresholdSchema.optional(),
      lockContention: rateThresholdSchema.optional(),
    })
    .optional(),
  deadLetter: z
    .strictObject({
      pauseAfter: z.number().int().min(0).max(1000).optional(),
      replayLimit: z.number().int().min(0).max(100).optional(),
    })
    .optional(),
});

/** A run still going at this share of its timeout alerts as long-running (alerts.maxRuntime's default). */
export const DEFAULT_MAX_RUNTIME_SHARE = 0.8;

/** The timeout a job gets when it names none. */
export const DEFAULT_TIMEOUT_MS = 240_000;

export { MAX_TIMEOUT_MS } from "./budget";

/** The bounds of an explicit `lease`. */
const MIN_LEASE_MS = 1_000;
const MAX_LEASE_MS = 3_600_000;

/**
 * The default lease covers the job's timeout plus 15 s, so that a handler that blocks the
 * event loop (no heartbeat can fire meanwhile) for up to its whole timeout is not taken over;
 * at least 30 s, so one slow heartbeat never loses a short job's lease; at most 5 minutes
 * (timeouts are capped at {@link MAX_TIMEOUT_MS}, so this always covers them). The cost: a
 * crashed holder keeps the job blocked for up to this long (the default 4 m timeout: 4 m 15 s).
 */
export function defaultLeaseMs(timeoutMs: number): number {
  return Math.min(300_000, Math.max(30_000, timeoutMs + 15_000));
}

function fail(name: unknown, field: string, message: string): never {
  const job = typeof name === "string" && name ? `job "${name}"` : "a job";
  throw new JobConfigError(`${job}: ${field} ${message}`);
}

/**
 * Validates a job definition when its module loads and fills in the defaults.
 * Every error names the job and the field.
 */
export function defineJob(config: JobConfig): JobDefinition {
  const parsed = jobConfigSchema.safeParse(config);
  const name = (config as { name?: unknown } | null)?.name;
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.length ? issue.path.join(".") : "definition";
    const message = issue.code === "unrecognized_keys" ? `has unknown field(s) ${issue.keys.join(", ")}` : issue.message;
    fail(name, field, message);
  }
  const c = parsed.data;
  const cron = typeof c.schedule === "string" ? c.schedule : c.schedule.cron;
  const timezone = typeof c.schedule === "string" ? "UTC" : (c.schedule.timezone ?? "UTC");
  const cronError = cronExpressionError(cron);
  if (cronError) fail(c.name, "schedule", cronError);
  if (!isValidTimezone(timezone)) fail(c.name, "schedule.timezone", `"${timezone}" is not an IANA timezone such as "Europe/Paris" or "UTC"`);

  const backoff: BackoffPolicy = {
    strategy: c.backoff?.strategy ?? "linear",
    delayMs: parseDurationMs((c.backoff?.delay ?? "5s") as Duration),
    factor: c.backoff?.factor ?? 2,
    maxDelayMs: parseDurationMs((c.backoff?.max ?? "5m") as Duration),
    jitter: c.backoff?.jitter ?? false,
  };
  // A policy whose first delay is over its cap is almost certainly a unit mistake.
  if (backoffDelayMs({ ...backoff, jitter: false }, 1) > backoff.maxDelayMs) fail(c.name, "backoff.delay", "is longer than backoff.max");

  let timeoutMs = c.timeout === undefined ? DEFAULT_TIMEOUT_MS : parseDurationMs(c.timeout as Duration);
  if (timeoutMs > INVOCATION_MAX_SECONDS * 1000) {
    fail(c.name, "timeout", `is ${formatDurationMs(timeoutMs)}, longer than the execute route's maxDuration (${INVOCATION_MAX_SECONDS}s) allows: the platform would stop the function first. Use at most "${MAX_TIMEOUT_MS / 1000}s", or split the work into smaller runs`);
  }
  if (timeoutMs > MAX_TIMEOUT_MS) {
    // The seed's jobs say `timeout: 300`: equal to the route's limit, which leaves no time to
    // record the result. Such a job keeps loading with the longest timeout that fits.
    console.warn(`[crondeck] job "${c.name}": timeout ${formatDurationMs(timeoutMs)} leaves no time to record the result within the execute route's ${INVOCATION_MAX_SECONDS}s; using ${MAX_TIMEOUT_MS / 1000}s`);
    timeoutMs = MAX_TIMEOUT_MS;
  }
  const leaseMs = c.lease === undefined ? defaultLeaseMs(timeoutMs) : parseDurationMs(c.lease as Duration);
  if (leaseMs < MIN_LEASE_MS || leaseMs > MAX_LEASE_MS) fail(c.name, "lease", `must be between 1s and 1h, got ${formatDurationMs(leaseMs)}`);

  const missed = typeof c.missed === "object" ? c.missed : { policy: c.missed ?? "skip" };
  const lateAfter = c.alerts?.lateAfter;
  const lateAfterMs = lateAfter === undefined || lateAfter === false ? null : parseDurationMs(lateAfter as Duration);
  const maxRuntime = c.alerts?.maxRuntime;
  const maxRuntimeMs = maxRuntime === false ? null : maxRuntime === undefined ? Math.round(timeoutMs * DEFAULT_MAX_RUNTIME_SHARE) : parseDurationMs(maxRuntime as Duration);
  if (maxRuntimeMs !== null && maxRuntimeMs >= timeoutMs) fail(c.name, "alerts.maxRuntime", `is ${formatDurationMs(maxRuntimeMs)}, not shorter than the timeout (${formatDurationMs(timeoutMs)}): it would never alert before the timeout does`);
  const regression = c.alerts?.regression;
  const rate = (t: z.infer<typeof rateThresholdSchema> | undefined): RateThreshold | null =>
    t === false ? null : { abovePercent: t?.above ?? null, windowMs: t?.window === undefined ? null : parseDurationMs(t.window as Duration), minRuns: t?.minRuns ?? null };
  const email = c.alerts?.email === undefined ? [] : Array.isArray(c.alerts.email) ? c.alerts.email : [c.alerts.email];

  return {
    name: c.name,
    schedule: { cron: cron.trim().split(/\s+/).join(" "), timezone },
    handler: c.handler,
    description: c.description ?? "",
    category: c.category ?? "general",
    enabled: c.enabled ?? true,
    timeoutMs,
    leaseMs,
    retries: c.retries ?? 0,
    backoff,
    overlap: c.overlap ?? "skip",
    missed: { policy: missed.policy, max: missed.max ?? 10 },
    dispatch: c.dispatch ?? (timezone === "UTC" ? "vercel" : "tick"),
    expect: c.expect ?? null,
    alerts: {
      afterConsecutiveFailures: c.alerts?.afterConsecutiveFailures ?? 3,
      onDeadLetter: c.alerts?.onDeadLetter ?? true,
      reAlertAfterMs: parseDurationMs((c.alerts?.reAlertAfter ?? "1h") as Duration),
      slackWebhook: c.alerts?.slackWebhook ?? null,
      email,
      lateAlerts: lateAfter !== false,
      lateAfterMs,
      maxRuntimeMs,
      regression: regression === false ? null : { factor: regression?.factor ?? 3, window: regression?.window ?? 50, minRuns: regression?.minRuns ?? 10 },
      failureRate: rate(c.alerts?.failureRate),
      timeoutRate: rate(c.alerts?.timeoutRate),
      lockContention: rate(c.alerts?.lockContention),
    },
    deadLetter: { pauseAfter: c.deadLetter?.pauseAfter ?? 3, replayLimit: c.deadLetter?.replayLimit ?? 3 },
  };
}
