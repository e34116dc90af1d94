import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from "@opentelemetry/api";
import type { JobDefinition } from "../cron/define-job";
import { redact, truncate } from "../cron/redact";
import type { EngineDeps, RunReport } from "../cron/run-job";
import type { ClaimInput, ClaimResult, RunStore } from "../cron/run-store";
import { FAILURE_STATUSES, type RunStatus } from "../cron/vocabulary";
import type { Tracing } from "./tracing";

/**
 * The spans of Crondeck's runs, made around the engine's observers (lib/app/runtime.ts):
 * - `crondeck.run`, from the claim (onRunStarted) to the recorded result (onRunFinished), with
 *   the job, slot, trigger, run id, final status and attempts; status ERROR for a failure,
 *   a timeout or a result that could not be recorded, with the run's (redacted) error;
 * - `crondeck.attempt`, a child per attempt, at the attempt's own start time and duration
 *   (the report's attemptDetails);
 * - `crondeck.skip`, for a trigger whose claim was refused (duplicate, already running, ...):
 *   the claim's one round trip as a span of its own, so a skip is visible without a run.
 * The run's spans are flushed before onRunFinished returns, that is before the response
 * (serverless instances freeze after it). A skip's span is not: the loser answers after its one
 * round trip, and its span goes out with the next flush or within a second.
 * Attributes are names from the vocabulary, ids and times; the only text is the run's error,
 * redacted of every configured secret like the stored row.
 *
 * Each run is a trace of its own (parent ROOT_CONTEXT, not the active context): with Sentry on,
 * the active context holds Sentry's request span, unsampled at SENTRY_TRACES_SAMPLE_RATE=0, and
 * a child of it would be dropped (seen: no span exported at all), or point at a parent this
 * collector never receives.
 */

/** Attribute names, one place. */
export const SPAN_ATTRIBUTES = {
  job: "crondeck.job",
  slot: "crondeck.slot",
  trigger: "crondeck.trigger",
  runId: "crondeck.run_id",
  status: "crondeck.status",
  attempts: "crondeck.attempts",
  attempt: "crondeck.attempt",
  skipReason: "crondeck.skip_reason",
  blockingRunId: "crondeck.blocking_run_id",
  notRecorded: "crondeck.not_recorded",
  timedOut: "crondeck.timed_out",
} as const;
const A = SPAN_ATTRIBUTES;

/** Longest error text a span carries (the stored row keeps more). */
const ERROR_TEXT_MAX = 1_000;

const isFailure = (status: RunStatus) => (FAILURE_STATUSES as readonly RunStatus[]).includes(status);

type Observers = Required<Pick<EngineDeps, "onRunStarted" | "onRunFinished">>;

export function tracedObservers(observers: Observers, tracing: Tracing, secrets: readonly string[]): Observers {
  const open = new Map<string, Span>();
  const clean = (text: string) => truncate(redact(text, secrets), ERROR_TEXT_MAX);

  const startRun = (run: { id: string; jobName: string; trigger: string; scheduledFor: Date | null }, at?: Date): Span => {
    const attributes: Attributes = { [A.job]: run.jobName, [A.trigger]: run.trigger, [A.runId]: run.id };
    if (run.scheduledFor) attributes[A.slot] = run.scheduledFor.toISOString();
    return tracing.tracer.startSpan("crondeck.run", { kind: SpanKind.INTERNAL, attributes, startTime: at }, ROOT_CONTEXT);
  };

  const finishRun = async (report: RunReport): Promise<void> => {
    const span = open.get(report.id) ?? startRun(report, report.startedAt);
    open.delete(report.id);
    span.setAttributes({ [A.status]: report.status, [A.attempts]: report.attempts });
    if (report.notRecorded) span.setAttribute(A.notRecorded, report.notRecorded);
    const parent = trace.setSpan(ROOT_CONTEXT, span);
    for (const detail of report.attemptDetails) {
      const start = Date.parse(detail.startedAt);
      if (!Number.isFinite(start)) continue;
      const child = tracing.tracer.startSpan("crondeck.attempt", { kind: SpanKind.INTERNAL, startTime: start, attributes: { [A.job]: report.jobName, [A.runId]: report.id, [A.attempt]: detail.attempt } }, parent);
      if (detail.timedOut) child.setAttribute(A.timedOut, true);
      if (detail.error) child.setStatus({ code: SpanStatusCode.ERROR, message: clean(detail.error) });
      child.end(start + Math.max(0, detail.durationMs));
    }
    if (isFailure(report.status) || report.notRecorded) span.setStatus({ code: SpanStatusCode.ERROR, message: clean(report.error ?? report.notRecorded ?? report.status) });
    else span.setStatus({ code: SpanStatusCode.OK });
    span.end(report.completedAt);
    await tracing.flush();
  };

  return {
    onRunStarted(run, job: JobDefinition) {
      try {
        open.set(run.id, startRun(run));
      } catch {
        // tracing never stops a run
      }
      observers.onRunStarted(run, job);
    },
    async onRunFinished(report, job) {
      await Promise.all([observers.onRunFinished(report, job), finishRun(report).catch(() => {})]);
    },
  };
}

/** The run store with a `crondeck.skip` span for each claim the store refuses. */
export function tracedRunStore(runs: RunStore, tracing: Tracing): RunStore {
  const claim = async (input: ClaimInput): Promise<ClaimResult> => {
    const startTime = Date.now();
    const result = await runs.claim(input);
    if (result.outcome === "skipped") {
      try {
        const attributes: Attributes = { [A.job]: input.jobName, [A.trigger]: input.trigger, [A.runId]: result.runId, [A.status]: "skipped", [A.skipReason]: result.reason };
        if (input.scheduledFor) attributes[A.slot] = input.scheduledFor.toISOString();
        if (result.blockingRunId) attributes[A.blockingRunId] = result.blockingRunId;
        tracing.tracer.startSpan("crondeck.skip", { kind: SpanKind.INTERNAL, startTime, attributes }, ROOT_CONTEXT).end();
      } catch {
        // tracing never changes a claim's answer
      }
    }
    return result;
  };
  return new Proxy(runs, {
    get(target, property, receiver) {
      if (property === "claim") return claim;
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
