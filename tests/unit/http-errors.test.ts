import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { refusal } from "@/lib/auth/refusal";
import { OperationError } from "@/lib/cron/errors";
import { HttpError, problemOf } from "@/lib/http/errors";
import { toErrorResponse } from "@/lib/http/http";
import { idempotencyKeyOf, parseQuery, requireJob, requireUuid } from "@/lib/http/parse";
import { JobRegistry } from "@/lib/cron/registry";
import { defineJob } from "@/lib/cron/define-job";

/** The one mapping from errors to HTTP answers: each kind's status and body, and what never reaches the body. */

const quiet = { log: () => {} };
// toErrorResponse logs unexpected errors to console.error: kept out of the test output.
beforeEach(() => void vi.spyOn(console, "error").mockImplementation(() => {}));
afterEach(() => vi.restoreAllMocks());
const answer = async (error: unknown) => {
  const response = toErrorResponse(error, "test");
  return { status: response.status, headers: response.headers, text: await response.clone().text(), body: (await response.json()) as Record<string, unknown> };
};

describe("problemOf", () => {
  it("keeps an HttpError's status and code, lifting details.field to the top level", async () => {
    const reply = await answer(new HttpError(413, "body_too_large", "The body is over 64 KB."));
    expect(reply.status).toBe(413);
    expect(reply.body).toEqual({ success: false, error: "The body is over 64 KB.", code: "body_too_large" });
    const withField = await answer(new HttpError(400, "invalid_json", "body: not valid JSON", { field: "body" }));
    expect(withField.body).toEqual({ success: false, error: "body: not valid JSON", code: "invalid_json", field: "body", details: { field: "body" } });
    expect(reply.headers.get("cache-control")).toBe("no-store");
  });

  it("maps OperationError's kind: invalid 400 (field at the top and in details), not_found 404, conflict 409", async () => {
    const invalid = await answer(new OperationError("invalid", "invalid_sort", "sort must be one of name, status", "sort", { allowed: ["name", "status"] }));
    expect(invalid.status).toBe(400);
    expect(invalid.body).toEqual({ success: false, error: "sort must be one of name, status", code: "invalid_sort", field: "sort", details: { field: "sort", allowed: ["name", "status"] } });
    const missing = await answer(new OperationError("not_found", "run_not_found", "No run 1."));
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ success: false, error: "No run 1.", code: "run_not_found" });
    const conflict = await answer(new OperationError("conflict", "lock_live", "The lease is live.", undefined, { runId: "r" }));
    expect(conflict.status).toBe(409);
    expect(conflict.body).toEqual({ success: false, error: "The lease is live.", code: "lock_live", details: { runId: "r" } });
  });

  it("answers a zod error 400 naming the first field", async () => {
    const result = z.strictObject({ limit: z.number() }).safeParse({ limit: "x" });
    const reply = await answer(result.error);
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ success: false, code: "invalid_input", field: "limit", details: { field: "limit" } });
    expect(reply.body.error).toMatch(/^limit: /);
  });

  it("answers a refusal with its status, code and headers", async () => {
    const reply = await answer(refusal(429, "too_many_attempts", "Try again in 5s.", { "retry-after": "5" }));
    expect(reply.status).toBe(429);
    expect(reply.headers.get("retry-after")).toBe("5");
    expect(reply.body).toEqual({ success: false, error: "Try again in 5s.", code: "too_many_attempts" });
  });

  it("answers a store that did not answer 503 store_unavailable, without the driver's message", async () => {
    const error = Object.assign(new Error("connect ECONNREFUSED 10.0.0.7:5432"), { code: "ECONNREFUSED" });
    const logged: string[] = [];
    expect(problemOf(error, "test", { log: (line) => logged.push(line) })).toMatchObject({ status: 503, code: "store_unavailable" });
    expect(logged[0]).toContain("ECONNREFUSED");
    const reply = await answer(error);
    expect(reply.status).toBe(503);
    expect(reply.text).not.toContain("10.0.0.7");
  });

  it("answers anything else 500 internal_error: no stack, no message, no secret in the body; the log is redacted", async () => {
    const secret = "s3cr3t-password-value";
    const error = new TypeError(`cannot read x of undefined at postgres://app:${secret}@db.internal/app with Bearer ${secret}`);
    const logged: string[] = [];
    const problem = problemOf(error, "admin toggle", { log: (line) => logged.push(line), secrets: [secret] });
    expect(problem).toEqual({ status: 500, code: "internal_error", message: "The server failed to handle this request; see the server logs." });
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/^\[crondeck\] admin toggle: /);
    expect(logged[0]).not.toContain(secret);
    const reply = await answer(error);
    expect(reply.status).toBe(500);
    expect(reply.text).not.toContain(secret);
    expect(reply.text).not.toContain("TypeError");
    expect(reply.text).not.toMatch(/\bat .*\.ts/);
    expect(reply.body).toEqual({ success: false, error: problem.message, code: "internal_error" });
  });

  it("scrubs the configured secrets (ADMIN_TOKEN here) from the line toErrorResponse logs", () => {
    const token = "admin-token-value-for-the-log-test";
    const original = process.env;
    // A new object: loadEnv parses it again instead of answering from its cache.
    process.env = { ...original, ADMIN_TOKEN: token };
    try {
      const log = vi.mocked(console.error);
      log.mockClear();
      toErrorResponse(new Error(`handler echoed ${token} in its message`), "test");
      expect(log).toHaveBeenCalledTimes(1);
      expect(String(log.mock.calls[0][0])).toContain("[redacted]");
      expect(String(log.mock.calls[0][0])).not.toContain(token);
    } finally {
      process.env = original;
    }
  });

  it("treats a thrown non-Error the same way", () => {
    expect(problemOf("boom", "test", quiet)).toMatchObject({ status: 500, code: "internal_error" });
    expect(problemOf({ ok: true }, "test", quiet)).toMatchObject({ status: 500, code: "internal_error" });
  });
});

