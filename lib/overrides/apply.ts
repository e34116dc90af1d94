import { z } from "zod";
import { INVOCATION_MAX_SECONDS, MAX_TIMEOUT_MS } from "../cron/budget";
import { DEFAULT_MAX_RUNTIME_SHARE, defaultLeaseMs, defineJob, overridableFieldSchemas, type DurationInput, type JobConfig, type JobDefinition, type RateThreshold } from "../cron/define-job";
import { formatDurationMs, parseDurationMs, type Duration } from "../cron/duration";
import { JobConfigError } from "../cron/errors";
import { OVERRIDABLE_FIELDS, type OverridableField } from "../cron/vocabulary";

/**
 * Run-time overrides of a job's definition (seed 000's "raise a job's timeout" without a
 * redeploy): a document written as the job's own definition writes these fields, checked by
 * defineJob itself against the rest of the code's definition, so an override passes exactly the
 * rules (units, bounds, cross-field checks) the code does, with the same messages.
 */

/** The alert settings an override may change (not where alerts go: channels stay in the code). */
export const OVERRIDABLE_ALERTS = ["afterConsecutiveFailures", "reAlertAfter", "lateAfter", "maxRuntime", "regression", "failureRate", "timeoutRate", "lockContention"] as const;

/** An override document: any of the overridable fields, as a job definition writes them. */
export const overrideDocumentSchema = z.strictObject({
  timeout: overridableFieldSchemas.timeout,
  retries: overridableFieldSchemas.retries,
  backoff: overridableFieldSchemas.backoff,
  alerts: overridableFieldSchemas.alerts.unwrap().pick(Object.fromEntries(OVERRIDABLE_ALERTS.map((k) => [k, true])) as { [K in (typeof OVERRIDABLE_ALERTS)[number]]: true }).optional(),
  missed: overridableFieldSchemas.missed,
  schedule: overridableFieldSchemas.schedule,
});
export type OverrideDocument = z.infer<typeof overrideDocumentSchema>;

