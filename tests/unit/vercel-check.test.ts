import { describe, expect, it } from "vitest";
import { defineJob } from "@/lib/cron/define-job";
import { vercelCronsFor } from "@/lib/vercel/crons";
import { checkVercelConfig, diffCrons, functionsGlobRegExp, planVercelSync, redirectSourceRegExp, VERCEL_CRON_LIMIT } from "@/lib/vercel/check";

const noop = async () => {};
// defineJob keeps timeouts within the execute route's 300 s; a vercel.json maxDuration can still be shorter.
const daily = defineJob({ name: "nightly-report", schedule: "0 1 * * *", timeout: "4m", handler: noop });
const often = defineJob({ name: "sync-orders", schedule: "*/5 * * * *", timeout: "30s", handler: noop });
const paris = defineJob({ name: "paris-digest", schedule: { cron: "0 9 * * *", timezone: "Europe/Paris" }, timeout: "30s", handler: noop });
// Mid-March: the 48-day frequency sample crosses the spring DST change in Paris.
const now = new Date("2026-03-10T12:00:00Z");

const codes = (issues: Array<{ code: string }>) => issues.map((i) => i.code);

function check(vercelJson: unknown, opts: { plan?: "hobby" | "pro"; jobs?: ReturnType<typeof defineJob>[] } = {}) {
  return checkVercelConfig({ vercelJson, jobs: opts.jobs ?? [daily, often, paris], plan: opts.plan ?? "pro", now });
}

describe("checkVercelConfig", () => {
  it("passes a file written from the registry", () => {
    const report = check({ trailingSlash: false, crons: vercelCronsFor([daily, often, paris]) });
    expect(report.errors).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.crons).toBe(3); // two UTC jobs and the tick; the Paris job is the tick's
  });

  it("reports missing, extra and different crons as errors, each naming the fix", () => {
    const report = check({
      crons: [
        { path: "/api/cron/execute/nightly-report", schedule: "0 2 * * *" },
        { path: "/api/cron/execute/gone-job", schedule: "0 3 * * *" },
        { path: "/api/cron/tick", schedule: "* * * * *" },
      ],
    });
    expect(report.ok).toBe(false);
    expect(codes(report.errors).sort()).toEqual(["different_schedule", "extra_cron", "missing_cron"]);
    expect(report.diff.missing).toEqual([{ path: "/api/cron/execute/sync-orders", schedule: "*/5 * * * *" }]);
    expect(report.diff.different).toEqual([{ path: "/api/cron/execute/nightly-report", schedule: "0 2 * * *", expected: "0 1 * * *" }]);
    expect(report.errors.find((e) => e.code === "extra_cron")?.message).toContain("gone-job");
    for (const e of report.errors) expect(e.message).toMatch(/crondeck vercel sync|lib\/jobs/);
  });

  it("on Hobby fails the Pro file on every entry Vercel would refuse, and passes the Hobby file with the routed job reported", () => {
    const report = check({ crons: vercelCronsFor([daily, often, paris], "pro") }, { plan: "hobby" });
    const frequency = report.errors.filter((e) => e.code === "hobby_frequency");
    // Each entry of the Pro file that fires more than once a day: the job's and the minute tick.
    expect(frequency.map((e) => e.path)).toEqual(["/api/cron/execute/sync-orders", "/api/cron/tick"]);
    expect(frequency[0].message).toContain("Hobby allows one run a day per cron");
    expect(report.errors.find((e) => e.code === "different_schedule")?.path).toBe("/api/cron/tick");
    // On Hobby the every-5-minutes job belongs to the tick: its cron is extra there.
    expect(report.errors.find((e) => e.code === "extra_cron")?.job).toBe("sync-orders");

    const hobby = check({ crons: vercelCronsFor([daily, often, paris], "hobby") }, { plan: "hobby" });
    expect(hobby.errors).toEqual([]);
    expect(hobby.ok).toBe(true);
    // ...and says what becomes of the jobs that cannot run as scheduled there, with the ways out.
    const notAsScheduled = hobby.warnings.filter((w) => w.code === "not_as_scheduled_on_plan");
    expect(notAsScheduled.map((w) => w.job)).toEqual(["paris-digest", "sync-orders"]);
    expect(notAsScheduled.find((w) => w.job === "sync-orders")?.message).toMatch(/about once a day.*upgrade to Pro.*another scheduler.*once a day/);
    // A Paris job at 09:00 has no slot in the hour before the 00:00 UTC tick: it never runs on Hobby.
    expect(notAsScheduled.find((w) => w.job === "paris-digest")?.message).toContain("never runs on Hobby");

    const twice = defineJob({ name: "twice-a-day", schedule: "0 0,12 * * *", handler: noop });
    expect(codes(check({ crons: vercelCronsFor([twice], "pro") }, { plan: "hobby", jobs: [twice] }).errors).sort()).toEqual(["different_schedule", "extra_cron", "hobby_frequency", "hobby_frequency"]);
    expect(check({ crons: vercelCronsFor([twice], "hobby") }, { plan: "hobby", jobs: [twice] }).ok).toBe(true);
  });

  it("rejects more crons than Vercel allows per project", () => {
    const many = Array.from({ length: VERCEL_CRON_LIMIT }, (_, i) => defineJob({ name: `job-${i}`, schedule: "0 1 * * *", handler: noop }));
    const report = check({ crons: vercelCronsFor(many) }, { jobs: many });
    expect(codes(report.errors)).toEqual(["cron_limit"]);
  });

  it("treats redirects Vercel Cron would meet as errors: trailingSlash and redirects over /api/cron", () => {
    const crons = vercelCronsFor([daily, often, paris]);
    expect(codes(check({ trailingSlash: true, crons }).errors)).toEqual(["trailing_slash"]);
    const caught = check({ crons, redirects: [{ source: "/api/:path*", destination: "/v2/api/:path*", permanent: true }] });
    expect(codes(caught.errors)).toEqual(["redirect_cron_path"]);
    expect(caught.errors[0].message).toContain("does not follow redirects");
    expect(check({ crons, redirects: [{ source: "/blog/:slug", destination: "/posts/:slug" }] }).errors).toEqual([]);
  });

  it("warns about paths outside /api/cron and crons for timezone jobs", () => {
    const report = check({
      crons: [...vercelCronsFor([daily, often, paris]), { path: "/api/reports/send", schedule: "0 6 * * *" }, { path: "/api/cron/execute/paris-digest", schedule: "0 9 * * *" }],
    });
    expect(report.ok).toBe(true);
    expect(codes(report.warnings).filter((c) => c !== "max_duration_below_timeout").sort()).toEqual(["path_outside_api_cron", "timezone_cron"]);
    expect(report.warnings.find((w) => w.code === "timezone_cron")?.message).toContain("Europe/Paris");
  });

  it("warns when maxDuration is shorter than a job's timeout, and rejects one above the plan's limit", () => {
    const crons = vercelCronsFor([daily, often, paris]);
    const short = check({ crons, functions: { "app/api/**/*.ts": { maxDuration: 20 } } });
    expect(short.ok).toBe(true);
    // Every job's timeout (4m, 30s) exceeds a 20 s maxDuration.
    expect(short.warnings.filter((w) => w.code === "max_duration_below_timeout").map((w) => w.job).sort()).toEqual(["nightly-report", "paris-digest", "sync-orders"]);
    expect(codes(check({ crons, functions: { "app/api/cron/execute/[jobName]/route.ts": { maxDuration: 900 } } }).errors)).toEqual(["max_duration_limit"]);
    const unrelated = check({ crons, functions: { "app/api/other/route.ts": { maxDuration: 5 } } });
    expect(unrelated.warnings.map((w) => w.job)).toEqual([]);
  });

  it("rejects a file that is not an object, and entries that are not { path, schedule }", () => {
    expect(codes(check([]).errors)).toEqual(["invalid_file"]);
    expect(codes(check({ crons: [{ path: "/api/cron/tick" }] }).errors)).toContain("invalid_cron_entry");
    expect(codes(check({ crons: [...vercelCronsFor([daily, often, paris]), { path: "/api/x", schedule: "every day" }] }).errors)).toContain("invalid_schedule");
  });
});

