import { describe, expect, it } from "vitest";
import { commands } from "../../scripts/cli/commands";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from "../../scripts/cli/errors";
import { parseCommand } from "../../scripts/cli/spec";
import { appTarget, DEFAULT_TIMEOUT_SECONDS, describeAnswer, timeoutSeconds, triggerMode, triggerRequest } from "../../scripts/cli/trigger";

/**
 * `crondeck trigger`'s decisions without a process or a server: the command line as a mode,
 * which app it calls, the request each mode sends, and what an answer means (exit code and
 * lines). tests/http/cli-trigger.test.ts runs the same against `next start`.
 */

const spec = commands.find((c) => c.path.join(" ") === "trigger")!;
const input = (argv: string[]) => parseCommand(spec, argv);
const SECRET = "s3cret-s3cret-s3cret";

describe("crondeck trigger's command line", () => {
  it("turns each flag into its mode", () => {
    expect(triggerMode(input(["job-a"]))).toEqual({ kind: "manual", job: "job-a" });
    expect(triggerMode(input(["job-a", "--slot", "2026-11-24T01:00:00Z"]))).toEqual({ kind: "slot", job: "job-a", slot: new Date("2026-11-24T01:00:00Z") });
    expect(triggerMode(input(["job-a", "--key", "deploy-42"]))).toEqual({ kind: "key", job: "job-a", key: "deploy-42" });
    expect(triggerMode(input(["job-a", "--schedule"]))).toEqual({ kind: "schedule", job: "job-a" });
    expect(triggerMode(input(["--tick"]))).toEqual({ kind: "tick" });
  });

  it("refuses what it cannot send, naming the fix (exit 2)", () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /missing <job>.*--tick/],
      [["job-a", "--tick"], /--tick calls \/api\/cron\/tick, not a job: drop "job-a"/],
      [["job-a", "--slot", "2026-01-01T00:00:00Z", "--key", "k"], /--slot and --key cannot be combined/],
      [["job-a", "--schedule", "--tick"], /--schedule and --tick cannot be combined/],
      [["job-a", "--slot", "yesterday"], /--slot must be an ISO 8601 time such as/],
      [["job-a", "--slot", "2026-02-30T99:00:00Z"], /--slot must be an ISO 8601 time/],
      [["job-a", "--slot", "1700000000"], /--slot must be an ISO 8601 time/],
      [["job-a", "--key", ""], /--key must be 1-200 visible ASCII/],
      [["job-a", "--key", "with space"], /--key must be 1-200 visible ASCII/],
      [["job-a", "--key", "clé"], /--key must be 1-200 visible ASCII/],
      [["job-a", "--key", "k".repeat(201)], /--key must be 1-200 visible ASCII/],
    ];
    for (const [argv, pattern] of cases) {
      let thrown: unknown;
      try {
        triggerMode(input(argv));
      } catch (error) {
        thrown = error;
      }
      expect(thrown, argv.join(" ")).toBeInstanceOf(UsageError);
      expect((thrown as UsageError).exitCode).toBe(EXIT_USAGE);
      expect((thrown as Error).message, argv.join(" ")).toMatch(pattern);
    }
  });

  it("waits longer than the execute route's own limit by default; --timeout is seconds", () => {
    expect(DEFAULT_TIMEOUT_SECONDS).toBeGreaterThan(300);
    expect(timeoutSeconds(input(["job-a"]))).toBe(DEFAULT_TIMEOUT_SECONDS);
    expect(timeoutSeconds(input(["job-a", "--timeout", "2.5"]))).toBe(2.5);
    for (const bad of ["0", "-1", "abc", "3601", "1e3"]) expect(() => timeoutSeconds(input(["job-a", `--timeout=${bad}`])), bad).toThrow(/--timeout must be a number of seconds/);
  });
});

