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

/** What a handler receives. `I` is the job's input type (its `input` schema's output). */
export interface JobContext<I = unknown> {
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
  /**
   * The run's input, parsed by the job's `input` schema: what run-now, a backfill or a replay
   * passed, else the job's `defaultInput` (parsed too). Undefined for a job without a schema.
   */
  input: I;
  /** The slot before this run's slot (or before now, for a run without a slot); null when there is none. */
  lastSlot: Date | null;
  /** The next slots after this run's slot (or after now): up to 5, oldest first. */
  upcoming: Date[];
}

export type JobHandler<I = unknown> = (ctx: JobContext<I>) => unknown | Promise<unknown>;

/** A schema for a job's input: any zod schema (its output is what the handler gets as ctx.input). */
export type InputSchema = z.ZodType;

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

/** When a job fires: a 5-field cron (UTC, or in a timezone), or a fixed interval in real time. */
export type ScheduleInput =
  | string
  | { cron: string; timezone?: string }
  /**
   * Every `every` in real time, on a grid anchored at the Unix epoch plus `offset` (Temporal's
   * IntervalSpec): `{ every: "90m" }` fires at 00:00, 01:30, 03:00 UTC...; `{ every: "1d", offset: "6h" }`
   * at 06:00 UTC daily. DST never moves it. Dispatched by the tick.
   */
  | { every: DurationInput; offset?: DurationInput };

/** An instant: an ISO 8601 string with a timezone ("2026-12-24T09:00:00Z") or a Date. */
export type InstantInput = string | Date;

/** The fields of a job as written in lib/jobs; see {@link JobConfig}. */
interface JobConfigBase<N extends string, D extends string, S extends InputSchema | undefined> {
  /** kebab-case and permanent: it keys the run log and the lease. */
  name: N;
  handler: JobHandler<S extends InputSchema ? z.output<S> : undefined>;
  /** No slot before this instant runs (BullMQ startDate). */
  startAt?: InstantInput;
  /** No slot after this instant runs (BullMQ endDate). */
  endAt?: InstantInput;
  /**
   * Spreads the start of each tick-dispatched slot by a random delay up to this long (Vercel
   * Schedules, Temporal jitter), so many jobs due at :00 do not hit the database at once. The
   * slot stays the slot; only the start moves. Only for jobs the tick dispatches; shorter than
   * the timeout's headroom within the minute (at most 50s).
   */
  jitter?: DurationInput;
  /**
   * Jobs whose run for the same slot (or their latest slot at or before it) must have completed
   * before this job's slot runs (seed 001's depends_on_job). The tick dispatches dependent jobs.
   */
  dependsOn?: readonly D[];
  /** A zod schema for the run's input (run-now, backfill, replay); ctx.input is its output. */
  input?: S;
  /** The input of runs that pass none (every scheduled run): parsed by `input`. */
  defaultInput?: S extends InputSchema ? z.input<S> : never;
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

/**
 * A job as written in lib/jobs. Every field but name, handler and either `schedule` or `runAt`
 * (checked when it loads) has a default.
 */
export interface JobConfig<N extends string = string, D extends string = string, S extends InputSchema | undefined = InputSchema | undefined> extends JobConfigBase<N, D, S> {
  schedule?: ScheduleInput;
  /** A one-time job (Vercel Schedules' one-time runs): its one slot is this instant (to the minute), dispatched by the tick. Instead of `schedule`. */
  runAt?: InstantInput;
}

/** A validated job with every default applied and every duration in ms. */
export interface JobDefinition<N extends string = string, D extends string = string> {
  name: N;
  /** When it fires, with its startAt/endAt bounds (lib/cron/schedule.ts answers every question about it). */
  schedule: Schedule;
  /** The handler (a method, so a job with a typed input is still a JobDefinition). */
  handler(ctx: JobContext<any>): unknown;
  /** The most a tick-dispatched start is delayed past its slot, at random (0: none). */
  jitterMs: number;
  /** The jobs whose run for the slot must complete first (empty: none). */
  dependsOn: readonly D[];
  /** The input schema and the default input, or null when the job takes no input. */
  input: { schema: InputSchema; default: unknown } | null;
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

/** An instant with its timezone: a Date, or an ISO 8601 string that ends in Z or an offset. */
const instantSchema = z.union([
  z.date(),
  z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/, 'must be an ISO 8601 instant with its offset, such as "2026-12-24T09:00:00Z"'),
], { error: 'must be a valid Date, or an ISO 8601 instant with its offset such as "2026-12-24T09:00:00Z"' });

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
  schedule: z
    .union([
      z.string(),
      z.strictObject({ cron: z.string(), timezone: z.string().optional() }),
      z.strictObject({ every: durationSchema, offset: durationSchema.optional() }),
    ])
    .optional(),
  runAt: instantSchema.optional(),
  startAt: instantSchema.optional(),
  endAt: instantSchema.optional(),
  jitter: durationSchema.optional(),
  dependsOn: z.array(z.string().regex(JOB_NAME_RE, "must list job names (kebab-case)")).max(20).optional(),
  input: z.custom<InputSchema>((value) => value instanceof z.ZodType, "must be a zod schema (z.object({...}))").optional(),
  defaultInput: z.unknown().optional(),
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
export function defineJob<const N extends string, const D extends string = never, S extends InputSchema | undefined = undefined>(config: JobConfig<N, D, S>): JobDefinition<N, D> {
  const parsed = jobConfigSchema.safeParse(config);
  const name = (config as { name?: unknown } | null)?.name;
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.length ? issue.path.join(".") : "definition";
    const message = issue.code === "unrecognized_keys" ? `has unknown field(s) ${issue.keys.join(", ")}` : issue.message;
    fail(name, field, message);
  }
  const c = parsed.data;
  const schedule = scheduleOf(c);

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