describe("parsers", () => {
  const registry = new JobRegistry([defineJob({ name: "health-check", schedule: "*/5 * * * *", description: "d", handler: () => {} })]);

  it("finds a job or answers one 404 for any unknown or malformed name, not echoing a long name whole", async () => {
    expect(requireJob("health-check", registry).name).toBe("health-check");
    for (const name of ["no-such-job", "Not_A_Name", "x".repeat(1000)]) {
      const reply = await answer(captured(() => requireJob(name, registry)));
      expect(reply.status).toBe(404);
      expect(reply.body.code).toBe("job_not_found");
      expect(reply.text.length).toBeLessThan(400);
    }
  });

  it("takes a UUID in any case and answers 400 invalid_path otherwise", async () => {
    expect(requireUuid("0B7C3F5E-8A1D-4C2B-9E6F-1A2B3C4D5E6F")).toBe("0b7c3f5e-8a1d-4c2b-9e6f-1a2b3c4d5e6f");
    const reply = await answer(captured(() => requireUuid("nope", "runId")));
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ code: "invalid_path", field: "runId" });
  });

  it("takes an Idempotency-Key of 1-200 visible ASCII characters, or none, and answers 400 invalid_idempotency_key otherwise", async () => {
    const withKey = (key?: string) => new Request("http://x/", { headers: key === undefined ? {} : { "idempotency-key": key } });
    expect(idempotencyKeyOf(withKey())).toBeNull();
    expect(idempotencyKeyOf(withKey("click-1"))).toBe("click-1");
    for (const key of ["has space", "k".repeat(201)]) {
      const reply = await answer(captured(() => idempotencyKeyOf(withKey(key))));
      expect(reply.status).toBe(400);
      expect(reply.body).toMatchObject({ code: "invalid_idempotency_key", field: "Idempotency-Key" });
    }
  });

  it("names an unknown query parameter", async () => {
    const reply = await answer(captured(() => parseQuery(new URL("http://x/?limit=5&bogus=1"), z.strictObject({ limit: z.coerce.number() }))));
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ code: "invalid_query", field: "bogus" });
  });
});

function captured(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}