/** An override that cannot apply: the field at fault and defineJob's message (naming the job and the field). */
export class OverrideError extends JobConfigError {
  override name = "OverrideError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const jobLabel = (name: string) => `job "${name}"`;

function refuse(job: JobDefinition, field: string, message: string): never {
  throw new OverrideError(field, `${jobLabel(job.name)}: ${field} ${message}`);
}

/** Parses an override document as defineJob parses the same fields; throws OverrideError naming the field. */
export function parseOverrideDocument(job: JobDefinition, value: unknown): OverrideDocument {
  const parsed = overrideDocumentSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue.path.length ? issue.path.join(".") : "overrides";
  // Unknown fields are named as defineJob names them; the list says what may be overridden.
  if (issue.code === "unrecognized_keys") {
    const at = issue.path.length ? `${issue.path.join(".")}.${issue.keys[0]}` : issue.keys[0];
    const allowed = issue.path.length === 0 ? OVERRIDABLE_FIELDS.join(", ") : issue.path[0] === "alerts" ? OVERRIDABLE_ALERTS.join(", ") : null;
    const where = issue.path.length ? issue.path.join(".") : "overrides";
    throw new OverrideError(at, `${jobLabel(job.name)}: ${where} has unknown field(s) ${issue.keys.join(", ")}${allowed ? ` (what may be overridden: ${allowed})` : ""}`);
  }
  refuse(job, field, issue.message);
}

/** The fields a document sets, in OVERRIDABLE_FIELDS order. */
export function fieldsOf(doc: OverrideDocument): OverridableField[] {
  return OVERRIDABLE_FIELDS.filter((f) => doc[f] !== undefined);
}

const ms = (value: number): DurationInput => `${value}ms` as DurationInput;

const rateConfig = (t: RateThreshold | null): false | { above?: number; window?: DurationInput; minRuns?: number } =>
  t === null ? (false as const) : { ...(t.abovePercent !== null && { above: t.abovePercent }), ...(t.windowMs !== null && { window: ms(t.windowMs) }), ...(t.minRuns !== null && { minRuns: t.minRuns }) };

/**
 * The job definition written back as its config (durations in ms), so that defineJob can check
 * it again with overrides merged in. A value the code left to its default that follows the
 * timeout (the lease, alerts.maxRuntime) is left out, so it follows an overridden timeout as it
 * follows the code's.
 */
export function configOf(job: JobDefinition): JobConfig {
  const s = job.schedule;
  const a = job.alerts;
  const bounds = { ...(s.startAt && { startAt: s.startAt }), ...(s.endAt && { endAt: s.endAt }) };
  const when =
    s.kind === "once" ? { runAt: s.at } : s.kind === "every" ? { schedule: { every: ms(s.everyMs), ...(s.offsetMs > 0 && { offset: ms(s.offsetMs) }) }, ...bounds } : { schedule: { cron: s.cron, timezone: s.timezone }, ...bounds };
  const defaultMaxRuntime = Math.round(job.timeoutMs * DEFAULT_MAX_RUNTIME_SHARE);
  return {
    name: job.name,
    ...when,
    handler: job.handler,
    ...(job.jitterMs > 0 && { jitter: ms(job.jitterMs) }),
    ...(job.dependsOn.length > 0 && { dependsOn: job.dependsOn }),
    ...(job.input && { input: job.input.schema, ...(job.input.default !== undefined && { defaultInput: job.input.default as never }) }),
    description: job.description,
    category: job.category,
    enabled: job.enabled,
    timeout: ms(job.timeoutMs),
    ...(job.leaseMs !== defaultLeaseMs(job.timeoutMs) && { lease: ms(job.leaseMs) }),
    retries: job.retries,
    backoff: { strategy: job.backoff.strategy, delay: ms(job.backoff.delayMs), factor: job.backoff.factor, max: ms(job.backoff.maxDelayMs), jitter: job.backoff.jitter },
    overlap: job.overlap,
    missed: { policy: job.missed.policy, max: job.missed.max },
    dispatch: job.dispatch,
    ...(job.expect && { expect: job.expect }),
    alerts: {
      afterConsecutiveFailures: a.afterConsecutiveFailures,
      onDeadLetter: a.onDeadLetter,
      reAlertAfter: ms(a.reAlertAfterMs),
      ...(a.slackWebhook && { slackWebhook: a.slackWebhook }),
      ...(a.email.length > 0 && { email: a.email }),
      ...(!a.lateAlerts ? { lateAfter: false as const } : a.lateAfterMs !== null && { lateAfter: ms(a.lateAfterMs) }),
      ...(a.maxRuntimeMs === null ? { maxRuntime: false as const } : a.maxRuntimeMs !== defaultMaxRuntime && { maxRuntime: ms(a.maxRuntimeMs) }),
      regression: a.regression === null ? false : { factor: a.regression.factor, window: a.regression.window, minRuns: a.regression.minRuns },
      failureRate: rateConfig(a.failureRate),
      timeoutRate: rateConfig(a.timeoutRate),
      lockContention: rateConfig(a.lockContention),
    },
    deadLetter: { ...job.deadLetter },
  };
}

/** `job "x": field message` as defineJob throws it: the field and the whole message. */
function fieldOfConfigError(error: JobConfigError): string {
  const match = /^(?:job "[^"]*"|a job): (\S+) /.exec(error.message);
  return match?.[1] ?? "overrides";
}

/**
 * The job with `doc` applied: defineJob's result for the code's definition with the document's
 * fields merged in (backoff and alerts field by field). Throws OverrideError (defineJob's message)
 * when the result is not a valid job, or when the schedule cannot be overridden for this job.
 */
export function applyOverrides<J extends JobDefinition>(job: J, doc: OverrideDocument): J {
  if (fieldsOf(doc).length === 0) return job;
  if (doc.schedule !== undefined) {
    // Vercel Cron's calls come from vercel.json, fixed at deploy: an override could not move them,
    // and every call would then arrive at a slot the override's schedule does not have.
    if (job.dispatch !== "tick") refuse(job, "schedule", `can be overridden only for jobs the tick dispatches: Vercel Cron calls this job at the times vercel.json fixed at deploy (change the schedule in the code and redeploy, or set dispatch: "tick")`);
    if (job.schedule.kind === "once") refuse(job, "schedule", "cannot be overridden for a one-time job (runAt): define a recurring job instead");
  }
  if (doc.timeout !== undefined) {
    const timeoutMs = parseDurationMs(doc.timeout as Duration);
    // defineJob refuses past the route's limit and, for the code's sake, clamps just below it
    // with a warning; an operator's override is refused instead, so what is shown is what applies.
    if (timeoutMs > MAX_TIMEOUT_MS && timeoutMs <= INVOCATION_MAX_SECONDS * 1000) {
      refuse(job, "timeout", `is ${formatDurationMs(timeoutMs)}, which leaves no time to record the result within the execute route's ${INVOCATION_MAX_SECONDS}s: use at most "${MAX_TIMEOUT_MS / 1000}s"`);
    }
  }
  const base = configOf(job);
  const merged = {
    ...base,
    ...(doc.timeout !== undefined && { timeout: doc.timeout as Duration }),
    ...(doc.retries !== undefined && { retries: doc.retries }),
    ...(doc.backoff !== undefined && { backoff: { ...base.backoff, ...doc.backoff } }),
    ...(doc.alerts !== undefined && { alerts: { ...base.alerts, ...doc.alerts } }),
    ...(doc.missed !== undefined && { missed: doc.missed }),
    ...(doc.schedule !== undefined && { schedule: doc.schedule }),
  } as JobConfig;
  // An overridden timeout moves the defaults that follow it (lease, maxRuntime) only when the code left them to defineJob.
  let effective: JobDefinition;
  try {
    effective = defineJob(merged);
  } catch (error) {
    if (error instanceof JobConfigError) throw new OverrideError(fieldOfConfigError(error), error.message);
    throw error;
  }
  return {
    ...job,
    schedule: effective.schedule,
    timeoutMs: effective.timeoutMs,
    leaseMs: effective.leaseMs,
    retries: effective.retries,
    backoff: effective.backoff,
    missed: effective.missed,
    alerts: effective.alerts,
  };
}

/** Parses and applies in one step: the document as stored, and the effective job. */
export function validateOverrides<J extends JobDefinition>(job: J, value: unknown): { doc: OverrideDocument; effective: J } {
  const doc = parseOverrideDocument(job, value);
  return { doc, effective: applyOverrides(job, doc) };
}

/** Merges a change into the stored document: fields given replace (backoff and alerts field by field), null removes a field. */
export function mergeOverrides(current: OverrideDocument, change: Record<string, unknown>): Record<string, unknown> {
  const next: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(change)) {
    if (value === null) delete next[key];
    else if ((key === "backoff" || key === "alerts") && typeof value === "object" && !Array.isArray(value) && typeof next[key] === "object" && next[key] !== null) {
      next[key] = { ...(next[key] as object), ...(value as object) };
    } else next[key] = value;
  }
  return next;
}