  const dispatch = dispatchOf(c, schedule);
  const jitterMs = c.jitter === undefined ? 0 : parseDurationMs(c.jitter as Duration);
  if (jitterMs > 0 && dispatch !== "tick") fail(c.name, "jitter", 'applies to jobs the tick dispatches (Vercel Cron fires at the slot): set dispatch: "tick" or remove jitter');
  if (jitterMs > MAX_JITTER_MS) fail(c.name, "jitter", `is ${formatDurationMs(jitterMs)}, more than ${MAX_JITTER_MS / 1000}s: a start that late would reach the next tick`);
  const dependsOn = [...new Set(c.dependsOn ?? [])];
  if (dependsOn.includes(c.name)) fail(c.name, "dependsOn", "lists the job itself");
  const input = inputOf(c);

  return {
    name: c.name as N,
    schedule,
    jitterMs,
    dependsOn: dependsOn as D[],
    input,
    handler: c.handler as JobDefinition["handler"],
    description: c.description ?? "",
    category: c.category ?? "general",
    enabled: c.enabled ?? true,
    timeoutMs,
    leaseMs,
    retries: c.retries ?? 0,
    backoff,
    overlap: c.overlap ?? "skip",
    missed: { policy: missed.policy, max: missed.max ?? 10 },
    dispatch,
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

/** The longest start jitter: a tick-dispatched start must stay within its minute. */
export const MAX_JITTER_MS = 50_000;

type ParsedConfig = z.infer<typeof jobConfigSchema>;

const instantOf = (value: string | Date): Date => (value instanceof Date ? new Date(value.getTime()) : new Date(value));

/** The schedule of a parsed config, with its bounds; fails naming the field. */
function scheduleOf(c: ParsedConfig): Schedule {
  if (c.schedule === undefined && c.runAt === undefined) fail(c.name, "schedule", 'is required (a cron string, { cron, timezone }, { every: "90m" }), or set runAt for a one-time job');
  if (c.schedule !== undefined && c.runAt !== undefined) fail(c.name, "runAt", "cannot be combined with schedule: a one-time job has runAt only");
  const startAt = c.startAt === undefined ? null : instantOf(c.startAt);
  const endAt = c.endAt === undefined ? null : instantOf(c.endAt);
  for (const [field, value] of [["startAt", startAt], ["endAt", endAt]] as const) if (value && !Number.isFinite(value.getTime())) fail(c.name, field, "is not a valid instant");
  if (startAt && endAt && endAt <= startAt) fail(c.name, "endAt", "must be after startAt");
  if (c.runAt !== undefined) {
    if (startAt || endAt) fail(c.name, "runAt", "cannot be combined with startAt or endAt: the one slot is runAt");
    const at = instantOf(c.runAt);
    if (!Number.isFinite(at.getTime())) fail(c.name, "runAt", "is not a valid instant");
    return { kind: "once", at: new Date(Math.floor(at.getTime() / 60_000) * 60_000), startAt: null, endAt: null };
  }
  const s = c.schedule!;
  if (typeof s === "object" && "every" in s) {
    const everyMs = parseDurationMs(s.every as Duration);
    if (everyMs < 60_000 || everyMs % 60_000 !== 0) fail(c.name, "schedule.every", `is ${formatDurationMs(everyMs)}: an interval is a whole number of minutes, at least "1m" (the tick runs once a minute)`);
    const offsetMs = s.offset === undefined ? 0 : parseDurationMs(s.offset as Duration);
    if (offsetMs % 60_000 !== 0) fail(c.name, "schedule.offset", "must be a whole number of minutes");
    if (offsetMs >= everyMs) fail(c.name, "schedule.offset", `must be shorter than the interval (${formatDurationMs(everyMs)})`);
    return { kind: "every", everyMs, offsetMs, startAt, endAt };
  }
  const cron = typeof s === "string" ? s : s.cron;
  const timezone = typeof s === "string" ? "UTC" : (s.timezone ?? "UTC");
  const cronError = cronExpressionError(cron);
  if (cronError) fail(c.name, "schedule", cronError);
  if (!isValidTimezone(timezone)) fail(c.name, "schedule.timezone", `"${timezone}" is not an IANA timezone such as "Europe/Paris" or "UTC"`);
  return { kind: "cron", cron: cron.trim().split(/\s+/).join(" "), timezone, startAt, endAt };
}

/**
 * Who fires the job. Vercel Cron can run only UTC cron schedules with no dependencies: intervals,
 * one-time jobs, timezones and dependent jobs are the tick's (a dependent slot waits for its
 * upstream runs, which a fixed-time cron call cannot).
 */
function dispatchOf(c: ParsedConfig, schedule: Schedule): DispatchMode {
  const needsTick =
    schedule.kind === "every" ? "an interval schedule" : schedule.kind === "once" ? "a one-time job (runAt)" : (c.dependsOn?.length ?? 0) > 0 ? "a job with dependsOn" : null;
  if (c.dispatch === "vercel" && needsTick) fail(c.name, "dispatch", `"vercel" cannot fire ${needsTick}: Vercel Cron calls fixed UTC cron times; the tick dispatches it (remove dispatch)`);
  if (c.dispatch) return c.dispatch;
  if (needsTick) return "tick";
  return schedule.kind !== "every" && schedule.kind !== "once" && schedule.timezone === "UTC" ? "vercel" : "tick";
}

/** The input schema and its default (parsed by the schema, so a bad default fails at load). */
function inputOf(c: ParsedConfig): JobDefinition["input"] {
  if (!c.input) {
    if (c.defaultInput !== undefined) fail(c.name, "defaultInput", "needs an input schema (input: z.object({...}))");
    return null;
  }
  const parsed = c.input.safeParse(c.defaultInput);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length ? `defaultInput.${issue.path.join(".")}` : "defaultInput";
    fail(c.name, where, c.defaultInput === undefined ? `is required: the input schema does not accept a run with no input (${issue.message})` : issue.message);
  }
  return { schema: c.input, default: c.defaultInput };
}

/**
 * A schedule as a job definition writes it, validated as defineJob validates it (errors name the
 * job and the field): for run-time schedule overrides, which must pass the same checks.
 */
export function scheduleFromInput(jobName: string, input: ScheduleInput, bounds: { startAt?: InstantInput; endAt?: InstantInput } = {}): Schedule {
  const parsed = jobConfigSchema.shape.schedule.safeParse(input);
  if (!parsed.success) fail(jobName, "schedule", parsed.error.issues[0]?.message ?? "is not a schedule");
  return scheduleOf({ name: jobName, schedule: parsed.data, startAt: bounds.startAt, endAt: bounds.endAt } as ParsedConfig);
}

/**
 * defineJob's own schemas for the fields a run-time override may set (lib/overrides): an
 * override is parsed by these and then checked by defineJob itself, so no rule has a second copy.
 */
export const overridableFieldSchemas = {
  timeout: jobConfigSchema.shape.timeout,
  retries: jobConfigSchema.shape.retries,
  backoff: jobConfigSchema.shape.backoff,
  alerts: jobConfigSchema.shape.alerts,
  missed: jobConfigSchema.shape.missed,
  schedule: jobConfigSchema.shape.schedule,
};
