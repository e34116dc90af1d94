import { afterAll, beforeAll, expect, it } from "vitest";
import { createRuntime, type Runtime } from "@/lib/app/runtime";
import { AlertDispatcher } from "@/lib/alerts";
import { defineJob } from "@/lib/cron/define-job";
import { JobRegistry } from "@/lib/cron/registry";
import { runTrigger } from "@/lib/cron/run-job";
import { parseEnv } from "@/lib/env";
import { SPAN_ATTRIBUTES as A } from "@/lib/telemetry/run-spans";
import { createTracing, otlpHeaders, tracesUrl, type Tracing } from "@/lib/telemetry/tracing";
import { describeOnDatabases } from "../support/db";
import { startOtlpReceiver, type OtlpReceiver } from "../support/otlp-receiver";

/**
 * The run spans, in process, on both databases: the real engine (claim, attempts, record) through
 * the runtime's wrapped observers and run store, the real OTLP/HTTP exporter, a local receiver.
 * tests/http/traces.test.ts does the same through `next start` and instrumentation.ts.
 */

const SECRET = "otlpSecretHeaderValue-4f1b2c";
const CRON = "cronSecretInTheError-9a8b7c6d";

describeOnDatabases("run spans over OTLP/HTTP", (ctx) => {
  let receiver: OtlpReceiver;
  let tracing: Tracing;
  let runtime: Runtime;
  const ok = defineJob({ name: "span-ok", schedule: "* * * * *", handler: async () => ({ done: 1 }) });
  const flaky = defineJob({
    name: "span-fail",
    schedule: "* * * * *",
    retries: 1,
    timeout: "2s",
    backoff: { strategy: "fixed", delay: "10ms" },
    handler: async () => {
      throw new Error(`upstream refused the token ${CRON}`);
    },
  });

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    const env = parseEnv({ CRON_SECRET: CRON, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_HEADERS: `x-api-key=${SECRET},x-team=crondeck%20ops`, OTEL_SERVICE_NAME: "crondeck-test" });
    tracing = createTracing(env, "abc123")!;
    const dispatcher = new AlertDispatcher({ db: ctx.db, channels: [], secrets: [] });
    runtime = createRuntime({ env, database: ctx.database, registry: new JobRegistry([ok, flaky]), dispatcher, tracing });
  });
  afterAll(async () => {
    await tracing?.shutdown();
    await receiver?.close();
  });

  it("parses OTEL_EXPORTER_OTLP_HEADERS as the spec writes it and posts to <endpoint>/v1/traces", () => {
    expect(otlpHeaders("a=1, b = two ,bad,=x,c=%2Fslash%20space,d=100%")).toEqual({ a: "1", b: "two", c: "/slash space", d: "100%" });
    expect(tracesUrl("http://collector:4318/")).toBe("http://collector:4318/v1/traces");
  });

  it("exports a run span with its attempt, flushed before the trigger returns", async () => {
    const slot = new Date(Date.UTC(2026, 5, 1, 10, 0));
    const outcome = await runTrigger(runtime.engine, { job: ok, trigger: "schedule", scheduledFor: slot, budgetMs: 60_000 });
    expect(outcome.kind).toBe("ran");
    const runId = outcome.kind === "ran" ? outcome.run.id : "";
    // Flushed before runTrigger returned: already at the receiver, no waiting.
    const spans = receiver.spans().filter((s) => s.attributes[A.runId] === runId);
    const run = spans.find((s) => s.name === "crondeck.run")!;
    expect(run, JSON.stringify(receiver.spans())).toBeDefined();
    expect(run.attributes).toMatchObject({ [A.job]: "span-ok", [A.trigger]: "schedule", [A.slot]: slot.toISOString(), [A.status]: "completed", [A.attempts]: 1 });
    expect(run.status.code).toBe(1); // OK
    expect(run.resource).toMatchObject({ "service.name": "crondeck-test", "service.version": "abc123" });
    const attempt = spans.find((s) => s.name === "crondeck.attempt")!;
    expect(attempt.parentSpanId).toBe(run.spanId);
    expect(attempt.traceId).toBe(run.traceId);
    expect(attempt.startMs).toBeGreaterThanOrEqual(run.startMs - 1);
    expect(attempt.endMs).toBeLessThanOrEqual(run.endMs + 1);
    // The configured headers went with the export.
    const request = receiver.requests().at(-1)!;
    expect(request.headers["x-api-key"]).toBe(SECRET);
    expect(request.headers["x-team"]).toBe("crondeck ops");
    expect(String(request.headers["content-type"])).toContain("application/json");
  });

  it("marks a failed run and each failed attempt as errors, with the error redacted", async () => {
    const outcome = await runTrigger(runtime.engine, { job: flaky, trigger: "manual", scheduledFor: null, budgetMs: 60_000 });
    expect(outcome.kind === "ran" && outcome.run.status).toBe("failed");
    const runId = outcome.kind === "ran" ? outcome.run.id : "";
    const spans = receiver.spans().filter((s) => s.attributes[A.runId] === runId);
    const run = spans.find((s) => s.name === "crondeck.run")!;
    expect(run.attributes).toMatchObject({ [A.status]: "failed", [A.attempts]: 2, [A.trigger]: "manual" });
    expect(run.attributes[A.slot]).toBeUndefined();
    expect(run.status.code).toBe(2); // ERROR
    expect(run.status.message).toContain("upstream refused the token");
    const attempts = spans.filter((s) => s.name === "crondeck.attempt").sort((a, b) => Number(a.attributes[A.attempt]) - Number(b.attributes[A.attempt]));
    expect(attempts.map((s) => s.attributes[A.attempt])).toEqual([1, 2]);
    expect(attempts.every((s) => s.status.code === 2 && s.parentSpanId === run.spanId)).toBe(true);
    expect(attempts[1].startMs).toBeGreaterThanOrEqual(attempts[0].endMs);
    expect(JSON.stringify(receiver.spans().map((s) => s.raw))).not.toContain(CRON);
    expect(JSON.stringify(receiver.spans().map((s) => s.raw))).not.toContain(SECRET);
  });

  it("records a refused claim as a crondeck.skip span with its reason", async () => {
    const slot = new Date(Date.UTC(2026, 5, 1, 11, 0));
    const first = await runTrigger(runtime.engine, { job: ok, trigger: "schedule", scheduledFor: slot, budgetMs: 60_000 });
    const second = await runTrigger(runtime.engine, { job: ok, trigger: "schedule", scheduledFor: slot, budgetMs: 60_000 });
    expect(first.kind).toBe("ran");
    expect(second.kind === "skipped" && second.reason).toBe("duplicate");
    const skipId = second.kind === "skipped" ? second.runId : "";
    await tracing.flush();
    const skip = receiver.spans().find((s) => s.name === "crondeck.skip" && s.attributes[A.runId] === skipId)!;
    expect(skip, JSON.stringify(receiver.spans().map((s) => s.name))).toBeDefined();
    expect(skip.attributes).toMatchObject({ [A.job]: "span-ok", [A.status]: "skipped", [A.skipReason]: "duplicate", [A.slot]: slot.toISOString() });
  });

  it("is off without an endpoint: no tracer, the engine's observers and store unwrapped", () => {
    const env = parseEnv({});
    expect(createTracing(env, null)).toBeNull();
    const plain = createRuntime({ env, database: ctx.database, registry: new JobRegistry([ok]), dispatcher: new AlertDispatcher({ db: ctx.db, channels: [], secrets: [] }), tracing: null });
    expect(plain.engine.onRunFinished).toBe(plain.observers.onRunFinished);
  });
});
