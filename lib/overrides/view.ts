import type { JobDefinition, RateThreshold } from "../cron/define-job";
import { formatDurationMs } from "../cron/duration";
import { OVERRIDABLE_FIELDS, type OverridableField } from "../cron/vocabulary";
import { effectiveJob, overridesProblem, type StoredOverrides } from "./store";

/** One overridable field: what the code says, the override (null: none) and what applies. */
export interface OverrideFieldView {
  field: OverridableField;
  code: unknown;
  override: unknown;
  effective: unknown;
  overridden: boolean;
  /** False for the schedule of a job the tick does not dispatch (see `reason`). */
  overridable: boolean;
  reason?: string;
}

/** A job's overrides as the API, the CLI and the dashboard show them. */
export interface OverridesView {
  jobName: string;
  fields: OverrideFieldView[];
  /** The stored document, as written. */
  overrides: Record<string, unknown>;
  setAt: string | null;
  setBy: string | null;
  /** False when the stored document no longer passes the code's checks: the code's definition applies. */
  applied: boolean;
  problem: { field: string; message: string } | null;
}

const d = (ms: number) => formatDurationMs(ms);
const rate = (t: RateThreshold | null) => (t === null ? false : { above: t.abovePercent, window: t.windowMs === null ? null : d(t.windowMs), minRuns: t.minRuns });

/** The overridable fields of a definition, written as a job definition writes them (durations with units). */
export function overridableValues(job: JobDefinition): Record<OverridableField, unknown> {
  const s = job.schedule;
  const a = job.alerts;
  return {
    timeout: d(job.timeoutMs),
    retries: job.retries,
    backoff: { strategy: job.backoff.strategy, delay: d(job.backoff.delayMs), factor: job.backoff.factor, max: d(job.backoff.maxDelayMs), jitter: job.backoff.jitter },
    alerts: {
      afterConsecutiveFailures: a.afterConsecutiveFailures,
      reAlertAfter: d(a.reAlertAfterMs),
      lateAfter: !a.lateAlerts ? false : a.lateAfterMs === null ? null : d(a.lateAfterMs),
      maxRuntime: a.maxRuntimeMs === null ? false : d(a.maxRuntimeMs),
      regression: a.regression ?? false,
      failureRate: rate(a.failureRate),
      timeoutRate: rate(a.timeoutRate),
      lockContention: rate(a.lockContention),
    },
    missed: { policy: job.missed.policy, max: job.missed.max },
    schedule:
      s.kind === "once" ? { runAt: s.at.toISOString() } : s.kind === "every" ? { every: d(s.everyMs), ...(s.offsetMs > 0 && { offset: d(s.offsetMs) }) } : { cron: s.cron, timezone: s.timezone },
  };
}

/** Per field: the code's value, the override and the effective value (the code's when the document does not apply). */
export function overridesView(job: JobDefinition, stored: StoredOverrides): OverridesView {
  const problem = overridesProblem(job, stored);
  const code = overridableValues(job);
  const effective = overridableValues(problem ? job : effectiveJob(job, stored));
  const doc = stored.doc;
  return {
    jobName: job.name,
    fields: OVERRIDABLE_FIELDS.map((field) => {
      const scheduleFixed = field === "schedule" && (job.dispatch !== "tick" || job.schedule.kind === "once");
      return {
        field,
        code: code[field],
        override: doc[field] ?? null,
        effective: effective[field],
        overridden: doc[field] !== undefined,
        overridable: !scheduleFixed,
        ...(scheduleFixed && {
          reason: job.dispatch !== "tick" ? "Vercel Cron calls this job at the times vercel.json fixed at deploy: change the schedule in the code" : "a one-time job's runAt stays as the code sets it",
        }),
      };
    }),
    overrides: doc,
    setAt: stored.at,
    setBy: stored.by,
    applied: problem === null,
    problem: problem ? { field: problem.field, message: problem.message } : null,
  };
}