describe("which app crondeck trigger calls", () => {
  const env = { NEXT_PUBLIC_APP_URL: "https://crondeck.example.com/", PORT: 4000 };
  it("--url, else the running npm run dev, else NEXT_PUBLIC_APP_URL, else localhost:$PORT", () => {
    expect(appTarget("http://127.0.0.1:3001/", "http://localhost:3002", env)).toEqual({ base: "http://127.0.0.1:3001", source: "--url" });
    expect(appTarget(undefined, "http://localhost:3002", env)).toEqual({ base: "http://localhost:3002", source: "npm run dev" });
    expect(appTarget(undefined, null, env)).toEqual({ base: "https://crondeck.example.com", source: "NEXT_PUBLIC_APP_URL" });
    expect(appTarget(undefined, null, { PORT: 4000 })).toEqual({ base: "http://localhost:4000", source: "PORT" });
    expect(appTarget("https://example.com/base/", null, env).base).toBe("https://example.com/base");
  });

  it("refuses a --url it cannot call, or one carrying credentials", () => {
    expect(() => appTarget("localhost:3000", null, env)).toThrow(/--url must/);
    expect(() => appTarget("not a url", null, env)).toThrow(/--url must be the app's base URL/);
    expect(() => appTarget("ftp://host", null, env)).toThrow(/--url must start with http/);
    expect(() => appTarget("http://user:pw@host", null, env)).toThrow(/must not carry a user or password/);
  });
});

describe("the request each mode sends", () => {
  const base = "http://127.0.0.1:3000";
  it("is what the execute route reads: POST manual, POST ?trigger=schedule&slot=, Idempotency-Key, GET with Vercel's headers", () => {
    expect(triggerRequest({ kind: "manual", job: "a b" }, base, SECRET, null)).toMatchObject({ method: "POST", url: `${base}/api/cron/execute/a%20b`, headers: { authorization: `Bearer ${SECRET}` } });
    const slot = triggerRequest({ kind: "slot", job: "j", slot: new Date("2026-11-24T02:00:00+01:00") }, base, SECRET, null);
    expect(slot.method).toBe("POST");
    expect(new URL(slot.url).searchParams.get("trigger")).toBe("schedule");
    expect(new URL(slot.url).searchParams.get("slot")).toBe("2026-11-24T01:00:00.000Z");
    expect(triggerRequest({ kind: "key", job: "j" , key: "k-1" }, base, SECRET, null).headers["idempotency-key"]).toBe("k-1");
    const schedule = triggerRequest({ kind: "schedule", job: "j" }, base, SECRET, "*/5 * * * *");
    expect(schedule).toMatchObject({ method: "GET", url: `${base}/api/cron/execute/j`, headers: { authorization: `Bearer ${SECRET}`, "user-agent": "vercel-cron/1.0", "x-vercel-cron-schedule": "*/5 * * * *" } });
    expect(triggerRequest({ kind: "schedule", job: "j" }, base, SECRET, null).headers).not.toHaveProperty("x-vercel-cron-schedule");
    expect(triggerRequest({ kind: "tick" }, base, SECRET, "* * * * *")).toMatchObject({ method: "GET", url: `${base}/api/cron/tick`, jobName: "crondeck-tick" });
  });
});

describe("what an answer means", () => {
  const ctx = { jobName: "job-a", base: "http://localhost:3000", secretFrom: ".env.local" };
  const execution = { id: "11111111-2222-4333-8444-555555555555", status: "completed", duration: 1234, attempts: 1, trigger: "manual", scheduledFor: null };

  it("completed and skipped exit 0 with the run, its duration and the dashboard link", () => {
    const done = describeAnswer(200, { success: true, jobName: "job-a", execution }, ctx);
    expect(done.exitCode).toBe(EXIT_OK);
    expect(done.lines[0]).toMatch(/^job-a: completed in 1\.2\s?s/);
    expect(done.lines.join("\n")).toContain(`http://localhost:3000/dashboard/admin/cron-jobs/job-a?run=${execution.id}`);
    const skipped = describeAnswer(200, { success: true, skipped: true, reason: "paused", jobName: "job-a", execution: { ...execution, status: "skipped" } }, ctx);
    expect(skipped.exitCode).toBe(EXIT_OK);
    expect(skipped.lines[0]).toMatch(/^job-a: skipped: .*crondeck jobs resume job-a/);
  });

  it("failed, timed out and refused exit 1; the app's 400 exits 2", () => {
    const failed = describeAnswer(500, { success: false, jobName: "job-a", error: "boom", execution: { ...execution, status: "failed", attempts: 3 } }, ctx);
    expect(failed).toMatchObject({ exitCode: EXIT_FAILURE, code: "run_failed" });
    expect(failed.lines.join("\n")).toMatch(/job-a: failed after 3 attempt\(s\)[\s\S]*error +boom/);
    expect(describeAnswer(500, { success: false, execution: { ...execution, status: "timed_out" } }, ctx).lines[0]).toMatch(/timed out/);
    const refused = describeAnswer(401, { success: false, code: "unauthorized", error: "x" }, ctx);
    expect(refused.exitCode).toBe(EXIT_FAILURE);
    expect(refused.lines[0]).toBe("the app at http://localhost:3000 refused the CRON_SECRET from .env.local: the running app was started with another one; restart it (or pass the secret it uses)");
    expect(describeAnswer(503, { success: false, code: "cron_secret_not_configured", error: "x" }, ctx).lines[0]).toMatch(/has no CRON_SECRET.*\.env\.local.*restart/);
    expect(describeAnswer(503, { success: false, code: "store_unavailable", error: "The database did not answer." }, ctx)).toMatchObject({ exitCode: EXIT_FAILURE, code: "store_unavailable" });
    expect(describeAnswer(400, { success: false, code: "invalid_slot", error: "slot is in the future." }, ctx)).toMatchObject({ exitCode: EXIT_USAGE, lines: ["the app refused the request: slot is in the future."] });
  });
});