describe("planVercelSync", () => {
  it("replaces the crons, keeps every other setting, and says what changed", () => {
    const current = { $schema: "https://openapi.vercel.sh/vercel.json", trailingSlash: false, regions: ["fra1"], crons: [{ path: "/api/cron/execute/gone-job", schedule: "0 3 * * *" }] };
    const sync = planVercelSync(current, [daily], "pro");
    expect(sync.changed).toBe(true);
    expect(sync.next).toEqual({ ...current, crons: vercelCronsFor([daily]) });
    expect(sync.diff.extra.map((c) => c.path)).toEqual(["/api/cron/execute/gone-job"]);
    expect(sync.diff.missing.map((c) => c.path)).toEqual(["/api/cron/execute/nightly-report", "/api/cron/tick"]);
    expect(sync.text.endsWith("}\n")).toBe(true);
    expect(planVercelSync(sync.next, [daily], "pro").changed).toBe(false);
    expect(planVercelSync(null, [daily], "hobby").next).toEqual({ $schema: "https://openapi.vercel.sh/vercel.json", crons: vercelCronsFor([daily], "hobby") });
  });

  it("diffCrons ignores extra spaces in a schedule", () => {
    expect(diffCrons([{ path: "/a", schedule: "0  1 * * *" }], [{ path: "/a", schedule: "0 1 * * *" }])).toEqual({ missing: [], extra: [], different: [] });
  });
});

describe("pattern helpers", () => {
  it("redirectSourceRegExp follows path-to-regexp's parameters", () => {
    const cases: Array<[string, string, boolean]> = [
      ["/api/:path*", "/api/cron/tick", true],
      ["/api/:path*", "/api", true],
      ["/api/cron/:job", "/api/cron/tick", true],
      ["/api/cron/:job", "/api/cron/execute/x", false],
      ["/api/cron/execute/:job+", "/api/cron/execute/x", true],
      ["/(.*)", "/api/cron/tick", true],
      ["/blog/:slug", "/api/cron/tick", false],
      ["/api/cron/tick", "/api/cron/tick", true],
    ];
    for (const [source, path, expected] of cases) expect(redirectSourceRegExp(source)?.test(path), `${source} vs ${path}`).toBe(expected);
  });

  it("functionsGlobRegExp matches the execute route file", () => {
    const file = "app/api/cron/execute/[jobName]/route.ts";
    expect(functionsGlobRegExp("app/api/**/*.ts").test(file)).toBe(true);
    expect(functionsGlobRegExp("app/api/cron/execute/[jobName]/route.ts").test(file)).toBe(true);
    expect(functionsGlobRegExp("app/api/cron/*/route.ts").test(file)).toBe(false);
    expect(functionsGlobRegExp("app/**").test(file)).toBe(true);
  });
});
